"""modules/config/secrets.py: `[[secrets]]`, `[[parameters]]` and the services' references to them,
through the error contract (`<file>: <key.path>: <problem>`, every problem at once, exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import env_toml, run_main, write_config

from modules.config import ConfigError, load_platform
from modules.config.secrets import value_variable

HTTP_ONLY = "[edge]\nhttp_only = true\n"


def service(secrets: str) -> str:
    return (
        f'[[services]]\nname = "api"\nport = 8080\npaths = ["/*"]\npriority = 10\nsecrets = {{ {secrets} }}\n'
    )


def secret(name: str, extra: str = "") -> str:
    return f'[[secrets]]\nname = "{name}"\ndescription = "what {name} holds"\n{extra}'


def parameter(name: str, extra: str = "") -> str:
    return f'[[parameters]]\nname = "{name}"\ndescription = "what {name} holds"\n{extra}'


def env_of(tmp_path: Path, body: str, profile: str = "development"):
    write_config(tmp_path, {"dev": env_toml(profile=profile) + "\n" + HTTP_ONLY + "\n" + body})
    (env,) = load_platform(tmp_path).environments
    return env


def problems_of(tmp_path: Path, body: str) -> list[str]:
    write_config(tmp_path, {"dev": env_toml() + "\n" + HTTP_ONLY + "\n" + body})
    with pytest.raises(ConfigError) as caught:
        load_platform(tmp_path)
    prefix = f"{tmp_path}/dev.toml: "
    assert all(str(p).startswith(prefix) for p in caught.value.problems)
    return [str(p).removeprefix(prefix) for p in caught.value.problems]


def test_declared_entries_load_with_their_defaults(tmp_path: Path) -> None:
    env = env_of(
        tmp_path,
        service('A = "secret:stripe", B = "parameter:flags", C = "ssm:/x/y"')
        + secret("stripe")
        + parameter("flags"),
    )
    (stripe,) = env.config.secrets
    (flags,) = env.config.parameters
    assert (stripe.write_only, stripe.value_version, stripe.variable) == (False, 1, "stripe_value")
    assert (flags.type, flags.write_only, flags.value_version) == ("SecureString", False, 1)
    assert env.services[0].secrets == {"A": "secret:stripe", "B": "parameter:flags", "C": "ssm:/x/y"}


@pytest.mark.parametrize(("profile", "days"), [("development", 7), ("production", 30)])
def test_the_recovery_window_comes_from_the_profile(tmp_path: Path, profile: str, days: int) -> None:
    head = '[domain]\nname = "example.com"\nhosted_zone_id = "Z0123456789ABC"\n'
    write_config(tmp_path, {"dev": env_toml(profile=profile) + "\n" + head + "\n" + secret("s")})
    (env,) = load_platform(tmp_path).environments
    assert env.config.secret_recovery_days == days


def test_the_recovery_window_can_be_set_within_what_secrets_manager_allows(tmp_path: Path) -> None:
    write_config(tmp_path, {"dev": "secret_recovery_days = 14\n" + env_toml() + "\n" + HTTP_ONLY})
    (env,) = load_platform(tmp_path).environments
    assert env.config.secret_recovery_days == 14
    write_config(tmp_path, {"dev": "secret_recovery_days = 0\n" + env_toml() + "\n" + HTTP_ONLY})
    with pytest.raises(ConfigError, match="secret_recovery_days: Input should be greater than or equal to 7"):
        load_platform(tmp_path)


def test_a_variable_name_is_the_entry_name_with_underscores() -> None:
    assert value_variable("stripe") == "stripe_value"
    assert value_variable("signing-key-2") == "signing_key_2_value"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            secret("Stripe"),
            "secrets[0] (Stripe).name: must be 1-64 characters of a-z, 0-9 and '-', starting with a "
            "letter and not ending with '-' (got 'Stripe')",
        ),
        (parameter("a/b"), "parameters[0] (a/b).name: must be 1-64 characters"),
        (secret("x" * 65), "secrets[0].name: must be 1-64 characters"),
        ('[[secrets]]\nname = "s"\n', "secrets[0] (s).description: required key is missing"),
        (
            secret("s", 'description2 = "x"\n'),
            "secrets[0] (s).description2: unknown key; did you mean description?",
        ),
        (
            parameter("p", 'type = "StringList"\n'),
            "parameters[0] (p).type: Input should be 'SecureString' or 'String'",
        ),
        (
            secret("s", "value_version = 2\n"),
            "secrets[0] (s): value_version applies only with write_only = true",
        ),
        (
            secret("s", "write_only = true\nvalue_version = 0\n"),
            "secrets[0] (s).value_version: Input should be greater",
        ),
        (
            service('A = "vault:x"'),
            "services[0] (api).secrets.A: must be a Secrets Manager or SSM parameter ARN, ssm:<parameter "
            "name>, secretsmanager:<secret name>, or secret:<name> / parameter:<name> of this file's "
            "[[secrets]] / [[parameters]] (got 'vault:x')",
        ),
        (service('A = "secret:Bad"'), "services[0] (api).secrets.A: must be a Secrets Manager or SSM"),
    ],
)
def test_bad_entries_are_said_in_words(tmp_path: Path, body: str, expected: str) -> None:
    (problem,) = problems_of(tmp_path, body)
    assert problem.startswith(expected), problem


def test_names_are_unique_across_secrets_and_parameters(tmp_path: Path) -> None:
    found = problems_of(tmp_path, secret("stripe") + secret("stripe") + parameter("stripe") + parameter("p"))
    assert found == [
        "secrets[1] (stripe).name: 'stripe' is already secrets[0]",
        "parameters[0] (stripe).name: 'stripe' is already secrets[0]",
    ]


def test_a_reference_to_an_undeclared_entry_names_what_is_declared(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        service('A = "secret:stripe", B = "parameter:flags", C = "secret:other", D = "ssm:/fine"')
        + secret("other")
        + secret("more"),
    )
    assert found == [
        "services[0] (api).secrets.A: no [[secrets]] entry named 'stripe' (declared: more, other)",
        "services[0] (api).secrets.B: no [[parameters]] entry named 'flags' (declared: none)",
    ]


def test_a_reference_waits_while_an_entry_of_its_list_failed(tmp_path: Path) -> None:
    """The failed entry may be the one named: only its own problem is reported."""
    found = problems_of(
        tmp_path, service('A = "secret:stripe", B = "parameter:gone"') + '[[secrets]]\nname = "stripe"\n'
    )
    assert found == [
        "services[0] (api).secrets.B: no [[parameters]] entry named 'gone' (declared: none)",
        "secrets[0] (stripe).description: required key is missing",
    ]


def test_reference_rules_run_beside_other_problems_of_the_file(tmp_path: Path) -> None:
    body = (
        "az_count = 1\n"
        + HTTP_ONLY
        + service('A = "secret:nope"')
        + secret("s")
        + parameter("p", "value_version = 3\n")
    )
    write_config(tmp_path, {"dev": env_toml() + body})
    with pytest.raises(ConfigError) as caught:
        load_platform(tmp_path)
    assert [str(p).removeprefix(f"{tmp_path}/dev.toml: ") for p in caught.value.problems] == [
        "network.az_count: Input should be greater than or equal to 2 (got 1)",
        "services[0] (api).secrets.A: no [[secrets]] entry named 'nope' (declared: s)",
        "parameters[0] (p): value_version applies only with write_only = true",
    ]


def test_an_undeclared_reference_exits_2_through_the_cli(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config", {"dev": env_toml() + "\n" + HTTP_ONLY + service('A = "secret:x"')}
    )
    out = tmp_path / "out"
    # From the directory that holds the config, as a user runs it: paths are shown relative to it.
    result = run_main("synth", "--config", str(config), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config/dev.toml: services[0] (api).secrets.A: no [[secrets]] entry named 'x' (declared: none)"
    ]
    assert not out.exists()
