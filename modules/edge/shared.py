"""Pieces every load balancer shares: names, 404 defaults, target groups, listener rules, the ALB.

Used by public.py (the public ALB) and internal.py (internal ALB and NLB).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modules.cdk import Construct, aws
from modules.config import ServiceConfig
from modules.core import naming

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 and 1.2 only
INTERNAL_ALB_PORT = 80  # what the tasks' security groups open to the internal ALB
LB_NAME_LIMIT = 32  # load balancer and target group names


def lb_name(*parts: str) -> str:
    """`parts` joined by "-", bounded to the 32 characters load balancer and target group names allow."""
    return naming.bounded("-".join(parts), LB_NAME_LIMIT)


def public_http_services(services: Iterable[ServiceConfig]) -> tuple[ServiceConfig, ...]:
    return tuple(s for s in services if s.public and s.protocol == "http")


def internal_services(services: Iterable[ServiceConfig]) -> tuple[ServiceConfig, ...]:
    return tuple(s for s in services if not s.public)


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
) -> Any:
    """The `aws_lb` (ID "alb") every ALB here shares: invalid headers dropped, access logs on.

    `log_bucket` must be `LoadBalancerLogs.bucket_name`, a reference through the bucket policy:
    ELB checks that it may write to the bucket when logging is switched on, so the load balancer
    must be created after the policy, or the first apply fails with "Access Denied for bucket".
    """
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
        tags={"Name": name},
    )
