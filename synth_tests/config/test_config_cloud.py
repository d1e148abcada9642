"""modules/config/cloud.py: where the bootstrap stack keeps its own state must exist (no bucket when no
environment uses S3; `[cloud]` for "cloud"), a cloud environment needs `[cloud]`, and no two stacks
share a Terraform Cloud workspace; each problem one line naming the file and key, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BASE_PROJECT, env_toml, run_main, write_config

from modules.config import ConfigError, load_platform
from modules.config.cloud import bootstrap_backend_rules, shared_workspace_rules

CLOUD = '[cloud]\norganization = "acme"\n'


def project(backend: str = "s3", bootstrap: str | None = None, cloud: bool = True) -> str:
    state = f'[state]\nbootstrap_backend = "{bootstrap}"\n' if bootstrap else ""
    return BASE_PROJECT + f'backend = "{backend}"\n' + state + (CLOUD if cloud else "")


def problems(config: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_platform(config)
    return [str(p) for p in error.value.problems]


# --- the rules ---------------------------------------------------------------------------------


def test_s3_bootstrap_state_needs_an_s3_environment() -> None:
    ((key, problem),) = bootstrap_backend_rules(bootstrap_backend="s3", cloud=None, backends=["cloud"])
    assert key == "state.bootstrap_backend" and "no environment uses the s3 backend" in problem
    assert bootstrap_backend_rules(bootstrap_backend="s3", cloud=None, backends=["cloud", "s3"]) == []
    # an environment whose backend is unknown (its file failed) may be the S3 one: no verdict yet
    assert bootstrap_backend_rules(bootstrap_backend="s3", cloud=None, backends=None) == []


def test_cloud_bootstrap_state_needs_cloud_settings() -> None:
    ((key, problem),) = bootstrap_backend_rules(bootstrap_backend="cloud", cloud=None, backends=["s3"])
    assert key == "state.bootstrap_backend" and "needs [cloud]" in problem
    assert bootstrap_backend_rules(bootstrap_backend="local", cloud=None, backends=["cloud"]) == []


def test_a_workspace_is_one_stacks() -> None:
    found = shared_workspace_rules(
        [("dev", "dev.toml", "acme-prod", True), ("prod", "prod.toml", "acme-prod", False)], None
    )
    # reported on the file that chose the name, not on the one that has it by default
    assert found == [
        (
            "dev.toml",
            "workspace",
            "workspace 'acme-prod' is also the workspace of environment 'prod' (prod.toml); "
            "a workspace holds one stack's state",
        )
    ]
    (bootstrap,) = shared_workspace_rules([("dev", "dev.toml", "acme-bootstrap", True)], "acme-bootstrap")
    assert "the bootstrap stack" in bootstrap[2]
    assert shared_workspace_rules([("dev", "dev.toml", "acme-bootstrap", True)], None) == []


# --- through the loader and the CLI ------------------------------------------------------------


def test_s3_bootstrap_state_without_an_s3_environment_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"dev": env_toml()}, project=project("cloud", bootstrap="s3"))
    assert problems(config) == [
        f"{config}/project.toml: state.bootstrap_backend: no environment uses the s3 backend, so the "
        'bootstrap stack creates no state bucket to keep its own state in: use "local" or "cloud"'
    ]
    # one environment keeping S3 state is enough
    (config / "qa.toml").write_text('backend = "s3"\n' + env_toml("10.40.0.0/16"))
    assert [e.name for e in load_platform(config).environments] == ["dev", "qa"]


def test_cloud_bootstrap_state_without_cloud_settings_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"dev": env_toml()}, project=project(bootstrap="cloud", cloud=False))
    (line,) = problems(config)
    assert line.startswith(f"{config}/project.toml: state.bootstrap_backend: the cloud backend needs [cloud]")


def test_a_cloud_environment_without_cloud_settings_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"dev": env_toml()}, project=project("cloud", cloud=False))
    (line,) = problems(config)
    assert line.startswith(f"{config}/dev.toml: backend: the cloud backend needs [cloud]")


def test_two_environments_in_one_workspace_are_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "dev": 'workspace = "shared"\n' + env_toml(),
            "prod": 'workspace = "shared"\n' + env_toml("10.20.0.0/16"),
        },
        project=project("cloud", bootstrap="cloud"),
    )
    assert problems(config) == [
        f"{config}/dev.toml: workspace: workspace 'shared' is also the workspace of environment 'prod' "
        f"({config}/prod.toml); a workspace holds one stack's state",
        f"{config}/prod.toml: workspace: workspace 'shared' is also the workspace of environment 'dev' "
        f"({config}/dev.toml); a workspace holds one stack's state",
    ]


@pytest.mark.parametrize(
    ("backend", "bootstrap", "cloud", "expected"),
    [
        ("cloud", "s3", True, "project.toml: state.bootstrap_backend: no environment uses the s3 backend"),
        ("s3", "cloud", False, "project.toml: state.bootstrap_backend: the cloud backend needs [cloud]"),
    ],
)
def test_the_cli_prints_one_line_exits_2_and_writes_nothing(
    tmp_path: Path, backend: str, bootstrap: str, cloud: bool, expected: str
) -> None:
    config = write_config(
        tmp_path / "config", {"dev": env_toml()}, project=project(backend, bootstrap, cloud)
    )
    out = tmp_path / "generated"
    result = run_main("synth", "--config", str(config), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"config/{expected}")
    assert "Traceback" not in result.stderr and not out.exists()
