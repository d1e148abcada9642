"""modules/config/account.py and the one-owner-per-account rule of loader.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONFIG_DIR, env_toml, load, run_main, write_config

from modules.config import ConfigError, load_platform
from modules.config.account import AccountConfig
from modules.config.profiles import PROFILES


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_platform(directory)
    return [str(p) for p in caught.value.problems]


def owner_toml(cidr: str, account: str = "owner = true\n", top: str = "") -> str:
    return top + env_toml(cidr) + f"\n[account]\n{account}"


def test_an_environment_owns_nothing_unless_it_says_so(tmp_path: Path) -> None:
    (qa,) = load(write_config(tmp_path, {"qa": env_toml("10.40.0.0/16", profile="production")})).environments
    assert qa.config.account == AccountConfig()
    assert qa.config.account.owner is False


def test_the_owner_gets_every_account_wide_service_by_default(tmp_path: Path) -> None:
    (qa,) = load(write_config(tmp_path, {"qa": owner_toml("10.40.0.0/16")})).environments
    account = qa.config.account
    assert account.owner and account.cloudtrail and account.guardduty and account.access_analyzer
    assert account.insights, "Insights are on for the owner unless it says otherwise"
    assert (account.guardduty_finding_frequency, account.cloudwatch_retention_days) == ("SIX_HOURS", 365)
    assert account.trail_retention_days == 2557


def test_profiles_never_switch_account_wide_services_on() -> None:
    assert all("account" not in settings for settings in PROFILES.values())


def test_in_the_shipped_config_prod_owns_the_shared_account(committed_platform) -> None:
    owners = [env.name for env in committed_platform.environments if env.config.account.owner]
    assert owners == ["prod"]
    assert {env.account_id for env in committed_platform.environments} == {"111111111111"}


def test_account_wide_settings_outside_the_owner_are_refused(tmp_path: Path) -> None:
    write_config(
        tmp_path, {"qa": owner_toml("10.40.0.0/16", account="guardduty = false\ninsights = false\n")}
    )
    assert problems(tmp_path) == [
        f"{tmp_path}/qa.toml: account: guardduty, insights: account-wide settings take effect only in the "
        "account's owner; set owner = true here (one environment per account) or remove them"
    ]


def test_bad_account_values_are_reported_each(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {
            "qa": owner_toml(
                "10.40.0.0/16",
                account=(
                    'owner = true\nguardduty_finding_frequency = "HOURLY"\ncloudwatch_retention_days = 31\n'
                    "trail_retention_days = 0\ncloudtrial = true\n"
                ),
            )
        },
    )
    found = problems(tmp_path)
    shown = f"{tmp_path}/qa.toml"
    assert f"{shown}: account.cloudtrial: unknown key; did you mean cloudtrail?" in found
    assert any(
        p.startswith(f"{shown}: account.guardduty_finding_frequency: ") and "HOURLY" in p for p in found
    )
    assert any(
        p.startswith(f"{shown}: account.cloudwatch_retention_days: CloudWatch Logs accepts") for p in found
    )
    assert any(p.startswith(f"{shown}: account.trail_retention_days: ") for p in found)
    assert len(found) == 4


def test_two_owners_of_one_account_are_each_told_of_the_other(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {
            "dev": env_toml("10.10.0.0/16"),
            "prod": owner_toml("10.30.0.0/16"),
            # the project's account too, written out: the effective account is what counts
            "stg": owner_toml("10.20.0.0/16", top='account_id = "111111111111"\n'),
        },
    )
    assert problems(tmp_path) == [
        f"{tmp_path}/prod.toml: account.owner: account 111111111111 is also owned by environment 'stg' "
        f"({tmp_path}/stg.toml); only one environment per account may own it",
        f"{tmp_path}/stg.toml: account.owner: account 111111111111 is also owned by environment 'prod' "
        f"({tmp_path}/prod.toml); only one environment per account may own it",
    ]


def test_three_owners_each_name_the_other_two(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {name: owner_toml(f"10.{i}0.0.0/16") for i, name in enumerate(("a1", "b2", "c3"), start=1)},
    )
    found = problems(tmp_path)
    assert len(found) == 3
    assert f"environment 'b2' ({tmp_path}/b2.toml), environment 'c3' ({tmp_path}/c3.toml)" in found[0]


def test_owners_of_different_accounts_are_fine(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {
            "prod": owner_toml("10.30.0.0/16"),
            "sandbox": owner_toml(
                "10.40.0.0/16",
                top='account_id = "222222222222"\nassume_role_arn = "arn:aws:iam::222222222222:role/tf"\n',
            ),
        },
    )
    platform = load_platform(tmp_path)
    assert {(e.name, e.account_id) for e in platform.environments if e.config.account.owner} == {
        ("prod", "111111111111"),
        ("sandbox", "222222222222"),
    }


def test_the_owner_rule_holds_when_the_files_have_other_problems(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {
            "prod": owner_toml("10.30.0.0/16", top="typo = 1\n"),
            "stg": owner_toml("10.20.0.0/16", top='region = "nowhere"\n'),
        },
    )
    found = problems(tmp_path)
    assert sum("account.owner: account 111111111111 is also owned by" in p for p in found) == 2
    assert any(p.endswith("typo: unknown key") for p in found)


def test_the_cli_reports_a_second_owner_and_writes_nothing(tmp_path: Path) -> None:
    write_config(
        tmp_path / "config",
        {
            "dev": (CONFIG_DIR / "dev.toml").read_text() + "\n[account]\nowner = true\n",
            "prod": (CONFIG_DIR / "prod.toml").read_text(),
        },
        project=(CONFIG_DIR / "project.toml").read_text(),
    )
    out = tmp_path / "out"
    result = run_main("synth", "--config", "config", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "config/dev.toml: account.owner: account 111111111111 is also owned by environment 'prod' "
        "(config/prod.toml); only one environment per account may own it",
        "config/prod.toml: account.owner: account 111111111111 is also owned by environment 'dev' "
        "(config/dev.toml); only one environment per account may own it",
    ]
    assert not out.exists()
