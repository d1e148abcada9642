"""modules/config/ (errors, rules, loader): every problem at once across stages, messages a person
can act on, and defaults that follow the user's intent (tcp is internal, subnet sizes fit the CIDR)."""

from __future__ import annotations

import types
from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from conftest import BASE_PROJECT, env_toml, run_main, write_config
from pydantic import BaseModel, StringConstraints

from modules.config import ConfigError, EnvironmentConfig, NetworkConfig, ProjectConfig, load_platform
from modules.config.types import PATTERN_WORDS

WEB = '[[services]]\nname = "web"\nport = 8080\npaths = ["/*"]\npriority = 10\n'
HTTP_ONLY = "[edge]\nhttp_only = true\n"


def problems(directory: Path) -> list[str]:
    """Every problem line, with the directory left out."""
    with pytest.raises(ConfigError) as caught:
        load_platform(directory)
    return [str(p).removeprefix(f"{directory}/") for p in caught.value.problems]


def dev_problems(tmp_path: Path, text: str) -> list[str]:
    write_config(tmp_path, {"dev": text})
    found = problems(tmp_path)
    assert all(p.startswith("dev.toml: ") for p in found), found
    return [p.removeprefix("dev.toml: ") for p in found]


# --- every problem at once --------------------------------------------------------------------

ONE_FILE = """\
profile = "development"

[network]
cidr = "10.10.0.0/20"
az_count = 3
private_subnet_prefix = 20
public_subnet_prefix = 24
nat = "sometimes"

[edge]
http_only = true

[[services]]
name = "web"
port = 8080
paths = ["/*"]
priority = 10

[[services]]
name = "api"
port = "9000"
paths = ["/api/*"]
priority = 20
health_chek_path = "/api/health"

[[services]]
name = "admin"
port = 8081
paths = ["/admin/*"]
priority = 10
"""


def test_independent_mistakes_in_one_file_are_reported_together(tmp_path: Path) -> None:
    # A bad value beside a subnet rule, a bad type in one service beside a duplicate priority
    # between two others: one run shows them all, in the file's key order.
    assert dev_problems(tmp_path, ONE_FILE) == [
        "network.nat: Input should be 'none', 'single' or 'per_az' (got 'sometimes')",
        "network: 3 private /20 and 3 public /24 subnets need 13056 addresses; 10.10.0.0/20 has 4096",
        "services[1] (api).port: Input should be a valid integer (got '9000')",
        "services[1] (api).health_chek_path: unknown key; did you mean health_check_path?",
        "services[2] (admin).priority: 10 is already used by 'web'",
    ]


DEV = """\
profile = "production"
regoin = "eu-west-1"

[network]
cidr = "10.10.0.0/16"

[domain]
name = "example.com"

[[services]]
name = "web"
port = 0
cpu = 300
hosts = ["www.example.com"]
priority = 10
"""

STG = """\
profile = "development"

[network]
cidr = "10.10.128.0/17"
az_count = 9

[edge]
http_only = true

[[services]]
name = "api"
port = 9000
paths = ["/*"]
priority = 10

[[services]]
name = "api"
port = 9001
paths = ["/v2/*"]
priority = 20
"""


def test_independent_mistakes_across_files_are_reported_together(tmp_path: Path) -> None:
    # The project, two environments, and a CIDR overlap with a file that has problems of its own.
    write_config(tmp_path, {"dev": DEV, "stg": STG}, project=BASE_PROJECT.replace("111111111111", "12345"))
    assert problems(tmp_path) == [
        "project.toml: account_id: must be an AWS account id: 12 digits (got '12345')",
        "dev.toml: domain: set hosted_zone_id (a DNS-validated certificate is requested) or certificate_arn",
        "dev.toml: services[0] (web).port: Input should be greater than or equal to 1 (got 0)",
        "dev.toml: services[0] (web): cpu 300 is not a Fargate size: use one of "
        "[256, 512, 1024, 2048, 4096, 8192, 16384]",
        "dev.toml: regoin: unknown key; did you mean region?",
        "stg.toml: network.az_count: Input should be less than or equal to 6 (got 9)",
        "stg.toml: network.cidr: 10.10.128.0/17 overlaps 10.10.0.0/16 of environment 'dev' "
        f"({tmp_path}/dev.toml)",
        "stg.toml: services[1] (api).name: 'api' is already services[0]",
    ]


def test_overlap_and_subnets_that_do_not_fit_together(tmp_path: Path) -> None:
    tight = "private_subnet_prefix = 16\n"
    write_config(tmp_path, {"dev": env_toml("10.10.0.0/16"), "stg": env_toml("10.10.0.0/24", network=tight)})
    assert problems(tmp_path) == [
        "stg.toml: network: private subnet prefix /16 is larger than the VPC CIDR /24",
        f"stg.toml: network.cidr: 10.10.0.0/24 overlaps 10.10.0.0/16 of environment 'dev' ({tmp_path}/dev.toml)",
    ]


def test_service_rules_run_beside_section_problems(tmp_path: Path) -> None:
    # [edge] fails its type check: the rules that need it wait, those between services do not.
    head = "[edge]\nhttp_only = true\nidle_timeout_seconds = 0\n"
    found = dev_problems(tmp_path, env_toml() + head + WEB + WEB.replace('"web"', '"api"'))
    assert found == [
        "edge.idle_timeout_seconds: Input should be greater than or equal to 1 (got 0)",
        "services[1] (api).priority: 10 is already used by 'web'",
        "services[1] (api).hosts: host * path /* is already claimed by 'web'",
    ]


def test_rules_of_one_service_run_whatever_else_in_it_failed(tmp_path: Path) -> None:
    service = WEB + "port = 0\ncpu = 256\nmemory = 4096\nmin_count = 3\nmax_count = 2\n"
    service = service.replace("port = 8080\n", "")
    assert dev_problems(tmp_path, env_toml() + HTTP_ONLY + service) == [
        "services[0] (web).port: Input should be greater than or equal to 1 (got 0)",
        "services[0] (web): memory 4096 is not valid with cpu 256: Fargate allows 512-2048 in steps of 512",
        "services[0] (web): counts must satisfy min_count <= desired_count <= max_count (got 3, 1, 2)",
    ]


def test_a_rule_about_a_value_that_failed_waits(tmp_path: Path) -> None:
    # cpu is not an int: the Fargate size rule needs it, so only the type is reported.
    assert dev_problems(tmp_path, env_toml() + HTTP_ONLY + WEB + 'cpu = "256"\n') == [
        "services[0] (web).cpu: Input should be a valid integer (got '256')"
    ]


def test_a_bad_profile_does_not_report_the_keys_it_would_supply(tmp_path: Path) -> None:
    assert dev_problems(tmp_path, 'profile = "dev"\n[network]\ncidr = "10.0.0.0/16"\n') == [
        "profile: Input should be 'development' or 'production' (got 'dev')"
    ]


def test_bad_services_and_an_overlap_exit_2_through_the_cli(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "environments",
        {"dev": env_toml() + HTTP_ONLY + WEB.replace("8080", "0"), "stg": env_toml("10.10.0.0/17")},
    )
    out = tmp_path / "generated"
    result = run_main("synth", "--config", str(config), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "environments/dev.toml: services[0] (web).port: Input should be greater than or equal to 1 (got 0)",
        "environments/stg.toml: network.cidr: 10.10.0.0/17 overlaps 10.10.0.0/16 of environment 'dev' "
        "(environments/dev.toml)",
    ]
    assert not out.exists()


# --- messages a person can act on -------------------------------------------------------------


def test_services_are_named_in_key_paths(tmp_path: Path) -> None:
    nameless = '[[services]]\nport = 80\npaths = ["/"]\npriority = 2\n'
    found = dev_problems(tmp_path, env_toml() + HTTP_ONLY + WEB + 'colour = "red"\n' + nameless)
    assert found == [
        "services[0] (web).colour: unknown key",
        "services[1].name: required key is missing",
    ]


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        ("zone = []\n", "network.zone: unknown key; did you mean zones?"),
        (
            "privat_subnet_prefix = 20\n",
            "network.privat_subnet_prefix: unknown key; did you mean private_subnet_prefix?",
        ),
        ("nat_mode = 1\n", "network.nat_mode: unknown key"),  # nothing close enough to suggest
    ],
)
def test_unknown_keys_suggest_the_closest_known_one(tmp_path: Path, network: str, expected: str) -> None:
    assert dev_problems(tmp_path, env_toml(network=network)) == [expected]


def test_unknown_key_in_a_section_suggests_the_closest(tmp_path: Path) -> None:
    found = dev_problems(tmp_path, env_toml() + '[cluster]\ninstance_typ = "t3.small"\n')
    assert found == ["cluster.instance_typ: unknown key; did you mean instance_type?"]


def test_unknown_key_in_a_service_suggests_the_closest(tmp_path: Path) -> None:
    found = dev_problems(tmp_path, env_toml() + HTTP_ONLY + WEB + 'health_chek_path = "/x"\n')
    assert found == ["services[0] (web).health_chek_path: unknown key; did you mean health_check_path?"]


@pytest.mark.parametrize(
    ("line", "key", "words"),
    [
        (
            'name = "Web!"',
            "services[0] (Web!).name",
            "must be 2-20 characters of a-z, 0-9 and '-', starting with a letter, not ending with '-' and without '--'",
        ),
        ('hosts = ["Example.COM"]', "services[0] (web).hosts[0]", "must be a lower-case DNS name such as"),
        (
            'health_check_path = "health"',
            "services[0] (web).health_check_path",
            "must be a path starting with '/'",
        ),
        (
            'environment = { "bad-name" = "x" }',
            "services[0] (web).environment.bad-name",
            "key must be an environment variable name: letters, digits and '_', not starting with a digit",
        ),
        ('secrets = { DB = "vault:db" }', "services[0] (web).secrets.DB", "must be a Secrets Manager or SSM"),
        ('image_tag = "-x"', "services[0] (web).image_tag", "must be an image tag"),
        ('image = "my image"', "services[0] (web).image", "must be an image reference without spaces"),
    ],
)
def test_patterns_are_said_in_words(tmp_path: Path, line: str, key: str, words: str) -> None:
    service = WEB.replace('name = "web"', line) if line.startswith("name") else WEB + line + "\n"
    (problem,) = dev_problems(tmp_path, env_toml() + HTTP_ONLY + service)
    assert problem.startswith(f"{key}: {words}"), problem
    assert "should match pattern" not in problem


@pytest.mark.parametrize(
    ("head", "key", "words"),
    [
        ('account_id = "1234"', "account_id", "must be an AWS account id: 12 digits (got '1234')"),
        ('region = "europe"', "region", "must be an AWS region such as eu-west-1"),
        ('assume_role_arn = "arn:aws:iam::1:role/x"', "assume_role_arn", "must be an IAM role ARN"),
    ],
)
def test_environment_patterns_are_said_in_words(tmp_path: Path, head: str, key: str, words: str) -> None:
    (problem,) = dev_problems(tmp_path, head + "\n" + env_toml())
    assert problem.startswith(f"{key}: {words}"), problem


def test_project_and_domain_patterns_are_said_in_words(tmp_path: Path) -> None:
    project = BASE_PROJECT + 'owner = "a|b"\n[tags]\n"Cost|Center" = "x"\n'
    domain = '[domain]\nname = "example.com"\nhosted_zone_id = "z1"\ncertificate_arn = "arn:x"\n'
    write_config(tmp_path, {"dev": env_toml() + domain}, project=project)
    assert problems(tmp_path) == [
        "project.toml: owner: may hold only letters, digits, spaces and _ . : / = + @ - (got 'a|b')",
        "project.toml: tags.Cost|Center: key may hold only letters, digits, spaces and _ . : / = + @ - "
        "(got 'Cost|Center')",
        "dev.toml: domain.hosted_zone_id: must be a Route 53 hosted zone id: 'Z' and then upper-case letters "
        "and digits (got 'z1')",
        "dev.toml: domain.certificate_arn: must be an ACM certificate ARN: "
        "arn:aws:acm:<region>:<12-digit account id>:certificate/<id> (got 'arn:x')",
    ]


def _patterns(hint: Any, metadata: tuple[Any, ...] = ()) -> set[str]:
    found = {str(m.pattern) for m in metadata if isinstance(m, StringConstraints) and m.pattern}
    if get_origin(hint) is Annotated:
        found |= _patterns(get_args(hint)[0], hint.__metadata__)
    elif get_origin(hint) in (Union, types.UnionType, list, dict):
        for arg in get_args(hint):
            found |= _patterns(arg)
    elif isinstance(hint, type) and issubclass(hint, BaseModel):
        for field in hint.model_fields.values():
            found |= _patterns(field.annotation, tuple(field.metadata))
    return found


def test_every_pattern_of_the_schema_is_said_in_words() -> None:
    patterns = _patterns(EnvironmentConfig) | _patterns(ProjectConfig)
    assert len(patterns) >= 15
    assert patterns <= set(PATTERN_WORDS), patterns - set(PATTERN_WORDS)


def test_every_problem_stays_on_one_line(tmp_path: Path) -> None:
    text = '"a\\nb" = 1\n' + env_toml() + HTTP_ONLY + WEB.replace('"web"', '"w\\neb"')
    found = dev_problems(tmp_path, text)
    assert all("\n" not in p for p in found)
    assert "'a\\nb': unknown key" in found


def test_the_environment_file_name_is_explained_as_a_slug(tmp_path: Path) -> None:
    write_config(tmp_path, {"Dev_1": env_toml()})
    assert problems(tmp_path) == [
        "Dev_1.toml: (file name): environment name 'Dev_1' must be 2-20 characters of a-z, 0-9 and '-', "
        "starting with a letter, not ending with '-' and without '--'"
    ]


# --- defaults that follow the user's intent ---------------------------------------------------


def test_a_tcp_service_is_internal_unless_told_otherwise(tmp_path: Path) -> None:
    tcp = '[[services]]\nname = "ledger"\nport = 7000\nprotocol = "tcp"\n'
    write_config(tmp_path, {"dev": env_toml() + tcp})
    (env,) = load_platform(tmp_path).environments
    (ledger,) = env.services
    assert (ledger.protocol, ledger.public) == ("tcp", False)
    # ... and there is nothing public, so no [domain] or http_only is asked for.
    assert dev_problems(tmp_path, env_toml() + tcp + "public = true\n") == [
        "services[0] (ledger): protocol tcp is for internal services behind the NLB: remove public = true",
    ]


def test_an_http_service_is_still_public_by_default(tmp_path: Path) -> None:
    write_config(tmp_path, {"dev": env_toml() + HTTP_ONLY + WEB})
    (env,) = load_platform(tmp_path).environments
    assert env.services[0].public is True


def test_a_tcp_service_whose_port_fails_gets_no_public_complaint(tmp_path: Path) -> None:
    tcp = '[[services]]\nname = "ledger"\nport = 0\nprotocol = "tcp"\n'
    assert dev_problems(tmp_path, env_toml() + tcp) == [
        "services[0] (ledger).port: Input should be greater than or equal to 1 (got 0)"
    ]


def network(cidr: str, **values: Any) -> NetworkConfig:
    return NetworkConfig.model_validate(
        {"cidr": cidr, "nat": "single", "flow_log_retention_days": 30, **values}
    )


@pytest.mark.parametrize(
    ("cidr", "zones", "private", "public"),
    [
        ("10.0.0.0/16", 2, 20, 24),
        ("10.0.0.0/16", 6, 20, 24),
        ("10.0.0.0/17", 6, 20, 24),
        ("10.0.0.0/18", 3, 20, 24),
        ("10.0.0.0/18", 4, 21, 24),
        ("10.0.0.0/19", 2, 21, 24),
        ("10.0.0.0/20", 3, 22, 24),
        ("10.0.0.0/21", 3, 23, 25),
        ("10.0.0.0/22", 6, 25, 27),
        ("10.0.0.0/23", 6, 27, 27),
        ("10.0.0.0/24", 2, 26, 26),
        ("10.0.0.0/24", 4, 27, 27),
    ],
)
def test_unset_subnet_sizes_follow_the_cidr(cidr: str, zones: int, private: int, public: int) -> None:
    net = network(cidr, az_count=zones)
    assert (net.private_subnet_prefix, net.public_subnet_prefix) == (private, public)
    assert len(net.subnets.private) == zones


@pytest.mark.parametrize("prefix", range(16, 24))
@pytest.mark.parametrize("zones", range(2, 7))
def test_every_cidr_up_to_a_23_fits_every_zone_count(prefix: int, zones: int) -> None:
    net = network(f"10.0.0.0/{prefix}", az_count=zones)
    assert max(net.private_subnet_prefix, net.public_subnet_prefix) <= 27
    layout = net.subnets
    assert all(s.subnet_of(IPv4Network(f"10.0.0.0/{prefix}")) for s in layout.private + layout.public)


def test_a_size_you_set_is_kept_and_the_other_fits_beside_it() -> None:
    assert network("10.0.0.0/19", private_subnet_prefix=22).public_subnet_prefix == 24
    assert network("10.0.0.0/19", public_subnet_prefix=26).private_subnet_prefix == 21
    assert network("10.0.0.0/16", public_subnet_prefix=22).private_subnet_prefix == 20


def test_a_cidr_too_small_for_its_zones_says_how_large_it_must_be(tmp_path: Path) -> None:
    assert dev_problems(tmp_path, env_toml("10.10.0.0/24", network="az_count = 6\n")) == [
        "network: 6 private /27 and 6 public /27 subnets need 384 addresses; 10.10.0.0/24 has 256; with 6 "
        "zones the VPC CIDR must be /23 or larger (a public and a private /27 per zone at least: load "
        "balancers need them)"
    ]


def test_sizes_you_set_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    sizes = "private_subnet_prefix = 20\npublic_subnet_prefix = 24\n"
    assert dev_problems(tmp_path, env_toml("10.10.0.0/19", network=sizes)) == [
        "network: 2 private /20 and 2 public /24 subnets need 8704 addresses; 10.10.0.0/19 has 8192"
    ]


def test_the_shipped_environments_keep_their_subnet_sizes(committed_platform) -> None:
    for env in committed_platform.environments:
        assert (env.network.private_subnet_prefix, env.network.public_subnet_prefix) == (20, 24), env.name


def test_a_rule_naming_an_unknown_field_is_refused_at_once() -> None:
    from modules.config.rules import rule
    from modules.config.types import Strict

    class Broken(Strict):
        size: int

        @rule("sise")
        def _check(self) -> None:
            pass

    with pytest.raises(TypeError, match=r"names unknown fields \['sise'\]"):
        Broken.model_validate({"size": 1})
