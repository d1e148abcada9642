"""modules/compute/service/: task definitions, roles, ECS services and autoscaling, asserted on the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import by_path, construct_paths, load, name_at, only, ref, resources, synth_stack, write_config

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
SUBNETS = ["subnet-a", "subnet-b"]
TARGET_GROUP = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/acme-dev-api/0123456789abcdef"
LABEL = "app/acme-dev/0123456789abcdef/targetgroup/acme-dev-api/0123456789abcdef"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:shared/api-key-AbCdEf"
PARAMETER_ARN = "arn:aws:ssm:eu-west-1:111111111111:parameter/shared/flag"
# What a Secrets construct would pass: the environment's own `secret:` / `parameter:` names.
DECLARED_SECRETS = {"stripe": "${aws_secretsmanager_secret.secrets_stripe.arn}"}
DECLARED_PARAMETERS = {"flag": "arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/flag"}

API = f"""
[[services]]
name = "api"
port = 8080
cpu = 512
memory = 2048
paths = ["/api/*"]
priority = 10
user = "1000:1000"
environment = {{ ZED = "last", ALPHA = "first" }}
secrets = {{ DB_URL = "ssm:/acme/db/url", TOKEN = "secretsmanager:acme/token", API_KEY = "{SECRET_ARN}", FLAG = "{PARAMETER_ARN}" }}
"""

WORKER = """
[[services]]
name = "worker"
image = "public.ecr.aws/nginx/nginx:1.27"
port = 9000
protocol = "tcp"
public = false
readonly_root_filesystem = false
"""

SCALED = """
[[services]]
name = "scaled"
port = 8080
paths = ["/scaled/*"]
priority = 20
min_count = 2
desired_count = 2
max_count = 6
autoscaling = { cpu_percent = 50, memory_percent = 0, requests_per_target = 300 }
"""


def services_json(
    tmp_path: Path,
    services: str,
    profile: str = "development",
    cluster: str = "",
    compute: str = "fargate",
    attach: tuple[str, ...] = (),
):
    """Repositories, Cluster and one Service per [[services]] entry; `attach` names the services
    given a target group and request-count label."""
    from modules.cdk import TerraformStack, Testing
    from modules.compute import Cluster, ClusterProps, Repositories, RepositoriesProps, Service, ServiceProps
    from modules.data.grant import StoreGrant

    text = (
        f'profile = "{profile}"\ncompute = "{compute}"\n\n[network]\ncidr = "10.10.0.0/16"\n\n'
        f"[edge]\nhttp_only = {'true' if profile == 'development' else 'false'}\n\n"
        f"[cluster]\n{cluster}\n{services}"
    )
    (env,) = load(write_config(tmp_path, {"dev": text})).environments
    stack = TerraformStack(Testing.app(), "test")
    repositories = Repositories(stack, "repositories", RepositoriesProps.of(env, KEY))
    ecs = Cluster(stack, "cluster", ClusterProps.of(env, KEY, "vpc-1", SUBNETS))
    built = {
        s.name: Service(
            stack,
            s.name,
            ServiceProps.of(
                env,
                s,
                cluster=ecs,
                repositories=repositories,
                kms_key_arn=KEY,
                subnet_ids=SUBNETS,
                vpc_id="vpc-1",
                target_group_arn=TARGET_GROUP if s.name in attach else None,
                request_count_resource_label=LABEL if s.name in attach else None,
                depends_on=(),
                secret_arns=DECLARED_SECRETS,
                parameter_arns=DECLARED_PARAMETERS,
                grant=StoreGrant(),
            ),
        )
        for s in env.services
    }
    return synth_stack(stack), built


def of_service(stack_json: dict, resource_type: str, service: str) -> dict[str, dict]:
    """{Terraform name: resource} of a type whose construct path is under the service's construct ID."""
    found = resources(stack_json, resource_type)
    paths = construct_paths(stack_json, resource_type)
    return {name: found[name] for name, path in paths.items() if path.startswith(f"{service}/")}


def one_of(stack_json: dict, resource_type: str, service: str, purpose: str) -> tuple[str, dict]:
    """(Terraform name, resource) of the resource at construct path "<service>/<purpose>"."""
    name = name_at(stack_json, resource_type, f"{service}/{purpose}")
    return name, resources(stack_json, resource_type)[name]


def container(stack_json: dict, service: str) -> dict:
    _, definition = one_of(stack_json, "aws_ecs_task_definition", service, "task-definition")
    (only_container,) = json.loads(definition["container_definitions"])
    return only_container


def policy_of(stack_json: dict, service: str, purpose: str) -> list[dict]:
    _, role_policy = one_of(stack_json, "aws_iam_role_policy", service, purpose)
    return json.loads(role_policy["policy"])["Statement"]


# --- task definition -------------------------------------------------------------------------


def test_task_definition_shape(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, API)
    _, definition = one_of(stack, "aws_ecs_task_definition", "api", "task-definition")
    execution_key, _ = one_of(stack, "aws_iam_role", "api", "execution-role")
    task_key, _ = one_of(stack, "aws_iam_role", "api", "task-role")
    assert definition["family"] == "acme-dev-api"
    assert definition["network_mode"] == "awsvpc"
    assert definition["requires_compatibilities"] == ["FARGATE"]
    assert (definition["cpu"], definition["memory"]) == ("512", "2048")
    assert definition["runtime_platform"] == {
        "operating_system_family": "LINUX",
        "cpu_architecture": "X86_64",
    }
    assert definition["execution_role_arn"] == f"${{aws_iam_role.{execution_key}.arn}}"
    assert definition["task_role_arn"] == f"${{aws_iam_role.{task_key}.arn}}"


def test_container_definition(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, API)
    c = container(stack, "api")
    repo_key = next(iter(resources(stack, "aws_ecr_repository")))
    group_key, group = one_of(stack, "aws_cloudwatch_log_group", "api", "log-group")
    assert group == {"name": "/acme/dev/services/api", "retention_in_days": 30, "kms_key_id": KEY}
    assert c["name"] == "api"
    assert c["image"] == f"${{aws_ecr_repository.{repo_key}.repository_url}}:initial"
    assert c["essential"] is True
    assert c["portMappings"] == [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]
    assert c["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": f"${{aws_cloudwatch_log_group.{group_key}.name}}",
            "awslogs-region": "eu-west-1",
            "awslogs-stream-prefix": "api",
        },
    }
    assert c["readonlyRootFilesystem"] is True
    assert c["user"] == "1000:1000"
    assert c["environment"] == [{"name": "ALPHA", "value": "first"}, {"name": "ZED", "value": "last"}]
    assert c["secrets"] == [
        {"name": "API_KEY", "valueFrom": SECRET_ARN},
        {"name": "DB_URL", "valueFrom": "arn:aws:ssm:eu-west-1:111111111111:parameter/acme/db/url"},
        {"name": "FLAG", "valueFrom": PARAMETER_ARN},
        {"name": "TOKEN", "valueFrom": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme/token"},
    ]
    assert c["healthCheck"] == {
        "command": ["CMD-SHELL", "wget -qO- http://localhost:8080/health > /dev/null || exit 1"],
        "interval": 30,
        "timeout": 5,
        "retries": 3,
        "startPeriod": 60,
    }


def test_container_definitions_are_deterministic_json(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, API)
    _, definition = one_of(stack, "aws_ecs_task_definition", "api", "task-definition")
    text = definition["container_definitions"]
    assert text == json.dumps(json.loads(text), sort_keys=True)


def test_external_image_tcp_service_has_no_health_check_and_no_empty_lists(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, WORKER, profile="production")
    c = container(stack, "worker")
    assert c["image"] == "public.ecr.aws/nginx/nginx:1.27"
    assert c["readonlyRootFilesystem"] is False
    for absent in ("healthCheck", "user", "environment", "secrets", "linuxParameters", "mountPoints"):
        assert absent not in c


def test_exec_adds_an_init_process_and_writable_agent_paths_on_a_readonly_root(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, API + WORKER)
    api = container(stack, "api")
    assert api["linuxParameters"] == {"initProcessEnabled": True}
    assert api["mountPoints"] == [
        {"sourceVolume": "exec-agent-state", "containerPath": "/var/lib/amazon", "readOnly": False},
        {"sourceVolume": "exec-agent-logs", "containerPath": "/var/log/amazon", "readOnly": False},
    ]
    _, definition = one_of(stack, "aws_ecs_task_definition", "api", "task-definition")
    assert definition["volume"] == [{"name": "exec-agent-state"}, {"name": "exec-agent-logs"}]
    # a writable root needs no extra volumes
    worker = container(stack, "worker")
    assert worker["linuxParameters"] == {"initProcessEnabled": True}
    assert "mountPoints" not in worker
    _, worker_definition = one_of(stack, "aws_ecs_task_definition", "worker", "task-definition")
    assert "volume" not in worker_definition


def test_ec2_compute_asks_for_ec2_compatibility(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, WORKER, compute="ec2")
    _, definition = one_of(stack, "aws_ecs_task_definition", "worker", "task-definition")
    assert definition["requires_compatibilities"] == ["EC2"]
    _, service = one_of(stack, "aws_ecs_service", "worker", "service")
    provider_key = next(iter(resources(stack, "aws_ecs_capacity_provider")))
    assert service["capacity_provider_strategy"] == [
        {"capacity_provider": f"${{aws_ecs_capacity_provider.{provider_key}.name}}", "weight": 1, "base": 0}
    ]
    assert "launch_type" not in service


# --- IAM -------------------------------------------------------------------------------------


def test_roles_trust_ecs_tasks_of_this_account_only(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, API)
    for purpose, name in (("execution-role", "acme-dev-api-execution"), ("task-role", "acme-dev-api-task")):
        _, role = one_of(stack, "aws_iam_role", "api", purpose)
        assert role["name"] == name
        (statement,) = json.loads(role["assume_role_policy"])["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_execution_role_is_scoped_to_its_repository_log_group_and_secrets(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, API)
    repo_key = next(iter(resources(stack, "aws_ecr_repository")))
    group_key, _ = one_of(stack, "aws_cloudwatch_log_group", "api", "log-group")
    group_arn = f"${{aws_cloudwatch_log_group.{group_key}.arn}}"
    statements = {s["Sid"]: s for s in policy_of(stack, "api", "execution-role-policy")}
    assert statements == {
        "EcrLogin": {
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
            "Sid": "EcrLogin",
        },
        "PullOwnRepository": {
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": f"${{aws_ecr_repository.{repo_key}.arn}}",
            "Sid": "PullOwnRepository",
        },
        "WriteOwnLogGroup": {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [group_arn, f"{group_arn}:*"],
            "Sid": "WriteOwnLogGroup",
        },
        "ReadReferencedSecrets": {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [
                "arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme/token-??????",
                SECRET_ARN,
            ],
            "Sid": "ReadReferencedSecrets",
        },
        "ReadReferencedParameters": {
            "Effect": "Allow",
            "Action": "ssm:GetParameters",
            "Resource": ["arn:aws:ssm:eu-west-1:111111111111:parameter/acme/db/url", PARAMETER_ARN],
            "Sid": "ReadReferencedParameters",
        },
        "DecryptReferencedSecrets": {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KEY,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": [
                        "secretsmanager.eu-west-1.amazonaws.com",
                        "ssm.eu-west-1.amazonaws.com",
                    ]
                }
            },
            "Sid": "DecryptReferencedSecrets",
        },
    }
    # "*" only where the API allows nothing else
    assert [s["Sid"] for s in statements.values() if "*" in json.dumps(s["Resource"]).replace(":*", "")] == [
        "EcrLogin"
    ]


def test_only_the_services_own_secrets_are_readable(tmp_path: Path) -> None:
    other = """
[[services]]
name = "other"
port = 8080
paths = ["/other/*"]
priority = 30
secrets = { ONLY = "ssm:other/param" }
"""
    stack, _ = services_json(tmp_path, API + other)
    statements = {s["Sid"]: s for s in policy_of(stack, "other", "execution-role-policy")}
    assert statements["ReadReferencedParameters"]["Resource"] == [
        "arn:aws:ssm:eu-west-1:111111111111:parameter/other/param"
    ]
    assert "ReadReferencedSecrets" not in statements
    assert statements["DecryptReferencedSecrets"]["Condition"] == {
        "StringEquals": {"kms:ViaService": ["ssm.eu-west-1.amazonaws.com"]}
    }


def test_external_image_without_secrets_gets_only_its_log_group(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, WORKER)
    (statement,) = policy_of(stack, "worker", "execution-role-policy")
    assert statement["Sid"] == "WriteOwnLogGroup"
    assert all(a.startswith("logs:") for a in statement["Action"])


def test_task_role_has_no_permissions_when_exec_is_off(tmp_path: Path) -> None:
    stack, built = services_json(tmp_path, WORKER, profile="production")
    task_key, _ = one_of(stack, "aws_iam_role", "worker", "task-role")
    task_ref = f"${{aws_iam_role.{task_key}.id}}"
    assert [p for p in resources(stack, "aws_iam_role_policy").values() if p["role"] == task_ref] == []
    assert resources(stack, "aws_iam_role_policy_attachment") == {}
    assert built["worker"].task_role_name and built["worker"].task_role_arn


def test_task_role_gets_exactly_what_ecs_exec_needs_when_enabled(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, WORKER)
    task_key, _ = one_of(stack, "aws_iam_role", "worker", "task-role")
    _, role_policy = one_of(stack, "aws_iam_role_policy", "worker", "task-role-exec-policy")
    assert role_policy["role"] == f"${{aws_iam_role.{task_key}.id}}"
    exec_group_key = name_at(stack, "aws_cloudwatch_log_group", "cluster/exec-log-group")
    exec_arn = f"${{aws_cloudwatch_log_group.{exec_group_key}.arn}}"
    statements = {s["Sid"]: s for s in json.loads(role_policy["policy"])["Statement"]}
    assert statements["ExecSessionChannels"]["Action"] == [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    ]
    assert statements["ExecSessionChannels"]["Resource"] == "*"
    assert statements["ExecAuditFindLogGroup"] == {
        "Sid": "ExecAuditFindLogGroup",
        "Effect": "Allow",
        "Action": "logs:DescribeLogGroups",
        "Resource": "arn:aws:logs:eu-west-1:111111111111:log-group:*",
    }
    assert statements["ExecAuditWriteLog"]["Resource"] == [exec_arn, f"{exec_arn}:*"]
    assert statements["ExecSessionKey"]["Resource"] == KEY
    assert set(statements) == {
        "ExecSessionChannels",
        "ExecAuditFindLogGroup",
        "ExecAuditWriteLog",
        "ExecSessionKey",
    }


# --- ECS service -----------------------------------------------------------------------------


def test_service_runs_in_private_subnets_without_public_ip(tmp_path: Path) -> None:
    stack, built = services_json(tmp_path, WORKER)
    _, service = one_of(stack, "aws_ecs_service", "worker", "service")
    association_key = next(iter(resources(stack, "aws_ecs_cluster_capacity_providers")))
    definition_key, _ = one_of(stack, "aws_ecs_task_definition", "worker", "task-definition")
    assert service["name"] == "acme-dev-worker"
    assert service["network_configuration"] == {
        "subnets": SUBNETS,
        "security_groups": [ref(stack, "aws_security_group", "worker/security-group", "id")],
        "assign_public_ip": False,
    }
    # the cluster is named through the capacity provider association: the service waits for it
    assert service["cluster"] == f"${{aws_ecs_cluster_capacity_providers.{association_key}.cluster_name}}"
    assert service["task_definition"] == f"${{aws_ecs_task_definition.{definition_key}.arn}}"
    assert service["capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE_SPOT", "weight": 1, "base": 0}
    ]
    assert "launch_type" not in service
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert (service["deployment_minimum_healthy_percent"], service["deployment_maximum_percent"]) == (0, 200)
    assert service["desired_count"] == 1
    assert service["enable_execute_command"] is True
    assert service["propagate_tags"] == "SERVICE"
    assert service["enable_ecs_managed_tags"] is True
    assert service["wait_for_steady_state"] is False
    # no load balancer: no attachment and no grace period
    assert "load_balancer" not in service and "health_check_grace_period_seconds" not in service
    # the roles' policies exist before the first task starts
    assert sorted(service["depends_on"]) == sorted(
        f"aws_iam_role_policy.{k}" for k in of_service(stack, "aws_iam_role_policy", "worker")
    )
    assert {
        "name",
        "arn",
        "id",
        "task_role_arn",
        "task_role_name",
        "execution_role_arn",
        "log_group_name",
    } <= set(vars(built["worker"]))


def test_production_keeps_full_capacity_during_deploys_and_has_no_exec(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, WORKER, profile="production")
    _, service = one_of(stack, "aws_ecs_service", "worker", "service")
    assert (service["deployment_minimum_healthy_percent"], service["deployment_maximum_percent"]) == (
        100,
        200,
    )
    assert service["enable_execute_command"] is False
    assert service["capacity_provider_strategy"] == [{"capacity_provider": "FARGATE", "weight": 1, "base": 0}]
    assert "linuxParameters" not in container(stack, "worker")


def test_load_balancer_attachment_and_grace_period(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, API, cluster="health_check_grace_seconds = 90", attach=("api",))
    _, service = one_of(stack, "aws_ecs_service", "api", "service")
    assert service["load_balancer"] == [
        {"target_group_arn": TARGET_GROUP, "container_name": "api", "container_port": 8080}
    ]
    assert service["health_check_grace_period_seconds"] == 90
    assert container(stack, "api")["healthCheck"]["startPeriod"] == 90


@pytest.mark.parametrize(
    ("deploy_owner", "services", "service", "ignored"),
    [
        ("terraform", WORKER, "worker", None),
        ("terraform", SCALED, "scaled", ["desired_count"]),
        ("pipeline", WORKER, "worker", ["task_definition", "desired_count"]),
        ("pipeline", SCALED, "scaled", ["task_definition", "desired_count"]),
    ],
)
def test_ignore_changes_per_deploy_owner_and_autoscaling(
    tmp_path: Path, deploy_owner: str, services: str, service: str, ignored: list[str] | None
) -> None:
    stack, _ = services_json(tmp_path, services, cluster=f'deploy_owner = "{deploy_owner}"')
    _, ecs_service = one_of(stack, "aws_ecs_service", service, "service")
    assert ecs_service.get("lifecycle", {}).get("ignore_changes") == ignored


# --- autoscaling -----------------------------------------------------------------------------


def test_autoscaling_target_and_policies(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, SCALED, attach=("scaled",))
    association_key = next(iter(resources(stack, "aws_ecs_cluster_capacity_providers")))
    service_key, _ = one_of(stack, "aws_ecs_service", "scaled", "service")
    target_key, target = one_of(stack, "aws_appautoscaling_target", "scaled", "autoscaling-target")
    assert target == {
        "service_namespace": "ecs",
        "scalable_dimension": "ecs:service:DesiredCount",
        "resource_id": (
            f"service/${{aws_ecs_cluster_capacity_providers.{association_key}.cluster_name}}"
            f"/${{aws_ecs_service.{service_key}.name}}"
        ),
        "min_capacity": 2,
        "max_capacity": 6,
    }
    policies = {p["name"]: p for p in of_service(stack, "aws_appautoscaling_policy", "scaled").values()}
    # memory_percent = 0 switches memory scaling off
    assert set(policies) == {"acme-dev-scaled-cpu", "acme-dev-scaled-requests"}
    for policy in policies.values():
        assert policy["policy_type"] == "TargetTrackingScaling"
        assert policy["resource_id"] == f"${{aws_appautoscaling_target.{target_key}.resource_id}}"
        assert (
            policy["scalable_dimension"] == f"${{aws_appautoscaling_target.{target_key}.scalable_dimension}}"
        )
    cpu = policies["acme-dev-scaled-cpu"]["target_tracking_scaling_policy_configuration"]
    assert cpu["target_value"] == 50
    assert cpu["predefined_metric_specification"] == {
        "predefined_metric_type": "ECSServiceAverageCPUUtilization"
    }
    requests = policies["acme-dev-scaled-requests"]["target_tracking_scaling_policy_configuration"]
    assert requests["target_value"] == 300
    assert requests["predefined_metric_specification"] == {
        "predefined_metric_type": "ALBRequestCountPerTarget",
        "resource_label": LABEL,
    }
    assert (requests["scale_in_cooldown"], requests["scale_out_cooldown"]) == (300, 60)


def test_default_targets_scale_on_cpu_and_memory(tmp_path: Path) -> None:
    scaled = SCALED.replace(
        "autoscaling = { cpu_percent = 50, memory_percent = 0, requests_per_target = 300 }\n", ""
    )
    stack, _ = services_json(tmp_path, scaled, attach=("scaled",))
    policies = {p["name"]: p for p in of_service(stack, "aws_appautoscaling_policy", "scaled").values()}
    assert set(policies) == {"acme-dev-scaled-cpu", "acme-dev-scaled-memory"}
    memory = policies["acme-dev-scaled-memory"]["target_tracking_scaling_policy_configuration"]
    assert memory["target_value"] == 75
    assert memory["predefined_metric_specification"] == {
        "predefined_metric_type": "ECSServiceAverageMemoryUtilization"
    }


def test_request_scaling_needs_a_load_balancer_label(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, SCALED)  # no target group, no label
    names = {p["name"] for p in of_service(stack, "aws_appautoscaling_policy", "scaled").values()}
    assert names == {"acme-dev-scaled-cpu"}


def test_no_autoscaling_when_min_equals_max(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, API + WORKER)
    assert resources(stack, "aws_appautoscaling_target") == {}
    assert resources(stack, "aws_appautoscaling_policy") == {}


def test_construct_ids_come_from_service_names(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, API + WORKER)
    assert set(by_path(stack, "aws_ecs_service")) == {"api/service", "worker/service"}
    # the Terraform names spell those paths, with no hash suffix
    assert set(resources(stack, "aws_ecs_service")) == {"api_service", "worker_service"}
    assert set(resources(stack, "aws_ecs_task_definition")) == {
        "api_task_definition",
        "worker_task_definition",
    }
    # reordering the config does not move any address
    reordered, _ = services_json(tmp_path / "reordered", WORKER + API)
    for kind in ("aws_ecs_service", "aws_ecs_task_definition", "aws_iam_role", "aws_cloudwatch_log_group"):
        assert set(resources(stack, kind)) == set(resources(reordered, kind))


# --- security group ---------------------------------------------------------------------------


def test_tasks_have_their_own_group_with_https_out_only(tmp_path: Path) -> None:
    stack, _ = services_json(tmp_path, WORKER)
    group = only(stack, "aws_security_group")
    assert (group["name"], group["description"]) == (
        "acme-dev-worker-tasks",
        "Tasks of service worker (acme-dev)",
    )
    assert "aws_vpc_security_group_ingress_rule" not in stack["resource"]
    (egress,) = resources(stack, "aws_vpc_security_group_egress_rule").values()
    assert (egress["from_port"], egress["cidr_ipv4"]) == (443, "0.0.0.0/0")


def test_allow_from_admits_one_peer_on_the_service_port(tmp_path: Path) -> None:
    stack, built = services_json(tmp_path, WORKER)
    built["worker"].allow_from("internal-nlb", "sg-nlb")
    stack = synth_stack(built["worker"].node.scope)
    (ingress,) = resources(stack, "aws_vpc_security_group_ingress_rule").values()
    egress = {
        r["security_group_id"]: r for r in resources(stack, "aws_vpc_security_group_egress_rule").values()
    }
    assert ingress["referenced_security_group_id"] == "sg-nlb"
    own = ref(stack, "aws_security_group", "worker/security-group", "id")
    assert ingress["security_group_id"] == own
    assert ingress["from_port"] == ingress["to_port"] == 9000
    assert egress["sg-nlb"]["referenced_security_group_id"] == own
    assert egress["sg-nlb"]["description"] == "To worker-tasks on 9000"
