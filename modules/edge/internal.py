"""Internal load balancers for `public = false` services: an ALB for HTTP, an NLB for TCP.

Both sit in the private subnets and are reachable only from the task security groups
(security_groups.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment, ServiceConfig
from modules.core import naming
from modules.edge.access_logs import (
    INTERNAL_ALB_LOG_PREFIX,
    LoadBalancerLogs,
    LoadBalancerLogsProps,
    access_log_bucket_name,
)
from modules.edge.shared import (
    INTERNAL_ALB_PORT,
    application_load_balancer,
    fixed_404,
    http_target_group,
    internal_services,
    lb_name,
    listener_rule,
)


@dataclass(frozen=True)
class InternalLoadBalancersProps:
    """Load balancers for `public = false` services, in the private subnets."""

    name: str  # "<project>-<env>"
    vpc_id: str
    private_subnet_ids: tuple[str, ...]
    services: tuple[ServiceConfig, ...]  # internal services only (http and tcp)
    alb_security_group_id: str | None  # required when there is an internal http service
    nlb_security_group_id: str | None  # required when there is a tcp service
    deletion_protection: bool
    idle_timeout_seconds: int  # the internal ALB's
    deregistration_delay_seconds: int
    access_log_days: int  # retention of an own log bucket (used when access_log_bucket is None)
    region: str
    account_id: str
    partition: str
    access_log_bucket: str | None = None
    """Where the internal ALB writes access logs (pass `PublicLoadBalancer.access_log_bucket`);
    None: an own bucket is created when an internal ALB is."""

    @classmethod
    def of(
        cls,
        env: Environment,
        *,
        vpc_id: str,
        private_subnet_ids: Iterable[str],
        alb_security_group_id: str | None,
        nlb_security_group_id: str | None,
        access_log_bucket: str | None = None,
    ) -> InternalLoadBalancersProps:
        edge = env.config.edge
        return cls(
            name=env.prefix,
            vpc_id=vpc_id,
            private_subnet_ids=tuple(private_subnet_ids),
            services=internal_services(env.services),
            alb_security_group_id=alb_security_group_id,
            nlb_security_group_id=nlb_security_group_id,
            deletion_protection=edge.deletion_protection,
            idle_timeout_seconds=edge.idle_timeout_seconds,
            deregistration_delay_seconds=edge.deregistration_delay_seconds,
            access_log_days=edge.access_log_days,
            region=env.region,
            account_id=env.account_id,
            partition=naming.partition(env.region),
            access_log_bucket=access_log_bucket,
        )


class InternalLoadBalancers(Construct):
    """An internal ALB for internal HTTP services and an internal NLB for TCP services.

    Each is created only when a service needs it. The ALB listens on :80 (plain HTTP inside the
    VPC), answers 404 unless a service's rule forwards to its ip target group, drops invalid
    headers and writes access logs. The NLB has one TCP listener per service port forwarding to
    an ip target group with a TCP health check, and a security group of its own.

    Exposes `alb_arn`, `alb_arn_suffix`, `alb_dns_name`, `alb_listener_arn`, `nlb_arn`,
    `nlb_arn_suffix`, `nlb_dns_name` (each None when that load balancer is absent), and by
    service name `target_group_arns`, `target_group_arn_suffixes` and `listener_rules` (the
    ALB rule or NLB listener attaching the target group; an ECS service must `depends_on` it).
    """

    def __init__(self, scope: Construct, id: str, props: InternalLoadBalancersProps) -> None:
        super().__init__(scope, id)
        self._props = props
        self.alb_arn: str | None = None
        self.alb_arn_suffix: str | None = None
        self.alb_dns_name: str | None = None
        self.alb_listener_arn: str | None = None
        self.nlb_arn: str | None = None
        self.nlb_arn_suffix: str | None = None
        self.nlb_dns_name: str | None = None
        self.access_log_bucket: str | None = props.access_log_bucket
        self.target_group_arns: dict[str, str] = {}
        self.target_group_arn_suffixes: dict[str, str] = {}
        self.listener_rules: dict[str, Any] = {}

        http = [s for s in props.services if s.protocol == "http"]
        tcp = [s for s in props.services if s.protocol == "tcp"]
        if http:
            self._alb(http)
        if tcp:
            self._nlb(tcp)

    def _record(self, service: ServiceConfig, group: Any, attachment: Any) -> None:
        self.target_group_arns[service.name] = group.arn
        self.target_group_arn_suffixes[service.name] = group.arn_suffix
        self.listener_rules[service.name] = attachment

    def _alb(self, services: list[ServiceConfig]) -> None:
        props = self._props
        if props.alb_security_group_id is None:
            raise ValueError("internal http services need alb_security_group_id")
        log_policy = None
        bucket = props.access_log_bucket
        if bucket is None:
            logs = LoadBalancerLogs(
                self,
                "access-logs",
                LoadBalancerLogsProps(
                    bucket_name=access_log_bucket_name(
                        props.name, "internal-alb-logs", props.account_id, props.region
                    ),
                    region=props.region,
                    account_id=props.account_id,
                    partition=props.partition,
                    retention_days=props.access_log_days,
                    prefixes=(INTERNAL_ALB_LOG_PREFIX,),
                ),
            )
            bucket, log_policy = logs.bucket_name, logs.policy
            self.access_log_bucket = bucket
        lb = application_load_balancer(
            self,
            name=lb_name(props.name, "internal"),
            internal=True,
            subnet_ids=props.private_subnet_ids,
            security_group_id=props.alb_security_group_id,
            deletion_protection=props.deletion_protection,
            idle_timeout_seconds=props.idle_timeout_seconds,
            log_bucket=bucket,
            log_prefix=INTERNAL_ALB_LOG_PREFIX,
            log_bucket_policy=log_policy,
        )
        # Plain HTTP inside the VPC: only the tasks' security groups reach this listener.
        listener = aws.lb_listener.LbListener(
            self,
            "alb-http",
            load_balancer_arn=lb.arn,
            port=INTERNAL_ALB_PORT,
            protocol="HTTP",
            default_action=[fixed_404()],
        )
        for service in services:
            group = http_target_group(
                self, props.name, service, props.vpc_id, props.deregistration_delay_seconds
            )
            self._record(service, group, listener_rule(self, service, listener.arn, group.arn))
        self.alb_arn, self.alb_arn_suffix, self.alb_dns_name = lb.arn, lb.arn_suffix, lb.dns_name
        self.alb_listener_arn = listener.arn

    def _nlb(self, services: list[ServiceConfig]) -> None:
        props = self._props
        if props.nlb_security_group_id is None:
            raise ValueError("tcp services need nlb_security_group_id")
        lb = aws.lb.Lb(
            self,
            "nlb",
            name=lb_name(props.name, "nlb"),
            load_balancer_type="network",
            internal=True,
            ip_address_type="ipv4",
            subnets=list(props.private_subnet_ids),
            # An NLB takes security groups only when created with them.
            security_groups=[props.nlb_security_group_id],
            # Tasks may run in fewer zones than the NLB has nodes; without cross-zone a node whose
            # zone has no healthy task drops its share of connections.
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=props.deletion_protection,
            tags={"Name": lb_name(props.name, "nlb")},
        )
        tg = aws.lb_target_group
        lst = aws.lb_listener
        for service in services:
            group = tg.LbTargetGroup(
                self,
                f"{service.name}-target-group",
                name=lb_name(props.name, service.name),
                target_type="ip",
                protocol="TCP",
                port=service.port,
                vpc_id=props.vpc_id,
                deregistration_delay=str(props.deregistration_delay_seconds),
                # The tasks' group admits the NLB's group, so they must see the NLB as source.
                preserve_client_ip="false",
                health_check=tg.LbTargetGroupHealthCheck(
                    enabled=True,
                    protocol="TCP",
                    port="traffic-port",
                    interval=30,
                    healthy_threshold=3,
                    unhealthy_threshold=3,
                ),
                tags={"Name": lb_name(props.name, service.name), "Service": service.name},
            )
            listener = lst.LbListener(
                self,
                f"{service.name}-tcp",
                load_balancer_arn=lb.arn,
                port=service.port,
                protocol="TCP",
                default_action=[lst.LbListenerDefaultAction(type="forward", target_group_arn=group.arn)],
            )
            self._record(service, group, listener)
        self.nlb_arn, self.nlb_arn_suffix, self.nlb_dns_name = lb.arn, lb.arn_suffix, lb.dns_name
