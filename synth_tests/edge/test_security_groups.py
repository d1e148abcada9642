"""modules/edge/security_groups.py: load balancer and task groups, rules group-to-group only."""

from __future__ import annotations

from pathlib import Path

from conftest import env_toml, load, resources, synth_stack, write_config

SERVICES = """
[edge]
http_only = {http_only}

[[services]]
name = "web"
port = 8080
paths = ["/*"]
priority = 100

[[services]]
name = "api"
port = 9000
public = false
hosts = ["api.internal"]
priority = 10

[[services]]
name = "cache"
port = 6379
protocol = "tcp"
public = false
"""


def groups_json(tmp_path: Path, services: str = SERVICES, http_only: str = "true"):
    from modules.cdk import TerraformStack, Testing
    from modules.edge import ServiceSecurityGroups, ServiceSecurityGroupsProps

    (env,) = load(
        write_config(tmp_path, {"dev": env_toml() + services.format(http_only=http_only)})
    ).environments
    stack = TerraformStack(Testing.app(), "test")
    groups = ServiceSecurityGroups(
        stack,
        "security-groups",
        ServiceSecurityGroupsProps(
            name=env.prefix,
            vpc_id="vpc-1",
            services=tuple(env.services),
            ingress_ipv4=tuple(env.config.edge.ingress_ipv4),
            ingress_ipv6=tuple(env.config.edge.ingress_ipv6),
            https=not env.config.edge.http_only,
        ),
    )
    return synth_stack(stack), groups


def refs(stack: dict) -> dict[str, str]:
    """Group reference -> group name."""
    return {
        f"${{aws_security_group.{k}.id}}": g["name"]
        for k, g in resources(stack, "aws_security_group").items()
    }


def rules(stack: dict, kind: str) -> set[tuple[str, int, str]]:
    """(group, port, peer) for every ingress or egress rule; peer is a group name or a CIDR."""
    names = refs(stack)
    found = set()
    for rule in resources(stack, f"aws_vpc_security_group_{kind}_rule").values():
        assert rule["description"], rule
        assert rule["from_port"] == rule["to_port"] and rule["ip_protocol"] == "tcp"
        peer = names.get(
            rule.get("referenced_security_group_id", ""), rule.get("cidr_ipv4") or rule.get("cidr_ipv6")
        )
        found.add((names[rule["security_group_id"]], rule["from_port"], peer))
    return found


def test_one_group_per_load_balancer_and_per_service(tmp_path: Path) -> None:
    stack, groups = groups_json(tmp_path)
    assert sorted(refs(stack).values()) == [
        "acme-dev-api-tasks",
        "acme-dev-cache-tasks",
        "acme-dev-internal-alb",
        "acme-dev-internal-nlb",
        "acme-dev-public-alb",
        "acme-dev-web-tasks",
    ]
    assert set(groups.task_ids) == {"web", "api", "cache"}
    assert all(
        g["description"] and not g.get("ingress") for g in resources(stack, "aws_security_group").values()
    )


def test_ingress_is_group_to_group_except_the_public_listener(tmp_path: Path) -> None:
    stack, _ = groups_json(tmp_path)
    p = "acme-dev-"
    assert rules(stack, "ingress") == {
        (p + "public-alb", 80, "0.0.0.0/0"),
        (p + "public-alb", 80, "::/0"),
        (p + "web-tasks", 8080, p + "public-alb"),
        (p + "internal-alb", 80, p + "web-tasks"),
        (p + "internal-alb", 80, p + "api-tasks"),
        (p + "internal-alb", 80, p + "cache-tasks"),
        (p + "api-tasks", 9000, p + "internal-alb"),
        (p + "internal-nlb", 6379, p + "web-tasks"),
        (p + "internal-nlb", 6379, p + "api-tasks"),
        (p + "cache-tasks", 6379, p + "internal-nlb"),
    }


def test_egress_only_to_the_next_hop_and_https(tmp_path: Path) -> None:
    stack, _ = groups_json(tmp_path)
    p = "acme-dev-"
    assert rules(stack, "egress") == {
        (p + "public-alb", 8080, p + "web-tasks"),
        (p + "internal-alb", 9000, p + "api-tasks"),
        (p + "internal-nlb", 6379, p + "cache-tasks"),
        (p + "web-tasks", 80, p + "internal-alb"),
        (p + "api-tasks", 80, p + "internal-alb"),
        (p + "cache-tasks", 80, p + "internal-alb"),
        (p + "web-tasks", 6379, p + "internal-nlb"),
        (p + "api-tasks", 6379, p + "internal-nlb"),
        (p + "web-tasks", 443, "0.0.0.0/0"),
        (p + "api-tasks", 443, "0.0.0.0/0"),
        (p + "cache-tasks", 443, "0.0.0.0/0"),
    }


def test_https_mode_opens_443_and_80_for_the_redirect(tmp_path: Path) -> None:
    services = SERVICES.replace('paths = ["/*"]', 'hosts = ["www.example.com"]') + (
        '\n[domain]\nname = "example.com"\nhosted_zone_id = "Z0123456789ABC"\n'
    )
    stack, _ = groups_json(tmp_path, services, http_only="false")
    public = {(port, peer) for group, port, peer in rules(stack, "ingress") if group == "acme-dev-public-alb"}
    assert public == {(443, "0.0.0.0/0"), (443, "::/0"), (80, "0.0.0.0/0"), (80, "::/0")}


def test_no_load_balancer_groups_without_services_behind_them(tmp_path: Path) -> None:
    only_public = '\n[edge]\nhttp_only = {http_only}\n\n[[services]]\nname = "web"\nport = 80\npaths = ["/*"]\npriority = 1\n'
    stack, groups = groups_json(tmp_path, only_public)
    assert groups.internal_alb_id is None and groups.internal_nlb_id is None
    assert sorted(refs(stack).values()) == ["acme-dev-public-alb", "acme-dev-web-tasks"]


def test_rule_ids_come_from_service_names_and_cidrs(tmp_path: Path) -> None:
    stack, _ = groups_json(tmp_path)
    keys = {k.rsplit("_", 1)[0] for k in resources(stack, "aws_vpc_security_group_ingress_rule")}
    assert "security-groups_public-alb-80-from-ipv4-0-0-0-0-0" in keys
    assert "security-groups_web-tasks-from-public-alb-8080" in keys
