"""Pieces every load balancer shares: names, the access-log bucket, 404 defaults, target groups, rules.

Used by edge.py (the public ALB) and internal_load_balancers.py (internal ALB and NLB).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modules import naming
from modules.cdk import Construct, aws
from modules.config_services import ServiceConfig
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


def lb_name(*parts: str) -> str:
    """`parts` joined by "-", bounded to the 32 characters load balancer and target group names allow."""
    return naming.bounded("-".join(parts), LB_NAME_LIMIT)


def access_log_bucket_name(name: str, purpose: str, account_id: str, region: str) -> str:
    """`<name>-<purpose>-<account>-<region>`, the name part shortened with a hash past 63 characters."""
    suffix = f"-{purpose}-{account_id}-{region}"
    full = name + suffix
    if len(full) <= BUCKET_NAME_LIMIT:
        return full
    keep = BUCKET_NAME_LIMIT - len(suffix) - 7
    return f"{name[:keep].rstrip('-')}-{naming.short_hash(full)}{suffix}"


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


def public_http_services(services: Iterable[ServiceConfig]) -> tuple[ServiceConfig, ...]:
    return tuple(s for s in services if s.public and s.protocol == "http")


def internal_services(services: Iterable[ServiceConfig]) -> tuple[ServiceConfig, ...]:
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
        arn = naming.s3_bucket_arn(props.partition, props.bucket_name)
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
        self.policy: Any = bucket.policy
        self.bucket_name: str = self.policy.bucket
        self.bucket_arn: str = bucket.arn


# --- shared pieces -----------------------------------------------------------------------------


def fixed_404() -> Any:
    lst = aws.lb_listener
    return lst.LbListenerDefaultAction(
        type="fixed-response",
        fixed_response=lst.LbListenerDefaultActionFixedResponse(
            content_type="text/plain", message_body="Not Found", status_code="404"
        ),
    )


def http_target_group(
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


def listener_rule(scope: Construct, service: ServiceConfig, listener_arn: str, target_group_arn: str) -> Any:
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


def application_load_balancer(
    scope: Construct,
    *,
    name: str,
    internal: bool,
    subnet_ids: Iterable[str],
    security_group_id: str,
    deletion_protection: bool,
    idle_timeout_seconds: int,
    log_bucket: str,
    log_prefix: str,
    log_bucket_policy: Any | None,
) -> Any:
    """The `aws_lb` (ID "alb") every ALB here shares: invalid headers dropped, access logs on."""
    return aws.lb.Lb(
        scope,
        "alb",
        name=name,
        load_balancer_type="application",
        internal=internal,
        ip_address_type="ipv4",
        subnets=list(subnet_ids),
        security_groups=[security_group_id],
        drop_invalid_header_fields=True,
        enable_deletion_protection=deletion_protection,
        idle_timeout=idle_timeout_seconds,
        access_logs=aws.lb.LbAccessLogs(bucket=log_bucket, enabled=True, prefix=log_prefix),
        # ELB checks that it may write to the bucket when logging is switched on: without the
        # policy in place first, the first apply fails with "Access Denied for bucket".
        depends_on=[log_bucket_policy] if log_bucket_policy is not None else None,
        tags={"Name": name},
    )
