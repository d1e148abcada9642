"""modules/compute/service/: what a service does with its StoreGrant (container settings, EFS
volumes, role policies), and that an empty grant adds nothing."""

from __future__ import annotations

import json

import pytest
from conftest import construct_paths, load, name_at, ref, resources, synth_stack, write_config

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
SUBNETS = ["subnet-a", "subnet-b"]
DATABASE_SECRET = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds!db-0123-AbCdEf"

CONFIG = """profile = "development"
compute = "fargate"

[network]
cidr = "10.10.0.0/16"

[edge]
http_only = true

[[services]]
name = "api"
port = 8080
paths = ["/api/*"]
priority = 10
environment = { ZED = "last", ALPHA = "first" }
secrets = { TOKEN = "ssm:/acme/token" }

[[services]]
name = "worker"
image = "public.ecr.aws/nginx/nginx:1.27"
port = 9000
protocol = "tcp"
public = false
readonly_root_filesystem = false
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    (loaded,) = load(write_config(tmp_path_factory.mktemp("grants"), {"dev": CONFIG})).environments
    return loaded


def build(env, grants: dict):
    """A stack with the cluster, the repositories, two EFS file systems with an access point each
    (their attributes are the tokens a real grant carries) and one Service per [[services]] entry,
    each given `grants[name](file_systems)` (StoreGrant() when absent)."""
    from modules.cdk import TerraformStack, Testing, aws
    from modules.compute import Cluster, ClusterProps, Repositories, RepositoriesProps, Service, ServiceProps
    from modules.data.grant import StoreGrant

    stack = TerraformStack(Testing.app(), "test")
    repositories = Repositories(stack, "repositories", RepositoriesProps.of(env, KEY))
    cluster = Cluster(stack, "cluster", ClusterProps.of(env, KEY, "vpc-1", SUBNETS))
    file_systems = {}
    for name in ("shared", "scratch"):
        fs = aws.efs_file_system.EfsFileSystem(stack, f"fs-{name}", encrypted=True)
        point = aws.efs_access_point.EfsAccessPoint(stack, f"ap-{name}", file_system_id=fs.id)
        file_systems[name] = (fs, point)
    built = {
        s.name: Service(
            stack,
            s.name,
            ServiceProps.of(
                env,
                s,
                cluster=cluster,
                repositories=repositories,
                kms_key_arn=KEY,
                subnet_ids=SUBNETS,
                vpc_id="vpc-1",
                target_group_arn=None,
                request_count_resource_label=None,
                depends_on=(),
                secret_arns={},
                parameter_arns={},
                grant=grants[s.name](file_systems) if s.name in grants else StoreGrant(),
            ),
        )
        for s in env.services
    }
    return stack, built


def api_grant(file_systems):
    from modules.data.grant import FileSystemMount, StoreGrant

    shared, shared_point = file_systems["shared"]
    scratch, scratch_point = file_systems["scratch"]
    return StoreGrant(
        environment={"FILES_HOST": shared.dns_name, "DATABASE_PORT": "5432"},
        secrets={"DATABASE_PASSWORD": f"{DATABASE_SECRET}:password::"},
        task_statements=(
            {
                "Sid": "MountSharedFileSystem",
                "Effect": "Allow",
                "Action": "elasticfilesystem:ClientMount",
                "Resource": shared.arn,
                "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": shared_point.arn}},
            },
        ),
        execution_statements=(
            {
                "Sid": "ReadDatabaseSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": DATABASE_SECRET,
            },
        ),
        # given out of name order: the volumes come out sorted by name
        mounts=(
            FileSystemMount("efs-shared", shared.id, shared_point.id, "/mnt/shared", read_only=True),
            FileSystemMount("efs-scratch", scratch.id, scratch_point.id, "/mnt/scratch", read_only=False),
        ),
    )


@pytest.fixture(scope="module")
def stack(env):
    built_stack, _ = build(env, {"api": api_grant})
    return synth_stack(built_stack)


def at(stack_json: dict, resource_type: str, path: str) -> dict:
    return resources(stack_json, resource_type)[name_at(stack_json, resource_type, path)]


def container(stack_json: dict, service: str) -> dict:
    (only_container,) = json.loads(
        at(stack_json, "aws_ecs_task_definition", f"{service}/task-definition")["container_definitions"]
    )
    return only_container


def statements(stack_json: dict, path: str) -> dict[str, dict]:
    policy = json.loads(at(stack_json, "aws_iam_role_policy", path)["policy"])
    return {s["Sid"]: s for s in policy["Statement"]}


def policies_of(stack_json: dict, service: str) -> dict[str, str]:
    """{construct path: Terraform address} of the service's role policies."""
    return {
        path: f"aws_iam_role_policy.{name}"
        for name, path in construct_paths(stack_json, "aws_iam_role_policy").items()
        if path.startswith(f"{service}/")
    }


# --- container -------------------------------------------------------------------------------


def test_environment_is_the_services_own_and_the_grants_sorted_by_name(stack) -> None:
    assert container(stack, "api")["environment"] == [
        {"name": "ALPHA", "value": "first"},
        {"name": "DATABASE_PORT", "value": "5432"},
        {"name": "FILES_HOST", "value": ref(stack, "aws_efs_file_system", "fs-shared", "dns_name")},
        {"name": "ZED", "value": "last"},
    ]


def test_secrets_take_the_grants_value_from_as_given(stack) -> None:
    assert container(stack, "api")["secrets"] == [
        {"name": "DATABASE_PASSWORD", "valueFrom": f"{DATABASE_SECRET}:password::"},
        {"name": "TOKEN", "valueFrom": "arn:aws:ssm:eu-west-1:111111111111:parameter/acme/token"},
    ]


def test_mount_points_follow_the_exec_volumes_sorted_by_volume_name(stack) -> None:
    assert container(stack, "api")["mountPoints"] == [
        {"sourceVolume": "exec-agent-state", "containerPath": "/var/lib/amazon", "readOnly": False},
        {"sourceVolume": "exec-agent-logs", "containerPath": "/var/log/amazon", "readOnly": False},
        {"sourceVolume": "efs-scratch", "containerPath": "/mnt/scratch", "readOnly": False},
        {"sourceVolume": "efs-shared", "containerPath": "/mnt/shared", "readOnly": True},
    ]


def test_container_json_stays_deterministic(stack) -> None:
    text = at(stack, "aws_ecs_task_definition", "api/task-definition")["container_definitions"]
    assert text == json.dumps(json.loads(text), sort_keys=True)


# --- task definition -------------------------------------------------------------------------


def test_one_efs_volume_per_mount_through_its_access_point_with_tls_and_iam(stack) -> None:
    volumes = at(stack, "aws_ecs_task_definition", "api/task-definition")["volume"]
    assert volumes[:2] == [{"name": "exec-agent-state"}, {"name": "exec-agent-logs"}]
    assert volumes[2:] == [
        {
            "name": f"efs-{name}",
            "efs_volume_configuration": {
                "file_system_id": ref(stack, "aws_efs_file_system", f"fs-{name}", "id"),
                "root_directory": "/",
                "transit_encryption": "ENABLED",
                "authorization_config": {
                    "access_point_id": ref(stack, "aws_efs_access_point", f"ap-{name}", "id"),
                    "iam": "ENABLED",
                },
            },
        }
        for name in ("scratch", "shared")
    ]


def test_fargate_runs_the_latest_platform_version_which_efs_needs(stack) -> None:
    assert "platform_version" not in at(stack, "aws_ecs_service", "api/service")


# --- roles -----------------------------------------------------------------------------------


def test_execution_policy_gets_the_grants_statements_after_its_own(stack) -> None:
    found = statements(stack, "api/execution-role-policy")
    assert list(found)[-1] == "ReadDatabaseSecret"
    assert found["ReadDatabaseSecret"] == {
        "Sid": "ReadDatabaseSecret",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": DATABASE_SECRET,
    }
    # its own statements are still there, still scoped to its own references
    assert found["ReadReferencedParameters"]["Resource"] == [
        "arn:aws:ssm:eu-west-1:111111111111:parameter/acme/token"
    ]
    assert "WriteOwnLogGroup" in found


def test_task_role_gets_a_uses_policy_with_exactly_the_grants_statements(stack) -> None:
    policy = at(stack, "aws_iam_role_policy", "api/task-role-uses-policy")
    assert policy["name"] == "uses"
    assert policy["role"] == ref(stack, "aws_iam_role", "api/task-role", "id")
    assert json.loads(policy["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MountSharedFileSystem",
                "Effect": "Allow",
                "Action": "elasticfilesystem:ClientMount",
                "Resource": ref(stack, "aws_efs_file_system", "fs-shared", "arn"),
                "Condition": {
                    "StringEquals": {
                        "elasticfilesystem:AccessPointArn": ref(
                            stack, "aws_efs_access_point", "ap-shared", "arn"
                        )
                    }
                },
            }
        ],
    }
    # ECS exec keeps its own policy
    assert set(statements(stack, "api/task-role-exec-policy")) == {
        "ExecSessionChannels",
        "ExecAuditFindLogGroup",
        "ExecAuditWriteLog",
        "ExecSessionKey",
    }


def test_service_waits_for_every_role_policy_including_the_uses_policy(stack) -> None:
    policies = policies_of(stack, "api")
    assert set(policies) == {
        "api/execution-role-policy",
        "api/task-role-exec-policy",
        "api/task-role-uses-policy",
    }
    assert sorted(at(stack, "aws_ecs_service", "api/service")["depends_on"]) == sorted(policies.values())


# --- an empty grant --------------------------------------------------------------------------


def test_an_empty_grant_adds_nothing(stack) -> None:
    policies = policies_of(stack, "worker")
    assert set(policies) == {"worker/execution-role-policy", "worker/task-role-exec-policy"}
    assert sorted(at(stack, "aws_ecs_service", "worker/service")["depends_on"]) == sorted(policies.values())
    assert list(statements(stack, "worker/execution-role-policy")) == ["WriteOwnLogGroup"]
    assert "volume" not in at(stack, "aws_ecs_task_definition", "worker/task-definition")
    worker = container(stack, "worker")
    for absent in ("environment", "secrets", "mountPoints"):
        assert absent not in worker


# --- what the schema refuses, refused again here ---------------------------------------------


def _grant(mounts=(), **fields):
    """A grant maker for `build`: `mounts` as (volume name, path) on the "shared" file system."""
    from modules.data.grant import FileSystemMount, StoreGrant

    def make(file_systems):
        fs, point = file_systems["shared"]
        return StoreGrant(
            mounts=tuple(
                FileSystemMount(name, fs.id, point.id, path, read_only=False) for name, path in mounts
            ),
            **fields,
        )

    return make


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        (_grant(environment={"ZED": "again"}), "ZED is set by environment and by a store's environment"),
        (_grant(environment={"TOKEN": "plain"}), "TOKEN is set by secrets and by a store's environment"),
        (_grant(secrets={"ALPHA": "arn:aws:ssm:eu-west-1:111111111111:parameter/a"}), "ALPHA is set by"),
        (
            _grant(environment={"X": "1"}, secrets={"X": "arn:aws:ssm:eu-west-1:111111111111:parameter/x"}),
            "X is set by a store's environment and by a store's secrets",
        ),
        (_grant(mounts=[("efs-a", "/var/lib/amazon")]), "mount path /var/lib/amazon is mounted twice"),
        (_grant(mounts=[("exec-agent-logs", "/mnt/logs")]), "volume exec-agent-logs is mounted twice"),
        (_grant(mounts=[("efs-a", "/mnt/a"), ("efs-b", "/mnt/a")]), "mount path /mnt/a is mounted twice"),
        (
            _grant(execution_statements=({"Sid": "WriteOwnLogGroup", "Effect": "Allow"},)),
            "Sids WriteOwnLogGroup appear twice",
        ),
        (
            _grant(task_statements=({"Sid": "Same", "Effect": "Allow"}, {"Sid": "Same", "Effect": "Allow"})),
            "Sids Same appear twice",
        ),
    ],
)
def test_collisions_raise(env, grant, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(env, {"api": grant})


def test_the_config_fixture_is_what_the_tests_assume(env) -> None:
    api = next(s for s in env.services if s.name == "api")
    assert api.readonly_root_filesystem and env.config.cluster.exec_enabled  # so exec volumes exist
