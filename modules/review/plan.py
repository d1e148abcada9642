"""A `terraform show -json` plan (format 1.x) read into small typed objects.

Only what a review needs: every resource change with its actions, before/after values, what is
unknown until apply, what is sensitive, what forces a replacement and why; the drift Terraform
found while refreshing; the output changes; and the stack the plan belongs to. Raw values stay
inside these objects: what leaves them for display goes through `AttributeChange`, which masks
sensitive values and says "(known after apply)" for unknown ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

SENSITIVE = "(sensitive)"
UNKNOWN = "(known after apply)"
# `terraform show -json` format versions this reader understands (the 1.x line is compatible).
FORMAT_MAJOR = "1"


class PlanError(ValueError):
    """A file that cannot be reviewed; `problems` are one line each, naming the file."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Action(StrEnum):
    """What a change does, from Terraform's action list (["delete", "create"] is a replacement)."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    READ = "read"
    NO_OP = "no-op"
    FORGET = "forget"  # removed from state, left running (`removed` block, Terraform 1.7+)

    @classmethod
    def of(cls, actions: tuple[str, ...]) -> Action:
        if set(actions) == {"delete", "create"}:
            return cls.REPLACE
        if len(actions) == 1 and actions[0] in {a.value for a in cls}:
            return cls(actions[0])
        raise ValueError(f"unknown actions {list(actions)}")


Path_ = tuple[str | int, ...]  # an attribute path: ("ingress", 0, "cidr_blocks")


def path_text(path: Path_) -> str:
    """("ingress", 0, "cidr_blocks") -> "ingress[0].cidr_blocks"."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _step(value: Any, key: str | int) -> Any:
    if isinstance(value, dict) and isinstance(key, str):
        return value.get(key)
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    return None


def at(value: Any, path: Path_) -> Any:
    """The value at `path`, None where the path does not exist."""
    for key in path:
        value = _step(value, key)
    return value


def marked(marks: Any, path: Path_) -> bool:
    """Whether a mark tree (after_unknown, before_sensitive, ...) marks `path` or anything inside it.

    Mark trees mirror the value's shape with `true` leaves; `true` higher up covers all below it.
    """
    for key in path:
        if marks is True:
            return True
        marks = _step(marks, key)
    return _any_true(marks)


def _any_true(marks: Any) -> bool:
    if isinstance(marks, dict):
        return any(_any_true(v) for v in marks.values())
    if isinstance(marks, list):
        return any(_any_true(v) for v in marks)
    return marks is True


def display(value: Any) -> str:
    """A value as one short line: strings bare, the rest as compact JSON, long text cut."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= 120 else f"{text[:117]}..."


@dataclass(frozen=True)
class AttributeChange:
    """One changed attribute, ready to show: values are masked or marked unknown already."""

    path: str
    before: str
    after: str


@dataclass(frozen=True)
class ResourceChange:
    """One entry of `resource_changes` (or `resource_drift`)."""

    address: str
    type: str
    name: str
    actions: tuple[str, ...]
    before: Any
    after: Any
    after_unknown: Any
    before_sensitive: Any
    after_sensitive: Any
    replace_paths: tuple[Path_, ...] = ()
    action_reason: str = ""
    mode: str = "managed"
    # {attribute: addresses ("aws_lb.public") its configuration expression names}: known even
    # where the value is not yet (a new rule's security group, a new listener's load balancer)
    references: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def action(self) -> Action:
        return Action.of(self.actions)

    @property
    def forced_by(self) -> tuple[str, ...]:
        """The attributes whose change forces the replacement, as Terraform reports them."""
        return tuple(path_text(p) for p in self.replace_paths)

    def old(self, *path: str | int) -> Any:
        return at(self.before, path)

    def new(self, *path: str | int) -> Any:
        """The planned value at `path`; None when unknown until apply (see `unknown`)."""
        return None if self.unknown(*path) else at(self.after, path)

    def unknown(self, *path: str | int) -> bool:
        return marked(self.after_unknown, path)

    def sensitive(self, *path: str | int) -> bool:
        return marked(self.before_sensitive, path) or marked(self.after_sensitive, path)

    def changes(self) -> tuple[AttributeChange, ...]:
        """Every changed leaf attribute (maps and equal-length lists are descended into), shown safely.

        A create or delete lists nothing: the whole object comes or goes. A replacement lists the
        attributes with a known new value: the ones only unknown because the object is new (id,
        arn) follow from replacing it.
        """
        return tuple(
            AttributeChange(path_text(p), self.shown(p, planned=False), self.shown(p, planned=True))
            for p in self.changed_paths()
        )

    def changed(self) -> tuple[str, ...]:
        """The top-level attributes that change (as `changes` counts them)."""
        return tuple(dict.fromkeys(str(p[0]) for p in self.changed_paths() if p))

    def changed_paths(self) -> list[Path_]:
        """Paths of the changed leaves (raw: for rules; show them through `changes`)."""
        if self.before is None or self.after is None:
            return []
        paths = _changed_paths(self.before, self.after, self.after_unknown)
        if self.action is Action.REPLACE:
            forcing = set(self.replace_paths)
            return [
                p
                for p in paths
                if not marked(self.after_unknown, p) or any(p[: len(f)] == f for f in forcing)
            ]
        return list(paths)

    def shown(self, path: Path_, *, planned: bool) -> str:
        """The value before (or planned) at `path`, safe to show: masked, or "(known after apply)"."""
        # masked when either side is sensitive: a value that becomes secret was secret before too
        if self.sensitive(*path):
            return SENSITIVE
        if planned and self.unknown(*path):
            return UNKNOWN
        return display(at(self.after if planned else self.before, path))


def _changed_paths(before: Any, after: Any, unknown: Any, path: Path_ = ()) -> Iterator[Path_]:
    if unknown is True:
        if before is not None:  # a value becoming unknown may change; nothing to nothing does not
            yield path
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from _changed_paths(before.get(key), after.get(key), _step(unknown, key), (*path, key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from _changed_paths(b, a, _step(unknown, i), (*path, i))
    elif before != after and not (_empty(before) and _empty(after) and not _any_true(unknown)):
        yield path


def _empty(value: Any) -> bool:
    """null, "", [] and {} are one thing to a reader (the provider writes either)."""
    return value in (None, "", [], {})


@dataclass(frozen=True)
class OutputChange:
    name: str
    actions: tuple[str, ...]
    before: str  # shown: masked, "(known after apply)", or the value
    after: str

    @property
    def action(self) -> Action:
        return Action.of(self.actions)


@dataclass(frozen=True)
class Plan:
    """One plan file: its stack, its changes."""

    source: Path
    stack: str
    stack_from: str  # how the stack name was found (README: Reviewing a plan)
    terraform_version: str
    resource_changes: tuple[ResourceChange, ...]
    drift: tuple[ResourceChange, ...]
    output_changes: tuple[OutputChange, ...]
    errored: bool = False  # Terraform stopped planning: the changes are incomplete

    def managed(self) -> Iterator[ResourceChange]:
        return (c for c in self.resource_changes if c.mode == "managed")


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_plan(path: Path) -> Plan:
    """Read and check one plan file; every problem is a PlanError line `<file>: <problem>`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise PlanError([f"{path}: cannot read: {reason}"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanError(
            [f"{path}: not JSON (line {error.lineno} column {error.colno}: {error.msg})"]
        ) from None
    return parse_plan(data, path)


def parse_plan(data: Any, path: Path) -> Plan:
    if not isinstance(data, dict) or "format_version" not in data:
        raise PlanError([f"{path}: not a plan: no format_version (expected `terraform show -json PLANFILE`)"])
    version = str(data["format_version"])
    if version.split(".")[0] != FORMAT_MAJOR:
        raise PlanError([f"{path}: format_version {version} is not supported (this reads 1.x)"])
    if "planned_values" not in data and "resource_changes" not in data:
        raise PlanError(
            [
                f"{path}: not a plan: no planned_values or resource_changes (a state? run show -json on a plan file)"
            ]
        )
    problems: list[str] = []
    references = _references(data.get("configuration"))
    changes = _resource_changes(
        data.get("resource_changes", []), "resource_changes", path, problems, references
    )
    drift = _resource_changes(data.get("resource_drift", []), "resource_drift", path, problems, {})
    outputs = _output_changes(data.get("output_changes", {}), path, problems)
    if problems:
        raise PlanError(problems)
    stack, stack_from = stack_name(data, path)
    return Plan(
        source=path,
        stack=stack,
        stack_from=stack_from,
        terraform_version=str(data.get("terraform_version", "")),
        resource_changes=changes,
        drift=drift,
        output_changes=outputs,
        errored=data.get("errored") is True,
    )


def _resource_changes(
    entries: Any, key: str, path: Path, problems: list[str], references: dict[str, dict[str, tuple[str, ...]]]
) -> tuple[ResourceChange, ...]:
    if not isinstance(entries, list):
        problems.append(f"{path}: {key}: not a list")
        return ()
    found = []
    for i, entry in enumerate(entries):
        change = entry.get("change") if isinstance(entry, dict) else None
        actions = change.get("actions") if isinstance(change, dict) else None
        if not isinstance(actions, list) or not isinstance(entry.get("address"), str):
            problems.append(f"{path}: {key}[{i}]: needs an address and change.actions")
            continue
        try:
            Action.of(tuple(actions))
        except ValueError as error:
            problems.append(f"{path}: {key}[{i}] ({entry['address']}): {error}")
            continue
        replace_paths = change.get("replace_paths") or []
        found.append(
            ResourceChange(
                address=entry["address"],
                type=str(entry.get("type", "")),
                name=str(entry.get("name", "")),
                mode=str(entry.get("mode", "managed")),
                actions=tuple(actions),
                before=change.get("before"),
                after=change.get("after"),
                after_unknown=change.get("after_unknown") or {},
                before_sensitive=change.get("before_sensitive") or {},
                after_sensitive=change.get("after_sensitive") or {},
                replace_paths=tuple(tuple(p) for p in replace_paths if isinstance(p, list)),
                action_reason=str(entry.get("action_reason", "")),
                # configuration addresses carry no instance key (count / for_each)
                references=references.get(re.sub(r"\[[^\]]*\]$", "", entry["address"]), {}),
            )
        )
    return tuple(found)


def _output_changes(entries: Any, path: Path, problems: list[str]) -> tuple[OutputChange, ...]:
    if not isinstance(entries, dict):
        problems.append(f"{path}: output_changes: not an object")
        return ()
    found = []
    for name, change in sorted(entries.items()):
        actions = change.get("actions") if isinstance(change, dict) else None
        if not isinstance(actions, list):
            problems.append(f"{path}: output_changes.{name}: needs actions")
            continue
        try:
            Action.of(tuple(actions))
        except ValueError as error:
            problems.append(f"{path}: output_changes.{name}: {error}")
            continue
        # an output's sensitivity is a plain boolean for the whole value, or a mark tree inside it
        before = SENSITIVE if _any_true(change.get("before_sensitive")) else display(change.get("before"))
        if _any_true(change.get("after_sensitive")):
            after = SENSITIVE
        elif _any_true(change.get("after_unknown")):
            after = UNKNOWN
        else:
            after = display(change.get("after"))
        found.append(OutputChange(name, tuple(actions), before, after))
    return tuple(found)


def _references(configuration: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    """{address: {attribute: resource addresses it references}} from the root module's configuration.

    Terraform lists each reference at several depths ("aws_lb.public.arn", "aws_lb.public"); only
    the resource addresses are kept.
    """
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    root = configuration.get("root_module", {}) if isinstance(configuration, dict) else {}
    for resource in root.get("resources", []) if isinstance(root, dict) else []:
        expressions = resource.get("expressions") if isinstance(resource, dict) else None
        if not isinstance(expressions, dict):
            continue
        attributes = {}
        for attribute, expression in expressions.items():
            named = expression.get("references", []) if isinstance(expression, dict) else []
            addresses = tuple(
                dict.fromkeys(m[0] for r in named if isinstance(r, str) and (m := _ADDRESS.match(r)))
            )
            if addresses:
                attributes[attribute] = addresses
        found[str(resource.get("address", ""))] = attributes
    return found


_ADDRESS = re.compile(r"^(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*(?=$|\.|\[)")


# ---------------------------------------------------------------------------------------------
# Which stack
# ---------------------------------------------------------------------------------------------

STACK_TAG = "Environment"  # every stack's provider default_tags carry it (bootstrap: "bootstrap")


def stack_name(data: dict[str, Any], path: Path) -> tuple[str, str]:
    """(name, how it was found): the provider's default_tags `Environment`, else the file name.

    A plan carries no stack name of its own, and a file name is whatever the user typed; the tag is
    what the generator wrote for that stack. Without it: the file name without a "plan" word
    (`prod-plan.json`, `plan.prod.json` -> prod), or the directory of a bare `plan.json`.
    """
    tag = _default_tag(data.get("configuration", {}), STACK_TAG)
    if tag:
        return tag, f"provider default_tags {STACK_TAG}"
    words = [w for w in path.name.removesuffix(".json").replace("_", "-").replace(".", "-").split("-") if w]
    kept = [w for w in words if w.lower() not in ("plan", "tfplan")]
    if kept:
        return "-".join(kept), "file name"
    return path.resolve().parent.name, "directory name"


def _default_tag(configuration: Any, key: str) -> str:
    providers = configuration.get("provider_config", {}) if isinstance(configuration, dict) else {}
    # the default aws provider first ("aws"), then aliased ones ("aws.us-east-1")
    for _, provider in sorted(providers.items(), key=lambda item: (item[0] != "aws", item[0])):
        if not isinstance(provider, dict) or provider.get("name") != "aws":
            continue
        for block in provider.get("expressions", {}).get("default_tags", []) or []:
            tags = block.get("tags", {}).get("constant_value") if isinstance(block, dict) else None
            if isinstance(tags, dict) and isinstance(tags.get(key), str) and tags[key]:
                return tags[key]
    return ""
