"""modules/config/ (services, compute, edge): services, cluster, edge and domain rules, through the error contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import env_toml, run_main, write_config

from modules.config import ConfigError, load_platform

WEB = '[[services]]\nname = "web"\nport = 8080\npaths = ["/*"]\npriority = 10\n'
HTTP_ONLY = "[edge]\nhttp_only = true\n"


def problems_of(
    tmp_path: Path, services: str, profile: str = "development", head: str = HTTP_ONLY
) -> list[str]:
    write_config(tmp_path, {"dev": env_toml(profile=profile) + "\n" + head + "\n" + services})
    with pytest.raises(ConfigError) as caught:
        load_platform(tmp_path)
    prefix = f"{tmp_path}/dev.toml: "
    assert all(str(p).startswith(prefix) for p in caught.value.problems)
    return [str(p).removeprefix(prefix) for p in caught.value.problems]


def test_a_valid_service_loads_with_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, {"dev": env_toml() + "\n" + HTTP_ONLY + "\n" + WEB})
    (env,) = load_platform(tmp_path).environments
    (web,) = env.services
    assert (web.cpu, web.memory, web.desired_count, web.readonly_root_filesystem) == (256, 512, 1, True)
    assert (web.image, web.image_tag, web.protocol, web.public) == (None, "initial", "http", True)
    assert not web.autoscaled
    assert env.config.compute == "fargate"
    assert (env.config.cluster.spot, env.config.cluster.container_insights) == (True, False)


def test_production_profile_defaults(tmp_path: Path) -> None:
    domain = '[domain]\nname = "example.com"\nhosted_zone_id = "Z0123456789ABC"\n'
    write_config(tmp_path, {"prod": env_toml(profile="production") + "\n" + domain})
    (env,) = load_platform(tmp_path).environments
    cluster = env.config.cluster
    assert (cluster.spot, cluster.container_insights, cluster.exec_enabled) == (False, True, False)
    assert (cluster.min_healthy_percent, cluster.log_retention_days) == (100, 365)
    assert env.config.edge.deletion_protection is True


@pytest.mark.parametrize(
    ("service", "key", "fragment"),
    [
        (
            "cpu = 256\nmemory = 4096\n",
            "services[0] (web)",
            "memory 4096 is not valid with cpu 256: Fargate allows 512-2048",
        ),
        ("cpu = 300\n", "services[0] (web)", "cpu 300 is not a Fargate size"),
        ("min_count = 3\nmax_count = 2\n", "services[0] (web)", "min_count <= desired_count <= max_count"),
        ("desired_count = 5\nmax_count = 4\n", "services[0] (web)", "(got 1, 5, 4)"),
        ('protocol = "udp"\n', "services[0] (web).protocol", "'http' or 'tcp'"),
        ('protocol = "tcp"\n', "services[0] (web)", "a tcp service has no hosts, paths or priority"),
        ('colour = "red"\n', "services[0] (web).colour", "unknown key"),
        ('secrets = { DB = "password123" }\n', "services[0] (web).secrets.DB", "must be a Secrets Manager"),
        ('user = "root"\n', "services[0] (web).user", "must be a numeric uid or uid:gid"),
    ],
)
def test_bad_service_values(tmp_path: Path, service: str, key: str, fragment: str) -> None:
    (problem,) = problems_of(tmp_path, WEB + service)
    assert problem.startswith(f"{key}: ") and fragment in problem, problem


@pytest.mark.parametrize("port", [0, 65536])
def test_port_out_of_range(tmp_path: Path, port: int) -> None:
    (problem,) = problems_of(tmp_path, WEB.replace("8080", str(port)))
    assert problem.startswith("services[0] (web).port: ")


def test_duplicate_names_routes_and_priorities(tmp_path: Path) -> None:
    found = problems_of(tmp_path, WEB + WEB)
    assert found == [
        "services[1] (web).name: 'web' is already services[0]",
        "services[1] (web).priority: 10 is already used by 'web'",
        "services[1] (web).hosts: host * path /* is already claimed by 'web'",
    ]


def test_same_path_on_the_internal_balancer_is_no_clash(tmp_path: Path) -> None:
    internal = WEB.replace('"web"', '"api"').replace("priority = 10", "priority = 10\npublic = false")
    write_config(tmp_path, {"dev": env_toml() + "\n" + HTTP_ONLY + "\n" + WEB + internal})
    assert [s.name for s in load_platform(tmp_path).environments[0].services] == ["web", "api"]


def test_http_service_needs_routing_and_priority(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, '[[services]]\nname = "web"\nport = 80\npriority = 1\n')
    assert problem == "services[0] (web): an http service needs hosts and/or paths for its listener rule"
    (problem,) = problems_of(tmp_path, '[[services]]\nname = "web"\nport = 80\npaths = ["/"]\n')
    assert problem == "services[0] (web): an http service needs a listener rule priority (1-50000)"


def test_http_only_is_refused_by_the_production_profile(tmp_path: Path) -> None:
    assert problems_of(tmp_path, WEB, profile="production") == [
        "edge.http_only: plain HTTP is refused by the production profile"
    ]


def test_public_services_need_a_domain_or_explicit_http(tmp_path: Path) -> None:
    assert problems_of(tmp_path, WEB, head="") == [
        "domain: public services need [domain] for HTTPS, or edge.http_only = true"
    ]


def test_domain_rules(tmp_path: Path) -> None:
    domain = '[domain]\nname = "example.com"\n'
    found = problems_of(tmp_path, WEB, head=domain)
    assert found == [
        "domain: set hosted_zone_id (a DNS-validated certificate is requested) or certificate_arn"
    ]
    zone = '[domain]\nname = "example.com"\nhosted_zone_id = "Z0123456789ABC"\n'
    foreign = WEB.replace('paths = ["/*"]', 'hosts = ["www.example.org"]')
    assert problems_of(tmp_path, foreign, head=zone) == [
        "services[0] (web).hosts: www.example.org is not example.com or one label below it (the certificate's names)"
    ]
    assert problems_of(tmp_path, WEB, head=zone + HTTP_ONLY.replace("[edge]\n", "[edge]\n")) != []


def test_bad_edge_and_cluster_values(tmp_path: Path) -> None:
    head = '[edge]\nhttp_only = true\ningress_ipv4 = ["10.0.0.0/33"]\n[cluster]\ninstance_min = 5\ninstance_max = 2\n'
    found = problems_of(tmp_path, WEB, head=head)
    assert any(p.startswith("edge.ingress_ipv4: '10.0.0.0/33' is not an IPv4 CIDR") for p in found)
    assert "cluster: instance_min (5) is above instance_max (2)" in found


def test_a_cidr_listed_twice_is_refused(tmp_path: Path) -> None:
    head = '[edge]\nhttp_only = true\ningress_ipv6 = ["2001:db8::/32", "::/0", "2001:db8::/32"]\n'
    found = problems_of(tmp_path, WEB, head=head)
    assert found == [
        "edge.ingress_ipv6: lists 2001:db8::/32 more than once (got ['2001:db8::/32', '::/0', '2001:db8::/32'])"
    ]


def test_bad_services_exit_2_through_the_cli(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "environments", {"dev": env_toml() + "\n" + HTTP_ONLY + "\n" + WEB + WEB}
    )
    out = tmp_path / "generated"
    result = run_main("synth", "--config", str(config), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        result.stderr.splitlines()[0]
        == "environments/dev.toml: services[1] (web).name: 'web' is already services[0]"
    )
    assert not out.exists()


def test_hosts_must_be_covered_by_the_certificate(tmp_path: Path) -> None:
    zone = '[domain]\nname = "example.com"\nhosted_zone_id = "Z0123456789ABC"\n'
    deep = WEB.replace('paths = ["/*"]', 'hosts = ["a.b.example.com"]')
    assert problems_of(tmp_path, deep, head=zone) == [
        "services[0] (web).hosts: a.b.example.com is not example.com or one label below it (the certificate's names)"
    ]


def test_listener_rule_condition_limit(tmp_path: Path) -> None:
    many = WEB.replace('paths = ["/*"]', 'paths = ["/a", "/b", "/c", "/d", "/e", "/f"]')
    assert problems_of(tmp_path, many) == [
        "services[0] (web): a listener rule takes at most 5 hosts and paths together"
    ]


def test_tcp_services_need_distinct_ports(tmp_path: Path) -> None:
    tcp = '[[services]]\nname = "{}"\nport = 7000\nprotocol = "tcp"\npublic = false\n'
    assert problems_of(tmp_path, tcp.format("ledger") + tcp.format("queue"), head="") == [
        "services[1] (queue).port: 7000 is already the NLB listener of 'ledger'"
    ]


def test_project_name_may_not_start_with_internal(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {"dev": env_toml()},
        project='name = "internal-tools"\nregion = "eu-west-1"\naccount_id = "111111111111"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_platform(tmp_path)
    assert [p.key for p in caught.value.problems] == ["name"]
