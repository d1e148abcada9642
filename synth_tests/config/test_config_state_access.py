"""modules/config/state_access.py: an environment in another account names its Terraform role, the
role is in the environment's account, and the platform lists every such role for the bootstrap stack."""

from __future__ import annotations

from pathlib import Path

from conftest import env_toml, run_main, write_config

from modules.config import StatePrincipal, load_platform
from modules.config.state_access import role_account, state_access_rules

ROLE = "arn:aws:iam::222222222222:role/terraform"


def cross_account(role: str | None = ROLE, account: str = "222222222222", cidr: str = "10.40.0.0/16") -> str:
    top = f'account_id = "{account}"\n' + (f'assume_role_arn = "{role}"\n' if role else "")
    return top + env_toml(cidr)


def test_an_environment_in_the_state_account_needs_no_role() -> None:
    assert (
        state_access_rules(account_id="111111111111", project_account="111111111111", assume_role_arn=None)
        == []
    )


def test_an_environment_in_another_account_needs_a_role_there() -> None:
    ((key, problem),) = state_access_rules(
        account_id="222222222222", project_account="111111111111", assume_role_arn=None
    )
    assert key == "assume_role_arn"
    assert "account 222222222222 is not the state account 111111111111" in problem


def test_the_role_must_be_in_the_environments_account() -> None:
    ((key, problem),) = state_access_rules(
        account_id="222222222222",
        project_account="111111111111",
        assume_role_arn="arn:aws:iam::333333333333:role/terraform",
    )
    assert key == "assume_role_arn" and "in account 333333333333, the environment in 222222222222" in problem
    assert role_account("arn:aws-us-gov:iam::444444444444:role/path/x") == "444444444444"


def test_values_that_failed_their_types_are_not_checked_again() -> None:
    assert state_access_rules(account_id=None, project_account="111111111111", assume_role_arn=None) == []


def test_missing_role_is_one_line_naming_file_and_key_exit_2_and_nothing_written(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", {"qa": cross_account(role=None)})
    out = tmp_path / "generated"
    result = run_main("synth", "--config", str(config), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("config/qa.toml: assume_role_arn: account 222222222222 is not the state account")
    assert "Traceback" not in result.stderr and not out.exists()


def test_the_platform_lists_every_cross_account_role_even_for_a_subset(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {
            "dev": env_toml("10.10.0.0/16"),  # the state account: no grant
            "qa": cross_account(cidr="10.40.0.0/16"),
            "prod": cross_account(
                role="arn:aws:iam::333333333333:role/tf", account="333333333333", cidr="10.30.0.0/16"
            ),
        },
    )
    expected = (
        StatePrincipal("prod", "333333333333", "arn:aws:iam::333333333333:role/tf"),
        StatePrincipal("qa", "222222222222", ROLE),
    )
    assert load_platform(tmp_path).state_principals == expected
    subset = load_platform(tmp_path, ("dev",))
    assert [e.name for e in subset.environments] == ["dev"]
    assert subset.state_principals == expected
