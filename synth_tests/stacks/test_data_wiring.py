"""modules/stacks/data.py: the shipped dev environment's stores wired to exactly the services that
`use` them: security-group rules, grants and variables for those, and nothing for the others."""

from __future__ import annotations

import json

import pytest
from conftest import environment_json, ref, resources

STORE_GROUPS = {
    "database": ("aws_security_group", "database/security-group"),
    "cache": ("aws_security_group", "cache/security-group"),
    "filesystem": ("aws_security_group", "filesystems/shared/security-group"),
}


@pytest.fixture(scope="module")
def dev(committed_platform) -> dict:
    return environment_json(committed_platform, "dev")


def container(stack: dict, service: str) -> dict:
    (definition,) = [
        d
        for d in resources(stack, "aws_ecs_task_definition").values()
        if d["family"] == f"acme-dev-{service}"
    ]
    (found,) = json.loads(definition["container_definitions"])
    return found


def variables(stack: dict, service: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(stack, service).get("environment", [])}


def secrets(stack: dict, service: str) -> dict[str, str]:
    return {e["name"]: e["valueFrom"] for e in container(stack, service).get("secrets", [])}


def task_group(stack: dict, service: str) -> str:
    return ref(stack, "aws_security_group", f"services/{service}/security-group", "id")


def ingress_peers(stack: dict, store: str) -> set[str]:
    """The groups the store's security group admits, whatever the port."""
    group = ref(stack, *STORE_GROUPS[store], "id")
    return {
        rule["referenced_security_group_id"]
        for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values()
        if rule["security_group_id"] == group
    }


def uses_policy(stack: dict, service: str) -> list[dict] | None:
    policy = resources(stack, "aws_iam_role_policy").get(f"services_{service}_task_role_uses_policy")
    return None if policy is None else json.loads(policy["policy"])["Statement"]


def test_each_store_admits_only_the_tasks_of_the_services_that_use_it(dev: dict) -> None:
    api, billing = task_group(dev, "api"), task_group(dev, "billing")
    assert ingress_peers(dev, "database") == {api, billing}
    assert ingress_peers(dev, "cache") == {api}
    assert ingress_peers(dev, "filesystem") == {api}
    rules = resources(dev, "aws_vpc_security_group_ingress_rule")
    assert rules["database_allow_api_tasks_ingress"]["from_port"] == 5432
    assert rules["cache_allow_api_tasks_ingress"]["from_port"] == 6379
    assert rules["filesystems_shared_allow_api_tasks_ingress"]["from_port"] == 2049


def test_a_service_that_uses_no_store_gets_nothing(dev: dict) -> None:
    web = task_group(dev, "web")
    for store in STORE_GROUPS:
        assert web not in ingress_peers(dev, store)
    egress_to_stores = [
        rule
        for rule in resources(dev, "aws_vpc_security_group_egress_rule").values()
        if rule["security_group_id"] == web and rule.get("referenced_security_group_id")
    ]
    assert egress_to_stores == []
    assert uses_policy(dev, "web") is None
    assert not any(
        name.startswith(("DATABASE_", "CACHE_", "BUCKET_", "FILESYSTEM_")) for name in variables(dev, "web")
    )
    assert "secrets" not in container(dev, "web")
    volumes = {m["sourceVolume"] for m in container(dev, "web").get("mountPoints", [])}
    assert volumes <= {"exec-agent-state", "exec-agent-logs"}  # ECS exec's, no file system


def test_api_gets_the_master_secret_the_cache_user_the_bucket_and_the_mount(dev: dict) -> None:
    secret = ref(dev, "aws_db_instance", "database/instance", "master_user_secret[0].secret_arn")
    assert {k: v for k, v in secrets(dev, "api").items() if k.startswith("DATABASE_")} == {
        "DATABASE_USER": f"{secret}:username::",
        "DATABASE_PASSWORD": f"{secret}:password::",
    }
    found = variables(dev, "api")
    assert found["DATABASE_HOST"] == ref(dev, "aws_db_instance", "database/instance", "address")
    assert (found["DATABASE_PORT"], found["DATABASE_NAME"]) == ("5432", "app")
    assert (found["CACHE_PORT"], found["CACHE_TLS"], found["CACHE_USER"]) == (
        "6379",
        "true",
        "acme-dev-cache-api",
    )
    assert found["BUCKET_UPLOADS"] == ref(dev, "aws_s3_bucket", "buckets/uploads/bucket", "bucket")
    assert found["FILESYSTEM_SHARED_PATH"] == "/mnt/shared"
    mounts = [m for m in container(dev, "api")["mountPoints"] if m["sourceVolume"] == "efs-shared"]
    assert mounts == [{"containerPath": "/mnt/shared", "readOnly": False, "sourceVolume": "efs-shared"}]
    actions = {s["Sid"]: s["Action"] for s in uses_policy(dev, "api") or []}
    assert "elasticache:Connect" in json.dumps(actions)
    assert "elasticfilesystem:ClientWrite" in json.dumps(actions)
    assert "rds-db:connect" not in json.dumps(actions)  # api reads the master secret instead


def test_billing_connects_with_iam_and_never_sees_a_password(dev: dict) -> None:
    assert "secrets" not in container(dev, "billing")
    assert variables(dev, "billing")["DATABASE_USER"] == "billing"
    (statement,) = uses_policy(dev, "billing") or []
    resource_id = ref(dev, "aws_db_instance", "database/instance", "resource_id")
    assert statement["Action"] == "rds-db:connect"
    assert statement["Resource"] == f"arn:aws:rds-db:eu-west-1:111111111111:dbuser:{resource_id}/billing"
    execution = resources(dev, "aws_iam_role_policy")["services_billing_execution_role_policy"]["policy"]
    assert "master_user_secret" not in execution


def test_no_password_or_token_in_any_stack(committed_platform) -> None:
    for name in ("dev", "stg", "prod"):
        text = json.dumps(environment_json(committed_platform, name))
        for attribute in ('"password"', '"master_password"', '"auth_token"', '"passwords"'):
            assert attribute not in text, (name, attribute)
