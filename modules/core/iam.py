"""IAM and resource policy documents as deterministic JSON strings.

Policies are plain JSON (sorted keys) with Terraform references interpolated where needed, so a
reviewer reads the exact document AWS receives in `generated/`.
"""

from __future__ import annotations

import json
from typing import Any


def document(*statements: dict[str, Any]) -> str:
    """A policy document: version 2012-10-17 and the given statements, in the order given."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def service_trust(service: str, source_account: str | None = None, sid: str = "ServiceAssumesRole") -> str:
    """A role trust policy that lets one AWS service assume the role.

    With `source_account`, only that service acting for this account may (the confused-deputy
    guard); leave it out for services that do not send aws:SourceAccount (EC2 instance profiles).
    """
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return document(statement)


def account_root(partition: str, account_id: str) -> dict[str, Any]:
    """The account's root principal: delegates key access to the account's IAM policies."""
    return {"AWS": f"arn:{partition}:iam::{account_id}:root"}


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """Refuse every S3 request to the bucket and its objects that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def write_log_group(sid: str, log_group_arn: str) -> dict[str, Any]:
    """A statement: create streams in, and write events to, one log group (the group's ARN for
    CreateLogStream, its streams `<arn>:*` for PutLogEvents)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [log_group_arn, f"{log_group_arn}:*"],
    }
