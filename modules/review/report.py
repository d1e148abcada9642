"""One plan reviewed: the counts, what the rules flag, and the rest (folded by the renderers)."""

from __future__ import annotations

from dataclasses import dataclass

from modules.review.plan import SENSITIVE, Action, AttributeChange, OutputChange, Plan, ResourceChange
from modules.review.rules import RULES, TAG_ATTRIBUTES, Context, Rule, Severity, context_of, parse_path

# The counts a reviewer reads first, in this order.
COUNTED = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)


@dataclass(frozen=True)
class Finding:
    """A flagged change: which rule, why, which attributes, their values (masked)."""

    severity: Severity
    rule: str
    address: str
    action: Action
    reason: str
    attributes: tuple[str, ...]
    detail: str
    forced_by: tuple[str, ...]  # replace_paths: what forces a replacement
    action_reason: str  # Terraform's own word for why (replace_because_cannot_update, ...)
    values: tuple[AttributeChange, ...]  # the flagged attributes, before -> after

    @property
    def shown_values(self) -> tuple[AttributeChange, ...]:
        """The values the detail does not already spell out."""
        return tuple(v for v in self.values if f"{v.path}: " not in self.detail)

    def forces(self, value: AttributeChange) -> bool:
        return any(_within(value.path, f) for f in self.forced_by)


@dataclass(frozen=True)
class Unflagged:
    """A change no rule flags, shown folded."""

    address: str
    action: Action
    attributes: tuple[str, ...]  # top-level attributes that change
    forced_by: tuple[str, ...]
    action_reason: str

    @property
    def tags_only(self) -> bool:
        return (
            self.action is Action.UPDATE and bool(self.attributes) and set(self.attributes) <= TAG_ATTRIBUTES
        )


@dataclass(frozen=True)
class StackReview:
    plan: Plan
    counts: dict[Action, int]
    findings: tuple[Finding, ...]  # most severe first
    unflagged: tuple[Unflagged, ...]
    outputs: tuple[OutputChange, ...]  # changed outputs only
    drift: tuple[Unflagged, ...]  # what changed outside Terraform since the last apply

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def tags_only(self) -> int:
        return sum(1 for u in self.unflagged if u.tags_only)

    def fails(self, at_least: Severity) -> bool:
        return any(f.severity.rank >= at_least.rank for f in self.findings)


def review(plan: Plan, rules: tuple[Rule, ...] = RULES) -> StackReview:
    context = context_of(plan)
    changes = [c for c in plan.managed() if c.action not in (Action.NO_OP, Action.READ)]
    findings: list[Finding] = []
    unflagged: list[Unflagged] = []
    for change in changes:
        found = [f for rule in rules if rule.applies_to(change) and (f := _finding(rule, change, context))]
        findings += found
        if not found:
            unflagged.append(_unflagged(change))
    findings.sort(key=lambda f: (-f.severity.rank, f.address, f.rule))
    return StackReview(
        plan=plan,
        counts={a: sum(1 for c in changes if c.action is a) for a in COUNTED},
        findings=tuple(findings),
        unflagged=tuple(sorted(unflagged, key=lambda u: (u.tags_only, u.address))),
        outputs=tuple(o for o in plan.output_changes if o.action is not Action.NO_OP),
        # Terraform also reports drift that is only null becoming "" or []: nothing to read
        drift=tuple(_unflagged(c) for c in plan.drift if c.action is not Action.NO_OP and c.changed()),
    )


def _finding(rule: Rule, change: ResourceChange, context: Context) -> Finding | None:
    hit = rule.check(change, context)
    if hit is None:
        return None
    detail = hit.detail
    # the checks mask what they show; this is the second lock on the same door
    if any(change.sensitive(*parse_path(a)) for a in hit.attributes):
        detail = f"{', '.join(hit.attributes)}: {SENSITIVE}"
    return Finding(
        severity=rule.severity,
        rule=rule.id,
        address=change.address,
        action=change.action,
        reason=rule.reason,
        attributes=hit.attributes,
        detail=detail,
        forced_by=change.forced_by,
        action_reason=change.action_reason,
        values=tuple(v for v in change.changes() if any(_within(v.path, a) for a in hit.attributes)),
    )


def _within(path: str, attribute: str) -> bool:
    return path == attribute or path.startswith((f"{attribute}.", f"{attribute}["))


def _unflagged(change: ResourceChange) -> Unflagged:
    return Unflagged(change.address, change.action, change.changed(), change.forced_by, change.action_reason)
