"""The allow-file contract both policy-tier harnesses share (allowlist.py).

The loader tests run on each harness's real format (checkov_suppressions.toml's [[suppress]],
iam_lint_allow.toml's [[allow]]): the common rules on both, and each tool's own keys. How each
tool's findings are read and judged (unmatched, stale per stack, ambiguous) is tested end to end in
test_checkov.py and test_iam_lint.py; the shared matching and judgement are pinned down further
here, on checkov's entries and findings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import checkov_harness
import iam_lint_harness
import pytest
from allowlist import MIN_JUSTIFICATION_CHARS, AllowlistError, AllowlistResult, Verdict, glob, in_scope
from checkov_harness import SUPPRESSION_FORMAT, Finding, Suppression
from policy_tools import EXAMPLE_STACKS

# --- the common rules, on each harness's format ----------------------------------------------


@dataclass(frozen=True)
class Harness:
    """What the contract tests need of one harness."""

    table: str
    parse: Callable[[dict[str, Any]], list[Any]]
    load: Callable[[Path], list[Any]]
    committed: Path
    error: type[AllowlistError]
    good_entry: dict[str, Any]
    identifier_key: str  # the key that names the tool's check ("check", "issue")
    typo_key: str  # a key the format does not have
    typo_table: str  # a misspelt table name
    own_cases: tuple[tuple[dict[str, Any], str], ...]  # bad values of the tool's own keys


HARNESSES = {
    "checkov": Harness(
        table="suppress",
        parse=checkov_harness.parse_suppressions,
        load=checkov_harness.load_suppressions,
        committed=checkov_harness.SUPPRESSIONS_FILE,
        error=checkov_harness.SuppressionFileError,
        good_entry={
            "check": "CKV_AWS_144",
            "resource": "aws_s3_bucket.state_*",
            "stacks": ["bootstrap"],
            "justification": "replication is a per-organisation DR decision",
        },
        identifier_key="check",
        typo_key="reason",
        typo_table="suppres",
        own_cases=(
            ({"check": "S3-REPLICATION"}, "suppress[0].check: 'S3-REPLICATION' is not a checkov check ID"),
            ({"resource": "*"}, "suppress[0].resource: '*' must be '<resource type>.<name glob>'"),
            ({"resource": "aws_*.state"}, "suppress[0].resource: 'aws_*.state' must be"),
        ),
    ),
    "iam_lint": Harness(
        table="allow",
        parse=iam_lint_harness.parse_allow,
        load=iam_lint_harness.load_allow,
        committed=iam_lint_harness.ALLOW_FILE,
        error=iam_lint_harness.AllowFileError,
        good_entry={
            "issue": "RESOURCE_STAR",
            "resource": "aws_kms_key.*",
            "stacks": ["dev"],
            "justification": "in a key policy Resource * is the key itself",
        },
        identifier_key="issue",
        typo_key="check",
        typo_table="alow",
        own_cases=(
            ({"issue": "resource-star"}, "allow[0].issue: 'resource-star' is not a parliament issue key"),
            ({"resource": "*"}, "allow[0].resource: '*' must be '<resource type>.<name glob>'"),
            ({"sid": ""}, "allow[0].sid: must be a non-empty string"),
            ({"attribute": 3}, "allow[0].attribute: must be a non-empty string"),
        ),
    ),
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    return HARNESSES[request.param]


def _entry(harness: Harness, **overrides: Any) -> dict[str, Any]:
    entry = {**harness.good_entry, **overrides}
    return {k: v for k, v in entry.items() if v is not None}


# Every file's rules, each case checked on every harness's format.
COMMON_CASES: tuple[tuple[dict[str, Any], str], ...] = (
    ({"justification": None}, "{table}[0].justification: missing"),
    ({"justification": "   "}, "{table}[0].justification: must not be empty"),
    ({"justification": "n/a"}, "{table}[0].justification: 'n/a' is too short"),
    ({"stacks": []}, "{table}[0].stacks: must be a non-empty list"),
    ({"stacks": None}, "{table}[0].stacks: missing"),
    ({"{typo}": "a key the format does not have"}, "{table}[0].{typo}: unknown key"),
)


def _bad_entry_cases() -> list[Any]:
    cases = []
    for name, harness in sorted(HARNESSES.items()):
        for overrides, message in COMMON_CASES:
            overrides = {k.format(typo=harness.typo_key): v for k, v in overrides.items()}
            message = message.format(table=harness.table, typo=harness.typo_key)
            cases.append(pytest.param(harness, overrides, message, id=f"{name}-{message}"))
        cases += [pytest.param(harness, o, m, id=f"{name}-{m}") for o, m in harness.own_cases]
    return cases


@pytest.mark.parametrize(("harness", "overrides", "message"), _bad_entry_cases())
def test_the_loader_rejects_bad_entries(harness: Harness, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(harness.error, match=re.escape(message)):
        harness.parse({harness.table: [_entry(harness, **overrides)]})


def test_the_loader_reports_every_problem_at_once(harness: Harness) -> None:
    bad = {
        harness.typo_table: [],
        harness.table: [
            _entry(harness, justification=""),
            _entry(harness),
            _entry(harness, **{harness.identifier_key: "x"}),
        ],
    }
    with pytest.raises(harness.error) as info:
        harness.parse(bad)
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert f"{harness.table}[0].justification" in lines[1]
    assert f"{harness.table}[2].{harness.identifier_key}" in lines[2]


def test_the_committed_file_is_valid_and_names_real_stacks(harness: Harness) -> None:
    entries = harness.load(harness.committed)
    environments = {p.stem for p in (checkov_harness.ROOT / "environments").glob("*.toml")} - {"project"}
    # and the example stack the policy tier scans beside them (test_checkov.py, test_iam_lint.py)
    known = environments | {"bootstrap", *EXAMPLE_STACKS}
    for entry in entries:
        assert set(entry.stacks) <= known, f"{entry.label()}: unknown stacks {set(entry.stacks) - known}"


def test_entries_are_built_with_normalized_justification_and_stack_tuple(harness: Harness) -> None:
    text = "  a reason   spread over\n several   lines  "
    (entry,) = harness.parse({harness.table: [_entry(harness, justification=text, stacks=["dev", "prod"])]})
    assert entry.justification == "a reason spread over several lines"
    assert entry.stacks == ("dev", "prod") and entry.index == 0


def test_the_justification_rule_counts_stripped_characters(harness: Harness) -> None:
    def parse(justification: str) -> list[Any]:
        return harness.parse({harness.table: [_entry(harness, justification=justification)]})

    assert len(parse("x" * MIN_JUSTIFICATION_CHARS)) == 1
    with pytest.raises(harness.error, match="too short"):
        parse(f"  {'x' * (MIN_JUSTIFICATION_CHARS - 1)}  ")


def test_the_loader_rejects_malformed_files(harness: Harness) -> None:
    table = harness.table
    with pytest.raises(
        harness.error, match=re.escape(f": {table}: must be an array of tables ([[{table}]])")
    ):
        harness.parse({table: _entry(harness)})
    with pytest.raises(harness.error) as info:
        harness.parse({table: ["not a table"], harness.typo_table: []})
    assert [line.split(": ", 1)[1] for line in str(info.value).splitlines()] == [
        f"{harness.typo_table}: unknown key (entries go in [[{table}]])",
        f"{table}[0]: must be a table",
    ]
    with pytest.raises(
        harness.error, match=re.escape(f"{table}[0].stacks: must be a non-empty list of distinct")
    ):
        harness.parse({table: [_entry(harness, stacks=["dev", "dev"])]})


def test_the_loader_reads_toml_and_names_the_file_on_a_syntax_error(harness: Harness, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    lines = [f"{key} = {json.dumps(value)}" for key, value in harness.good_entry.items()]
    good.write_text("\n".join([f"[[{harness.table}]]", *lines, ""]), encoding="utf-8")
    assert harness.load(good) == harness.parse({harness.table: [harness.good_entry]})
    bad = tmp_path / "bad.toml"
    bad.write_text(f"[[{harness.table}]\n", encoding="utf-8")
    with pytest.raises(harness.error, match=r"^bad\.toml: "):
        harness.load(bad)


# --- matching and judging (on checkov's entries and findings) ---------------------------------


def _finding(stack: str, check: str, address: str) -> Finding:
    return Finding(stack, check, address, "a check")


def _suppress(check: str, resource: str, stacks: list[str], index: int = 0) -> Suppression:
    return Suppression(check, resource, tuple(stacks), "a justification long enough", index)


def _judge(findings: list[Finding], entries: list[Suppression], scanned: set[str]) -> Verdict:
    return SUPPRESSION_FORMAT.judge(
        findings, entries, scanned=scanned, order=lambda f: (f.stack, f.check_id, f.address)
    )


def test_glob_matching_is_case_sensitive_and_whole_address() -> None:
    assert glob("aws_s3_bucket.state_bucket", "aws_s3_bucket.state_*")
    assert not glob("aws_s3_bucket.State_bucket", "aws_s3_bucket.state_*")
    assert not glob("aws_s3_bucket.state_bucket_policy", "aws_s3_bucket.state_bucket")
    finding = _finding("dev", "CKV_AWS_1", "aws_s3_bucket.state_bucket")
    assert in_scope(("dev", "prod"), "aws_s3_bucket.*", finding)
    assert not in_scope(("prod",), "aws_s3_bucket.*", finding)
    assert not in_scope(("dev",), "aws_s3_bucket_policy.*", finding)


def test_the_judgement_sorts_allows_and_reports_unmatched_findings() -> None:
    findings = [
        _finding("prod", "CKV_AWS_1", "r.b"),
        _finding("dev", "CKV_AWS_2", "r.a"),
        _finding("dev", "CKV_AWS_1", "r.a"),
    ]
    verdict = _judge(findings, [_suppress("CKV_AWS_1", "r.*", ["dev", "prod"])], {"dev", "prod"})
    assert verdict.allowed == [
        "dev: CKV_AWS_1 r.a: a check [suppress[0]]",
        "prod: CKV_AWS_1 r.b: a check [suppress[0]]",
    ]
    assert verdict.unmatched == ["dev: CKV_AWS_2 r.a: a check"]
    assert verdict.stale == [] and verdict.ambiguous == []


def test_the_judgement_reports_a_finding_matched_twice_and_uses_both_entries() -> None:
    entries = [
        _suppress("CKV_AWS_1", "r.a", ["dev"], index=0),
        _suppress("CKV_AWS_1", "r.*", ["dev"], index=1),
    ]
    verdict = _judge([_finding("dev", "CKV_AWS_1", "r.a")], entries, {"dev"})
    assert verdict.ambiguous == [
        "dev: CKV_AWS_1 r.a: a check: suppress[0] (CKV_AWS_1 on r.a), suppress[1] (CKV_AWS_1 on r.*)"
    ]
    assert verdict.allowed == ["dev: CKV_AWS_1 r.a: a check [suppress[0]]"]
    assert verdict.stale == []


# --- the result -------------------------------------------------------------------------------


@dataclass
class ToyResult(AllowlistResult):
    SECTIONS = {"broken": "broken things", "stale": "stale things", "ambiguous": "ambiguous things"}

    broken: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)


def test_the_result_lists_problems_by_section() -> None:
    result = ToyResult(broken=["b1", "b2"], stale=["s1"], allowed=["a1"])
    assert result.problems == ["b1", "b2", "s1"]
    assert result.format() == "broken things:\n  b1\n  b2\nstale things:\n  s1"
    assert result.format("stale") == "stale things:\n  s1"
    assert ToyResult(allowed=["a1"]).format() == ""
    ambiguous = ToyResult(broken=["b1"], ambiguous=["m1"], stale=["s1"])
    assert ambiguous.problems == ["b1", "s1", "m1"]
    assert ambiguous.format("ambiguous", "broken") == "ambiguous things:\n  m1\nbroken things:\n  b1"
