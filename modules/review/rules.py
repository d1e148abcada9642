"""What a review flags: one table of rules (`RULES`), each a severity, the resource types it looks
at, a check, and the one-line reason a reviewer reads.

To add a rule: write (or reuse) a check, a function `(change, context) -> Hit | None` that says
which attributes trip it, add a row to RULES, and a test in synth_tests/review/test_rules.py.
Checks only see planned changes (no-ops and data-source reads never reach them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from modules.review.plan import SENSITIVE, Action, Path_, Plan, ResourceChange, path_text


class Severity(StrEnum):
    DANGER = "danger"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"danger": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True)
class Hit:
    """A rule tripped: by which attributes (paths as Terraform spells them), and a short detail."""

    attributes: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class Context:
    """What a check may know about the rest of the plan."""

    # ports of the listeners on internet-facing load balancers (aws_lb internal = false)
    public_listener_ports: frozenset[int] = frozenset()
    # those load balancers' security groups: addresses ("aws_security_group.x") and known ids
    public_groups: frozenset[str] = frozenset()
    # names of the buckets this plan deletes: their sub-resources go with them, not flagged again
    deleted_buckets: frozenset[str] = frozenset()


Check = Callable[[ResourceChange, Context], Hit | None]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    types: frozenset[str] | None  # the resource types it looks at; None: every type
    check: Check
    reason: str  # one line: why a reviewer should look

    def applies_to(self, change: ResourceChange) -> bool:
        return self.types is None or change.type in self.types


# ---------------------------------------------------------------------------------------------
# Checks and the small builders the table uses
# ---------------------------------------------------------------------------------------------

CHANGING = (Action.UPDATE, Action.REPLACE)  # both a before and an after


def parse_path(text: str) -> Path_:
    """ "backup_policy[0].status" -> ("backup_policy", 0, "status")."""
    steps: list[str | int] = []
    for part in text.split("."):
        name, *indexes = re.split(r"\[(\d+)\]", part)
        steps.append(name)
        steps.extend(int(i) for i in indexes if i)
    return tuple(steps)


def deleted_or_replaced(change: ResourceChange, _: Context) -> Hit | None:
    if change.action is Action.DELETE:
        return Hit()
    if change.action is Action.REPLACE:
        return Hit(change.forced_by)  # the renderers say which values force it
    return None


def replaced(change: ResourceChange, _: Context) -> Hit | None:
    return deleted_or_replaced(change, _) if change.action is Action.REPLACE else None


Values = Iterable[Any] | Callable[[Any], bool]


def _matcher(values: Values) -> Callable[[Any], bool]:
    """A predicate, or a list of values compared with their type (so 0 is not False, 1 not True)."""
    if callable(values):
        return values
    listed = tuple(values)
    return lambda v: any(type(v) is type(x) and v == x for x in listed)


def non_empty(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def flipped(*paths: str, was: Values, now: Values) -> Check:
    """Any of `paths` goes from a value `was` matches to a (known) value `now` matches."""
    was_, now_ = _matcher(was), _matcher(now)

    def check(change: ResourceChange, _: Context) -> Hit | None:
        if change.action not in CHANGING:
            return None
        hits = []
        for text in paths:
            path = parse_path(text)
            if change.unknown(*path):
                continue
            old, new = change.old(*path), change.new(*path)
            if was_(old) and now_(new) and old != new:
                hits.append((text, f"{text}: {_change(change, path)}"))
        return Hit(tuple(t for t, _ in hits), "; ".join(d for _, d in hits)) if hits else None

    return check


def dropped_to_zero(*paths: str) -> Check:
    """Any of `paths` goes from a positive number to 0."""

    def check(change: ResourceChange, _: Context) -> Hit | None:
        if change.action not in CHANGING:
            return None
        hits = [
            t
            for t in paths
            if _number(change.old(*parse_path(t))) > 0
            and change.new(*parse_path(t)) == 0
            and not change.unknown(*parse_path(t))
        ]
        details = [f"{t}: {_change(change, parse_path(t))}" for t in hits]
        return Hit(tuple(hits), "; ".join(details)) if hits else None

    return check


def changed(*paths: str, actions: tuple[Action, ...] = (Action.UPDATE,)) -> Check:
    """Any of `paths` gets a different known value (in-place updates by default)."""

    def check(change: ResourceChange, _: Context) -> Hit | None:
        if change.action not in actions:
            return None
        hits = []
        for text in paths:
            path = parse_path(text)
            old, new = change.old(*path), change.new(*path)
            if not change.unknown(*path) and old is not None and new is not None and old != new:
                hits.append((text, f"{text}: {_change(change, path)}"))
        return Hit(tuple(t for t, _ in hits), "; ".join(d for _, d in hits)) if hits else None

    return check


def _change(change: ResourceChange, path: Path_) -> str:
    """ "before -> after" of one attribute, masked where sensitive."""
    return f"{change.shown(path, planned=False)} -> {change.shown(path, planned=True)}"


def _number(value: Any) -> float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def any_of(*checks: Check) -> Check:
    """The hits of every check that trips, joined."""

    def check(change: ResourceChange, context: Context) -> Hit | None:
        hits = [h for c in checks if (h := c(change, context))]
        if not hits:
            return None
        return Hit(
            tuple(a for h in hits for a in h.attributes), "; ".join(h.detail for h in hits if h.detail)
        )

    return check


def deleted_while_bucket_stays(change: ResourceChange, context: Context) -> Hit | None:
    """A bucket's sub-resource deleted while its bucket is kept (with the bucket, it is no news)."""
    if change.action is not Action.DELETE or change.old("bucket") in context.deleted_buckets:
        return None
    return Hit(detail=f"deleted; bucket {change.old('bucket')} stays")


# --- retention ---------------------------------------------------------------------------------

# Attributes holding how long something is kept, wherever they sit in a resource.
RETENTION_KEYS = frozenset(
    {
        "retention_in_days",  # log groups: 0 is "never expire"
        "backup_retention_period",
        "snapshot_retention_limit",
        "message_retention_seconds",
        "retention_period",
        "deletion_window_in_days",
        "recovery_window_in_days",
    }
)
# Lifecycle expirations: `days` / `noncurrent_days` below an `*expiration` block
EXPIRY_KEYS = frozenset({"days", "noncurrent_days"})
# 0 means "kept forever" for these; for the rest 0 is "off" (the backups rule's business)
ZERO_IS_FOREVER = frozenset({"retention_in_days"})


def retention_shortened(change: ResourceChange, _: Context) -> Hit | None:
    if change.action not in CHANGING:
        return None
    hits = []
    for path in change.changed_paths():
        key = path[-1]
        expiry = key in EXPIRY_KEYS and any(isinstance(s, str) and s.endswith("expiration") for s in path)
        if key not in RETENTION_KEYS and not expiry or change.unknown(*path):
            continue
        old, new = change.old(*path), change.new(*path)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (old, new)):
            continue
        forever = key in ZERO_IS_FOREVER
        if (forever and old == 0 and new > 0) or 0 < new < old:
            note = " (0: never expires)" if forever and old == 0 else ""
            hits.append((path_text(path), f"{path_text(path)}: {_change(change, path)}{note}"))
    return Hit(tuple(t for t, _ in hits), "; ".join(d for _, d in hits)) if hits else None


# --- ingress from anywhere ---------------------------------------------------------------------

WORLD = ("0.0.0.0/0", "::/0")
ALL_PORTS = (0, 65535)


@dataclass(frozen=True)
class Opening:
    """One ingress admitting the whole internet."""

    path: str  # the attribute, e.g. "cidr_ipv4" or "ingress[1].cidr_blocks"
    cidr: str
    ports: tuple[int, int]
    protocol: str

    @property
    def text(self) -> str:
        low, high = self.ports
        ports = (
            "all ports"
            if self.ports == ALL_PORTS
            else (f"port {low}" if low == high else f"ports {low}-{high}")
        )
        return f"{self.protocol} {ports} from {self.cidr}"


def _ports(rule: dict[str, Any], protocol_key: str) -> tuple[str, tuple[int, int]]:
    protocol = str(rule.get(protocol_key) or "-1")
    if protocol in ("-1", "all") or not isinstance(rule.get("from_port"), int):
        return "any protocol", ALL_PORTS
    return protocol, (int(rule["from_port"]), int(rule.get("to_port", rule["from_port"])))


def openings(change_type: str, value: Any) -> set[Opening]:
    """The world-open ingresses a resource's value (before or after) declares."""
    if not isinstance(value, dict):
        return set()
    found: set[Opening] = set()
    if change_type == "aws_vpc_security_group_ingress_rule":
        protocol, ports = _ports(value, "ip_protocol")
        for key in ("cidr_ipv4", "cidr_ipv6"):
            if value.get(key) in WORLD:
                found.add(Opening(key, value[key], ports, protocol))
    elif change_type == "aws_security_group_rule" and value.get("type") == "ingress":
        protocol, ports = _ports(value, "protocol")
        for key in ("cidr_blocks", "ipv6_cidr_blocks"):
            found |= {Opening(key, c, ports, protocol) for c in value.get(key) or [] if c in WORLD}
    elif change_type == "aws_security_group":
        for i, block in enumerate(value.get("ingress") or []):
            if not isinstance(block, dict):
                continue
            protocol, ports = _ports(block, "protocol")
            for key in ("cidr_blocks", "ipv6_cidr_blocks"):
                found |= {
                    Opening(f"ingress[{i}].{key}", c, ports, protocol)
                    for c in block.get(key) or []
                    if c in WORLD
                }
    return found


def world_ingress(change: ResourceChange, context: Context) -> Hit | None:
    """A new opening to the internet on a port no public listener serves, or on another group.

    The public load balancer's own rules (its listener ports, on its group) are what it is for.
    """
    if change.action not in (Action.CREATE, *CHANGING):
        return None
    before = {(o.cidr, o.ports, o.protocol) for o in openings(change.type, change.before)}
    new = [o for o in openings(change.type, change.after) if (o.cidr, o.ports, o.protocol) not in before]
    groups = _own_groups(change)
    beyond = []
    for opening in sorted(new, key=lambda o: (o.path, o.cidr)):
        low, high = opening.ports
        listener_ports = opening.ports != ALL_PORTS and all(
            p in context.public_listener_ports for p in range(low, high + 1)
        )
        on_public_group = not groups or bool(groups & context.public_groups)
        if not (listener_ports and on_public_group):
            beyond.append(opening)
    if not beyond:
        return None
    served = ", ".join(str(p) for p in sorted(context.public_listener_ports)) or "none"
    detail = "; ".join(o.text for o in beyond) + f" (public listener ports: {served})"
    return Hit(tuple(dict.fromkeys(o.path for o in beyond)), detail)


def _own_groups(change: ResourceChange) -> frozenset[str]:
    """The security group a rule belongs to: address (from config references) and id, if known."""
    if change.type == "aws_security_group":
        found = {change.address}
        if isinstance(change.new("id"), str):
            found.add(change.new("id"))
        return frozenset(found)
    found = set(change.references.get("security_group_id", ()))
    if isinstance(change.new("security_group_id"), str):
        found.add(change.new("security_group_id"))
    return frozenset(found)


# --- IAM and resource policies -----------------------------------------------------------------

# Attributes holding a JSON policy document, and the types that have one.
POLICY_ATTRIBUTES = ("policy", "assume_role_policy", "policy_document")
POLICY_TYPES = frozenset(
    {
        "aws_iam_policy",
        "aws_iam_role_policy",
        "aws_iam_user_policy",
        "aws_iam_group_policy",
        "aws_iam_role",  # assume_role_policy (trust) and inline_policy blocks
        "aws_s3_bucket_policy",
        "aws_kms_key",
        "aws_sqs_queue_policy",
        "aws_sns_topic_policy",
        "aws_secretsmanager_secret_policy",
        "aws_ecr_repository_policy",
        "aws_efs_file_system_policy",
        "aws_cloudwatch_log_resource_policy",
        "aws_opensearch_domain_policy",
    }
)


def policies(value: Any) -> dict[str, dict[str, Any]]:
    """{attribute path: parsed document} of a resource value's policy strings (unparseable ones left out)."""
    if not isinstance(value, dict):
        return {}
    found = {key: value.get(key) for key in POLICY_ATTRIBUTES}
    for i, block in enumerate(value.get("inline_policy") or []):
        if isinstance(block, dict):
            found[f"inline_policy[{i}].policy"] = block.get("policy")
    parsed = {}
    for path, text in found.items():
        try:
            document = json.loads(text) if isinstance(text, str) and text else None
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict):
            parsed[path] = document
    return parsed


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def allow_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for s in _listed(document.get("Statement")) if isinstance(s, dict) and s.get("Effect") == "Allow"
    ]


def wildcard_actions(document: dict[str, Any]) -> set[str]:
    """Allowed actions that are `*` or a whole service (`s3:*`)."""
    return {
        a
        for s in allow_statements(document)
        for a in _listed(s.get("Action"))
        if a == "*" or str(a).endswith(":*")
    }


def actions_on_any_resource(document: dict[str, Any]) -> set[str]:
    """Allowed actions granted on Resource `*`."""
    return {
        str(a)
        for s in allow_statements(document)
        if "*" in _listed(s.get("Resource"))
        for a in _listed(s.get("Action"))
    }


def principals(document: dict[str, Any]) -> set[str]:
    """Allowed principals as "AWS:arn", "Service:name", ... ("*" for everyone)."""
    found: set[str] = set()
    for statement in allow_statements(document):
        principal = statement.get("Principal")
        if principal == "*":
            found.add("*")
        elif isinstance(principal, dict):
            found |= {f"{kind}:{p}" for kind, ps in principal.items() for p in _listed(ps)}
    return found


def policy_gains(measure: Callable[[dict[str, Any]], set[str]], *, new_object_counts: bool) -> Check:
    """A policy document gains members of `measure` (wildcard actions, principals, ...).

    new_object_counts: whether a created (or replaced) resource's whole policy counts as gained.
    A new principal on a new role is the role's purpose; a new `*` action is news either way.
    """

    def check(change: ResourceChange, _: Context) -> Hit | None:
        if change.action not in (Action.CREATE, *CHANGING):
            return None
        after = {p: d for p, d in policies(change.after).items() if not change.unknown(*parse_path(p))}
        before = policies(change.before) if change.before is not None else None
        if before is None and not new_object_counts:
            return None
        hits = []
        for path, document in sorted(after.items()):
            gained = measure(document) - (measure(before[path]) if before and path in before else set())
            if before is not None and not new_object_counts and path not in before:
                gained = {g for g in gained if g == "*"}
            if gained:
                shown = SENSITIVE if change.sensitive(*parse_path(path)) else ", ".join(sorted(gained))
                hits.append((path, f"{path}: {shown}"))
        return Hit(tuple(p for p, _ in hits), "; ".join(d for _, d in hits)) if hits else None

    return check


def new_principals(change: ResourceChange, context: Context) -> Hit | None:
    """Principals a policy admits that it did not before; `*` (everyone) also on a new policy."""
    gained = policy_gains(principals, new_object_counts=False)(change, context)
    anyone = policy_gains(lambda d: principals(d) & {"*"}, new_object_counts=True)(change, context)
    return gained or anyone


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------

# Resources that hold data or identity: deleting or replacing one loses what is in it.
DATA_TYPES = frozenset(
    {
        "aws_db_instance",
        "aws_rds_cluster",
        "aws_rds_global_cluster",
        "aws_docdb_cluster",
        "aws_neptune_cluster",
        "aws_elasticache_replication_group",
        "aws_elasticache_cluster",
        "aws_elasticache_serverless_cache",
        "aws_memorydb_cluster",
        "aws_efs_file_system",
        "aws_fsx_lustre_file_system",
        "aws_s3_bucket",  # the state bucket too
        "aws_dynamodb_table",  # the state lock table too
        "aws_opensearch_domain",
        "aws_kinesis_stream",
        "aws_sqs_queue",
        "aws_backup_vault",
        "aws_kms_key",  # what it encrypted cannot be read without it
        "aws_secretsmanager_secret",
        "aws_ssm_parameter",
        "aws_ecr_repository",
        "aws_cloudwatch_log_group",
        "aws_cognito_user_pool",
        "aws_route53_zone",  # a new zone has new name servers: delegation breaks
    }
)
DATABASES = frozenset({"aws_db_instance", "aws_rds_cluster", "aws_rds_cluster_instance"})
DELETION_PROTECTION = ("deletion_protection", "deletion_protection_enabled", "enable_deletion_protection")
PUBLIC_ACCESS_FLAGS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)
OFF = (False, None)

RULES: tuple[Rule, ...] = (
    # --- danger: data or identity lost, or the guard against losing it removed ---------------
    Rule(
        "deletes-data",
        Severity.DANGER,
        DATA_TYPES,
        deleted_or_replaced,
        "holds data or identity: deleting or replacing it loses what is in it",
    ),
    Rule(
        "deletion-protection-off",
        Severity.DANGER,
        None,
        any_of(
            flipped(*DELETION_PROTECTION, was=[True], now=OFF),
            flipped("force_destroy", "force_delete", was=OFF, now=[True]),
        ),
        "the guard against deleting it (and what it holds) is switched off",
    ),
    Rule(
        "backups-off",
        Severity.DANGER,
        None,
        any_of(
            dropped_to_zero("backup_retention_period", "snapshot_retention_limit"),
            flipped("skip_final_snapshot", was=OFF, now=[True]),
            flipped("backup_policy[0].status", was=["ENABLED"], now=["DISABLED"]),
            flipped("point_in_time_recovery[0].enabled", was=[True], now=OFF),
            flipped("versioning_configuration[0].status", was=["Enabled"], now=["Suspended", "Disabled"]),
        ),
        "backups, snapshots or versions stop being kept: a mistake after this cannot be undone",
    ),
    Rule(
        "encryption-removed",
        Severity.DANGER,
        None,
        any_of(
            flipped(
                "storage_encrypted",
                "encrypted",
                "at_rest_encryption_enabled",
                "transit_encryption_enabled",
                "server_side_encryption[0].enabled",
                was=[True],
                now=OFF,
            ),
            flipped("kms_key_id", "kms_key_arn", "kms_master_key_id", was=non_empty, now=["", None]),
        ),
        "encryption is switched off or its key removed",
    ),
    Rule(
        "bucket-encryption-removed",
        Severity.DANGER,
        frozenset({"aws_s3_bucket_server_side_encryption_configuration"}),
        deleted_while_bucket_stays,
        "the bucket's default encryption is removed: new objects are stored with S3's default key only",
    ),
    # --- warning: exposure widened, safety margins cut, availability at stake -----------------
    Rule(
        "world-ingress",
        Severity.WARNING,
        frozenset({"aws_vpc_security_group_ingress_rule", "aws_security_group_rule", "aws_security_group"}),
        world_ingress,
        "opens ingress from the whole internet beyond the public load balancer's listener ports",
    ),
    Rule(
        "policy-wildcard-action",
        Severity.WARNING,
        POLICY_TYPES,
        policy_gains(wildcard_actions, new_object_counts=True),
        "a policy grants every action (`*` or a whole service)",
    ),
    Rule(
        "policy-wildcard-resource",
        Severity.WARNING,
        POLICY_TYPES - {"aws_kms_key"},  # in a key policy, Resource "*" is the key itself
        policy_gains(actions_on_any_resource, new_object_counts=True),
        "a policy grants actions on every resource (`*`)",
    ),
    Rule(
        "policy-new-principal",
        Severity.WARNING,
        POLICY_TYPES,
        new_principals,
        "a trust or resource policy admits a principal it did not before (or everyone)",
    ),
    Rule(
        "public-access-loosened",
        Severity.WARNING,
        frozenset({"aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"}),
        any_of(flipped(*PUBLIC_ACCESS_FLAGS, was=[True], now=OFF), deleted_while_bucket_stays),
        "S3 public access block loosened: a policy or ACL can now make objects public",
    ),
    Rule(
        "retention-shortened",
        Severity.WARNING,
        None,
        retention_shortened,
        "kept for less time: logs, backups or versions older than the new period are deleted",
    ),
    Rule(
        "scaled-to-zero",
        Severity.WARNING,
        frozenset({"aws_ecs_service", "aws_autoscaling_group", "aws_appautoscaling_target"}),
        dropped_to_zero("desired_count", "desired_capacity", "max_size", "max_capacity"),
        "scaled to zero: the service stops serving",
    ),
    Rule(
        "database-restart",
        Severity.WARNING,
        DATABASES,
        changed("instance_class", "engine_version"),
        "restarts the database when applied (an outage; at the maintenance window unless apply_immediately)",
    ),
    Rule(
        "database-member-replaced",
        Severity.WARNING,
        frozenset({"aws_rds_cluster_instance"}),
        replaced,
        "a cluster member is recreated: its connections drop (the data stays in the cluster volume)",
    ),
)

# Only tags change: counted as info, never flagged.
TAG_ATTRIBUTES = frozenset({"tags", "tags_all"})


def context_of(plan: Plan) -> Context:
    """The public load balancers' listener ports and security groups, and the buckets deleted."""
    kept = [c for c in plan.managed() if c.action is not Action.DELETE]
    public = {c.address: c for c in kept if c.type in ("aws_lb", "aws_alb") and c.new("internal") is False}
    arns = {lb.new("arn"): address for address, lb in public.items() if isinstance(lb.new("arn"), str)}
    ports: set[int] = set()
    for listener in (c for c in kept if c.type in ("aws_lb_listener", "aws_alb_listener")):
        on = set(listener.references.get("load_balancer_arn", ())) | {
            arns.get(listener.new("load_balancer_arn"))
        }
        if on & set(public) and isinstance(listener.new("port"), int):
            ports.add(listener.new("port"))
    groups: set[str] = set()
    for lb in public.values():
        groups |= set(lb.references.get("security_groups", ()))
        groups |= {g for g in lb.new("security_groups") or [] if isinstance(g, str)}
    deleted = {
        c.old("bucket")
        for c in plan.managed()
        if c.type == "aws_s3_bucket" and c.action in (Action.DELETE, Action.REPLACE) and c.old("bucket")
    }
    return Context(frozenset(ports), frozenset(groups), frozenset(deleted))
