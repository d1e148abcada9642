"""modules/observability/tracing.py: the environment's sampling rule and group, the account's X-Ray
encryption, and the daemon sidecar's additions, asserted on the JSON (and validated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BASE_PROJECT, by_path, load, only, resources, synth_stack, write_config

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"

SERVICES = """
[[services]]
name = "web"
port = 8080
paths = ["/*"]
priority = 100

[[services]]
name = "api"
port = 9000
paths = ["/api/*"]
priority = 10

[[services]]
name = "batch"
port = 7000
protocol = "tcp"
tracing = "none"
"""


def environment(tmp_path: Path, extra: str, *, name: str = "dev", project: str = BASE_PROJECT):
    text = (
        f'profile = "development"\n\n[network]\ncidr = "10.10.0.0/16"\n\n[edge]\nhttp_only = true\n\n{extra}'
    )
    (env,) = load(write_config(tmp_path, {name: text}, project=project)).environments
    return env


def tracing_json(env) -> dict:
    from modules.cdk import TerraformStack, Testing
    from modules.observability.tracing import Tracing, TracingProps

    stack = TerraformStack(Testing.app(), "test")
    Tracing(stack, "tracing", TracingProps.of(env))
    return synth_stack(stack)


def test_sampling_rule_scopes_the_environment_with_the_configured_rates(tmp_path: Path) -> None:
    env = environment(
        tmp_path, f'[tracing]\nmode = "xray"\nsampling_rate = 0.2\nreservoir_per_second = 3\n{SERVICES}'
    )
    rule = by_path(tracing_json(env), "aws_xray_sampling_rule")["tracing/xray-sampling-rule"]
    assert rule == {
        "rule_name": "acme-dev",
        "priority": 1000,
        "fixed_rate": 0.2,
        "reservoir_size": 3,
        # the app names its segments <project>-<env>-<service> (AWS_XRAY_TRACING_NAME)
        "service_name": "acme-dev-*",
        "service_type": "*",
        "host": "*",
        "http_method": "*",
        "url_path": "*",
        "resource_arn": "*",
        "version": 1,
    }


def test_group_filters_the_traced_services_only(tmp_path: Path) -> None:
    env = environment(tmp_path, f'[tracing]\nmode = "xray"\n{SERVICES}')
    group = by_path(tracing_json(env), "aws_xray_group")["tracing/xray-group"]
    assert group["group_name"] == "acme-dev"
    # batch opts out; sorted by name
    assert group["filter_expression"] == 'service("acme-dev-api") OR service("acme-dev-web")'
    assert "insights_configuration" not in group


def test_a_service_may_opt_in_alone(tmp_path: Path) -> None:
    services = SERVICES.replace('name = "api"\n', 'name = "api"\ntracing = "xray"\n')
    env = environment(tmp_path, services)  # [tracing] mode stays "none"
    group = only(tracing_json(env), "aws_xray_group")
    assert group["filter_expression"] == 'service("acme-dev-api")'


def test_no_traced_service_is_refused(tmp_path: Path) -> None:
    env = environment(tmp_path, SERVICES)
    with pytest.raises(ValueError, match="no traced service"):
        tracing_json(env)


def test_names_fit_xray_limit_for_long_project_and_environment(tmp_path: Path) -> None:
    project = BASE_PROJECT.replace('name = "acme"', 'name = "acme-platform-team-x"')
    names = {}
    for env_name in ("staging-europe-west", "staging-europe-east"):
        env = environment(
            tmp_path / env_name, f'[tracing]\nmode = "xray"\n{SERVICES}', name=env_name, project=project
        )
        stack = tracing_json(env)
        rule = only(stack, "aws_xray_sampling_rule")
        group = only(stack, "aws_xray_group")
        assert len(env.prefix) > 32
        assert len(rule["rule_name"]) <= 32 and len(group["group_name"]) <= 32
        # the service match keeps the whole prefix: it is no name and has no such limit
        assert rule["service_name"] == f"{env.prefix}-*"
        names[env_name] = rule["rule_name"]
    assert len(set(names.values())) == 2, names  # same head, told apart by the hash


def test_encryption_only_from_the_account_owner(tmp_path: Path) -> None:
    from modules.cdk import TerraformStack, Testing
    from modules.observability.tracing import XrayEncryption, XrayEncryptionProps

    owner = environment(tmp_path / "owner", "[account]\nowner = true\n")
    other = environment(tmp_path / "other", "")
    with pytest.raises(ValueError, match="owner"):
        XrayEncryptionProps.of(other, KEY)
    stack = TerraformStack(Testing.app(), "test")
    XrayEncryption(stack, "xray-encryption", XrayEncryptionProps.of(owner, KEY))
    config = by_path(synth_stack(stack), "aws_xray_encryption_config")
    assert config == {"xray-encryption/xray-encryption-config": {"type": "KMS", "key_id": KEY}}


def test_daemon_additions() -> None:
    from modules.observability.tracing import xray_additions

    hooks = xray_additions(
        image="public.ecr.aws/xray/aws-xray-daemon:3.3.14", region="eu-west-1", segment_name="a-b-c"
    )
    (daemon,) = hooks.sidecars
    assert (daemon.name, daemon.readonly_root_filesystem, daemon.log_stream_prefix) == (
        "xray-daemon",
        True,
        "xray",
    )
    assert hooks.environment == {
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_TRACING_NAME": "a-b-c",
    }
    (statement,) = hooks.task_statements
    # X-Ray's write actions have no resource-level permissions: "*" is the only resource
    assert statement["Resource"] == "*" and "Condition" not in statement
    assert sorted(statement["Action"]) == [
        "xray:GetSamplingRules",
        "xray:GetSamplingStatisticSummaries",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    assert not hooks.secrets and not hooks.execution_secret_arns


@pytest.mark.validate
def test_tracing_and_encryption_validate(tmp_path: Path, terraform_cli_config: Path) -> None:
    """The rule, the group and the encryption setting with the real provider's schema."""
    from modules.cdk import TerraformStack, Testing
    from modules.core.terraform_cli import validate_stack
    from modules.observability.tracing import Tracing, TracingProps, XrayEncryption, XrayEncryptionProps

    env = environment(tmp_path / "config", f'[account]\nowner = true\n\n[tracing]\nmode = "xray"\n{SERVICES}')
    stack = TerraformStack(Testing.app(), "test")
    Tracing(stack, "tracing", TracingProps.of(env))
    XrayEncryption(stack, "xray-encryption", XrayEncryptionProps.of(env, KEY))
    synthesized = synth_stack(stack)
    assert {kind for kind in synthesized["resource"]} == {
        "aws_xray_sampling_rule",
        "aws_xray_group",
        "aws_xray_encryption_config",
    }
    stack_dir = tmp_path / "stacks" / "tracing"
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text(json.dumps(dict(synthesized)))
    result = validate_stack(stack_dir, tmp_path / "scratch", terraform_cli_config)
    assert result.ok, f"{result.stdout}\n{result.stderr}"
    assert resources(synthesized, "aws_xray_group")
