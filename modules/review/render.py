"""Reviews as text (terminals; colour only when asked, i.e. on a TTY), markdown (a pull-request
comment, through review.md.j2) or JSON (machines). Every value shown is already masked or marked
unknown by the plan objects; nothing here reads a raw value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modules.review.plan import Action
from modules.review.report import COUNTED, Finding, StackReview, Unflagged
from modules.review.rules import Severity

FORMATS = ("text", "markdown", "json")
TEMPLATES = Path(__file__).resolve().parent

_COLOURS = {Severity.DANGER: "\033[1;31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[2m"}
_RESET = "\033[0m"


def render(reviews: list[StackReview], fmt: str, *, colour: bool = False) -> str:
    if fmt == "json":
        return (
            json.dumps({"stacks": [as_json(r) for r in reviews], "highest": highest(reviews)}, indent=2)
            + "\n"
        )
    if fmt == "markdown":
        return markdown(reviews)
    if fmt == "text":
        return "\n".join(text(r, colour=colour) for r in reviews)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def highest(reviews: list[StackReview]) -> str | None:
    """The most severe flag across all stacks ("danger", "warning"), None when nothing is flagged."""
    found = [f.severity for r in reviews for f in r.findings]
    return max(found, key=lambda s: s.rank).value if found else None


# --- JSON --------------------------------------------------------------------------------------


def as_json(review: StackReview) -> dict[str, Any]:
    plan = review.plan
    return {
        "stack": plan.stack,
        "stack_from": plan.stack_from,
        "file": str(plan.source),
        "terraform_version": plan.terraform_version,
        "errored": plan.errored,
        "counts": {a.value: review.counts[a] for a in COUNTED},
        "flagged": {s.value: review.count(s) for s in (Severity.DANGER, Severity.WARNING)},
        "findings": [_finding_json(f) for f in review.findings],
        "not_flagged": [_unflagged_json(u) for u in review.unflagged],
        "tags_only": review.tags_only,
        "outputs": [
            {"name": o.name, "action": o.action.value, "before": o.before, "after": o.after}
            for o in review.outputs
        ],
        "drift": [_unflagged_json(u) for u in review.drift],
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "severity": finding.severity.value,
        "rule": finding.rule,
        "address": finding.address,
        "action": finding.action.value,
        "reason": finding.reason,
        "attributes": list(finding.attributes),
        "detail": finding.detail,
        "forced_by": list(finding.forced_by),
        "action_reason": finding.action_reason,
        "values": [{"attribute": v.path, "before": v.before, "after": v.after} for v in finding.values],
    }


def _unflagged_json(change: Unflagged) -> dict[str, Any]:
    return {
        "address": change.address,
        "action": change.action.value,
        "attributes": list(change.attributes),
        "forced_by": list(change.forced_by),
        "action_reason": change.action_reason,
        "tags_only": change.tags_only,
    }


# --- text --------------------------------------------------------------------------------------


def _paint(text: str, severity: Severity, colour: bool) -> str:
    return f"{_COLOURS[severity]}{text}{_RESET}" if colour else text


def counts_line(review: StackReview) -> str:
    return ", ".join(f"{a.value} {review.counts[a]}" for a in COUNTED)


def text(review: StackReview, *, colour: bool = False) -> str:
    plan = review.plan
    lines = [
        f"{plan.stack}: {counts_line(review)}",
        f"  {plan.source} (stack from {plan.stack_from}; Terraform {plan.terraform_version or 'unknown'})",
    ]
    if plan.errored:
        lines.append(_paint("  the plan errored: these changes are incomplete", Severity.DANGER, colour))
    for f in review.findings:
        label = _paint(f"{f.severity.value.upper():8}", f.severity, colour)
        lines.append(f"  {label}{f.action.value} {f.address}")
        lines.append(f"          {f.reason}")
        if f.detail:
            lines.append(f"          {f.detail}")
        lines += [
            f"          {v.path}: {v.before} -> {v.after}{' (forces replacement)' if f.forces(v) else ''}"
            for v in f.shown_values
        ]
        if f.action_reason:
            lines.append(f"          Terraform: {f.action_reason}")
    if not review.findings:
        lines.append("  nothing flagged")
    if review.unflagged:
        tags = f"; {review.tags_only} tag-only" if review.tags_only else ""
        lines.append(_paint(f"  not flagged: {len(review.unflagged)}{tags}", Severity.INFO, colour))
        lines += [f"    {_change_line(u)}" for u in review.unflagged]
    if review.outputs:
        lines.append("  outputs:")
        lines += [f"    {o.action.value} {o.name}: {o.before} -> {o.after}" for o in review.outputs]
    if review.drift:
        lines.append("  drift (changed outside Terraform since the last apply):")
        lines += [f"    {_change_line(d)}" for d in review.drift]
    return "\n".join(lines) + "\n"


def _change_line(change: Unflagged) -> str:
    line = f"{change.action.value} {change.address}"
    if change.attributes:
        line += f" [{', '.join(change.attributes)}]"
    if change.forced_by:
        line += f" (forced by {', '.join(change.forced_by)})"
    return line


# --- markdown ----------------------------------------------------------------------------------


def _code(value: str) -> str:
    """Inline code that survives backticks in the value (a longer fence, padded)."""
    fence = "`"
    while fence in value:
        fence += "`"
    padded = f" {value} " if value.startswith("`") or value.endswith("`") else value
    return f"{fence}{padded}{fence}"


def markdown(reviews: list[StackReview]) -> str:
    from modules.core.markdown import table_cell, templates

    jinja = templates(TEMPLATES, {"code": _code, "cell": table_cell})
    return jinja.get_template("review.md.j2").render(
        reviews=reviews, counted=COUNTED, Severity=Severity, Action=Action, change_line=_change_line
    )
