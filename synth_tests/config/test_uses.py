"""modules/config/uses.py and the `uses` rules in services.py, through the error contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import env_toml, write_config

from modules.config import ConfigError, load_platform
from modules.config.uses import Use, parse_use

SERVICES = """
[edge]
http_only = true

[[services]]
name = "web"
port = 8080
paths = ["/*"]
priority = 10
uses = {uses}

[[services]]
name = "ledger"
port = 7000
protocol = "tcp"
"""


def load_with(tmp_path: Path, uses: str):
    write_config(tmp_path, {"dev": env_toml() + SERVICES.format(uses=uses)})
    return load_platform(tmp_path)


def problems_with(tmp_path: Path, uses: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_with(tmp_path, uses)
    return [str(p).removeprefix(f"{tmp_path}/dev.toml: ") for p in caught.value.problems]


def test_parse_use() -> None:
    assert parse_use("service:ledger") == Use("service", "ledger", None)
    assert str(parse_use("service:ledger")) == "service:ledger"


def test_a_service_use_names_the_internal_service_called(tmp_path: Path) -> None:
    (env,) = load_with(tmp_path, '["service:ledger"]').environments
    web, ledger = env.services
    assert web.called_services == ("ledger",)
    assert ledger.called_services == ()


@pytest.mark.parametrize(
    ("uses", "problem"),
    [
        (
            '["queue:jobs"]',
            "unknown kind 'queue' in 'queue:jobs'; known: service:<name>, database[:iam], cache, "
            "bucket:<name>:<read|write|read-write>, filesystem:<name>:<path>[:ro]",
        ),
        ('["service"]', "'service' needs a name after 'service:'"),
        ('["service:"]', "'service:' needs a name after 'service:'"),
        ('["service:ledger:fast"]', "'service:ledger:fast': 'service:<name>' takes no option"),
    ],
)
def test_malformed_uses_are_refused(tmp_path: Path, uses: str, problem: str) -> None:
    (line,) = problems_with(tmp_path, uses)
    assert line.startswith("services[0] (web).uses[0]: "), line
    assert problem in line, line


def test_unknown_public_self_and_repeated_services_are_refused_all_at_once(tmp_path: Path) -> None:
    lines = problems_with(tmp_path, '["service:billing", "service:web", "service:ledger", "service:ledger"]')
    assert [line.split(": ", 1)[0] for line in lines] == [
        "services[0] (web).uses[0]",
        "services[0] (web).uses[1]",
        "services[0] (web).uses[3]",
    ]
    assert "no service named 'billing' (internal services: ledger)" in lines[0]
    assert "does not need to declare that it calls itself" in lines[1]
    assert "service:ledger is listed twice" in lines[2]


def test_a_public_service_is_not_a_use(tmp_path: Path) -> None:
    text = SERVICES.format(uses="[]").replace('protocol = "tcp"', 'protocol = "tcp"\nuses = ["service:web"]')
    write_config(tmp_path, {"dev": env_toml() + text})
    with pytest.raises(ConfigError) as caught:
        load_platform(tmp_path)
    (problem,) = caught.value.problems
    assert "'web' is public: call it at its public address" in str(problem)
