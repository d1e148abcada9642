"""modules/environment.py and modules/providers.py: provider, backend and composition per environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BASE_PROJECT, env_toml, environment_json, load, only, resources, write_config


def qa_json(tmp_path: Path, env_text: str, state: str = "") -> dict:
    project = BASE_PROJECT + (f"[state]\n{state}" if state else "")
    return environment_json(load(write_config(tmp_path, {"qa": env_text}, project=project)), "qa")


def test_provider_pins_region_account_and_default_tags(committed_platform) -> None:
    (provider,) = environment_json(committed_platform, "dev")["provider"]["aws"]
    assert provider["region"] == "eu-west-1"
    assert provider["allowed_account_ids"] == ["111111111111"]
    assert provider["default_tags"] == [
        {
            "tags": {
                "Project": "acme",
                "Environment": "dev",
                "Owner": "platform-team",
                "ManagedBy": "terraform",
                "CostCenter": "platform",
            }
        }
    ]
    assert "assume_role" not in provider


def test_separate_account_environment_assumes_a_role(tmp_path: Path) -> None:
    role = "arn:aws:iam::222222222222:role/terraform"
    stack = qa_json(
        tmp_path, f'account_id = "222222222222"\nassume_role_arn = "{role}"\n' + env_toml("10.40.0.0/16")
    )
    (provider,) = stack["provider"]["aws"]
    assert provider["allowed_account_ids"] == ["222222222222"]
    assert provider["assume_role"] == [{"role_arn": role, "session_name": "acme-qa-terraform"}]
    # state still lives in the project's account
    assert stack["terraform"]["backend"]["s3"]["bucket"] == "acme-tfstate-111111111111-eu-west-1"


@pytest.mark.parametrize(
    ("lock", "table", "lockfile"),
    [("dynamodb", "acme-tflock", None), ("lockfile", None, True), ("both", "acme-tflock", True)],
)
def test_backend_points_at_the_bootstrap_names(tmp_path: Path, lock: str, table, lockfile) -> None:
    backend = qa_json(tmp_path, env_toml("10.40.0.0/16"), f'lock = "{lock}"\n')["terraform"]["backend"]["s3"]
    assert backend["key"] == "qa/terraform.tfstate"
    assert backend["encrypt"] is True
    assert backend["kms_key_id"] == "arn:aws:kms:eu-west-1:111111111111:alias/acme-tfstate"
    assert backend.get("dynamodb_table") == table
    assert backend.get("use_lockfile") == lockfile


def test_environment_key_lets_only_this_environments_log_groups_use_it(committed_platform) -> None:
    stack = environment_json(committed_platform, "dev")
    key = only(stack, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    logs = statements["CloudWatchLogsUsesKey"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111111111111:log-group:/acme/dev/*"
        }
    }
    assert only(stack, "aws_kms_alias")["name"] == "alias/acme-dev"
    key_key = next(iter(resources(stack, "aws_kms_key")))
    assert only(stack, "aws_cloudwatch_log_group")["kms_key_id"] == f"${{aws_kms_key.{key_key}.arn}}"


def test_dev_is_cheap_and_prod_is_safe(committed_platform) -> None:
    dev = environment_json(committed_platform, "dev")
    prod = environment_json(committed_platform, "prod")
    assert len(resources(dev, "aws_nat_gateway")) == 1
    assert len(resources(prod, "aws_nat_gateway")) == 3
    assert only(dev, "aws_cloudwatch_log_group")["retention_in_days"] == 30
    assert only(prod, "aws_cloudwatch_log_group")["retention_in_days"] == 365
    assert not any(e["vpc_endpoint_type"] == "Interface" for e in resources(dev, "aws_vpc_endpoint").values())
    assert (
        sum(e["vpc_endpoint_type"] == "Interface" for e in resources(prod, "aws_vpc_endpoint").values()) == 7
    )


def test_outputs(committed_platform) -> None:
    assert set(environment_json(committed_platform, "stg")["output"]) == {
        "vpc_id",
        "public_subnet_ids",
        "private_subnet_ids",
        "kms_key_arn",
    }
