"""Running the terraform binary offline against the machine's provider mirror.

The machines have no registry access, only a filesystem mirror of hashicorp/aws. We find the
mirror, write a CLI config that installs from it alone, and run each stack in a scratch copy, so
`.terraform/` and lock files never land in `generated/`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROVIDER_PATH = Path("registry.terraform.io/hashicorp/aws/5.100.0")
# Where mirrors are usually laid out; TF_PROVIDER_MIRROR, when set, is tried first.
MIRROR_CANDIDATES = (
    Path("/opt/tf-plugins"),
    Path.home() / ".terraform.d/plugins",
    Path.home() / ".local/share/terraform/plugins",
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
)
DEFAULT_TIMEOUT = 300


class TerraformUnavailable(RuntimeError):
    """terraform or the provider mirror is missing on this machine."""


def find_mirror() -> Path:
    candidates = [Path(p) for p in [os.environ.get("TF_PROVIDER_MIRROR")] if p] + list(MIRROR_CANDIDATES)
    for candidate in candidates:
        if (candidate / PROVIDER_PATH).is_dir():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise TerraformUnavailable(f"no filesystem mirror of hashicorp/aws 5.100.0 found (tried {tried})")


def find_terraform() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise TerraformUnavailable("terraform is not on PATH")
    return binary


def write_cli_config(directory: Path, mirror: Path) -> Path:
    """A CLI config that installs every provider from the mirror and never asks a registry."""
    config = directory / "terraform.rc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/*/*"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n"
        f'plugin_cache_dir = "{directory / "plugin-cache"}"\n'
    )
    (directory / "plugin-cache").mkdir(exist_ok=True)
    return config


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Terraform:
    """terraform in one working directory, offline, with a timeout on every command."""

    def __init__(self, workdir: Path, cli_config: Path, extra_env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.binary = find_terraform()
        self.env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            **(extra_env or {}),
        }

    def run(self, *args: str, timeout: int = DEFAULT_TIMEOUT) -> Result:
        completed = subprocess.run(
            [self.binary, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(tuple(args), completed.returncode, completed.stdout, completed.stderr)


def stack_dirs(out_dir: Path) -> list[Path]:
    return sorted(p.parent for p in (out_dir / "stacks").glob("*/cdk.tf.json"))


def scratch_copy(stack_dir: Path, into: Path) -> Path:
    """Copy a synthesized stack into a scratch working directory: its cdk.tf.json and the packages it
    references by relative `filename` (a Lambda zip), nothing Terraform left there."""
    target = into / stack_dir.name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(stack_dir / "cdk.tf.json", target / "cdk.tf.json")
    for package in sorted(stack_dir.glob("*.zip")):
        shutil.copy2(package, target / package.name)
    return target


def validate_stack(stack_dir: Path, scratch: Path, cli_config: Path) -> Result:
    """`terraform init -backend=false` then `terraform validate`; the first failure is returned."""
    tf = Terraform(scratch_copy(stack_dir, scratch), cli_config)
    init = tf.run("init", "-backend=false", "-no-color")
    if not init.ok:
        return init
    return tf.run("validate", "-no-color")


def validate_all(out_dir: Path) -> dict[str, Result]:
    """Validate every stack under out_dir; returns each stack's result by name."""
    mirror = find_mirror()
    with tempfile.TemporaryDirectory(prefix="tf-validate-") as tmp:
        scratch = Path(tmp)
        cli_config = write_cli_config(scratch, mirror)
        return {d.name: validate_stack(d, scratch / "stacks", cli_config) for d in stack_dirs(out_dir)}
