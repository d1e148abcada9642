"""modules/bootstrap.py: the hardened state bucket, its key and the lock table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BASE_PROJECT, env_toml, load, only, resources, synth_stack, write_config


def bootstrap_json(tmp_path: Path, state: str = "") -> dict:
    from modules.bootstrap import BootstrapStack
    from modules.cdk import Testing

    project = BASE_PROJECT + (f"[state]\n{state}" if state else "")
    platform = load(write_config(tmp_path, {"dev": env_toml()}, project=project))
    return synth_stack(BootstrapStack(Testing.app(), platform.project))


def test_state_bucket_is_named_by_account_and_region_and_cannot_be_destroyed(tmp_path: Path) -> None:
    bucket = only(bootstrap_json(tmp_path), "aws_s3_bucket")
    assert bucket["bucket"] == "acme-tfstate-111111111111-eu-west-1"
    assert bucket["lifecycle"] == {"prevent_destroy": True}
    assert "force_destroy" not in bucket or bucket["force_destroy"] is False


def test_state_bucket_hardening(tmp_path: Path) -> None:
    stack = bootstrap_json(tmp_path)
    key_ref = f"${{aws_kms_key.{next(iter(resources(stack, 'aws_kms_key')))}.arn}}"
    assert only(stack, "aws_s3_bucket_versioning")["versioning_configuration"] == {"status": "Enabled"}
    (rule,) = only(stack, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule == {
        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key_ref},
        "bucket_key_enabled": True,
    }
    access = only(stack, "aws_s3_bucket_public_access_block")
    assert all(
        access[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert only(stack, "aws_s3_bucket_ownership_controls")["rule"] == {
        "object_ownership": "BucketOwnerEnforced"
    }
    (statement,) = json.loads(only(stack, "aws_s3_bucket_policy")["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    assert len(statement["Resource"]) == 2 and statement["Resource"][1].endswith("/*")


def test_lifecycle_expires_superseded_versions_and_aborts_uploads(tmp_path: Path) -> None:
    (rule,) = only(
        bootstrap_json(tmp_path, "noncurrent_version_days = 30\n"), "aws_s3_bucket_lifecycle_configuration"
    )["rule"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert rule["filter"] == [{}]


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
    assert set(outputs) == {"state_bucket", "state_kms_key_arn", "lock_table"}
