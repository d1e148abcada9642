"""The jsii kernel's Node.js process: the environment it starts with, and its start ahead of jsii.

Importing this module sets that environment (os.environ): the Node.js hooks preloaded into the
kernel, each with the switch that turns it off. modules/cdk.py imports it before jsii, so every
kernel of this process, however started, gets them.

Started ahead (`start_kernel_early`): jsii starts the kernel when the first assembly loads, at the
end of importing jsii and cdktf (~0.2 s of Python). The synth CLI calls this first instead: it
starts the same command (node, jsii's flag, jsii's runtime script, written out as jsii writes it)
with the same environment, so Node.js boots and, once the loads arrive, loads cdktf and the provider
while Python imports. When jsii then starts its kernel (modules/bindings.py, `adopt_early_kernel`),
it is handed this process if the command and the environment are still exactly those; otherwise
the early process is stopped and jsii starts its own, as it would have. An early process nothing
adopted is stopped at exit. SYNTH_KERNEL_ON_IMPORT=1 leaves the start to jsii.

Standard library only: it runs before anything heavy is imported.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from modules.core.stamp import cache_root

# The machines run Node.js 20; jsii prints a large end-of-life banner on every start otherwise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Node.js hooks, preloaded into the jsii runtime:
# - readable_addresses.js, always: Terraform names from the construct path, without cdktf's hash
#   suffix (what a plan reviewer reads), collisions refused; see modules/cdk.py synth_app.
# - lazy_provider_index.js: the Node.js side has the same problem as the Python package, its index
#   loads every resource module; the hook makes each load on first use.
#   SYNTH_EAGER_PROVIDER_INDEX=1 turns it off, to compare.
# - lazy_cdktf_dependencies.js: two npm packages cdktf loads and a synth here never calls (archiver,
#   semver) load on first use; half of cdktf's load time. SYNTH_EAGER_CDKTF_DEPENDENCIES=1 turns it off.
# - no_token_stack_traces.js: tokens skip recording the Node.js stack they were made on (only a
#   token resolution error would print it, never the output). SYNTH_TOKEN_STACK_TRACES=1 keeps it.
# - direct_jsii_channel.js: the jsii kernel runs in the process Python started, not in a child of it
#   behind a relay (half the time per round trip, one Node.js start fewer); it needs Node.js to
#   preserve symbolic links, as the relay asks of its child. SYNTH_JSII_RELAY=1 keeps the relay.
# - one_resolve_pass.js: app.synth() resolves each stack once, not twice; the first, "preparing"
#   pass only wires references between stacks, which the platform's stacks never make (one would
#   fail the synth). SYNTH_PREPARING_RESOLVE=1 keeps both passes.
# - tarball_digests.js: the kernel finds each package in its cache by the SHA-256 of its tarball (34 MB
#   for the provider); the digest is remembered in the synth cache, keyed by the file's path, size,
#   mtime and inode. SYNTH_HASH_TARBALLS=1 hashes them every time.
# - resolve_plain_strings.js: cdktf's resolve() returns a plain leaf (a string with no token in it, a
#   number that encodes none, a boolean, null) at once, without building a resolution context for
#   it. SYNTH_RESOLVE_EVERY_STRING=1 keeps cdktf's way.
# - no_inline_source_maps.js: the inline source map at the end of every cdktf and provider module
#   (70% of a provider module's bytes) is cut off before Node.js compiles it, unless source maps
#   are enabled. SYNTH_INLINE_SOURCE_MAPS=1 compiles the files as they are. Last in the list: it
#   wraps the others' source rewrites, so they see the source without it.
LAZY_PROVIDER_INDEX = os.environ.get("SYNTH_EAGER_PROVIDER_INDEX") != "1"
LAZY_CDKTF_DEPENDENCIES = os.environ.get("SYNTH_EAGER_CDKTF_DEPENDENCIES") != "1"
TOKEN_STACK_TRACES = os.environ.get("SYNTH_TOKEN_STACK_TRACES") == "1"
DIRECT_CHANNEL = os.environ.get("SYNTH_JSII_RELAY") != "1"
ONE_RESOLVE_PASS = os.environ.get("SYNTH_PREPARING_RESOLVE") != "1"
PLAIN_STRINGS_AT_ONCE = os.environ.get("SYNTH_RESOLVE_EVERY_STRING") != "1"
REMEMBERED_DIGESTS = os.environ.get("SYNTH_HASH_TARBALLS") != "1"
EARLY_START = os.environ.get("SYNTH_KERNEL_ON_IMPORT") != "1"
NO_INLINE_SOURCE_MAPS = os.environ.get("SYNTH_INLINE_SOURCE_MAPS") != "1"
if REMEMBERED_DIGESTS:
    os.environ["SYNTH_TARBALL_DIGESTS"] = str(cache_root() / "jsii-tarball-digests.json")
_HOOKS = (
    (["direct_jsii_channel.js"] if DIRECT_CHANNEL else [])
    + ["readable_addresses.js"]
    + (["lazy_provider_index.js"] if LAZY_PROVIDER_INDEX else [])
    + (["lazy_cdktf_dependencies.js"] if LAZY_CDKTF_DEPENDENCIES else [])
    + ([] if TOKEN_STACK_TRACES else ["no_token_stack_traces.js"])
    + (["one_resolve_pass.js"] if ONE_RESOLVE_PASS else [])
    + (["resolve_plain_strings.js"] if PLAIN_STRINGS_AT_ONCE else [])
    + (["tarball_digests.js"] if REMEMBERED_DIGESTS else [])
    + (["no_inline_source_maps.js"] if NO_INLINE_SOURCE_MAPS else [])
)
# Ours before the user's: what a user's preloaded script prints must find the direct channel's
# stdout wrapper in place.
os.environ["NODE_OPTIONS"] = " ".join(
    [
        *(["--preserve-symlinks"] if DIRECT_CHANNEL else []),
        *(f'--require "{Path(__file__).with_name(h)}"' for h in _HOOKS),
        os.environ.get("NODE_OPTIONS") or "",
    ]
).strip()


# --- the kernel started ahead ------------------------------------------------------------------

# jsii 1.142.0's _NodeProcess.start(): `[JSII_NODE or "node", "--max-old-space-size=4069", runtime]`.
_NODE_FLAGS = ["--max-old-space-size=4069"]


class _EarlyKernel:
    def __init__(self, command: list[str], environment: dict[str, str], runtime_dir: str | None) -> None:
        self.command = command
        self.environment = environment
        self.runtime_dir = runtime_dir
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
        )
        self.adopted = False
        self.stopped = False
        atexit.register(self.at_exit)

    def stop(self) -> None:
        """Stop the process (not adopted: nothing has been sent to it)."""
        if self.adopted or self.stopped:
            return
        self.stopped = True
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def at_exit(self) -> None:
        # After jsii's own exit handler (registered later, run earlier) has stopped an adopted kernel.
        self.stop()
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)


_early: _EarlyKernel | None = None


def _write_runtime() -> tuple[str, str] | None:
    """jsii's embedded runtime (`jsii/_embedded/jsii/<dir>__<file>`), written out as `<dir>/<file>` in
    a new temporary directory, as jsii's `_jsii_runtime` writes it: (the directory, the entry point)."""
    spec = importlib.util.find_spec("jsii")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    embedded = Path(spec.submodule_search_locations[0]) / "_embedded" / "jsii"
    entry = embedded / "bin__jsii-runtime.js"
    if not entry.is_file():
        return None
    directory = tempfile.mkdtemp()
    for source in embedded.iterdir():
        if "__" in source.name and not source.name.startswith("__"):
            target = Path(directory, *source.name.split("__", 1))
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, target)
    return directory, str(Path(directory, "bin", "jsii-runtime.js"))


def start_kernel_early() -> bool:
    """Start the kernel's Node.js process now, for jsii to adopt (see above); False when switched off,
    when jsii's kernel runs already, when jsii's runtime is not where it is expected, or when Node.js
    cannot be started."""
    global _early
    # Once cdktf is imported, jsii has started its kernel already: one started now would never be
    # adopted (an in-process synth, as tests run it).
    if not EARLY_START or _early is not None or "cdktf" in sys.modules:
        return False
    environment = os.environ.copy()
    environment["JSII_AGENT"] = f"Python/{platform.python_version()}"
    runtime_dir = None
    runtime = environment.get("JSII_RUNTIME")
    if runtime is None:
        written = _write_runtime()
        if written is None:
            return False
        runtime_dir, runtime = written
    command = [environment.get("JSII_NODE", "node"), *_NODE_FLAGS, runtime]
    try:
        _early = _EarlyKernel(command, environment, runtime_dir)
    except OSError:  # no Node.js: jsii's own start reports it, as without the early start
        if runtime_dir is not None:
            shutil.rmtree(runtime_dir, ignore_errors=True)
        return False
    return True


def early_runtime() -> str | None:
    """The runtime script the early kernel runs, while it waits to be adopted (jsii's start asks for
    its runtime before its command: the same script makes the same command). It stays until exit."""
    return _early.command[-1] if _early is not None and not (_early.adopted or _early.stopped) else None


def adopt(command: list[str], environment: dict[str, str] | None) -> subprocess.Popen[bytes] | None:
    """The early kernel, when it runs `command` with `environment`; else None, and it is stopped."""
    if _early is None or _early.adopted or _early.stopped:
        return None
    if command == _early.command and environment == _early.environment:
        _early.adopted = True
        return _early.process
    _early.stop()
    return None


def early_kernel_adopted() -> bool:
    """Whether jsii runs the kernel started ahead."""
    return _early is not None and _early.adopted
