"""Plan review: `terraform show -json` plans in, risky changes flagged, as text, markdown or JSON.

plan.py reads a plan into typed objects (sensitive values masked on the way out), rules.py is the
one table of what is flagged and why, report.py applies it to a plan, render.py and review.md.j2
write the result. Imports neither cdktf nor pydantic: a plan review needs only the plan.
"""

from modules.review.plan import Plan, PlanError, read_plan
from modules.review.render import FORMATS, render
from modules.review.report import Finding, StackReview, review
from modules.review.rules import RULES, Rule, Severity

__all__ = [
    "FORMATS",
    "RULES",
    "Finding",
    "Plan",
    "PlanError",
    "Rule",
    "Severity",
    "StackReview",
    "read_plan",
    "render",
    "review",
]
