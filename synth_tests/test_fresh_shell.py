"""The first hour: `python3 main.py` and `cdktf synth` from a fresh shell, whose python3 is not .venv's.

Each test runs main.py with a system interpreter that cannot import cdktf, in a clean environment
(no VIRTUAL_ENV, a minimal PATH), as a new user's shell after `make synth` does. main.py must
re-execute itself with .venv/bin/python, or say in one line what to run when there is none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, env_toml, write_config

VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
SYSTEM_DIRS = ("/usr/bin", "/usr/local/bin", "/bin")


def clean_env(path_first: str, **extra: str) -> dict[str, str]:
    node = shutil.which("node")
    path = [path_first, "/usr/bin", "/bin", *([os.path.dirname(node)] if node else [])]
    return {
        "PATH": ":".join(dict.fromkeys(path)),
        "HOME": os.environ.get("HOME", "/"),
        "LANG": "C.UTF-8",
        **extra,
    }


def _without_cdktf(directory: str) -> bool:
    python = Path(directory) / "python3"
    if not python.is_file():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import cdktf"], env=clean_env(directory), capture_output=True, check=False
    )
    return probe.returncode != 0 and b"ModuleNotFoundError" in probe.stderr


@pytest.fixture(scope="module")
def system_bin() -> str:
    """A directory whose python3 is a system interpreter that cannot import cdktf."""
    for directory in SYSTEM_DIRS:
        if _without_cdktf(directory):
            return directory
    pytest.skip(f"no python3 without cdktf in {', '.join(SYSTEM_DIRS)}")


def run(
    command: list[str] | str, system_bin: str, cwd: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env=clean_env(system_bin, **extra),
        shell=isinstance(command, str),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def checkout_without_venv(tmp_path: Path) -> Path:
    """main.py and its modules, as in a clone before `make synth`."""
    target = tmp_path / "clone"
    target.mkdir()
    shutil.copy(ROOT / "main.py", target / "main.py")
    shutil.copytree(ROOT / "modules", target / "modules", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "environments", target / "environments")
    return target


@pytest.mark.skipif(not VENV_PYTHON.exists(), reason="needs the project's .venv (make synth)")
def test_python3_main_py_reexecutes_with_the_venv(tmp_path: Path, system_bin: str) -> None:
    out = tmp_path / "generated"
    cache = str(tmp_path / "cache")
    first = run(
        ["python3", "main.py", "synth", "--env", "dev", "--out", str(out)],
        system_bin,
        ROOT,
        SYNTH_CACHE_DIR=cache,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip().endswith("synthesized bootstrap, dev") and first.stderr == ""
    again = run(
        ["python3", "main.py", "--env", "dev", "--out", str(out)], system_bin, ROOT, SYNTH_CACHE_DIR=cache
    )
    assert again.returncode == 0 and again.stdout.strip().endswith(": up to date"), again.stderr


@pytest.mark.skipif(not VENV_PYTHON.exists(), reason="needs the project's .venv (make synth)")
def test_cdktf_synth_app_command_works_from_a_fresh_shell(tmp_path: Path, system_bin: str) -> None:
    """What `cdktf synth` does: cdktf.json's app through a shell, the output dir in CDKTF_OUTDIR."""
    app = json.loads((ROOT / "cdktf.json").read_text())["app"]
    assert app == "python3 main.py"
    out = tmp_path / "cdktf.out"
    result = run(app, system_bin, ROOT, CDKTF_OUTDIR=str(out), SYNTH_CACHE_DIR=str(tmp_path / "cache"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "synthesized bootstrap, dev, prod, stg" in result.stdout and result.stderr == ""
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == ["bootstrap", "dev", "prod", "stg"]
    assert all((out / stack["synthesizedStackPath"]).is_file() for stack in manifest["stacks"].values())


@pytest.mark.skipif(not VENV_PYTHON.exists(), reason="needs the project's .venv (make synth)")
def test_bad_input_through_the_reexec_is_reported_once(tmp_path: Path, system_bin: str) -> None:
    config = write_config(tmp_path / "environments", {"dev": env_toml(network="az_count = 1\n")})
    command = ["python3", str(ROOT / "main.py"), "synth", "--config", "environments", "--out", "generated"]
    result = run(command, system_bin, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "environments/dev.toml: network.az_count: Input should be greater than or equal to 2 (got 1)"
    ]
    assert result.stdout == ""
    assert config.is_dir() and not (tmp_path / "generated").exists()


def test_without_a_venv_one_line_says_what_to_run(checkout_without_venv: Path, system_bin: str) -> None:
    for command in (["python3", "main.py"], ["python3", "main.py", "synth", "--env", "dev"]):
        result = run(command, system_bin, checkout_without_venv)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith("main.py: ") and "cannot import cdktf" in line and "run `make synth`" in line
    assert not (checkout_without_venv / "generated").exists()
    # help and argument errors need no dependencies
    assert run(["python3", "main.py", "--help"], system_bin, checkout_without_venv).returncode == 0
    assert run(["python3", "main.py", "--bogus"], system_bin, checkout_without_venv).returncode == 2


def test_a_venv_without_the_dependencies_is_reported_not_looped(
    checkout_without_venv: Path, system_bin: str
) -> None:
    broken = checkout_without_venv / ".venv" / "bin"
    broken.mkdir(parents=True)
    (broken / "python").symlink_to(Path(system_bin) / "python3")
    result = run(["python3", "main.py"], system_bin, checkout_without_venv)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("main.py: .venv/bin/python cannot import cdktf") and "make synth" in line
