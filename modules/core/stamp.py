"""The synth stamp: skip a synth whose inputs and outputs are unchanged since the last one.

Stdlib only (no pydantic, no cdktf), so the check costs milliseconds. The stamp lives in the
output directory, written last, and records a digest of every input (this code, the config files,
the pinned binding versions, the environments asked for) and of every output file. A synth is
skipped only when both still match, so a hand-edited `generated/` is regenerated.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

STAMP_FILE = "synth-stamp.json"
CODE_ROOT = Path(__file__).resolve().parents[2]
_PINNED = ("cdktf", "cdktf-cdktf-provider-aws", "constructs", "jsii")


def _code_files() -> list[Path]:
    files = [CODE_ROOT / "main.py"]
    files += [p for p in (CODE_ROOT / "modules").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(files)


def inputs_digest(config_dir: Path, environments: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for name in _PINNED:
        try:
            digest.update(f"{name}=={metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} missing\n".encode())
    digest.update(("envs:" + ",".join(sorted(environments)) + "\n").encode())
    for path in _code_files():
        digest.update(f"code:{path.relative_to(CODE_ROOT).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    for path in sorted(config_dir.glob("*.toml")):
        digest.update(f"config:{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def outputs_digest(out_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != STAMP_FILE):
        digest.update(f"{path.relative_to(out_dir).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def write(out_dir: Path, inputs: str) -> None:
    stamp = {
        "about": "written by `python main.py`; a synth with these digests is skipped as a no-op",
        "inputs_sha256": inputs,
        "outputs_sha256": outputs_digest(out_dir),
    }
    (out_dir / STAMP_FILE).write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")


def is_current(out_dir: Path, inputs: str) -> bool:
    try:
        stamp = json.loads((out_dir / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return False
    return stamp.get("inputs_sha256") == inputs and stamp.get("outputs_sha256") == outputs_digest(out_dir)
