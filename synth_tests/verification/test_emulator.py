"""Tier 4: the synthesized stacks applied against a moto server, re-planned, and destroyed.

The harness is synth_tests/emulator.py; what moto cannot do is listed, with reasons, in
synth_tests/verification/emulator_profile.toml. The unit tests at the bottom need neither moto nor terraform.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator import (
    BACKEND_CONFIG_FILE,
    DEAD_PROXY,
    ENDPOINT_SERVICES,
    LIFT_OVERRIDE_FILE,
    OVERRIDE_FILE,
    PROFILE_PATH,
    PROTECTION_ATTRIBUTES,
    Change,
    EmulatorStack,
    MotoServer,
    Profile,
    ProfileError,
    bucket_policy_suspended,
    empty_versioned_bucket,
    generated_addresses,
    load_profile,
    moto_server,
    parse_plan_changes,
    parse_profile,
    protection_lift_override,
    provider_aliases,
    provider_override,
    s3_backend_emulator_config,
    strip_excluded,
    unexpected_changes,
)

emulator = pytest.mark.emulator


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


def stack_json(out: Path, name: str) -> dict[str, Any]:
    return json.loads((out / "stacks" / name / "cdk.tf.json").read_text())


def assert_replans_clean(stack: EmulatorStack) -> None:
    replan = stack.replan()
    assert replan.exit_code in (0, 2)
    assert replan.clean, (
        f"{stack.name}: re-plan after apply is not clean (exit {replan.exit_code}); changes not in "
        f"emulator_profile.toml [[allow_diff]]:\n  " + "\n  ".join(str(c) for c in replan.unexpected)
    )


# ---------------------------------------------------------------------------------------------
# bootstrap: apply, re-plan, the dev stack's S3 backend against it, lift protections, destroy
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def bootstrap(
    fresh_synth: Path, terraform_cli_config: Path, profile: Profile, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorStack]:
    """The bootstrap stack applied, as generated, to its own moto server (stopped afterwards)."""
    tmp = tmp_path_factory.mktemp("emulator-bootstrap")
    with moto_server(tmp / "logs") as server:
        stack = EmulatorStack(
            fresh_synth / "stacks" / "bootstrap", tmp / "stacks", terraform_cli_config, server, profile
        )
        stack.init()
        stack.apply()
        yield stack


@emulator
class TestBootstrapStack:
    """In order: the last test destroys what the first applied."""

    def test_applies_everything_and_replans_clean(self, bootstrap: EmulatorStack, fresh_synth: Path) -> None:
        generated = generated_addresses(stack_json(fresh_synth, "bootstrap"))
        assert sorted(bootstrap.state_addresses()) == sorted(set(generated) - set(bootstrap.removed))
        assert_replans_clean(bootstrap)

    def test_dev_stack_s3_backend_writes_state_and_locks(
        self,
        bootstrap: EmulatorStack,
        fresh_synth: Path,
        terraform_cli_config: Path,
        profile: Profile,
        tmp_path: Path,
    ) -> None:
        server = bootstrap.server
        outputs = json.loads(bootstrap.run("output", "-json").stdout)
        backend = stack_json(fresh_synth, "dev")["terraform"]["backend"]["s3"]
        # the environment stacks' backend names what bootstrap created
        assert backend["bucket"] == outputs["state_bucket"]["value"]
        assert backend["dynamodb_table"] == outputs["lock_table"]["value"]
        bucket, key, table = backend["bucket"], backend["key"], backend["dynamodb_table"]
        assert key == "dev/terraform.tfstate"

        dev = EmulatorStack(
            fresh_synth / "stacks" / "dev",
            tmp_path,
            terraform_cli_config,
            server,
            profile,
            local_backend=False,
        )
        (dev.workdir / BACKEND_CONFIG_FILE).write_text(s3_backend_emulator_config(server.url))
        s3, dynamodb = server.boto3_client("s3"), server.boto3_client("dynamodb")
        lock_id = f"{bucket}/{key}"

        with bucket_policy_suspended(server, bucket, profile):
            try:
                dev.init(f"-backend-config={BACKEND_CONFIG_FILE}")

                # someone else holds the lock: terraform must look in the table and refuse to go on
                held = {
                    "ID": "emulator-test",
                    "Operation": "OperationTypeApply",
                    "Who": "pytest",
                    "Path": lock_id,
                }
                dynamodb.put_item(
                    TableName=table, Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(held)}}
                )
                blocked = dev.tf.run("plan", "-lock-timeout=0s", "-input=false", "-no-color")
                assert blocked.returncode == 1 and "Error acquiring the state lock" in blocked.stderr, (
                    blocked.stderr
                )
                assert "emulator-test" in blocked.stderr
                dynamodb.delete_item(TableName=table, Key={"LockID": {"S": lock_id}})

                # a state written through the backend: locked, stored encrypted, digest kept, unlocked
                probe = {
                    "version": 4,
                    "terraform_version": dev.terraform_version(),
                    "serial": 1,
                    "lineage": "00000000-0000-0000-0000-000000000000",  # the backend assigns its own
                    "outputs": {"probe": {"value": "written through the s3 backend", "type": "string"}},
                    "resources": [],
                }
                (dev.workdir / "probe.tfstate").write_text(json.dumps(probe))
                dev.run("state", "push", "probe.tfstate")

                head = s3.head_object(Bucket=bucket, Key=key)
                assert head["ServerSideEncryption"] == "aws:kms"
                assert head["SSEKMSKeyId"] == backend["kms_key_id"]
                digest = dynamodb.get_item(TableName=table, Key={"LockID": {"S": f"{lock_id}-md5"}}).get(
                    "Item"
                )
                assert digest is not None, "no state digest in the lock table: DynamoDB was not used"
                assert digest["Digest"]["S"] == head["ETag"].strip('"')
                assert "Item" not in dynamodb.get_item(TableName=table, Key={"LockID": {"S": lock_id}}), (
                    "lock kept"
                )
                # read back through the backend, which checks the digest
                pulled = json.loads(dev.run("state", "pull").stdout)
                assert pulled["outputs"]["probe"]["value"] == "written through the s3 backend"
            finally:
                # versioned, no force_destroy: empty it so the bootstrap destroy can delete it
                empty_versioned_bucket(server, bucket)

    def test_lifting_protections_is_an_in_place_update_then_destroys(self, bootstrap: EmulatorStack) -> None:
        blocked = bootstrap.tf.run("plan", "-destroy", "-input=false", "-no-color")
        assert blocked.returncode == 1 and "prevent_destroy" in blocked.stderr, "state bucket not protected"

        lift = bootstrap.lift_protections()
        assert lift, "bootstrap has prevent_destroy and deletion protection to lift"
        expected = {
            f"{rtype}.{name}": tuple(sorted(a for a in body if a in PROTECTION_ATTRIBUTES))
            for rtype, items in lift["resource"].items()
            for name, body in items.items()
            if any(a in PROTECTION_ATTRIBUTES for a in body)
        }
        # nothing else may change: this also proves the backend test left the bucket policy as it was
        changes = bootstrap.plan_changes(plan_file="lift.tfplan")
        assert {c.address: c.attributes for c in changes} == expected
        assert all(c.actions == ("update",) for c in changes), [str(c) for c in changes]
        bootstrap.run("apply", "-input=false", "lift.tfplan")

        bootstrap.destroy()
        assert bootstrap.state_addresses() == []


# ---------------------------------------------------------------------------------------------
# dev: apply, re-plan, destroy
# ---------------------------------------------------------------------------------------------


@emulator
def test_dev_stack_applies_replans_clean_and_destroys(
    fresh_synth: Path, terraform_cli_config: Path, profile: Profile, tmp_path: Path
) -> None:
    with moto_server(tmp_path / "logs") as server:
        stack = EmulatorStack(
            fresh_synth / "stacks" / "dev", tmp_path / "stacks", terraform_cli_config, server, profile
        )
        stack.init()
        stack.apply()
        generated = generated_addresses(stack_json(fresh_synth, "dev"))
        assert sorted(stack.state_addresses()) == sorted(set(generated) - set(stack.removed))
        assert_replans_clean(stack)
        stack.destroy()
        assert stack.state_addresses() == []


@emulator
def test_profile_entries_match_the_generated_stacks(fresh_synth: Path, profile: Profile) -> None:
    """A "needed" exclusion must still match something; a "known-gap" one must not match yet."""
    addresses = [
        a
        for d in sorted((fresh_synth / "stacks").iterdir())
        for a in generated_addresses(stack_json(fresh_synth, d.name))
    ]
    for exclusion in profile.exclusions:
        hits = [a for a in addresses if exclusion.matches(a)]
        if exclusion.status == "needed":
            assert hits, f"{exclusion.label}: no generated stack has it any more; delete the entry"
        else:
            assert not hits, (
                f"{exclusion.label}: now generated ({hits[0]}); re-check against moto, promote or delete"
            )


# ---------------------------------------------------------------------------------------------
# Unit: the profile, the scratch-copy edits and the plan reading (no moto, no terraform)
# ---------------------------------------------------------------------------------------------


def test_the_committed_profile_loads_and_every_entry_has_a_reason() -> None:
    loaded = load_profile(PROFILE_PATH)
    assert loaded.exclusions, "the known gaps from DESIGN.md are listed"
    assert all(e.reason.strip() and e.status in ("needed", "known-gap") for e in loaded.exclusions)
    assert all(a.reason.strip() for a in loaded.allowed_diffs + loaded.object_io_suspensions)
    assert loaded.excluded("aws_appautoscaling_target.service-web") is not None


def test_profile_problems_are_all_reported_at_once() -> None:
    with pytest.raises(ProfileError) as error:
        parse_profile(
            {
                "exclude": [
                    {"type": "aws_x", "status": "needed"},
                    {"type": "aws_y", "address": "aws_y.a", "status": "maybe", "reason": "r"},
                    {"type": "not_a_type", "status": "needed", "reason": "r", "why": "typo"},
                ],
                "allow_diff": [
                    {"type": "aws_z", "attribute": "tags", "reason": " "},
                    {"type": "aws_z", "attribute": "id", "reason": "r", "forces_replacement": "yes"},
                ],
                "suspend_for_object_io": [{"type": "aws_kms_key", "reason": "r"}],
                "exlcude": [],
            }
        )
    lines = str(error.value).splitlines()
    assert "emulator_profile.toml: unknown table 'exlcude'" in lines
    assert "emulator_profile.toml: exclude[0]: missing 'reason'" in lines
    assert "emulator_profile.toml: exclude[1]: needs exactly one of 'type' or 'address'" in lines
    assert "emulator_profile.toml: exclude[1]: status must be one of needed, known-gap" in lines
    assert "emulator_profile.toml: exclude[2]: unknown key 'why'" in lines
    assert "emulator_profile.toml: exclude[2]: 'not_a_type' is not an aws_* resource type" in lines
    assert "emulator_profile.toml: allow_diff[0]: 'reason' must be a non-empty string" in lines
    assert "emulator_profile.toml: allow_diff[1]: 'forces_replacement' must be true or false" in lines
    assert (
        "emulator_profile.toml: suspend_for_object_io[0]: the harness can only suspend aws_s3_bucket_policy"
        in lines
    )


def test_duplicate_profile_entries_are_rejected() -> None:
    entry = {"type": "aws_x", "status": "known-gap", "reason": "r"}
    with pytest.raises(ProfileError, match="'aws_x' is listed twice"):
        parse_profile({"exclude": [entry, dict(entry)]})


STACK = {
    "resource": {
        "aws_appautoscaling_target": {"web": {"resource_id": "service/c/web"}},
        "aws_appautoscaling_policy": {
            "web-cpu": {"resource_id": "${aws_appautoscaling_target.web.resource_id}"}
        },
        "aws_cloudwatch_metric_alarm": {
            "web-cpu": {"alarm_actions": ["${aws_appautoscaling_policy.web-cpu.arn}"]},
            "unrelated": {"alarm_name": "x"},
        },
        "aws_ecs_service": {"web": {"name": "web"}},
        "aws_sns_topic": {"after": {"depends_on": ["aws_appautoscaling_target.web"]}},
    },
    "output": {
        "policy": {"value": "${aws_appautoscaling_policy.web-cpu.arn}"},
        "service": {"value": "${aws_ecs_service.web.name}"},
    },
}
PROFILE = parse_profile(
    {
        "exclude": [
            {"type": "aws_appautoscaling_target", "status": "known-gap", "reason": "hangs"},
            {"address": "aws_ecs_service.nothing", "status": "needed", "reason": "r"},
        ]
    }
)


def test_strip_excluded_removes_exclusions_and_everything_referring_to_them() -> None:
    stripped, removed = strip_excluded(STACK, PROFILE)
    assert removed == {
        "aws_appautoscaling_target.web": "excluded: hangs",
        "aws_appautoscaling_policy.web-cpu": "references aws_appautoscaling_target.web",
        "aws_sns_topic.after": "references aws_appautoscaling_target.web",
        "aws_cloudwatch_metric_alarm.web-cpu": "references aws_appautoscaling_policy.web-cpu",
        "output.policy": "references aws_appautoscaling_policy.web-cpu",
    }
    assert stripped["resource"] == {
        "aws_cloudwatch_metric_alarm": {"unrelated": {"alarm_name": "x"}},
        "aws_ecs_service": {"web": {"name": "web"}},
    }
    assert list(stripped["output"]) == ["service"]
    assert "aws_appautoscaling_target" in STACK["resource"], "the input is not modified"


def test_strip_excluded_matches_by_address_and_leaves_the_rest_alone() -> None:
    by_address = parse_profile(
        {"exclude": [{"address": "aws_ecs_service.web", "status": "needed", "reason": "r"}]}
    )
    stripped, removed = strip_excluded(STACK, by_address)
    assert removed == {
        "aws_ecs_service.web": "excluded: r",
        "output.service": "references aws_ecs_service.web",
    }
    assert stripped["resource"]["aws_appautoscaling_target"] == STACK["resource"]["aws_appautoscaling_target"]
    assert strip_excluded(STACK, Profile()) == (STACK, {})


def test_provider_override_points_every_endpoint_at_the_emulator_and_keeps_the_account_guard() -> None:
    override = provider_override("http://127.0.0.1:4566")
    (aws,) = override["provider"]["aws"]
    assert aws["endpoints"] == [{s: "http://127.0.0.1:4566" for s in ENDPOINT_SERVICES}]
    assert {"dynamodb", "ec2", "iam", "kms", "logs", "s3", "sts"} <= set(ENDPOINT_SERVICES)
    assert aws["skip_credentials_validation"] is True and aws["skip_metadata_api_check"] is True
    assert aws["s3_use_path_style"] is True
    # sts must answer so the generated allowed_account_ids is checked; neither is overridden
    assert "skip_requesting_account_id" not in aws and "allowed_account_ids" not in aws
    assert "region" not in aws and "default_tags" not in aws
    assert aws["https_proxy"] == DEAD_PROXY and aws["no_proxy"] == "127.0.0.1"
    assert override["terraform"] == {"backend": {"local": {"path": "terraform.tfstate"}}}
    assert "terraform" not in provider_override("http://127.0.0.1:4566", local_backend=False)
    assert OVERRIDE_FILE.endswith("_override.tf.json") and LIFT_OVERRIDE_FILE.endswith("_override.tf.json")


def test_provider_override_covers_every_aliased_provider_block() -> None:
    stack = {"provider": {"aws": [{"region": "eu-west-1"}, {"alias": "us-east-1", "region": "us-east-1"}]}}
    assert provider_aliases(stack) == (None, "us-east-1")
    assert provider_aliases({}) == (None,)
    blocks = provider_override("http://127.0.0.1:1", aliases=provider_aliases(stack))["provider"]["aws"]
    assert [b.get("alias") for b in blocks] == [None, "us-east-1"]
    assert all(b["endpoints"] == blocks[0]["endpoints"] and "region" not in b for b in blocks)


def test_s3_backend_config_only_adds_connection_settings() -> None:
    text = s3_backend_emulator_config("http://127.0.0.1:4566")
    assert 'endpoints = { s3 = "http://127.0.0.1:4566", dynamodb = "http://127.0.0.1:4566"' in text
    assert "use_path_style = true" in text and "skip_requesting_account_id = true" in text
    settings = {line.split("=", 1)[0].strip() for line in text.splitlines()}
    assert not settings & {"bucket", "key", "region", "encrypt", "kms_key_id", "dynamodb_table"}


def test_protection_lift_override_names_only_protected_resources() -> None:
    stack = {
        "resource": {
            "aws_s3_bucket": {
                "state": {"bucket": "b", "lifecycle": {"prevent_destroy": True}},
                "logs": {"bucket": "l"},
            },
            "aws_dynamodb_table": {"lock": {"deletion_protection_enabled": True}},
            "aws_db_instance": {"db": {"deletion_protection": False}},
            "aws_lb": {"alb": {"enable_deletion_protection": True}},
        }
    }
    assert protection_lift_override(stack) == {
        "resource": {
            "aws_s3_bucket": {"state": {"lifecycle": {"prevent_destroy": False}}},
            "aws_dynamodb_table": {"lock": {"deletion_protection_enabled": False}},
            "aws_lb": {"alb": {"enable_deletion_protection": False}},
        }
    }
    assert protection_lift_override({"resource": {"aws_vpc": {"v": {}}}}) == {}


def plan_change(
    address: str, actions: list[str], before: Any, after: Any, unknown: Any = None, **extra: Any
) -> dict:
    change = {"actions": actions, "before": before, "after": after, "after_unknown": unknown or {}, **extra}
    return {"address": address, "type": address.split(".")[0], "change": change}


def test_plan_changes_are_read_from_show_json() -> None:
    plan = {
        "resource_changes": [
            plan_change("aws_vpc.v", ["no-op"], {"id": "v"}, {"id": "v"}),
            plan_change(
                "aws_s3_bucket.b", ["update"], {"tags": {}, "id": "b"}, {"tags": {"a": "1"}, "id": "b"}
            ),
            # nested after_unknown shapes without a `true` leaf are not unknowns
            plan_change("aws_kms_key.k", ["update"], {"p": [1]}, {"p": [1]}, {"arn": True, "p": [{}]}),
            plan_change(
                "aws_ecs_service.s",
                ["delete", "create"],
                {"id": "s", "cps": [], "exec": False, "lb": [{"a": 1}]},
                {"id": None, "cps": [{"w": 1}], "exec": True, "lb": [{"a": 1}]},
                {"id": True, "cps": [{}], "lb": [{}]},
                replace_paths=[["cps"]],
            ),
            plan_change("aws_subnet.s", ["create"], None, {"id": None}, {"id": True}),
        ],
        "output_changes": {"vpc_id": {"actions": ["no-op"]}, "arn": {"actions": ["update"]}},
    }
    assert [str(c) for c in parse_plan_changes(plan)] == [
        "update aws_s3_bucket.b [tags]",
        "update aws_kms_key.k [arn]",
        "delete/create aws_ecs_service.s [cps, exec] (forced by cps)",
        "create aws_subnet.s",
        "update output.arn",
    ]


def test_only_allowlisted_updates_and_allowlisted_replacements_are_forgiven() -> None:
    def change(
        actions: tuple[str, ...], attributes: tuple[str, ...], forced_by: tuple[str, ...] = ()
    ) -> Change:
        return Change("aws_ecs_service.s", "aws_ecs_service", actions, attributes, forced_by)

    allow = parse_profile(
        {
            "allow_diff": [
                {"type": "aws_ecs_service", "attribute": "cps", "reason": "r", "forces_replacement": True},
                {"type": "aws_ecs_service", "attribute": "exec", "reason": "r"},
            ]
        }
    )
    forgiven = [
        change(("update",), ("exec",)),
        change(("update",), ("cps", "exec")),
        change(("delete", "create"), ("cps", "exec"), ("cps",)),
        change(("create", "delete"), ("cps",), ("cps",)),
    ]
    not_forgiven = [
        change(("update",), ()),
        change(("update",), ("exec", "task_definition")),
        change(("delete", "create"), ("exec",), ("exec",)),  # exec may differ, not force a replacement
        change(("delete", "create"), ("cps", "task_definition"), ("cps",)),
        change(("delete", "create"), ("cps",), ()),
        change(("create",), ()),
        change(("delete",), ()),
        Change("output.x", "output", ("update",)),
    ]
    assert unexpected_changes(tuple(forgiven), allow) == ()
    assert unexpected_changes(tuple(not_forgiven), allow) == tuple(not_forgiven)
    assert unexpected_changes(tuple(forgiven[:1]), Profile()) == tuple(forgiven[:1])


def test_moto_server_url_is_loopback(tmp_path: Path) -> None:
    server = MotoServer(port=12345, account_id="111111111111", log_path=tmp_path / "moto.log")
    assert server.url == "http://127.0.0.1:12345"
    server.stop()  # never started: a no-op
