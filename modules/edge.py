"""The edge: load balancers in front of the services, their certificate, DNS and access logs.

Public services sit behind one internet-facing ALB (HTTPS, or plain HTTP in the explicit
`edge.http_only` mode); internal HTTP services behind an internal ALB and internal TCP services
behind an internal NLB, both in the private subnets. Security groups are made elsewhere
(security_groups.py) and passed in by id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modules import naming
from modules.cdk import Construct, TerraformResourceLifecycle, aws
from modules.config import Environment
from modules.config_services import DomainConfig, ServiceConfig
from modules.storage import PrivateBucket, PrivateBucketProps

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 and 1.2 only
PUBLIC_ALB_LOG_PREFIX = "public-alb"
INTERNAL_ALB_LOG_PREFIX = "internal-alb"
INTERNAL_ALB_PORT = 80  # what security_groups.py opens from the tasks to the internal ALB
LB_NAME_LIMIT = 32  # load balancer and target group names
BUCKET_NAME_LIMIT = 63

# ELB access-log delivery writes as a regional, AWS-owned account in the regions launched before
# August 2022, and those regions want that account as the bucket policy principal. Regions
# launched since accept only the service principal below. (Elastic Load Balancing user guide,
# "Enable access logs", step 2.) A region missing here gets the service principal.
ELB_LOG_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
}
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def lb_name(*parts: str) -> str:
    """`parts` joined by "-"; past 32 characters, a prefix plus a 6-character hash of the whole.

    Load balancer and target group names are limited to 32 characters. The hash keeps two long
    names that share a prefix apart, and depends on the name alone, so it never changes by itself.
    """
    full = "-".join(parts)
    if len(full) <= LB_NAME_LIMIT:
        return full
    return f"{full[: LB_NAME_LIMIT - 7].rstrip('-')}-{_digest(full)}"


def access_log_bucket_name(name: str, purpose: str, account_id: str, region: str) -> str:
    """`<name>-<purpose>-<account>-<region>`, the name part shortened with a hash past 63 characters."""
    suffix = f"-{purpose}-{account_id}-{region}"
    full = name + suffix
    if len(full) <= BUCKET_NAME_LIMIT:
        return full
    keep = BUCKET_NAME_LIMIT - len(suffix) - 7
    return f"{name[:keep].rstrip('-')}-{_digest(full)}{suffix}"


def elb_log_delivery(
    region: str, partition: str, bucket_arn: str, account_id: str, prefixes: Iterable[str]
) -> dict[str, Any]:
    """The bucket policy statement that lets ELB write this account's access logs under `prefixes`."""
    elb_account = ELB_LOG_ACCOUNTS.get(region)
    principal = (
        {"AWS": f"arn:{partition}:iam::{elb_account}:root"}
        if elb_account
        else {"Service": ELB_LOG_DELIVERY_SERVICE}
    )
    return {
        "Sid": "ElbAccessLogDelivery",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:PutObject",
        "Resource": [f"{bucket_arn}/{prefix}/AWSLogs/{account_id}/*" for prefix in prefixes],
    }


def _public_http(services: Iterable[ServiceConfig]) -> tuple[ServiceConfig, ...]:
    return tuple(s for s in services if s.public and s.protocol == "http")


def _internal(services: Iterable[ServiceConfig]) -> tuple[ServiceConfig, ...]:
    return tuple(s for s in services if not s.public)


# --- access logs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadBalancerLogsProps:
    """An SSE-S3 bucket that ELB may write access logs into."""

    bucket_name: str
    region: str  # the bucket must be in the load balancers' region
    account_id: str  # the load balancers' account (part of every log key)
    partition: str
    retention_days: int  # log objects expire after this many days
    prefixes: tuple[str, ...] = (PUBLIC_ALB_LOG_PREFIX, INTERNAL_ALB_LOG_PREFIX)


class LoadBalancerLogs(Construct):
    """A `PrivateBucket` (SSE-S3: ALB log delivery does not support SSE-KMS) whose policy lets ELB
    log delivery of the region write under each prefix, and whose logs expire.

    Exposes `bucket_name`: a reference through the bucket policy resource, so a load balancer
    that names it is created after the policy and its first apply works; `bucket_arn`; and
    `policy` (the `aws_s3_bucket_policy`) for an explicit `depends_on`.
    """

    def __init__(self, scope: Construct, id: str, props: LoadBalancerLogsProps) -> None:
        super().__init__(scope, id)
        arn = f"arn:{props.partition}:s3:::{props.bucket_name}"
        bucket = PrivateBucket(
            self,
            "bucket",
            PrivateBucketProps(
                name=props.bucket_name,
                partition=props.partition,
                kms_key_arn=None,
                expiration_days=props.retention_days,
                # Log objects are never overwritten: a noncurrent version only exists once the
                # expiration rule has run, so it can go a day later.
                noncurrent_version_days=1,
                policy_statements=(
                    elb_log_delivery(props.region, props.partition, arn, props.account_id, props.prefixes),
                ),
            ),
        )
        # PrivateBucket's policy resource ("policy"): its ID is a Terraform address, so stable.
        self.policy: Any = bucket.node.find_child("policy")
        self.bucket_name: str = self.policy.bucket
        self.bucket_arn: str = bucket.arn


# --- shared pieces -----------------------------------------------------------------------------


def _fixed_404() -> Any:
    lst = aws.lb_listener
    return lst.LbListenerDefaultAction(
        type="fixed-response",
        fixed_response=lst.LbListenerDefaultActionFixedResponse(
            content_type="text/plain", message_body="Not Found", status_code="404"
        ),
    )


def _http_target_group(
    scope: Construct, name: str, service: ServiceConfig, vpc_id: str, deregistration_delay: int
) -> Any:
    """An ip target group (awsvpc tasks register by IP) with an HTTP health check on the service."""
    tg = aws.lb_target_group
    return tg.LbTargetGroup(
        scope,
        f"{service.name}-target-group",
        name=lb_name(name, service.name),
        target_type="ip",
        protocol="HTTP",
        port=service.port,
        vpc_id=vpc_id,
        deregistration_delay=str(deregistration_delay),
        health_check=tg.LbTargetGroupHealthCheck(
            enabled=True,
            protocol="HTTP",
            port="traffic-port",
            path=service.health_check_path,
            matcher="200-399",
            interval=30,
            timeout=5,
            healthy_threshold=2,
            unhealthy_threshold=3,
        ),
        tags={"Name": lb_name(name, service.name), "Service": service.name},
    )


def _listener_rule(scope: Construct, service: ServiceConfig, listener_arn: str, target_group_arn: str) -> Any:
    """Forward the service's hosts and/or paths to its target group, at its configured priority."""
    rule = aws.lb_listener_rule
    conditions = []
    if service.hosts:
        conditions.append(
            rule.LbListenerRuleCondition(
                host_header=rule.LbListenerRuleConditionHostHeader(values=service.hosts)
            )
        )
    if service.paths:
        conditions.append(
            rule.LbListenerRuleCondition(
                path_pattern=rule.LbListenerRuleConditionPathPattern(values=service.paths)
            )
        )
    return rule.LbListenerRule(
        scope,
        f"{service.name}-rule",
        listener_arn=listener_arn,
        priority=service.priority,
        condition=conditions,
        action=[rule.LbListenerRuleAction(type="forward", target_group_arn=target_group_arn)],
        tags={"Service": service.name},
    )


# --- public ALB --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicLoadBalancerProps:
    """The internet-facing ALB; defaults live in the config schema (`[edge]`, `[domain]`)."""

    name: str  # "<project>-<env>", prefixes every resource name
    vpc_id: str
    public_subnet_ids: tuple[str, ...]  # one per zone, at least two
    security_group_id: str  # the public ALB's group (security_groups.py)
    services: tuple[ServiceConfig, ...]  # public HTTP services only
    domain: DomainConfig | None  # None only with http_only
    http_only: bool  # plain HTTP on :80, no certificate (refused for prod by the schema)
    deletion_protection: bool
    idle_timeout_seconds: int
    deregistration_delay_seconds: int
    access_log_days: int
    region: str
    account_id: str
    partition: str  # "aws", "aws-cn", "aws-us-gov"

    @classmethod
    def of(
        cls, env: Environment, *, vpc_id: str, public_subnet_ids: Iterable[str], security_group_id: str
    ) -> PublicLoadBalancerProps:
        edge = env.config.edge
        return cls(
            name=env.prefix,
            vpc_id=vpc_id,
            public_subnet_ids=tuple(public_subnet_ids),
            security_group_id=security_group_id,
            services=_public_http(env.services),
            domain=env.config.domain,
            http_only=edge.http_only,
            deletion_protection=edge.deletion_protection,
            idle_timeout_seconds=edge.idle_timeout_seconds,
            deregistration_delay_seconds=edge.deregistration_delay_seconds,
            access_log_days=edge.access_log_days,
            region=env.region,
            account_id=env.account_id,
            partition=naming.partition(env.region),
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
    `certificate_arn` (None in http_only mode), `access_log_bucket`, and by service name
    `target_group_arns`, `target_group_arn_suffixes` and `listener_rules` (the rule resources: an
    ECS service must `depends_on` its rule, or ECS refuses a target group with no load balancer).
    """

    def __init__(self, scope: Construct, id: str, props: PublicLoadBalancerProps) -> None:
        super().__init__(scope, id)
        if props.domain is None and not props.http_only:
            raise ValueError("a public load balancer needs a domain for HTTPS, or http_only")
        logs = LoadBalancerLogs(
            self,
            "access-logs",
            LoadBalancerLogsProps(
                bucket_name=access_log_bucket_name(props.name, "alb-logs", props.account_id, props.region),
                region=props.region,
                account_id=props.account_id,
                partition=props.partition,
                retention_days=props.access_log_days,
            ),
        )
        lb = aws.lb.Lb(
            self,
            "alb",
            name=lb_name(props.name, "public"),
            load_balancer_type="application",
            internal=False,
            ip_address_type="ipv4",
            subnets=list(props.public_subnet_ids),
            security_groups=[props.security_group_id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=props.deletion_protection,
            idle_timeout=props.idle_timeout_seconds,
            access_logs=aws.lb.LbAccessLogs(
                bucket=logs.bucket_name, enabled=True, prefix=PUBLIC_ALB_LOG_PREFIX
            ),
            # ELB checks that it may write to the bucket when logging is switched on: without the
            # policy in place first, the first apply fails with "Access Denied for bucket".
            depends_on=[logs.policy],
            tags={"Name": lb_name(props.name, "public")},
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
                default_action=[_fixed_404()],
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
                default_action=[_fixed_404()],
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
            s.name: _http_target_group(self, props.name, s, props.vpc_id, props.deregistration_delay_seconds)
            for s in props.services
        }
        self.listener_rules: dict[str, Any] = {
            s.name: _listener_rule(self, s, listener.arn, groups[s.name].arn) for s in props.services
        }

        if props.domain is not None and props.domain.hosted_zone_id is not None:
            hosts = sorted({host for s in props.services for host in s.hosts})
            for host in hosts:
                # The host itself is the construct ID: unique, stable, and "." never clashes.
                aws.route53_record.Route53Record(
                    self,
                    f"alias-{host}",
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
        self.access_log_bucket: str = logs.bucket_name
        self.target_group_arns: dict[str, str] = {name: g.arn for name, g in groups.items()}
        self.target_group_arn_suffixes: dict[str, str] = {name: g.arn_suffix for name, g in groups.items()}

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


# --- internal ALB and NLB ----------------------------------------------------------------------


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
            services=_internal(env.services),
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
        depends_on = None
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
            bucket, depends_on = logs.bucket_name, [logs.policy]
            self.access_log_bucket = bucket
        lb = aws.lb.Lb(
            self,
            "alb",
            name=lb_name(props.name, "internal"),
            load_balancer_type="application",
            internal=True,
            ip_address_type="ipv4",
            subnets=list(props.private_subnet_ids),
            security_groups=[props.alb_security_group_id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=props.deletion_protection,
            idle_timeout=props.idle_timeout_seconds,
            access_logs=aws.lb.LbAccessLogs(bucket=bucket, enabled=True, prefix=INTERNAL_ALB_LOG_PREFIX),
            # ELB tests its write access when logging is switched on: the bucket policy goes first.
            depends_on=depends_on,
            tags={"Name": lb_name(props.name, "internal")},
        )
        # Plain HTTP inside the VPC: only the tasks' security groups reach this listener.
        listener = aws.lb_listener.LbListener(
            self,
            "alb-http",
            load_balancer_arn=lb.arn,
            port=INTERNAL_ALB_PORT,
            protocol="HTTP",
            default_action=[_fixed_404()],
        )
        for service in services:
            group = _http_target_group(
                self, props.name, service, props.vpc_id, props.deregistration_delay_seconds
            )
            self._record(service, group, _listener_rule(self, service, listener.arn, group.arn))
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
