"""modules/stacks/environment.py and providers.py: provider, backend and composition per environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BASE_PROJECT, by_path, env_toml, environment_json, load, only, resources, write_config


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
    # state still lives in the project's account, read and written as the same role, which the
    # bootstrap stack grants the qa/ prefix; workspaces stay inside that prefix
    backend = stack["terraform"]["backend"]["s3"]
    assert backend["bucket"] == "acme-tfstate-111111111111-eu-west-1"
    assert backend["key"] == "qa/terraform.tfstate"
    assert backend["assume_role"] == {"role_arn": role, "session_name": "acme-qa-terraform-state"}
    assert backend["workspace_key_prefix"] == "qa/env:"


def test_an_environment_in_the_state_account_uses_the_callers_credentials_for_state(tmp_path: Path) -> None:
    backend = qa_json(tmp_path, env_toml("10.40.0.0/16"))["terraform"]["backend"]["s3"]
    assert "assume_role" not in backend and "workspace_key_prefix" not in backend


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
    key = by_path(stack, "aws_kms_key")["key/key"]
    assert key["enable_key_rotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    logs = statements["CloudWatchLogsUsesKey"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    # The environment's own prefix, the one place RDS exports dev's database logs to, and the one
    # group Lambda writes the notifier's logs to.
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": [
                "arn:aws:logs:eu-west-1:111111111111:log-group:/acme/dev/*",
                "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/rds/instance/acme-dev-db/*",
                "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/acme-dev-discord-notifier",
            ]
        }
    }
    assert by_path(stack, "aws_kms_alias")["key/alias"]["name"] == "alias/acme-dev"
    key_key = "key_key"
    groups = resources(stack, "aws_cloudwatch_log_group").values()
    # flow logs, ECS exec, three services, the cache's slow and engine logs, two database exports,
    # the Discord notifier
    assert len(groups) == 10
    for group in groups:
        assert group["name"].startswith(("/acme/dev/", "/aws/rds/instance/acme-dev-db/")) or (
            group["name"] == "/aws/lambda/acme-dev-discord-notifier"
        )
        assert group["kms_key_id"] == f"${{aws_kms_key.{key_key}.arn}}"


def test_dev_is_cheap_and_prod_is_safe(committed_platform) -> None:
    dev = environment_json(committed_platform, "dev")
    prod = environment_json(committed_platform, "prod")
    assert len(resources(dev, "aws_nat_gateway")) == 1
    assert len(resources(prod, "aws_nat_gateway")) == 3
    assert {g["retention_in_days"] for g in resources(dev, "aws_cloudwatch_log_group").values()} == {30}
    assert {g["retention_in_days"] for g in resources(prod, "aws_cloudwatch_log_group").values()} == {365}
    assert only(dev, "aws_ecs_cluster")["setting"] == [{"name": "containerInsights", "value": "disabled"}]
    assert only(prod, "aws_ecs_cluster")["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    spot = only(dev, "aws_ecs_cluster_capacity_providers")["default_capacity_provider_strategy"]
    on_demand = only(prod, "aws_ecs_cluster_capacity_providers")["default_capacity_provider_strategy"]
    assert [s["capacity_provider"] for s in spot] == ["FARGATE_SPOT"]
    assert [s["capacity_provider"] for s in on_demand] == ["FARGATE"]
    public = [lb for lb in resources(prod, "aws_lb").values() if lb["internal"] is False]
    assert [lb["enable_deletion_protection"] for lb in public] == [True]
    assert all(lb["enable_deletion_protection"] is False for lb in resources(dev, "aws_lb").values())
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
        "cluster_name",
        "repository_urls",
        "public_alb_dns_name",
        "people_role_arns",
        "database_endpoint",
        "database_master_secret_arn",
        "bucket_names",
        "alerts_topic_arn",
        "deployments_topic_arn",
        "github_role_arns",
    }
    assert {"internal_alb_dns_name", "cache_endpoint", "filesystem_ids"} <= set(
        environment_json(committed_platform, "dev")["output"]
    )
    assert {"internal_nlb_dns_name"} <= set(environment_json(committed_platform, "prod")["output"])


def test_an_environment_without_services_has_only_the_foundation(tmp_path: Path) -> None:
    stack = qa_json(tmp_path, env_toml("10.40.0.0/16"))
    assert not any(t.startswith(("aws_ecs", "aws_lb", "aws_ecr")) for t in stack["resource"])
    assert set(stack["output"]) == {
        "vpc_id",
        "public_subnet_ids",
        "private_subnet_ids",
        "kms_key_arn",
        "alerts_topic_arn",
        "deployments_topic_arn",
    }


def test_every_service_is_wired_to_its_load_balancer_and_group(committed_platform) -> None:
    stack = environment_json(committed_platform, "dev")
    services = {s["name"]: s for s in resources(stack, "aws_ecs_service").values()}
    assert set(services) == {"acme-dev-web", "acme-dev-api", "acme-dev-billing"}
    groups = {
        f"${{aws_security_group.{k}.id}}": g["name"]
        for k, g in resources(stack, "aws_security_group").items()
    }
    target_groups = {f"${{aws_lb_target_group.{k}.arn}}": k for k in resources(stack, "aws_lb_target_group")}
    rules = {f"aws_lb_listener_rule.{k}" for k in resources(stack, "aws_lb_listener_rule")}
    balancer_of = {"web": "public_alb", "api": "public_alb", "billing": "internal_lb"}
    for name, service in services.items():
        short = name.removeprefix("acme-dev-")
        (network,) = [service["network_configuration"]]
        assert [groups[g] for g in network["security_groups"]] == [f"acme-dev-{short}-tasks"]
        assert network["assign_public_ip"] is False
        (balancer,) = service["load_balancer"]
        assert target_groups[balancer["target_group_arn"]] == f"{balancer_of[short]}_{short}_target_group"
        assert f"aws_lb_listener_rule.{balancer_of[short]}_{short}_rule" in service["depends_on"]
        assert rules & set(service["depends_on"])


def test_service_addresses_sit_under_a_services_scope(committed_platform) -> None:
    stack = environment_json(committed_platform, "dev")
    assert sorted(resources(stack, "aws_ecs_service")) == [
        "services_api_service",
        "services_billing_service",
        "services_web_service",
    ]


def test_one_access_log_bucket_serves_every_alb_under_its_own_address(committed_platform) -> None:
    stack = environment_json(committed_platform, "dev")
    load_balancer_buckets = [
        name for name in resources(stack, "aws_s3_bucket") if not name.startswith("buckets_")
    ]
    assert load_balancer_buckets == ["lb_access_logs_bucket_bucket"]
    policy = resources(stack, "aws_s3_bucket_policy")["lb_access_logs_bucket_policy"]
    statements = json.loads(policy["policy"])["Statement"]
    (delivery,) = [s for s in statements if s["Sid"] == "ElbAccessLogDelivery"]
    assert [r.split("/")[1] for r in delivery["Resource"]] == ["public-alb", "internal-alb"]
    logs = {
        lb["access_logs"]["prefix"]: lb["access_logs"]["bucket"] for lb in resources(stack, "aws_lb").values()
    }
    assert logs == {
        "public-alb": "${aws_s3_bucket_policy.lb_access_logs_bucket_policy.bucket}",
        "internal-alb": "${aws_s3_bucket_policy.lb_access_logs_bucket_policy.bucket}",
    }


def test_the_notifier_zip_beside_dev_is_the_one_its_stack_references(fresh_synth: Path) -> None:
    import base64
    import hashlib

    from modules.notifications.discord import build_package

    stack_dir = fresh_synth / "stacks" / "dev"
    (function,) = json.loads((stack_dir / "cdk.tf.json").read_text())["resource"][
        "aws_lambda_function"
    ].values()
    data = (stack_dir / function["filename"]).read_bytes()
    assert function["source_code_hash"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert data == build_package().data
    # only an environment with a notifier gets a zip
    assert sorted(p.name for p in (fresh_synth / "stacks").glob("*/*.zip")) == ["discord-notifier.zip"]
    assert (fresh_synth / "stacks" / "dev" / "discord-notifier.zip").is_file()
