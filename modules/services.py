"""One configured service on the ECS cluster: log group, roles, task definition, service, autoscaling."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from modules import naming, policy
from modules.cdk import Construct, TerraformResourceLifecycle, aws
from modules.compute import Cluster, Repositories
from modules.config import Environment
from modules.config_services import ServiceConfig
from modules.task_permissions import SecretReference, exec_statements, execution_statements, resolve_secret

IAM_ROLE_NAME_LIMIT = 64
# The container health check runs inside the image: it needs wget (busybox, alpine, debian-slim).
HEALTH_CHECK_INTERVAL = 30
HEALTH_CHECK_TIMEOUT = 5
HEALTH_CHECK_RETRIES = 3
HEALTH_CHECK_MAX_START_PERIOD = 300  # the most ECS accepts
SCALE_IN_COOLDOWN = 300  # scale in slowly: a brief dip must not drop capacity
SCALE_OUT_COOLDOWN = 60
# ECS exec's SSM agent writes under these paths; with a read-only root filesystem they are given
# task-scoped writable volumes so exec still works (aws/containers-roadmap#1359).
EXEC_WRITABLE_PATHS = (("exec-agent-state", "/var/lib/amazon"), ("exec-agent-logs", "/var/log/amazon"))


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
    security_group_id: str  # the service's task security group (created by the security groups)
    log_retention_days: int
    exec_enabled: bool  # ECS exec into tasks: the task role gets the SSM channel and audit-log rights
    exec_log_group_arn: str | None  # Cluster.exec_log_group_arn; required when exec_enabled
    deploy_owner: Literal["terraform", "pipeline"]
    min_healthy_percent: int
    max_percent: int
    health_check_grace_seconds: int  # used only with a load balancer
    repository_url: str | None = None  # the service's ECR repository; None when `image` is external
    repository_arn: str | None = None
    target_group_arn: str | None = None  # None: no load balancer attachment
    request_count_resource_label: str | None = None  # "<lb arn suffix>/<tg arn suffix>" for ALB requests
    depends_on: tuple[Any, ...] = ()  # e.g. the listener rule: ECS refuses a target group no LB uses yet

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
        security_group_id: str,
        target_group_arn: str | None = None,
        request_count_resource_label: str | None = None,
        depends_on: tuple[Any, ...] = (),
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
            security_group_id=security_group_id,
            log_retention_days=settings.log_retention_days,
            exec_enabled=settings.exec_enabled,
            exec_log_group_arn=cluster.exec_log_group_arn,
            deploy_owner=settings.deploy_owner,
            min_healthy_percent=settings.min_healthy_percent,
            max_percent=settings.max_percent,
            health_check_grace_seconds=settings.health_check_grace_seconds,
            repository_url=repositories.repository_urls.get(service.name),
            repository_arn=repositories.repository_arns.get(service.name),
            target_group_arn=target_group_arn,
            request_count_resource_label=request_count_resource_label,
            depends_on=depends_on,
        )

    @property
    def name(self) -> str:
        return f"{self.prefix}-{self.service.name}"

    @property
    def secrets(self) -> dict[str, SecretReference]:
        return {
            var: resolve_secret(ref, self.region, self.account_id)
            for var, ref in sorted(self.service.secrets.items())
        }


class Service(Construct):
    """A service on the cluster: its log group, execution and task roles, task definition, ECS
    service and, when min_count < max_count, target tracking autoscaling.

    The execution role may pull only its own repository, write only its log group and read only
    the secrets and parameters the task references. The task role has no permissions (later
    modules grant them), except what ECS exec needs when exec is enabled. With `deploy_owner =
    "pipeline"` Terraform ignores the running task definition and desired count, so an apply never
    reverts a CI/CD deploy; an autoscaled service always ignores desired count.

    Exposes `name`, `arn` (= `id`), `task_role_arn`, `task_role_name`, `execution_role_arn`,
    `execution_role_name`, `log_group_name` and `task_definition_family`.
    """

    def __init__(self, scope: Construct, id: str, props: ServiceProps) -> None:
        super().__init__(scope, id)
        service = props.service
        if props.exec_enabled and props.exec_log_group_arn is None:
            raise ValueError("exec_enabled needs exec_log_group_arn (Cluster.exec_log_group_arn)")
        log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"{props.log_group_prefix}/services/{service.name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        execution_role, execution_policy = self._execution_role(props, log_group.arn)
        task_role, task_policies = self._task_role(props)

        td = aws.ecs_task_definition
        volumes = self._exec_volumes(props)
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
            container_definitions=self.container_definitions(props, log_group.name),
            volume=[td.EcsTaskDefinitionVolume(name=name) for name, _ in volumes] or None,
        )

        ignored = []
        if props.deploy_owner == "pipeline":
            ignored += ["task_definition", "desired_count"]
        elif service.autoscaled:
            ignored.append("desired_count")
        es = aws.ecs_service
        attached = props.target_group_arn is not None
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
                security_groups=[props.security_group_id],
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
            # the log writes and the secret reads.
            depends_on=[execution_policy, *task_policies, *props.depends_on],
        )

        if service.autoscaled:
            self._autoscaling(props, ecs_service.name)

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
        return policy.service_trust(
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
            policy=policy.document(*execution_statements(props, log_group_arn)),
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
                    policy=policy.document(*exec_statements(props)),
                )
            )
        return role, policies

    # --- task definition ----------------------------------------------------------------------

    @staticmethod
    def _exec_volumes(props: ServiceProps) -> tuple[tuple[str, str], ...]:
        if props.exec_enabled and props.service.readonly_root_filesystem:
            return EXEC_WRITABLE_PATHS
        return ()

    @classmethod
    def container_definitions(cls, props: ServiceProps, log_group_name: str) -> str:
        """The one container, as deterministic JSON (sorted keys, env and secrets sorted by name)."""
        service = props.service
        image = service.image or f"{props.repository_url}:{service.image_tag}"
        container: dict[str, Any] = {
            "name": service.name,
            "image": image,
            "essential": True,
            # awsvpc: the host port is the container port; stated so a re-plan sees no change.
            "portMappings": [{"containerPort": service.port, "hostPort": service.port, "protocol": "tcp"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group_name,
                    "awslogs-region": props.region,
                    "awslogs-stream-prefix": service.name,
                },
            },
            "readonlyRootFilesystem": service.readonly_root_filesystem,
        }
        # Left out when empty: ECS drops empty lists, and a stated [] would differ on re-plan.
        if service.environment:
            container["environment"] = [
                {"name": k, "value": v} for k, v in sorted(service.environment.items())
            ]
        if service.secrets:
            container["secrets"] = [
                {"name": k, "valueFrom": ref.value_from} for k, ref in props.secrets.items()
            ]
        if service.user is not None:
            container["user"] = service.user
        if service.protocol == "http" and service.container_health_check:
            url = f"http://localhost:{service.port}{service.health_check_path}"
            container["healthCheck"] = {
                "command": ["CMD-SHELL", f"wget -qO- {url} > /dev/null || exit 1"],
                "interval": HEALTH_CHECK_INTERVAL,
                "timeout": HEALTH_CHECK_TIMEOUT,
                "retries": HEALTH_CHECK_RETRIES,
                "startPeriod": min(props.health_check_grace_seconds, HEALTH_CHECK_MAX_START_PERIOD),
            }
        if props.exec_enabled:
            # ECS exec runs its agent beside the app; an init process reaps the sessions' children.
            container["linuxParameters"] = {"initProcessEnabled": True}
        volumes = cls._exec_volumes(props)
        if volumes:
            container["mountPoints"] = [
                {"sourceVolume": name, "containerPath": path, "readOnly": False} for name, path in volumes
            ]
        return json.dumps([container], sort_keys=True)

    # --- autoscaling --------------------------------------------------------------------------

    def _autoscaling(self, props: ServiceProps, service_name: str) -> None:
        """Target tracking on CPU, memory and ALB requests per target (each when its target > 0)."""
        service = props.service
        target = aws.appautoscaling_target.AppautoscalingTarget(
            self,
            "autoscaling-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{props.cluster_name}/{service_name}",
            min_capacity=service.min_count,
            max_capacity=service.max_count,
        )
        scaling = service.autoscaling
        metrics = [
            ("cpu", "ECSServiceAverageCPUUtilization", scaling.cpu_percent, None),
            ("memory", "ECSServiceAverageMemoryUtilization", scaling.memory_percent, None),
        ]
        if props.request_count_resource_label is not None:
            metrics.append(
                (
                    "requests",
                    "ALBRequestCountPerTarget",
                    scaling.requests_per_target,
                    props.request_count_resource_label,
                )
            )
        ap = aws.appautoscaling_policy
        for purpose, metric, value, label in metrics:
            if value <= 0:
                continue
            ap.AppautoscalingPolicy(
                self,
                f"autoscaling-{purpose}",
                name=f"{props.name}-{purpose}",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=(
                    ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                        target_value=value,
                        scale_in_cooldown=SCALE_IN_COOLDOWN,
                        scale_out_cooldown=SCALE_OUT_COOLDOWN,
                        predefined_metric_specification=(
                            ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                                predefined_metric_type=metric, resource_label=label
                            )
                        ),
                    )
                ),
            )
