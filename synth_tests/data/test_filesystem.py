"""modules/data/filesystem.py: the EFS file system, its mount targets, policy, access points and grants."""

from __future__ import annotations

import json

import pytest
from conftest import by_path, env_toml, load, only, ref, resources, synth_stack, write_config

from modules.config.uses import parse_use

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
SUBNETS = ["subnet-private-a", "subnet-private-c"]

SERVICES = """
[edge]
http_only = true

[[services]]
name = "api"
port = 8080
paths = ["/*"]
priority = 10
user = "1001:1002"
uses = ["filesystem:shared:/mnt/shared"]

[[services]]
name = "worker"
port = 9000
protocol = "tcp"
public = false
uses = ["filesystem:shared:/data:ro", "filesystem:scratch:/scratch"]

[[services]]
name = "jobs"
port = 9001
protocol = "tcp"
public = false
user = "1003"
uses = ["filesystem:shared:/srv/files"]

[[services]]
name = "web"
port = 8081
paths = ["/web/*"]
priority = 20
"""

FILESYSTEMS = """
[[filesystems]]
name = "shared"
gid = 2000

[[filesystems]]
name = "scratch"
throughput_mode = "bursting"
infrequent_access_after_days = 1
"""


class Built:
    """The synthesized stack, the constructs, and each grant resolved through a stack output."""

    def __init__(self, stack: dict, filesystems: dict) -> None:
        self.stack = stack
        self.filesystems = filesystems

    def grant(self, name: str) -> dict:
        return json.loads(self.stack["output"][name]["value"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    from modules.cdk import TerraformOutput, TerraformStack, Testing
    from modules.data.filesystem import FileSystem, FileSystemProps

    directory = write_config(
        tmp_path_factory.mktemp("filesystem"),
        {
            "dev": env_toml(network='zones = ["a", "c"]\n') + SERVICES + FILESYSTEMS,
            "prod": env_toml("10.20.0.0/16", "production") + '\n[[filesystems]]\nname = "shared"\n',
        },
    )
    platform = load(directory)
    stack = TerraformStack(Testing.app(), "test")
    built: dict = {}
    for env in platform.environments:
        for filesystem in env.config.filesystems:
            clients = [
                s for s in env.services if any(u.name == filesystem.name for u in s.uses_of("filesystem"))
            ]
            built[f"{env.name}-{filesystem.name}"] = FileSystem(
                stack,
                f"{env.name}-{filesystem.name}",
                FileSystemProps.of(
                    env, filesystem, kms_key_arn=KEY, vpc_id="vpc-1", subnet_ids=SUBNETS, clients=clients
                ),
            )
    shared = built["dev-shared"]
    shared.allow_from("api-tasks", "sg-api")
    for name, service, use in (
        ("api_shared", "api", "filesystem:shared:/mnt/shared"),
        ("worker_shared", "worker", "filesystem:shared:/data:ro"),
    ):
        grant = shared.grant(service, parse_use(use))
        TerraformOutput(
            stack,
            name,
            value=json.dumps(
                {
                    "environment": dict(grant.environment),
                    "task_statements": list(grant.task_statements),
                    "execution_statements": list(grant.execution_statements),
                    "secrets": dict(grant.secrets),
                    "mounts": [vars(m) for m in grant.mounts],
                }
            ),
        )
    return Built(synth_stack(stack), built)


def test_an_encrypted_general_purpose_file_system_that_moves_to_ia_and_back(built: Built) -> None:
    file_systems = by_path(built.stack, "aws_efs_file_system")
    assert file_systems["dev-shared/file-system"] == {
        "creation_token": "acme-dev-shared",
        "encrypted": True,
        "kms_key_id": KEY,
        "performance_mode": "generalPurpose",
        "throughput_mode": "elastic",
        # one transition per block, as the provider requires
        "lifecycle_policy": [
            {"transition_to_ia": "AFTER_30_DAYS"},
            {"transition_to_primary_storage_class": "AFTER_1_ACCESS"},
        ],
        "tags": {"Name": "acme-dev-shared"},
    }
    scratch = file_systems["dev-scratch/file-system"]
    assert scratch["throughput_mode"] == "bursting"
    assert scratch["lifecycle_policy"][0] == {"transition_to_ia": "AFTER_1_DAY"}


def test_backups_follow_the_profile(built: Built) -> None:
    policies = by_path(built.stack, "aws_efs_backup_policy")
    assert {path: p["backup_policy"]["status"] for path, p in policies.items()} == {
        "dev-shared/backup-policy": "DISABLED",
        "dev-scratch/backup-policy": "DISABLED",
        "prod-shared/backup-policy": "ENABLED",
    }
    assert policies["dev-shared/backup-policy"]["file_system_id"] == ref(
        built.stack, "aws_efs_file_system", "dev-shared/file-system", "id"
    )


def test_one_mount_target_per_private_subnet_named_by_zone_letter(built: Built) -> None:
    targets = {
        p: t for p, t in by_path(built.stack, "aws_efs_mount_target").items() if p.startswith("dev-shared/")
    }
    group = ref(built.stack, "aws_security_group", "dev-shared/security-group", "id")
    file_system = ref(built.stack, "aws_efs_file_system", "dev-shared/file-system", "id")
    assert targets == {
        "dev-shared/mount-target-a": {
            "file_system_id": file_system,
            "subnet_id": SUBNETS[0],
            "security_groups": [group],
        },
        "dev-shared/mount-target-c": {
            "file_system_id": file_system,
            "subnet_id": SUBNETS[1],
            "security_groups": [group],
        },
    }


def test_its_own_security_group_opened_only_by_allow_from(built: Built) -> None:
    group = by_path(built.stack, "aws_security_group")["dev-shared/security-group"]
    assert (group["name"], group["vpc_id"]) == ("acme-dev-shared-efs", "vpc-1")
    assert "ingress" not in group and "egress" not in group
    group_id = ref(built.stack, "aws_security_group", "dev-shared/security-group", "id")
    ingress = by_path(built.stack, "aws_vpc_security_group_ingress_rule")
    egress = by_path(built.stack, "aws_vpc_security_group_egress_rule")
    assert ingress == {
        "dev-shared/allow-api-tasks-ingress": {
            "security_group_id": group_id,
            "referenced_security_group_id": "sg-api",
            "ip_protocol": "tcp",
            "from_port": 2049,
            "to_port": 2049,
            "description": "From api-tasks on 2049",
        }
    }
    assert egress == {
        "dev-shared/allow-api-tasks-egress": {
            "security_group_id": "sg-api",
            "referenced_security_group_id": group_id,
            "ip_protocol": "tcp",
            "from_port": 2049,
            "to_port": 2049,
            "description": "To efs-shared on 2049",
        }
    }


def test_the_policy_denies_nfs_without_tls_or_access_point_and_allows_nothing(built: Built) -> None:
    policy = by_path(built.stack, "aws_efs_file_system_policy")["dev-shared/policy"]
    arn = ref(built.stack, "aws_efs_file_system", "dev-shared/file-system", "arn")
    assert "bypass_policy_lockout_safety_check" not in policy
    client = [
        "elasticfilesystem:ClientMount",
        "elasticfilesystem:ClientWrite",
        "elasticfilesystem:ClientRootAccess",
    ]
    assert json.loads(policy["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": client,
                "Resource": arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyMountWithoutAccessPoint",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": client,
                "Resource": arn,
                "Condition": {"Null": {"elasticfilesystem:AccessPointArn": "true"}},
            },
        ],
    }


def test_an_access_point_per_client_with_its_directory_and_posix_user(built: Built) -> None:
    points = {
        p: a for p, a in by_path(built.stack, "aws_efs_access_point").items() if p.startswith("dev-shared/")
    }

    def point(uid: int, gid: int, service: str) -> dict:
        return {
            "file_system_id": ref(built.stack, "aws_efs_file_system", "dev-shared/file-system", "id"),
            "posix_user": {"uid": uid, "gid": gid},
            "root_directory": {
                "path": f"/{service}",
                "creation_info": {"owner_uid": uid, "owner_gid": gid, "permissions": "0750"},
            },
            "tags": {"Name": f"acme-dev-shared-{service}"},
        }

    assert points == {
        "dev-shared/access-point-api": point(1001, 1002, "api"),  # the service's uid:gid
        "dev-shared/access-point-jobs": point(1003, 2000, "jobs"),  # its uid, the file system's gid
        "dev-shared/access-point-worker": point(1000, 2000, "worker"),  # no user: the file system's
    }
    # web mounts nothing; only worker mounts scratch
    scratch = [p for p in by_path(built.stack, "aws_efs_access_point") if p.startswith("dev-scratch/")]
    assert scratch == ["dev-scratch/access-point-worker"]
    shared = built.filesystems["dev-shared"]
    assert sorted(shared.access_point_ids) == sorted(shared.access_point_arns) == ["api", "jobs", "worker"]


def test_grant_mounts_through_the_services_access_point_with_exactly_client_mount_and_write(
    built: Built,
) -> None:
    arn = ref(built.stack, "aws_efs_file_system", "dev-shared/file-system", "arn")
    assert built.grant("api_shared") == {
        "environment": {"FILESYSTEM_SHARED_PATH": "/mnt/shared"},
        "task_statements": [
            {
                "Sid": "FileSystemSharedMount",
                "Effect": "Allow",
                "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                "Resource": arn,
                "Condition": {
                    "ArnEquals": {
                        "elasticfilesystem:AccessPointArn": ref(
                            built.stack, "aws_efs_access_point", "dev-shared/access-point-api", "arn"
                        )
                    }
                },
            }
        ],
        "execution_statements": [],
        "secrets": {},
        "mounts": [
            {
                "volume_name": "efs-shared",
                "file_system_id": ref(built.stack, "aws_efs_file_system", "dev-shared/file-system", "id"),
                "access_point_id": ref(
                    built.stack, "aws_efs_access_point", "dev-shared/access-point-api", "id"
                ),
                "container_path": "/mnt/shared",
                "read_only": False,
            }
        ],
    }


def test_a_read_only_grant_mounts_read_only_without_client_write(built: Built) -> None:
    grant = built.grant("worker_shared")
    (statement,) = grant["task_statements"]
    assert statement["Action"] == ["elasticfilesystem:ClientMount"]
    assert statement["Condition"]["ArnEquals"]["elasticfilesystem:AccessPointArn"] == ref(
        built.stack, "aws_efs_access_point", "dev-shared/access-point-worker", "arn"
    )
    (mount,) = grant["mounts"]
    assert (mount["container_path"], mount["read_only"]) == ("/data", True)
    assert grant["environment"] == {"FILESYSTEM_SHARED_PATH": "/data"}


def test_no_grant_for_a_service_that_is_not_a_client(built: Built) -> None:
    with pytest.raises(ValueError, match="web is not a client of file system shared"):
        built.filesystems["dev-shared"].grant("web", parse_use("filesystem:shared:/mnt/x"))


def test_nothing_else_is_created(built: Built) -> None:
    assert set(built.stack["resource"]) == {
        "aws_efs_file_system",
        "aws_efs_backup_policy",
        "aws_efs_mount_target",
        "aws_efs_file_system_policy",
        "aws_efs_access_point",
        "aws_security_group",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
    }
    assert only(built.stack, "aws_vpc_security_group_ingress_rule")["from_port"] == 2049
    assert len(resources(built.stack, "aws_efs_file_system")) == 3
