"""The ECS cluster: Container Insights, audited ECS exec, and its capacity (Fargate or EC2 instances)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.core import iam
from modules.core.naming import partition
from modules.network import security_group, tcp_rule

# The public parameter AWS keeps pointed at the current ECS-optimized Amazon Linux 2023 AMI.
ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
# The root device of the ECS-optimized Amazon Linux 2023 AMI.
ECS_AMI_ROOT_DEVICE = "/dev/xvda"


def cluster_name(prefix: str) -> str:
    """`<project>-<env>-cluster`: the environment's ECS cluster (the workflows deploy to it by name)."""
    return f"{prefix}-cluster"


@dataclass(frozen=True)
class ClusterProps:
    """The ECS cluster and its capacity; every value is given: defaults live in the config schema
    ([cluster], compute)."""

    name: str  # "<project>-<env>": the cluster is "<name>-cluster"
    region: str
    account_id: str
    compute: Literal["fargate", "ec2"]
    container_insights: bool
    spot: bool  # fargate: default strategy FARGATE_SPOT (true) or FARGATE (false)
    kms_key_arn: str  # ECS exec session encryption, exec audit log group, EC2 root volumes
    exec_log_group_name: str  # "/<project>/<env>/ecs-exec": audit log of `aws ecs execute-command`
    log_retention_days: int  # the exec audit log group's
    # compute = "ec2" only (ignored for fargate):
    vpc_id: str  # the instances' security group is created in it
    private_subnet_ids: tuple[str, ...]  # the Auto Scaling Group launches instances in these
    instance_type: str
    instance_min: int  # the Auto Scaling Group's bounds
    instance_max: int
    instance_volume_gb: int  # encrypted gp3 root volume of each instance

    @classmethod
    def of(
        cls, env: Environment, kms_key_arn: str, vpc_id: str, private_subnet_ids: list[str]
    ) -> ClusterProps:
        cluster = env.config.cluster
        return cls(
            name=env.prefix,
            region=env.region,
            account_id=env.account_id,
            compute=env.config.compute,
            container_insights=cluster.container_insights,
            spot=cluster.spot,
            kms_key_arn=kms_key_arn,
            exec_log_group_name=f"{env.log_group_prefix}/ecs-exec",
            log_retention_days=cluster.log_retention_days,
            vpc_id=vpc_id,
            private_subnet_ids=tuple(private_subnet_ids),
            instance_type=cluster.instance_type,
            instance_min=cluster.instance_min,
            instance_max=cluster.instance_max,
            instance_volume_gb=cluster.instance_volume_gb,
        )

    @property
    def cluster_name(self) -> str:
        return cluster_name(self.name)


class Cluster(Construct):
    """An ECS cluster with Container Insights per config and audited ECS exec, plus its capacity.

    ECS exec is always configured (sessions encrypted with the env key, every session logged to a
    KMS-encrypted log group), so turning exec on for services never runs unaudited sessions.

    Capacity, `compute = "fargate"`: the FARGATE and FARGATE_SPOT providers, default strategy
    FARGATE_SPOT weight 1 when `spot` (cheap, may be interrupted) else FARGATE weight 1; base 0 in
    both, as one provider carries every task. `compute = "ec2"`: an Auto Scaling Group of
    ECS-optimized Amazon Linux 2023 instances (IMDSv2 only, hop limit 1, encrypted gp3 root) in the
    private subnets, behind an ECS capacity provider with managed scaling (target 100%) and managed
    termination protection.

    Exposes `arn`, `name` (read through the capacity providers), `plain_name` (the same as text),
    `capacity_provider_strategy` (tuple of (provider, weight, base) for
    services), `launch_type_is_ec2`, `exec_log_group_name` and `exec_log_group_arn`; in ec2 mode also
    `instance_security_group_id` and `instance_role_name` (None for fargate).
    """

    def __init__(self, scope: Construct, id: str, props: ClusterProps) -> None:
        super().__init__(scope, id)
        exec_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "exec-log-group",
            name=props.exec_log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        ecs = aws.ecs_cluster
        cluster = ecs.EcsCluster(
            self,
            "cluster",
            name=props.cluster_name,
            setting=[
                ecs.EcsClusterSetting(
                    name="containerInsights",
                    value="enabled" if props.container_insights else "disabled",
                )
            ],
            configuration=ecs.EcsClusterConfiguration(
                execute_command_configuration=ecs.EcsClusterConfigurationExecuteCommandConfiguration(
                    kms_key_id=props.kms_key_arn,
                    logging="OVERRIDE",
                    log_configuration=ecs.EcsClusterConfigurationExecuteCommandConfigurationLogConfiguration(
                        cloud_watch_encryption_enabled=True,
                        cloud_watch_log_group_name=exec_log_group.name,
                    ),
                )
            ),
        )

        self.instance_security_group_id: str | None = None
        self.instance_role_name: str | None = None
        if props.compute == "ec2":
            provider_name = self._ec2_capacity(props)
            providers = [provider_name]
            strategy = ((provider_name, 1, 0),)
        else:
            providers = ["FARGATE", "FARGATE_SPOT"]
            strategy = ((("FARGATE_SPOT" if props.spot else "FARGATE"), 1, 0),)

        cap = aws.ecs_cluster_capacity_providers
        association = cap.EcsClusterCapacityProviders(
            self,
            "capacity-providers",
            cluster_name=cluster.name,
            capacity_providers=providers,
            default_capacity_provider_strategy=[
                cap.EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                    capacity_provider=provider, weight=weight, base=base
                )
                for provider, weight, base in strategy
            ],
        )

        self.arn: str = cluster.arn
        # Read through the capacity provider association: a service that names the cluster by this
        # attribute waits until the providers are attached (ECS refuses a strategy naming a
        # provider the cluster does not have yet).
        self.name: str = association.cluster_name
        # The same name as text, for what only names the cluster (event patterns, alarm dimensions,
        # the dashboard): a plan reviewer reads the name there, not a reference.
        self.plain_name: str = props.cluster_name
        self.capacity_provider_strategy: tuple[tuple[str, int, int], ...] = strategy
        self.launch_type_is_ec2: bool = props.compute == "ec2"
        self.exec_log_group_name: str = exec_log_group.name
        self.exec_log_group_arn: str = exec_log_group.arn

    def _ec2_capacity(self, props: ClusterProps) -> str:
        """Instance role and profile, security group, launch template, ASG, capacity provider."""
        part = partition(props.region)
        role = aws.iam_role.IamRole(
            self,
            "instance-role",
            name=f"{props.name}-ecs-instance",
            # No aws:SourceAccount condition here: EC2 does not send it when it assumes an
            # instance profile role, so the condition would lock the instances out. Only
            # principals allowed iam:PassRole on this role can attach it to an instance.
            assume_role_policy=iam.service_trust("ec2.amazonaws.com"),
        )
        # What the ECS agent needs to register and run tasks, and what SSM needs to manage the
        # instance (patching, Session Manager instead of SSH); nothing else.
        for purpose, arn in (
            ("ecs-agent", f"arn:{part}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"),
            ("ssm-core", f"arn:{part}:iam::aws:policy/AmazonSSMManagedInstanceCore"),
        ):
            aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                self, f"instance-role-{purpose}", role=role.name, policy_arn=arn
            )
        profile = aws.iam_instance_profile.IamInstanceProfile(
            self, "instance-profile", name=f"{props.name}-ecs-instance", role=role.name
        )

        group_id = security_group(
            self,
            "instance-security-group",
            name=f"{props.name}-ecs-instances",
            description="ECS container instances: no inbound, HTTPS out to AWS APIs",
            vpc_id=props.vpc_id,
        )
        # Tasks use awsvpc networking with their own security groups, so the hosts take no
        # inbound traffic at all; the agent, ECR and SSM are reached over HTTPS.
        tcp_rule(
            self,
            "instance-https-out",
            direction="egress",
            group_id=group_id,
            port=443,
            description="HTTPS to AWS APIs (ECS, ECR, SSM, CloudWatch) via NAT or endpoints",
            cidr_ipv4="0.0.0.0/0",
        )

        # Auto Scaling launches the instances with its service-linked role, which may only use a
        # customer managed key for their encrypted volumes when the key grants it.
        grant = aws.kms_grant.KmsGrant(
            self,
            "autoscaling-volume-key-grant",
            name=f"{props.name}-autoscaling-ebs",
            key_id=props.kms_key_arn,
            grantee_principal=(
                f"arn:{part}:iam::{props.account_id}:role/aws-service-role/"
                "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
            ),
            operations=[
                "CreateGrant",
                "Decrypt",
                "DescribeKey",
                "Encrypt",
                "GenerateDataKey",
                "GenerateDataKeyWithoutPlaintext",
                "ReEncryptFrom",
                "ReEncryptTo",
            ],
        )

        ami = aws.data_aws_ssm_parameter.DataAwsSsmParameter(self, "ecs-ami", name=ECS_AMI_PARAMETER)
        user_data = f"#!/bin/bash\necho ECS_CLUSTER={props.cluster_name} >> /etc/ecs/ecs.config\n"
        lt = aws.launch_template
        template = lt.LaunchTemplate(
            self,
            "launch-template",
            name=f"{props.name}-ecs-instances",
            # Public, non-secret parameter: insecure_value keeps the AMI id readable in plans.
            image_id=ami.insecure_value,
            instance_type=props.instance_type,
            iam_instance_profile=lt.LaunchTemplateIamInstanceProfile(arn=profile.arn),
            vpc_security_group_ids=[group_id],
            update_default_version=True,
            # Encoded here, not with Fn.base64encode: the plan shows the final value.
            user_data=base64.b64encode(user_data.encode()).decode(),
            metadata_options=lt.LaunchTemplateMetadataOptions(
                http_endpoint="enabled",
                http_tokens="required",  # IMDSv2 only
                # One hop: containers (one network hop further) cannot reach the instance's
                # credentials; tasks get theirs from the ECS agent instead.
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                lt.LaunchTemplateBlockDeviceMappings(
                    device_name=ECS_AMI_ROOT_DEVICE,
                    ebs=lt.LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=props.instance_volume_gb,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=props.kms_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                lt.LaunchTemplateTagSpecifications(
                    resource_type=kind, tags={"Name": f"{props.name}-ecs-instance"}
                )
                for kind in ("instance", "volume")
            ],
        )
        asg = aws.autoscaling_group
        group_of_instances = asg.AutoscalingGroup(
            self,
            "autoscaling-group",
            name=f"{props.name}-ecs-instances",
            min_size=props.instance_min,
            max_size=props.instance_max,
            vpc_zone_identifier=list(props.private_subnet_ids),
            launch_template=asg.AutoscalingGroupLaunchTemplate(id=template.id, version="$Latest"),
            health_check_type="EC2",
            # Managed termination protection requires it: ECS decides which instances are free.
            protect_from_scale_in=True,
            # Protected instances never leave on scale-in; a deliberate destroy must not hang.
            force_delete=True,
            tag=[
                asg.AutoscalingGroupTag(key="AmazonECSManaged", value="true", propagate_at_launch=True),
            ],
            depends_on=[grant],
        )
        cp = aws.ecs_capacity_provider
        provider = cp.EcsCapacityProvider(
            self,
            "capacity-provider",
            name=f"{props.name}-ec2",
            auto_scaling_group_provider=cp.EcsCapacityProviderAutoScalingGroupProvider(
                auto_scaling_group_arn=group_of_instances.arn,
                managed_termination_protection="ENABLED",
                managed_draining="ENABLED",
                managed_scaling=cp.EcsCapacityProviderAutoScalingGroupProviderManagedScaling(
                    status="ENABLED", target_capacity=100
                ),
            ),
        )
        self.instance_security_group_id = group_id
        self.instance_role_name = role.name
        return provider.name
