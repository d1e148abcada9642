"""examples/: one small config directory per feature, each loading, synthesizing and validating."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, synth_config

from modules.config import load_platform

EXAMPLES = ROOT / "examples"
NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "project.toml").is_file())


def test_the_examples_are_the_ones_the_readme_lists() -> None:
    readme = (ROOT / "README.md").read_text()
    assert NAMES == [
        "account-owner",
        "aurora-mysql",
        "buckets",
        "cache-redis",
        "codepipeline",
        "ec2-capacity",
        "existing-certificate",
        "internal-tcp-service",
        "multi-account",
        "observability",
        "people-roles",
        "secrets",
        "separate-account",
        "shared-files",
        "terraform-cloud",
    ]
    for name in NAMES:
        assert f"`examples/{name}/`" in readme, f"README.md does not list examples/{name}/"


def only_environment(name: str):
    (env,) = load_platform(EXAMPLES / name).environments
    return env


def test_observability_traces_and_instruments_all_but_the_worker() -> None:
    env = only_environment("observability")
    web, worker = env.services
    assert (env.traced(web), env.traced(worker)) == (True, False)
    assert env.apm_for(web) is env.config.apm and env.apm_for(worker) is None
    assert web.alarms.cpu_percent == 95
    assert env.config.notifications.discord_webhook_secret == "secret:discord"


def test_ec2_capacity() -> None:
    env = only_environment("ec2-capacity")
    assert env.config.compute == "ec2" and env.config.cluster.instance_type == "t3.small"


def test_internal_tcp_service_is_internal_and_called_by_web() -> None:
    web, ledger = only_environment("internal-tcp-service").services
    assert (ledger.protocol, ledger.public) == ("tcp", False)
    assert web.called_services == ("ledger",)


def test_existing_certificate_needs_no_hosted_zone() -> None:
    domain = only_environment("existing-certificate").config.domain
    assert domain is not None and domain.hosted_zone_id is None and domain.certificate_arn


def test_multi_account_grants_each_environment_its_own_state() -> None:
    platform = load_platform(EXAMPLES / "multi-account")
    accounts = {env.name: env.account_id for env in platform.environments}
    assert accounts == {"dev": "222222222222", "prod": "444444444444", "stg": "333333333333"}
    assert platform.project.account_id not in accounts.values()  # state in a fourth account
    assert [(p.environment, p.account_id) for p in platform.state_principals] == sorted(accounts.items())


def test_separate_account_assumes_a_role_in_its_account() -> None:
    env = only_environment("separate-account")
    assert env.account_id == "222222222222" != env.project.account_id
    assert env.config.assume_role_arn == "arn:aws:iam::222222222222:role/terraform"


def test_terraform_cloud_runs_every_environment_in_a_workspace() -> None:
    platform = load_platform(EXAMPLES / "terraform-cloud")
    assert {env.name: env.workspace for env in platform.environments} == {
        "dev": "example-dev",
        "prod": "example-prod",
    }
    assert platform.project.state.bootstrap_backend == "cloud"
    prod = platform.environment("prod")
    assert prod.account_id != platform.project.account_id and prod.config.assume_role_arn
    assert platform.state_principals == ()  # no S3 state, nothing to grant


@pytest.fixture(scope="module")
def example_synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outs = {}
    for name in NAMES:
        out = tmp_path_factory.mktemp(name) / "generated"
        synth_config(EXAMPLES / name, out)
        outs[name] = out
    return outs


@pytest.mark.validate
@pytest.mark.parametrize("name", NAMES)
def test_example_synthesizes_and_validates(
    name: str, example_synths: dict[str, Path], terraform_cli_config: Path, tmp_path: Path
) -> None:
    from modules.core.terraform_cli import stack_dirs, validate_stack

    stacks = stack_dirs(example_synths[name])
    names = [env.name for env in load_platform(EXAMPLES / name).environments]
    assert [d.name for d in stacks] == sorted(["bootstrap", *names])
    for stack in stacks:
        result = validate_stack(stack, tmp_path, terraform_cli_config)
        assert result.ok, f"{name}/{stack.name}: {result.stdout}\n{result.stderr}"
    env_stack = json.loads((example_synths[name] / "stacks" / names[0] / "cdk.tf.json").read_text())
    if name == "separate-account":
        (provider,) = env_stack["provider"]["aws"]
        assert provider["allowed_account_ids"] == ["222222222222"]
        assert provider["assume_role"][0]["role_arn"].endswith(":role/terraform")
    if name == "multi-account":
        bootstrap = json.loads((example_synths[name] / "stacks" / "bootstrap" / "cdk.tf.json").read_text())
        (table_policy,) = bootstrap["resource"]["aws_dynamodb_resource_policy"].values()
        principals = {s["Principal"]["AWS"] for s in json.loads(table_policy["policy"])["Statement"]}
        assert principals == {f"arn:aws:iam::{a * 12}:role/terraform" for a in "234"}
        assert env_stack["terraform"]["backend"]["s3"]["assume_role"]["role_arn"] == (
            "arn:aws:iam::222222222222:role/terraform"
        )
    if name == "terraform-cloud":
        out = example_synths[name]
        for env in names:
            stack = json.loads((out / "stacks" / env / "cdk.tf.json").read_text())
            assert "backend" not in stack["terraform"]
            assert stack["terraform"]["cloud"]["workspaces"]["name"] == f"example-{env}"
            # a run holds the account's plan or apply role already: the provider assumes none
            assert "assume_role" not in stack["provider"]["aws"][0]
        bootstrap = json.loads((out / "stacks" / "bootstrap" / "cdk.tf.json").read_text())
        assert bootstrap["terraform"]["cloud"]["workspaces"]["name"] == "example-bootstrap"
        assert not {"aws_s3_bucket", "aws_dynamodb_table", "aws_kms_key"} & set(bootstrap.get("resource", {}))
        workspaces = json.loads((out / "terraform-cloud" / "workspaces.json").read_text())["workspaces"]
        assert [(w["name"], w["auto_apply"]) for w in workspaces] == [
            ("example-dev", True),
            ("example-prod", False),
        ]
    if name == "existing-certificate":
        (https,) = [lst for lst in env_stack["resource"]["aws_lb_listener"].values() if lst["port"] == 443]
        assert https["certificate_arn"].startswith("arn:aws:acm:")
        assert "aws_acm_certificate" not in env_stack["resource"]
    if name == "ec2-capacity":
        assert "aws_autoscaling_group" in env_stack["resource"]
    if name == "internal-tcp-service":
        assert "aws_lb" in env_stack["resource"]
    if name == "aurora-mysql":
        (cluster,) = env_stack["resource"]["aws_rds_cluster"].values()
        assert (cluster["engine"], cluster["manage_master_user_password"]) == ("aurora-mysql", True)
        assert cluster["enabled_cloudwatch_logs_exports"] == ["audit", "error", "slowquery"]
        assert len(env_stack["resource"]["aws_rds_cluster_instance"]) == 1
    if name == "cache-redis":
        (group,) = env_stack["resource"]["aws_elasticache_replication_group"].values()
        assert (group["engine"], group["num_cache_clusters"], group["automatic_failover_enabled"]) == (
            "redis",
            2,
            True,
        )
    if name == "buckets":
        buckets = {b["bucket"] for b in env_stack["resource"]["aws_s3_bucket"].values()}
        assert {
            f"example-dev-{n}-111111111111" for n in ("uploads", "assets", "backups", "audit-logs")
        } <= buckets
        assert len(env_stack["resource"]["aws_s3_bucket_object_lock_configuration"]) == 1
    if name == "shared-files":
        points = env_stack["resource"]["aws_efs_access_point"].values()
        assert sorted((p["posix_user"]["uid"], p["root_directory"]["path"]) for p in points) == [
            (1000, "/app"),
            (2000, "/indexer"),
        ]
    if name == "account-owner":
        assert {"aws_cloudtrail", "aws_guardduty_detector", "aws_accessanalyzer_analyzer"} <= set(
            env_stack["resource"]
        )


def test_people_roles_exempt_only_the_ci_role_from_mfa() -> None:
    access = only_environment("people-roles").config.access
    assert access.levels == ("readonly", "operator", "admin")
    assert access.mfa_exempt == ["arn:aws:iam::111111111111:role/ci-deploy"]
    assert access.admin == ["333333333333"] and access.max_session_hours == 2


def test_secrets_are_read_by_name_beside_external_ones() -> None:
    env = only_environment("secrets")
    (api,) = env.services
    assert sorted(api.secrets.values()) == [
        "parameter:feature-flags",
        "parameter:signing-key",
        "secret:database-url",
        "secret:stripe",
        "ssm:/shared/token",
    ]
    written = {e.name: e.value_version for e in (*env.config.secrets, *env.config.parameters) if e.write_only}
    assert written == {"stripe": 1, "signing-key": 2}


def test_account_owner_owns_its_account_with_every_service() -> None:
    account = only_environment("account-owner").config.account
    assert account.owner and account.cloudtrail and account.guardduty and account.access_analyzer
    assert account.insights


def test_codepipeline_delivers_every_service_but_the_external_image() -> None:
    env = only_environment("codepipeline")
    web, worker, proxy = env.services
    assert env.delivery_mode == "codepipeline" and env.delivery_connection == "create"
    assert [env.delivered(s) for s in (web, worker, proxy)] == [True, True, False]
    assert (web.build_context, worker.build_context) == ("apps/web", "services/worker")
    assert [env.deploy_owner(s) for s in (web, worker, proxy)] == ["pipeline", "pipeline", "terraform"]
