"""modules/notifications/discord/notifier.py: the notifier's function, role, log group, queue and subscriptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import by_path, env_toml, load, name_at, only, ref, resources, synth_stack, write_config

KEY = "arn:aws:kms:eu-west-1:111111111111:key/env"
ALERTS = "arn:aws:sns:eu-west-1:111111111111:acme-qa-alerts"
DEPLOYMENTS = "arn:aws:sns:eu-west-1:111111111111:acme-qa-deployments"
CONFIG = """
[notifications]
discord_webhook_secret = "secret:discord"
log_retention_days = 90

[[secrets]]
name = "discord"
description = "Discord webhook URL"

[[secrets]]
name = "other"
description = "Not the notifier's"
"""


def qa_env(tmp_path: Path, text: str = CONFIG):
    (env,) = load(write_config(tmp_path, {"qa": env_toml("10.40.0.0/16") + text})).environments
    return env


@pytest.fixture(scope="module")
def notifier(tmp_path_factory: pytest.TempPathFactory):
    """(stack JSON, package) of a notifier wired to real Secrets of its environment."""
    from modules.cdk import TerraformStack, Testing
    from modules.notifications.discord.notifier import DiscordNotifier, DiscordNotifierProps
    from modules.notifications.discord.package import build_package
    from modules.security.secrets import Secrets, SecretsProps

    env = qa_env(tmp_path_factory.mktemp("notifier"))
    stack = TerraformStack(Testing.app(), "test")
    secrets = Secrets(stack, "secrets", SecretsProps.of(env, KEY))
    package = build_package()
    props = DiscordNotifierProps.of(
        env,
        package=package,
        secret_arns=secrets.secret_arns,
        kms_key_arn=KEY,
        alerts_topic_arn=ALERTS,
        deployments_topic_arn=DEPLOYMENTS,
    )
    DiscordNotifier(stack, "discord", props)
    return synth_stack(stack), package


def test_the_function_runs_the_packaged_zip_outside_the_vpc(notifier) -> None:
    stack, package = notifier
    function = only(stack, "aws_lambda_function")
    assert {k: function[k] for k in ("function_name", "runtime", "handler", "architectures")} == {
        "function_name": "acme-qa-discord-notifier",
        "runtime": "python3.12",
        "handler": "notifier.handler",
        "architectures": ["arm64"],
    }
    assert (function["memory_size"], function["timeout"], function["reserved_concurrent_executions"]) == (
        128,
        30,
        2,
    )
    # the zip beside cdk.tf.json, by relative name, and its hash: never a TerraformAsset path
    assert (function["filename"], function["source_code_hash"]) == (
        "discord-notifier.zip",
        package.source_code_hash,
    )
    assert "/" not in function["filename"] and "asset" not in json.dumps(function).lower()
    assert "vpc_config" not in function
    assert function["tracing_config"] == {"mode": "PassThrough"}
    assert function["role"] == ref(stack, "aws_iam_role", "discord/role", "arn")


def test_its_environment_names_the_secret_by_arn_encrypted_with_the_environment_key(notifier) -> None:
    stack, _ = notifier
    function = only(stack, "aws_lambda_function")
    assert function["environment"] == {
        "variables": {
            "WEBHOOK_SECRET_ARN": ref(stack, "aws_secretsmanager_secret", "secrets/discord", "arn"),
            "ENVIRONMENT": "qa",
            "PROJECT": "acme",
        }
    }
    assert function["kms_key_arn"] == KEY


def test_its_log_group_exists_first_with_retention_and_the_key(notifier) -> None:
    stack, _ = notifier
    group = only(stack, "aws_cloudwatch_log_group")
    assert group == {
        "name": "/aws/lambda/acme-qa-discord-notifier",
        "retention_in_days": 90,
        "kms_key_id": KEY,
    }
    assert sorted(only(stack, "aws_lambda_function")["depends_on"]) == [
        f"aws_cloudwatch_log_group.{name_at(stack, 'aws_cloudwatch_log_group', 'discord/log-group')}",
        f"aws_iam_role_policy.{name_at(stack, 'aws_iam_role_policy', 'discord/role-policy')}",
    ]


def test_the_role_is_lambdas_for_this_account_and_allows_exactly_its_secret_logs_and_queue(notifier) -> None:
    stack, _ = notifier
    role = only(stack, "aws_iam_role")
    assert role["name"] == "acme-qa-discord-notifier"
    assert json.loads(role["assume_role_policy"])["Statement"] == [
        {
            "Sid": "LambdaAssumesRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}},
        }
    ]
    policy = only(stack, "aws_iam_role_policy")
    assert policy["role"] == ref(stack, "aws_iam_role", "discord/role", "id")
    log_group = ref(stack, "aws_cloudwatch_log_group", "discord/log-group", "arn")
    grants = {
        s["Sid"]: (s["Effect"], s["Action"], s["Resource"], s.get("Condition"))
        for s in json.loads(policy["policy"])["Statement"]
    }
    assert grants == {
        "ReadWebhookSecret": (
            "Allow",
            "secretsmanager:GetSecretValue",
            ref(stack, "aws_secretsmanager_secret", "secrets/discord", "arn"),
            None,
        ),
        "DecryptWebhookSecret": (
            "Allow",
            "kms:Decrypt",
            KEY,
            {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
        ),
        "WriteOwnLogs": (
            "Allow",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [log_group, f"{log_group}:*"],
            None,
        ),
        "SendFailuresToQueue": (
            "Allow",
            "sqs:SendMessage",
            ref(stack, "aws_sqs_queue", "discord/dead-letter-queue", "arn"),
            None,
        ),
    }
    assert "other" not in policy["policy"]


def test_failed_invocations_land_in_an_encrypted_dead_letter_queue(notifier) -> None:
    stack, _ = notifier
    queue = only(stack, "aws_sqs_queue")
    assert queue == {
        "name": "acme-qa-discord-notifier-dlq",
        "sqs_managed_sse_enabled": True,
        "message_retention_seconds": 14 * 24 * 3600,
    }
    invoke = only(stack, "aws_lambda_function_event_invoke_config")
    assert invoke == {
        "function_name": ref(stack, "aws_lambda_function", "discord/function", "function_name"),
        "maximum_retry_attempts": 2,
        "maximum_event_age_in_seconds": 3600,
        "destination_config": {
            "on_failure": {"destination": ref(stack, "aws_sqs_queue", "discord/dead-letter-queue", "arn")}
        },
    }


def test_each_topic_subscribes_the_function_and_may_invoke_it(notifier) -> None:
    stack, _ = notifier
    function_name = ref(stack, "aws_lambda_function", "discord/function", "function_name")
    permissions = by_path(stack, "aws_lambda_permission")
    assert {path: (p["source_arn"], p["principal"], p["action"]) for path, p in permissions.items()} == {
        "discord/alerts-invoke-permission": (ALERTS, "sns.amazonaws.com", "lambda:InvokeFunction"),
        "discord/deployments-invoke-permission": (DEPLOYMENTS, "sns.amazonaws.com", "lambda:InvokeFunction"),
    }
    assert all(p["function_name"] == function_name for p in permissions.values())
    assert len({p["statement_id"] for p in permissions.values()}) == 2
    subscriptions = by_path(stack, "aws_sns_topic_subscription")
    function_arn = ref(stack, "aws_lambda_function", "discord/function", "arn")
    for purpose, topic in (("alerts", ALERTS), ("deployments", DEPLOYMENTS)):
        subscription = subscriptions[f"discord/{purpose}-subscription"]
        assert (subscription["topic_arn"], subscription["protocol"], subscription["endpoint"]) == (
            topic,
            "lambda",
            function_arn,
        )
        permission = name_at(stack, "aws_lambda_permission", f"discord/{purpose}-invoke-permission")
        assert subscription["depends_on"] == [f"aws_lambda_permission.{permission}"]
    assert len(subscriptions) == 2


def test_no_notifier_props_without_a_webhook_secret(tmp_path: Path) -> None:
    from modules.notifications.discord.notifier import DiscordNotifierProps
    from modules.notifications.discord.package import NotifierPackage

    env = qa_env(tmp_path, "")
    with pytest.raises(ValueError, match="discord_webhook_secret"):
        DiscordNotifierProps.of(
            env,
            package=NotifierPackage("discord-notifier.zip", b"", "stand-in"),
            secret_arns={},
            kms_key_arn=KEY,
            alerts_topic_arn=ALERTS,
            deployments_topic_arn=DEPLOYMENTS,
        )


def test_a_stand_in_package_is_referenced_as_given(tmp_path: Path) -> None:
    from modules.cdk import TerraformStack, Testing
    from modules.notifications.discord.notifier import DiscordNotifier, DiscordNotifierProps
    from modules.notifications.discord.package import NotifierPackage

    stack = TerraformStack(Testing.app(), "test")
    props = DiscordNotifierProps.of(
        qa_env(tmp_path),
        package=NotifierPackage("other.zip", b"PK", "c3RhbmQtaW4="),
        secret_arns={
            "discord": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme/qa/discord-AbCdEf"
        },
        kms_key_arn=KEY,
        alerts_topic_arn=ALERTS,
        deployments_topic_arn=DEPLOYMENTS,
    )
    DiscordNotifier(stack, "discord", props)
    synthesized = synth_stack(stack)
    function = only(synthesized, "aws_lambda_function")
    assert (function["filename"], function["source_code_hash"]) == ("other.zip", "c3RhbmQtaW4=")
    assert function["environment"]["variables"]["WEBHOOK_SECRET_ARN"].endswith(
        ":secret:acme/qa/discord-AbCdEf"
    )
    assert resources(synthesized, "aws_secretsmanager_secret") == {}
