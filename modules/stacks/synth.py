"""Synthesize the platform into an output directory, atomically.

Stacks are synthesized into a temporary sibling directory; only when that succeeded does it replace
the output directory, so a failure leaves the previous output exactly as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from modules.cdk import App, synth_app
from modules.config import Platform
from modules.core import stamp
from modules.stacks.bootstrap import BootstrapStack
from modules.stacks.environment import EnvironmentStack


def build_app(platform: Platform, outdir: Path) -> App:
    """The cdktf app: the bootstrap stack and one stack per environment, in name order."""
    app = App(outdir=str(outdir))
    BootstrapStack(app, platform.project)
    for env in platform.environments:
        EnvironmentStack(app, env)
    return app


def synthesize(platform: Platform, out_dir: Path, inputs: str) -> None:
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.synth-{os.getpid()}"
    previous = out_dir.parent / f".{out_dir.name}.previous-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        synth_app(build_app(platform, staging))
        stamp.write(staging, inputs)
        if out_dir.exists():
            out_dir.rename(previous)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if previous.exists() and not out_dir.exists():
            previous.rename(out_dir)
        raise
    shutil.rmtree(previous, ignore_errors=True)
