"""modules/compute/service/: the sidecars and grants that tracing (`[tracing]`) and an APM (`[apm]`)
add to a service's task, rendered into the task definition and its roles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import by_path, load, ref, synth_stack, write_config

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
SUBNETS = ["subnet-a", "subnet-b"]

WEB = """
[[services]]
name = "web"
port = 8080
paths = ["/*"]
priority = 100
environment = { LOG_LEVEL = "info" }
"""
WORKER = """
[[services]]
name = "worker"
image = "public.ecr.aws/acme/worker:2.1"
port = 9000
protocol = "tcp"
tracing = "none"
apm = false
"""
SECRETS = """
[[secrets]]
name = "apm-key"
description = "The APM provider's key; set out of band"

[[secrets]]
name = "other"
description = "A secret no service references"
"""
KEY_VARIABLES = ("DD_API_KEY", "NEW_RELIC_LICENSE_KEY", "NRIA_LICENSE_KEY", "SENTRY_DSN")


def stack_of(tmp_path: Path, body: str) -> dict:
    """The repositories, cluster, declared secrets and one Service per [[services]] of a dev env."""
    from modules.cdk import TerraformStack, Testing
    from modules.compute import Cluster, ClusterProps, Repositories, RepositoriesProps, Service, ServiceProps
    from modules.data.grant import StoreGrant
    from modules.security import Secrets, SecretsProps

    text = (
        f'profile = "development"\n\n[network]\ncidr = "10.10.0.0/16"\n\n[edge]\nhttp_only = true\n\n{body}'
    )
    (env,) = load(write_config(tmp_path, {"dev": text})).environments
    stack = TerraformStack(Testing.app(), "test")
    repositories = Repositories(stack, "repositories", RepositoriesProps.of(env, KEY))
    cluster = Cluster(stack, "cluster", ClusterProps.of(env, KEY, "vpc-1", SUBNETS))
    secrets = Secrets(stack, "secrets", SecretsProps.of(env, KEY))
    for service in env.services:
        Service(
            stack,
            service.name,
            ServiceProps.of(
                env,
                service,
                cluster=cluster,
                repositories=repositories,
                kms_key_arn=KEY,
                subnet_ids=SUBNETS,
                vpc_id="vpc-1",
                target_group_arn=None,
                request_count_resource_label=None,
                depends_on=(),
                secret_arns=secrets.secret_arns,
                parameter_arns=secrets.parameter_arns,
                grant=StoreGrant(),
            ),
        )
    return synth_stack(stack)


def containers(stack: dict, service: str) -> dict[str, dict]:
    definition = by_path(stack, "aws_ecs_task_definition")[f"{service}/task-definition"]
    return {c["name"]: c for c in json.loads(definition["container_definitions"])}


def variables(container: dict, kind: str = "environment") -> dict[str, str]:
    field = "value" if kind == "environment" else "valueFrom"
    return {v["name"]: v[field] for v in container.get(kind, [])}


def task_policies(stack: dict, service: str) -> dict[str, list[dict]]:
    return {
        path.split("/", 1)[1]: json.loads(policy["policy"])["Statement"]
        for path, policy in by_path(stack, "aws_iam_role_policy").items()
        if path.startswith(f"{service}/task-role")
    }


def execution_statements(stack: dict, service: str) -> dict[str, dict]:
    policy = by_path(stack, "aws_iam_role_policy")[f"{service}/execution-role-policy"]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


TRACED_DATADOG = f"""
[tracing]
mode = "xray"

[apm]
provider = "datadog"
key_secret = "secret:apm-key"
{WEB}{WORKER}{SECRETS}"""


@pytest.fixture
def traced_datadog(tmp_path: Path) -> dict:
    return stack_of(tmp_path, TRACED_DATADOG)


def test_traced_datadog_service_runs_both_sidecars(traced_datadog: dict) -> None:
    found = containers(traced_datadog, "web")
    assert list(found) == ["web", "xray-daemon", "datadog-agent"]
    app, daemon, agent = found.values()
    assert app["essential"] is True and daemon["essential"] is False and agent["essential"] is False
    # the app reaches both over the task's localhost: no sidecar maps a port
    assert "portMappings" not in daemon and "portMappings" not in agent
    group = app["logConfiguration"]["options"]["awslogs-group"]
    for container, prefix in ((daemon, "xray"), (agent, "datadog-agent")):
        options = container["logConfiguration"]["options"]
        assert (options["awslogs-group"], options["awslogs-stream-prefix"]) == (group, prefix)
        assert container["memoryReservation"] > 0 and container["cpu"] > 0
    assert daemon["readonlyRootFilesystem"] is True
    assert daemon["image"] == "public.ecr.aws/xray/aws-xray-daemon:3.3.14"
    # what the sidecars reserve leaves the app most of the smallest task (512 MiB, 256 units)
    assert daemon["memoryReservation"] + agent["memoryReservation"] <= 512 // 2 + 64
    assert daemon["cpu"] + agent["cpu"] < 256 // 2
    app_environment = variables(app)
    assert app_environment["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2000"
    assert app_environment["AWS_XRAY_TRACING_NAME"] == "acme-dev-web"
    assert {k: app_environment[k] for k in ("DD_ENV", "DD_SERVICE", "DD_VERSION")} == {
        "DD_ENV": "dev",
        "DD_SERVICE": "web",
        "DD_VERSION": "initial",
    }
    assert app_environment["LOG_LEVEL"] == "info"  # the service's own stay
    assert (
        app["dockerLabels"]
        == agent["dockerLabels"]
        == {
            "com.datadoghq.tags.env": "dev",
            "com.datadoghq.tags.service": "web",
            "com.datadoghq.tags.version": "initial",
        }
    )


def test_opted_out_service_has_no_sidecar_and_no_xray_grant(traced_datadog: dict) -> None:
    (only_container,) = containers(traced_datadog, "worker").values()
    assert not any(name.startswith(("AWS_XRAY", "DD_")) for name in variables(only_container))
    assert "dockerLabels" not in only_container
    # ECS exec's (the development profile enables exec), nothing of X-Ray
    assert list(task_policies(traced_datadog, "worker")) == ["task-role-exec-policy"]
    assert "ReadReferencedSecrets" not in execution_statements(traced_datadog, "worker")


def test_task_role_has_exactly_the_xray_write_actions_when_traced(traced_datadog: dict) -> None:
    policies = task_policies(traced_datadog, "web")
    (statement,) = policies.pop("task-role-xray-policy")
    assert sorted(statement["Action"]) == [
        "xray:GetSamplingRules",
        "xray:GetSamplingStatisticSummaries",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    assert statement["Resource"] == "*"
    # no other task role policy carries an X-Ray action
    assert not [
        s for statements in policies.values() for s in statements if "xray" in json.dumps(s["Action"])
    ]


def test_execution_role_reads_the_apm_key(traced_datadog: dict) -> None:
    arn = ref(traced_datadog, "aws_secretsmanager_secret", "secrets/apm-key", "arn")
    statements = execution_statements(traced_datadog, "web")
    assert statements["ReadReferencedSecrets"]["Resource"] == [arn]  # that one secret, not "other"
    decrypt = statements["DecryptReferencedSecrets"]
    assert decrypt["Resource"] == KEY
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": ["secretsmanager.eu-west-1.amazonaws.com"]}
    }


def provider_stack(tmp_path: Path, apm: str) -> dict:
    return stack_of(tmp_path, f'[apm]\nkey_secret = "secret:apm-key"\n{apm}\n{WEB}{WORKER}{SECRETS}')


@pytest.mark.parametrize(
    ("apm", "sidecars", "key_variables"),
    [
        ('provider = "datadog"', ["datadog-agent"], {"datadog-agent": "DD_API_KEY"}),
        ('provider = "newrelic"', [], {"web": "NEW_RELIC_LICENSE_KEY"}),
        (
            'provider = "newrelic"\nnewrelic_infrastructure = true',
            ["newrelic-infra"],
            {"web": "NEW_RELIC_LICENSE_KEY", "newrelic-infra": "NRIA_LICENSE_KEY"},
        ),
        ('provider = "sentry"', [], {"web": "SENTRY_DSN"}),
    ],
)
def test_each_provider_adds_its_sidecars_and_its_key_by_arn_only(
    tmp_path: Path, apm: str, sidecars: list[str], key_variables: dict[str, str]
) -> None:
    stack = provider_stack(tmp_path, apm)
    found = containers(stack, "web")
    assert list(found) == ["web", *sidecars]  # untraced: no X-Ray daemon
    arn = ref(stack, "aws_secretsmanager_secret", "secrets/apm-key", "arn")
    for name, container in found.items():
        secrets = variables(container, "secrets")
        expected = {key_variables[name]: arn} if name in key_variables else {}
        assert secrets == expected
        # a key is never a plain variable, on any container
        assert not set(KEY_VARIABLES) & set(variables(container))
    for sidecar in sidecars:
        assert found[sidecar]["essential"] is False and "portMappings" not in found[sidecar]
    assert list(task_policies(stack, "web")) == ["task-role-exec-policy"]  # no APM calls AWS
    assert execution_statements(stack, "web")["ReadReferencedSecrets"]["Resource"] == [arn]
    assert list(containers(stack, "worker")) == ["worker"]


def test_sentry_release_is_the_image_tag(tmp_path: Path) -> None:
    worker = WORKER.replace("apm = false\n", "")
    stack = stack_of(
        tmp_path, f'[apm]\nprovider = "sentry"\nkey_secret = "secret:apm-key"\n{worker}{SECRETS}'
    )
    (app,) = containers(stack, "worker").values()
    assert variables(app)["SENTRY_RELEASE"] == "2.1"
    assert variables(app)["SENTRY_ENVIRONMENT"] == "dev"


def test_a_service_variable_wins_over_the_hook_default(tmp_path: Path) -> None:
    web = WEB.replace('LOG_LEVEL = "info"', 'DD_VERSION = "from-pipeline"')
    stack = stack_of(tmp_path, f'[apm]\nprovider = "datadog"\nkey_secret = "secret:apm-key"\n{web}{SECRETS}')
    app = containers(stack, "web")["web"]
    assert variables(app)["DD_VERSION"] == "from-pipeline"
    assert [v["name"] for v in app["environment"]].count("DD_VERSION") == 1


def test_opting_every_service_out_is_the_output_without_tracing_or_apm(tmp_path: Path) -> None:
    """What tracing and APM add is all in the services that have them: opted out, a service's
    resources are byte for byte those of an environment without [tracing] and [apm]."""
    opted_out = WEB + 'tracing = "none"\napm = false\n'
    with_both = stack_of(
        tmp_path / "on",
        f'[tracing]\nmode = "xray"\n\n[apm]\nprovider = "datadog"\nkey_secret = "secret:apm-key"\n'
        f"{opted_out}{WORKER}{SECRETS}",
    )
    without = stack_of(tmp_path / "off", f"{WEB}{WORKER}{SECRETS}")
    assert dict(with_both) == dict(without)


def test_a_service_named_like_a_sidecar_is_refused(tmp_path: Path) -> None:
    # The schema refuses the name (synth_tests/config/test_config_observability.py); the task
    # definition's own check stands behind it.
    from modules.compute.service.container import check_sidecars
    from modules.config.services import ServiceConfig
    from modules.observability.sidecar import Sidecar

    service = ServiceConfig.model_construct(name="xray-daemon", memory=512, cpu=256)
    with pytest.raises(ValueError, match="container name xray-daemon is used twice"):
        check_sidecars(service, [Sidecar("xray-daemon", "img:1", 32, 64, True, "xray")])


def test_sidecars_that_leave_the_app_nothing_are_refused() -> None:
    from modules.compute.service.container import check_sidecars
    from modules.config.services import ServiceConfig
    from modules.observability.sidecar import Sidecar

    service = ServiceConfig.model_validate({"name": "web", "port": 80, "paths": ["/*"], "priority": 1})
    greedy = Sidecar("agent", "img:1", 16, 512, True, "agent")
    with pytest.raises(ValueError, match="reserve 512 of its 512 MiB"):
        check_sidecars(service, [greedy])
    check_sidecars(service, [Sidecar("agent", "img:1", 16, 256, True, "agent")])
