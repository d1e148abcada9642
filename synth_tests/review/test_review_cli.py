"""`python main.py review`: exit statuses, bad input through the error contract, formats, no cdktf."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import run_main
from review_fixtures import BILLING, DEV_PLAN, OPENED_INGRESS, dev_plan_data

ROOT = Path(__file__).resolve().parents[2]


def review(*args: str) -> subprocess.CompletedProcess[str]:
    return run_main("review", *args, timeout=120)


def warnings_only(tmp_path: Path) -> Path:
    """The real plan cut down to its two warnings (the ingress and the scaled-down service)."""
    data = dev_plan_data()
    data["resource_changes"] = [
        r for r in data["resource_changes"] if r["address"] in (OPENED_INGRESS, BILLING)
    ]
    path = tmp_path / "stg-plan.json"
    path.write_text(json.dumps(data))
    return path


def test_a_review_exits_0_and_prints_the_stack() -> None:
    result = review(str(DEV_PLAN))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dev: create ") and result.stderr == ""
    assert "\x1b[" not in result.stdout  # not a TTY: no colour


def test_fail_on_exits_3_when_that_severity_is_flagged(tmp_path: Path) -> None:
    assert review(str(DEV_PLAN), "--fail-on", "danger").returncode == 3
    assert review(str(DEV_PLAN), "--fail-on", "warning").returncode == 3
    only = warnings_only(tmp_path)
    assert review(str(only), "--fail-on", "danger").returncode == 0
    assert review(str(only), "--fail-on", "warning").returncode == 3


def test_several_plans_one_review_each(tmp_path: Path) -> None:
    result = review(str(DEV_PLAN), str(warnings_only(tmp_path)), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # the stack comes from the plan's provider tags, not the file name
    assert [s["stack"] for s in report["stacks"]] == ["dev", "dev"]
    assert [s["flagged"]["danger"] > 0 for s in report["stacks"]] == [True, False]


def test_bad_plans_are_one_line_each_exit_2_and_nothing_on_stdout(tmp_path: Path) -> None:
    text = tmp_path / "plan.txt"
    text.write_text("Plan: 3 to add, 0 to change, 1 to destroy.\n")
    state = tmp_path / "state.json"
    state.write_text(json.dumps(dev_plan_data()["prior_state"]))
    result = review(str(DEV_PLAN), str(text), str(state), str(tmp_path / "absent.json"))
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{text}: not JSON (line 1 column 1: Expecting value)",
        f"{state}: not a plan: no planned_values or resource_changes (a state? run show -json on a plan file)",
        f"{tmp_path / 'absent.json'}: cannot read: No such file or directory",
    ]


def test_bad_arguments_exit_2() -> None:
    for args in ((), (str(DEV_PLAN), "--format", "html"), (str(DEV_PLAN), "--fail-on", "info")):
        result = review(*args)
        assert result.returncode == 2 and result.stderr.startswith("main.py: arguments: "), args


def test_markdown_through_the_cli() -> None:
    result = review(str(DEV_PLAN), "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("### Plan review: dev") and "<details>" in result.stdout


def test_review_does_not_import_cdktf_or_pydantic() -> None:
    code = (
        "import sys, main\n"
        f"status = main.main(['review', {str(DEV_PLAN)!r}, '--format', 'markdown'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('cdktf', 'jsii', 'pydantic', 'constructs'))\n"
        "print(status, heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"},
    )
    assert result.stderr.strip().splitlines()[-1] == "0 []"
