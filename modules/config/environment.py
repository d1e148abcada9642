"""An environment file's schema, and the resolved `Environment` and `Platform` the stacks are built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from modules.config.access import AccessConfig
from modules.config.account import AccountConfig
from modules.config.cloud import Backend, workspace_name
from modules.config.compute import ClusterConfig
from modules.config.data import BucketConfig, CacheConfig, DatabaseConfig, FilesystemConfig
from modules.config.delivery import Connection, DeliveryMode, EnvironmentDeliveryConfig
from modules.config.edge import DomainConfig, EdgeConfig
from modules.config.network import NetworkConfig
from modules.config.observability import AlarmsConfig, ApmConfig, NotificationsConfig, TracingConfig
from modules.config.profiles import DEFAULT_PROFILE, ProfileName
from modules.config.project import ProjectConfig, default_tags
from modules.config.secrets import ParameterConfig, SecretConfig
from modules.config.services import ServiceConfig
from modules.config.state_access import StatePrincipal
from modules.config.types import AccountId, Region, RoleArn, Strict, WorkspaceName


class EnvironmentConfig(Strict):
    """environments/<env>.toml, after its profile's defaults were laid under it."""

    profile: ProfileName = DEFAULT_PROFILE
    """The defaults this file starts from: development (cheap) or production (safe)."""
    account_id: AccountId | None = None
    """The environment's account (the provider's `allowed_account_ids`); unset: the project's."""
    region: Region | None = None
    """The environment's region; unset: the project's."""
    assume_role_arn: RoleArn | None = None
    """Role Terraform uses in the environment's account: the provider assumes it and, for an environment
    outside the state account (where it is required), so does the S3 backend; the bootstrap stack
    grants it this environment's state."""
    backend: Backend | None = None
    """Where this environment's stack keeps state: s3 or cloud; unset: the project's `backend`."""
    workspace: WorkspaceName | None = None
    """Cloud backend only: the Terraform Cloud workspace; unset: `<project>-<env>`."""
    account: AccountConfig = AccountConfig()
    """Whether this environment owns its account's account-wide services (CloudTrail, GuardDuty,
    IAM Access Analyzer), and their settings."""
    network: NetworkConfig
    """The VPC: CIDR, zones, subnets, NAT, flow logs and endpoints."""
    compute: Literal["fargate", "ec2"] = "fargate"
    """fargate: FARGATE / FARGATE_SPOT capacity providers; ec2: an Auto Scaling Group of ECS instances."""
    cluster: ClusterConfig
    """The ECS cluster and how services run on it."""
    edge: EdgeConfig
    """The load balancers in front of the services."""
    domain: DomainConfig | None = None
    """HTTPS for the public load balancer; unset: no domain (public services then need
    `edge.http_only`)."""
    services: list[ServiceConfig] = []
    """The services of the environment, one table each."""
    secrets: list[SecretConfig] = []
    """Secrets Manager secrets of the environment, one table each; no value is ever part of the
    config."""
    parameters: list[ParameterConfig] = []
    """SSM parameters of the environment, one table each; no value is ever part of the config."""
    secret_recovery_days: int = Field(default=30, ge=7, le=30)
    """Days a deleted `[[secrets]]` secret can still be restored before Secrets Manager deletes it."""
    database: DatabaseConfig | None = None
    """The environment's relational database (RDS or Aurora); unset: none."""
    cache: CacheConfig | None = None
    """The environment's cache (ElastiCache Valkey or Redis OSS); unset: none."""
    buckets: list[BucketConfig] = []
    """Application S3 buckets (uploads, static assets, backups, logs), one table each."""
    filesystems: list[FilesystemConfig] = []
    """EFS file systems that services mount, one table each."""
    alarms: AlarmsConfig
    """The default alarm set: thresholds and evaluation window; every alarm notifies the alerts topic."""
    notifications: NotificationsConfig
    """The `alerts` and `deployments` SNS topics' subscriptions, GuardDuty's severity floor, and the
    Discord notifier."""
    tracing: TracingConfig = TracingConfig()
    """AWS X-Ray for the services: a daemon sidecar, a sampling rule and a group."""
    apm: ApmConfig | None = None
    """An external APM (Datadog, New Relic or Sentry) for the services; unset: none."""
    delivery: EnvironmentDeliveryConfig = EnvironmentDeliveryConfig()
    """This environment's own delivery mode (and CodePipeline connection); unset: project.toml's."""
    access: AccessConfig = AccessConfig()
    """The environment's roles for people (readonly, operator, admin): who may assume each, MFA
    and session length; a level with no principals has no role."""


@dataclass(frozen=True)
class Environment:
    """One environment, resolved against the project: what the stacks are built from."""

    name: str
    project: ProjectConfig
    config: EnvironmentConfig
    source: str  # the file it came from, for messages
    # The account's owner creates the account's OIDC provider for GitHub when some environment of
    # the account delivers with github (the loader decides; it sees every file).
    creates_github_provider: bool = False
    # github: the environment before this one in `[delivery] promotion` (name, account, region),
    # whose repositories this one's deploy role copies images from; None for the first.
    promoted_from: tuple[str, str, str] | None = None

    @property
    def prefix(self) -> str:
        """`<project>-<env>`: the start of every resource name in this environment."""
        return f"{self.project.name}-{self.name}"

    @property
    def log_group_prefix(self) -> str:
        """`/<project>/<env>`: the start of every CloudWatch log group name in this environment."""
        return f"/{self.project.name}/{self.name}"

    @property
    def region(self) -> str:
        return self.config.region or self.project.region

    @property
    def account_id(self) -> str:
        return self.config.account_id or self.project.account_id

    @property
    def backend(self) -> Backend:
        """Where this environment's state lives: its own `backend`, else the project's."""
        return self.config.backend or self.project.backend

    @property
    def workspace(self) -> str | None:
        """The Terraform Cloud workspace of a cloud environment (None for S3 state)."""
        if self.backend != "cloud":
            return None
        return workspace_name(self.project.name, self.name, self.config.workspace)

    @property
    def in_state_account(self) -> bool:
        """Whether the environment lives in the account of the state bucket (else the loader made
        sure it names `assume_role_arn`, which the bootstrap stack grants its state)."""
        return self.account_id == self.project.account_id

    def traced(self, service: ServiceConfig) -> bool:
        """Whether `service` runs an X-Ray daemon: its own `tracing`, else the environment's."""
        return (service.tracing or self.config.tracing.mode) == "xray"

    def apm_for(self, service: ServiceConfig) -> ApmConfig | None:
        """The environment's `[apm]` for `service`, None when there is none or the service opts out."""
        return self.config.apm if service.apm else None

    @property
    def delivery_mode(self) -> DeliveryMode:
        """How this environment's services are deployed: its own `[delivery] mode`, else the project's."""
        return self.config.delivery.mode or self.project.delivery.mode

    @property
    def delivery_connection(self) -> Connection | None:
        """codepipeline: "create" or an existing connection's ARN (its own, else the project's)."""
        return self.config.delivery.connection or self.project.delivery.connection

    def delivered(self, service: ServiceConfig) -> bool:
        """Whether a pipeline or workflow deploys `service`: a delivery mode, and an image of its own
        ECR repository (an external `image` is somebody else's to build)."""
        return self.delivery_mode != "none" and service.image is None

    def deploy_owner(self, service: ServiceConfig) -> Literal["terraform", "pipeline"]:
        """Who owns the running task definition: the pipeline for a delivered service, else `[cluster]`'s."""
        return "pipeline" if self.delivered(service) else self.config.cluster.deploy_owner

    @property
    def network(self) -> NetworkConfig:
        return self.config.network

    @property
    def services(self) -> list[ServiceConfig]:
        return self.config.services

    @property
    def tags(self) -> dict[str, str]:
        return default_tags(self.project, self.name)


@dataclass(frozen=True)
class Platform:
    """The project and its environments, in name order."""

    project: ProjectConfig
    environments: tuple[Environment, ...]
    source: str
    # Every configured environment's, also in a synth of some environments only: the bootstrap
    # stack grants them all their state.
    state_principals: tuple[StatePrincipal, ...] = ()
    # Every configured environment, in name order, whichever were selected: what the bootstrap stack
    # and the project-wide outputs (Terraform Cloud workspaces) are built from, so a synth of some
    # environments writes them exactly as a full synth does.
    all_environments: tuple[Environment, ...] = ()

    def environment(self, name: str) -> Environment:
        return next(env for env in self.environments if env.name == name)
