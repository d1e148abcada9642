#!/usr/bin/env python3
"""Synth benchmark (`make bench`): the DESIGN.md section 7 figures, each beside its target.

    python tools/bench.py [--runs N] [--interval-ms MS]

Every measurement is a fresh `python` process, as a user runs it. Each round runs, in turn: a full
synth of the committed config into a fresh output directory, a second synth into that same
directory (inputs unchanged: the stamp must hit, so this is the no-op figure), the plain-import
baseline (`import cdktf_cdktf_provider_aws.vpc` through the package `__init__`) and a synth of a
generated 10-environment config. Round 0 is a warm-up and is discarded; the medians of the next N
rounds are printed. Interleaving the rounds keeps the baseline ratio fair when the machine's load
changes during the run.

Performance is reported, never asserted: a MISS still exits 0. A command that fails (non-zero exit,
or output that shows it did not do what is measured) exits 1 with its output, because its figures
would be meaningless.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "environments"
PYTHON = sys.executable
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MB = 1_000_000  # decimal megabytes: the stricter reading of the "650 MB" target
# As modules/cdk.py sets it for synth; the baseline would otherwise print jsii's Node 20 banner.
CHILD_ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}

# Targets from DESIGN.md section 7.
FULL_SYNTH_MAX_S = 2.0
FULL_SYNTH_MAX_MB = 650
BASELINE_RATIO_MAX = 0.2
NOOP_MAX_S = 0.3
TEN_ENVS_MAX_S = 4.0
TEN_ENVS = 10


class BenchError(Exception):
    pass


# --- measuring one process tree --------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float  # user + sys of the process and the descendants it waited for
    peak_rss: int  # bytes, summed over the process tree; see _TreeRss
    output: str


def _pids() -> set[int]:
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    return int(stat.rpartition(b")")[2].split()[1])


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


class _TreeRss(threading.Thread):
    """The peak, over time, of the summed RSS of a process and all its descendants.

    Why sampling: the jsii runtime is not in the Python process. `import jsii` starts `node` (a small
    launcher), which starts a second `node` running the jsii kernel, and that one holds the loaded
    assemblies and every construct (hundreds of MB). `os.wait4` returns `ru_maxrss` of the waited
    process, folded with the peaks of descendants it waited for: the *largest single* process, never
    the sum of processes alive at the same time. So every `interval` we walk /proc (this kernel has no
    /proc/PID/task/TID/children, so parents come from /proc/PID/stat), take the tree under the root
    pid, sum its members' resident pages (/proc/PID/statm) and keep the largest sum. The caller
    reports max(this, wait4's ru_maxrss), since a short spike can fall between two samples.

    Summing RSS counts a page shared by two processes (the node binary, libc) twice: the figure is
    an upper bound on the memory the tree really holds, i.e. the conservative side of the target.
    """

    def __init__(self, root: int, preexisting: set[int], interval: float) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak = 0
        self._stop_event = threading.Event()
        # A process that existed before the root was started cannot be one of its descendants.
        self._not_ours = set(preexisting)
        self._parents: dict[int, int | None] = {}

    def _tree(self) -> set[int]:
        current = _pids()
        for pid in current - self._not_ours - self._parents.keys():
            self._parents[pid] = _parent(pid)
        tree = {self.root}
        grew = True
        while grew:
            grew = False
            for pid, parent in self._parents.items():
                if parent in tree and pid not in tree and pid in current:
                    tree.add(pid)
                    grew = True
        return tree

    def run(self) -> None:
        while True:
            self.peak = max(self.peak, sum(_rss(pid) for pid in self._tree()))
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def measure(command: list[str], interval: float) -> Sample:
    """Run `command` in the repository root; its wall time, CPU time, peak tree RSS and output."""
    with tempfile.TemporaryFile() as output:
        preexisting = _pids()
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=ROOT, env=CHILD_ENV, stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
        sampler = _TreeRss(process.pid, preexisting, interval)
        sampler.start()
        # wait4 rather than Popen.wait: it also returns the child's rusage.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        sampled_peak = sampler.stop()
        output.seek(0)
        text = output.read().decode(errors="replace")
    if process.returncode != 0:
        raise BenchError(f"`{' '.join(command)}` exited {process.returncode}:\n{text}")
    return Sample(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss=max(sampled_peak, usage.ru_maxrss * 1024),  # ru_maxrss is in KiB on Linux
        output=text,
    )


def expect(sample: Sample, text: str, what: str) -> Sample:
    if text not in sample.output:
        raise BenchError(f"{what}: expected {text!r} in its output, got:\n{sample.output}")
    return sample


# --- the scenarios ---------------------------------------------------------------------------


def synth_command(out: Path, config: Path | None = None) -> list[str]:
    command = [PYTHON, str(ROOT / "main.py"), "synth", "--out", str(out)]
    return command + (["--config", str(config)] if config else [])


def write_ten_env_config(directory: Path) -> Path:
    """project.toml from environments/ and e01..e10: distinct /16s, profiles and zone counts alternating."""
    directory.mkdir(parents=True)
    shutil.copy(CONFIG_DIR / "project.toml", directory / "project.toml")
    for n in range(1, TEN_ENVS + 1):
        production = n % 2 == 0
        (directory / f"e{n:02d}.toml").write_text(
            f'profile = "{"production" if production else "development"}"\n\n'
            "[network]\n"
            f'cidr = "10.{n}.0.0/16"\n'
            f"az_count = {3 if production else 2}\n"
        )
    return directory


def stack_count(out: Path) -> int:
    return sum(1 for path in (out / "stacks").iterdir() if path.is_dir())


@dataclass
class Results:
    full: list[Sample] = field(default_factory=list)
    noop: list[Sample] = field(default_factory=list)
    baseline: list[Sample] = field(default_factory=list)
    ten: list[Sample] = field(default_factory=list)


def run_round(scratch: Path, ten_env_config: Path, interval: float) -> Results:
    """One of each measurement, each synth into an output directory of its own."""
    round_dir = Path(tempfile.mkdtemp(dir=scratch))
    try:
        out = round_dir / "full"
        full = expect(measure(synth_command(out), interval), "synthesized", "full synth")
        # Same inputs, same directory: this one must be recognised as a no-op by the stamp.
        noop = expect(measure(synth_command(out), interval), "up to date", "no-op synth")
        baseline = measure([PYTHON, "-c", "import cdktf_cdktf_provider_aws.vpc"], interval)
        ten_out = round_dir / "ten"
        ten = expect(measure(synth_command(ten_out, ten_env_config), interval), "synthesized", "10-env synth")
        if stack_count(ten_out) != TEN_ENVS + 1:
            raise BenchError(f"10-env synth: expected {TEN_ENVS + 1} stacks, found {stack_count(ten_out)}")
        return Results([full], [noop], [baseline], [ten])
    finally:
        shutil.rmtree(round_dir, ignore_errors=True)


# --- report ----------------------------------------------------------------------------------


def provider_import_mode() -> str:
    result = subprocess.run(
        [PYTHON, "-c", "import modules.cdk as c; print(c.PROVIDER_IMPORT)"],
        cwd=ROOT,
        env=CHILD_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"importing modules.cdk failed:\n{result.stderr}")
    return result.stdout.strip()


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def megabytes(value: float) -> str:
    return f"{value / MB:.0f} MB"


def ratio(value: float) -> str:
    return f"{value:.2f}x"


class Table:
    HEADER = ("measurement", "", "median", "min .. max", "target", "result")

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(
        self,
        name: str,
        quantity: str,
        values: list[float],
        show: Callable[[float], str],
        limit: float | None = None,
    ) -> None:
        median = statistics.median(values)
        spread = f"{show(min(values))} .. {show(max(values))}" if len(values) > 1 else ""
        target = f"<= {show(limit)}" if limit is not None else ""
        verdict = "" if limit is None else "PASS" if median <= limit else "MISS"
        self.rows.append((name, quantity, show(median), spread, target, verdict))

    def print(self) -> None:
        rows = [self.HEADER, *self.rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.HEADER))]
        right = {2, 3}  # numbers right-aligned
        previous_name = None
        for index, row in enumerate(rows):
            cells = []
            for i, cell in enumerate(row):
                if i == 0 and cell == previous_name:
                    cell = ""
                cells.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
            previous_name = row[0]
            print("  ".join(cells).rstrip())
            if index == 0:
                print("  ".join("-" * width for width in widths))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(results: Results, runs: int, mode: str, load_before: str, interval: float) -> None:
    def walls(samples: list[Sample]) -> list[float]:
        return [s.wall_s for s in samples]

    def rss(samples: list[Sample]) -> list[float]:
        return [float(s.peak_rss) for s in samples]

    table = Table()
    full = "full synth (committed config)"
    table.add(full, "wall", walls(results.full), seconds, FULL_SYNTH_MAX_S)
    table.add(full, "cpu", [s.cpu_s for s in results.full], seconds)
    table.add(full, "peak RSS", rss(results.full), megabytes, FULL_SYNTH_MAX_MB * MB)
    table.add("plain-import baseline", "wall", walls(results.baseline), seconds)
    table.add("plain-import baseline", "cpu", [s.cpu_s for s in results.baseline], seconds)
    table.add("plain-import baseline", "peak RSS", rss(results.baseline), megabytes)
    # Ratios per round (each synth against the baseline of its own round), then their median.
    time_ratios = [f.wall_s / b.wall_s for f, b in zip(results.full, results.baseline, strict=True)]
    rss_ratios = [f.peak_rss / b.peak_rss for f, b in zip(results.full, results.baseline, strict=True)]
    table.add("full synth / baseline", "wall", time_ratios, ratio, BASELINE_RATIO_MAX)
    table.add("full synth / baseline", "peak RSS", rss_ratios, ratio)
    table.add("no-op synth (stamp hit)", "wall", walls(results.noop), seconds, NOOP_MAX_S)
    table.add(f"{TEN_ENVS}-environment synth", "wall", walls(results.ten), seconds, TEN_ENVS_MAX_S)
    table.add(f"{TEN_ENVS}-environment synth", "cpu", [s.cpu_s for s in results.ten], seconds)
    table.add(f"{TEN_ENVS}-environment synth", "peak RSS", rss(results.ten), megabytes)

    usable = len(os.sched_getaffinity(0))
    print(f"synth benchmark: median of {runs} warm runs, after 1 discarded warm-up")
    print(
        f"machine:         {os.cpu_count()} cores ({usable} usable); "
        f"load average before {load_before}, after {load_average()}"
    )
    print(f"python:          {PYTHON} ({sys.version.split()[0]})")
    print(f"provider import: {mode}")
    print(
        f"peak RSS:        summed over the process tree (python + jsii node processes), "
        f"sampled every {interval * 1000:g} ms; MB = 10^6 bytes"
    )
    print()
    table.print()
    print()
    print("targets: DESIGN.md section 7; the 0.2x baseline target applies to wall time (memory: info).")
    print("cpu: user + sys of python and its jsii node processes; wall well above it means a busy machine.")
    print("performance is reported, not asserted: a MISS does not fail this command.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per figure (>= 3; default 5)")
    parser.add_argument("--interval-ms", type=float, default=10.0, help="RSS sampling interval (default 10)")
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    interval = args.interval_ms / 1000
    load_before = load_average()

    try:
        mode = provider_import_mode()
        results = Results()
        with tempfile.TemporaryDirectory(prefix="synth-bench-") as scratch_name:
            scratch = Path(scratch_name)
            ten_env_config = write_ten_env_config(scratch / "ten-env-config")
            for index in range(args.runs + 1):
                label = "warm-up" if index == 0 else f"run {index}/{args.runs}"
                print(f"[{label}]", file=sys.stderr, flush=True)
                one = run_round(scratch, ten_env_config, interval)
                if index == 0:
                    continue
                results.full += one.full
                results.noop += one.noop
                results.baseline += one.baseline
                results.ten += one.ten
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    report(results, args.runs, mode, load_before, interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
