"""The emulator tier's harness: synthesized stacks applied against a moto server on 127.0.0.1.

Pieces, each usable alone:
- `load_profile`: emulator_profile.toml, the one list of exclusions and allowed re-plan diffs.
- `moto_server`: a moto server on a free loopback port, always stopped on exit.
- `stand_in_references`, `strip_excluded`, `replace_in_strings`, `provider_override`,
  `protection_lift_override`: edits of a scratch copy; `variable_values`: what its variables are set to.
- `create_hosted_zone`: a Route 53 zone made in moto before an apply that needs one.
- `EmulatorStack`: one stack in a scratch directory: init, apply, re-plan, lift protections, destroy,
  every terraform step under a timeout.

Generated output is never edited: the provider is pointed at the emulator by an override file
(`emulator_override.tf.json`) in the scratch copy, which Terraform merges into the provider block.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modules.core.terraform_cli import Result, Terraform, scratch_copy

PROFILE_PATH = Path(__file__).with_name("emulator_profile.toml")
ROOT = Path(__file__).resolve().parents[2]
# Per terraform step. An RDS create alone waits ~3 min in the provider (prod's apply takes ~5 min:
# the Aurora members start after the cluster), and a second run on a busy machine is slower.
STEP_TIMEOUT = 600
OVERRIDE_FILE = "emulator_override.tf.json"
LIFT_OVERRIDE_FILE = "emulator_unprotect_override.tf.json"
FAKE_ACCESS_KEY = "AKIAEMULATOREXAMPLE0"
FAKE_SECRET_KEY = "emulator-secret-key-not-a-real-credential"
# Nothing listens on the discard port: a request for a service without an emulator endpoint
# fails at once instead of leaving the machine. Loopback itself is never proxied.
DEAD_PROXY = "http://127.0.0.1:9"

# Provider `endpoints` keys pointed at moto: what the stacks use today (dynamodb ec2 iam kms logs
# s3 sts) plus the services on DESIGN.md's roadmap, so a new concern cannot reach real AWS.
ENDPOINT_SERVICES = (
    "acm",
    "applicationautoscaling",
    "autoscaling",
    "cloudtrail",
    "cloudwatch",
    "codebuild",
    "codepipeline",
    "dynamodb",
    "ec2",
    "ecr",
    "ecs",
    "efs",
    "elasticache",
    "elbv2",
    "events",
    "guardduty",
    "iam",
    "kms",
    "lambda",
    "logs",
    "rds",
    "route53",
    "s3",
    "secretsmanager",
    "servicediscovery",
    "sns",
    "sqs",
    "ssm",
    "sts",
    "wafv2",
    "xray",
)
# Arguments that make AWS refuse a delete; lifted (set false) before an emulator destroy.
PROTECTION_ATTRIBUTES = ("deletion_protection_enabled", "deletion_protection", "enable_deletion_protection")
# moto issues a DNS-validated ACM certificate this many seconds after the request, whether or not
# the validation record exists (it never looks at DNS). Long enough that the certificate is still
# PENDING_VALIDATION while the stack writes the record and aws_acm_certificate_validation starts
# waiting, so the provider's wait is exercised; shorter than the load balancer's ~60 s create, so
# it is not on the apply's critical path. The record itself is checked by the tests.
ACM_VALIDATION_WAIT_SECONDS = 30


# ---------------------------------------------------------------------------------------------
# The profile
# ---------------------------------------------------------------------------------------------


class ProfileError(ValueError):
    """emulator_profile.toml is malformed."""


@dataclass(frozen=True)
class Exclusion:
    """Resources left out of emulator runs: every resource of `type`, or the one at `address`."""

    reason: str
    status: str  # "needed" (in a generated stack today) | "known-gap" (not generated yet)
    type: str | None = None
    address: str | None = None
    # (attribute, value) pairs: a plain reference `${<excluded>.<attribute>}` elsewhere in the stack
    # becomes `value` instead of taking its resource out too (see stand_in_references)
    stand_in: tuple[tuple[str, str], ...] = ()

    def matches(self, address: str) -> bool:
        if self.address is not None:
            return address == self.address
        return address.split(".", 1)[0] == self.type

    @property
    def label(self) -> str:
        return self.address or self.type or ""


@dataclass(frozen=True)
class AllowedDiff:
    """An emulator-only re-plan diff of `attribute` on `type`; with forces_replacement, it may be
    the attribute that forces a replacement too."""

    type: str
    attribute: str
    reason: str
    forces_replacement: bool = False


@dataclass(frozen=True)
class Suspension:
    """A resource the harness takes out of moto, and puts back, around S3 object reads and writes."""

    type: str
    reason: str


@dataclass(frozen=True)
class Rewrite:
    """An argument of every `type` resource set to `value` (or removed, value None) in the scratch
    copy: what moto needs that AWS does not, or refuses that AWS takes. `path` is the argument's
    name, or `<block>.<argument>` inside a nested block."""

    type: str
    path: str
    reason: str
    value: str | None = None


# What the harness knows how to suspend (see bucket_policy_suspended).
SUSPENDABLE_TYPES = ("aws_s3_bucket_policy",)


@dataclass(frozen=True)
class Profile:
    exclusions: tuple[Exclusion, ...] = ()
    allowed_diffs: tuple[AllowedDiff, ...] = ()
    object_io_suspensions: tuple[Suspension, ...] = ()
    rewrites: tuple[Rewrite, ...] = ()

    def excluded(self, address: str) -> Exclusion | None:
        return next((e for e in self.exclusions if e.matches(address)), None)

    def allows(self, resource_type: str, attribute: str, *, forcing_replacement: bool = False) -> bool:
        return any(
            a.type == resource_type
            and a.attribute == attribute
            and (a.forces_replacement or not forcing_replacement)
            for a in self.allowed_diffs
        )


EXCLUSION_STATUSES = ("needed", "known-gap")
_RESOURCE_TYPE = re.compile(r"^aws_[a-z0-9_]+$")
# what a stand-in may stand for: an attribute, or one of a nested block's first element
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]*(?:\[0\]\.[a-z][a-z0-9_]*)?$")
_REWRITE_PATH = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?$")


def _require_keys(entry: dict[str, Any], where: str, allowed: set[str], required: set[str]) -> list[str]:
    problems = [f"{where}: unknown key {k!r}" for k in sorted(set(entry) - allowed)]
    problems += [f"{where}: missing {k!r}" for k in sorted(required - set(entry))]
    problems += [
        f"{where}: {k!r} must be a non-empty string"
        for k in sorted(set(entry) & allowed)
        if not isinstance(entry[k], str) or not entry[k].strip()
    ]
    return problems


def parse_profile(data: dict[str, Any], source: str = "emulator_profile.toml") -> Profile:
    """Check and convert the TOML data; every problem is reported at once as a ProfileError."""
    tables = {"exclude", "allow_diff", "suspend_for_object_io", "rewrite"}
    problems = [f"{source}: unknown table {k!r}" for k in sorted(set(data) - tables)]
    exclusions: list[Exclusion] = []
    for i, entry in enumerate(data.get("exclude", [])):
        where = f"{source}: exclude[{i}]"
        stand_in = entry.get("stand_in", {})
        found = _require_keys(
            {k: v for k, v in entry.items() if k != "stand_in"},
            where,
            {"type", "address", "status", "reason"},
            {"status", "reason"},
        )
        if not isinstance(stand_in, dict) or not all(
            isinstance(v, str) and v.strip() and _ATTRIBUTE.match(k) for k, v in stand_in.items()
        ):
            found.append(f"{where}: 'stand_in' must map attribute names to non-empty strings")
        if ("type" in entry) == ("address" in entry):
            found.append(f"{where}: needs exactly one of 'type' or 'address'")
        if entry.get("status") not in EXCLUSION_STATUSES:
            found.append(f"{where}: status must be one of {', '.join(EXCLUSION_STATUSES)}")
        target = entry.get("type") or str(entry.get("address", "")).split(".", 1)[0]
        if isinstance(target, str) and not _RESOURCE_TYPE.match(target):
            found.append(f"{where}: {target!r} is not an aws_* resource type")
        problems += found
        if not found:
            exclusions.append(Exclusion(**{**entry, "stand_in": tuple(sorted(stand_in.items()))}))
    allowed: list[AllowedDiff] = []
    for i, entry in enumerate(data.get("allow_diff", [])):
        where = f"{source}: allow_diff[{i}]"
        flag = entry.get("forces_replacement", False)
        found = _require_keys(
            {k: v for k, v in entry.items() if k != "forces_replacement"},
            where,
            {"type", "attribute", "reason"},
            {"type", "attribute", "reason"},
        )
        if not isinstance(flag, bool):
            found.append(f"{where}: 'forces_replacement' must be true or false")
        problems += found
        if not found:
            allowed.append(AllowedDiff(**entry))
    suspensions: list[Suspension] = []
    for i, entry in enumerate(data.get("suspend_for_object_io", [])):
        where = f"{source}: suspend_for_object_io[{i}]"
        found = _require_keys(entry, where, {"type", "reason"}, {"type", "reason"})
        if "type" in entry and entry["type"] not in SUSPENDABLE_TYPES:
            found.append(f"{where}: the harness can only suspend {', '.join(SUSPENDABLE_TYPES)}")
        problems += found
        if not found:
            suspensions.append(Suspension(**entry))
    rewrites: list[Rewrite] = []
    for i, entry in enumerate(data.get("rewrite", [])):
        where = f"{source}: rewrite[{i}]"
        found = _require_keys(entry, where, {"type", "path", "value", "reason"}, {"type", "path", "reason"})
        if isinstance(entry.get("path"), str) and not _REWRITE_PATH.match(entry["path"]):
            found.append(f"{where}: 'path' must be <argument> or <block>.<argument>")
        if isinstance(entry.get("type"), str) and not _RESOURCE_TYPE.match(entry["type"]):
            found.append(f"{where}: {entry['type']!r} is not an aws_* resource type")
        problems += found
        if not found:
            rewrites.append(Rewrite(**entry))
    labels = [e.label for e in exclusions] + [f"{a.type}.{a.attribute}" for a in allowed]
    problems += [
        f"{source}: {label!r} is listed twice" for label in sorted({x for x in labels if labels.count(x) > 1})
    ]
    if problems:
        raise ProfileError("\n".join(problems))
    return Profile(tuple(exclusions), tuple(allowed), tuple(suspensions), tuple(rewrites))


def load_profile(path: Path = PROFILE_PATH) -> Profile:
    with path.open("rb") as f:
        return parse_profile(tomllib.load(f), path.name)


# ---------------------------------------------------------------------------------------------
# Editing the scratch copy
# ---------------------------------------------------------------------------------------------

# `$${` is an escaped literal, not an interpolation
_INTERPOLATION = re.compile(r"(?<!\$)\$\{(.*?)\}", re.S)
_REFERENCE = re.compile(r"(?<![\w.])(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)")


def _references(value: Any) -> set[str]:
    """Addresses (`type.name`, `data.type.name`) a JSON value refers to, in ${...} or depends_on."""
    found: set[str] = set()
    if isinstance(value, str):
        for expression in _INTERPOLATION.findall(value):
            found |= {f"{m[0]}{m[1]}.{m[2]}" for m in _REFERENCE.findall(expression)}
        # depends_on entries are bare addresses
        if _REFERENCE.fullmatch(value):
            found.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _blocks(stack: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(kind, type, name, body) for every resource and data source."""
    for kind in ("resource", "data"):
        for rtype, items in stack.get(kind, {}).items():
            for name, body in items.items():
                yield kind, rtype, name, body


def _address(kind: str, rtype: str, name: str) -> str:
    return f"{rtype}.{name}" if kind == "resource" else f"data.{rtype}.{name}"


def apply_rewrites(stack: dict[str, Any], profile: Profile) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A copy of the stack JSON with the profile's rewrites made; the `<address>.<path>` rewritten.

    A nested block is an object, or a list holding one (Terraform JSON takes both); a rewrite inside
    a block the resource does not have is not made."""
    stack = json.loads(json.dumps(stack))
    made: list[str] = []
    for kind, rtype, name, body in _blocks(stack):
        for rewrite in profile.rewrites:
            if kind != "resource" or rtype != rewrite.type:
                continue
            *block, argument = rewrite.path.split(".")
            target: Any = body
            for part in block:
                target = target.get(part) if isinstance(target, dict) else None
                target = target[0] if isinstance(target, list) and len(target) == 1 else target
            if not isinstance(target, dict):
                continue
            if rewrite.value is None:
                if target.pop(argument, None) is None:
                    continue
            else:
                target[argument] = rewrite.value
            made.append(f"{rtype}.{name}.{rewrite.path}")
    return stack, tuple(sorted(made))


def strip_excluded(stack: dict[str, Any], profile: Profile) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy of the stack JSON without the profile's exclusions and whatever references them.

    Returns the new JSON and {removed address: why}. Outputs referring to a removed resource go too.
    """
    stack = json.loads(json.dumps(stack))
    removed: dict[str, str] = {}
    for kind, rtype, name, _ in _blocks(stack):
        if kind == "resource" and (exclusion := profile.excluded(f"{rtype}.{name}")):
            removed[f"{rtype}.{name}"] = f"excluded: {exclusion.reason}"
    changed = bool(removed)
    while changed:
        changed = False
        for kind, rtype, name, body in _blocks(stack):
            address = _address(kind, rtype, name)
            if address in removed:
                continue
            if hit := sorted(_references(body) & set(removed)):
                removed[address] = f"references {hit[0]}"
                changed = True
    for kind, rtype, name, _ in list(_blocks(stack)):
        if _address(kind, rtype, name) in removed:
            del stack[kind][rtype][name]
            if not stack[kind][rtype]:
                del stack[kind][rtype]
    for name, body in list(stack.get("output", {}).items()):
        if hit := sorted(_references(body) & set(removed)):
            removed[f"output.{name}"] = f"references {hit[0]}"
            del stack["output"][name]
    return stack, removed


def _stand_in_fields(stack: dict[str, Any], body: dict[str, Any]) -> dict[str, str]:
    """What a stand-in value may name in braces: {region} and {account_id} of the stack's default
    provider, and every literal string argument of the excluded resource itself."""
    blocks = stack.get("provider", {}).get("aws", [])
    blocks = [blocks] if isinstance(blocks, dict) else blocks
    default = next((b for b in blocks if "alias" not in b), {})
    fields = {k: v for k, v in body.items() if isinstance(v, str) and "${" not in v}
    if isinstance(default.get("region"), str):
        fields["region"] = default["region"]
    if accounts := default.get("allowed_account_ids"):
        fields["account_id"] = str(accounts[0])
    return fields


def stand_in_references(stack: dict[str, Any], profile: Profile) -> tuple[dict[str, Any], dict[str, int]]:
    """A copy of the stack JSON in which plain references to an excluded resource's stand-in
    attributes are replaced by the stand-in values; and {"<address>.<attribute>": how often}.

    Run before strip_excluded: a resource whose every reference to an excluded one is stood in no
    longer refers to it and stays in the apply (the api task definition, say, with a stand-in cache
    endpoint), where otherwise strip_excluded would take it out with the excluded resource. Only
    whole `${type.name.attribute}` expressions are replaced; any other reference (a function call, an
    attribute without a stand-in, depends_on) still takes its resource out. `$${` escapes are left
    alone. A value's `{field}`s are filled from _stand_in_fields; one it cannot fill is an error.
    """
    stack = json.loads(json.dumps(stack))
    counts: dict[str, int] = {}
    for kind, rtype, name, body in list(_blocks(stack)):
        exclusion = profile.excluded(f"{rtype}.{name}") if kind == "resource" else None
        if exclusion is None or not exclusion.stand_in:
            continue
        fields = _stand_in_fields(stack, body)
        for attribute, template in exclusion.stand_in:
            target = f"{rtype}.{name}.{attribute}"
            try:
                value = template.format_map(fields)
            except KeyError as missing:
                raise ValueError(
                    f"{target}: stand-in {template!r} names {missing}, which is neither region, "
                    "account_id nor a literal argument of the resource"
                ) from None
            pattern = re.compile(r"(?<!\$)\$\{\s*" + re.escape(target) + r"\s*\}")
            stack, counts[target] = _substitute(stack, pattern, value)
    return stack, {k: n for k, n in counts.items() if n}


def _substitute(value: Any, pattern: re.Pattern[str], new: str) -> tuple[Any, int]:
    """A copy of a JSON value with `pattern` replaced by `new` in every string value; and how often."""
    if isinstance(value, str):
        return pattern.subn(lambda _: new, value)
    if isinstance(value, dict):
        pairs = {k: _substitute(v, pattern, new) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    if isinstance(value, list):
        items = [_substitute(v, pattern, new) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0


def provider_aliases(stack: dict[str, Any]) -> tuple[str | None, ...]:
    """The alias of every aws provider block in a stack JSON (None for the default one)."""
    blocks = stack.get("provider", {}).get("aws", [])
    blocks = [blocks] if isinstance(blocks, dict) else blocks
    return tuple(block.get("alias") for block in blocks) or (None,)


def provider_override(
    endpoint: str, *, aliases: tuple[str | None, ...] = (None,), local_backend: bool = True
) -> dict[str, Any]:
    """The override that points every aws provider block at the emulator and, optionally, state at a file.

    Override files merge per attribute into the provider block with the same alias; a nested block
    (endpoints) replaces the original's, and a `backend` block replaces the original backend
    entirely. allowed_account_ids, region and default_tags stay as generated: sts answers
    GetCallerIdentity with MOTO_ACCOUNT_ID, so the account guard is exercised.
    """
    emulator = {
        "access_key": FAKE_ACCESS_KEY,
        "secret_key": FAKE_SECRET_KEY,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "s3_use_path_style": True,
        "https_proxy": DEAD_PROXY,
        "http_proxy": DEAD_PROXY,
        "no_proxy": "127.0.0.1",
        # moto answers an unimplemented call with HTTP 500: fail the step, don't back off for minutes
        "max_retries": 2,
        "endpoints": [{service: endpoint for service in ENDPOINT_SERVICES}],
    }
    blocks = [emulator if alias is None else {"alias": alias, **emulator} for alias in aliases]
    override: dict[str, Any] = {"provider": {"aws": blocks}}
    if local_backend:
        override["terraform"] = {"backend": {"local": {"path": "terraform.tfstate"}}}
    return override


def protection_lift_override(stack: dict[str, Any]) -> dict[str, Any]:
    """An override setting prevent_destroy and every deletion-protection argument to false.

    Only resources that set one of them are named; the override is empty when nothing is protected.
    """
    resources: dict[str, dict[str, Any]] = {}
    for kind, rtype, name, body in _blocks(stack):
        if kind != "resource":
            continue
        lift: dict[str, Any] = {}
        if body.get("lifecycle", {}).get("prevent_destroy") is True:
            lift["lifecycle"] = {"prevent_destroy": False}
        lift |= {attr: False for attr in PROTECTION_ATTRIBUTES if body.get(attr) is True}
        if lift:
            resources.setdefault(rtype, {})[name] = lift
    return {"resource": resources} if resources else {}


def lifted_attributes(override: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """{address: deletion-protection arguments} a protection_lift_override sets false.

    What a plan with the override may update in place; prevent_destroy is not a resource argument
    and never shows in a plan, so a resource that only lifts it is not listed.
    """
    return {
        f"{rtype}.{name}": tuple(sorted(a for a in body if a in PROTECTION_ATTRIBUTES))
        for rtype, items in override.get("resource", {}).items()
        for name, body in items.items()
        if any(a in PROTECTION_ATTRIBUTES for a in body)
    }


def replace_in_strings(value: Any, old: str, new: str) -> tuple[Any, int]:
    """A copy of a JSON value with `old` replaced by `new` in every string value; and how many times.

    Keys (resource types and names, attribute names) are left alone.
    """
    return _substitute(value, re.compile(re.escape(old)), new)


def variable_values(stack: dict[str, Any]) -> dict[str, str]:
    """`TF_VAR_<name>` placeholders for every string variable of a stack, as an operator passes them.

    The stacks' variables are write-only secret values (`secret_string_wo`): their default "" keeps
    the stored value, and the first apply needs a real one, which moto checks for (PutSecretValue).
    """
    return {
        f"TF_VAR_{name}": f"emulator-{name}"
        for name, body in stack.get("variable", {}).items()
        if body.get("type", "string") == "string"
    }


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# The moto server
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_account_id(config_dir: Path = ROOT / "environments") -> str:
    with (config_dir / "project.toml").open("rb") as f:
        return str(tomllib.load(f)["account_id"])


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _die_with_parent() -> None:
    """In the moto child: ask Linux for SIGTERM when the test process dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: the context manager's stop() is the only guard


@dataclass
class MotoServer:
    """A moto server process on 127.0.0.1:port; `url` is what endpoints point at."""

    port: int
    account_id: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    # MOTO_ACCOUNT_ID makes every request act in `account_id`, even with an assumed role's
    # credentials of another account; unpinned, moto finds each request's account from its access
    # key (unknown keys: 123456789012), so several accounts can be emulated at once.
    pin_account: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 30) -> None:
        env = {
            **os.environ,
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
            "MOTO_ACCOUNT_ID": self.account_id,
            "MOTO_ACM_VALIDATION_WAIT": str(ACM_VALIDATION_WAIT_SECONDS),
        }
        if not self.pin_account:
            del env["MOTO_ACCOUNT_ID"]
        with self.log_path.open("ab") as log:
            log_start = log.tell()  # a retry appends to the same log: read only this start's lines
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode}:\n{self.log_tail()}")
            # Until ours has bound the port, whoever took it in the meantime (another test worker's
            # moto) would answer the probe: only our own log's line proves the port is ours.
            if not self._listening(log_start):
                time.sleep(0.2)
                continue
            try:
                with _NO_PROXY_OPENER.open(f"{self.url}/moto-api/", timeout=2):
                    pass
            except urllib.error.HTTPError:
                pass  # it answers
            except OSError:
                time.sleep(0.2)
                continue
            return
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.url} within {ready_timeout}s")

    def _listening(self, log_start: int) -> bool:
        """Our server's log, from `log_start`, says it listens on our port: werkzeug (moto's server)
        logs "Running on <url>" once its socket is bound and listening, and exits if the bind fails."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(log_start)
                return f"Running on {self.url}\n".encode() in log.read()
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def boto3_client(self, service: str, region: str = "eu-west-1") -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=FAKE_ACCESS_KEY,
            aws_secret_access_key=FAKE_SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, proxies={}),
        )


@contextmanager
def moto_server(
    log_dir: Path, account_id: str | None = None, *, pin_account: bool = True
) -> Iterator[MotoServer]:
    """A running moto server; stopped on exit, also when the body raises."""
    account_id = account_id or project_account_id()
    log_dir.mkdir(parents=True, exist_ok=True)
    last_error: Exception | None = None
    # free_port releases the port before moto binds it; in between another process (a parallel
    # test worker's moto, a client's outgoing connection) may take it: moto then fails to bind and
    # exits, and the next attempt picks another port.
    for _ in range(3):
        server = MotoServer(free_port(), account_id, log_dir / "moto.log", pin_account=pin_account)
        try:
            server.start()
        except RuntimeError as error:
            server.stop()
            last_error = error
            continue
        try:
            yield server
        finally:
            server.stop()
        return
    raise RuntimeError(f"moto server did not start: {last_error}")


@contextmanager
def bucket_policy_suspended(server: MotoServer, bucket: str, profile: Profile) -> Iterator[str | None]:
    """The bucket's policy deleted in moto for the body, then put back byte for byte.

    Only when the profile lists aws_s3_bucket_policy under [[suspend_for_object_io]]; otherwise
    nothing happens. Yields the suspended policy (None when nothing was suspended).
    """
    if not any(s.type == "aws_s3_bucket_policy" for s in profile.object_io_suspensions):
        yield None
        return
    s3 = server.boto3_client("s3")
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    s3.delete_bucket_policy(Bucket=bucket)
    try:
        yield policy
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy)


def empty_versioned_bucket(server: MotoServer, bucket: str) -> int:
    """Delete every object version and delete marker (buckets without force_destroy); returns the count."""
    s3 = server.boto3_client("s3")
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
            deleted += 1
    return deleted


def create_hosted_zone(server: MotoServer, domain: str) -> str:
    """A public Route 53 hosted zone for `domain` in moto; returns the id moto chose (bare, no /hostedzone/).

    moto picks the id itself (22 random upper-case letters and digits, not AWS's Z... form), so a
    stack that names its zone by a configured id is pointed at this one with `replace_in_strings`.
    """
    zone = server.boto3_client("route53").create_hosted_zone(
        Name=domain, CallerReference=f"emulator-{domain}-{time.monotonic_ns()}"
    )["HostedZone"]
    return str(zone["Id"]).rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------------------------
# One stack against the emulator
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One planned change from `terraform show -json`."""

    address: str
    type: str
    actions: tuple[str, ...]
    # top-level attributes that differ: for an update every one, unknown-after-apply included;
    # for a replacement the ones with a known new value (the rest follow from replacing)
    attributes: tuple[str, ...] = ()
    forced_by: tuple[str, ...] = ()  # replacements: top-level attributes that force it

    @property
    def is_replacement(self) -> bool:
        return set(self.actions) == {"delete", "create"}

    def __str__(self) -> str:
        detail = f" [{', '.join(self.attributes)}]" if self.attributes else ""
        forced = f" (forced by {', '.join(self.forced_by)})" if self.forced_by else ""
        return f"{'/'.join(self.actions)} {self.address}{detail}{forced}"


@dataclass(frozen=True)
class Replan:
    exit_code: int
    changes: tuple[Change, ...]
    unexpected: tuple[Change, ...]  # changes the profile does not allow
    result: Result

    @property
    def clean(self) -> bool:
        """Nothing to do, or only allowlisted emulator diffs."""
        return self.exit_code == 0 or (self.exit_code == 2 and not self.unexpected)


def _has_unknown(value: Any) -> bool:
    """after_unknown mirrors the value's shape; a leaf `true` marks what is unknown until apply."""
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value is True


def _changed_attributes(change: dict[str, Any], *, known_only: bool) -> tuple[str, ...]:
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    changed = set()
    for key in set(before) | set(after) | set(unknown):
        if _has_unknown(unknown.get(key)):
            if not known_only:
                changed.add(key)
        elif before.get(key) != after.get(key):
            changed.add(key)
    return tuple(sorted(changed))


def parse_plan_changes(plan: dict[str, Any]) -> tuple[Change, ...]:
    """Every resource and output change in a `terraform show -json` plan, no-ops and reads left out."""
    changes = []
    for rc in plan.get("resource_changes", []):
        change = rc["change"]
        actions = tuple(change["actions"])
        if actions in (("no-op",), ("read",)):
            continue
        replacing = set(actions) == {"delete", "create"}
        attributes = (
            _changed_attributes(change, known_only=replacing) if actions == ("update",) or replacing else ()
        )
        forced_by = (
            tuple(sorted({str(p[0]) for p in change.get("replace_paths", []) if p})) if replacing else ()
        )
        changes.append(Change(rc["address"], rc["type"], actions, attributes, forced_by))
    for name, oc in plan.get("output_changes", {}).items():
        if tuple(oc["actions"]) != ("no-op",):
            changes.append(Change(f"output.{name}", "output", tuple(oc["actions"])))
    return tuple(changes)


def _forgiven(change: Change, profile: Profile) -> bool:
    if change.actions == ("update",):
        return bool(change.attributes) and all(profile.allows(change.type, a) for a in change.attributes)
    if change.is_replacement:
        return (
            bool(change.forced_by)
            and all(profile.allows(change.type, a, forcing_replacement=True) for a in change.forced_by)
            and all(profile.allows(change.type, a) for a in change.attributes)
        )
    return False  # creates, deletes, output changes


def unexpected_changes(changes: tuple[Change, ...], profile: Profile) -> tuple[Change, ...]:
    """Changes the profile does not forgive.

    An update is forgiven when every changed attribute is allowlisted for its type; a replacement
    when every attribute forcing it is allowlisted with forces_replacement and every other attribute
    with a known new value is allowlisted. Creates, deletes and output changes never are.
    """
    return tuple(c for c in changes if not _forgiven(c, profile))


class StepFailed(AssertionError):
    """A terraform step failed; the message carries its output."""


class EmulatorStack:
    """One synthesized stack in a scratch directory, provider pointed at a moto server."""

    def __init__(
        self,
        stack_dir: Path,
        scratch: Path,
        cli_config: Path,
        server: MotoServer,
        profile: Profile,
        *,
        local_backend: bool = True,
        substitutions: dict[str, str] | None = None,
    ) -> None:
        """substitutions: {generated string: emulator string}, replaced in every string value of the
        scratch copy (after the exclusions are stripped); `substituted` says how often each was found."""
        self.name = stack_dir.name
        self.server = server
        self.profile = profile
        self.workdir = scratch_copy(stack_dir, scratch)
        generated = json.loads((self.workdir / "cdk.tf.json").read_text())
        stood_in, self.stood_in = stand_in_references(generated, profile)
        stripped, self.removed = strip_excluded(stood_in, profile)
        self.config, self.rewritten = apply_rewrites(stripped, profile)
        self.substituted: dict[str, int] = {}
        for old, new in (substitutions or {}).items():
            self.config, self.substituted[old] = replace_in_strings(self.config, old, new)
        if self.removed or self.stood_in or self.rewritten or any(self.substituted.values()):
            write_json(self.workdir / "cdk.tf.json", self.config)
        write_json(
            self.workdir / OVERRIDE_FILE,
            provider_override(server.url, aliases=provider_aliases(self.config), local_backend=local_backend),
        )
        self.tf = Terraform(
            self.workdir,
            cli_config,
            {
                # belt and braces: no shared credentials, no profile, no IMDS lookups
                "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
                "AWS_PROFILE": "",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "HTTPS_PROXY": DEAD_PROXY,
                "HTTP_PROXY": DEAD_PROXY,
                "NO_PROXY": "127.0.0.1",
                **variable_values(self.config),
            },
        )

    def run(self, *args: str, timeout: int = STEP_TIMEOUT) -> Result:
        """A terraform step that must succeed; on failure the message has its output and moto's log."""
        try:
            result = self.tf.run(*args, "-no-color", timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise StepFailed(f"{self.name}: terraform {' '.join(args)} timed out after {timeout}s") from error
        if not result.ok:
            raise StepFailed(self.describe_failure(result))
        return result

    def describe_failure(self, result: Result) -> str:
        return (
            f"{self.name}: terraform {' '.join(result.args)} exited {result.returncode}\n"
            f"--- stderr\n{result.stderr[-6000:]}\n--- stdout (tail)\n{result.stdout[-3000:]}\n"
            f"--- moto log (tail)\n{self.server.log_tail()}"
        )

    def init(self, *extra: str) -> Result:
        return self.run("init", "-input=false", *extra)

    def apply(self) -> Result:
        return self.run("apply", "-auto-approve", "-input=false")

    def replan(self) -> Replan:
        """`plan -detailed-exitcode`; on exit 2 the changes, read back with `show -json`."""
        try:
            result = self.tf.run(
                "plan",
                "-detailed-exitcode",
                "-input=false",
                "-no-color",
                "-out=replan.tfplan",
                timeout=STEP_TIMEOUT,
            )
        except subprocess.TimeoutExpired as error:
            raise StepFailed(f"{self.name}: terraform plan timed out after {STEP_TIMEOUT}s") from error
        if result.returncode not in (0, 2):
            raise StepFailed(self.describe_failure(result))
        changes: tuple[Change, ...] = ()
        if result.returncode == 2:
            shown = self.run("show", "-json", "replan.tfplan")
            changes = parse_plan_changes(json.loads(shown.stdout))
        return Replan(result.returncode, changes, unexpected_changes(changes, self.profile), result)

    def lift_protections(self) -> dict[str, Any]:
        """Write the override lifting prevent_destroy and deletion protection; returns it."""
        override = protection_lift_override(self.config)
        if override:
            write_json(self.workdir / LIFT_OVERRIDE_FILE, override)
        return override

    def plan_changes(self, plan_file: str = "check.tfplan", *extra: str) -> tuple[Change, ...]:
        """The changes a plan would make now, saved to plan_file (apply it to make exactly those);
        extra: more plan options (`-refresh=false`: against the state as it is, without reading moto)."""
        self.run("plan", "-input=false", f"-out={plan_file}", *extra)
        return parse_plan_changes(json.loads(self.run("show", "-json", plan_file).stdout))

    def destroy(self, *extra: str) -> Result:
        """extra: more destroy options (`-refresh=false`: delete what the state holds without reading
        every resource from moto first)."""
        return self.run("destroy", "-auto-approve", "-input=false", *extra)

    def terraform_version(self) -> str:
        return str(json.loads(self.run("version", "-json").stdout)["terraform_version"])

    def state_addresses(self) -> list[str]:
        result = self.run("state", "list")
        return [line for line in result.stdout.splitlines() if line.strip()]


def generated_addresses(stack: dict[str, Any]) -> list[str]:
    """Resource addresses of a stack JSON (managed resources only)."""
    return sorted(_address(k, t, n) for k, t, n, _ in _blocks(stack) if k == "resource")


BACKEND_CONFIG_FILE = "emulator.s3.tfbackend"


def s3_backend_emulator_config(endpoint: str) -> str:
    """A `-backend-config` file pointing the generated S3 backend at the emulator.

    It only adds connection settings; bucket, key, region, encrypt, kms_key_id and dynamodb_table
    stay exactly as generated (init merges a backend-config file into the backend block).
    """
    services = ("s3", "dynamodb", "sts", "iam")
    endpoints = ", ".join(f'{s} = "{endpoint}"' for s in services)
    return (
        f"endpoints = {{ {endpoints} }}\n"
        "use_path_style = true\n"
        "skip_credentials_validation = true\n"
        "skip_requesting_account_id = true\n"
        "skip_metadata_api_check = true\n"
        f'access_key = "{FAKE_ACCESS_KEY}"\n'
        f'secret_key = "{FAKE_SECRET_KEY}"\n'
    )
