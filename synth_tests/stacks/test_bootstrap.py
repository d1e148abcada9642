"""modules/stacks/bootstrap.py: the hardened state bucket, its key and the lock table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BASE_PROJECT, env_toml, load, only, resources, synth_stack, write_config


def bootstrap_json(tmp_path: Path, state: str = "", environments: dict[str, str] | None = None) -> dict:
    from modules.cdk import Testing
    from modules.stacks.bootstrap import BootstrapStack

    project = BASE_PROJECT + (f"[state]\n{state}" if state else "")
    platform = load(write_config(tmp_path, environments or {"dev": env_toml()}, project=project))
    return synth_stack(BootstrapStack(Testing.app(), platform))


STATE_BUCKET = "acme-tfstate-111111111111-eu-west-1"
LOG_BUCKET = "acme-tfstate-logs-111111111111-eu-west-1"


def bucket_parts(stack: dict, name: str) -> dict[str, dict]:
    """Every aws_s3_bucket_* resource of the bucket called `name`, by resource type."""
    (key,) = [k for k, b in resources(stack, "aws_s3_bucket").items() if b["bucket"] == name]
    parts = {"aws_s3_bucket": resources(stack, "aws_s3_bucket")[key]}
    for resource_type, found in stack["resource"].items():
        for resource in found.values():
            if resource.get("bucket") == f"${{aws_s3_bucket.{key}.id}}":
                assert resource_type not in parts, f"two {resource_type} for {name}"
                parts[resource_type] = resource
    return parts


def test_state_bucket_is_named_by_account_and_region_and_cannot_be_destroyed(tmp_path: Path) -> None:
    bucket = bucket_parts(bootstrap_json(tmp_path), STATE_BUCKET)["aws_s3_bucket"]
    assert bucket["lifecycle"] == {"prevent_destroy": True}
    assert "force_destroy" not in bucket


@pytest.mark.parametrize("name", [STATE_BUCKET, LOG_BUCKET])
def test_both_buckets_share_the_hardened_baseline(tmp_path: Path, name: str) -> None:
    parts = bucket_parts(bootstrap_json(tmp_path), name)
    assert parts["aws_s3_bucket_versioning"]["versioning_configuration"] == {"status": "Enabled"}
    access = parts["aws_s3_bucket_public_access_block"]
    assert all(
        access[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert parts["aws_s3_bucket_ownership_controls"]["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    statements = json.loads(parts["aws_s3_bucket_policy"]["policy"])["Statement"]
    deny = statements[0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    (rule,) = parts["aws_s3_bucket_lifecycle_configuration"]["rule"]
    assert rule["status"] == "Enabled" and rule["filter"] == [{}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]


def test_state_bucket_is_kms_encrypted_with_a_bucket_key(tmp_path: Path) -> None:
    stack = bootstrap_json(tmp_path)
    key_ref = f"${{aws_kms_key.{next(iter(resources(stack, 'aws_kms_key')))}.arn}}"
    (rule,) = bucket_parts(stack, STATE_BUCKET)["aws_s3_bucket_server_side_encryption_configuration"]["rule"]
    assert rule == {
        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key_ref},
        "bucket_key_enabled": True,
    }


def test_state_bucket_access_is_logged_to_an_sse_s3_log_bucket(tmp_path: Path) -> None:
    stack = bootstrap_json(tmp_path, "access_log_days = 180\n")
    state = bucket_parts(stack, STATE_BUCKET)
    logs = bucket_parts(stack, LOG_BUCKET)
    (policy_key,) = [
        k for k, p in resources(stack, "aws_s3_bucket_policy").items() if p is logs["aws_s3_bucket_policy"]
    ]
    # named through the log bucket's policy, so logging starts only once delivery may write
    assert state["aws_s3_bucket_logging"]["target_bucket"] == f"${{aws_s3_bucket_policy.{policy_key}.bucket}}"
    assert state["aws_s3_bucket_logging"]["target_prefix"] == "state-bucket/"
    # log delivery cannot write into SSE-KMS buckets
    (rule,) = logs["aws_s3_bucket_server_side_encryption_configuration"]["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    delivery = json.loads(logs["aws_s3_bucket_policy"]["policy"])["Statement"][1]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{STATE_BUCKET}"},
        "StringEquals": {"aws:SourceAccount": "111111111111"},
    }
    (lifecycle,) = logs["aws_s3_bucket_lifecycle_configuration"]["rule"]
    assert lifecycle["expiration"] == [{"days": 180}]
    assert "lifecycle" not in logs["aws_s3_bucket"]
    assert "aws_s3_bucket_logging" not in logs


def test_superseded_state_versions_expire_after_the_configured_days(tmp_path: Path) -> None:
    parts = bucket_parts(bootstrap_json(tmp_path, "noncurrent_version_days = 30\n"), STATE_BUCKET)
    (rule,) = parts["aws_s3_bucket_lifecycle_configuration"]["rule"]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]
    assert "expiration" not in rule


def test_state_key_rotates_and_has_an_alias(tmp_path: Path) -> None:
    stack = bootstrap_json(tmp_path)
    key = only(stack, "aws_kms_key")
    assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] == 30
    assert only(stack, "aws_kms_alias")["name"] == "alias/acme-tfstate"


@pytest.mark.parametrize(("lock", "table"), [("dynamodb", True), ("both", True), ("lockfile", False)])
def test_lock_table_follows_the_lock_mode(tmp_path: Path, lock: str, table: bool) -> None:
    stack = bootstrap_json(tmp_path, f'lock = "{lock}"\n')
    tables = list(resources(stack, "aws_dynamodb_table").values())
    assert len(tables) == int(table)
    assert ("lock_table" in stack["output"]) == table
    if table:
        (t,) = tables
        assert (t["name"], t["hash_key"], t["billing_mode"]) == ("acme-tflock", "LockID", "PAY_PER_REQUEST")
        assert t["attribute"] == [{"name": "LockID", "type": "S"}]
        assert t["point_in_time_recovery"] == {"enabled": True}
        assert t["server_side_encryption"]["enabled"] is True and "kms_key_arn" in t["server_side_encryption"]
        assert t["deletion_protection_enabled"] is True


def test_bootstrap_starts_on_local_state_then_moves_into_its_bucket(tmp_path: Path) -> None:
    assert bootstrap_json(tmp_path / "local")["terraform"]["backend"] == {
        "local": {"path": "terraform.tfstate"}
    }
    backend = bootstrap_json(tmp_path / "s3", 'bootstrap_backend = "s3"\n')["terraform"]["backend"]
    assert backend["s3"]["key"] == "bootstrap/terraform.tfstate"
    assert backend["s3"]["bucket"] == "acme-tfstate-111111111111-eu-west-1"


def test_outputs_name_what_the_environments_use(tmp_path: Path) -> None:
    outputs = bootstrap_json(tmp_path)["output"]
    assert set(outputs) == {"state_bucket", "state_access_log_bucket", "state_kms_key_arn", "lock_table"}


def test_stateful_addresses_never_move(tmp_path: Path) -> None:
    """Renaming one of these replaces the state bucket, key or lock table: it needs a `moved` block."""
    stack = bootstrap_json(tmp_path)
    addresses = {f"{t}.{k}" for t, found in stack["resource"].items() for k in found}
    assert {
        "aws_s3_bucket.state_state_bucket_bucket",
        "aws_kms_key.state_state_key",
        "aws_dynamodb_table.state_lock_table",
    } <= addresses


# --- environments in other accounts ------------------------------------------------------------

QA_ROLE = "arn:aws:iam::222222222222:role/terraform"
ACCOUNTS = {
    "dev": env_toml("10.10.0.0/16"),  # in the state account: granted nothing
    "qa": f'account_id = "222222222222"\nassume_role_arn = "{QA_ROLE}"\n' + env_toml("10.40.0.0/16"),
}


def policy_of(resource: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(resource["policy"])["Statement"]}


def test_no_cross_account_environment_means_no_grant(tmp_path: Path) -> None:
    stack = bootstrap_json(tmp_path, 'lock = "both"\n')
    assert "aws_dynamodb_resource_policy" not in stack["resource"]
    assert set(policy_of(only(stack, "aws_kms_key"))) == {"AccountAdministersKey"}
    state_policy = bucket_parts(stack, STATE_BUCKET)["aws_s3_bucket_policy"]
    assert set(policy_of(state_policy)) == {"DenyInsecureTransport"}


def test_a_cross_account_environment_gets_its_state_prefix_key_and_lock_entries(tmp_path: Path) -> None:
    stack = bootstrap_json(tmp_path, 'lock = "both"\n', ACCOUNTS)
    bucket = policy_of(bucket_parts(stack, STATE_BUCKET)["aws_s3_bucket_policy"])
    assert set(bucket) == {"DenyInsecureTransport", "ListQaState", "ReadWriteQaState", "ReleaseQaLockFiles"}
    granted = [s for sid, s in bucket.items() if sid != "DenyInsecureTransport"]
    assert {s["Principal"]["AWS"] for s in granted} == {QA_ROLE}
    assert bucket["ReadWriteQaState"]["Resource"] == f"arn:aws:s3:::{STATE_BUCKET}/qa/*"

    key = policy_of(only(stack, "aws_kms_key"))
    assert set(key) == {"AccountAdministersKey", "QaUsesStateKey"}

    table_policy = only(stack, "aws_dynamodb_resource_policy")
    assert table_policy["resource_arn"] == "${aws_dynamodb_table.state_lock_table.arn}"
    (lock,) = policy_of(table_policy).values()
    assert lock["Principal"] == {"AWS": QA_ROLE} and lock["Resource"] == table_policy["resource_arn"]
    assert lock["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [f"{STATE_BUCKET}/qa/*"]


def test_lockfile_only_state_has_no_table_to_grant(tmp_path: Path) -> None:
    stack = bootstrap_json(tmp_path, 'lock = "lockfile"\n', ACCOUNTS)
    assert "aws_dynamodb_resource_policy" not in stack["resource"]
    key = policy_of(only(stack, "aws_kms_key"))["QaUsesStateKey"]
    assert key["Condition"]["StringEquals"]["kms:ViaService"] == ["s3.eu-west-1.amazonaws.com"]
