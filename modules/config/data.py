"""`[database]`, `[cache]`, `[[buckets]]` and `[[filesystems]]` of an environment file, and the
rules between them, the environment and the services that `uses` them.

Defaults that depend on the profile (sizes, Multi-AZ, retention, protection) come from PROFILES and
are laid under each section that is present (and under each bucket and file system entry); the
ones that depend on the engine or the bucket's purpose are the tables below, each named in the
field that falls back to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from modules.config.rules import rule
from modules.config.types import (
    DailyWindow,
    DatabaseIdentifier,
    Slug,
    Strict,
    WeeklyWindow,
    check_log_retention,
)
from modules.config.uses import Use, use_variables

DatabaseEngine = Literal["postgres", "mysql", "aurora-postgresql", "aurora-mysql"]
CacheEngine = Literal["redis", "valkey"]
BucketPurpose = Literal["uploads", "static", "backups", "logs"]

# Current engine versions (October 2026 defaults of RDS and ElastiCache). A major version alone is
# what RDS instances take with auto minor version upgrades on; Aurora needs the full version.
DATABASE_ENGINE_VERSIONS: dict[str, str] = {
    "postgres": "16",
    "mysql": "8.0",
    "aurora-postgresql": "16.6",
    "aurora-mysql": "8.0.mysql_aurora.3.08.0",
}
DATABASE_PORTS: dict[str, int] = {
    "postgres": 5432,
    "mysql": 3306,
    "aurora-postgresql": 5432,
    "aurora-mysql": 3306,
}
# What each engine exports to CloudWatch Logs unless `log_exports` says otherwise. MySQL's audit log
# needs an option group (RDS) or server_audit_logging (Aurora): not exported by default.
DATABASE_LOG_EXPORTS: dict[str, tuple[str, ...]] = {
    "postgres": ("postgresql", "upgrade"),
    "mysql": ("error", "slowquery"),
    "aurora-postgresql": ("postgresql",),
    "aurora-mysql": ("error", "slowquery"),
}
DATABASE_LOG_TYPES: dict[str, tuple[str, ...]] = {
    "postgres": ("postgresql", "upgrade", "iam-db-auth-error"),
    "mysql": ("audit", "error", "general", "slowquery", "iam-db-auth-error"),
    "aurora-postgresql": ("postgresql", "iam-db-auth-error"),
    "aurora-mysql": ("audit", "error", "general", "slowquery", "iam-db-auth-error"),
}
CACHE_ENGINE_VERSIONS: dict[str, str] = {"redis": "7.1", "valkey": "8.0"}
CACHE_PORT = 6379
# Instance class families each engine runs on (a t2/m4 class is refused by current versions).
_DATABASE_CLASS = re.compile(r"^db\.(t3|t4g|m5|m6g|m6i|m7g|m7i|r5|r6g|r6i|r7g|r7i|x2g)\.[a-z0-9]+$")
_AURORA_CLASSES = re.compile(
    r"^db\.(t3\.medium|t3\.large|t4g\.medium|t4g\.large|(r5|r6g|r6i|r7g|r7i|x2g)\.[a-z0-9]+|serverless)$"
)
_CACHE_NODE = re.compile(r"^cache\.(t3|t4g|m5|m6g|m7g|r5|r6g|r7g)\.[a-z0-9]+$")

PERFORMANCE_INSIGHTS_RETENTION = frozenset({7, *range(31, 731, 31), 731})


class DatabaseConfig(Strict):
    """`[database]`: the environment's relational database, an RDS instance or an Aurora cluster."""

    engine: DatabaseEngine
    """postgres or mysql: an RDS instance; aurora-postgresql or aurora-mysql: an Aurora cluster."""
    engine_version: Annotated[str, StringConstraints(pattern=r"^[0-9][0-9a-z._]*$")] | None = None
    """Unset: postgres `16`, mysql `8.0` (RDS instances follow minor versions), aurora-postgresql
    `16.6`, aurora-mysql `8.0.mysql_aurora.3.08.0`."""
    instance_class: str
    """The DB instance class, e.g. db.t4g.medium (Aurora takes db.t3/t4g medium and large, and the r
    classes)."""
    multi_az: bool
    """RDS: a synchronous standby in another zone; Aurora: instances spread across zones (needs
    `instances` of 2 or more)."""
    instances: int | None = Field(default=None, ge=1, le=16)
    """Aurora only: the cluster's instances, a writer and its readers. Unset: 2 with `multi_az`, 1
    without."""
    database_name: DatabaseIdentifier = "app"
    """The database created with the instance or cluster (letters, digits, '_'; at most 16)."""
    master_username: DatabaseIdentifier = "app_admin"
    """The master user; its password is created and rotated by RDS in Secrets Manager, encrypted
    with the environment key, and never seen by Terraform."""
    allocated_storage_gb: int = Field(default=20, ge=20, le=65536)
    """RDS only: the initial gp3 storage (GiB)."""
    max_allocated_storage_gb: int = Field(default=100, ge=21, le=65536)
    """RDS only: storage autoscaling grows the volume up to this (GiB)."""
    backup_retention_days: int = Field(ge=1, le=35)
    """Days automated backups are kept (point-in-time recovery window)."""
    backup_window: DailyWindow = "02:00-03:00"
    """Daily backup window (UTC, hh:mm-hh:mm, at least 30 minutes, apart from the maintenance window)."""
    maintenance_window: WeeklyWindow = "sun:03:30-sun:04:30"
    """Weekly maintenance window (UTC, ddd:hh:mm-ddd:hh:mm)."""
    deletion_protection: bool
    """RDS refuses to delete the instance or cluster until this is switched off."""
    final_snapshot: bool
    """Take a final snapshot, `<project>-<env>-db-final`, when the database is destroyed."""
    performance_insights_retention_days: int = 7
    """Days Performance Insights keeps its data: 7 (free), or a multiple of 31 up to 731."""
    monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60] = 60
    """Enhanced monitoring's interval (its role is created with the database)."""
    log_exports: list[str] | None = None
    """Logs exported to CloudWatch Logs. Unset: postgres `postgresql`, `upgrade`; aurora-postgresql
    `postgresql`; mysql and aurora-mysql `error`, `slowquery`."""
    log_retention_days: int
    """Days the exported database logs are kept (a CloudWatch Logs retention value)."""

    _retention = field_validator("log_retention_days")(check_log_retention)

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _insights_retention(cls, days: int) -> int:
        if days not in PERFORMANCE_INSIGHTS_RETENTION:
            raise ValueError("Performance Insights keeps data 7 days or a multiple of 31 days up to 731")
        return days

    @rule("engine", "instance_class")
    def _class_fits_engine(self) -> None:
        fits = _AURORA_CLASSES if self.aurora else _DATABASE_CLASS
        if not fits.match(self.instance_class) or self.instance_class == "db.serverless":
            family = "Aurora" if self.aurora else "RDS"
            raise ValueError(
                f"{self.instance_class} is not an {family} instance class for {self.engine} "
                + (
                    "(db.t3/t4g medium or large, or an r class such as db.r6g.large)"
                    if self.aurora
                    else "(a current class such as db.t4g.medium or db.m7g.large)"
                )
            )

    @rule("engine", "instances", "multi_az")
    def _instances(self) -> None:
        if self.instances is not None and not self.aurora:
            raise ValueError(
                f"instances is for Aurora; a {self.engine} instance gets a standby with multi_az"
            )
        if self.aurora and self.multi_az and self.instance_count < 2:
            raise ValueError("multi_az Aurora needs instances of 2 or more (a reader in another zone)")

    @rule("allocated_storage_gb", "max_allocated_storage_gb")
    def _storage(self) -> None:
        if self.max_allocated_storage_gb <= self.allocated_storage_gb:
            raise ValueError(
                "max_allocated_storage_gb must be above allocated_storage_gb (storage autoscaling)"
            )

    @rule("engine", "log_exports")
    def _log_types(self) -> None:
        known = DATABASE_LOG_TYPES[self.engine]
        for log in self.log_exports or ():
            if log not in known:
                raise ValueError(f"{self.engine} exports {', '.join(known)}, not {log!r}")
        if self.log_exports is not None and len(set(self.log_exports)) != len(self.log_exports):
            raise ValueError("log_exports lists a log twice")

    @rule("engine", "engine_version")
    def _version_fits_engine(self) -> None:
        version = self.version
        if self.engine.endswith("mysql") and not version.startswith("8."):
            raise ValueError(f"{self.engine} {version}: this platform supports MySQL 8 (8.0 or 8.4)")
        if self.engine == "aurora-mysql" and ".mysql_aurora." not in version:
            raise ValueError(f"aurora-mysql versions look like 8.0.mysql_aurora.3.08.0, not {version}")
        if self.engine.endswith("postgresql") and "." not in version:
            raise ValueError(f"aurora-postgresql needs a full version such as 16.6, not {version}")

    @property
    def aurora(self) -> bool:
        return self.engine.startswith("aurora-")

    @property
    def postgres(self) -> bool:
        return self.engine.endswith(("postgres", "postgresql"))

    @property
    def version(self) -> str:
        return self.engine_version or DATABASE_ENGINE_VERSIONS[self.engine]

    @property
    def instance_count(self) -> int:
        """Aurora's instances (the writer first); 1 for an RDS instance."""
        if not self.aurora:
            return 1
        return self.instances if self.instances is not None else (2 if self.multi_az else 1)

    @property
    def port(self) -> int:
        return DATABASE_PORTS[self.engine]

    @property
    def exported_logs(self) -> tuple[str, ...]:
        return tuple(self.log_exports) if self.log_exports is not None else DATABASE_LOG_EXPORTS[self.engine]

    @property
    def parameter_group_family(self) -> str:
        """postgres16, mysql8.0, aurora-postgresql16, aurora-mysql8.0."""
        version = self.version
        if self.postgres:
            return f"{self.engine}{version.split('.')[0]}"
        return f"{self.engine}{'.'.join(version.split('.')[:2])}"


class CacheConfig(Strict):
    """`[cache]`: an ElastiCache replication group (Valkey or Redis OSS), TLS only."""

    engine: CacheEngine = "valkey"
    """valkey or redis (Redis OSS)."""
    engine_version: Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+$")] | None = None
    """Unset: valkey `8.0`, redis `7.1`."""
    node_type: str
    """The node type, e.g. cache.t4g.micro."""
    multi_az: bool
    """Automatic failover to a replica in another zone."""
    replicas: int | None = Field(default=None, ge=0, le=5)
    """Read replicas beside the primary. Unset: one per extra zone of the network with `multi_az`,
    none without."""
    auth: Literal["iam", "none"] = "iam"
    """iam: each using service connects as its own ElastiCache user with an IAM token (the default
    user is disabled); none: TLS and security groups only, refused by the production profile."""
    snapshot_retention_days: int = Field(ge=0, le=35)
    """Days daily snapshots are kept; 0: none."""
    snapshot_window: DailyWindow = "02:00-03:00"
    """Daily snapshot window (UTC, hh:mm-hh:mm), apart from the maintenance window."""
    maintenance_window: WeeklyWindow = "sun:04:00-sun:05:00"
    """Weekly maintenance window (UTC, ddd:hh:mm-ddd:hh:mm)."""
    log_retention_days: int
    """Days the slow and engine logs are kept (a CloudWatch Logs retention value)."""

    _retention = field_validator("log_retention_days")(check_log_retention)

    @rule("node_type")
    def _node_type(self) -> None:
        if not _CACHE_NODE.match(self.node_type):
            raise ValueError(
                f"{self.node_type} is not a current ElastiCache node type such as cache.t4g.micro"
            )

    @rule("multi_az", "replicas")
    def _failover_needs_replica(self) -> None:
        if self.multi_az and self.replicas == 0:
            raise ValueError(
                "multi_az failover needs a replica: set replicas to 1 or more, or multi_az = false"
            )

    @property
    def version(self) -> str:
        return self.engine_version or CACHE_ENGINE_VERSIONS[self.engine]

    @property
    def parameter_group_family(self) -> str:
        """valkey8, redis7."""
        return f"{self.engine}{self.version.split('.')[0]}"

    def node_count(self, az_count: int) -> int:
        """The primary and its replicas."""
        replicas = self.replicas if self.replicas is not None else (az_count - 1 if self.multi_az else 0)
        return 1 + replicas


# What a bucket of each purpose does unless its entry says otherwise (days; None: never).
BUCKET_PURPOSE_DEFAULTS: dict[str, dict[str, int | None]] = {
    "uploads": {"infrequent_access_after_days": None, "glacier_after_days": None, "expire_after_days": None},
    "static": {"infrequent_access_after_days": None, "glacier_after_days": None, "expire_after_days": None},
    "backups": {"infrequent_access_after_days": 30, "glacier_after_days": 90, "expire_after_days": None},
    "logs": {"infrequent_access_after_days": 30, "glacier_after_days": None, "expire_after_days": 365},
}
# S3 bucket names: 3-63 characters of a-z, 0-9, '-' and '.'.
S3_BUCKET_NAME_LIMIT = 63


def bucket_name(project: str, env: str, name: str, account_id: str) -> str:
    """`<project>-<env>-<name>-<account id>`: unique across accounts without a random suffix."""
    return f"{project}-{env}-{name}-{account_id}"


class BucketConfig(Strict):
    """One `[[buckets]]` entry: a private S3 bucket `<project>-<env>-<name>-<account id>` on the
    hardened baseline (versioned, encrypted, public access blocked, TLS only)."""

    name: Slug
    """The bucket's short name, unique in the environment; services use it as `bucket:<name>:<access>`."""
    purpose: BucketPurpose
    """uploads, static, backups or logs: picks the defaults below."""
    encryption: Literal["kms", "sse-s3"] = "kms"
    """kms: the environment key; sse-s3: S3-managed keys, for a logs bucket that an AWS service
    writes and that accepts no KMS key (S3 server access logs)."""
    cors_origins: list[Annotated[str, StringConstraints(pattern=r"^https?://[a-z0-9.*-]+(:[0-9]+)?$")]] = []
    """uploads only: origins a browser may upload from directly (GET, PUT, POST, HEAD)."""
    infrequent_access_after_days: int | None = Field(default=None, ge=30)
    """Move objects to Standard-IA after this many days. Unset: the purpose's default (backups and
    logs 30, otherwise never)."""
    glacier_after_days: int | None = Field(default=None, ge=1)
    """Move objects to Glacier Flexible Retrieval after this many days. Unset: backups 90, otherwise
    never."""
    expire_after_days: int | None = Field(default=None, ge=1)
    """Delete objects this many days after they were written. Unset: logs 365, otherwise never."""
    noncurrent_version_days: int = Field(default=30, ge=1)
    """Days a superseded object version is kept."""
    object_lock_days: int | None = Field(default=None, ge=1, le=36500)
    """backups only: Object Lock in governance mode, each object version locked this many days.
    Object Lock can only be chosen when the bucket is created."""

    @rule("purpose", "cors_origins")
    def _cors_for_uploads(self) -> None:
        if self.cors_origins and self.purpose != "uploads":
            raise ValueError("cors_origins is for uploads buckets")

    @rule("purpose", "object_lock_days")
    def _lock_for_backups(self) -> None:
        if self.object_lock_days is not None and self.purpose != "backups":
            raise ValueError("object_lock_days is for backups buckets")

    @rule("purpose", "encryption")
    def _sse_s3_for_logs(self) -> None:
        if self.encryption == "sse-s3" and self.purpose != "logs":
            raise ValueError("sse-s3 is for logs buckets that an AWS service writes; keep kms")

    @rule("purpose", "infrequent_access_after_days", "glacier_after_days", "expire_after_days")
    def _transitions_in_order(self) -> None:
        ia, glacier, expire = self.lifecycle_days
        if ia is not None and glacier is not None and glacier < ia + 30:
            raise ValueError(
                f"glacier_after_days ({glacier}) must be at least 30 days after infrequent access ({ia})"
            )
        for moved in (ia, glacier):
            if moved is not None and expire is not None and expire <= moved:
                raise ValueError(f"expire_after_days ({expire}) must come after the transitions ({moved})")

    @property
    def lifecycle_days(self) -> tuple[int | None, int | None, int | None]:
        """(infrequent access, glacier, expire) after the purpose's defaults."""
        defaults = BUCKET_PURPOSE_DEFAULTS[self.purpose]
        chosen = (self.infrequent_access_after_days, self.glacier_after_days, self.expire_after_days)
        keys = ("infrequent_access_after_days", "glacier_after_days", "expire_after_days")
        return tuple(  # type: ignore[return-value]
            value if key in self.model_fields_set else defaults[key]
            for key, value in zip(keys, chosen, strict=True)
        )


class FilesystemConfig(Strict):
    """One `[[filesystems]]` entry: an EFS file system, encrypted with the environment key, with a
    mount target in each private subnet; each using service gets its own access point."""

    name: Slug
    """The file system's short name, unique in the environment; services mount it with
    `filesystem:<name>:<path>[:ro]`."""
    throughput_mode: Literal["elastic", "bursting"] = "elastic"
    """elastic: pay for what is read and written; bursting: throughput grows with the stored size."""
    infrequent_access_after_days: Literal[1, 7, 14, 30, 60, 90, 180, 270, 365] = 30
    """Files not read for this many days move to EFS Infrequent Access (back on first access)."""
    backup: bool
    """Daily AWS Backup of the file system (EFS automatic backups)."""
    uid: int = Field(default=1000, ge=0, le=4294967295)
    """The POSIX user id every access point uses, and owns its directory with (unless the service
    runs as its own `user`)."""
    gid: int = Field(default=1000, ge=0, le=4294967295)
    """The POSIX group id of the access points (unless the service runs as its own `user` uid:gid)."""


def store_use_rules(
    services: Sequence[tuple[int, Sequence[Use], Sequence[str]]],
    *,
    database: DatabaseConfig | None,
    cache: CacheConfig | None,
    buckets: Sequence[BucketConfig | None],
    filesystems: Sequence[FilesystemConfig | None],
    sections_set: frozenset[str],
) -> list[tuple[str, str]]:
    """Rules of the store `uses`: (key path, problem) for each violation.

    `services`: (index, parsed uses, the names of the service's own environment variables and
    secrets). A store section that is present but failed validation (`sections_set` names it, its
    value is None) holds back the rules that need it: its own problem is reported instead.
    """
    problems: list[tuple[str, str]] = []
    named: dict[str, tuple[set[str] | None, str]] = {
        "bucket": (_names(buckets), "[[buckets]]"),
        "filesystem": (_names(filesystems), "[[filesystems]]"),
    }
    singles = {"database": database, "cache": cache}
    for index, uses, own_variables in services:
        paths: dict[str, str] = {}
        stores: dict[tuple[str, str | None], str] = {}
        for position, use in enumerate(uses):
            where = f"services[{index}].uses[{position}]"
            if use.kind != "service":
                store = (use.kind, use.name)
                if store in stores and stores[store] != str(use):
                    problems.append((where, f"uses the same store as {stores[store]}: one use per store"))
                stores.setdefault(store, str(use))
            if use.kind in singles and singles[use.kind] is None and use.kind not in sections_set:
                problems.append((where, f"this environment has no [{use.kind}]"))
            if use.kind in named:
                names, table = named[use.kind]
                if names is not None and use.name not in names:
                    known = ", ".join(sorted(names)) or "none"
                    problems.append((where, f"no {table} entry named '{use.name}' (entries: {known})"))
            if use.kind == "filesystem":
                assert use.option is not None
                if use.option in paths:
                    problems.append((where, f"{use.option} is already the mount path of {paths[use.option]}"))
                paths.setdefault(use.option, str(use))
            for variable in use_variables(use):
                if variable in own_variables:
                    problems.append(
                        (where, f"sets {variable}, which the service's environment or secrets also set")
                    )
    return problems


def _names(entries: Sequence[BucketConfig | FilesystemConfig | None]) -> set[str] | None:
    """The entries' names, or None when one failed validation (its name cannot be trusted)."""
    if any(entry is None for entry in entries):
        return None
    return {entry.name for entry in entries if entry is not None}


def data_rules(
    *,
    project: str | None,
    env: str,
    account_id: str | None,
    database: DatabaseConfig | None,
    cache: CacheConfig | None,
    buckets: Sequence[BucketConfig | None],
    filesystems: Sequence[FilesystemConfig | None],
    production: bool | None,
) -> list[tuple[str, str]]:
    """Rules between the data sections, the profile and the environment: (key path, problem)."""
    problems: list[tuple[str, str]] = []
    if production and database is not None and database.aurora and database.instance_count < 2:
        problems.append(("database.instances", "the production profile needs 2 or more Aurora instances"))
    if production and cache is not None and cache.auth == "none":
        problems.append(
            ("cache.auth", "the production profile refuses a cache without authentication: use iam")
        )
    for entries, table in ((buckets, "buckets"), (filesystems, "filesystems")):
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            if entry is None:
                continue
            if entry.name in seen:
                problems.append(
                    (f"{table}[{index}].name", f"'{entry.name}' is already {table}[{seen[entry.name]}]")
                )
            seen.setdefault(entry.name, index)
    if project is not None and account_id is not None:
        for index, bucket in enumerate(buckets):
            if bucket is None:
                continue
            full = bucket_name(project, env, bucket.name, account_id)
            if len(full) > S3_BUCKET_NAME_LIMIT:
                problems.append(
                    (
                        f"buckets[{index}].name",
                        f"the bucket name {full} is {len(full)} characters; S3 allows "
                        f"{S3_BUCKET_NAME_LIMIT}: shorten the name by {len(full) - S3_BUCKET_NAME_LIMIT}",
                    )
                )
    return problems
