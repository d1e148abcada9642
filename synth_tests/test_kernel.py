"""modules/kernel.py: the jsii kernel's environment, and its start ahead of the jsii import."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from test_cdk import printed

# Node.js processes whose parent is this Python process.
_NODE_CHILDREN = (
    "import os, pathlib; me = str(os.getpid());"
    "stats = [p.read_text() for p in pathlib.Path('/proc').glob('[0-9]*/stat') if p.exists()];"
    "children = [s for s in stats if s.rsplit(')', 1)[1].split()[1] == me and '(node)' in s]"
)


def _after_an_early_start(meanwhile: str, shown: str) -> list[str]:
    """What a fresh Python prints of `shown` after it starts the kernel early, runs `meanwhile`,
    imports modules.cdk and makes an app (`started`, `app` and the Node.js `children` are defined)."""
    code = (
        f"import os, sys; from modules import kernel; started = kernel.start_kernel_early(); {meanwhile};"
        f"import modules.cdk as cdk; app = cdk.App(outdir='out'); {_NODE_CHILDREN}; print({shown})"
    )
    return printed(code)


def test_the_kernel_starts_before_jsii_is_imported_and_jsii_takes_it() -> None:
    # One Node.js process: the one started ahead, which jsii talks to (a second would be jsii's own).
    shown = "started, imported_jsii, kernel.early_kernel_adopted(), len(children)"
    assert _after_an_early_start("imported_jsii = 'jsii' in sys.modules", shown) == [
        "True",
        "False",
        "True",
        "1",
    ]


def test_a_kernel_started_with_another_environment_is_stopped_and_jsii_starts_its_own() -> None:
    """jsii's kernel gets the environment of the moment jsii starts it: when that is no longer the
    one the early kernel got, the early one is not used."""
    meanwhile = "early = kernel._early.process; os.environ['SET_AFTER_THE_EARLY_START'] = '1'"
    shown = "kernel.early_kernel_adopted(), early.poll() is not None, len(children), app.outdir"
    assert _after_an_early_start(meanwhile, shown) == ["False", "True", "1", "out"]


def test_an_early_kernel_nothing_took_is_stopped_at_exit() -> None:
    code = "from modules import kernel; kernel.start_kernel_early(); print(kernel._early.process.pid)"
    (pid,) = printed(code)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "(node) Z" in Path(f"/proc/{pid}/stat").read_text()


def test_switched_off_jsii_starts_the_kernel_itself() -> None:
    code = (
        "from modules import kernel; started = kernel.start_kernel_early();"
        "import modules.cdk as cdk; cdk.App(); print(started, kernel.early_kernel_adopted())"
    )
    assert printed(code, env={"SYNTH_KERNEL_ON_IMPORT": "1"}) == ["False", "False"]


def test_the_hooks_go_before_the_users_node_options() -> None:
    code = "import os, modules.kernel; print(os.environ['NODE_OPTIONS'])"
    options = " ".join(printed(code, env={"NODE_OPTIONS": "--max-semi-space-size=16"}))
    assert options.startswith("--preserve-symlinks --require")
    assert options.endswith("--max-semi-space-size=16")
    assert 'direct_jsii_channel.js"' in options and os.sep + "modules" + os.sep in options


def test_without_nodejs_nothing_starts_early_and_nothing_is_left_behind(tmp_path) -> None:
    """The early start gives way: jsii's own start then reports the missing Node.js, as before."""
    code = (
        "import os, tempfile; from modules import kernel; before = set(os.listdir(tempfile.gettempdir()));"
        "started = kernel.start_kernel_early(); after = set(os.listdir(tempfile.gettempdir()));"
        "print(started, kernel._early, len(after - before))"
    )
    env = {"JSII_NODE": str(tmp_path / "no-node-here"), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    assert printed(code, env=env) == ["False", "None", "0"]


def test_once_jsii_runs_its_kernel_no_other_is_started() -> None:
    """An in-process synth (main.synth without a command line, as tests run it) imports cdktf before
    it would start the kernel early: nothing is started that nothing would adopt."""
    import modules.cdk  # noqa: F401  (starts jsii's kernel, as every in-process synth does)
    from modules import kernel

    assert "cdktf" in sys.modules
    assert kernel.start_kernel_early() is False
    assert kernel._early is None
