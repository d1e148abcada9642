"""Finding the policy tier's pinned tools (checkov, parliament): their Makefile pins and binaries."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path


def pinned_version(variable: str, makefile: Path) -> str:
    """The `<variable> := X` the Makefile installs: an allow file is written against that version."""
    match = re.search(rf"^{variable}\s*:?=\s*(\S+)\s*$", makefile.read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:
        raise AssertionError(f"{makefile}: no '{variable} := X' line")
    return match.group(1)


def find_tool(
    binary: str, variable: str, hint: str, not_found: type[Exception], environ: Mapping[str, str], root: Path
) -> Path:
    """$<variable> (set by `make test` / `make policy`), else <repo>/.venv-checkov/bin/<binary>."""
    configured = environ.get(variable, "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise not_found(f"{variable}={configured!r} is not an executable; {hint}")
        return Path(found)
    fallback = root / ".venv-checkov" / "bin" / binary
    if fallback.is_file() and os.access(fallback, os.X_OK):
        return fallback
    raise not_found(f"{binary} not found: ${variable} is unset and {fallback} does not exist; {hint}")


# Example stacks that hold what the shipped ones do not, scanned by checkov and linted by parliament in
# the same runs as the shipped stacks, under these names, so their allow entries are judged (and go
# stale) with the rest: {scan name: (example, stack)}. The shipped environments share the state
# account and keep S3 state.
EXAMPLE_STACKS: dict[str, tuple[str, str]] = {
    "terraform-cloud-bootstrap": ("terraform-cloud", "bootstrap"),  # OIDC providers, plan and apply roles
    "multi-account-bootstrap": ("multi-account", "bootstrap"),  # cross-account grants on the state
    "codepipeline-prod": ("codepipeline", "prod"),  # CodePipeline + CodeBuild per service, production profile
}


def example_stack_files(out_root: Path) -> dict[str, Path]:
    """Each stack of EXAMPLE_STACKS synthesized below `out_root`: {scan name: stack file}."""
    from conftest import ROOT, synth_config

    files = {}
    synthesized: set[str] = set()
    for name, (example, stack) in EXAMPLE_STACKS.items():
        out = out_root / example
        if example not in synthesized:
            synth_config(ROOT / "examples" / example, out)
            synthesized.add(example)
        files[name] = out / "stacks" / stack / "cdk.tf.json"
    return files
