"""One configured service on the ECS cluster: log group, roles, task definition, service, autoscaling."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from modules.cdk import Construct, TerraformResourceLifecycle, aws
from modules.compute.cluster import Cluster
from modules.compute.registry import Repositories
from modules.compute.service.autoscaling import target_tracking
from modules.compute.service.container import (
    container_definitions,
    container_variables,
    mount_points,
    with_additions,
)
from modules.compute.service.permissions import (
    SecretReference,
    exec_statements,
    execution_statements,
    resolve_secret,
    unique_sids,
)
from modules.config import Environment, ServiceConfig
from modules.core import iam, naming
from modules.data.grant import StoreGrant
from modules.network import PeerAdmission, security_group, tcp_rule
from modules.observability.hooks import service_additions
from modules.observability.sidecar import TaskAdditions

IAM_ROLE_NAME_LIMIT = 64


@dataclass(frozen=True)
class ServiceProps:
    """What one service needs; the service's own settings are its validated `[[services]]` entry."""

    prefix: str  # "<project>-<env>": names are "<prefix>-<service>[-purpose]"
    log_group_prefix: str  # "/<project>/<env>": the log group is "<it>/services/<service>"
    region: str
    account_id: str
    service: ServiceConfig
    cluster_name: str  # Cluster.name: carries the dependency on the capacity provider association
    capacity_provider_strategy: tuple[tuple[str, int, int], ...]  # (provider, weight, base)
    launch_type_is_ec2: bool  # task definition compatibility EC2 instead of FARGATE
    kms_key_arn: str  # the env key: log group encryption, secrets/parameters decryption, exec
    subnet_ids: tuple[str, ...]  # private subnets: tasks never get public IPs
    vpc_id: str  # where the tasks' security group lives
    log_retention_days: int
    exec_enabled: bool  # ECS exec into tasks: the task role gets the SSM channel and audit-log rights
    exec_log_group_arn: str | None  # Cluster.exec_log_group_arn; required when exec_enabled
    deploy_owner: Literal["terraform", "pipeline"]
    min_healthy_percent: int
    max_percent: int
    health_check_grace_seconds: int  # used only with a load balancer
    repository_url: str | None  # the service's ECR repository; None when `image` is external
    repository_arn: str | None
    target_group_arn: str | None  # None: no load balancer attachment
    request_count_resource_label: str | None  # "<lb arn suffix>/<tg arn suffix>" for ALB requests
    depends_on: tuple[Any, ...]  # e.g. the listener rule: ECS refuses a target group no LB uses yet
    secret_arns: Mapping[str, str]  # Secrets.secret_arns: `secret:<name>` -> ARN
    parameter_arns: Mapping[str, str]  # Secrets.parameter_arns: `parameter:<name>` -> ARN
    grant: StoreGrant  # what the stores it `uses` give it, combined (modules.data.grant.combined)
    # What its observability hooks add: the X-Ray daemon when traced, then the APM's; () for neither.
    additions: tuple[TaskAdditions, ...]

    @classmethod
    def of(
        cls,
        env: Environment,
        service: ServiceConfig,
        *,
        cluster: Cluster,
        repositories: Repositories,
        kms_key_arn: str,
        subnet_ids: list[str],
        vpc_id: str,
        target_group_arn: str | None,
        request_count_resource_label: str | None,
        depends_on: tuple[Any, ...],
        secret_arns: Mapping[str, str],
        parameter_arns: Mapping[str, str],
        grant: StoreGrant,
    ) -> ServiceProps:
        settings = env.config.cluster
        return cls(
            prefix=env.prefix,
            log_group_prefix=env.log_group_prefix,
            region=env.region,
            account_id=env.account_id,
            service=service,
            cluster_name=cluster.name,
            capacity_provider_strategy=cluster.capacity_provider_strategy,
            launch_type_is_ec2=cluster.launch_type_is_ec2,
            kms_key_arn=kms_key_arn,
            subnet_ids=tuple(subnet_ids),
            vpc_id=vpc_id,
            log_retention_days=settings.log_retention_days,
            exec_enabled=settings.exec_enabled,
            exec_log_group_arn=cluster.exec_log_group_arn,
            deploy_owner=env.deploy_owner(service),
            min_healthy_percent=settings.min_healthy_percent,
            max_percent=settings.max_percent,
            health_check_grace_seconds=settings.health_check_grace_seconds,
            repository_url=repositories.repository_urls.get(service.name),
            repository_arn=repositories.repository_arns.get(service.name),
            target_group_arn=target_group_arn,
            request_count_resource_label=request_count_resource_label,
            depends_on=depends_on,
            secret_arns=secret_arns,
            parameter_arns=parameter_arns,
            grant=grant,
            additions=service_additions(env, service, secret_arns),
        )

    @property
    def name(self) -> str:
        return f"{self.prefix}-{self.service.name}"

    @property
    def secrets(self) -> dict[str, SecretReference]:
        return {
            var: resolve_secret(ref, self.region, self.account_id, self.secret_arns, self.parameter_arns)
            for var, ref in sorted(self.service.secrets.items())
        }

    @property
    def addition_secrets(self) -> list[SecretReference]:
        """The declared secrets the hooks' containers reference (the APM key), for the execution role."""
        return [
            SecretReference("secretsmanager", arn, arn)
            for hook in self.additions
            for arn in hook.execution_secret_arns
        ]


class Service(PeerAdmission, Construct):
    """A service on the cluster: its log group, execution and task roles, task definition, ECS
    service and, when min_count < max_count, target tracking autoscaling.

    The execution role may pull only its own repository, write only its log group and read only
    the secrets and parameters the task references. The task role has only what the stores the
    service `uses` grant it (`props.grant`), and what ECS exec needs when exec is enabled. The
    grant's variables, secrets and EFS mounts go into the container beside the service's own (the
    grant's secrets readable through its execution statements). With `deploy_owner =
    "pipeline"` Terraform ignores the running task definition and desired count, so an apply never
    reverts a CI/CD deploy; an autoscaled service always ignores desired count.

    Observability hooks (`props.additions`): a traced service runs the X-Ray daemon as a sidecar and
    its task role may write traces (policy `xray`); an APM adds its agent sidecar and variables,
    its key reaching the containers by ARN through the execution role. Without either, the task
    definition holds the one app container.

    The tasks get a security group of their own with HTTPS out only; `allow_from` admits a peer
    (a load balancer, a calling service's tasks) on the service port.

    Exposes `name`, `arn` (= `id`), `security_group_id`, `task_role_arn`, `task_role_name`,
    `execution_role_arn`, `execution_role_name`, `log_group_name` and `task_definition_family`.
    """

    def __init__(self, scope: Construct, id: str, props: ServiceProps) -> None:
        super().__init__(scope, id)
        service = props.service
        # allow_from (PeerAdmission): peers reach the tasks on the service port.
        self.admitted_as = f"{service.name}-tasks"
        self.admitted_port = service.port
        if props.exec_enabled and props.exec_log_group_arn is None:
            raise ValueError("exec_enabled needs exec_log_group_arn (Cluster.exec_log_group_arn)")
        if service.image is None and props.repository_arn is None:
            raise ValueError(f"{props.name}: the image comes from ECR but no repository_arn was given")
        log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"{props.log_group_prefix}/services/{service.name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        # The tasks' own group: HTTPS out only; whoever may reach the tasks is admitted by allow_from.
        self.security_group_id: str = security_group(
            self,
            "security-group",
            name=f"{props.name}-tasks",
            description=f"Tasks of service {service.name} ({props.prefix})",
            vpc_id=props.vpc_id,
        )
        tcp_rule(
            self,
            "https-egress",
            direction="egress",
            group_id=self.security_group_id,
            port=443,
            description="HTTPS to AWS APIs, ECR and the internet (through NAT or endpoints)",
            cidr_ipv4="0.0.0.0/0",
        )
        execution_role, execution_policy = self._execution_role(props, log_group.arn)
        task_role, task_policies = self._task_role(props)

        td = aws.ecs_task_definition
        environment, secrets, labels = with_additions(
            service.name,
            *container_variables(
                service, {var: ref.value_from for var, ref in props.secrets.items()}, props.grant
            ),
            props.additions,
        )
        mounts = mount_points(service, props.exec_enabled, props.grant.mounts)
        task_definition = td.EcsTaskDefinition(
            self,
            "task-definition",
            family=props.name,
            network_mode="awsvpc",
            requires_compatibilities=["EC2" if props.launch_type_is_ec2 else "FARGATE"],
            cpu=str(service.cpu),
            memory=str(service.memory),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            runtime_platform=td.EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            container_definitions=container_definitions(
                service,
                image=service.image or f"{props.repository_url}:{service.image_tag}",
                log_group_name=log_group.name,
                region=props.region,
                environment=environment,
                secrets=secrets,
                docker_labels=labels,
                mounts=mounts,
                exec_enabled=props.exec_enabled,
                health_check_grace_seconds=props.health_check_grace_seconds,
                sidecars=[sidecar for hook in props.additions for sidecar in hook.sidecars],
            ),
            volume=[
                td.EcsTaskDefinitionVolume(
                    name=m.volume_name,
                    efs_volume_configuration=None
                    if m.file_system is None
                    else td.EcsTaskDefinitionVolumeEfsVolumeConfiguration(
                        file_system_id=m.file_system.file_system_id,
                        # With an access point the root is the access point's own directory; ECS
                        # refuses any other value than "/" here.
                        root_directory="/",
                        transit_encryption="ENABLED",
                        # The mount authenticates as the task role, so the file system's policy
                        # and the role's ClientMount/ClientWrite statements decide what it may do.
                        authorization_config=td.EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig(
                            access_point_id=m.file_system.access_point_id, iam="ENABLED"
                        ),
                    ),
                )
                for m in mounts
            ]
            or None,
        )

        ignored = []
        if props.deploy_owner == "pipeline":
            ignored += ["task_definition", "desired_count"]
        elif service.autoscaled:
            ignored.append("desired_count")
        es = aws.ecs_service
        attached = props.target_group_arn is not None
        # No platform_version: Fargate then runs LATEST (1.4.0 or later), which EFS volumes need.
        ecs_service = es.EcsService(
            self,
            "service",
            name=props.name,
            cluster=props.cluster_name,
            task_definition=task_definition.arn,
            desired_count=service.desired_count,
            capacity_provider_strategy=[
                es.EcsServiceCapacityProviderStrategy(capacity_provider=provider, weight=weight, base=base)
                for provider, weight, base in props.capacity_provider_strategy
            ],
            network_configuration=es.EcsServiceNetworkConfiguration(
                subnets=list(props.subnet_ids),
                security_groups=[self.security_group_id],
                assign_public_ip=False,
            ),
            deployment_circuit_breaker=es.EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            deployment_minimum_healthy_percent=props.min_healthy_percent,
            deployment_maximum_percent=props.max_percent,
            health_check_grace_period_seconds=props.health_check_grace_seconds if attached else None,
            load_balancer=[
                es.EcsServiceLoadBalancer(
                    target_group_arn=props.target_group_arn,
                    container_name=service.name,
                    container_port=service.port,
                )
            ]
            if attached
            else None,
            enable_execute_command=props.exec_enabled,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            wait_for_steady_state=False,
            lifecycle=TerraformResourceLifecycle(ignore_changes=ignored) if ignored else None,
            # Tasks start as soon as the service exists: their roles must already allow the pull,
            # the log writes, the secret reads and what the application does with its stores.
            depends_on=[execution_policy, *task_policies, *props.depends_on],
        )

        if service.autoscaled:
            target_tracking(
                self,
                name=props.name,
                resource_id=f"service/{props.cluster_name}/{ecs_service.name}",
                min_count=service.min_count,
                max_count=service.max_count,
                targets=service.autoscaling,
                request_count_resource_label=props.request_count_resource_label,
            )

        self.name: str = ecs_service.name
        self.arn: str = ecs_service.id  # the provider's id of an ECS service is its ARN
        self.id: str = ecs_service.id
        self.task_role_arn: str = task_role.arn
        self.task_role_name: str = task_role.name
        self.execution_role_arn: str = execution_role.arn
        self.execution_role_name: str = execution_role.name
        self.log_group_name: str = log_group.name
        self.task_definition_family: str = task_definition.family

    # --- IAM ----------------------------------------------------------------------------------

    @staticmethod
    def _ecs_tasks_trust(props: ServiceProps) -> str:
        return iam.service_trust(
            "ecs-tasks.amazonaws.com", source_account=props.account_id, sid="EcsTasksAssumeRole"
        )

    def _execution_role(self, props: ServiceProps, log_group_arn: str):
        role = aws.iam_role.IamRole(
            self,
            "execution-role",
            name=naming.bounded(f"{props.name}-execution", IAM_ROLE_NAME_LIMIT),
            description=f"ECS agent for {props.name}: image pull, logs, referenced secrets",
            assume_role_policy=self._ecs_tasks_trust(props),
        )
        role_policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "execution-role-policy",
            name="pull-log-read-secrets",
            role=role.id,
            policy=iam.document(
                *unique_sids(
                    props.name,
                    [
                        *execution_statements(
                            repository_arn=props.repository_arn,
                            log_group_arn=log_group_arn,
                            secrets=[*props.secrets.values(), *props.addition_secrets],
                            kms_key_arn=props.kms_key_arn,
                            region=props.region,
                        ),
                        # reading the stores' secrets that the container references
                        *props.grant.execution_statements,
                    ],
                )
            ),
        )
        return role, role_policy

    def _task_role(self, props: ServiceProps):
        role = aws.iam_role.IamRole(
            self,
            "task-role",
            name=naming.bounded(f"{props.name}-task", IAM_ROLE_NAME_LIMIT),
            description=f"The application in {props.name}",
            assume_role_policy=self._ecs_tasks_trust(props),
        )
        policies = []
        if props.exec_enabled:
            policies.append(
                aws.iam_role_policy.IamRolePolicy(
                    self,
                    "task-role-exec-policy",
                    name="ecs-exec",
                    role=role.id,
                    policy=iam.document(
                        *exec_statements(
                            exec_log_group_arn=props.exec_log_group_arn,
                            kms_key_arn=props.kms_key_arn,
                            region=props.region,
                            account_id=props.account_id,
                        )
                    ),
                )
            )
        if props.grant.task_statements:
            policies.append(
                aws.iam_role_policy.IamRolePolicy(
                    self,
                    "task-role-uses-policy",
                    name="uses",
                    role=role.id,
                    policy=iam.document(*unique_sids(props.name, props.grant.task_statements)),
                )
            )
        for hook in props.additions:
            if hook.task_statements:
                policies.append(
                    aws.iam_role_policy.IamRolePolicy(
                        self,
                        f"task-role-{hook.purpose}-policy",
                        name=hook.purpose,
                        role=role.id,
                        policy=iam.document(*unique_sids(props.name, hook.task_statements)),
                    )
                )
        return role, policies
