"""modules/edge/public.py: public ALB (HTTPS, redirect, certificate, DNS, access logs), internal ALB and NLB."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import BASE_PROJECT, by_path, env_toml, load, only, ref, resources, synth_stack, write_config

ZONE = "Z0123456789ABC"
CERT_ARN = "arn:aws:acm:eu-west-1:111111111111:certificate/0123abcd-0000-1111-2222-333344445555"
DOMAIN = f'[domain]\nname = "example.com"\nhosted_zone_id = "{ZONE}"\n'
HTTP_ONLY = "[edge]\nhttp_only = true\n"
WEB = """
[[services]]
name = "web"
port = 8080
hosts = ["example.com", "www.example.com"]
priority = 10
"""
API = """
[[services]]
name = "api"
port = 9000
hosts = ["api.example.com"]
paths = ["/v1/*", "/v2/*"]
priority = 20
health_check_path = "/ready"
"""
DOCS = """
[[services]]
name = "docs"
port = 8000
paths = ["/docs/*"]
priority = 30
"""
ORDERS = """
[[services]]
name = "orders"
port = 8081
public = false
paths = ["/*"]
priority = 5
"""
CACHE = """
[[services]]
name = "cache"
port = 6379
public = false
protocol = "tcp"
"""


def environment(tmp_path: Path, body: str, profile: str = "development", region: str = "eu-west-1"):
    project = BASE_PROJECT.replace('"eu-west-1"', f'"{region}"')
    (env,) = load(
        write_config(tmp_path, {"dev": env_toml(profile=profile) + "\n" + body}, project)
    ).environments
    return env


def public_json(tmp_path: Path, body: str, **kwargs):
    from modules.cdk import TerraformStack, Testing
    from modules.edge import (
        LoadBalancerLogs,
        LoadBalancerLogsProps,
        PublicLoadBalancer,
        PublicLoadBalancerProps,
    )

    env = environment(tmp_path, body, **kwargs)
    stack = TerraformStack(Testing.app(), "test")
    # As the environment stack does when it has a public and an internal ALB.
    logs = LoadBalancerLogs(stack, "logs", LoadBalancerLogsProps.of(env, ("public-alb", "internal-alb")))
    edge = PublicLoadBalancer(
        stack,
        "edge",
        PublicLoadBalancerProps.of(
            env,
            vpc_id="vpc-1",
            public_subnet_ids=["subnet-a", "subnet-b"],
            access_log_bucket=logs.bucket_name,
        ),
    )
    expose(stack, edge, ("arn", "arn_suffix", "dns_name", "zone_id", "listener_arn", "security_group_id"))
    return synth_stack(stack), edge


def expose(stack, construct, attributes: tuple[str, ...]) -> None:
    """An output per exposed attribute (and per target group), so tests see what each resolves to."""
    from modules.cdk import TerraformOutput

    for attribute in attributes:
        TerraformOutput(stack, attribute, value=getattr(construct, attribute))
    for name, arn in construct.target_group_arns.items():
        TerraformOutput(stack, f"tg_{name}", value=arn)
    for name, suffix in construct.target_group_arn_suffixes.items():
        TerraformOutput(stack, f"tg_suffix_{name}", value=suffix)


def output(stack_json: dict, name: str) -> str:
    return stack_json["output"][name]["value"]


def internal_json(tmp_path: Path, body: str, access_log_bucket: str | None = "shared-logs"):
    from modules.cdk import TerraformStack, Testing
    from modules.edge import InternalLoadBalancers, InternalLoadBalancersProps

    env = environment(tmp_path, body)
    stack = TerraformStack(Testing.app(), "test")
    internal = InternalLoadBalancers(
        stack,
        "internal",
        InternalLoadBalancersProps.of(
            env,
            vpc_id="vpc-1",
            private_subnet_ids=["subnet-p", "subnet-q"],
            access_log_bucket=access_log_bucket,
        ),
    )
    attributes = (
        "alb_arn", "alb_arn_suffix", "alb_dns_name", "alb_listener_arn",
        "nlb_arn", "nlb_arn_suffix", "nlb_dns_name", "alb_security_group_id", "nlb_security_group_id",
    )  # fmt: skip
    expose(stack, internal, tuple(a for a in attributes if getattr(internal, a) is not None))
    return synth_stack(stack), internal


def by_port(stack_json: dict) -> dict[int, dict]:
    return {listener["port"]: listener for listener in resources(stack_json, "aws_lb_listener").values()}


def by_priority(stack_json: dict) -> dict[int, dict]:
    return {rule["priority"]: rule for rule in resources(stack_json, "aws_lb_listener_rule").values()}


def bucket_policy(stack_json: dict) -> dict:
    return json.loads(only(stack_json, "aws_s3_bucket_policy")["policy"])


FIXED_404 = {
    "type": "fixed-response",
    "fixed_response": {"content_type": "text/plain", "message_body": "Not Found", "status_code": "404"},
}


# --- public ALB: HTTPS ---------------------------------------------------------------------------


def test_https_listener_uses_the_tls13_policy_and_the_validated_certificate(tmp_path: Path) -> None:
    stack, edge = public_json(tmp_path, DOMAIN + WEB)
    https = by_port(stack)[443]
    assert https["protocol"] == "HTTPS"
    assert https["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["load_balancer_arn"] == ref(stack, "aws_lb", "edge/alb", "arn")
    # Through the validation resource: the listener waits for an issued certificate.
    assert https["certificate_arn"] == ref(
        stack, "aws_acm_certificate_validation", "edge/certificate-validation", "certificate_arn"
    )
    assert https["default_action"] == [FIXED_404]
    assert output(stack, "listener_arn") == ref(stack, "aws_lb_listener", "edge/https", "arn")


def test_certificate_covers_the_domain_and_its_wildcard_through_one_dns_record(tmp_path: Path) -> None:
    stack, _ = public_json(tmp_path, DOMAIN + WEB)
    cert = only(stack, "aws_acm_certificate")
    assert cert["domain_name"] == "example.com"
    assert cert["subject_alternative_names"] == ["*.example.com"]
    assert cert["validation_method"] == "DNS"
    assert cert["lifecycle"] == {"create_before_destroy": True}
    records = [r for r in resources(stack, "aws_route53_record").values() if "records" in r]
    (record,) = records
    options = ref(stack, "aws_acm_certificate", "edge/certificate", "domain_validation_options")[2:-1]
    # domain_validation_options is a set: it must be indexed through tolist().
    assert record["name"] == f"${{tolist({options}).0.resource_record_name}}"
    assert record["type"] == f"${{tolist({options}).0.resource_record_type}}"
    assert record["records"] == [f"${{tolist({options}).0.resource_record_value}}"]
    assert (record["zone_id"], record["ttl"], record["allow_overwrite"]) == (ZONE, 60, True)
    validation = only(stack, "aws_acm_certificate_validation")
    assert validation["certificate_arn"] == ref(stack, "aws_acm_certificate", "edge/certificate", "arn")
    assert validation["validation_record_fqdns"] == [
        ref(stack, "aws_route53_record", "edge/certificate-validation-record", "fqdn")
    ]


def test_port_80_only_redirects_301_to_https(tmp_path: Path) -> None:
    stack, _ = public_json(tmp_path, DOMAIN + WEB)
    http = by_port(stack)[80]
    assert http["protocol"] == "HTTP"
    assert http["default_action"] == [
        {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}
    ]
    # No rule is attached to the redirect listener.
    https_arn = ref(stack, "aws_lb_listener", "edge/https", "arn")
    assert {r["listener_arn"] for r in resources(stack, "aws_lb_listener_rule").values()} == {https_arn}


def test_existing_certificate_arn_requests_no_certificate(tmp_path: Path) -> None:
    domain = f'[domain]\nname = "example.com"\ncertificate_arn = "{CERT_ARN}"\n'
    stack, edge = public_json(tmp_path, domain + WEB)
    assert "aws_acm_certificate" not in stack["resource"]
    assert "aws_acm_certificate_validation" not in stack["resource"]
    assert by_port(stack)[443]["certificate_arn"] == CERT_ARN
    assert edge.certificate_arn == CERT_ARN
    # No hosted zone: no DNS records at all.
    assert "aws_route53_record" not in stack["resource"]


def test_existing_certificate_with_a_zone_still_gets_alias_records(tmp_path: Path) -> None:
    domain = f'[domain]\nname = "example.com"\nhosted_zone_id = "{ZONE}"\ncertificate_arn = "{CERT_ARN}"\n'
    stack, _ = public_json(tmp_path, domain + WEB)
    assert "aws_acm_certificate" not in stack["resource"]
    assert {r["name"] for r in resources(stack, "aws_route53_record").values()} == {
        "example.com",
        "www.example.com",
    }


# --- public ALB: the load balancer ------------------------------------------------------------


def test_alb_is_public_drops_invalid_headers_and_takes_edge_settings(tmp_path: Path) -> None:
    stack, edge = public_json(tmp_path, DOMAIN + WEB + "[edge]\nidle_timeout_seconds = 120\n")
    lb = only(stack, "aws_lb")
    assert lb["load_balancer_type"] == "application"
    assert lb["internal"] is False
    assert lb["name"] == "acme-dev-public"
    assert lb["subnets"] == ["subnet-a", "subnet-b"]
    assert lb["security_groups"] == [ref(stack, "aws_security_group", "edge/security-group", "id")]
    assert output(stack, "security_group_id") == lb["security_groups"][0]
    assert only(stack, "aws_security_group")["name"] == "acme-dev-public-alb"
    assert lb["drop_invalid_header_fields"] is True
    assert lb["idle_timeout"] == 120
    assert lb["enable_deletion_protection"] is False  # development profile
    for attribute in ("arn", "arn_suffix", "dns_name", "zone_id"):
        assert output(stack, attribute) == ref(stack, "aws_lb", "edge/alb", attribute)


def test_production_profile_turns_deletion_protection_on(tmp_path: Path) -> None:
    stack, _ = public_json(tmp_path, DOMAIN + WEB, profile="production")
    assert only(stack, "aws_lb")["enable_deletion_protection"] is True


def test_deletion_protection_follows_config_not_profile_name(tmp_path: Path) -> None:
    stack, _ = public_json(tmp_path, DOMAIN + WEB + "[edge]\ndeletion_protection = true\n")
    assert only(stack, "aws_lb")["enable_deletion_protection"] is True


def test_listener_rules_use_configured_priorities_and_conditions(tmp_path: Path) -> None:
    stack, edge = public_json(tmp_path, DOMAIN + WEB + API + DOCS)
    rules = by_priority(stack)
    assert set(rules) == {10, 20, 30}
    assert rules[10]["condition"] == [{"host_header": {"values": ["example.com", "www.example.com"]}}]
    assert rules[20]["condition"] == [
        {"host_header": {"values": ["api.example.com"]}},
        {"path_pattern": {"values": ["/v1/*", "/v2/*"]}},
    ]
    assert rules[30]["condition"] == [{"path_pattern": {"values": ["/docs/*"]}}]
    for priority, service in ((10, "web"), (20, "api"), (30, "docs")):
        target = ref(stack, "aws_lb_target_group", f"edge/{service}-target-group", "arn")
        assert rules[priority]["action"] == [{"type": "forward", "target_group_arn": target}]
    assert set(edge.listener_rules) == {"web", "api", "docs"}


def test_target_groups_are_ip_with_http_health_checks(tmp_path: Path) -> None:
    stack, edge = public_json(tmp_path, DOMAIN + WEB + API + "[edge]\nderegistration_delay_seconds = 15\n")
    groups = {g["tags"]["Service"]: g for g in resources(stack, "aws_lb_target_group").values()}
    assert set(groups) == {"web", "api"}
    api = groups["api"]
    assert (api["name"], api["target_type"], api["protocol"], api["port"], api["vpc_id"]) == (
        "acme-dev-api",
        "ip",
        "HTTP",
        9000,
        "vpc-1",
    )
    assert api["deregistration_delay"] == "15"
    assert api["health_check"] == {
        "enabled": True,
        "protocol": "HTTP",
        "port": "traffic-port",
        "path": "/ready",
        "matcher": "200-399",
        "interval": 30,
        "timeout": 5,
        "healthy_threshold": 2,
        "unhealthy_threshold": 3,
    }
    assert groups["web"]["health_check"]["path"] == "/health"
    for service in ("web", "api"):
        assert output(stack, f"tg_{service}") == ref(
            stack, "aws_lb_target_group", f"edge/{service}-target-group", "arn"
        )
        assert output(stack, f"tg_suffix_{service}") == ref(
            stack, "aws_lb_target_group", f"edge/{service}-target-group", "arn_suffix"
        )


def test_construct_ids_come_from_service_names(tmp_path: Path) -> None:
    stack, _ = public_json(tmp_path, DOMAIN + API + WEB)
    assert set(by_path(stack, "aws_lb_target_group")) == {"edge/web-target-group", "edge/api-target-group"}
    assert set(by_path(stack, "aws_lb_listener_rule")) == {"edge/web-rule", "edge/api-rule"}
    # the Terraform names spell those paths, with no hash suffix
    assert set(resources(stack, "aws_lb_target_group")) == {"edge_web_target_group", "edge_api_target_group"}
    assert set(resources(stack, "aws_lb_listener_rule")) == {"edge_web_rule", "edge_api_rule"}
    # Service order in the file does not move any address.
    reordered, _ = public_json(tmp_path / "reordered", DOMAIN + WEB + API)
    for kind in ("aws_lb_target_group", "aws_lb_listener_rule", "aws_route53_record"):
        assert set(resources(stack, kind)) == set(resources(reordered, kind))


def test_alias_records_point_every_service_host_at_the_alb(tmp_path: Path) -> None:
    stack, _ = public_json(tmp_path, DOMAIN + WEB + API + DOCS)
    aliases = {r["name"]: r for r in resources(stack, "aws_route53_record").values() if "alias" in r}
    assert set(aliases) == {"example.com", "www.example.com", "api.example.com"}
    for record in aliases.values():
        assert (record["type"], record["zone_id"]) == ("A", ZONE)
        assert record["alias"] == {
            "name": ref(stack, "aws_lb", "edge/alb", "dns_name"),
            "zone_id": ref(stack, "aws_lb", "edge/alb", "zone_id"),
            "evaluate_target_health": True,
        }


# --- public ALB: access logs ------------------------------------------------------------------


def test_access_logs_go_to_an_sse_s3_bucket_after_its_policy(tmp_path: Path) -> None:
    stack, edge = public_json(tmp_path, DOMAIN + WEB)
    bucket = only(stack, "aws_s3_bucket")
    assert bucket["bucket"] == "acme-dev-alb-logs-111111111111-eu-west-1"
    sse = only(stack, "aws_s3_bucket_server_side_encryption_configuration")
    assert sse["rule"][0]["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    lb = only(stack, "aws_lb")
    policy_key = next(iter(resources(stack, "aws_s3_bucket_policy")))
    assert lb["access_logs"] == {
        "bucket": f"${{aws_s3_bucket_policy.{policy_key}.bucket}}",
        "enabled": True,
        "prefix": "public-alb",
    }
    # ELB tests its write access when logging is switched on: naming the bucket through its
    # policy makes Terraform create the policy first.
    assert lb["access_logs"]["bucket"].startswith("${aws_s3_bucket_policy.")
    expiration = only(stack, "aws_s3_bucket_lifecycle_configuration")["rule"][0]["expiration"]
    assert expiration == [{"days": 90}]


@pytest.mark.parametrize(
    ("region", "principal"),
    [
        ("eu-west-1", {"AWS": "arn:aws:iam::156460612806:root"}),
        ("us-east-1", {"AWS": "arn:aws:iam::127311923021:root"}),
        ("ap-southeast-4", {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
        ("eu-south-2", {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
    ],
)
def test_log_delivery_principal_fits_the_region(tmp_path: Path, region: str, principal: dict) -> None:
    stack, _ = public_json(tmp_path, DOMAIN + WEB, region=region)
    statements = {s["Sid"]: s for s in bucket_policy(stack)["Statement"]}
    delivery = statements["ElbAccessLogDelivery"]
    assert delivery["Principal"] == principal
    assert delivery["Action"] == "s3:PutObject"
    bucket_arn = f"arn:aws:s3:::acme-dev-alb-logs-111111111111-{region}"
    assert delivery["Resource"] == [
        f"{bucket_arn}/public-alb/AWSLogs/111111111111/*",
        f"{bucket_arn}/internal-alb/AWSLogs/111111111111/*",
    ]
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


# --- public ALB: http_only --------------------------------------------------------------------


def test_http_only_serves_port_80_with_the_rules_and_no_certificate(tmp_path: Path) -> None:
    stack, edge = public_json(tmp_path, HTTP_ONLY + DOCS)
    (listener,) = resources(stack, "aws_lb_listener").values()
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    assert listener["default_action"] == [FIXED_404]
    assert "certificate_arn" not in listener and "ssl_policy" not in listener
    assert only(stack, "aws_lb_listener_rule")["listener_arn"] == ref(
        stack, "aws_lb_listener", "edge/http", "arn"
    )
    for kind in ("aws_acm_certificate", "aws_acm_certificate_validation", "aws_route53_record"):
        assert kind not in stack["resource"]
    assert edge.certificate_arn is None


def test_no_domain_without_http_only_is_refused(tmp_path: Path) -> None:
    from modules.cdk import TerraformStack, Testing
    from modules.edge import PublicLoadBalancer, PublicLoadBalancerProps

    env = environment(tmp_path, HTTP_ONLY + DOCS)
    props = PublicLoadBalancerProps.of(
        env, vpc_id="v", public_subnet_ids=["a", "b"], access_log_bucket="logs"
    )
    with pytest.raises(ValueError, match="needs a domain"):
        PublicLoadBalancer(TerraformStack(Testing.app(), "test"), "edge", replace(props, http_only=False))


def test_public_props_take_only_public_http_services(tmp_path: Path) -> None:
    from modules.edge import PublicLoadBalancerProps

    env = environment(tmp_path, DOMAIN + WEB + ORDERS + CACHE)
    props = PublicLoadBalancerProps.of(
        env, vpc_id="v", public_subnet_ids=["a", "b"], access_log_bucket="logs"
    )
    assert [s.name for s in props.services] == ["web"]
