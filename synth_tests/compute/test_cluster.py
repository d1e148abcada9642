"""modules/compute/registry.py and cluster.py: ECR repositories and the ECS cluster (Fargate and EC2 capacity), asserted on the JSON."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from conftest import by_path, load, only, resources, synth_stack, write_config

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
SUBNETS = ["subnet-a", "subnet-b"]

SERVICES = """
[edge]
http_only = true

[[services]]
name = "api"
port = 8080
paths = ["/api/*"]
priority = 10

[[services]]
name = "web"
port = 3000
paths = ["/*"]
priority = 20

[[services]]
name = "proxy"
image = "public.ecr.aws/nginx/nginx:1.27"
port = 8081
hosts = ["proxy.example.com"]
priority = 30
"""


def compute_json(tmp_path: Path, profile: str = "development", extra: str = "", services: str = ""):
    """Repositories and Cluster for one environment; `extra` goes before [network], `services` after."""
    from modules.cdk import TerraformStack, Testing
    from modules.compute import Cluster, ClusterProps, Repositories, RepositoriesProps

    text = f'profile = "{profile}"\n{extra}\n[network]\ncidr = "10.10.0.0/16"\n{services}'
    (env,) = load(write_config(tmp_path, {"dev": text})).environments
    stack = TerraformStack(Testing.app(), "test")
    repositories = Repositories(stack, "repositories", RepositoriesProps.of(env, KEY))
    cluster = Cluster(stack, "cluster", ClusterProps.of(env, KEY, "vpc-1", SUBNETS))
    return synth_stack(stack), repositories, cluster


# --- ECR -------------------------------------------------------------------------------------


def test_one_hardened_repository_per_service_built_from_ecr(tmp_path: Path) -> None:
    stack, repositories, _ = compute_json(tmp_path, services=SERVICES)
    repos = {r["name"]: r for r in resources(stack, "aws_ecr_repository").values()}
    # "proxy" runs an external image: it gets no repository
    assert set(repos) == {"acme-dev/api", "acme-dev/web"}
    for repo in repos.values():
        assert repo["image_tag_mutability"] == "IMMUTABLE"
        assert repo["image_scanning_configuration"] == {"scan_on_push": True}
        assert repo["encryption_configuration"] == [{"encryption_type": "KMS", "kms_key": KEY}]
        assert "force_delete" not in repo
    assert set(by_path(stack, "aws_ecr_repository")) == {"repositories/api", "repositories/web"}
    assert set(repositories.repository_urls) == set(repositories.repository_arns) == {"api", "web"}


def test_lifecycle_policy_expires_untagged_and_keeps_the_newest_tagged(tmp_path: Path) -> None:
    stack, _, _ = compute_json(
        tmp_path,
        services=SERVICES + "\n[cluster]\necr_untagged_expiry_days = 3\necr_keep_tagged_images = 12\n",
    )
    policies = resources(stack, "aws_ecr_lifecycle_policy")
    assert set(by_path(stack, "aws_ecr_lifecycle_policy")) == {
        "repositories/api/lifecycle",
        "repositories/web/lifecycle",
    }
    # Addresses stay <service>_lifecycle: a child of its repository, so a service named
    # "web-lifecycle" could not take its construct ID.
    assert set(policies) == {"repositories_api_lifecycle", "repositories_web_lifecycle"}
    repo_keys = {r["name"]: k for k, r in resources(stack, "aws_ecr_repository").items()}
    assert {p["repository"] for p in policies.values()} == {
        f"${{aws_ecr_repository.{repo_keys[name]}.name}}" for name in ("acme-dev/api", "acme-dev/web")
    }
    document = next(iter(policies.values()))["policy"]
    assert json.loads(document) == {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Expire untagged images after 3 days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 3,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": "Keep the newest 12 tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 12,
                },
                "action": {"type": "expire"},
            },
        ]
    }
    assert document == json.dumps(json.loads(document), sort_keys=True)  # deterministic text


def test_no_services_no_repositories(tmp_path: Path) -> None:
    stack, repositories, _ = compute_json(tmp_path)
    assert resources(stack, "aws_ecr_repository") == {}
    assert repositories.repository_urls == {}


# --- cluster ---------------------------------------------------------------------------------


def test_container_insights_follow_the_profile(tmp_path: Path) -> None:
    dev, _, _ = compute_json(tmp_path / "dev")
    prod, _, _ = compute_json(tmp_path / "prod", profile="production")
    assert only(dev, "aws_ecs_cluster")["setting"] == [{"name": "containerInsights", "value": "disabled"}]
    assert only(prod, "aws_ecs_cluster")["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    assert only(prod, "aws_ecs_cluster")["name"] == "acme-dev-cluster"


def test_exec_sessions_are_encrypted_and_audited_to_an_encrypted_log_group(tmp_path: Path) -> None:
    stack, _, cluster = compute_json(tmp_path, profile="production")
    group_key, group = next(iter(resources(stack, "aws_cloudwatch_log_group").items()))
    assert group == {"name": "/acme/dev/ecs-exec", "retention_in_days": 365, "kms_key_id": KEY}
    assert only(stack, "aws_ecs_cluster")["configuration"] == {
        "execute_command_configuration": {
            "kms_key_id": KEY,
            "logging": "OVERRIDE",
            "log_configuration": {
                "cloud_watch_encryption_enabled": True,
                "cloud_watch_log_group_name": f"${{aws_cloudwatch_log_group.{group_key}.name}}",
            },
        }
    }
    assert cluster.exec_log_group_arn and cluster.exec_log_group_name


def test_fargate_dev_defaults_to_spot(tmp_path: Path) -> None:
    stack, _, cluster = compute_json(tmp_path)
    cluster_key = next(iter(resources(stack, "aws_ecs_cluster")))
    association = only(stack, "aws_ecs_cluster_capacity_providers")
    assert association["cluster_name"] == f"${{aws_ecs_cluster.{cluster_key}.name}}"
    assert association["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    assert association["default_capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE_SPOT", "weight": 1, "base": 0}
    ]
    assert cluster.capacity_provider_strategy == (("FARGATE_SPOT", 1, 0),)
    assert cluster.launch_type_is_ec2 is False
    for kind in ("aws_launch_template", "aws_autoscaling_group", "aws_ecs_capacity_provider", "aws_iam_role"):
        assert resources(stack, kind) == {}
    assert cluster.instance_security_group_id is None


def test_fargate_prod_defaults_to_on_demand(tmp_path: Path) -> None:
    stack, _, cluster = compute_json(tmp_path, profile="production")
    association = only(stack, "aws_ecs_cluster_capacity_providers")
    assert association["default_capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE", "weight": 1, "base": 0}
    ]
    assert cluster.capacity_provider_strategy == (("FARGATE", 1, 0),)


# --- compute = "ec2" -------------------------------------------------------------------------

EC2 = 'compute = "ec2"\n'
EC2_CLUSTER = (
    '\n[cluster]\ninstance_type = "m6i.large"\ninstance_min = 2\ninstance_max = 6\ninstance_volume_gb = 60\n'
)


def ec2_json(tmp_path: Path):
    return compute_json(tmp_path, profile="production", extra=EC2, services=EC2_CLUSTER)


def test_ec2_launch_template_requires_imdsv2_and_encrypts_the_root_volume(tmp_path: Path) -> None:
    stack, _, _ = ec2_json(tmp_path)
    template = only(stack, "aws_launch_template")
    assert template["metadata_options"] == {
        "http_endpoint": "enabled",
        "http_tokens": "required",
        "http_put_response_hop_limit": 1,
    }
    assert template["block_device_mappings"] == [
        {
            "device_name": "/dev/xvda",
            "ebs": {
                "volume_size": 60,
                "volume_type": "gp3",
                "encrypted": "true",
                "kms_key_id": KEY,
                "delete_on_termination": "true",
            },
        }
    ]
    assert template["instance_type"] == "m6i.large"
    ami_key = next(iter(stack["data"]["aws_ssm_parameter"]))
    assert (
        stack["data"]["aws_ssm_parameter"][ami_key]["name"]
        == "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    )
    assert template["image_id"] == f"${{data.aws_ssm_parameter.{ami_key}.insecure_value}}"
    assert base64.b64decode(template["user_data"]).decode() == (
        "#!/bin/bash\necho ECS_CLUSTER=acme-dev-cluster >> /etc/ecs/ecs.config\n"
    )
    profile_key = next(iter(resources(stack, "aws_iam_instance_profile")))
    assert template["iam_instance_profile"] == {"arn": f"${{aws_iam_instance_profile.{profile_key}.arn}}"}
    group_key = next(iter(resources(stack, "aws_security_group")))
    assert template["vpc_security_group_ids"] == [f"${{aws_security_group.{group_key}.id}}"]


def test_ec2_instances_take_no_inbound_traffic_and_reach_out_on_443_only(tmp_path: Path) -> None:
    stack, _, cluster = ec2_json(tmp_path)
    group_key, group = next(iter(resources(stack, "aws_security_group").items()))
    assert group["vpc_id"] == "vpc-1"
    assert "ingress" not in group and "egress" not in group
    assert resources(stack, "aws_vpc_security_group_ingress_rule") == {}
    rule = only(stack, "aws_vpc_security_group_egress_rule")
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
    assert rule["security_group_id"] == f"${{aws_security_group.{group_key}.id}}"
    assert rule["description"]
    assert cluster.instance_security_group_id is not None


def test_ec2_autoscaling_group_spans_private_subnets_and_is_ecs_managed(tmp_path: Path) -> None:
    stack, _, _ = ec2_json(tmp_path)
    group = only(stack, "aws_autoscaling_group")
    template_key = next(iter(resources(stack, "aws_launch_template")))
    assert (group["min_size"], group["max_size"]) == (2, 6)
    assert group["vpc_zone_identifier"] == SUBNETS
    assert group["protect_from_scale_in"] is True
    assert group["launch_template"] == {
        "id": f"${{aws_launch_template.{template_key}.id}}",
        "version": "$Latest",
    }
    assert {"key": "AmazonECSManaged", "value": "true", "propagate_at_launch": True} in group["tag"]
    # the volume key is usable by Auto Scaling before it launches anything
    grant_key, grant = next(iter(resources(stack, "aws_kms_grant").items()))
    assert group["depends_on"] == [f"aws_kms_grant.{grant_key}"]
    assert grant["key_id"] == KEY
    assert grant["grantee_principal"].endswith(
        ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )
    assert "CreateGrant" in grant["operations"] and "GenerateDataKeyWithoutPlaintext" in grant["operations"]


def test_ec2_capacity_provider_has_managed_scaling_and_termination_protection(tmp_path: Path) -> None:
    stack, _, cluster = ec2_json(tmp_path)
    provider_key, provider = next(iter(resources(stack, "aws_ecs_capacity_provider").items()))
    group_key = next(iter(resources(stack, "aws_autoscaling_group")))
    assert provider["name"] == "acme-dev-ec2"
    assert provider["auto_scaling_group_provider"] == {
        "auto_scaling_group_arn": f"${{aws_autoscaling_group.{group_key}.arn}}",
        "managed_termination_protection": "ENABLED",
        "managed_draining": "ENABLED",
        "managed_scaling": {"status": "ENABLED", "target_capacity": 100},
    }
    provider_name = f"${{aws_ecs_capacity_provider.{provider_key}.name}}"
    association = only(stack, "aws_ecs_cluster_capacity_providers")
    assert association["capacity_providers"] == [provider_name]
    assert association["default_capacity_provider_strategy"] == [
        {"capacity_provider": provider_name, "weight": 1, "base": 0}
    ]
    assert cluster.launch_type_is_ec2 is True
    assert len(cluster.capacity_provider_strategy) == 1


def test_ec2_instance_role_has_exactly_the_agent_and_ssm_managed_policies(tmp_path: Path) -> None:
    stack, _, _ = ec2_json(tmp_path)
    role_key, role = next(iter(resources(stack, "aws_iam_role").items()))
    trust = json.loads(role["assume_role_policy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert sorted(a["policy_arn"] for a in resources(stack, "aws_iam_role_policy_attachment").values()) == [
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    ]
    assert all(
        a["role"] == f"${{aws_iam_role.{role_key}.name}}"
        for a in resources(stack, "aws_iam_role_policy_attachment").values()
    )
    assert resources(stack, "aws_iam_role_policy") == {}
    assert only(stack, "aws_iam_instance_profile")["role"] == f"${{aws_iam_role.{role_key}.name}}"


def test_construct_ids_are_stable_names(tmp_path: Path) -> None:
    stack, _, _ = ec2_json(tmp_path)
    # Terraform addresses spell the construct path, with no hash: stable while the IDs are.
    expected = {
        "aws_ecs_cluster": ("cluster/cluster", "cluster_cluster"),
        "aws_autoscaling_group": ("cluster/autoscaling-group", "cluster_autoscaling_group"),
        "aws_ecs_capacity_provider": ("cluster/capacity-provider", "cluster_capacity_provider"),
        "aws_launch_template": ("cluster/launch-template", "cluster_launch_template"),
    }
    for kind, (path, name) in expected.items():
        assert set(by_path(stack, kind)) == {path}
        assert set(resources(stack, kind)) == {name}


def test_a_service_named_like_another_services_lifecycle_policy_synthesizes(tmp_path: Path) -> None:
    lifecycle_named = SERVICES.replace('name = "api"', 'name = "web-lifecycle"')
    stack, _, _ = compute_json(tmp_path, services=lifecycle_named)
    assert set(resources(stack, "aws_ecr_repository")) == {"repositories_web", "repositories_web_lifecycle"}
    assert set(resources(stack, "aws_ecr_lifecycle_policy")) == {
        "repositories_web_lifecycle",
        "repositories_web_lifecycle_lifecycle",
    }
