"""Policy tier: checkov on every synthesized stack, judged against checkov_suppressions.toml.

The `policy`-marked tests run the real checkov (from .venv-checkov, see the Makefile). The unmarked
tests prove the harness itself on hand-written checkov reports, so a harness that silently passes
everything is caught in the quick tier.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from checkov_harness import (
    CheckovNotFound,
    PolicyResult,
    Suppression,
    evaluate,
    find_checkov,
    load_suppressions,
    pinned_checkov_version,
    run_checkov,
    stack_files,
)
from policy_tools import example_stack_files

EXPECTED_STACKS = {"bootstrap", "dev", "stg", "prod"}
CLOUD_BOOTSTRAP = "terraform-cloud-bootstrap"
STATE_GRANTS_BOOTSTRAP = "multi-account-bootstrap"
PIPELINES = "codepipeline-prod"


# --- the real scan ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov_scan(
    fresh_synth: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any] | list[Any], dict[str, Path]]:
    """One checkov run over every stack of the fresh synth and the cloud bootstrap: (report, {stack: file})."""
    try:
        checkov = find_checkov()
    except CheckovNotFound as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:  # a failure, not a skip: `make test` promises the policy tier ran
        pytest.fail(missing, pytrace=False)
    files = stack_files(fresh_synth)
    assert set(files) >= EXPECTED_STACKS, f"synth produced stacks {sorted(files)}"
    files |= example_stack_files(tmp_path_factory.mktemp("examples"))
    started = time.monotonic()
    report = run_checkov(checkov, files)
    print(f"checkov scanned {len(files)} stacks in {time.monotonic() - started:.1f}s")
    return report, files


@pytest.fixture(scope="module")
def policy_result(checkov_scan: tuple[Any, dict[str, Path]]) -> PolicyResult:
    report, files = checkov_scan
    return evaluate(report, files, load_suppressions())


def _fail_on(result: PolicyResult, *kinds: str) -> None:
    """Fail with the readable list only (the PolicyResult repr would bury it)."""
    message = result.format(*kinds)
    if message:
        pytest.fail(message, pytrace=False)


@pytest.mark.policy
def test_checkov_is_the_pinned_version(checkov_scan: tuple[Any, dict[str, Path]]) -> None:
    report, _ = checkov_scan
    reports = report if isinstance(report, list) else [report]
    versions = {r.get("summary", {}).get("checkov_version") for r in reports}
    assert versions == {pinned_checkov_version()}, (
        f"checkov {versions} ran, the suppression file is written against {pinned_checkov_version()}"
    )


@pytest.mark.policy
def test_checkov_parsed_and_checked_every_stack(policy_result: PolicyResult) -> None:
    _fail_on(policy_result, "parse_problems")


@pytest.mark.policy
def test_every_failed_check_is_suppressed_with_a_reason(policy_result: PolicyResult) -> None:
    _fail_on(policy_result, "unsuppressed", "ambiguous")


@pytest.mark.policy
def test_no_suppression_is_stale(policy_result: PolicyResult) -> None:
    _fail_on(policy_result, "stale")


@pytest.mark.policy
def test_terraform_cloud_trust_is_scanned(policy_result: PolicyResult) -> None:
    """The cloud bootstrap was checked, and its only accepted findings are the apply roles'
    AdministratorAccess (one per cloud environment of examples/terraform-cloud/)."""
    assert policy_result.passed_per_stack.get(CLOUD_BOOTSTRAP, 0) > 0
    accepted = [line for line in policy_result.suppressed if line.startswith(f"{CLOUD_BOOTSTRAP}:")]
    assert len(accepted) == 2 and all("CKV_AWS_274" in line for line in accepted), accepted


@pytest.mark.policy
def test_cross_account_state_grants_are_scanned(policy_result: PolicyResult) -> None:
    """The bootstrap of examples/multi-account/ (the state store with its cross-account grants) was
    checked; its accepted findings are the shipped bootstrap's, by the same entries."""
    assert policy_result.passed_per_stack.get(STATE_GRANTS_BOOTSTRAP, 0) > 0


def _outcomes_in(
    report: dict[str, Any] | list[Any], stack_file: Path, name_suffix: str
) -> tuple[set[str], set[str]]:
    """(passed, failed) check IDs on the resources of one stack whose name ends with `name_suffix`
    (checkov names them `resource.<name>` or `<type>.<name>`)."""
    passed: set[str] = set()
    failed: set[str] = set()
    target = str(stack_file.resolve())
    for rep in report if isinstance(report, list) else [report]:
        results = rep.get("results", {}) if isinstance(rep, dict) else {}
        for kind, into in (("passed_checks", passed), ("failed_checks", failed)):
            for check in results.get(kind, []):
                path = check.get("file_abs_path")
                in_stack = isinstance(path, str) and str(Path(path).resolve()) == target
                if in_stack and str(check.get("resource", "")).endswith(name_suffix):
                    into.add(str(check.get("check_id")))
    return passed, failed


@pytest.mark.policy
def test_codepipeline_delivery_is_scanned(checkov_scan: tuple[Any, dict[str, Path]]) -> None:
    """examples/codepipeline/'s prod was checked: its CodeBuild projects pass checkov's encryption
    (any, and with a CMK) and logging checks and fail only privileged mode (suppressed with its
    reason), and its pipelines pass the artifact store's CMK check with no failure."""
    report, files = checkov_scan
    built, build_failed = _outcomes_in(report, files[PIPELINES], "_build_project")
    assert {"CKV_AWS_78", "CKV_AWS_147", "CKV_AWS_314"} <= built, built
    assert build_failed == {"CKV_AWS_316"}
    piped, pipeline_failed = _outcomes_in(report, files[PIPELINES], "_pipeline_pipeline")
    assert "CKV_AWS_219" in piped and not pipeline_failed, (piped, pipeline_failed)


# --- the harness on fake reports (no checkov needed) ------------------------------------------


def _stack(tmp_path: Path, name: str) -> Path:
    """A tiny cdk.tf.json with one bucket and one log group."""
    path = tmp_path / "stacks" / name / "cdk.tf.json"
    path.parent.mkdir(parents=True)
    doc = {
        "resource": {
            "aws_s3_bucket": {"state_state_bucket_bucket": {"bucket": "b"}},
            "aws_cloudwatch_log_group": {"network_flow_log_group": {"retention_in_days": 30}},
        }
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _check(check_id: str, resource: str, path: Path, name: str = "a check") -> dict[str, Any]:
    return {"check_id": check_id, "check_name": name, "resource": resource, "file_abs_path": str(path)}


def _report(
    passed: list[dict[str, Any]], failed: list[dict[str, Any]], parsing_errors: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "check_type": "terraform_json",
        "results": {
            "passed_checks": passed,
            "failed_checks": failed,
            "skipped_checks": [],
            "parsing_errors": list(parsing_errors),
        },
        "summary": {
            "passed": len(passed),
            "failed": len(failed),
            "skipped": 0,
            "parsing_errors": len(parsing_errors),
            "resource_count": 0,
            "checkov_version": "3.3.30",
        },
    }


def _suppress(check: str, resource: str, stacks: list[str], index: int = 0) -> Suppression:
    return Suppression(check, resource, tuple(stacks), "a reason long enough to be read", index)


@pytest.fixture
def two_stacks(tmp_path: Path) -> dict[str, Path]:
    return {"bootstrap": _stack(tmp_path, "bootstrap"), "dev": _stack(tmp_path, "dev")}


def _clean_passes(files: dict[str, Path]) -> list[dict[str, Any]]:
    return [_check("CKV_AWS_41", "provider.aws", p) for p in files.values()]


def test_a_clean_report_has_no_problems(two_stacks: dict[str, Path]) -> None:
    failed = [_check("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_bucket", two_stacks["bootstrap"])]
    result = evaluate(
        _report(_clean_passes(two_stacks), failed),
        two_stacks,
        [_suppress("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_*", ["bootstrap"])],
    )
    assert result.problems == []
    assert result.passed_per_stack == {"bootstrap": 1, "dev": 1}
    assert len(result.suppressed) == 1


def test_parsing_errors_are_detected(two_stacks: dict[str, Path]) -> None:
    report = _report(_clean_passes(two_stacks), [], parsing_errors=[str(two_stacks["dev"])])
    result = evaluate(report, two_stacks, [])
    assert result.parse_problems == ["checkov could not parse 1 file(s): dev"]


def test_zero_passed_checks_for_a_stack_is_detected(two_stacks: dict[str, Path]) -> None:
    passed = [_check("CKV_AWS_41", "provider.aws", two_stacks["bootstrap"])]
    result = evaluate(_report(passed, []), two_stacks, [])
    assert len(result.parse_problems) == 1
    assert result.parse_problems[0].startswith("dev: zero passed checks")


def test_an_empty_run_is_detected(two_stacks: dict[str, Path]) -> None:
    # What checkov prints when it found nothing to scan: a bare summary, exit status 0.
    bare = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}
    result = evaluate(bare, two_stacks, [])
    assert "checkov produced no terraform_json report" in result.format()
    assert sum("zero passed checks" in p for p in result.parse_problems) == 2


def test_unsuppressed_failures_are_reported_with_stack_check_and_address(two_stacks: dict[str, Path]) -> None:
    # checkov's Python checks name resources `resource.<name>`; the harness restores the type.
    failed = [
        _check("CKV_AWS_338", "resource.network_flow_log_group", two_stacks["dev"], "retention of a year"),
        _check("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_bucket", two_stacks["dev"], "replication"),
    ]
    suppressions = [_suppress("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_*", ["bootstrap", "dev"])]
    result = evaluate(_report(_clean_passes(two_stacks), failed), two_stacks, suppressions)
    assert result.unsuppressed == [
        "dev: CKV_AWS_338 aws_cloudwatch_log_group.network_flow_log_group: retention of a year"
    ]


def test_a_suppression_for_another_stack_or_type_does_not_apply(two_stacks: dict[str, Path]) -> None:
    failed = [_check("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_bucket", two_stacks["dev"])]
    suppressions = [
        _suppress("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_*", ["bootstrap"], index=0),
        _suppress("CKV_AWS_144", "aws_s3_bucket_policy.state_state_bucket_*", ["dev"], index=1),
    ]
    result = evaluate(_report(_clean_passes(two_stacks), failed), two_stacks, suppressions)
    assert len(result.unsuppressed) == 1
    assert len(result.stale) == 2


def test_stale_suppressions_are_detected_per_stack(two_stacks: dict[str, Path]) -> None:
    failed = [_check("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_bucket", two_stacks["bootstrap"])]
    suppressions = [
        _suppress("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_*", ["bootstrap", "dev"], index=0),
        _suppress("CKV_AWS_18", "aws_s3_bucket.state_state_bucket_*", ["bootstrap"], index=1),
        _suppress("CKV_AWS_18", "aws_s3_bucket.state_state_bucket_*", ["qa"], index=2),
    ]
    result = evaluate(_report(_clean_passes(two_stacks), failed), two_stacks, suppressions)
    assert result.unsuppressed == []
    assert result.stale == [
        "suppress[0] (CKV_AWS_144 on aws_s3_bucket.state_state_bucket_*) for stack dev: no finding matches it",
        "suppress[1] (CKV_AWS_18 on aws_s3_bucket.state_state_bucket_*) for stack bootstrap: no finding matches it",
        "suppress[2] (CKV_AWS_18 on aws_s3_bucket.state_state_bucket_*) for stack qa: that stack was not scanned",
    ]


def test_a_finding_matched_twice_is_reported(two_stacks: dict[str, Path]) -> None:
    failed = [_check("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_bucket", two_stacks["bootstrap"])]
    suppressions = [
        _suppress("CKV_AWS_144", "aws_s3_bucket.state_state_bucket_*", ["bootstrap"], index=0),
        _suppress("CKV_AWS_144", "aws_s3_bucket.*", ["bootstrap"], index=1),
    ]
    result = evaluate(_report(_clean_passes(two_stacks), failed), two_stacks, suppressions)
    assert len(result.ambiguous) == 1 and result.stale == []


def test_failure_messages_name_every_kind(two_stacks: dict[str, Path]) -> None:
    failed = [_check("CKV_AWS_18", "aws_s3_bucket.state_state_bucket_bucket", two_stacks["dev"])]
    report = _report([], failed, parsing_errors=[str(two_stacks["bootstrap"])])
    result = evaluate(report, two_stacks, [_suppress("CKV_AWS_1", "aws_s3_bucket.x", ["dev"])])
    text = result.format()
    for expected in (
        "could not parse 1 file(s): bootstrap",
        "dev: zero passed checks",
        "dev: CKV_AWS_18 aws_s3_bucket.state_state_bucket_bucket",
        "suppress[0] (CKV_AWS_1 on aws_s3_bucket.x) for stack dev",
    ):
        assert expected in text


# --- the suppression file loader: see test_allowlist.py (it tests both harnesses' files) --------


def test_checkov_lookup_fails_clearly_without_a_binary(tmp_path: Path) -> None:
    with pytest.raises(CheckovNotFound, match=r"\$CHECKOV is unset and .*\.venv-checkov/bin/checkov"):
        find_checkov(environ={}, root=tmp_path)
    with pytest.raises(CheckovNotFound, match=r"CHECKOV='/nowhere/checkov' is not an executable"):
        find_checkov(environ={"CHECKOV": "/nowhere/checkov"}, root=tmp_path)
    fallback = tmp_path / ".venv-checkov" / "bin" / "checkov"
    fallback.parent.mkdir(parents=True)
    fallback.write_text("#!/bin/sh\n", encoding="utf-8")
    fallback.chmod(0o755)
    assert find_checkov(environ={}, root=tmp_path) == fallback


def test_the_makefile_pin_is_readable() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned_checkov_version())
