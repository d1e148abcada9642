"""The policy tier's logic: find and run checkov, read its JSON report, apply the suppression file.

checkov runs from its own virtualenv (its pins clash with ours), so it is a subprocess here, and
nothing in this module imports checkov. The checks that matter are the ones checkov itself does not
make: it exits 0 when it cannot parse a file, it names some resources `resource.<name>` without
their type in `terraform_json` mode, and it knows nothing of our suppression file. `evaluate` turns
one report into a list of problems, each a readable line naming the stack, check and address.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from allowlist import (
    AllowFileFormat,
    AllowlistError,
    AllowlistResult,
    in_scope,
    pattern_rule,
    resource_rule,
)
from policy_tools import find_tool, pinned_version

ROOT = Path(__file__).resolve().parents[2]
SUPPRESSIONS_FILE = Path(__file__).resolve().parent / "checkov_suppressions.toml"
MAKEFILE = ROOT / "Makefile"
CHECKOV_TIMEOUT_SECONDS = 120

_CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
# `<resource type>.<name glob>`: the type is literal, so an entry can never match across types.
_RESOURCE_PATTERN = re.compile(r"^(?P<type>[a-z][a-z0-9_]*)\.(?P<name>\S+)$")


class SuppressionFileError(AllowlistError):
    """The suppression file is malformed; the message lists every problem, one per line."""


class CheckovNotFound(RuntimeError):
    """Neither $CHECKOV nor the repository's .venv-checkov provides a checkov binary."""


@dataclass(frozen=True)
class Suppression:
    """One `[[suppress]]` entry: `check` failing on `resource` in each of `stacks` is accepted."""

    check: str
    resource: str  # `<type>.<name glob>`, matched against normalized addresses
    stacks: tuple[str, ...]
    justification: str
    index: int  # position in the file, for messages

    def matches(self, finding: Finding) -> bool:
        return finding.check_id == self.check and in_scope(self.stacks, self.resource, finding)

    def label(self) -> str:
        return f"suppress[{self.index}] ({self.check} on {self.resource})"


@dataclass(frozen=True)
class Finding:
    """One failed check, located by stack and normalized Terraform address."""

    stack: str
    check_id: str
    address: str
    check_name: str

    def describe(self) -> str:
        return f"{self.stack}: {self.check_id} {self.address}: {self.check_name}"


@dataclass
class PolicyResult(AllowlistResult):
    """What `evaluate` found, by kind; every list holds readable one-line messages."""

    SECTIONS: ClassVar[Mapping[str, str]] = {
        "parse_problems": "checkov did not really scan every stack",
        "unsuppressed": (
            "failed checks not covered by synth_tests/verification/checkov_suppressions.toml "
            "(fix the generator, or add an entry with a justification)"
        ),
        "stale": "stale suppression entries (they no longer match a finding: delete them)",
        "ambiguous": "findings matched by more than one suppression entry",
    }

    passed_per_stack: dict[str, int] = field(default_factory=dict)
    failed_per_stack: dict[str, int] = field(default_factory=dict)
    suppressed: list[str] = field(default_factory=list)
    parse_problems: list[str] = field(default_factory=list)
    unsuppressed: list[str] = field(default_factory=list)


# --- suppression file -------------------------------------------------------------------------

SUPPRESSION_FORMAT: AllowFileFormat[Suppression] = AllowFileFormat(
    table="suppress",
    rules={
        "check": pattern_rule(_CHECK_ID, "is not a checkov check ID like CKV_AWS_144"),
        "resource": resource_rule(_RESOURCE_PATTERN, "aws_s3_bucket.state_state-bucket_*"),
    },
    entry_type=Suppression,
    error=SuppressionFileError,
)


def parse_suppressions(
    data: Mapping[str, Any], source: str = "checkov_suppressions.toml"
) -> list[Suppression]:
    """Validate the parsed TOML; raise SuppressionFileError listing every problem at once."""
    return SUPPRESSION_FORMAT.parse(data, source)


def load_suppressions(path: Path = SUPPRESSIONS_FILE) -> list[Suppression]:
    return SUPPRESSION_FORMAT.load(path)


# --- running checkov --------------------------------------------------------------------------


def pinned_checkov_version(makefile: Path = MAKEFILE) -> str:
    """The `CHECKOV_VERSION` the Makefile installs: the suppression file is written against it."""
    return pinned_version("CHECKOV_VERSION", makefile)


def find_checkov(environ: Mapping[str, str] = os.environ, root: Path = ROOT) -> Path:
    """$CHECKOV (set by `make test` / `make policy`), else <repo>/.venv-checkov/bin/checkov."""
    hint = (
        "run `make policy` (it creates .venv-checkov with the pinned checkov and sets $CHECKOV), "
        "or set CHECKOV=/path/to/bin/checkov"
    )
    return find_tool("checkov", "CHECKOV", hint, CheckovNotFound, environ, root)


def stack_files(out_dir: Path) -> dict[str, Path]:
    """`{stack name: .../stacks/<stack>/cdk.tf.json}` for every stack in a synth output directory."""
    return {p.parent.name: p for p in sorted((out_dir / "stacks").glob("*/cdk.tf.json"))}


def run_checkov(checkov: Path, files: Mapping[str, Path], timeout: int = CHECKOV_TIMEOUT_SECONDS) -> Any:
    """One checkov run over every stack file; returns its parsed JSON report."""
    if not files:
        raise AssertionError("no stacks to scan")
    cwd = next(iter(files.values())).parent.parent
    command = [
        str(checkov),
        "--framework",
        "terraform_json",
        "--output",
        "json",
        # Offline and reproducible: no guideline download from Prisma Cloud, no module fetches.
        "--skip-download",
        "--download-external-modules",
        "false",
        "--file",
        *(str(p) for p in files.values()),
    ]
    # cwd is the scratch output dir, so no stray .checkov.yaml from the repository applies.
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    # 0: no failed checks, 1: failed checks; anything else is checkov itself failing.
    if proc.returncode not in (0, 1):
        raise AssertionError(
            f"checkov exited {proc.returncode}\n$ {' '.join(command)}\n{proc.stderr[-4000:]}"
        )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(
            f"checkov output is not JSON ({exc})\nstdout: {proc.stdout[:2000]}\nstderr: {proc.stderr[-2000:]}"
        ) from exc


# --- reading the report -----------------------------------------------------------------------


def _terraform_json_reports(report: Any) -> list[dict[str, Any]]:
    """checkov prints one object per framework, a list when several ran, a bare summary when none did."""
    reports = report if isinstance(report, list) else [report]
    return [r for r in reports if isinstance(r, dict) and r.get("check_type") == "terraform_json"]


def _resource_index(path: Path) -> dict[str, list[str]]:
    """`{logical name: [resource types]}` of one cdk.tf.json, to restore the type checkov drops."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    index: dict[str, list[str]] = {}
    resources = doc.get("resource", {}) if isinstance(doc, dict) else {}
    for rtype, named in resources.items() if isinstance(resources, dict) else ():
        for name in named if isinstance(named, dict) else ():
            index.setdefault(name, []).append(rtype)
    return index


def _normalize_address(raw: str, index: Mapping[str, list[str]]) -> str:
    """checkov's `terraform_json` runner names resources `resource.<name>` for its Python checks
    and `<type>.<name>` for its graph checks; give both the real Terraform address."""
    prefix, _, name = raw.partition(".")
    if prefix == "resource" and len(index.get(name, [])) == 1:
        return f"{index[name][0]}.{name}"
    return raw


def evaluate(report: Any, files: Mapping[str, Path], suppressions: Sequence[Suppression]) -> PolicyResult:
    """Judge one checkov report of `files` against the suppression entries."""
    result = PolicyResult()
    by_path = {str(p.resolve()): stack for stack, p in files.items()}
    indexes = {stack: _resource_index(p) for stack, p in files.items()}
    result.passed_per_stack = dict.fromkeys(files, 0)
    result.failed_per_stack = dict.fromkeys(files, 0)

    def stack_of(check: Mapping[str, Any]) -> str | None:
        path = check.get("file_abs_path")
        return by_path.get(str(Path(path).resolve())) if isinstance(path, str) else None

    reports = _terraform_json_reports(report)
    if not reports:
        result.parse_problems.append("checkov produced no terraform_json report (did it read any file?)")

    findings: list[Finding] = []
    for rep in reports:
        summary = rep.get("summary", {})
        results = rep.get("results", {})
        errors = int(summary.get("parsing_errors", 0) or 0)
        if errors:
            paths = results.get("parsing_errors", [])
            names = [by_path.get(str(Path(p).resolve()), p) for p in paths] or ["(unnamed)"]
            result.parse_problems.append(f"checkov could not parse {errors} file(s): {', '.join(names)}")
        for check in results.get("passed_checks", []):
            stack = stack_of(check)
            if stack is None:
                result.parse_problems.append(
                    f"passed check in an unexpected file: {check.get('file_abs_path')}"
                )
            else:
                result.passed_per_stack[stack] += 1
        for check in results.get("failed_checks", []):
            stack = stack_of(check)
            if stack is None:
                result.parse_problems.append(
                    f"failed check {check.get('check_id')} in an unexpected file: {check.get('file_abs_path')}"
                )
                continue
            result.failed_per_stack[stack] += 1
            findings.append(
                Finding(
                    stack=stack,
                    check_id=str(check.get("check_id")),
                    address=_normalize_address(str(check.get("resource")), indexes[stack]),
                    check_name=str(check.get("check_name", "")),
                )
            )

    for stack, passed in sorted(result.passed_per_stack.items()):
        if passed == 0:
            result.parse_problems.append(
                f"{stack}: zero passed checks on {files[stack]} "
                "(checkov exits 0 when it cannot read a file, so this is treated as a failure)"
            )

    result.suppressed, result.unsuppressed, result.stale, result.ambiguous = SUPPRESSION_FORMAT.judge(
        findings, suppressions, scanned=files, order=lambda f: (f.stack, f.check_id, f.address)
    )
    return result
