"""modules/security/state_access.py: each cross-account environment gets its own state prefix, its own
lock entries and the state key through S3 and DynamoDB only."""

from __future__ import annotations

from modules.config import StatePrincipal
from modules.security.state_access import (
    StateAccessProps,
    bucket_statements,
    key_statements,
    lock_table_statements,
    workspace_key_prefix,
)

BUCKET = "acme-tfstate-111111111111-eu-west-1"
ARN = f"arn:aws:s3:::{BUCKET}"
DEV = StatePrincipal("dev-eu", "222222222222", "arn:aws:iam::222222222222:role/terraform")
PROD = StatePrincipal("prod", "333333333333", "arn:aws:iam::333333333333:role/terraform")


def props(lock_files: bool = True, lock_table: bool = True) -> StateAccessProps:
    return StateAccessProps(
        bucket_name=BUCKET,
        bucket_arn=ARN,
        region="eu-west-1",
        lock_files=lock_files,
        lock_table=lock_table,
        principals=(DEV, PROD),
    )


def by_sid(statements: tuple[dict, ...]) -> dict[str, dict]:
    sids = [s["Sid"] for s in statements]
    assert len(set(sids)) == len(sids) and all(sid.isalnum() for sid in sids), sids
    return {s["Sid"]: s for s in statements}


def test_each_role_lists_reads_and_writes_only_its_own_prefix() -> None:
    found = by_sid(bucket_statements(props()))
    assert found["ListDevEuState"] == {
        "Sid": "ListDevEuState",
        "Effect": "Allow",
        "Principal": {"AWS": DEV.role_arn},
        "Action": "s3:ListBucket",
        "Resource": ARN,
        "Condition": {"StringLike": {"s3:prefix": ["dev-eu/*"]}},
    }
    assert found["ReadWriteProdState"]["Principal"] == {"AWS": PROD.role_arn}
    assert found["ReadWriteProdState"]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert found["ReadWriteProdState"]["Resource"] == f"{ARN}/prod/*"
    # deleting is for its lock files only, never its state
    assert found["ReleaseProdLockFiles"]["Action"] == ["s3:DeleteObject"]
    assert found["ReleaseProdLockFiles"]["Resource"] == f"{ARN}/prod/*.tflock"
    assert all(s["Effect"] == "Allow" and "*" not in s["Principal"]["AWS"] for s in found.values())


def test_without_lock_files_no_role_may_delete() -> None:
    actions = [s["Action"] for s in bucket_statements(props(lock_files=False))]
    assert "s3:DeleteObject" not in str(actions) and len(actions) == 4


def test_workspaces_stay_inside_the_environments_prefix() -> None:
    assert workspace_key_prefix("prod").startswith("prod/")


def test_the_state_key_is_usable_only_through_s3_and_the_lock_table() -> None:
    found = by_sid(key_statements(props()))
    assert set(found) == {"DevEuUsesStateKey", "ProdUsesStateKey"}
    statement = found["ProdUsesStateKey"]
    assert statement["Action"] == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    assert statement["Condition"] == {
        "StringEquals": {"kms:ViaService": ["s3.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com"]}
    }
    (only_s3,) = key_statements(props(lock_table=False))[:1]
    assert only_s3["Condition"]["StringEquals"]["kms:ViaService"] == ["s3.eu-west-1.amazonaws.com"]


def test_lock_items_are_limited_to_the_environments_lock_ids() -> None:
    found = by_sid(lock_table_statements(props(), "${aws_dynamodb_table.t.arn}"))
    statement = found["LockDevEuState"]
    assert statement["Action"] == ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"]
    assert statement["Resource"] == "${aws_dynamodb_table.t.arn}"
    # the S3 backend's LockID is "<bucket>/<key>" (and "<bucket>/<key>-md5" for the digest)
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{BUCKET}/dev-eu/*"]}
    }
