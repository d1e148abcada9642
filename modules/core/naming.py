"""Names that more than one stack must agree on, derived from config alone.

The environment backends find the bootstrap stack's bucket, lock table and key by these names,
never by cross-stack references: a reference would couple the stacks through remote state.
"""

from __future__ import annotations

import hashlib
from typing import Protocol


class ProjectConfig(Protocol):
    """What the state names are derived from (`modules.config.ProjectConfig` has these fields)."""

    @property
    def name(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def region(self) -> str: ...


def partition(region: str) -> str:
    """The ARN partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def s3_bucket_arn(partition_name: str, bucket: str) -> str:
    """A bucket's ARN, known from its name before it exists (bucket ARNs carry no account)."""
    return f"arn:{partition_name}:s3:::{bucket}"


def state_bucket(project: ProjectConfig) -> str:
    # Account and region make the global S3 name unique without a random suffix.
    return f"{project.name}-tfstate-{project.account_id}-{project.region}"


def state_access_log_bucket(project: ProjectConfig) -> str:
    return f"{project.name}-tfstate-logs-{project.account_id}-{project.region}"


def lock_table(project: ProjectConfig) -> str:
    return f"{project.name}-tflock"


def state_key_alias(project: ProjectConfig) -> str:
    return f"alias/{project.name}-tfstate"


def state_key_alias_arn(project: ProjectConfig) -> str:
    return (
        f"arn:{partition(project.region)}:kms:{project.region}:{project.account_id}:"
        f"{state_key_alias(project)}"
    )


def state_object_key(stack_name: str) -> str:
    """Where a stack's state lives inside the state bucket."""
    return f"{stack_name}/terraform.tfstate"


def short_hash(text: str) -> str:
    """Six hex characters of SHA-256: stable, and enough to keep two shortened names apart."""
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def bounded(name: str, limit: int) -> str:
    """`name`, or when longer than `limit` (AWS name limits), its head plus a hash of the whole.

    The hash depends on the name alone, so a bounded name never changes by itself.
    """
    if len(name) <= limit:
        return name
    return f"{name[: limit - 7].rstrip('-')}-{short_hash(name)}"


BUCKET_NAME_LIMIT = 63


def bucket_name(head: str, suffix: str) -> str:
    """`<head><suffix>` as an S3 bucket name: past 63 characters the head is shortened and a hash of
    the whole added, so the suffix (`-<purpose>-<account>-<region>`, which makes the global name
    unique) is always kept. The hash depends on the name alone, so a name never changes by itself."""
    full = head + suffix
    if len(full) <= BUCKET_NAME_LIMIT:
        return full
    keep = BUCKET_NAME_LIMIT - len(suffix) - 7
    return f"{head[:keep].rstrip('-')}-{short_hash(full)}{suffix}"
