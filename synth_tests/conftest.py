"""Shared fixtures: one fresh synth of the committed config per session, and the terraform CLI config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "environments"


def run_main(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """`python main.py ARGS` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def fresh_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed config synthesized into a scratch directory (not generated/)."""
    out = tmp_path_factory.mktemp("fresh") / "generated"
    result = run_main("synth", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def terraform_cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A terraform CLI config that installs hashicorp/aws from the machine's filesystem mirror."""
    from modules.core.terraform_cli import find_mirror, write_cli_config

    return write_cli_config(tmp_path_factory.mktemp("terraform"), find_mirror())


# --- config fixtures -------------------------------------------------------------------------

BASE_PROJECT = """\
name = "acme"
region = "eu-west-1"
account_id = "111111111111"
"""


def write_config(directory: Path, files: dict[str, str], project: str | None = BASE_PROJECT) -> Path:
    """Write project.toml (unless None) and the given <name>.toml files; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    if project is not None:
        (directory / "project.toml").write_text(project)
    for name, text in files.items():
        (directory / f"{name}.toml").write_text(text)
    return directory


def env_toml(cidr: str = "10.10.0.0/16", profile: str = "development", network: str = "") -> str:
    return f'profile = "{profile}"\n\n[network]\ncidr = "{cidr}"\n{network}'


def load(directory: Path):
    from modules.config import load_platform

    return load_platform(directory)


def synth_stack(stack) -> dict:
    """The Terraform JSON of one stack, parsed (cdktf Testing: one jsii runtime per session)."""
    import json

    from modules.cdk import Testing

    return json.loads(Testing.synth(stack))


def resources(stack_json: dict, resource_type: str) -> dict[str, dict]:
    return stack_json.get("resource", {}).get(resource_type, {})


def only(stack_json: dict, resource_type: str) -> dict:
    found = list(resources(stack_json, resource_type).values())
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="session")
def committed_platform():
    from modules.config import load_platform

    return load_platform(CONFIG_DIR)


def environment_json(platform, name: str) -> dict:
    from modules.cdk import Testing
    from modules.stacks.environment import EnvironmentStack

    return synth_stack(EnvironmentStack(Testing.app(), platform.environment(name)))
