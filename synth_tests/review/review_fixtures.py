"""The committed plan fixture, and real changes from it edited into the case a test needs.

fixtures/dev-plan.json is what `terraform show -json` wrote for a changed dev config planned
against the applied dev stack in moto (synth_tests/verification/test_emulator.py, TestDevStack;
regenerate with `UPDATE_PLAN_FIXTURES=1 .venv/bin/python -m pytest
synth_tests/verification/test_emulator.py -k TestDevStack`). Cases the plan does not hold (a key
policy, a loosened public access block) start from a real change of that resource type and edit
its values, so every shape a rule sees is one Terraform wrote.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from modules.review.plan import Plan, parse_plan
from modules.review.rules import parse_path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEV_PLAN = FIXTURES / "dev-plan.json"

DATABASE = "aws_db_instance.database_instance"
UPLOADS = "aws_s3_bucket.buckets_uploads_bucket"
OPENED_INGRESS = "aws_vpc_security_group_ingress_rule.review_ssh_from_ipv4_any"
BILLING = "aws_ecs_service.services_billing_service"


@cache
def _text() -> str:
    return DEV_PLAN.read_text()


def dev_plan_data() -> dict[str, Any]:
    """A fresh copy of the fixture's JSON, free to edit."""
    return json.loads(_text())


def entry(data: dict[str, Any], address: str) -> dict[str, Any]:
    """The resource_changes entry of `address` (a copy)."""
    (found,) = [r for r in data["resource_changes"] if r["address"] == address]
    return copy.deepcopy(found)


def set_at(value: Any, path: str, new: Any) -> None:
    *parents, last = parse_path(path)
    for key in parents:
        value = value[key]
    value[last] = new


def edited(
    found: dict[str, Any],
    actions: list[str] | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A copy of a resource change with new actions and values set at paths ("rule[0].days")."""
    found = copy.deepcopy(found)
    change = found["change"]
    if actions is not None:
        change["actions"] = actions
    for side, edits in (("before", before or {}), ("after", after or {})):
        for path, value in edits.items():
            set_at(change[side], path, value)
    found.update(top)
    return found


def created(found: dict[str, Any], **after: Any) -> dict[str, Any]:
    """A real change turned into the create of the same object (no before), values edited."""
    found = edited(found, ["create"], after=after)
    found["change"]["before"] = None
    found["change"]["before_sensitive"] = False
    return found


def plan_of(
    *entries: dict[str, Any],
    keep_context: bool = True,
    name: str = "dev-plan.json",
    references: dict[tuple[str, str], list[str]] | None = None,
) -> Plan:
    """The fixture plan with only `entries` as resource changes.

    keep_context: keep the fixture's other changes as no-ops (what rules learn from the rest of the
    plan, like the public load balancer's listener ports), minus any entry's own address.
    references: {(address, attribute): what its configuration expression now references}.
    """
    data = dev_plan_data()
    for resource in data["configuration"]["root_module"]["resources"]:
        for (address, attribute), named in (references or {}).items():
            if resource["address"] == address:
                resource["expressions"][attribute] = {"references": named}
    ours = {e["address"] for e in entries}
    kept = []
    if keep_context:
        for other in data["resource_changes"]:
            if other["address"] in ours or other["change"]["before"] is None:
                continue
            change = other["change"]
            change["actions"] = ["no-op"]
            change["after"] = change["before"]
            change["after_unknown"] = {}
            change.pop("replace_paths", None)
            kept.append(other)
    data["resource_changes"] = kept + list(entries)
    data["resource_drift"] = []
    return parse_plan(data, Path(name))
