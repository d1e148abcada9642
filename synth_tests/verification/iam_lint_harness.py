"""The IAM lint of the policy tier: every policy document of every stack, linted by parliament.

Three steps, each a pure function but the middle one:

1. `extract_documents` finds every IAM policy document of one synthesized stack, from the one table
   `POLICY_ATTRIBUTES` (resource type, attribute, kind), and turns each into the copy parliament
   reads: Terraform `${...}` references become typed placeholder ARNs (`PLACEHOLDERS`; an unknown
   reference is a problem, never a silent generic value) and a trust policy gets its role's own ARN
   as Resource (parliament reads a statement without one as malformed).
2. `run_parliament` lints them all in one process of parliament's own interpreter
   (parliament_driver.py): parliament lives in the checkov virtualenv, nothing here imports it.
3. `evaluate` judges the findings against iam_lint_allow.toml: a finding no entry allows fails, and
   so does an entry that allows nothing (stale), exactly like checkov_suppressions.toml (the
   contract both files share is allowlist.py's).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from allowlist import (
    AllowFileFormat,
    AllowlistError,
    AllowlistResult,
    glob,
    in_scope,
    pattern_rule,
    resource_rule,
)
from policy_tools import find_tool, pinned_version

ROOT = Path(__file__).resolve().parents[2]
ALLOW_FILE = Path(__file__).resolve().parent / "iam_lint_allow.toml"
DRIVER = Path(__file__).resolve().parent / "parliament_driver.py"
MAKEFILE = ROOT / "Makefile"
# A guard against a hung lint, not a speed limit: one run takes ~20 s on a quiet 2-core machine, and
# passed 120 s once when that machine also ran a benchmark beside the six test workers.
PARLIAMENT_TIMEOUT_SECONDS = 600

Kind = Literal["identity", "trust", "resource"]


# --- where policy documents live --------------------------------------------------------------


@dataclass(frozen=True)
class PolicyAttribute:
    """One place a policy document lives: `path` is an attribute of `resource_type`, or
    `block[].attribute` for an attribute of every block in a list of nested blocks."""

    resource_type: str
    path: str
    kind: Kind


# The one table of policy-bearing attributes. A JSON policy found anywhere else in a stack is a
# problem ("add it here"), so a new resource type with a policy is never skipped in silence.
POLICY_ATTRIBUTES: tuple[PolicyAttribute, ...] = (
    # identity policies
    PolicyAttribute("aws_iam_role_policy", "policy", "identity"),
    PolicyAttribute("aws_iam_policy", "policy", "identity"),
    PolicyAttribute("aws_iam_role", "inline_policy[].policy", "identity"),
    PolicyAttribute("aws_iam_user_policy", "policy", "identity"),
    PolicyAttribute("aws_iam_group_policy", "policy", "identity"),
    # trust policies
    PolicyAttribute("aws_iam_role", "assume_role_policy", "trust"),
    # resource policies
    PolicyAttribute("aws_kms_key", "policy", "resource"),
    PolicyAttribute("aws_kms_key_policy", "policy", "resource"),
    PolicyAttribute("aws_s3_bucket_policy", "policy", "resource"),
    PolicyAttribute("aws_sns_topic", "policy", "resource"),
    PolicyAttribute("aws_sns_topic_policy", "policy", "resource"),
    PolicyAttribute("aws_sqs_queue", "policy", "resource"),
    PolicyAttribute("aws_sqs_queue_policy", "policy", "resource"),
    PolicyAttribute("aws_secretsmanager_secret", "policy", "resource"),
    PolicyAttribute("aws_secretsmanager_secret_policy", "policy", "resource"),
    PolicyAttribute("aws_ecr_repository_policy", "policy", "resource"),
    PolicyAttribute("aws_ecr_registry_policy", "policy", "resource"),
    PolicyAttribute("aws_cloudwatch_log_resource_policy", "policy_document", "resource"),
    PolicyAttribute("aws_efs_file_system_policy", "policy", "resource"),
    PolicyAttribute("aws_dynamodb_resource_policy", "policy", "resource"),
)


# --- placeholders for Terraform references ----------------------------------------------------

PLACEHOLDER_PARTITION = "aws"
PLACEHOLDER_REGION = "eu-west-1"
PLACEHOLDER_ACCOUNT = "111111111111"
_KEY_ID = "00000000-0000-4000-8000-000000000000"


def _arn(service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
    region = PLACEHOLDER_REGION if regional else ""
    account_id = PLACEHOLDER_ACCOUNT if account else ""
    return f"arn:{PLACEHOLDER_PARTITION}:{service}:{region}:{account_id}:{resource}"


# `(resource type, attribute)` -> the value it stands for in a linted copy, with the shape AWS gives
# it (an ARN of the right service and resource type, a bucket name, a key ID...). Data sources are
# `data.<type>`. Add a row when the generator references something new: the lint fails until then.
PLACEHOLDERS: Mapping[tuple[str, str], str] = {
    ("aws_cloudwatch_log_group", "arn"): _arn("logs", "log-group:placeholder"),
    ("aws_cloudwatch_log_group", "name"): "placeholder",
    ("aws_kms_key", "arn"): _arn("kms", f"key/{_KEY_ID}"),
    ("aws_kms_key", "key_id"): _KEY_ID,
    ("aws_kms_key", "id"): _KEY_ID,
    ("aws_kms_alias", "arn"): _arn("kms", "alias/placeholder"),
    ("aws_kms_alias", "target_key_arn"): _arn("kms", f"key/{_KEY_ID}"),
    ("aws_ecr_repository", "arn"): _arn("ecr", "repository/placeholder"),
    ("aws_ecr_repository", "name"): "placeholder",
    ("aws_s3_bucket", "arn"): _arn("s3", "placeholder-bucket", regional=False, account=False),
    ("aws_s3_bucket", "bucket"): "placeholder-bucket",
    ("aws_s3_bucket", "id"): "placeholder-bucket",
    ("aws_s3_bucket_policy", "bucket"): "placeholder-bucket",
    ("aws_iam_openid_connect_provider", "arn"): _arn("iam", "oidc-provider/app.terraform.io", regional=False),
    ("aws_iam_role", "arn"): _arn("iam", "role/placeholder", regional=False),
    ("aws_iam_role", "name"): "placeholder",
    ("aws_iam_role", "id"): "placeholder",
    ("aws_iam_policy", "arn"): _arn("iam", "policy/placeholder", regional=False),
    ("aws_sns_topic", "arn"): _arn("sns", "placeholder"),
    ("aws_sns_topic", "id"): _arn("sns", "placeholder"),
    ("aws_sqs_queue", "arn"): _arn("sqs", "placeholder"),
    ("aws_secretsmanager_secret", "arn"): _arn("secretsmanager", "secret:placeholder-AbCdEf"),
    ("aws_secretsmanager_secret", "id"): _arn("secretsmanager", "secret:placeholder-AbCdEf"),
    ("aws_ssm_parameter", "arn"): _arn("ssm", "parameter/placeholder"),
    ("aws_dynamodb_table", "arn"): _arn("dynamodb", "table/placeholder"),
    ("aws_ecs_cluster", "arn"): _arn("ecs", "cluster/placeholder"),
    ("aws_ecs_service", "id"): _arn("ecs", "service/placeholder/placeholder"),  # its id is its ARN
    ("aws_ecs_service", "name"): "placeholder",
    ("aws_ecs_task_definition", "family"): "placeholder",
    ("aws_codebuild_project", "arn"): _arn("codebuild", "project/placeholder"),
    ("aws_codestarconnections_connection", "arn"): _arn(
        "codestar-connections", "connection/01234567-89ab-cdef-0123-456789abcdef"
    ),
    ("aws_lb", "arn"): _arn("elasticloadbalancing", "loadbalancer/app/placeholder/0123456789abcdef"),
    ("aws_db_instance", "master_user_secret[0].secret_arn"): _arn(
        "secretsmanager", "secret:rds!db-0123abcd-4567-89ef-0123-456789abcdef-AbCdEf"
    ),
    ("aws_rds_cluster", "master_user_secret[0].secret_arn"): _arn(
        "secretsmanager", "secret:rds!cluster-0123abcd-4567-89ef-0123-456789abcdef-AbCdEf"
    ),
    ("aws_db_instance", "resource_id"): "db-ABCDEFGHIJKLMNOPQRSTUVWXY2",
    ("aws_rds_cluster", "cluster_resource_id"): "cluster-ABCDEFGHIJKLMNOPQRSTUVWXY2",
    ("aws_elasticache_replication_group", "arn"): _arn("elasticache", "replicationgroup:placeholder"),
    ("aws_elasticache_user", "arn"): _arn("elasticache", "user:placeholder"),
    ("aws_efs_file_system", "arn"): _arn("elasticfilesystem", "file-system/fs-0123456789abcdef0"),
    ("aws_efs_access_point", "arn"): _arn("elasticfilesystem", "access-point/fsap-0123456789abcdef0"),
    ("aws_vpc", "id"): "vpc-0123456789abcdef0",
    ("aws_vpc_endpoint", "id"): "vpce-0123456789abcdef0",
    ("data.aws_caller_identity", "account_id"): PLACEHOLDER_ACCOUNT,
    ("data.aws_region", "name"): PLACEHOLDER_REGION,
    ("data.aws_region", "region"): PLACEHOLDER_REGION,
    ("data.aws_partition", "partition"): PLACEHOLDER_PARTITION,
}

# `type.name.attribute` or `data.type.name.attribute`, or an attribute of a nested block's first
# element (`master_user_secret[0].secret_arn`); nothing more (no other index, no function call).
_REFERENCE = re.compile(
    r"^(?P<type>(?:data\.)?[a-z][a-z0-9_]*)\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"
    r"\.(?P<attr>[a-z][a-z0-9_]*(?:\[0\]\.[a-z][a-z0-9_]*)?)$"
)


class UnknownReference(ValueError):
    """A Terraform reference (or template) in a policy that has no typed placeholder."""


def _resolve_expression(expression: str) -> str:
    match = _REFERENCE.match(expression.strip())
    if match is None:
        raise UnknownReference(
            f"${{{expression}}}: not a plain `type.name.attribute` reference; "
            "the lint cannot tell what value it stands for"
        )
    key = (match["type"], match["attr"])
    if key not in PLACEHOLDERS:
        raise UnknownReference(
            f"${{{expression}}}: no placeholder for {match['type']}.*.{match['attr']} "
            "(add a typed one to PLACEHOLDERS in synth_tests/verification/iam_lint_harness.py)"
        )
    return PLACEHOLDERS[key]


def substitute_references(text: str) -> str:
    """`text` with every `${ref}` replaced by its placeholder and `$${` unescaped to `${`.

    Terraform JSON strings are templates: `$${aws:username}` is the literal IAM policy variable
    `${aws:username}` once Terraform has read it, so it stays one. Raises UnknownReference naming
    every reference it cannot type (and any `%{` template directive), all at once.
    """
    out: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(("$${", "%%{"), i):
            out.append(text[i + 1 : i + 3])
            i += 3
        elif text.startswith("${", i):
            end = text.find("}", i + 2)
            if end < 0:
                unknown.append(f"{text[i:]!r}: unterminated reference")
                break
            try:
                out.append(_resolve_expression(text[i + 2 : end]))
            except UnknownReference as exc:
                unknown.append(str(exc))
            i = end + 1
        elif text.startswith("%{", i):
            unknown.append(f"{text[i:]!r}: template directives are not linted")
            break
        else:
            out.append(text[i])
            i += 1
    if unknown:
        raise UnknownReference("; ".join(unknown))
    return "".join(out)


def substitute_in(value: Any) -> Any:
    """A copy of a parsed policy with references substituted in every string, keys included
    (a condition key may hold one, e.g. an OIDC provider's URL). Raises UnknownReference naming
    every unknown reference of the whole document."""
    unknown: list[str] = []

    def text(s: str) -> str:
        try:
            return substitute_references(s)
        except UnknownReference as exc:
            unknown.append(str(exc))
            return s

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return text(v)
        if isinstance(v, list):
            return [walk(item) for item in v]
        if isinstance(v, dict):
            return {text(k): walk(item) for k, item in v.items()}
        return v

    result = walk(value)
    if unknown:
        raise UnknownReference("; ".join(unknown))
    return result


# --- trust policies ---------------------------------------------------------------------------


def role_arn(resource: Mapping[str, Any], terraform_name: str) -> str:
    """The role's own ARN for the linted copy of its trust policy: its literal name and path when
    it has them, else its Terraform name."""
    name = resource.get("name")
    if not isinstance(name, str) or "${" in name or not name:
        name = terraform_name
    path = resource.get("path")
    if not isinstance(path, str) or "${" in path or not path.startswith("/") or not path.endswith("/"):
        path = "/"
    return _arn("iam", f"role{path}{name}", regional=False)


def with_trust_resource(policy: Mapping[str, Any], arn: str) -> dict[str, Any]:
    """A copy of a trust policy whose statements without Resource/NotResource name `arn`.

    A trust policy has no Resource (the role is implied); parliament reads that as malformed and
    checks nothing else, so the lint reads it as the role's own resource policy."""
    copy = json.loads(json.dumps(policy))
    statements = copy.get("Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if isinstance(statement, dict) and "Resource" not in statement and "NotResource" not in statement:
            statement["Resource"] = arn
    return copy


# --- documents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyDocument:
    """One policy as parliament reads it: `text` has one statement per line, from line 2 on, so a
    finding's line number names its statement (`sids[line - 2]`)."""

    stack: str
    address: str  # "aws_iam_role.network_flow_log_role"
    attribute: str  # "assume_role_policy", "inline_policy[0].policy"
    kind: Kind
    text: str
    sids: tuple[str | None, ...]

    @property
    def id(self) -> str:
        return f"{self.stack}:{self.address}.{self.attribute}"

    def sid_at(self, line: Any) -> str | None:
        if isinstance(line, int) and 2 <= line < 2 + len(self.sids):
            return self.sids[line - 2]
        return None


def render_for_lint(policy: Mapping[str, Any]) -> tuple[str, tuple[str | None, ...]]:
    """The policy as JSON text with each statement on its own line; and the statements' Sids."""
    statements = policy.get("Statement")
    listed = statements if isinstance(statements, list) else [statements]
    head = {k: v for k, v in policy.items() if k != "Statement"}
    opening = json.dumps(head, sort_keys=True)[:-1]  # '{"Version": "2012-10-17"'
    separator = ", " if head else ""
    body = ",\n".join(json.dumps(s, sort_keys=True) for s in listed)
    closing = "\n]}" if isinstance(statements, list) else "\n}"
    text = f'{opening}{separator}"Statement": ' + ("[\n" if isinstance(statements, list) else "\n")
    text += body + closing
    sids = tuple(
        s.get("Sid") if isinstance(s, dict) and isinstance(s.get("Sid"), str) else None for s in listed
    )
    return text, sids


def _values_at(resource: Mapping[str, Any], path: str) -> Iterator[tuple[str, Any]]:
    """`(attribute label, value)` for `attr` or `block[].attr` in one resource."""
    block, sep, attr = path.partition("[].")
    if not sep:
        if path in resource:
            yield path, resource[path]
        return
    blocks = resource.get(block)
    for index, item in enumerate(blocks if isinstance(blocks, list) else [blocks] if blocks else []):
        if isinstance(item, dict) and attr in item:
            yield f"{block}[{index}].{attr}", item[attr]


def _looks_like_policy(value: Any) -> bool:
    if not isinstance(value, str) or '"Statement"' not in value:
        return False
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and "Statement" in parsed


def _stray_policies(value: Any, where: str) -> Iterator[str]:
    """Attribute paths under `where` whose value is a JSON policy document."""
    if _looks_like_policy(value):
        yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "//":
                yield from _stray_policies(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _stray_policies(item, f"{where}[{index}]")


def extract_documents(
    stack: str, terraform: Mapping[str, Any], table: Sequence[PolicyAttribute] = POLICY_ATTRIBUTES
) -> tuple[list[PolicyDocument], list[str]]:
    """Every policy document of one stack's Terraform JSON, ready to lint; and the problems that
    keep a document from being linted (unknown references, non-literal policies, unlisted places)."""
    documents: list[PolicyDocument] = []
    problems: list[str] = []
    by_type: dict[str, list[PolicyAttribute]] = {}
    for entry in table:
        by_type.setdefault(entry.resource_type, []).append(entry)

    for block_kind in ("resource", "data"):
        blocks = terraform.get(block_kind, {})
        for rtype, named in sorted(blocks.items() if isinstance(blocks, dict) else []):
            prefix = "data." if block_kind == "data" else ""
            for name, resource in sorted(named.items() if isinstance(named, dict) else []):
                if not isinstance(resource, dict):
                    continue
                address = f"{prefix}{rtype}.{name}"
                listed: set[str] = set()
                for entry in by_type.get(rtype, []) if block_kind == "resource" else []:
                    for attribute, value in _values_at(resource, entry.path):
                        listed.add(attribute)
                        where = f"{stack}: {address}.{attribute}"
                        if not isinstance(value, str):
                            problems.append(f"{where}: not a JSON string ({type(value).__name__})")
                            continue
                        try:
                            parsed = json.loads(value)
                        except json.JSONDecodeError:
                            problems.append(
                                f"{where}: not a literal JSON policy ({value[:80]!r}); the lint "
                                "reads only documents written out in the stack"
                            )
                            continue
                        try:
                            policy = substitute_in(parsed)
                        except UnknownReference as exc:
                            problems.append(f"{where}: {exc}")
                            continue
                        if not isinstance(policy, dict):
                            problems.append(f"{where}: not a JSON object")
                            continue
                        if entry.kind == "trust":
                            policy = with_trust_resource(policy, role_arn(resource, name))
                        text, sids = render_for_lint(policy)
                        documents.append(PolicyDocument(stack, address, attribute, entry.kind, text, sids))
                for stray in _stray_policies(resource, ""):
                    attribute = stray.lstrip(".")
                    if attribute not in listed:
                        problems.append(
                            f"{stack}: {address}.{attribute}: a policy document in a place "
                            "POLICY_ATTRIBUTES does not list (add its resource type, attribute and kind)"
                        )
    return documents, problems


def stack_files(out_dir: Path) -> dict[str, Path]:
    """`{stack name: .../stacks/<stack>/cdk.tf.json}` for every stack in a synth output directory."""
    return {p.parent.name: p for p in sorted((out_dir / "stacks").glob("*/cdk.tf.json"))}


def collect_documents(files: Mapping[str, Path]) -> tuple[list[PolicyDocument], list[str]]:
    documents: list[PolicyDocument] = []
    problems: list[str] = []
    for stack, path in files.items():
        found, trouble = extract_documents(stack, json.loads(path.read_text(encoding="utf-8")))
        documents += found
        problems += trouble
        if not found and not trouble:
            problems.append(f"{stack}: no policy document found in {path} (every stack has a KMS key policy)")
    return documents, problems


# --- allow file -------------------------------------------------------------------------------

_ISSUE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_RESOURCE_PATTERN = re.compile(r"^(?:data\.)?[a-z][a-z0-9_]*\.\S+$")


class AllowFileError(AllowlistError):
    """The allow file is malformed; the message lists every problem, one per line."""


@dataclass(frozen=True)
class LintFinding:
    """One parliament finding, located by stack, address, attribute and (when known) statement Sid."""

    stack: str
    address: str
    attribute: str
    issue: str
    severity: str
    title: str
    detail: str
    sid: str | None

    def describe(self) -> str:
        where = f"{self.address}.{self.attribute}" + (f" [Sid {self.sid}]" if self.sid else "")
        return f"{self.stack}: {self.issue} ({self.severity}) {where}: {self.title}: {self.detail}"


@dataclass(frozen=True)
class Allow:
    """One `[[allow]]` entry: `issue` on documents of `resource` (and `attribute`, `sid` when given)
    in each of `stacks` is accepted."""

    issue: str
    resource: str  # "<type>.<name glob>"
    stacks: tuple[str, ...]
    justification: str
    index: int
    attribute: str | None = None  # glob on the attribute ("assume_role_policy"); None: any
    sid: str | None = None  # glob on the statement Sid; None: any statement, or the whole policy

    def matches(self, finding: LintFinding) -> bool:
        return (
            finding.issue == self.issue
            and in_scope(self.stacks, self.resource, finding)
            and (self.attribute is None or glob(finding.attribute, self.attribute))
            and (self.sid is None or (finding.sid is not None and glob(finding.sid, self.sid)))
        )

    def label(self) -> str:
        where = self.resource + (f".{self.attribute}" if self.attribute else "")
        where += f" [Sid {self.sid}]" if self.sid else ""
        return f"allow[{self.index}] ({self.issue} on {where})"


def _optional_glob(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return None
    return "must be a non-empty string (leave it out to match any)"


ALLOW_FORMAT: AllowFileFormat[Allow] = AllowFileFormat(
    table="allow",
    rules={
        "issue": pattern_rule(_ISSUE, "is not a parliament issue key like RESOURCE_STAR"),
        "resource": resource_rule(_RESOURCE_PATTERN, "aws_iam_role_policy.services_*_execution_role_policy"),
        "attribute": _optional_glob,
        "sid": _optional_glob,
    },
    optional=frozenset({"attribute", "sid"}),
    entry_type=Allow,
    error=AllowFileError,
)


def parse_allow(data: Mapping[str, Any], source: str = "iam_lint_allow.toml") -> list[Allow]:
    """Validate the parsed TOML; raise AllowFileError listing every problem at once."""
    return ALLOW_FORMAT.parse(data, source)


def load_allow(path: Path = ALLOW_FILE) -> list[Allow]:
    return ALLOW_FORMAT.load(path)


# --- running parliament -----------------------------------------------------------------------


class ParliamentNotFound(RuntimeError):
    """Neither $PARLIAMENT nor the repository's .venv-checkov provides a parliament binary."""


def pinned_parliament_version(makefile: Path = MAKEFILE) -> str:
    """The `PARLIAMENT_VERSION` the Makefile installs: the allow file is written against it."""
    return pinned_version("PARLIAMENT_VERSION", makefile)


def find_parliament(environ: Mapping[str, str] = os.environ, root: Path = ROOT) -> Path:
    """$PARLIAMENT (set by `make test` / `make policy`), else <repo>/.venv-checkov/bin/parliament."""
    hint = (
        "run `make policy` (it installs the pinned parliament into .venv-checkov and sets "
        "$PARLIAMENT), or set PARLIAMENT=/path/to/bin/parliament"
    )
    return find_tool("parliament", "PARLIAMENT", hint, ParliamentNotFound, environ, root)


def interpreter_of(script: Path) -> Path:
    """The Python a pip-installed console script runs with: its shebang, in either form pip writes
    (`#!/path/python`, or `#!/bin/sh` + `'''exec' "/path/python" ...` for long paths)."""
    head = script.read_text(encoding="utf-8", errors="replace")[:1024]
    exec_form = re.search(r"""^'''exec' "?([^"\s]+)"? """, head, re.MULTILINE)
    shebang = re.match(r"#!\s*(\S+)", head)
    candidate = exec_form.group(1) if exec_form else shebang.group(1) if shebang else ""
    if candidate and not candidate.endswith("/sh") and Path(candidate).is_file():
        return Path(candidate)
    sibling = script.parent / "python"
    if sibling.is_file():
        return sibling
    raise ParliamentNotFound(f"{script}: cannot tell which Python runs it (shebang {candidate!r})")


@dataclass
class ParliamentRun:
    version: str
    issues: frozenset[str]  # every issue key parliament knows
    findings: dict[str, list[dict[str, Any]]]  # document id -> raw findings
    errors: dict[str, str]  # document id -> exception parliament raised


def run_parliament(
    script: Path, documents: Sequence[PolicyDocument], timeout: int = PARLIAMENT_TIMEOUT_SECONDS
) -> ParliamentRun:
    """Lint every document in one process of parliament's interpreter (see parliament_driver.py)."""
    python = interpreter_of(script)
    with tempfile.TemporaryDirectory(prefix="iam-lint-") as scratch:
        requests = Path(scratch) / "requests.json"
        results = Path(scratch) / "results.json"
        requests.write_text(json.dumps([{"id": d.id, "policy": d.text} for d in documents]), encoding="utf-8")
        command = [str(python), str(DRIVER), str(requests), str(results)]
        proc = subprocess.run(
            command, cwd=scratch, capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0 or not results.is_file():
            raise AssertionError(
                f"parliament driver exited {proc.returncode}\n$ {' '.join(command)}\n{proc.stderr[-4000:]}"
            )
        output = json.loads(results.read_text(encoding="utf-8"))
    run = ParliamentRun(str(output["version"]), frozenset(output["issues"]), {}, {})
    for result in output["results"]:
        if "error" in result:
            run.errors[result["id"]] = result["error"]
        else:
            run.findings[result["id"]] = result["findings"]
    return run


# --- judging the findings ---------------------------------------------------------------------


def _detail(raw: Any, location: Mapping[str, Any], limit: int = 200) -> str:
    """parliament's detail, or the actions the community auditors put in `location` instead."""
    if not raw and location.get("actions"):
        raw = sorted(location["actions"])
    text = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, default=str)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def to_findings(document: PolicyDocument, raw: Sequence[Mapping[str, Any]]) -> list[LintFinding]:
    """parliament's findings for one document, each located by the Sid of its statement."""
    findings = []
    for item in raw:
        location = item.get("location") if isinstance(item.get("location"), dict) else {}
        line = location.get("line", location.get("lineno"))
        findings.append(
            LintFinding(
                stack=document.stack,
                address=document.address,
                attribute=document.attribute,
                issue=str(item.get("issue")),
                severity=str(item.get("severity", "")),
                title=str(item.get("title", "")),
                detail=_detail(item.get("detail", ""), location),
                sid=document.sid_at(line),
            )
        )
    return findings


@dataclass
class LintResult(AllowlistResult):
    """What `evaluate` found, by kind; every list holds readable one-line messages."""

    SECTIONS: ClassVar[Mapping[str, str]] = {
        "extraction_problems": "policy documents the lint could not read or parliament could not lint",
        "unallowed": (
            "parliament findings not allowed by synth_tests/verification/iam_lint_allow.toml "
            "(fix the generator, or add an entry with a justification)"
        ),
        "stale": "stale allow entries (they no longer match a finding: delete them)",
        "ambiguous": "findings matched by more than one allow entry",
    }

    documents_per_stack: dict[str, int] = field(default_factory=dict)
    allowed: list[str] = field(default_factory=list)
    extraction_problems: list[str] = field(default_factory=list)
    unallowed: list[str] = field(default_factory=list)


def evaluate(
    documents: Sequence[PolicyDocument],
    findings: Mapping[str, Sequence[Mapping[str, Any]]],
    allows: Sequence[Allow],
    *,
    stacks: Sequence[str],
    extraction_problems: Sequence[str] = (),
    lint_errors: Mapping[str, str] | None = None,
) -> LintResult:
    """Judge parliament's findings (document id -> raw findings) against the allow entries.

    `stacks` are the stacks that were scanned: an entry naming another stack is stale."""
    result = LintResult(extraction_problems=list(extraction_problems))
    result.documents_per_stack = dict.fromkeys(stacks, 0)
    all_findings: list[LintFinding] = []
    for document in documents:
        result.documents_per_stack[document.stack] = result.documents_per_stack.get(document.stack, 0) + 1
        if lint_errors and document.id in lint_errors:
            result.extraction_problems.append(f"{document.id}: parliament failed: {lint_errors[document.id]}")
            continue
        if document.id not in findings:
            result.extraction_problems.append(f"{document.id}: parliament returned no result")
            continue
        all_findings += to_findings(document, findings[document.id])

    result.allowed, result.unallowed, result.stale, result.ambiguous = ALLOW_FORMAT.judge(
        all_findings,
        allows,
        scanned=set(result.documents_per_stack),
        order=lambda f: (f.stack, f.issue, f.address, f.attribute, f.sid or ""),
    )
    return result
