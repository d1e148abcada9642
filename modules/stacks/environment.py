"""The environment stack: one per environments/<env>.toml, the same module pattern at different sizes."""

from __future__ import annotations

from modules.cdk import Construct, TerraformOutput, TerraformStack
from modules.compute import Cluster, ClusterProps, Repositories, RepositoriesProps, Service, ServiceProps
from modules.config import Environment
from modules.edge import (
    InternalLoadBalancers,
    InternalLoadBalancersProps,
    PublicLoadBalancer,
    PublicLoadBalancerProps,
    ServiceSecurityGroups,
    ServiceSecurityGroupsProps,
)
from modules.network import Network, NetworkProps
from modules.security import EnvironmentKey, EnvironmentKeyProps
from modules.stacks.providers import aws_provider, s3_backend


class EnvironmentStack(TerraformStack):
    """Provider and backend for one environment, then its constructs, composed here and only here.

    Data flows one way: config -> props -> construct -> attributes -> the next construct's props.
    """

    def __init__(self, scope: Construct, env: Environment) -> None:
        super().__init__(scope, env.name)
        aws_provider(
            self,
            region=env.region,
            account_id=env.account_id,
            tags=env.tags,
            assume_role_arn=env.config.assume_role_arn,
            session_name=f"{env.prefix}-terraform",
        )
        s3_backend(self, env.project, env.name)

        key = EnvironmentKey(self, "key", EnvironmentKeyProps.of(env))
        network = Network(self, "network", NetworkProps.of(env, key.arn))

        TerraformOutput(self, "vpc_id", value=network.vpc_id, description="The environment's VPC")
        TerraformOutput(
            self, "public_subnet_ids", value=network.public_subnet_ids, description="One per zone"
        )
        TerraformOutput(
            self, "private_subnet_ids", value=network.private_subnet_ids, description="One per zone"
        )
        TerraformOutput(self, "kms_key_arn", value=key.arn, description="The environment's KMS key")

        if env.services:
            self._services(env, key, network)

    def _services(self, env: Environment, key: EnvironmentKey, network: Network) -> None:
        """ECR, the ECS cluster, security groups, load balancers and one ECS service per `[[services]]`."""
        groups = ServiceSecurityGroups(
            self, "security-groups", ServiceSecurityGroupsProps.of(env, vpc_id=network.vpc_id)
        )
        repositories = Repositories(self, "repositories", RepositoriesProps.of(env, key.arn))
        cluster = Cluster(
            self, "cluster", ClusterProps.of(env, key.arn, network.vpc_id, network.private_subnet_ids)
        )

        public = None
        if groups.public_alb_id is not None:
            public = PublicLoadBalancer(
                self,
                "public-alb",
                PublicLoadBalancerProps.of(
                    env,
                    vpc_id=network.vpc_id,
                    public_subnet_ids=network.public_subnet_ids,
                    security_group_id=groups.public_alb_id,
                ),
            )
            scheme = "http" if env.config.edge.http_only else "https"
            TerraformOutput(
                self, "public_alb_dns_name", value=public.dns_name, description=f"Public ALB ({scheme})"
            )
        internal = None
        if groups.internal_alb_id is not None or groups.internal_nlb_id is not None:
            internal = InternalLoadBalancers(
                self,
                "internal-lb",
                InternalLoadBalancersProps.of(
                    env,
                    vpc_id=network.vpc_id,
                    private_subnet_ids=network.private_subnet_ids,
                    alb_security_group_id=groups.internal_alb_id,
                    nlb_security_group_id=groups.internal_nlb_id,
                    access_log_bucket=public.access_log_bucket if public is not None else None,
                ),
            )

        # A parent scope keeps service names (chosen by users) from clashing with the IDs above.
        services_scope = Construct(self, "services")
        for service in env.services:
            balancer = public if service.public else internal
            target_group_arn = balancer.target_group_arns.get(service.name) if balancer else None
            request_label = None
            if public is not None and service.public:
                request_label = f"{public.arn_suffix}/{public.target_group_arn_suffixes[service.name]}"
            Service(
                services_scope,
                service.name,
                ServiceProps.of(
                    env,
                    service,
                    cluster=cluster,
                    repositories=repositories,
                    kms_key_arn=key.arn,
                    subnet_ids=network.private_subnet_ids,
                    security_group_id=groups.task_ids[service.name],
                    target_group_arn=target_group_arn,
                    request_count_resource_label=request_label,
                    # ECS refuses a target group that no listener forwards to yet.
                    depends_on=(balancer.listener_rules[service.name],) if balancer else (),
                ),
            )

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
