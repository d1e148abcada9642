"""modules/edge/internal.py: the internal ALB for HTTP services and the NLB for TCP services."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import only, ref, resources, synth_stack
from test_public import (
    CACHE,
    DOCS,
    FIXED_404,
    HTTP_ONLY,
    ORDERS,
    internal_json,
    output,
)


def test_internal_alb_serves_internal_http_services_on_port_80(tmp_path: Path) -> None:
    stack, internal = internal_json(tmp_path, HTTP_ONLY + ORDERS)
    lb = only(stack, "aws_lb")
    assert (lb["load_balancer_type"], lb["internal"], lb["name"]) == (
        "application",
        True,
        "acme-dev-internal",
    )
    assert lb["subnets"] == ["subnet-p", "subnet-q"]
    assert lb["security_groups"] == [ref(stack, "aws_security_group", "internal/alb-security-group", "id")]
    assert only(stack, "aws_security_group")["name"] == "acme-dev-internal-alb"
    assert output(stack, "alb_security_group_id") == lb["security_groups"][0]
    assert lb["drop_invalid_header_fields"] is True
    assert lb["access_logs"] == {"bucket": "shared-logs", "enabled": True, "prefix": "internal-alb"}
    listener = only(stack, "aws_lb_listener")
    assert (listener["port"], listener["protocol"], listener["default_action"]) == (80, "HTTP", [FIXED_404])
    rule = only(stack, "aws_lb_listener_rule")
    assert rule["priority"] == 5 and rule["condition"] == [{"path_pattern": {"values": ["/*"]}}]
    group = only(stack, "aws_lb_target_group")
    assert (group["target_type"], group["protocol"], group["port"]) == ("ip", "HTTP", 8081)
    assert "aws_s3_bucket" not in stack["resource"]
    for attribute in ("arn", "arn_suffix", "dns_name"):
        assert output(stack, f"alb_{attribute}") == ref(stack, "aws_lb", "internal/alb", attribute)
    assert output(stack, "alb_listener_arn") == ref(stack, "aws_lb_listener", "internal/alb-http", "arn")
    assert output(stack, "tg_orders") == ref(
        stack, "aws_lb_target_group", "internal/orders-target-group", "arn"
    )
    assert internal.nlb_dns_name is None and internal.nlb_arn is None and internal.nlb_arn_suffix is None


def test_internal_alb_needs_the_environments_log_bucket(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="internal http services need access_log_bucket"):
        internal_json(tmp_path, HTTP_ONLY + ORDERS, access_log_bucket=None)


def test_admitting_a_caller_opens_its_path_to_the_load_balancer_in_front_of_the_service(
    tmp_path: Path,
) -> None:
    stack, internal = internal_json(tmp_path, HTTP_ONLY + ORDERS + CACHE)
    internal.allow_from("web-tasks", "sg-web", "orders")
    internal.allow_from("web-tasks", "sg-web", "cache")
    internal.allow_from("web-tasks", "sg-web", "orders")  # twice: one path
    stack = synth_stack(internal.node.scope)
    ingress = resources(stack, "aws_vpc_security_group_ingress_rule")
    egress = resources(stack, "aws_vpc_security_group_egress_rule")
    assert sorted(ingress) == [
        "internal_alb_allow_web_tasks_80_ingress",
        "internal_nlb_allow_web_tasks_6379_ingress",
    ]
    assert sorted(egress) == [
        "internal_alb_allow_web_tasks_80_egress",
        "internal_nlb_allow_web_tasks_6379_egress",
    ]
    alb_rule = ingress["internal_alb_allow_web_tasks_80_ingress"]
    assert alb_rule["referenced_security_group_id"] == "sg-web" and alb_rule["from_port"] == 80
    assert alb_rule["security_group_id"] == ref(
        stack, "aws_security_group", "internal/alb-security-group", "id"
    )
    assert egress["internal_nlb_allow_web_tasks_6379_egress"]["security_group_id"] == "sg-web"


def test_internal_nlb_has_a_tcp_listener_per_service_port(tmp_path: Path) -> None:
    stack, internal = internal_json(tmp_path, HTTP_ONLY + CACHE)
    lb = only(stack, "aws_lb")
    assert (lb["load_balancer_type"], lb["internal"], lb["name"]) == ("network", True, "acme-dev-nlb")
    assert lb["security_groups"] == [ref(stack, "aws_security_group", "internal/nlb-security-group", "id")]
    assert output(stack, "nlb_security_group_id") == lb["security_groups"][0]
    assert lb["enable_cross_zone_load_balancing"] is True
    group = only(stack, "aws_lb_target_group")
    assert (group["target_type"], group["protocol"], group["port"]) == ("ip", "TCP", 6379)
    assert group["preserve_client_ip"] == "false"
    assert group["health_check"]["protocol"] == "TCP" and "path" not in group["health_check"]
    listener = only(stack, "aws_lb_listener")
    assert (listener["port"], listener["protocol"]) == (6379, "TCP")
    assert listener["default_action"] == [
        {
            "type": "forward",
            "target_group_arn": ref(stack, "aws_lb_target_group", "internal/cache-target-group", "arn"),
        }
    ]
    assert "aws_lb_listener_rule" not in stack["resource"]
    for attribute in ("arn", "arn_suffix", "dns_name"):
        assert output(stack, f"nlb_{attribute}") == ref(stack, "aws_lb", "internal/nlb", attribute)
    assert output(stack, "tg_suffix_cache") == ref(
        stack, "aws_lb_target_group", "internal/cache-target-group", "arn_suffix"
    )
    assert internal.alb_arn is None and internal.alb_listener_arn is None
    assert set(internal.listener_rules) == {"cache"}


def test_internal_has_both_or_neither(tmp_path: Path) -> None:
    stack, internal = internal_json(tmp_path / "both", HTTP_ONLY + ORDERS + CACHE)
    assert {lb["load_balancer_type"] for lb in resources(stack, "aws_lb").values()} == {
        "application",
        "network",
    }
    assert set(internal.target_group_arns) == {"orders", "cache"}
    stack, internal = internal_json(tmp_path / "none", HTTP_ONLY + DOCS)
    assert "resource" not in stack or not resources(stack, "aws_lb")
    assert internal.target_group_arns == {} and internal.alb_arn is None and internal.nlb_arn is None
