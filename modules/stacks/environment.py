"""The environment stack: one per environments/<env>.toml, the same module pattern at different sizes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modules.cdk import Construct, TerraformOutput, TerraformStack
from modules.compute import Cluster, ClusterProps, Repositories, RepositoriesProps, Service, ServiceProps
from modules.config import Environment, ServiceConfig
from modules.config.delivery import github_oidc_provider_arn, github_role_name
from modules.core import naming
from modules.data import server_access_log_bucket
from modules.data.buckets import ACCESS_LOG_BUCKET_ID, ACCESS_LOG_DAYS, ACCESS_LOG_NONCURRENT_VERSION_DAYS
from modules.delivery import targets
from modules.delivery.codepipeline import (
    CodeConnection,
    CodeConnectionProps,
    ServicePipeline,
    ServicePipelineProps,
    artifact_bucket_name,
)
from modules.delivery.codepipeline.pipeline import pipeline_log_bucket_name
from modules.delivery.github import DeployedService, GitHubOidcProvider, GitHubRoles, GitHubRolesProps
from modules.edge import (
    InternalLoadBalancers,
    InternalLoadBalancersProps,
    LoadBalancerLogs,
    LoadBalancerLogsProps,
    PublicLoadBalancer,
    PublicLoadBalancerProps,
)
from modules.edge.access_logs import INTERNAL_ALB_LOG_PREFIX, PUBLIC_ALB_LOG_PREFIX
from modules.network import Network, NetworkProps
from modules.notifications.discord import NotifierPackage, build_package
from modules.notifications.discord.notifier import DiscordNotifier, DiscordNotifierProps
from modules.notifications.events import EventRules, EventRulesProps
from modules.notifications.topics import Topics, TopicsProps
from modules.observability import (
    Alarms,
    AlarmsProps,
    AuditAlarms,
    AuditAlarmsProps,
    Dashboard,
    DashboardProps,
    NotifierWatch,
    Tracing,
    TracingProps,
    WatchedResources,
)
from modules.security import (
    EnvironmentKey,
    EnvironmentKeyProps,
    PeopleRoles,
    PeopleRolesProps,
    Secrets,
    SecretsProps,
)
from modules.stacks.account import AccountServices
from modules.stacks.data import DataStores
from modules.stacks.providers import StateRole, aws_provider, cloud_backend, s3_backend


def stack_packages(env: Environment) -> tuple[NotifierPackage, ...]:
    """The Lambda packages the environment's stack references by relative file name, which the
    synth writes beside its cdk.tf.json: the Discord notifier's, when `[notifications]` names its
    webhook secret."""
    if env.config.notifications.discord_webhook_secret is None:
        return ()
    return (build_package(),)


@dataclass(frozen=True)
class ServiceFronts:
    """The cluster the services run on and the load balancers in front of them (None: not needed)."""

    cluster: Cluster
    public: PublicLoadBalancer | None
    internal: InternalLoadBalancers | None
    repositories: Repositories
    services: Mapping[str, Service]  # by service name


class EnvironmentStack(TerraformStack):
    """Provider and backend for one environment, then its constructs, composed here and only here.

    Data flows one way: config -> props -> construct -> attributes -> the next construct's props.
    """

    def __init__(self, scope: Construct, env: Environment) -> None:
        super().__init__(scope, env.name)
        self._provider_and_backend(env)

        key = EnvironmentKey(self, "key", EnvironmentKeyProps.of(env))
        network = Network(self, "network", NetworkProps.of(env, key.arn))
        secrets = Secrets(self, "secrets", SecretsProps.of(env, key.arn))

        TerraformOutput(self, "vpc_id", value=network.vpc_id, description="The environment's VPC")
        TerraformOutput(
            self, "public_subnet_ids", value=network.public_subnet_ids, description="One per zone"
        )
        TerraformOutput(
            self, "private_subnet_ids", value=network.private_subnet_ids, description="One per zone"
        )
        TerraformOutput(self, "kms_key_arn", value=key.arn, description="The environment's KMS key")

        account = None
        if env.config.account.owner:
            account = AccountServices(self, "account", env, key.arn)
            if account.trail_arn is not None:
                TerraformOutput(self, "trail_arn", value=account.trail_arn, description="The account's trail")
            if account.detector_id is not None:
                TerraformOutput(
                    self,
                    "guardduty_detector_id",
                    value=account.detector_id,
                    description="GuardDuty in this region",
                )

        # Before the services: a service's container carries its stores' connection settings.
        stores = DataStores(self, env, key.arn, network)
        stores.outputs(self)

        fronts = self._services(env, key, network, secrets, stores) if env.services else None
        cluster = fronts.cluster if fronts is not None else None
        topics = self._watch(env, key, network, secrets, stores, fronts, account)
        self._delivery(env, key, fronts, topics)
        if env.config.access.levels:
            cluster_arn = cluster.arn if cluster is not None else None
            people = PeopleRoles(self, "access", PeopleRolesProps.of(env, key.arn, cluster_arn))
            TerraformOutput(
                self, "people_role_arns", value=people.role_arns, description="Roles for people, by level"
            )

    def _provider_and_backend(self, env: Environment) -> None:
        """S3 state (the bootstrap bucket) or a Terraform Cloud workspace, never both.

        A cloud environment's provider assumes no role: a Terraform Cloud run already holds the plan
        or apply role of the environment's own account (dynamic provider credentials, roles made by
        the bootstrap stack); its `assume_role_arn` is only how the bootstrap stack reaches that
        account. An S3 environment's provider assumes `assume_role_arn` when set, and so does its
        backend when the state lives in another account.
        """
        cloud = env.backend == "cloud"
        aws_provider(
            self,
            region=env.region,
            account_id=env.account_id,
            tags=env.tags,
            assume_role_arn=None if cloud else env.config.assume_role_arn,
            session_name=f"{env.prefix}-terraform",
        )
        if cloud:
            assert env.project.cloud is not None and env.workspace is not None  # the loader's rules
            cloud_backend(self, env.project.cloud, env.workspace)
            return
        s3_backend(
            self,
            env.project,
            env.name,
            # The state account grants this environment's role its own prefix (bootstrap stack).
            cross_account_role=StateRole(env.config.assume_role_arn, f"{env.prefix}-terraform-state")
            if not env.in_state_account and env.config.assume_role_arn
            else None,
        )

    def _watch(
        self,
        env: Environment,
        key: EnvironmentKey,
        network: Network,
        secrets: Secrets,
        stores: DataStores,
        fronts: ServiceFronts | None,
        account: AccountServices | None,
    ) -> Topics:
        """The alerts and deployments topics, the events that reach them, the Discord notifier, and
        what watches the rest: the default alarm set, the dashboard and, with the account's trail,
        the CIS audit alarms."""
        topics = Topics(self, "topics", TopicsProps.of(env))
        EventRules(
            self,
            "events",
            EventRulesProps.of(
                env,
                alerts_topic_arn=topics.alerts_topic_arn,
                deployments_topic_arn=topics.deployments_topic_arn,
                cluster_name=fronts.cluster.plain_name if fronts is not None else None,
            ),
        )
        notifier = None
        for package in stack_packages(env):
            notifier = DiscordNotifier(
                self,
                "discord-notifier",
                DiscordNotifierProps.of(
                    env,
                    package=package,
                    secret_arns=secrets.secret_arns,
                    kms_key_arn=key.arn,
                    alerts_topic_arn=topics.alerts_topic_arn,
                    deployments_topic_arn=topics.deployments_topic_arn,
                ),
            )
        public = fronts.public if fronts is not None else None
        internal = fronts.internal if fronts is not None else None
        watched = WatchedResources.of(
            env,
            public_alb_arn_suffix=public.arn_suffix if public is not None else None,
            internal_alb_arn_suffix=internal.alb_arn_suffix if internal is not None else None,
            nlb_arn_suffix=internal.nlb_arn_suffix if internal is not None else None,
            target_group_arn_suffixes={
                **(public.target_group_arn_suffixes if public is not None else {}),
                **(internal.target_group_arn_suffixes if internal is not None else {}),
            },
            cluster_name=fronts.cluster.plain_name if fronts is not None else None,
            database_instance_ids=stores.database.instance_identifiers if stores.database is not None else (),
            cache_member_ids=stores.cache.member_cluster_ids if stores.cache is not None else (),
            nat_gateway_ids=network.nat_gateway_ids_by_zone,
            notifier=NotifierWatch(notifier.function_name, notifier.dead_letter_queue_name)
            if notifier is not None
            else None,
        )
        Alarms(self, "alarms", AlarmsProps.of(env, watched, alerts_topic_arn=topics.alerts_topic_arn))
        Dashboard(self, "dashboard", DashboardProps.of(env, watched))
        if any(env.traced(service) for service in env.services):
            Tracing(self, "tracing", TracingProps.of(env))
        if account is not None and account.trail_log_group_name is not None:
            AuditAlarms(
                self,
                "audit-alarms",
                AuditAlarmsProps.of(
                    env, log_group_name=account.trail_log_group_name, alerts_topic_arn=topics.alerts_topic_arn
                ),
            )
        TerraformOutput(
            self, "alerts_topic_arn", value=topics.alerts_topic_arn, description="Alarms and alerts"
        )
        TerraformOutput(
            self,
            "deployments_topic_arn",
            value=topics.deployments_topic_arn,
            description="Failed and rolled-back deployments",
        )
        return topics

    def _delivery(
        self, env: Environment, key: EnvironmentKey, fronts: ServiceFronts | None, topics: Topics
    ) -> None:
        """github: the account's OIDC provider (in its owner) and the environment's deploy, plan and
        apply roles; codepipeline: a pipeline per delivered service (and the connection, when the
        config asks for one to be created)."""
        delivered = [s for s in env.services if env.delivered(s)] if fronts is not None else []
        if env.delivery_mode == "github":
            self._github(env, fronts, delivered)
        elif env.delivery_mode == "codepipeline" and delivered:
            assert fronts is not None
            self._pipelines(env, key, fronts, delivered, topics)

    def _github(self, env: Environment, fronts: ServiceFronts | None, delivered: list[ServiceConfig]) -> None:
        partition = naming.partition(env.region)
        provider_arn = github_oidc_provider_arn(partition, env.account_id)
        if env.creates_github_provider:
            provider_arn = GitHubOidcProvider(self, "github-oidc").arn
        repository = env.project.delivery.repository
        assert repository is not None  # the schema's rule for a delivery mode
        upstream = targets.upstream_repositories_arn(env)
        deployed = tuple(
            DeployedService(
                name=service.name,
                repository_arn=fronts.repositories.repository_arns[service.name],
                # Built from names, not the service's id: known at plan time even when a change
                # replaces the service, so the role's policy does not churn with it.
                service_arn=f"arn:{partition}:ecs:{env.region}:{env.account_id}:service/"
                f"{fronts.cluster.plain_name}/{env.prefix}-{service.name}",
                task_role_arn=fronts.services[service.name].task_role_arn,
                execution_role_arn=fronts.services[service.name].execution_role_arn,
                task_definition_family=fronts.services[service.name].task_definition_family,
            )
            for service in delivered
            if fronts is not None
        )
        roles = GitHubRoles(
            self,
            "github",
            GitHubRolesProps(
                environment=env.name,
                partition=partition,
                region=env.region,
                account_id=env.account_id,
                repository=repository,
                provider_arn=provider_arn,
                deploy_role_name=github_role_name(env.project.name, env.name, "deploy"),
                plan_role_name=github_role_name(env.project.name, env.name, "plan"),
                apply_role_name=github_role_name(env.project.name, env.name, "apply"),
                deploy_subject=targets.subject(env, "deploy"),
                plan_subject=targets.subject(env, "plan"),
                apply_subject=targets.subject(env, "apply"),
                services=deployed,
                upstream_repository_arns=(upstream,) if upstream is not None else (),
                terraform=targets.state_access(env),
                secret_prefix=f"{env.project.name}/{env.name}",
            ),
        )
        arns = {
            purpose: arn
            for purpose, arn in (
                ("deploy", roles.deploy_role_arn),
                ("plan", roles.plan_role_arn),
                ("apply", roles.apply_role_arn),
            )
            if arn is not None
        }
        if arns:
            TerraformOutput(
                self,
                "github_role_arns",
                value=arns,
                description="Roles GitHub Actions jobs assume, by purpose",
            )

    def _pipelines(
        self,
        env: Environment,
        key: EnvironmentKey,
        fronts: ServiceFronts,
        delivered: list[ServiceConfig],
        topics: Topics,
    ) -> None:
        connection = env.delivery_connection
        assert connection is not None and env.project.delivery.repository is not None  # the schema's rules
        connection_arn = (
            CodeConnection(self, "codeconnection", CodeConnectionProps(env.prefix)).arn
            if connection == "create"
            else connection
        )
        scope = Construct(self, "pipelines")
        partition, account, region = naming.partition(env.region), env.account_id, env.region
        # One bucket for the S3 server access logs of the environment's artifact buckets.
        logs = server_access_log_bucket(
            scope,
            ACCESS_LOG_BUCKET_ID,  # longer than a slug: never a service's ID
            name=pipeline_log_bucket_name(env.prefix, account, region),
            partition=partition,
            account_id=account,
            source_bucket_names=[
                artifact_bucket_name(env.prefix, s.name, account, region) for s in delivered
            ],
            expiration_days=ACCESS_LOG_DAYS,
            noncurrent_version_days=ACCESS_LOG_NONCURRENT_VERSION_DAYS,
        )
        names = {}
        for service in delivered:
            running = fronts.services[service.name]
            pipeline = ServicePipeline(
                scope,
                service.name,
                ServicePipelineProps(
                    prefix=env.prefix,
                    service=service.name,
                    partition=partition,
                    region=region,
                    account_id=account,
                    kms_key_arn=key.arn,
                    repository=env.project.delivery.repository,
                    branch=env.project.delivery.branch,
                    source=service.build_context,
                    connection_arn=connection_arn,
                    repository_url=fronts.repositories.repository_urls[service.name],
                    repository_arn=fronts.repositories.repository_arns[service.name],
                    cluster_name=fronts.cluster.plain_name,
                    ecs_service_name=running.name,
                    task_definition_family=running.task_definition_family,
                    container_name=service.name,
                    task_role_arn=running.task_role_arn,
                    execution_role_arn=running.execution_role_arn,
                    log_retention_days=env.config.cluster.log_retention_days,
                    approval=env.config.profile == "production",
                    deployments_topic_arn=topics.deployments_topic_arn,
                    # Through the log bucket's policy: S3 refuses a logging target that does not
                    # admit log delivery yet.
                    access_log_bucket=logs.policy.bucket,
                ),
            )
            names[service.name] = pipeline.pipeline_name
        TerraformOutput(self, "pipeline_names", value=names, description="CodePipeline per service")

    def _services(
        self, env: Environment, key: EnvironmentKey, network: Network, secrets: Secrets, stores: DataStores
    ) -> ServiceFronts:
        """ECR, the ECS cluster, load balancers and one ECS service per `[[services]]`, then the
        network paths between them: each load balancer to its services, each caller to the
        internal services and the stores it `uses`."""
        services = env.services
        repositories = Repositories(self, "repositories", RepositoriesProps.of(env, key.arn))
        cluster = Cluster(
            self, "cluster", ClusterProps.of(env, key.arn, network.vpc_id, network.private_subnet_ids)
        )

        # One access-log bucket for the environment's ALBs (public HTTP and internal HTTP services).
        public_alb = any(s.public for s in services)
        internal_alb = any(not s.public and s.protocol == "http" for s in services)
        log_prefixes = []
        if public_alb:
            log_prefixes.append(PUBLIC_ALB_LOG_PREFIX)
        if internal_alb:
            log_prefixes.append(INTERNAL_ALB_LOG_PREFIX)
        logs = None
        if log_prefixes:
            logs = LoadBalancerLogs(
                self, "lb-access-logs", LoadBalancerLogsProps.of(env, tuple(log_prefixes))
            )

        public = None
        if public_alb:
            assert logs is not None
            public = PublicLoadBalancer(
                self,
                "public-alb",
                PublicLoadBalancerProps.of(
                    env,
                    vpc_id=network.vpc_id,
                    public_subnet_ids=network.public_subnet_ids,
                    access_log_bucket=logs.bucket_name,
                ),
            )
            scheme = "http" if env.config.edge.http_only else "https"
            TerraformOutput(
                self, "public_alb_dns_name", value=public.dns_name, description=f"Public ALB ({scheme})"
            )
        internal = None
        if any(not s.public for s in services):
            internal = InternalLoadBalancers(
                self,
                "internal-lb",
                InternalLoadBalancersProps.of(
                    env,
                    vpc_id=network.vpc_id,
                    private_subnet_ids=network.private_subnet_ids,
                    access_log_bucket=logs.bucket_name if internal_alb and logs is not None else None,
                ),
            )

        # A parent scope keeps service names (chosen by users) from clashing with the IDs above.
        services_scope = Construct(self, "services")
        running: dict[str, Service] = {}
        for service in services:
            balancer = public if service.public else internal
            assert balancer is not None
            request_label = None
            if public is not None and service.public:
                request_label = f"{public.arn_suffix}/{public.target_group_arn_suffixes[service.name]}"
            running[service.name] = Service(
                services_scope,
                service.name,
                ServiceProps.of(
                    env,
                    service,
                    cluster=cluster,
                    repositories=repositories,
                    kms_key_arn=key.arn,
                    subnet_ids=network.private_subnet_ids,
                    vpc_id=network.vpc_id,
                    target_group_arn=balancer.target_group_arns[service.name],
                    request_count_resource_label=request_label,
                    # ECS refuses a target group that no listener forwards to yet.
                    depends_on=(balancer.listener_rules[service.name],),
                    secret_arns=secrets.secret_arns,
                    parameter_arns=secrets.parameter_arns,
                    grant=stores.grant(service),
                ),
            )

        # Network paths, each opened by the side being reached: load balancer -> its services,
        # then caller tasks -> the internal load balancer in front of each service they use.
        for service in services:
            if service.public:
                assert public is not None
                running[service.name].allow_from("public-alb", public.security_group_id)
            else:
                assert internal is not None
                front = "internal-alb" if service.protocol == "http" else "internal-nlb"
                running[service.name].allow_from(front, internal.security_group_ids[service.name])
        for caller in services:
            for callee in caller.called_services:
                assert internal is not None  # the schema allows `service:` uses of internal services only
                internal.allow_from(f"{caller.name}-tasks", running[caller.name].security_group_id, callee)
            stores.connect(caller, running[caller.name].security_group_id)

        TerraformOutput(self, "cluster_name", value=cluster.name, description="The ECS cluster")
        if repositories.repository_urls:
            TerraformOutput(
                self,
                "repository_urls",
                value=dict(sorted(repositories.repository_urls.items())),
                description="ECR repository per service",
            )
        if internal is not None and internal.alb_dns_name is not None:
            TerraformOutput(
                self, "internal_alb_dns_name", value=internal.alb_dns_name, description="Internal ALB"
            )
        if internal is not None and internal.nlb_dns_name is not None:
            TerraformOutput(
                self, "internal_nlb_dns_name", value=internal.nlb_dns_name, description="Internal NLB"
            )
        return ServiceFronts(cluster, public, internal, repositories, running)
