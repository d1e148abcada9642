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


# Example configs whose bootstrap stack holds what the shipped one does not (the shipped environments
# share the state account and keep S3 state): scanned by checkov and linted by parliament in the
# same runs as the shipped stacks, under these names, so their allow entries are judged (and go
# stale) with the rest.
EXAMPLE_BOOTSTRAPS: dict[str, str] = {
    "terraform-cloud-bootstrap": "terraform-cloud",  # OIDC providers, plan and apply roles
    "multi-account-bootstrap": "multi-account",  # cross-account grants on the bucket, key, lock table
}


def example_bootstrap_files(out_root: Path) -> dict[str, Path]:
    """Each example of EXAMPLE_BOOTSTRAPS synthesized below `out_root`: {scan name: bootstrap file}."""
    from conftest import ROOT, synth_config

    files = {}
    for name, example in EXAMPLE_BOOTSTRAPS.items():
        out = out_root / example
        synth_config(ROOT / "examples" / example, out)
        files[name] = out / "stacks" / "bootstrap" / "cdk.tf.json"
    return files
