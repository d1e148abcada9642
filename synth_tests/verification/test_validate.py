"""Tier 2: `terraform init -backend=false` + `terraform validate` on every synthesized stack, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_main

from modules.core.terraform_cli import find_mirror, stack_dirs, validate_stack

pytestmark = pytest.mark.validate

STACKS = ("bootstrap", "dev", "prod", "stg")


@pytest.mark.parametrize("stack", STACKS)
def test_stack_validates_with_the_real_provider(
    stack: str, fresh_synth: Path, terraform_cli_config: Path, tmp_path: Path
) -> None:
    result = validate_stack(fresh_synth / "stacks" / stack, tmp_path, terraform_cli_config)
    assert result.ok, f"terraform {' '.join(result.args)} failed:\n{result.stdout}\n{result.stderr}"
    assert "Success! The configuration is valid." in result.stdout


def test_every_synthesized_stack_is_covered(fresh_synth: Path) -> None:
    assert tuple(d.name for d in stack_dirs(fresh_synth)) == STACKS


def test_the_cli_config_installs_from_the_mirror_only(terraform_cli_config: Path) -> None:
    text = terraform_cli_config.read_text()
    assert f'path    = "{find_mirror()}"' in text
    assert 'exclude = ["registry.terraform.io/*/*"]' in text


def test_validate_command(fresh_synth: Path) -> None:
    result = run_main("validate", "--out", str(fresh_synth), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{name}: valid" for name in STACKS]


def test_validate_command_without_output_is_bad_input(tmp_path: Path) -> None:
    result = run_main("validate", "--out", str(tmp_path / "empty"))
    assert result.returncode == 2 and "run `python main.py` first" in result.stderr
