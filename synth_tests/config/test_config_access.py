"""modules/config/access.py: `[access]`, who may assume the roles for people, and its error contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import env_toml, load, run_main, write_config

from modules.config import ConfigError
from modules.config.access import EXEMPT_WORDS, PRINCIPAL_WORDS, AccessConfig

ROOT_ARN = "arn:aws:iam::111111111111:root"
CI_ROLE = "arn:aws:iam::222222222222:role/ci"


def access_of(tmp_path: Path, table: str):
    (env,) = load(write_config(tmp_path, {"dev": env_toml() + f"\n[access]\n{table}"})).environments
    return env.config.access


def access_problems(tmp_path: Path, table: str) -> list[str]:
    write_config(tmp_path, {"dev": env_toml() + f"\n[access]\n{table}"})
    with pytest.raises(ConfigError) as caught:
        load(tmp_path)
    return [f"{p.key}: {p.problem}" for p in caught.value.problems]


def test_no_access_table_means_no_roles(tmp_path: Path) -> None:
    (env,) = load(write_config(tmp_path, {"dev": env_toml()})).environments
    assert env.config.access == AccessConfig()
    assert env.config.access.levels == ()
    assert env.config.access.max_session_hours == 1


def test_every_principal_form_is_accepted_and_kept_as_written(tmp_path: Path) -> None:
    principals = [
        "333333333333",  # an identity account
        ROOT_ARN,
        "arn:aws:iam::111111111111:user/alice",
        "arn:aws:iam::111111111111:role/people/oncall",
        "arn:aws-us-gov:iam::444444444444:role/admin",
    ]
    access = access_of(tmp_path, f"operator = {principals!r}\nadmin = [{ROOT_ARN!r}]".replace("'", '"'))
    assert access.operator == principals
    assert access.levels == ("operator", "admin")
    assert access.principals("readonly") == ()


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        "11111111111",  # 11 digits
        "arn:aws:iam::111111111111:role/*",  # wildcards never name who may assume a role
        "arn:aws:iam::111111111111:group/admins",  # groups are not principals
        "arn:aws:sts::111111111111:assumed-role/ci/session",
        "arn:aws:iam::111111111111:user/",
        "alice",
    ],
)
def test_a_principal_that_is_no_arn_or_account_is_said_in_words(tmp_path: Path, principal: str) -> None:
    assert access_problems(tmp_path, f'readonly = ["{principal}"]') == [
        f"access.readonly[0]: {PRINCIPAL_WORDS} (got {principal!r})"
    ]


def test_the_words_say_what_is_accepted() -> None:
    for form in ("account id", "root", "user", "role"):
        assert form in PRINCIPAL_WORDS
    assert "only a role may be exempt" in EXEMPT_WORDS


def test_only_roles_may_be_exempt_from_mfa(tmp_path: Path) -> None:
    user = "arn:aws:iam::111111111111:user/alice"
    found = access_problems(
        tmp_path, f'operator = ["{user}", "{ROOT_ARN}"]\nmfa_exempt = ["{user}", "{ROOT_ARN}"]'
    )
    assert found == [
        f"access.mfa_exempt[0]: {EXEMPT_WORDS} (got {user!r})",
        f"access.mfa_exempt[1]: {EXEMPT_WORDS} (got {ROOT_ARN!r})",
    ]


def test_an_exempt_role_must_be_one_that_is_listed(tmp_path: Path) -> None:
    other = "arn:aws:iam::222222222222:role/other"
    found = access_problems(tmp_path, f'admin = ["{CI_ROLE}"]\nmfa_exempt = ["{CI_ROLE}", "{other}"]')
    assert found == [
        f"access: mfa_exempt[1] ({other}): not listed under readonly, operator or admin; "
        "an exemption applies only to a principal that may assume a role"
    ]
    assert access_of(tmp_path, f'admin = ["{CI_ROLE}"]\nmfa_exempt = ["{CI_ROLE}"]').mfa_exempt == [CI_ROLE]


def test_duplicates_are_refused_an_account_id_and_its_root_are_one(tmp_path: Path) -> None:
    found = access_problems(
        tmp_path,
        f'readonly = ["111111111111", "{ROOT_ARN}"]\n'
        f'operator = ["{CI_ROLE}", "{CI_ROLE}"]\n'
        f'admin = ["{CI_ROLE}"]\n'
        f'mfa_exempt = ["{CI_ROLE}", "{CI_ROLE}"]',
    )
    assert [line.split(" (got ")[0] for line in found] == [
        f"access.readonly: [1] '{ROOT_ARN}' repeats [0] '111111111111', the same account",
        f"access.operator: [1] '{CI_ROLE}' repeats [0] '{CI_ROLE}'",
        f"access.mfa_exempt: [1] '{CI_ROLE}' repeats [0] '{CI_ROLE}'",
    ]


def test_one_principal_may_hold_several_levels(tmp_path: Path) -> None:
    access = access_of(
        tmp_path, f'readonly = ["{ROOT_ARN}"]\noperator = ["{ROOT_ARN}"]\nadmin = ["{ROOT_ARN}"]'
    )
    assert access.levels == ("readonly", "operator", "admin")


@pytest.mark.parametrize("hours", [0, 13])
def test_session_hours_stay_within_what_iam_allows(tmp_path: Path, hours: int) -> None:
    (problem,) = access_problems(tmp_path, f'readonly = ["{ROOT_ARN}"]\nmax_session_hours = {hours}')
    assert problem.startswith("access.max_session_hours: Input should be")


def test_unknown_access_key_suggests_the_closest(tmp_path: Path) -> None:
    assert access_problems(tmp_path, f'operators = ["{ROOT_ARN}"]') == [
        "access.operators: unknown key; did you mean operator?"
    ]


def test_access_problems_exit_2_one_line_each_through_the_cli(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config",
        {
            "dev": env_toml() + '\n[access]\nreadonly = ["*"]\nadmin = ["arn:aws:iam::111111111111:user/a"]\n'
            'mfa_exempt = ["arn:aws:iam::111111111111:user/a"]\n'
        },
    )
    result = run_main("synth", "--config", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ")[1] for line in lines] == ["access.readonly[0]", "access.mfa_exempt[0]"]
    assert not (tmp_path / "out").exists()
