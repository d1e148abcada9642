"""What the policy tier's two allow files share: checkov_suppressions.toml and iam_lint_allow.toml.

Each entry of such a file accepts one kind of finding (a checkov check, a parliament issue) on the
resources its `resource` glob matches, in each of its `stacks`, and says why in a `justification`.
A finding no entry covers fails; an entry that covers nothing in one of its listed stacks is stale
and fails; a finding more than one entry covers is ambiguous and fails.

This module holds that contract once: `AllowFileFormat` loads and validates a file (every problem at
once) and judges findings against its entries, `AllowlistResult` gives a harness's result its
`problems` and `format`. Each harness keeps what is its tool's own: how findings are read, which
keys an entry has and how an entry matches a finding.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar

MIN_JUSTIFICATION_CHARS = 20
_STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

# Checks one value of an entry: what is wrong with it (it follows `<where>.<key>: `), or None.
Rule = Callable[[Any], str | None]


class AllowlistError(ValueError):
    """An allow file is malformed; the message lists every problem, one per line."""


class Finding(Protocol):
    """What the judgement needs of a finding."""

    @property
    def stack(self) -> str: ...

    @property
    def address(self) -> str: ...

    def describe(self) -> str: ...


class Entry(Protocol):
    """What the judgement needs of an entry."""

    @property
    def index(self) -> int: ...

    @property
    def stacks(self) -> tuple[str, ...]: ...

    def matches(self, finding: Any) -> bool: ...

    def label(self) -> str: ...


E = TypeVar("E", bound=Entry)
F = TypeVar("F", bound=Finding)


# --- matching ---------------------------------------------------------------------------------


def glob(value: str, pattern: str) -> bool:
    """Case-sensitive shell glob, the one way an entry's patterns match."""
    return fnmatch.fnmatchcase(value, pattern)


def in_scope(stacks: Collection[str], resource: str, finding: Finding) -> bool:
    """The finding is in one of `stacks`, at an address the `resource` glob matches."""
    return finding.stack in stacks and glob(finding.address, resource)


# --- rules for an entry's values --------------------------------------------------------------


def pattern_rule(pattern: re.Pattern[str], problem: str) -> Rule:
    """A string `pattern` matches, else "<value> <problem>"."""

    def rule(value: Any) -> str | None:
        return None if isinstance(value, str) and pattern.match(value) else f"{value!r} {problem}"

    return rule


def resource_rule(pattern: re.Pattern[str], example: str) -> Rule:
    """`<resource type>.<name glob>`, as `pattern` spells it."""
    return pattern_rule(pattern, f"must be '<resource type>.<name glob>', e.g. '{example}'")


def _stacks_rule(value: Any) -> str | None:
    valid = (
        isinstance(value, list)
        and value
        and all(isinstance(s, str) and _STACK_NAME.match(s) for s in value)
        and len(set(value)) == len(value)
    )
    return None if valid else "must be a non-empty list of distinct stack names"


def _justification_rule(value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return "must not be empty"
    if len(text) < MIN_JUSTIFICATION_CHARS:
        return (
            f"{text!r} is too short to justify anything "
            f"(at least {MIN_JUSTIFICATION_CHARS} characters: say why the finding does not apply)"
        )
    return None


# --- the file and the judgement ---------------------------------------------------------------


class Verdict(NamedTuple):
    """Findings judged against the entries; every list holds readable one-line messages."""

    allowed: list[str]
    unmatched: list[str]
    stale: list[str]
    ambiguous: list[str]


@dataclass(frozen=True)
class AllowFileFormat(Generic[E]):
    """One allow file's format: entries are `[[<table>]]` tables, each built as `entry_type(**keys,
    index=...)` once valid.

    `rules` are the tool's keys in the order their problems are listed (`stacks` and
    `justification`, common to every file, are checked after them); keys in `optional` may be left
    out, every other key is required."""

    table: str
    rules: Mapping[str, Rule]
    entry_type: Callable[..., E]
    error: type[AllowlistError]
    optional: frozenset[str] = frozenset()

    def parse(self, data: Mapping[str, Any], source: str) -> list[E]:
        """Validate the parsed TOML; raise `error` listing every problem at once."""
        errors: list[str] = []
        unknown_top = sorted(set(data) - {self.table})
        if unknown_top:
            errors.append(f"{source}: {', '.join(unknown_top)}: unknown key (entries go in [[{self.table}]])")
        entries = data.get(self.table, [])
        if not isinstance(entries, list):
            raise self.error(f"{source}: {self.table}: must be an array of tables ([[{self.table}]])")

        rules = {**self.rules, "stacks": _stacks_rule, "justification": _justification_rule}
        required = set(rules) - self.optional
        result: list[E] = []
        for index, entry in enumerate(entries):
            where = f"{source}: {self.table}[{index}]"
            if not isinstance(entry, dict):
                errors.append(f"{where}: must be a table")
                continue
            before = len(errors)
            errors.extend(f"{where}.{key}: unknown key" for key in sorted(set(entry) - set(rules)))
            errors.extend(f"{where}.{key}: missing" for key in sorted(required - set(entry)))
            for key, rule in rules.items():
                problem = rule(entry[key]) if key in entry else None
                if problem is not None:
                    errors.append(f"{where}.{key}: {problem}")
            if len(errors) == before:
                values = {
                    **entry,
                    "stacks": tuple(entry["stacks"]),
                    "justification": " ".join(entry["justification"].split()),
                }
                result.append(self.entry_type(**values, index=index))
        if errors:
            raise self.error("\n".join(errors))
        return result

    def load(self, path: Path) -> list[E]:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise self.error(f"{path.name}: {exc}") from exc
        return self.parse(data, path.name)

    def judge(
        self,
        findings: Iterable[F],
        entries: Sequence[E],
        *,
        scanned: Collection[str],
        order: Callable[[F], Any],
    ) -> Verdict:
        """Every finding (in `order`) allowed by exactly one entry, or reported; every entry stale in
        each of its stacks where it allows nothing (`scanned`: the stacks that were scanned)."""
        verdict = Verdict([], [], [], [])
        used: set[tuple[int, str]] = set()
        for finding in sorted(findings, key=order):
            matching = [e for e in entries if e.matches(finding)]
            if not matching:
                verdict.unmatched.append(finding.describe())
                continue
            if len(matching) > 1:
                labels = ", ".join(e.label() for e in matching)
                verdict.ambiguous.append(f"{finding.describe()}: {labels}")
            for entry in matching:
                used.add((entry.index, finding.stack))
            verdict.allowed.append(f"{finding.describe()} [{self.table}[{matching[0].index}]]")

        for entry in entries:
            for stack in entry.stacks:
                if (entry.index, stack) in used:
                    continue
                reason = "no finding matches it" if stack in scanned else "that stack was not scanned"
                verdict.stale.append(f"{entry.label()} for stack {stack}: {reason}")
        return verdict


# --- the result -------------------------------------------------------------------------------


@dataclass
class AllowlistResult:
    """A harness's result: its dataclass adds the lists of its own kinds (findings it could not
    read, findings no entry covers, ...) and `SECTIONS`, which maps each list that holds problems to
    its heading, in the order they are reported. `stale` and `ambiguous` are every file's."""

    SECTIONS: ClassVar[Mapping[str, str]] = {}

    stale: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [item for kind in self.SECTIONS for item in getattr(self, kind)]

    def format(self, *kinds: str) -> str:
        """The problems of the given kinds (attribute names; all kinds by default), by section."""
        lines: list[str] = []
        for kind in kinds or tuple(self.SECTIONS):
            items = getattr(self, kind)
            if items:
                lines.append(f"{self.SECTIONS[kind]}:")
                lines.extend(f"  {item}" for item in items)
        return "\n".join(lines)
