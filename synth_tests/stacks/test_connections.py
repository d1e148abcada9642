"""Network paths the environment stack opens: each load balancer to its services, each caller to
the internal services it `uses`, and nothing else (rules owned by the side being reached)."""

from __future__ import annotations

from pathlib import Path

from conftest import env_toml, environment_json, load, resources, write_config

SERVICES = """
[edge]
http_only = {http_only}

[[services]]
name = "web"
port = 8080
paths = ["/*"]
priority = 100
uses = [{web_uses}]

[[services]]
name = "api"
port = 9000
public = false
hosts = ["api.internal"]
priority = 10
uses = ["service:cache"]

[[services]]
name = "cache"
port = 6379
protocol = "tcp"

[[services]]
name = "batch"
port = 7000
public = false
paths = ["/jobs/*"]
priority = 20
"""


def stack_json(
    tmp_path: Path, web_uses: str = '"service:api", "service:cache"', http_only: str = "true", extra: str = ""
):
    text = env_toml() + SERVICES.format(http_only=http_only, web_uses=web_uses) + extra
    return environment_json(load(write_config(tmp_path, {"dev": text})), "dev")


def group_names(stack: dict) -> dict[str, str]:
    """Group reference -> group name."""
    return {
        f"${{aws_security_group.{k}.id}}": g["name"]
        for k, g in resources(stack, "aws_security_group").items()
    }


def rules(stack: dict, kind: str) -> set[tuple[str, int, str]]:
    """(group, port, peer) for every ingress or egress rule; peer is a group name or a CIDR."""
    names = group_names(stack)
    found = set()
    for rule in resources(stack, f"aws_vpc_security_group_{kind}_rule").values():
        assert rule["description"], rule
        assert rule["from_port"] == rule["to_port"] and rule["ip_protocol"] == "tcp"
        peer = names.get(
            rule.get("referenced_security_group_id", ""), rule.get("cidr_ipv4") or rule.get("cidr_ipv6")
        )
        found.add((names.get(rule["security_group_id"], rule["security_group_id"]), rule["from_port"], peer))
    return found


P = "acme-dev-"


def test_one_group_per_load_balancer_and_per_service_each_without_inline_rules(tmp_path: Path) -> None:
    stack = stack_json(tmp_path)
    assert sorted(group_names(stack).values()) == [
        P + "api-tasks",
        P + "batch-tasks",
        P + "cache-tasks",
        P + "internal-alb",
        P + "internal-nlb",
        P + "public-alb",
        P + "web-tasks",
    ]
    assert all(
        g["description"] and not g.get("ingress") for g in resources(stack, "aws_security_group").values()
    )


def test_ingress_only_from_the_load_balancer_in_front_and_from_declared_callers(tmp_path: Path) -> None:
    assert rules(stack_json(tmp_path), "ingress") == {
        (P + "public-alb", 80, "0.0.0.0/0"),
        (P + "public-alb", 80, "::/0"),
        (P + "web-tasks", 8080, P + "public-alb"),
        (P + "api-tasks", 9000, P + "internal-alb"),
        (P + "batch-tasks", 7000, P + "internal-alb"),
        (P + "cache-tasks", 6379, P + "internal-nlb"),
        # web uses api and cache, api uses cache; batch and cache call nobody.
        (P + "internal-alb", 80, P + "web-tasks"),
        (P + "internal-nlb", 6379, P + "web-tasks"),
        (P + "internal-nlb", 6379, P + "api-tasks"),
    }


def test_egress_only_to_the_next_hop_and_https(tmp_path: Path) -> None:
    assert rules(stack_json(tmp_path), "egress") == {
        (P + "public-alb", 8080, P + "web-tasks"),
        (P + "internal-alb", 9000, P + "api-tasks"),
        (P + "internal-alb", 7000, P + "batch-tasks"),
        (P + "internal-nlb", 6379, P + "cache-tasks"),
        (P + "web-tasks", 80, P + "internal-alb"),
        (P + "web-tasks", 6379, P + "internal-nlb"),
        (P + "api-tasks", 6379, P + "internal-nlb"),
        *((P + f"{s}-tasks", 443, "0.0.0.0/0") for s in ("web", "api", "cache", "batch")),
    }


def test_a_service_that_uses_nothing_reaches_no_internal_load_balancer(tmp_path: Path) -> None:
    found = rules(stack_json(tmp_path, web_uses=""), "egress")
    assert {(g, port) for g, port, _ in found if g == P + "web-tasks"} == {(P + "web-tasks", 443)}


def test_a_caller_of_two_internal_http_services_gets_one_path_to_the_alb(tmp_path: Path) -> None:
    stack = stack_json(tmp_path, web_uses='"service:api", "service:batch"')
    to_alb = [
        r for r in resources(stack, "aws_vpc_security_group_egress_rule").values() if r["from_port"] == 80
    ]
    assert len(to_alb) == 1


def test_https_mode_opens_443_and_80_for_the_redirect(tmp_path: Path) -> None:
    services = SERVICES.replace('paths = ["/*"]', 'hosts = ["www.example.com"]')
    text = (
        env_toml()
        + services.format(http_only="false", web_uses="")
        + ('\n[domain]\nname = "example.com"\nhosted_zone_id = "Z0123456789ABC"\n')
    )
    stack = environment_json(load(write_config(tmp_path, {"dev": text})), "dev")
    public = {(port, peer) for group, port, peer in rules(stack, "ingress") if group == P + "public-alb"}
    assert public == {(443, "0.0.0.0/0"), (443, "::/0"), (80, "0.0.0.0/0"), (80, "::/0")}


def test_no_load_balancer_groups_without_services_behind_them(tmp_path: Path) -> None:
    text = (
        env_toml()
        + '\n[edge]\nhttp_only = true\n\n[[services]]\nname = "web"\nport = 80\npaths = ["/*"]\npriority = 1\n'
    )
    stack = environment_json(load(write_config(tmp_path, {"dev": text})), "dev")
    assert sorted(group_names(stack).values()) == [P + "public-alb", P + "web-tasks"]


def test_rule_addresses_name_both_sides(tmp_path: Path) -> None:
    stack = stack_json(tmp_path)
    assert {
        "public_alb_80_from_ipv4_any",
        "public_alb_80_from_ipv6_any",
        "services_web_allow_public_alb_ingress",
        "services_cache_allow_internal_nlb_ingress",
        "internal_lb_alb_allow_web_tasks_80_ingress",
        "internal_lb_nlb_allow_api_tasks_6379_ingress",
    } <= set(resources(stack, "aws_vpc_security_group_ingress_rule"))
    assert {
        "services_web_allow_public_alb_egress",
        "services_web_https_egress",
        "internal_lb_nlb_allow_web_tasks_6379_egress",
    } <= set(resources(stack, "aws_vpc_security_group_egress_rule"))
