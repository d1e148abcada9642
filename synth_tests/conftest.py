"""Shared fixtures: one fresh synth of the committed config per session, and the terraform CLI config.

A session is one test process: `make test` runs several (pytest-xdist workers, see the Makefile),
each with these fixtures of its own under its own temporary directory, so nothing they write is
shared between workers.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "environments"

# cdktf's Testing.app() gives every app a `cdktf.outdir.*` directory under Node.js's os.tmpdir() and
# never removes it: about two thousand per `make test`. The jsii kernel inherits this process's
# environment, so TMPDIR points it (and every program the tests start) at one directory per run,
# removed when the process that made it ends. Under pytest-xdist that is the controller, which
# imports this file first: its workers inherit the variable and share the directory. Set here, at
# import, because a test module's import may start the kernel.
TESTS_TMPDIR_ENV = "SYNTH_TESTS_TMPDIR"
if TESTS_TMPDIR_ENV not in os.environ:
    _tests_tmpdir = tempfile.mkdtemp(prefix="synth-tests-")  # under the original TMPDIR
    os.environ[TESTS_TMPDIR_ENV] = os.environ["TMPDIR"] = _tests_tmpdir
    atexit.register(shutil.rmtree, _tests_tmpdir, ignore_errors=True)


def run_main(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """`python main.py ARGS` in a subprocess, as a user runs it: without this process's NODE_OPTIONS,
    to which modules/cdk.py added its hooks (the child's modules/cdk.py adds them itself)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"},
    )


def synth_config(config: Path, out: Path) -> Path:
    """`python main.py synth --config CONFIG --out OUT` as a user runs it, which must succeed; OUT."""
    result = run_main("synth", "--config", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


# Under pytest-xdist (make test) the scopes that run longest are handed out first, so that no worker
# starts applying a stack near the end of the run: the emulator tier, then validate and policy, then
# the rest, each in collection order (a class's tests keep theirs). xdist keeps this order with
# --no-loadscope-reorder; a run without workers is left in plain collection order.
TIERS_FIRST = ("emulator", "validate", "policy")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return

    def tier(item: pytest.Item) -> int:
        marked = [i for i, mark in enumerate(TIERS_FIRST) if item.get_closest_marker(mark)]
        return marked[0] if marked else len(TIERS_FIRST)

    items.sort(key=tier)  # stable: collection order within a tier


@pytest.fixture(scope="session", autouse=True)
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The no-op stamp cache (SYNTH_CACHE_DIR) of every synth this session runs, in process or not.

    Not the checkout's .synth-cache/: every synth there prunes the entries whose output directory
    is missing, and another worker's synth swapping its output directory into place is missing for
    an instant; a test of the no-op synth would then find its stamps gone."""
    cache = tmp_path_factory.mktemp("synth-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNTH_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture(scope="session")
def fresh_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed config synthesized into a scratch directory (not generated/)."""
    out = tmp_path_factory.mktemp("fresh") / "generated"
    result = run_main("synth", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def terraform_cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A terraform CLI config that installs hashicorp/aws from the machine's filesystem mirror.

    Its plugin cache directory is this session's alone: Terraform does not support concurrent
    `init`s sharing one plugin cache."""
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


class StackJson(dict):
    """A stack's Terraform JSON as cdktf's Testing.synth gives it: without the "//" metadata of each
    element. The construct paths that metadata holds are read from the stack on first use."""

    def __init__(self, data: dict, stack) -> None:
        super().__init__(data)
        self._stack = stack
        self._paths: dict[tuple[str, str], str] | None = None

    def path(self, resource_type: str, name: str) -> str:
        """The construct path ("<stack>/a/b") of the resource `resource_type.name`."""
        if self._paths is None:
            full = self._stack.to_terraform()
            self._paths = {
                (kind, key): element["//"]["metadata"]["path"]
                for kind, found in full.get("resource", {}).items()
                for key, element in found.items()
            }
        return self._paths[(resource_type, name)]


def synth_stack(stack) -> StackJson:
    """The Terraform JSON of one stack, parsed (cdktf Testing: one jsii runtime per session)."""
    import json

    from modules.cdk import Testing

    return StackJson(json.loads(Testing.synth(stack)), stack)


def resources(stack_json: dict, resource_type: str) -> dict[str, dict]:
    return stack_json.get("resource", {}).get(resource_type, {})


def construct_paths(stack_json: dict, resource_type: str) -> dict[str, str]:
    """{Terraform name: construct path below the stack ("api/task-definition")} of a resource type.

    The path comes from cdktf's "//" metadata: on the resource in a synthesized cdk.tf.json, from
    the stack for the JSON of `synth_stack`."""
    paths = {}
    for name, resource in resources(stack_json, resource_type).items():
        if "//" in resource:
            path = resource["//"]["metadata"]["path"]
        else:
            path = stack_json.path(resource_type, name)
        paths[name] = path.split("/", 1)[1]  # below the stack, a child of the app
    return paths


def by_path(stack_json: dict, resource_type: str) -> dict[str, dict]:
    """{construct path below the stack: resource} of a resource type."""
    found = resources(stack_json, resource_type)
    return {path: found[name] for name, path in construct_paths(stack_json, resource_type).items()}


def name_at(stack_json: dict, resource_type: str, path: str) -> str:
    """The Terraform name of the resource of `resource_type` at construct path `path` (below the stack)."""
    names = [name for name, at in construct_paths(stack_json, resource_type).items() if at == path]
    assert len(names) == 1, (
        f"no {resource_type} at {path}: {sorted(construct_paths(stack_json, resource_type).values())}"
    )
    return names[0]


def ref(stack_json: dict, resource_type: str, path: str, attribute: str) -> str:
    """`${type.name.attribute}` of the resource at construct path `path` (below the stack)."""
    return f"${{{resource_type}.{name_at(stack_json, resource_type, path)}.{attribute}}}"


def keys(value: Any) -> Iterator[str]:
    """Every key (attribute name) anywhere in a JSON value, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys(inner)


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
