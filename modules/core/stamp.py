"""Per-stack synth stamps: skip a synth whose stacks' inputs and outputs are unchanged.

Stdlib only (no pydantic, no cdktf), so the check costs milliseconds. The stamps are a local cache,
never committed (a committed stamp made every two pull requests conflict): `.synth-cache/` at the
repository root (gitignored; `SYNTH_CACHE_DIR` moves it), one directory per output directory, keyed
by its resolved path, holding

- `stack-<name>.json` per stack: the digest of that stack's inputs (the pinned binding versions,
  this code, `project.toml` and, for an environment, its `<env>.toml`; for the bootstrap stack, every
  environment's account, region, profile, role, backend and workspace) and the sha256 of every file
  the synth wrote for it, by its path in the output directory: `stacks/<name>/*` and, for an
  environment, its page `docs/<name>.md`; for the bootstrap stack, the Terraform Cloud workspace
  definitions `terraform-cloud/workspaces.json` and the workflows `github/workflows/*` when written
  (project-wide files, written by every synth). Other files in the stack's directory (`.terraform/`,
  state, plans) are Terraform's, not outputs, and do not count;
- `manifest.json`: the sha256 of the output's `manifest.json` and the stacks it lists;
- `out`: the output directory's path, so entries of deleted output directories can be pruned.

A synth is skipped only when every stack it would write is stamped with its current inputs, every
file recorded for it is unchanged on disk, and the manifest is unchanged and lists exactly the stack
directories present (a full synth: exactly the configured stacks). No stamp (a fresh clone, a
deleted cache) means synthesize: the cache can only skip work, never change the output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tomllib
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

CODE_ROOT = Path(__file__).resolve().parents[2]
CACHE_ENV = "SYNTH_CACHE_DIR"
BOOTSTRAP = "bootstrap"
PROJECT_FILE = "project.toml"
MANIFEST = "manifest.json"
STACKS = "stacks"
DOCS = "docs"
# The Terraform Cloud workspace definitions (modules/stacks/workspaces.py), recorded with the bootstrap.
WORKSPACES = "terraform-cloud/workspaces.json"
# The rendered GitHub Actions workflows (modules/delivery/workflows), recorded with the bootstrap too.
WORKFLOWS = "github/workflows"
# Names no environment may have (the loader refuses them): never looked up in the cache.
RESERVED = frozenset({BOOTSTRAP, "project"})
_PINNED = ("cdktf", "cdktf-cdktf-provider-aws", "constructs", "jsii")


# --- inputs ----------------------------------------------------------------------------------


def _code_files() -> list[Path]:
    files = [CODE_ROOT / "main.py"]
    files += [p for p in (CODE_ROOT / "modules").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(files)


def _common_inputs() -> bytes:
    """What every stack depends on: the pinned versions and this code."""
    digest = hashlib.sha256()
    for name in _PINNED:
        try:
            digest.update(f"{name}=={metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} missing\n".encode())
    for path in _code_files():
        digest.update(f"code:{path.relative_to(CODE_ROOT).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.digest()


def _config_bytes(path: Path) -> bytes:
    try:
        return b"present\n" + path.read_bytes()
    except OSError:
        return b"missing\n"


def environment_names(config_dir: Path) -> list[str]:
    """The environments a full synth writes: every `<env>.toml` beside `project.toml`."""
    return sorted(p.stem for p in config_dir.glob("*.toml") if p.name != PROJECT_FILE)


# What the bootstrap stack reads from an environment file: its account, role and backend decide
# whether the state account grants it its state (modules/config/state_access.py), and the backend
# and workspace which Terraform Cloud runs the bootstrap stack trusts (modules/config/cloud.py); the
# workspace definitions written with it also read the region (role ARNs, AWS_REGION) and the profile
# (auto-apply). The GitHub workflows written with it (modules/delivery/workflows) read every
# environment's delivery and services too, but need no key here: every synth renders them (and the
# workspace definitions) from every file, whether it synthesizes the bootstrap stack or keeps it,
# and an edit of those keys makes its environment's stack stale.
_BOOTSTRAP_KEYS = ("account_id", "assume_role_arn", "backend", "workspace", "region", "profile")
# What an environment stack reads from the other environment files: the account and region of the
# environment it promotes images from (its deploy role pulls from that registry).
_ACCOUNT_KEYS = ("account_id", "region")


def _projection(config_dir: Path, keys: tuple[str, ...]) -> bytes:
    """`keys` of every environment file: the inputs one stack takes from the other files, so editing
    anything else there does not re-synthesize it; the whole file when it does not parse."""
    parts = []
    for name in environment_names(config_dir):
        raw = _config_bytes(config_dir / f"{name}.toml")
        try:
            data = tomllib.loads(raw.split(b"\n", 1)[1].decode()) if raw.startswith(b"present") else {}
            picked = {k: data[k] for k in keys if k in data}
            part = json.dumps({name: picked}, sort_keys=True, default=str).encode()
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            part = f"{name}:".encode() + raw
        parts.append(part + b"\n")
    return b"".join(parts)


def stack_inputs(config_dir: Path, environments: Iterable[str]) -> dict[str, str]:
    """{stack: inputs digest} for the bootstrap stack and the given environments."""
    common = _common_inputs()
    project = _config_bytes(config_dir / PROJECT_FILE)

    def digest(stack: str, *parts: bytes) -> str:
        h = hashlib.sha256(common)
        h.update(f"stack:{stack}\n".encode())
        for part in parts:
            h.update(hashlib.sha256(part).digest())
        return h.hexdigest()

    bootstrap = _projection(config_dir, _BOOTSTRAP_KEYS)
    inputs = {BOOTSTRAP: digest(BOOTSTRAP, project, bootstrap)}
    accounts = _projection(config_dir, _ACCOUNT_KEYS)
    for name in environments:
        inputs[name] = digest(name, project, _config_bytes(config_dir / f"{name}.toml"), accounts)
    return inputs


# --- outputs ---------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_sha256(directory: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under `directory`."""
    return {
        p.relative_to(directory).as_posix(): file_sha256(p)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def page(stack: str) -> str:
    """Where an environment's page is, relative to the output directory."""
    return f"{DOCS}/{stack}.md"


def stack_outputs(out_dir: Path, stack: str) -> dict[str, str]:
    """{path relative to `out_dir`: sha256} of what a synth writes for `stack`: every file under
    `stacks/<stack>/`, for an environment its page, for the bootstrap the workspace definitions
    and the workflows (`project_outputs`)."""
    outputs = {
        f"{STACKS}/{stack}/{name}": sha for name, sha in files_sha256(out_dir / STACKS / stack).items()
    }
    if stack == BOOTSTRAP:
        return outputs | project_outputs(out_dir)
    if (out_dir / page(stack)).is_file():
        outputs[page(stack)] = file_sha256(out_dir / page(stack))
    return outputs


def project_outputs(out_dir: Path) -> dict[str, str]:
    """The project-wide files every synth writes, recorded with the bootstrap stack: the workflows
    and the workspace definitions, those present."""
    outputs = {}
    if (out_dir / WORKFLOWS).is_dir():
        outputs |= {f"{WORKFLOWS}/{n}": sha for n, sha in files_sha256(out_dir / WORKFLOWS).items()}
    if (out_dir / WORKSPACES).is_file():
        outputs[WORKSPACES] = file_sha256(out_dir / WORKSPACES)
    return outputs


def stack_directories(out_dir: Path) -> list[str]:
    """The stacks present in an output directory: the directories of `stacks/` with a cdk.tf.json."""
    root = out_dir / STACKS
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "cdk.tf.json").is_file())


# --- the cache -------------------------------------------------------------------------------


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or CODE_ROOT / ".synth-cache")


def cache_dir(out_dir: Path) -> Path:
    resolved = out_dir.resolve()
    key = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    return cache_root() / f"{resolved.name}-{key}"


def _read(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write_json(path: Path, value: object) -> None:
    """Write `value` as JSON to `path` in the cache, whole or not at all (a temporary file, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temporary.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _stack_stamp(cache: Path, stack: str) -> Path:
    return cache / f"stack-{stack}.json"


def recorded_outputs(out_dir: Path, stack: str) -> dict[str, str]:
    """The files the last synth wrote for `stack` (relative to the output directory), as stamped."""
    stamp = _read(_stack_stamp(cache_dir(out_dir), stack)) or {}
    outputs = stamp.get("outputs")
    return outputs if isinstance(outputs, dict) else {}


def stack_current(out_dir: Path, stack: str, inputs: str) -> bool:
    """Whether `stack`'s files in `out_dir` are what a synth with these inputs (its digest) writes."""
    return _stack_current(out_dir, cache_dir(out_dir), stack, inputs)


def _stack_current(out_dir: Path, cache: Path, stack: str, inputs: str) -> bool:
    stamp = _read(_stack_stamp(cache, stack))
    if not stamp or stamp.get("inputs_sha256") != inputs:
        return False
    outputs = stamp.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        return False
    for name, sha in outputs.items():
        try:
            if file_sha256(out_dir / name) != sha:
                return False
        except OSError:
            return False
    return True


def stale_stacks(out_dir: Path, inputs: Mapping[str, str]) -> set[str] | None:
    """The stacks of `inputs` whose outputs in `out_dir` are not what their inputs would synthesize,
    or None when `out_dir` cannot be reused stack by stack (no stamps, a manifest changed by hand,
    or stacks added or removed since): then everything is synthesized."""
    cache = cache_dir(out_dir)
    manifest = _read(cache / MANIFEST)
    if not manifest:
        return None
    present = stack_directories(out_dir)
    if manifest.get("stacks") != present or set(present) != set(inputs):
        return None
    try:
        if file_sha256(out_dir / MANIFEST) != manifest.get("sha256"):
            return None
    except OSError:
        return None
    return {stack for stack, digest in inputs.items() if not _stack_current(out_dir, cache, stack, digest)}


def is_current(out_dir: Path, inputs: Mapping[str, str], *, exact: bool) -> bool:
    """Would synthesizing these stacks (`inputs`: {stack: digest}) leave `out_dir` as it is?

    `exact`: a full synth, which also drops stacks that are not in `inputs`.
    """
    cache = cache_dir(out_dir)
    manifest = _read(cache / MANIFEST)
    if not manifest:
        return False
    present = stack_directories(out_dir)
    if manifest.get("stacks") != present or (exact and set(present) != set(inputs)):
        return False
    try:
        if file_sha256(out_dir / MANIFEST) != manifest.get("sha256"):
            return False
    except OSError:
        return False
    return all(_stack_current(out_dir, cache, stack, digest) for stack, digest in inputs.items())


def write(
    out_dir: Path,
    synthesized: Mapping[str, tuple[str, Mapping[str, str]]],
    present: list[str],
) -> None:
    """Record a synth: {stack: (inputs digest, {file: sha256})} and the stacks now in `out_dir`.

    Stamps of stacks no longer present are removed; stamps of stacks kept as they were stay.
    """
    cache = cache_dir(out_dir)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "out").write_text(str(out_dir.resolve()) + "\n")
    for stale in cache.glob("stack-*.json"):
        if stale.stem.removeprefix("stack-") not in present:
            stale.unlink(missing_ok=True)
    for stack, (inputs, outputs) in synthesized.items():
        write_json(_stack_stamp(cache, stack), {"inputs_sha256": inputs, "outputs": dict(outputs)})
    write_json(cache / MANIFEST, {"sha256": file_sha256(out_dir / MANIFEST), "stacks": present})
    _prune()


def _prune() -> None:
    """Drop the cache entries of output directories that no longer exist (test runs, benchmarks)."""
    root = cache_root()
    for entry in root.iterdir() if root.is_dir() else ():
        try:
            out = Path((entry / "out").read_text().strip())
        except OSError:
            continue
        if not out.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
