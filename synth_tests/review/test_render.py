"""modules/review/render.py and review.md.j2: text, markdown and JSON of real reviews; masking in all three."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from review_fixtures import BILLING, DATABASE, DEV_PLAN, OPENED_INGRESS, UPLOADS, dev_plan_data, edited, entry

from modules.review import FORMATS, Severity, read_plan, render, review
from modules.review.plan import SENSITIVE, parse_plan
from modules.review.report import COUNTED

ANSI = re.compile(r"\x1b\[[0-9;]*m")
FLAGGED = (Severity.DANGER, Severity.WARNING)


@pytest.fixture(scope="module")
def dev_review():
    return review(read_plan(DEV_PLAN))


def test_text_has_the_counts_every_flag_and_the_rest(dev_review) -> None:
    out = render([dev_review], "text")
    counts = dev_review.counts
    assert out.splitlines()[0] == "dev: " + ", ".join(f"{a.value} {counts[a]}" for a in COUNTED)
    for finding in dev_review.findings:
        assert f"{finding.severity.value.upper():8}{finding.action.value} {finding.address}" in out
    assert "engine: postgres -> mysql (forces replacement)" in out
    assert "Terraform: replace_because_cannot_update" in out
    assert f"not flagged: {len(dev_review.unflagged)}" in out
    assert not ANSI.search(out)
    coloured = render([dev_review], "text", colour=True)
    assert "\x1b[1;31mDANGER" in coloured and ANSI.sub("", coloured) == out


def test_flagged_changes_come_first_most_severe_first(dev_review) -> None:
    ranks = [f.severity.rank for f in dev_review.findings]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] == 2
    out = render([dev_review], "text")
    assert out.index("DANGER") < out.index("WARNING") < out.index("not flagged")


def test_markdown_is_a_pull_request_comment(dev_review) -> None:
    out = render([dev_review], "markdown")
    assert out.startswith("### Plan review: dev\n")
    header, rule, row = [line for line in out.splitlines() if line.startswith("|")][:3]
    assert header == "| create | update | replace | delete | danger | warning |"
    numbers = [dev_review.counts[a] for a in COUNTED] + [dev_review.count(s) for s in FLAGGED]
    assert rule == "|---:|---:|---:|---:|---:|---:|"
    assert row == "| " + " | ".join(str(n) for n in numbers) + " |"
    assert f"- **DANGER** replace `{DATABASE}`" in out
    assert "  - `engine`: `postgres` → `mysql` (forces replacement)" in out
    assert f"- **WARNING** create `{OPENED_INGRESS}`" in out
    # the rest is folded, every unflagged change in it
    folded = out[out.index("<details><summary>Not flagged") : out.index("</details>")]
    assert all(f"`{u.address}`" in folded for u in dev_review.unflagged)
    assert not any(f"`{f.address}`" in folded for f in dev_review.findings)


def test_json_is_for_machines(dev_review) -> None:
    report = json.loads(render([dev_review], "json"))
    assert report["highest"] == "danger"
    (stack,) = report["stacks"]
    assert stack["stack"] == "dev" and stack["counts"] == {a.value: dev_review.counts[a] for a in COUNTED}
    assert stack["flagged"] == {s.value: dev_review.count(s) for s in FLAGGED}
    assert stack["flagged"]["danger"] >= 2 and stack["flagged"]["warning"] >= 2
    flagged = {(f["address"], f["rule"]) for f in stack["findings"]}
    assert {(DATABASE, "deletes-data"), (UPLOADS, "deletes-data"), (BILLING, "scaled-to-zero")} <= flagged
    database = next(f for f in stack["findings"] if f["address"] == DATABASE)
    assert database["forced_by"] == ["engine"]
    assert database["values"] == [{"attribute": "engine", "before": "postgres", "after": "mysql"}]


def test_rendering_is_deterministic(dev_review) -> None:
    for fmt in FORMATS:
        assert render([dev_review], fmt) == render([review(read_plan(DEV_PLAN))], fmt)


SECRETS = ("hunter2-before", "hunter2-after", "s3cr3t-output", "s3cr3t-retention")


def secret_plan():
    """The real plan's database, updated with values in its sensitive `password`, a retention
    marked sensitive that drops to 0 (flagged), and a sensitive output: nothing of them may show."""
    data = dev_plan_data()
    database = edited(entry(data, DATABASE), ["update"])
    change = database["change"]
    change["after"] = json.loads(json.dumps(change["before"]))
    change["after_unknown"] = {}
    change.pop("replace_paths")
    change["before"]["password"], change["after"]["password"] = SECRETS[:2]
    change["before"]["backup_retention_period"] = 7
    change["after"]["backup_retention_period"] = 0
    change["before_sensitive"]["backup_retention_period"] = True
    data["resource_changes"] = [database]
    data["output_changes"]["token"] = {
        "actions": ["update"],
        "before": SECRETS[2],
        "after": SECRETS[2] + "-new",
        "after_unknown": False,
        "before_sensitive": True,
        "after_sensitive": True,
    }
    return review(parse_plan(data, Path("dev-plan.json")))


@pytest.mark.parametrize("fmt", FORMATS)
def test_sensitive_values_are_masked_in_every_format(fmt: str) -> None:
    result = secret_plan()
    (finding,) = result.findings
    assert finding.rule == "backups-off"  # the sensitive attribute is the one flagged
    out = render([result], fmt)
    assert not [s for s in (*SECRETS, "7 -> 0") if s in out]
    assert SENSITIVE in out
    assert "backup_retention_period" in out  # the change itself is not hidden, only its values
