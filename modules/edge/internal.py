"""Internal load balancers for `public = false` services: an ALB for HTTP, an NLB for TCP.

Both sit in the private subnets, each with a security group of its own that admits only the tasks
of the services that declare they call an internal service (`uses = ["service:<name>"]`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment, ServiceConfig
from modules.edge.access_logs import INTERNAL_ALB_LOG_PREFIX
from modules.edge.shared import (
    INTERNAL_ALB_PORT,
    application_load_balancer,
    fixed_404,
    http_target_group,
    internal_services,
    lb_name,
    listener_rule,
)
from modules.network import allow_tcp, security_group


@dataclass(frozen=True)
class InternalLoadBalancersProps:
    """Load balancers for `public = false` services, in the private subnets."""

    name: str  # "<project>-<env>"
    vpc_id: str
    private_subnet_ids: tuple[str, ...]
    services: tuple[ServiceConfig, ...]  # internal services only (http and tcp)
    deletion_protection: bool
    idle_timeout_seconds: int  # the internal ALB's
    deregistration_delay_seconds: int
    access_log_bucket: str | None
    """LoadBalancerLogs.bucket_name (a reference through its bucket policy); required when there is
    an internal http service, whose ALB writes its access logs there."""

    @classmethod
    def of(
        cls,
        env: Environment,
        *,
        vpc_id: str,
        private_subnet_ids: Iterable[str],
        access_log_bucket: str | None,
    ) -> InternalLoadBalancersProps:
        edge = env.config.edge
        return cls(
            name=env.prefix,
            vpc_id=vpc_id,
            private_subnet_ids=tuple(private_subnet_ids),
            services=internal_services(env.services),
            deletion_protection=edge.deletion_protection,
            idle_timeout_seconds=edge.idle_timeout_seconds,
            deregistration_delay_seconds=edge.deregistration_delay_seconds,
            access_log_bucket=access_log_bucket,
        )


class InternalLoadBalancers(Construct):
    """An internal ALB for internal HTTP services and an internal NLB for TCP services.

    Each is created only when a service needs it, with a security group of its own that admits
    nobody until `allow_from` lets a caller reach one service. The ALB listens on :80 (plain HTTP
    inside the VPC), answers 404 unless a service's rule forwards to its ip target group, drops
    invalid headers and writes access logs. The NLB has one TCP listener per service port
    forwarding to an ip target group with a TCP health check.

    Exposes `alb_arn`, `alb_arn_suffix`, `alb_dns_name`, `alb_listener_arn`,
    `alb_security_group_id`, `nlb_arn`, `nlb_arn_suffix`, `nlb_dns_name`, `nlb_security_group_id`
    (each None when that load balancer is absent), and by service name `target_group_arns`,
    `target_group_arn_suffixes`, `listener_rules` (the ALB rule or NLB listener attaching the
    target group; an ECS service must `depends_on` it) and `security_group_ids` (the group in
    front of the service).
    """

    def __init__(self, scope: Construct, id: str, props: InternalLoadBalancersProps) -> None:
        super().__init__(scope, id)
        self._props = props
        self.alb_arn: str | None = None
        self.alb_arn_suffix: str | None = None
        self.alb_dns_name: str | None = None
        self.alb_listener_arn: str | None = None
        self.alb_security_group_id: str | None = None
        self.nlb_arn: str | None = None
        self.nlb_arn_suffix: str | None = None
        self.nlb_dns_name: str | None = None
        self.nlb_security_group_id: str | None = None
        self.target_group_arns: dict[str, str] = {}
        self.target_group_arn_suffixes: dict[str, str] = {}
        self.listener_rules: dict[str, Any] = {}
        self.security_group_ids: dict[str, str] = {}
        # Where a caller of each service connects: (load balancer, its group, listener port).
        self._entries: dict[str, tuple[str, str, int]] = {}
        self._admitted: set[tuple[str, str, int]] = set()

        http = [s for s in props.services if s.protocol == "http"]
        tcp = [s for s in props.services if s.protocol == "tcp"]
        if http:
            self._alb(http)
        if tcp:
            self._nlb(tcp)

    def allow_from(self, label: str, peer_security_group_id: str, service: str) -> None:
        """Let one caller's tasks reach one internal service: the ALB's :80 for an HTTP service (its
        listener rule picks the service), the NLB's listener port for a TCP service.

        A caller of several HTTP services gets the ALB path once.
        """
        balancer, group_id, port = self._entries[service]
        if (label, balancer, port) in self._admitted:
            return
        self._admitted.add((label, balancer, port))
        allow_tcp(
            self,
            f"{balancer}-allow-{label}-{port}",
            group_id=group_id,
            name=f"internal-{balancer}",
            peer_group_id=peer_security_group_id,
            peer_name=label,
            port=port,
        )

    def _security_group(self, balancer: str, description: str) -> str:
        return security_group(
            self,
            f"{balancer}-security-group",
            name=f"{self._props.name}-internal-{balancer}",
            description=f"{description} ({self._props.name})",
            vpc_id=self._props.vpc_id,
        )

    def _record(
        self, service: ServiceConfig, group: Any, attachment: Any, entry: tuple[str, str, int]
    ) -> None:
        self.target_group_arns[service.name] = group.arn
        self.target_group_arn_suffixes[service.name] = group.arn_suffix
        self.listener_rules[service.name] = attachment
        self.security_group_ids[service.name] = entry[1]
        self._entries[service.name] = entry

    def _alb(self, services: list[ServiceConfig]) -> None:
        props = self._props
        if props.access_log_bucket is None:
            raise ValueError("internal http services need access_log_bucket")
        group_id = self._security_group("alb", "Internal ALB")
        lb = application_load_balancer(
            self,
            name=lb_name(props.name, "internal"),
            internal=True,
            subnet_ids=props.private_subnet_ids,
            security_group_id=group_id,
            deletion_protection=props.deletion_protection,
            idle_timeout_seconds=props.idle_timeout_seconds,
            log_bucket=props.access_log_bucket,
            log_prefix=INTERNAL_ALB_LOG_PREFIX,
        )
        # Plain HTTP inside the VPC: only the callers' task groups reach this listener.
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
            rule = listener_rule(self, service, listener.arn, group.arn)
            self._record(service, group, rule, ("alb", group_id, INTERNAL_ALB_PORT))
        self.alb_arn, self.alb_arn_suffix, self.alb_dns_name = lb.arn, lb.arn_suffix, lb.dns_name
        self.alb_listener_arn = listener.arn
        self.alb_security_group_id = group_id

    def _nlb(self, services: list[ServiceConfig]) -> None:
        props = self._props
        group_id = self._security_group("nlb", "Internal NLB")
        lb = aws.lb.Lb(
            self,
            "nlb",
            name=lb_name(props.name, "nlb"),
            load_balancer_type="network",
            internal=True,
            ip_address_type="ipv4",
            subnets=list(props.private_subnet_ids),
            # An NLB takes security groups only when created with them.
            security_groups=[group_id],
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
            self._record(service, group, listener, ("nlb", group_id, service.port))
        self.nlb_arn, self.nlb_arn_suffix, self.nlb_dns_name = lb.arn, lb.arn_suffix, lb.dns_name
        self.nlb_security_group_id = group_id
