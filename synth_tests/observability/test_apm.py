"""modules/observability/apm.py: what Datadog, New Relic and Sentry add to a service's task, as data.

The rendered task definitions (sidecars in the JSON, the roles) are asserted in
synth_tests/compute/service/test_sidecars.py."""

from __future__ import annotations

import pytest

from modules.config.observability import ApmConfig
from modules.observability.apm import (
    DATADOG_AGENT_IMAGE,
    NEWRELIC_INFRASTRUCTURE_IMAGE,
    apm_additions,
    image_version,
)

SECRET_ARN = "${aws_secretsmanager_secret.secrets_apm.arn}"


def additions(**config):
    apm = ApmConfig.model_validate({"key_secret": "secret:apm", **config})
    return apm_additions(
        apm, project="acme", environment="dev", service="api", version="1.4.2", secret_arn=SECRET_ARN
    )


@pytest.mark.parametrize(
    ("image", "tag", "expected"),
    [
        (None, "2024-06-01.3", "2024-06-01.3"),  # the ECR tag deployed
        ("public.ecr.aws/nginx/nginx:1.27", "initial", "1.27"),
        ("registry.example.com:5000/team/app:v3", "initial", "v3"),  # the port is no tag
        ("registry.example.com:5000/team/app", "initial", "unknown"),
        ("nginx@sha256:" + "a" * 64, "initial", "sha256:" + "a" * 64),
        ("nginx", "initial", "unknown"),  # floats: no release can be named (Sentry refuses "latest")
    ],
)
def test_image_version(image: str | None, tag: str, expected: str) -> None:
    assert image_version(image, tag) == expected


def test_datadog_agent_sidecar_and_unified_service_tagging() -> None:
    hooks = additions(provider="datadog", datadog_site="datadoghq.eu")
    (agent,) = hooks.sidecars
    assert (agent.name, agent.image) == ("datadog-agent", DATADOG_AGENT_IMAGE)
    # a pinned full version, never a floating major
    assert DATADOG_AGENT_IMAGE.rsplit(":", 1)[1].count(".") == 2
    assert agent.environment["DD_SITE"] == "datadoghq.eu"
    assert agent.environment["ECS_FARGATE"] == "true" and agent.environment["DD_APM_ENABLED"] == "true"
    # loopback only: nothing outside the task may send traces or metrics to the agent
    assert agent.environment["DD_APM_NON_LOCAL_TRAFFIC"] == "false"
    assert agent.environment["DD_DOGSTATSD_NON_LOCAL_TRAFFIC"] == "false"
    assert agent.secrets == {"DD_API_KEY": SECRET_ARN} and "DD_API_KEY" not in agent.environment
    assert agent.log_stream_prefix == "datadog-agent" and agent.memory_reservation > 0
    tags = {"env": "dev", "service": "api", "version": "1.4.2"}
    assert hooks.environment == {"DD_ENV": "dev", "DD_SERVICE": "api", "DD_VERSION": "1.4.2"}
    labels = {f"com.datadoghq.tags.{k}": v for k, v in tags.items()}
    assert hooks.docker_labels == labels and agent.docker_labels == labels
    assert hooks.execution_secret_arns == (SECRET_ARN,) and not hooks.task_statements


def test_datadog_agent_image_may_be_replaced() -> None:
    (agent,) = additions(provider="datadog", agent_image="registry.example.com/datadog/agent:7.60.0").sidecars
    assert agent.image == "registry.example.com/datadog/agent:7.60.0"


def test_newrelic_app_variables_without_infrastructure_agent() -> None:
    hooks = additions(provider="newrelic")
    assert hooks.sidecars == ()
    assert hooks.environment == {
        "NEW_RELIC_APP_NAME": "acme-dev-api",
        "NEW_RELIC_LABELS": "Environment:dev;Service:api",
    }
    assert hooks.secrets == {"NEW_RELIC_LICENSE_KEY": SECRET_ARN}
    assert hooks.execution_secret_arns == (SECRET_ARN,)


def test_newrelic_infrastructure_agent_sidecar() -> None:
    hooks = additions(provider="newrelic", newrelic_infrastructure=True)
    (infrastructure,) = hooks.sidecars
    assert (infrastructure.name, infrastructure.image) == ("newrelic-infra", NEWRELIC_INFRASTRUCTURE_IMAGE)
    assert infrastructure.secrets == {"NRIA_LICENSE_KEY": SECRET_ARN}
    assert infrastructure.environment["FARGATE"] == "true"
    # ECS drops empty values (a task definition that re-plans forever): none is ever empty
    assert all(value for value in infrastructure.environment.values())
    assert infrastructure.log_stream_prefix == "newrelic-infra"


def test_sentry_dsn_environment_and_release() -> None:
    hooks = additions(provider="sentry")
    assert hooks.sidecars == ()
    assert hooks.secrets == {"SENTRY_DSN": SECRET_ARN}
    assert hooks.environment == {"SENTRY_ENVIRONMENT": "dev", "SENTRY_RELEASE": "1.4.2"}


@pytest.mark.parametrize("provider", ["datadog", "newrelic", "sentry"])
def test_the_key_reaches_containers_by_arn_only(provider: str) -> None:
    hooks = additions(provider=provider, newrelic_infrastructure=provider == "newrelic")
    plain = [hooks.environment, *(s.environment for s in hooks.sidecars)]
    by_reference = [hooks.secrets, *(s.secrets for s in hooks.sidecars)]
    assert SECRET_ARN not in {v for variables in plain for v in variables.values()}
    references = {v for variables in by_reference for v in variables.values()}
    assert references == {SECRET_ARN}
