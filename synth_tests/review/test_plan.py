"""modules/review/plan.py: reading `terraform show -json` into typed objects, and refusing what is not a plan."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from review_fixtures import DATABASE, DEV_PLAN, dev_plan_data, edited, entry

from modules.review.plan import (
    SENSITIVE,
    UNKNOWN,
    Action,
    PlanError,
    marked,
    parse_plan,
    path_text,
    read_plan,
)


def test_the_real_plan_is_read_whole() -> None:
    raw = dev_plan_data()
    plan = read_plan(DEV_PLAN)
    assert plan.terraform_version == raw["terraform_version"] and not plan.errored
    assert [c.address for c in plan.resource_changes] == [r["address"] for r in raw["resource_changes"]]
    assert Counter(c.actions for c in plan.resource_changes) == Counter(
        tuple(r["change"]["actions"]) for r in raw["resource_changes"]
    )
    assert len(plan.drift) == len(raw["resource_drift"])
    assert [o.name for o in plan.output_changes] == sorted(raw["output_changes"])


def test_a_replacement_says_what_forces_it_and_why() -> None:
    plan = read_plan(DEV_PLAN)
    database = next(c for c in plan.resource_changes if c.address == DATABASE)
    assert database.action is Action.REPLACE
    assert database.forced_by == ("engine",)
    assert database.action_reason == "replace_because_cannot_update"
    shown = {c.path: (c.before, c.after) for c in database.changes()}
    assert shown["engine"] == ("postgres", "mysql")
    # values only unknown because the instance is new (its id, its endpoint) are not listed
    assert "id" not in shown and "endpoint" not in shown


def test_unknown_values_are_shown_as_known_after_apply() -> None:
    plan = read_plan(DEV_PLAN)
    outputs = {o.name: o for o in plan.output_changes}
    # the replaced database gets a new endpoint; the plan cannot know it
    assert outputs["database_endpoint"].after == UNKNOWN
    assert outputs["database_endpoint"].before.startswith("acme-dev-db.")
    assert outputs["bucket_names"].action is Action.DELETE
    # an update whose new value is unknown says so
    data = dev_plan_data()
    found = edited(entry(data, "aws_kms_key.key_key"), ["update"], after={"description": None})
    found["change"]["after_unknown"] = {"description": True}
    data["resource_changes"] = [found]
    (change,) = parse_plan(data, Path("p.json")).resource_changes
    assert [(c.path, c.after) for c in change.changes()] == [("description", UNKNOWN)]


def test_sensitive_values_are_masked_on_both_sides() -> None:
    data = dev_plan_data()
    found = edited(
        entry(data, DATABASE), ["update"], before={"password": "old-secret"}, after={"password": "new-secret"}
    )
    found["change"]["before_sensitive"] = False  # marked on one side only: both are masked
    data["resource_changes"] = [found]
    (change,) = parse_plan(data, Path("p.json")).resource_changes
    password = next(c for c in change.changes() if c.path == "password")
    assert (password.before, password.after) == (SENSITIVE, SENSITIVE)


def test_drift_is_read_with_its_changes() -> None:
    plan = read_plan(DEV_PLAN)
    drifted = {c.address: c for c in plan.drift}
    assert drifted["aws_ecs_service.services_api_service"].changed() == ("capacity_provider_strategy",)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("prod-plan.json", "prod"), ("plan.stg.json", "stg"), ("dev_plan.json", "dev"), ("prod.json", "prod")],
)
def test_without_default_tags_the_stack_comes_from_the_file_name(name: str, expected: str) -> None:
    data = dev_plan_data()
    del data["configuration"]["provider_config"]
    plan = parse_plan(data, Path("somewhere") / name)
    assert (plan.stack, plan.stack_from) == (expected, "file name")


def test_the_stack_is_the_providers_environment_tag_whatever_the_file_is_called(tmp_path: Path) -> None:
    assert read_plan(DEV_PLAN).stack_from == "provider default_tags Environment"
    data = dev_plan_data()
    assert parse_plan(data, Path("prod-plan.json")).stack == "dev"
    del data["configuration"]["provider_config"]
    (tmp_path / "stg").mkdir()
    plan = parse_plan(data, tmp_path / "stg" / "plan.json")
    assert (plan.stack, plan.stack_from) == ("stg", "directory name")


def test_a_file_that_is_not_json_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "plan.txt"
    path.write_text("Terraform will perform the following actions:\n")
    with pytest.raises(PlanError) as error:
        read_plan(path)
    assert error.value.problems == [f"{path}: not JSON (line 1 column 1: Expecting value)"]


def test_json_that_is_not_a_plan_is_refused(tmp_path: Path) -> None:
    # the plan's own prior state is what `terraform show -json` prints for a state
    state = dev_plan_data()["prior_state"]
    for name, data, problem in (
        ("state.json", state, "not a plan: no planned_values or resource_changes"),
        ("list.json", [1, 2], "not a plan: no format_version"),
        ("v2.json", {**dev_plan_data(), "format_version": "2.0"}, "format_version 2.0 is not supported"),
    ):
        path = tmp_path / name
        path.write_text(json.dumps(data))
        with pytest.raises(PlanError) as error:
            read_plan(path)
        (line,) = error.value.problems
        assert line.startswith(f"{path}: {problem}"), line


def test_malformed_changes_are_each_one_line(tmp_path: Path) -> None:
    data = dev_plan_data()
    data["resource_changes"][3]["change"]["actions"] = ["explode"]
    del data["resource_changes"][5]["change"]
    with pytest.raises(PlanError) as error:
        parse_plan(data, Path("p.json"))
    address = data["resource_changes"][3]["address"]
    assert error.value.problems == [
        f"p.json: resource_changes[3] ({address}): unknown actions ['explode']",
        "p.json: resource_changes[5]: needs an address and change.actions",
    ]


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as error:
        read_plan(tmp_path / "absent.json")
    assert error.value.problems == [f"{tmp_path / 'absent.json'}: cannot read: No such file or directory"]


def test_paths_and_marks() -> None:
    assert path_text(("ingress", 0, "cidr_blocks")) == "ingress[0].cidr_blocks"
    marks = {"a": [{"b": True}], "c": True}
    assert marked(marks, ("a",)) and marked(marks, ("a", 0, "b")) and marked(marks, ("c", "deeper"))
    assert not marked(marks, ("d",)) and not marked({"a": [{}]}, ("a",))
