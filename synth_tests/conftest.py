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
    from modules.terraform_cli import find_mirror, write_cli_config

    return write_cli_config(tmp_path_factory.mktemp("terraform"), find_mirror())
