"""modules/config/ (loader, project, network, profiles): the schema, its profiles, and the error contract (every problem, one line each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BASE_PROJECT, CONFIG_DIR, env_toml, load, write_config

from modules.config import ConfigError, load_platform


def problems(directory: Path, only: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_platform(directory, only)
    return [str(p) for p in caught.value.problems]


def test_committed_config_loads_with_profiles_applied() -> None:
    platform = load_platform(CONFIG_DIR)
    assert [e.name for e in platform.environments] == ["dev", "prod", "stg"]
    dev, prod, stg = platform.environments
    assert (dev.network.nat, dev.network.flow_log_retention_days) == ("single", 30)
    assert (prod.network.nat, prod.network.flow_log_retention_days) == ("per_az", 365)
    # stg takes the production profile but overrides one value
    assert (stg.network.nat, stg.network.flow_log_retention_days) == ("single", 365)
    assert prod.network.zone_letters == ("a", "b", "c")


def test_environment_without_profile_gets_the_safe_one(tmp_path: Path) -> None:
    write_config(tmp_path, {"qa": '[network]\ncidr = "10.40.0.0/16"\n'})
    (qa,) = load(tmp_path).environments
    assert qa.config.profile == "production"
    assert qa.network.nat == "per_az"


def test_environment_overrides_and_derived_names(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {
            "qa": 'account_id = "222222222222"\nregion = "us-east-1"\n'
            'assume_role_arn = "arn:aws:iam::222222222222:role/terraform"\n' + env_toml("10.40.0.0/16")
        },
    )
    (qa,) = load(tmp_path).environments
    assert (qa.account_id, qa.region, qa.prefix) == ("222222222222", "us-east-1", "acme-qa")
    assert qa.log_group_prefix == "/acme/qa"
    assert qa.tags == {"Project": "acme", "Environment": "qa", "Owner": "platform", "ManagedBy": "terraform"}


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {
            "dev": env_toml(
                "10.10.0.0/16", network='az_count = 1\nnat = "sometimes"\nflow_log_retention_days = 31\n'
            ),
            "stg": 'profile = "development"\nnetwork = { cidr = "10.10.128.0/17" }\ntypo = 1\n',
        },
        project='name = "Acme!"\nregion = "eu-west-1"\naccount_id = "12345"\n[state]\nlock = "redis"\n',
    )
    found = problems(tmp_path)
    shown = str(tmp_path)
    assert (
        f"{shown}/project.toml: name: must be 2-20 characters of a-z, 0-9 and '-', starting with a letter, "
        "not ending with '-' and without '--' (got 'Acme!')" in found
    )
    assert any(p.startswith(f"{shown}/project.toml: account_id: ") for p in found)
    assert any(p.startswith(f"{shown}/project.toml: state.lock: ") and "'redis'" in p for p in found)
    assert any(p.startswith(f"{shown}/dev.toml: network.az_count: ") for p in found)
    assert any(p.startswith(f"{shown}/dev.toml: network.nat: ") for p in found)
    assert any(p.startswith(f"{shown}/dev.toml: network.flow_log_retention_days: ") for p in found)
    assert f"{shown}/stg.toml: typo: unknown key" in found
    assert all(p.count("\n") == 0 for p in found)


def test_unknown_nested_key_names_its_path(tmp_path: Path) -> None:
    write_config(tmp_path, {"dev": env_toml(network='nat_mode = "single"\n')})
    assert problems(tmp_path) == [f"{tmp_path}/dev.toml: network.nat_mode: unknown key"]


def test_overlapping_environment_cidrs_are_refused(tmp_path: Path) -> None:
    write_config(tmp_path, {"dev": env_toml("10.10.0.0/16"), "stg": env_toml("10.10.64.0/18")})
    assert problems(tmp_path) == [
        f"{tmp_path}/stg.toml: network.cidr: 10.10.64.0/18 overlaps 10.10.0.0/16 of environment 'dev' "
        f"({tmp_path}/dev.toml)"
    ]


def test_subnets_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    sizes = "az_count = 3\nprivate_subnet_prefix = 20\npublic_subnet_prefix = 24\n"
    write_config(tmp_path, {"dev": env_toml("10.10.0.0/20", network=sizes)})
    (problem,) = problems(tmp_path)
    assert problem.startswith(f"{tmp_path}/dev.toml: network: 3 private /20 and 3 public /24 subnets need")


@pytest.mark.parametrize(
    ("network", "key", "fragment"),
    [
        ("az_count = 1\n", "network.az_count", "greater than or equal to 2"),
        ('nat = "double"\n', "network.nat", "'none', 'single' or 'per_az'"),
        ('zones = ["a", "a"]\n', "network", "zones lists a zone twice"),
        ('zones = ["a", "b", "c"]\n', "network", "zones lists 3 zones but az_count is 2"),
        ('interface_endpoints = ["s3"]\n', "network.interface_endpoints[0]", "'ecr.api'"),
        ('interface_endpoints = ["sts", "sts"]\n', "network.interface_endpoints", "twice"),
        ('az_count = "2"\n', "network.az_count", "valid integer"),
    ],
)
def test_bad_network_values(tmp_path: Path, network: str, key: str, fragment: str) -> None:
    write_config(tmp_path, {"dev": env_toml(network=network)})
    (problem,) = problems(tmp_path)
    assert problem.startswith(f"{tmp_path}/dev.toml: {key}: "), problem
    assert fragment in problem


@pytest.mark.parametrize(
    ("cidr", "fragment"),
    [("10.10.0.1/16", "host bits set"), ("10.0.0.0/8", "between /16 and /24"), ("banana", "not an IPv4")],
)
def test_bad_cidrs(tmp_path: Path, cidr: str, fragment: str) -> None:
    write_config(tmp_path, {"dev": env_toml(cidr)})
    (problem,) = problems(tmp_path)
    assert problem.startswith(f"{tmp_path}/dev.toml: network.cidr: ") and fragment in problem


def test_bad_project_values(tmp_path: Path) -> None:
    project = BASE_PROJECT.replace('"eu-west-1"', '"mars-1"') + '[tags]\nProject = "x"\n'
    write_config(tmp_path, {"dev": env_toml()}, project=project)
    found = problems(tmp_path)
    assert any(p.startswith(f"{tmp_path}/project.toml: region: ") for p in found)
    assert f"{tmp_path}/project.toml: tags: Project is set by the generator; choose another tag key" in found


def test_missing_and_unparsable_files(tmp_path: Path) -> None:
    write_config(tmp_path, {"dev": "profile = \n"}, project=None)
    found = problems(tmp_path)
    assert f"{tmp_path}/project.toml: (file): file not found" in found
    assert any(p.startswith(f"{tmp_path}/dev.toml: (file): not valid TOML: ") for p in found)


def test_reserved_and_invalid_environment_names(tmp_path: Path) -> None:
    write_config(tmp_path, {"bootstrap": env_toml(), "Dev_1": env_toml("10.20.0.0/16")})
    found = problems(tmp_path)
    assert f"{tmp_path}/bootstrap.toml: (file name): 'bootstrap' is reserved; rename the file" in found
    assert any(p.startswith(f"{tmp_path}/Dev_1.toml: (file name): environment name 'Dev_1'") for p in found)


def test_unknown_environment_requested(tmp_path: Path) -> None:
    write_config(tmp_path, {"dev": env_toml()})
    assert problems(tmp_path, ("qa",)) == [
        f"{tmp_path}/qa.toml: (file): no environment named 'qa'; environments: dev"
    ]


def test_subset_still_checks_every_file(tmp_path: Path) -> None:
    write_config(tmp_path, {"dev": env_toml(), "stg": env_toml(network="az_count = 9\n")})
    assert problems(tmp_path, ("dev",)) == [
        f"{tmp_path}/stg.toml: network.az_count: Input should be less than or equal to 6 (got 9)",
        f"{tmp_path}/stg.toml: network.cidr: 10.10.0.0/16 overlaps 10.10.0.0/16 of environment 'dev' "
        f"({tmp_path}/dev.toml)",
    ]


def test_config_loading_imports_nothing_from_cdktf() -> None:
    code = (
        "import sys; from modules.config import load_platform; load_platform(__import__('pathlib').Path('environments'));"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('cdktf', 'jsii', 'constructs', 'cdktf_cdktf_provider_aws')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=CONFIG_DIR.parent, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
