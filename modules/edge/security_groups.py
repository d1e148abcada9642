"""Security groups for load balancers and service tasks, with rules from group to group only.

Traffic paths, and nothing else:
    clients (ingress CIDRs) -> public ALB :443 (and :80, which only redirects)
    public ALB   -> a public service's tasks, on that service's port
    any task     -> internal ALB :80        -> an internal HTTP service's tasks, on its port
    any task     -> internal NLB :port      -> an internal TCP service's tasks, on its port
    any task     -> 0.0.0.0/0 :443          (AWS APIs, ECR, package mirrors through NAT/endpoints)
Each rule is a standalone `aws_vpc_security_group_*_rule` with a description, so adding a service
adds rules without rewriting a group.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct
from modules.config import Environment, ServiceConfig
from modules.edge.shared import INTERNAL_ALB_PORT
from modules.network import security_group, tcp_rule


def _cidr_id(cidr: str) -> str:
    """A construct-ID-safe spelling of a CIDR: "0.0.0.0/0" -> "ipv4-0-0-0-0-0", "::/0" -> "ipv6---0"."""
    family = "ipv6" if ":" in cidr else "ipv4"
    return f"{family}-" + "".join(c if c.isalnum() else "-" for c in cidr)


@dataclass(frozen=True)
class ServiceSecurityGroupsProps:
    """What the groups need; every value comes from config already validated."""

    name: str  # "<project>-<env>"
    vpc_id: str
    services: tuple[ServiceConfig, ...]
    ingress_ipv4: tuple[str, ...]  # who may reach the public ALB
    ingress_ipv6: tuple[str, ...]
    https: bool  # False in http_only mode: the public ALB listens on :80 only

    @classmethod
    def of(cls, env: Environment, *, vpc_id: str) -> ServiceSecurityGroupsProps:
        edge = env.config.edge
        return cls(
            name=env.prefix,
            vpc_id=vpc_id,
            services=tuple(env.services),
            ingress_ipv4=tuple(edge.ingress_ipv4),
            ingress_ipv6=tuple(edge.ingress_ipv6),
            https=not edge.http_only,
        )


class ServiceSecurityGroups(Construct):
    """One group per load balancer in use and one per service's tasks.

    Exposes `public_alb_id`, `internal_alb_id`, `internal_nlb_id` (each None when that load
    balancer is not needed) and `task_ids` (service name -> group id).
    """

    def __init__(self, scope: Construct, id: str, props: ServiceSecurityGroupsProps) -> None:
        super().__init__(scope, id)
        self._props = props
        public = [s for s in props.services if s.public]
        internal_http = [s for s in props.services if not s.public and s.protocol == "http"]
        internal_tcp = [s for s in props.services if s.protocol == "tcp"]

        self.task_ids: dict[str, str] = {
            s.name: self._group(f"{s.name}-tasks", f"{s.name}-tasks", f"Tasks of service {s.name}")
            for s in props.services
        }
        self.public_alb_id = self._group("public-alb", "public-alb", "Public ALB") if public else None
        self.internal_alb_id = (
            self._group("internal-alb", "internal-alb", "Internal ALB") if internal_http else None
        )
        self.internal_nlb_id = (
            self._group("internal-nlb", "internal-nlb", "Internal NLB") if internal_tcp else None
        )

        if self.public_alb_id is not None:
            listener_ports = (443, 80) if props.https else (80,)
            for port in listener_ports:
                purpose = "HTTPS" if port == 443 else "HTTP (redirected to HTTPS)" if props.https else "HTTP"
                for cidr in props.ingress_ipv4:
                    self._ingress_cidr(
                        f"public-alb-{port}-from-{_cidr_id(cidr)}",
                        self.public_alb_id,
                        port,
                        purpose,
                        cidr_ipv4=cidr,
                    )
                for cidr in props.ingress_ipv6:
                    self._ingress_cidr(
                        f"public-alb-{port}-from-{_cidr_id(cidr)}",
                        self.public_alb_id,
                        port,
                        purpose,
                        cidr_ipv6=cidr,
                    )
            for service in public:
                self._flow("public-alb", self.public_alb_id, *self._tasks(service), service.port)

        if self.internal_alb_id is not None:
            for caller in props.services:
                self._flow(*self._tasks(caller), "internal-alb", self.internal_alb_id, INTERNAL_ALB_PORT)
            for service in internal_http:
                self._flow("internal-alb", self.internal_alb_id, *self._tasks(service), service.port)

        if self.internal_nlb_id is not None:
            for service in internal_tcp:
                for caller in props.services:
                    if caller.name != service.name:
                        self._flow(*self._tasks(caller), "internal-nlb", self.internal_nlb_id, service.port)
                self._flow("internal-nlb", self.internal_nlb_id, *self._tasks(service), service.port)

        for service in props.services:
            tcp_rule(
                self,
                f"{service.name}-tasks-egress-https",
                direction="egress",
                group_id=self.task_ids[service.name],
                port=443,
                description="HTTPS to AWS APIs, ECR and the internet (through NAT or endpoints)",
                cidr_ipv4="0.0.0.0/0",
            )

    def _tasks(self, service: ServiceConfig) -> tuple[str, str]:
        """The label ("<service>-tasks", never clashing with a load balancer label) and group id."""
        return f"{service.name}-tasks", self.task_ids[service.name]

    def _group(self, id: str, purpose: str, description: str) -> str:
        return security_group(
            self,
            id,
            name=f"{self._props.name}-{purpose}",
            description=f"{description} ({self._props.name})",
            vpc_id=self._props.vpc_id,
        )

    def _ingress_cidr(self, id: str, group_id: str, port: int, purpose: str, **cidr: str) -> None:
        tcp_rule(
            self,
            id,
            direction="ingress",
            group_id=group_id,
            port=port,
            description=f"{purpose} from {next(iter(cidr.values()))}",
            **cidr,
        )

    def _flow(self, source: str, source_id: str, target: str, target_id: str, port: int) -> None:
        """Allow source -> target on port: an egress rule on the source, an ingress rule on the target."""
        tcp_rule(
            self,
            f"{source}-to-{target}-{port}",
            direction="egress",
            group_id=source_id,
            port=port,
            description=f"To {target} on {port}",
            peer_group_id=target_id,
        )
        tcp_rule(
            self,
            f"{target}-from-{source}-{port}",
            direction="ingress",
            group_id=target_id,
            port=port,
            description=f"From {source} on {port}",
            peer_group_id=source_id,
        )
