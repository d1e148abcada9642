"""The edge: the internet-facing ALB in front of the public services, its certificate and DNS.

HTTPS with an ACM certificate (or plain HTTP in the explicit `edge.http_only` mode), one listener
rule per public service, access logs to the environment's load balancer log bucket. It owns its
security group, open to the configured client CIDRs on its listener ports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, TerraformResourceLifecycle, aws
from modules.config import DomainConfig, Environment, ServiceConfig
from modules.edge.access_logs import PUBLIC_ALB_LOG_PREFIX
from modules.edge.shared import (
    TLS_POLICY,
    application_load_balancer,
    fixed_404,
    http_target_group,
    lb_name,
    listener_rule,
    public_http_services,
)
from modules.network import cidr_label, security_group, tcp_rule


@dataclass(frozen=True)
class PublicLoadBalancerProps:
    """The internet-facing ALB; defaults live in the config schema (`[edge]`, `[domain]`)."""

    name: str  # "<project>-<env>", prefixes every resource name
    vpc_id: str
    public_subnet_ids: tuple[str, ...]  # one per zone, at least two
    ingress_ipv4: tuple[str, ...]  # clients that may reach the listeners
    ingress_ipv6: tuple[str, ...]
    services: tuple[ServiceConfig, ...]  # public HTTP services only
    domain: DomainConfig | None  # None only with http_only
    http_only: bool  # plain HTTP on :80, no certificate (refused for prod by the schema)
    deletion_protection: bool
    idle_timeout_seconds: int
    deregistration_delay_seconds: int
    access_log_bucket: str  # LoadBalancerLogs.bucket_name: a reference through its bucket policy

    @classmethod
    def of(
        cls, env: Environment, *, vpc_id: str, public_subnet_ids: Iterable[str], access_log_bucket: str
    ) -> PublicLoadBalancerProps:
        edge = env.config.edge
        return cls(
            name=env.prefix,
            vpc_id=vpc_id,
            public_subnet_ids=tuple(public_subnet_ids),
            ingress_ipv4=tuple(edge.ingress_ipv4),
            ingress_ipv6=tuple(edge.ingress_ipv6),
            services=public_http_services(env.services),
            domain=env.config.domain,
            http_only=edge.http_only,
            deletion_protection=edge.deletion_protection,
            idle_timeout_seconds=edge.idle_timeout_seconds,
            deregistration_delay_seconds=edge.deregistration_delay_seconds,
            access_log_bucket=access_log_bucket,
        )


class PublicLoadBalancer(Construct):
    """Internet-facing ALB in the public subnets, with its access-log bucket.

    HTTPS mode (a domain): a :443 listener (TLS 1.2+ policy, the domain's certificate ARN, or an
    ACM certificate for the domain and `*.<domain>` validated through Route 53), a :80 listener
    that only redirects 301 to HTTPS, and alias A records for every service host when the domain
    has a hosted zone. http_only mode: a single :80 listener. Either way the serving listener
    answers 404 unless a service's rule (hosts and/or paths, at its priority) forwards the request
    to the service's ip target group. Invalid headers are dropped; deletion protection, idle
    timeout and deregistration delay come from config.

    Exposes `arn`, `arn_suffix`, `dns_name`, `zone_id`, `listener_arn` (the serving listener),
    `certificate_arn` (None in http_only mode), `security_group_id`, and by service name
    `target_group_arns`, `target_group_arn_suffixes` and `listener_rules` (the rule resources: an
    ECS service must `depends_on` its rule, or ECS refuses a target group with no load balancer).
    """

    def __init__(self, scope: Construct, id: str, props: PublicLoadBalancerProps) -> None:
        super().__init__(scope, id)
        if props.domain is None and not props.http_only:
            raise ValueError("a public load balancer needs a domain for HTTPS, or http_only")
        self.security_group_id: str = self._security_group(props)
        lb = application_load_balancer(
            self,
            name=lb_name(props.name, "public"),
            internal=False,
            subnet_ids=props.public_subnet_ids,
            security_group_id=self.security_group_id,
            deletion_protection=props.deletion_protection,
            idle_timeout_seconds=props.idle_timeout_seconds,
            log_bucket=props.access_log_bucket,
            log_prefix=PUBLIC_ALB_LOG_PREFIX,
        )

        lst = aws.lb_listener
        self.certificate_arn: str | None = None
        if props.http_only:
            listener = lst.LbListener(
                self,
                "http",
                load_balancer_arn=lb.arn,
                port=80,
                protocol="HTTP",
                default_action=[fixed_404()],
            )
        else:
            assert props.domain is not None
            self.certificate_arn = self._certificate(props.name, props.domain)
            listener = lst.LbListener(
                self,
                "https",
                load_balancer_arn=lb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=self.certificate_arn,
                default_action=[fixed_404()],
            )
            lst.LbListener(
                self,
                "http-redirect",
                load_balancer_arn=lb.arn,
                port=80,
                protocol="HTTP",
                default_action=[
                    lst.LbListenerDefaultAction(
                        type="redirect",
                        redirect=lst.LbListenerDefaultActionRedirect(
                            status_code="HTTP_301", protocol="HTTPS", port="443"
                        ),
                    )
                ],
            )

        groups = {
            s.name: http_target_group(self, props.name, s, props.vpc_id, props.deregistration_delay_seconds)
            for s in props.services
        }
        self.listener_rules: dict[str, Any] = {
            s.name: listener_rule(self, s, listener.arn, groups[s.name].arn) for s in props.services
        }

        if props.domain is not None and props.domain.hosted_zone_id is not None:
            hosts = sorted({host for s in props.services for host in s.hosts})
            for host in hosts:
                # The host is the construct ID: unique and stable. "*" would vanish from the
                # Terraform name ("*.example.com" and "example.com" would clash), so it is spelled out.
                aws.route53_record.Route53Record(
                    self,
                    f"alias-{host.replace('*', 'wildcard')}",
                    zone_id=props.domain.hosted_zone_id,
                    name=host,
                    type="A",
                    alias=aws.route53_record.Route53RecordAlias(
                        name=lb.dns_name, zone_id=lb.zone_id, evaluate_target_health=True
                    ),
                )

        self.arn: str = lb.arn
        self.arn_suffix: str = lb.arn_suffix
        self.dns_name: str = lb.dns_name
        self.zone_id: str = lb.zone_id
        self.listener_arn: str = listener.arn
        self.target_group_arns: dict[str, str] = {name: g.arn for name, g in groups.items()}
        self.target_group_arn_suffixes: dict[str, str] = {name: g.arn_suffix for name, g in groups.items()}

    def _security_group(self, props: PublicLoadBalancerProps) -> str:
        """The ALB's group: its listener ports open to the configured client CIDRs, nothing else in."""
        group_id = security_group(
            self,
            "security-group",
            name=f"{props.name}-public-alb",
            description=f"Public ALB ({props.name})",
            vpc_id=props.vpc_id,
        )
        ports = ((80, "HTTP"),) if props.http_only else ((443, "HTTPS"), (80, "HTTP (redirected to HTTPS)"))
        for port, purpose in ports:
            for cidr in (*props.ingress_ipv4, *props.ingress_ipv6):
                family = "cidr_ipv6" if ":" in cidr else "cidr_ipv4"
                tcp_rule(
                    self,
                    f"{port}-from-{cidr_label(cidr)}",
                    direction="ingress",
                    group_id=group_id,
                    port=port,
                    description=f"{purpose} from {cidr}",
                    **{family: cidr},
                )
        return group_id

    def _certificate(self, name: str, domain: DomainConfig) -> str:
        """The given certificate ARN, or a DNS-validated ACM certificate for the domain and its wildcard."""
        if domain.certificate_arn is not None:
            return domain.certificate_arn
        assert domain.hosted_zone_id is not None  # the schema requires one of the two
        cert = aws.acm_certificate.AcmCertificate(
            self,
            "certificate",
            domain_name=domain.name,
            subject_alternative_names=[f"*.{domain.name}"],
            validation_method="DNS",
            # A replacement certificate must be issued before the listener lets go of the old one.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            tags={"Name": f"{name}-{domain.name}"},
        )
        # The name and its wildcard share one validation record, so the first option is the only
        # record needed; a for_each over the options would create the same record twice.
        option = cert.domain_validation_options.get(0)
        record = aws.route53_record.Route53Record(
            self,
            "certificate-validation-record",
            zone_id=domain.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=60,
            # ACM gives every certificate of this account for the domain the same record; one made
            # by hand or by an earlier certificate must not fail the apply.
            allow_overwrite=True,
        )
        validation = aws.acm_certificate_validation.AcmCertificateValidation(
            self,
            "certificate-validation",
            certificate_arn=cert.arn,
            validation_record_fqdns=[record.fqdn],
        )
        # Through the validation resource: the listener waits until the certificate is issued.
        return validation.certificate_arn
