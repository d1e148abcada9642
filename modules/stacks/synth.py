"""Synthesize the platform into an output directory, atomically.

The new output is assembled in a temporary sibling directory: the stacks synthesized now, plus what
stays from the previous output. Only when that succeeded does it replace the output directory, so a
failure leaves the previous output exactly as it was.

What stays:
- in a partial synth (`keep_others`), every other stack directory, as it is (hard links, so its
  bytes, and even its inodes, are unchanged);
- in a synthesized stack's directory, every file the synth does not write (Terraform's `.terraform/`,
  `.terraform.lock.hcl`, local state, saved plans): replacing a stack never loses the bootstrap's
  local state.

A full synth drops the stack directories of environments no longer configured. `manifest.json` is
rewritten to list exactly the stacks present, deterministically, without cdktf's `stackMetadataPath`
(it names a metadata.json that cdktf never writes).

Each environment's page, `docs/<env>.md` (modules/pages), goes with its stack: written when the
stack is synthesized, kept (linked) when it is kept, dropped when it is; `docs/` holds nothing else.
Its stamp records it among the stack's outputs, so an edited or deleted page is noticed.

A Lambda package a stack references by relative `filename` (the Discord notifier's zip,
modules/notifications/discord) is written into that stack's directory, beside its cdk.tf.json, so
Terraform finds it wherever the directory is applied from; being under `stacks/<stack>/`, it is
among the stack's stamped outputs.

The Terraform Cloud workspace definitions, `terraform-cloud/workspaces.json` (modules/stacks/
workspaces.py), are project-wide and written by every synth, whether it synthesizes the bootstrap
stack or keeps it (a partial synth whose bootstrap stamp is current): built from every configured
environment, so a partial synth writes the same bytes as a full one; absent when no environment
uses the cloud backend (a stale file is dropped with the previous output). The bootstrap's stamp
records it among its outputs.

The GitHub Actions workflows, `github/workflows/*.yml` (modules/delivery/workflows), are project-wide
the same way: rendered from every configured environment with each synth, recorded with the
bootstrap, absent when no environment delivers with github. A user copies (or syncs) them into the
repository's `.github/workflows/`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from modules.cdk import App, synthesizing
from modules.config import Platform
from modules.core import stamp
from modules.delivery.targets import workflows_of
from modules.delivery.workflows.render import render_workflows
from modules.stacks.bootstrap import BootstrapStack
from modules.stacks.environment import EnvironmentStack, stack_packages
from modules.stacks.workspaces import render_workspaces

STACK_FILE = "cdk.tf.json"


def build_app(platform: Platform, outdir: Path, *, bootstrap: bool = True) -> App:
    """The cdktf app: the bootstrap stack (unless `bootstrap` is False) and one stack per
    environment, in name order."""
    app = App(outdir=str(outdir))
    if bootstrap:
        BootstrapStack(app, platform)
    for env in platform.environments:
        EnvironmentStack(app, env)
    return app


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _carry(source: Path, target: Path) -> None:
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy)
    elif source.is_symlink():
        target.symlink_to(os.readlink(source))
    else:
        _link_or_copy(str(source), str(target))


def _stack_entry(name: str) -> dict:
    return {
        "annotations": [],
        "constructPath": name,
        "dependencies": [],
        "name": name,
        "synthesizedStackPath": f"{stamp.STACKS}/{name}/{STACK_FILE}",
        "workingDirectory": f"{stamp.STACKS}/{name}",
    }


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _beside_the_stacks(platform: Platform) -> dict[str, str]:
    """What a synth writes besides cdktf's output, rendered from the same config, by path in the output
    directory: the page of every environment synthesized; the Terraform Cloud workspace of every
    cloud environment, configured or selected alike (no file without one); the project's GitHub
    Actions workflows, from every configured environment (none without github)."""
    # Imported here: this runs while Node.js writes the stacks, and the pages' jinja2 (about 35 ms
    # to import) is then off the synth's critical path.
    from modules.pages import render_page

    files = {stamp.page(env.name): render_page(env) for env in platform.environments}
    workspaces = render_workspaces(platform.all_environments)
    if workspaces is not None:
        files[stamp.WORKSPACES] = workspaces
    model = workflows_of(platform.all_environments)
    if model is not None:
        for name, text in sorted(render_workflows(model).items()):
            files[f"{stamp.WORKFLOWS}/{name}"] = text
    return files


def _write_beside(files: Mapping[str, str], staging: Path) -> None:
    for path, text in files.items():
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _write_packages(platform: Platform, staging: Path) -> None:
    """The packages each environment's stack references, beside its cdk.tf.json."""
    for env in platform.environments:
        for package in stack_packages(env):
            (staging / stamp.STACKS / env.name / package.filename).write_bytes(package.data)


def _assemble(staging: Path, out_dir: Path, synthesized: list[str], keep_others: bool) -> list[str]:
    """Bring what stays from `out_dir` into `staging` and write the manifest; the stacks present."""
    stacks = staging / stamp.STACKS
    previous = out_dir / stamp.STACKS
    for name in synthesized:
        old = previous / name
        if not old.is_dir():
            continue
        new = stacks / name
        directory = f"{stamp.STACKS}/{name}/"
        owned = {
            path.removeprefix(directory).split("/")[0]
            for path in stamp.recorded_outputs(out_dir, name)
            if path.startswith(directory)
        }
        owned |= {entry.name for entry in new.iterdir()}
        for entry in sorted(old.iterdir()):
            if entry.name not in owned:
                _carry(entry, new / entry.name)
    kept = (
        [name for name in stamp.stack_directories(out_dir) if name not in synthesized] if keep_others else []
    )
    for name in kept:
        _carry(previous / name, stacks / name)
        if (out_dir / stamp.page(name)).is_file():
            (staging / stamp.DOCS).mkdir(exist_ok=True)
            _carry(out_dir / stamp.page(name), staging / stamp.page(name))

    written = _read_manifest(staging / stamp.MANIFEST)
    old_entries = _read_manifest(out_dir / stamp.MANIFEST).get("stacks") or {}
    entries = {**{name: old_entries.get(name) or _stack_entry(name) for name in kept}, **written["stacks"]}
    for entry in entries.values():
        entry.pop("stackMetadataPath", None)
    manifest = {**written, "stacks": entries}
    (staging / stamp.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return sorted(entries)


def synthesize(
    platform: Platform,
    out_dir: Path,
    inputs: Mapping[str, str],
    *,
    keep_others: bool = False,
    bootstrap: bool = True,
) -> list[str]:
    """Write the bootstrap stack and `platform.environments` into `out_dir`; the stacks present after.

    `inputs`: {stack: inputs digest} (modules.core.stamp.stack_inputs), recorded in the stamps.
    `keep_others`: keep the other stacks already in `out_dir` (a synth of some environments only);
    otherwise the output holds exactly the stacks synthesized.
    `bootstrap` False (with `keep_others`): keep the bootstrap stack's directory as it is, which its
    stamp must have shown current; the project-wide files recorded with it (workspaces, workflows)
    are written all the same, from every environment, and its stamp records them anew.
    """
    if not bootstrap and not keep_others:
        raise ValueError("a synth that keeps the bootstrap stack keeps the other stacks too")
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.synth-{os.getpid()}"
    previous = out_dir.parent / f".{out_dir.name}.previous-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    names = [*([stamp.BOOTSTRAP] if bootstrap else []), *(env.name for env in platform.environments)]
    try:
        # Rendered while Node.js synthesizes the stacks, written once it is done.
        with synthesizing(build_app(platform, staging, bootstrap=bootstrap)):
            beside = _beside_the_stacks(platform)
        _write_beside(beside, staging)
        _write_packages(platform, staging)
        outputs = {name: stamp.stack_outputs(staging, name) for name in names}
        if not bootstrap:  # its stack's files as stamped (they are unchanged), the project's as written
            directory = f"{stamp.STACKS}/{stamp.BOOTSTRAP}/"
            recorded = stamp.recorded_outputs(out_dir, stamp.BOOTSTRAP)
            outputs[stamp.BOOTSTRAP] = {
                path: sha for path, sha in recorded.items() if path.startswith(directory)
            } | stamp.project_outputs(staging)
        present = _assemble(staging, out_dir, names, keep_others)
        if out_dir.exists():
            out_dir.rename(previous)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if previous.exists() and not out_dir.exists():
            previous.rename(out_dir)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    # The cache only saves work: without a stamp, the next synth runs again.
    with contextlib.suppress(OSError):
        stamp.write(out_dir, {name: (inputs[name], outputs[name]) for name in outputs}, present)
    return present
