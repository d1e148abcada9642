"""Application buckets: one hardened private bucket per `[[buckets]]` entry, with defaults by purpose,
their server access logs, and what each using service may do with them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct
from modules.config import Environment
from modules.config.data import BucketConfig, bucket_name
from modules.config.uses import Use, bucket_variable
from modules.core import naming
from modules.data.bucket import (
    ABORT_INCOMPLETE_UPLOAD_DAYS,
    PrivateBucket,
    PrivateBucketProps,
    Transition,
    server_access_log_bucket,
)
from modules.data.grant import StoreGrant, sid_part

# Days the S3 server access logs of the application buckets are kept: a year of "who read or wrote
# which object", as for the state bucket. Not in the schema yet: one value for every environment.
ACCESS_LOG_DAYS = 365
# Log objects are never overwritten: a noncurrent version only exists once expiry has run.
ACCESS_LOG_NONCURRENT_VERSION_DAYS = 1
# Longer than any bucket's name can be (a Slug has at most 20 characters), so this construct ID never
# meets the ID, or the Terraform name, of a configured bucket.
ACCESS_LOG_BUCKET_ID = "s3-server-access-logs"

# What each access mode may do with the objects. `write` adds objects and never removes one: a
# writer (a log shipper, a backup job) that may delete could erase what it is meant to keep, and
# in a backups bucket that is the point. `read-write` is a service that owns its objects, as an
# uploads service deleting what its users remove: it also gets s3:DeleteObject, which on these
# versioned buckets only adds a delete marker (the version stays `noncurrent_version_days`);
# s3:DeleteObjectVersion, the permanent delete, is never granted.
OBJECT_ACTIONS: dict[str, tuple[str, ...]] = {
    "read": ("s3:GetObject",),
    "write": ("s3:AbortMultipartUpload", "s3:PutObject"),
    "read-write": ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"),
}
# Reading an SSE-KMS object decrypts its data key; writing one generates a data key, and completing
# a multipart upload decrypts it again.
KEY_ACTIONS: dict[str, tuple[str, ...]] = {
    "read": ("kms:Decrypt",),
    "write": ("kms:Decrypt", "kms:GenerateDataKey"),
    "read-write": ("kms:Decrypt", "kms:GenerateDataKey"),
}
# Listing lets a reader tell a missing key (404) from a forbidden one (403), and page through a prefix.
LISTS = frozenset({"read", "read-write"})


def access_log_bucket_name(prefix: str, account_id: str, region: str) -> str:
    """`<project>-<env>-s3-access-logs-<account>-<region>`, the prefix shortened with a hash past 63
    characters. It ends in the region, and a configured bucket's name in the account id, so the two
    never meet."""
    return naming.bucket_name(prefix, f"-s3-access-logs-{account_id}-{region}")


@dataclass(frozen=True)
class ApplicationBucket:
    """One `[[buckets]]` entry, resolved: its name in S3 and the purpose's defaults applied."""

    name: str  # the entry's name: construct ID, access-log prefix, BUCKET_<NAME>, Sids
    bucket_name: str  # "<project>-<env>-<name>-<account id>"
    kms: bool  # SSE-KMS with the environment key; False: SSE-S3
    transitions: tuple[Transition, ...]
    expiration_days: int | None
    noncurrent_version_days: int
    cors_origins: tuple[str, ...]
    object_lock_days: int | None

    @classmethod
    def of(cls, env: Environment, bucket: BucketConfig) -> ApplicationBucket:
        infrequent_access, glacier, expire = bucket.lifecycle_days
        transitions = tuple(
            Transition(days=days, storage_class=storage_class)
            for days, storage_class in ((infrequent_access, "STANDARD_IA"), (glacier, "GLACIER"))
            if days is not None
        )
        return cls(
            name=bucket.name,
            bucket_name=bucket_name(env.project.name, env.name, bucket.name, env.account_id),
            kms=bucket.encryption == "kms",
            transitions=transitions,
            expiration_days=expire,
            noncurrent_version_days=bucket.noncurrent_version_days,
            cors_origins=tuple(bucket.cors_origins),
            object_lock_days=bucket.object_lock_days,
        )


@dataclass(frozen=True)
class ApplicationBucketsProps:
    """The environment's application buckets; defaults live in the config schema, not here."""

    buckets: tuple[ApplicationBucket, ...]  # at least one
    kms_key_arn: str  # the environment key, for the buckets with `kms`
    partition: str
    region: str  # kms:ViaService of the grants
    account_id: str  # S3 log delivery writes for this account's buckets only
    access_log_bucket_name: str
    access_log_days: int

    @classmethod
    def of(cls, env: Environment, *, kms_key_arn: str) -> ApplicationBucketsProps:
        return cls(
            buckets=tuple(ApplicationBucket.of(env, bucket) for bucket in env.config.buckets),
            kms_key_arn=kms_key_arn,
            partition=naming.partition(env.region),
            region=env.region,
            account_id=env.account_id,
            access_log_bucket_name=access_log_bucket_name(env.prefix, env.account_id, env.region),
            access_log_days=ACCESS_LOG_DAYS,
        )


def bucket_statements(
    *, name: str, bucket_arn: str, mode: str, kms_key_arn: str | None, region: str
) -> tuple[dict[str, Any], ...]:
    """What `mode` (read, write, read-write) allows on one bucket: its objects, listing it (readers),
    and the key through S3 for this bucket only when it is SSE-KMS (`kms_key_arn`). Sids are unique
    per bucket and mode."""
    sid = f"Bucket{sid_part(name)}{sid_part(mode)}"
    statements: list[dict[str, Any]] = []
    if mode in LISTS:
        statements.append(
            {"Sid": f"{sid}List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn}
        )
    statements.append(
        {
            "Sid": f"{sid}Objects",
            "Effect": "Allow",
            "Action": list(OBJECT_ACTIONS[mode]),
            "Resource": f"{bucket_arn}/*",
        }
    )
    if kms_key_arn is not None:
        statements.append(
            {
                "Sid": f"{sid}Key",
                "Effect": "Allow",
                "Action": list(KEY_ACTIONS[mode]),
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                    # S3's encryption context: the bucket ARN with a bucket key (the default here),
                    # the object ARN without one. The environment key encrypts much else besides.
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]},
                },
            }
        )
    return tuple(statements)


class ApplicationBuckets(Construct):
    """A `PrivateBucket` per configured bucket (versioned, encrypted with the environment key or
    SSE-S3 for a logs bucket that asks for it, public access blocked, TLS only, stale uploads
    aborted), with the purpose's transitions and expiry, CORS for an uploads bucket with origins,
    and Object Lock in governance mode for a backups bucket with `object_lock_days`; and one SSE-S3
    bucket their S3 server access logs go to, each under its own prefix.

    Buckets are not `prevent_destroy`: dev environments are destroyed whole, and S3 refuses to
    delete a bucket that still holds an object version (no `force_destroy`), so data is never lost
    to a destroy.

    Exposes `names` and `arns` (by configured name) and `access_log_bucket_name`; `grant` gives a
    service its access.
    """

    def __init__(self, scope: Construct, id: str, props: ApplicationBucketsProps) -> None:
        super().__init__(scope, id)
        access_logs = server_access_log_bucket(
            self,
            ACCESS_LOG_BUCKET_ID,
            name=props.access_log_bucket_name,
            partition=props.partition,
            account_id=props.account_id,
            source_bucket_names=[b.bucket_name for b in props.buckets],
            expiration_days=props.access_log_days,
            noncurrent_version_days=ACCESS_LOG_NONCURRENT_VERSION_DAYS,
        )
        buckets = {
            b.name: PrivateBucket(
                self,
                b.name,
                PrivateBucketProps(
                    name=b.bucket_name,
                    partition=props.partition,
                    kms_key_arn=props.kms_key_arn if b.kms else None,
                    noncurrent_version_days=b.noncurrent_version_days,
                    expiration_days=b.expiration_days,
                    abort_incomplete_upload_days=ABORT_INCOMPLETE_UPLOAD_DAYS,
                    transitions=b.transitions,
                    cors_origins=b.cors_origins,
                    object_lock_days=b.object_lock_days,
                    policy_statements=(),
                    # Through the log bucket's policy: S3 refuses a logging target that does not
                    # admit log delivery yet.
                    access_log_bucket=access_logs.policy.bucket,
                    access_log_prefix=f"{b.name}/",
                    prevent_destroy=False,
                    tags={},
                ),
            )
            for b in props.buckets
        }
        self._props = props
        self._by_name = {b.name: b for b in props.buckets}
        self.names: dict[str, str] = {name: bucket.name for name, bucket in buckets.items()}
        self.arns: dict[str, str] = {name: bucket.arn for name, bucket in buckets.items()}
        self.access_log_bucket_name: str = access_logs.name

    def grant(self, service_name: str, use: Use) -> StoreGrant:
        """BUCKET_<NAME> = the bucket's name, and the task role statements of the use's access mode
        on that bucket (and its key), nothing on any other bucket."""
        if use.kind != "bucket" or use.name not in self._by_name or use.option not in OBJECT_ACTIONS:
            raise ValueError(f"{service_name}: {use} is not a use of a configured bucket")
        bucket = self._by_name[use.name]
        return StoreGrant(
            environment={bucket_variable(bucket.name): self.names[bucket.name]},
            task_statements=bucket_statements(
                name=bucket.name,
                bucket_arn=self.arns[bucket.name],
                mode=use.option,
                kms_key_arn=self._props.kms_key_arn if bucket.kms else None,
                region=self._props.region,
            ),
        )
