"""modules/security/terraform_cloud.py, through the bootstrap stack: one OIDC provider per account
with cloud environments, a plan and an apply role per cloud environment trusting exactly its
workspace's run phase, the other accounts reached through aliased providers."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import env_toml, resources, synth_stack, write_config

PROJECT = """\
name = "acme"
region = "eu-west-1"
account_id = "111111111111"
backend = "cloud"

[cloud]
organization = "acme-corp"
project = "Platform"
"""
OTHER = "222222222222"
PROD_ROLE = f"arn:aws:iam::{OTHER}:role/terraform"


def in_account(account: str, role: str, cidr: str, profile: str = "development") -> str:
    return f'account_id = "{account}"\nassume_role_arn = "{role}"\n' + env_toml(cidr, profile)


# dev and stg (its own workspace name) in the project's account; prod and prod-eu in another, each
# naming a role there; qa keeps S3 state.
ENVIRONMENTS = {
    "dev": env_toml("10.10.0.0/16"),
    "stg": 'workspace = "acme-staging"\n' + env_toml("10.20.0.0/16"),
    "prod": in_account(OTHER, PROD_ROLE, "10.30.0.0/16", "production"),
    "prod-eu": in_account(OTHER, f"arn:aws:iam::{OTHER}:role/other", "10.40.0.0/16", "production"),
    "qa": 'backend = "s3"\n' + env_toml("10.50.0.0/16"),
}


def bootstrap(tmp_path: Path, environments: dict[str, str] | None = None, only: tuple[str, ...] = ()):
    from modules.cdk import Testing
    from modules.config import load_platform
    from modules.stacks.bootstrap import BootstrapStack

    directory = write_config(tmp_path / "config", environments or ENVIRONMENTS, project=PROJECT)
    platform = load_platform(directory, only)
    return platform, synth_stack(BootstrapStack(Testing.app(), platform))


def roles_by_name(stack: dict) -> dict[str, dict]:
    return {role["name"]: role for role in resources(stack, "aws_iam_role").values()}


def test_each_role_trusts_exactly_its_workspaces_run_phase(tmp_path: Path) -> None:
    from modules.config.cloud import TFC_AUDIENCE, run_phase_subject, run_role_name

    platform, stack = bootstrap(tmp_path)
    roles = roles_by_name(stack)
    providers = resources(stack, "aws_iam_openid_connect_provider")
    cloud_envs = [env for env in platform.all_environments if env.backend == "cloud"]
    assert {env.name for env in cloud_envs} == {"dev", "stg", "prod", "prod-eu"}
    assert len(roles) == 2 * len(cloud_envs)
    for env in cloud_envs:
        (provider_name,) = [
            name for name in providers if name == f"terraform_cloud_{env.account_id}_oidc_provider"
        ]
        for phase in ("plan", "apply"):
            trust = json.loads(roles[run_role_name("acme", env.name, phase)]["assume_role_policy"])
            assert trust == {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": f"TerraformCloud{phase.capitalize()}Runs",
                        "Effect": "Allow",
                        "Principal": {
                            "Federated": f"${{aws_iam_openid_connect_provider.{provider_name}.arn}}"
                        },
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                "app.terraform.io:aud": TFC_AUDIENCE,
                                "app.terraform.io:sub": run_phase_subject(
                                    platform.project.cloud, env.workspace, phase
                                ),
                            }
                        },
                    }
                ],
            }
    # the subject spelled out once, independently of run_phase_subject
    stg_apply = json.loads(roles["acme-stg-tfc-apply"]["assume_role_policy"])["Statement"][0]
    assert stg_apply["Condition"]["StringEquals"]["app.terraform.io:sub"] == (
        "organization:acme-corp:project:Platform:workspace:acme-staging:run_phase:apply"
    )
    assert "*" not in json.dumps([json.loads(r["assume_role_policy"])["Statement"] for r in roles.values()])


def test_one_oidc_provider_per_account_for_the_host_and_audience(tmp_path: Path) -> None:
    _, stack = bootstrap(tmp_path)
    providers = resources(stack, "aws_iam_openid_connect_provider")
    assert sorted(providers) == [
        "terraform_cloud_111111111111_oidc_provider",
        f"terraform_cloud_{OTHER}_oidc_provider",
    ]
    for provider in providers.values():
        assert provider["url"] == "https://app.terraform.io"
        assert provider["client_id_list"] == ["aws.workload.identity"]
        assert "thumbprint_list" not in provider  # IAM verifies the host's certificate itself


def test_other_accounts_are_reached_through_an_aliased_provider_assuming_their_role(tmp_path: Path) -> None:
    _, stack = bootstrap(tmp_path)
    default, aliased = stack["provider"]["aws"]
    assert "alias" not in default and "assume_role" not in default
    assert default["allowed_account_ids"] == ["111111111111"]
    assert aliased["alias"] == f"account_{OTHER}"
    assert aliased["allowed_account_ids"] == [OTHER]
    # the first cloud environment of the account by name: prod, not prod-eu
    assert aliased["assume_role"] == [{"role_arn": PROD_ROLE, "session_name": "acme-bootstrap"}]
    assert aliased["default_tags"] == default["default_tags"]
    for resource_type in (
        "aws_iam_openid_connect_provider",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
    ):
        for name, resource in resources(stack, resource_type).items():
            expected = f"aws.account_{OTHER}" if name.startswith(f"terraform_cloud_{OTHER}_") else None
            assert resource.get("provider") == expected, f"{resource_type}.{name}"


def test_names_sessions_and_permissions_by_phase(tmp_path: Path) -> None:
    _, stack = bootstrap(tmp_path)
    roles = roles_by_name(stack)
    assert sorted(roles) == sorted(
        f"acme-{env}-tfc-{phase}" for env in ("dev", "stg", "prod", "prod-eu") for phase in ("plan", "apply")
    )
    assert {role["max_session_duration"] for role in roles.values()} == {3600}
    attached = {
        a["role"]: a["policy_arn"] for a in resources(stack, "aws_iam_role_policy_attachment").values()
    }
    by_role = {
        f"${{aws_iam_role.{name}.name}}": role["name"]
        for name, role in resources(stack, "aws_iam_role").items()
    }
    managed = {by_role[role]: arn for role, arn in attached.items()}
    assert managed == {
        name: "arn:aws:iam::aws:policy/"
        + ("ReadOnlyAccess" if name.endswith("plan") else "AdministratorAccess")
        for name in roles
    }
    # only plan roles carry an inline policy
    inline = {p["name"] for p in resources(stack, "aws_iam_role_policy").values()}
    assert inline == {f"{name}-refresh" for name in roles if name.endswith("-plan")}


def test_a_plan_refreshes_only_its_own_secrets_and_reads_no_data(tmp_path: Path) -> None:
    from modules.security.secrets import SecretsProps

    platform, stack = bootstrap(tmp_path)
    policies = {p["name"]: json.loads(p["policy"]) for p in resources(stack, "aws_iam_role_policy").values()}
    statements = {s["Sid"]: s for s in policies["acme-prod-eu-tfc-plan-refresh"]["Statement"]}
    prefix = SecretsProps.of(platform.environment("prod-eu"), "key").secret_prefix
    assert statements["RefreshEnvironmentSecrets"]["Action"] == "secretsmanager:GetSecretValue"
    assert statements["RefreshEnvironmentSecrets"]["Resource"] == (
        f"arn:aws:secretsmanager:eu-west-1:{OTHER}:secret:{prefix}/*"
    )
    decrypt = statements["DecryptEnvironmentSecrets"]
    assert (
        decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == f"arn:aws:kms:eu-west-1:{OTHER}:key/*"
    )
    assert decrypt["Condition"]["StringEquals"]["aws:ResourceTag/Environment"] == "prod-eu"
    assert decrypt["Condition"]["StringEquals"]["kms:ViaService"] == [
        "secretsmanager.eu-west-1.amazonaws.com",
        "ssm.eu-west-1.amazonaws.com",
    ]
    deny = statements["DenyDataReads"]
    assert deny["Effect"] == "Deny" and deny["Resource"] == "*"
    assert {"s3:GetObject", "dynamodb:GetItem", "dynamodb:Scan", "logs:GetLogEvents"} <= set(deny["Action"])


def test_outputs_name_every_role_and_provider(tmp_path: Path) -> None:
    _, stack = bootstrap(tmp_path)
    roles = stack["output"]["terraform_cloud_role_arns"]["value"]
    assert sorted(roles) == ["dev", "prod", "prod-eu", "stg"]
    assert roles["prod"] == {
        "plan": f"${{aws_iam_role.terraform_cloud_{OTHER}_prod_plan_role.arn}}",
        "apply": f"${{aws_iam_role.terraform_cloud_{OTHER}_prod_apply_role.arn}}",
    }
    assert sorted(stack["output"]["terraform_cloud_oidc_provider_arns"]["value"]) == ["111111111111", OTHER]


def test_a_partial_synth_writes_the_same_trust(tmp_path: Path) -> None:
    _, full = bootstrap(tmp_path / "full")
    _, partial = bootstrap(tmp_path / "partial", only=("qa",))
    assert json.dumps(dict(partial), sort_keys=True) == json.dumps(dict(full), sort_keys=True)


def test_addresses_come_from_accounts_and_names_not_positions(tmp_path: Path) -> None:
    _, before = bootstrap(tmp_path / "before")
    with_more = {"aaa": env_toml("10.60.0.0/16"), **ENVIRONMENTS}
    _, after = bootstrap(tmp_path / "after", with_more)
    for resource_type in (
        "aws_iam_role",
        "aws_iam_openid_connect_provider",
        "aws_iam_role_policy_attachment",
    ):
        assert set(resources(before, resource_type)) <= set(resources(after, resource_type))
        for name, resource in resources(before, resource_type).items():
            assert resources(after, resource_type)[name] == resource
    assert len(resources(after, "aws_iam_role")) == len(resources(before, "aws_iam_role")) + 2


def test_nothing_without_a_cloud_environment(tmp_path: Path) -> None:
    s3_only = {"dev": 'backend = "s3"\n' + env_toml()}
    _, stack = bootstrap(tmp_path, s3_only)
    assert not {t for t in stack["resource"] if t.startswith("aws_iam")}
    assert len(stack["provider"]["aws"]) == 1
    assert not [name for name in stack.get("output", {}) if name.startswith("terraform_cloud")]
