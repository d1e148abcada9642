"""Cross-account state access: the statements the state bucket, its key and the lock table add for
each environment whose Terraform role lives in another account.

Each grant is limited to the environment's own prefix of the state bucket, `<env>/`: its state
object, its workspaces' states (its backend keeps them under `<env>/env:/`), their S3 lock files,
and their DynamoDB lock entries (`<bucket>/<env>/...`). The role's own account must also allow these
actions in the role's identity policy (README: "Environments in other accounts"); these statements
are the state account's half.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modules.config import StatePrincipal

# What Terraform's S3 backend does with state: read it, write it, and (S3 lock files) delete its lock.
STATE_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")
LOCK_FILE_ACTIONS = ("s3:DeleteObject",)
# The S3 backend encrypts state with the key through S3; the lock table is encrypted with it too.
STATE_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
LOCK_ITEM_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem")


def workspace_key_prefix(environment: str) -> str:
    """Where a cross-account environment's backend keeps non-default workspaces: inside its own prefix
    (the default, `env:`, is shared by every stack and would need a wider ListBucket)."""
    return f"{environment}/env:"


@dataclass(frozen=True)
class StateAccessProps:
    """The state store's names and the principals it grants."""

    bucket_name: str
    bucket_arn: str
    region: str
    lock_files: bool  # the backends lock with S3 lock files (`<key>.tflock`)
    lock_table: bool  # the backends lock with the DynamoDB table
    principals: tuple[StatePrincipal, ...]


def _sid(environment: str) -> str:
    """`dev-eu` -> `DevEu`: statement IDs allow letters and digits only."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", environment) if part)


def _role(principal: StatePrincipal) -> dict[str, Any]:
    return {"AWS": principal.role_arn}


def bucket_statements(props: StateAccessProps) -> tuple[dict[str, Any], ...]:
    """Per environment: list its prefix, read and write its objects, delete its lock files."""
    statements: list[dict[str, Any]] = []
    for principal in props.principals:
        env, sid = principal.environment, _sid(principal.environment)
        statements.append(
            {
                "Sid": f"List{sid}State",
                "Effect": "Allow",
                "Principal": _role(principal),
                "Action": "s3:ListBucket",
                "Resource": props.bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{env}/*"]}},
            }
        )
        statements.append(
            {
                "Sid": f"ReadWrite{sid}State",
                "Effect": "Allow",
                "Principal": _role(principal),
                "Action": list(STATE_OBJECT_ACTIONS),
                "Resource": f"{props.bucket_arn}/{env}/*",
            }
        )
        if props.lock_files:
            statements.append(
                {
                    "Sid": f"Release{sid}LockFiles",
                    "Effect": "Allow",
                    "Principal": _role(principal),
                    "Action": list(LOCK_FILE_ACTIONS),
                    "Resource": f"{props.bucket_arn}/{env}/*.tflock",
                }
            )
    return tuple(statements)


def key_statements(props: StateAccessProps) -> tuple[dict[str, Any], ...]:
    """Per environment: use the state key, only through S3 (and DynamoDB, for the lock table)."""
    services = [f"s3.{props.region}.amazonaws.com"]
    if props.lock_table:
        services.append(f"dynamodb.{props.region}.amazonaws.com")
    return tuple(
        {
            "Sid": f"{_sid(principal.environment)}UsesStateKey",
            "Effect": "Allow",
            "Principal": _role(principal),
            "Action": list(STATE_KEY_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": services}},
        }
        for principal in props.principals
    )


def lock_table_statements(props: StateAccessProps, table_arn: str) -> tuple[dict[str, Any], ...]:
    """Per environment: its own lock and digest items (`LockID` `<bucket>/<env>/...`), nothing else."""
    return tuple(
        {
            "Sid": f"Lock{_sid(principal.environment)}State",
            "Effect": "Allow",
            "Principal": _role(principal),
            "Action": list(LOCK_ITEM_ACTIONS),
            "Resource": table_arn,
            "Condition": {
                "ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [f"{props.bucket_name}/{principal.environment}/*"]
                }
            },
        }
        for principal in props.principals
    )
