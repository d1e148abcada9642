"""Tier 4, cross-account state: examples/multi-account/'s bootstrap stack applied to moto, its grants
read back, re-planned clean, destroyed.

The example keeps state in a fourth account and its dev, stg and prod in three others, so the state
bucket policy, the state key policy and the lock table's resource policy each carry one grant per
environment. moto stores these policies but does not enforce cross-account authorization: what they
allow and refuse is proven by the unit tests and the IAM lint; this proves AWS's API (as moto models
it) takes them and that Terraform reads them back without a diff. One small apply and destroy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, synth_config
from emulator import EmulatorStack, generated_addresses, load_profile, moto_server

from modules.config import Platform, load_platform

EXAMPLE = ROOT / "examples" / "multi-account"
emulator = pytest.mark.emulator


@dataclass(frozen=True)
class Applied:
    stack: EmulatorStack
    platform: Platform
    outputs: dict[str, Any]
    generated: dict[str, Any]  # the stack JSON as synthesized


@pytest.fixture(scope="module")
def bootstrap(terraform_cli_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    """The example's bootstrap stack, synthesized and applied to its own moto server in the state account."""
    platform = load_platform(EXAMPLE)
    tmp = tmp_path_factory.mktemp("emulator-state-access")
    out = tmp / "generated"
    synth_config(EXAMPLE, out)
    with moto_server(tmp / "logs", account_id=platform.project.account_id) as server:
        stack = EmulatorStack(
            out / "stacks" / "bootstrap", tmp / "stacks", terraform_cli_config, server, load_profile()
        )
        stack.init()
        stack.apply()
        outputs = {k: v["value"] for k, v in json.loads(stack.run("output", "-json").stdout).items()}
        generated = json.loads((out / "stacks" / "bootstrap" / "cdk.tf.json").read_text())
        yield Applied(stack, platform, outputs, generated)


def roles(platform: Platform) -> set[str]:
    return {p.role_arn for p in platform.state_principals}


@emulator
class TestCrossAccountStateGrants:
    """In order: the last test destroys what the fixture applied."""

    def test_applies_everything_with_the_grants(self, bootstrap: Applied) -> None:
        stack = bootstrap.stack
        generated = generated_addresses(bootstrap.generated)
        assert "aws_dynamodb_resource_policy.state_lock_table_policy" in stack.state_addresses()
        assert sorted(stack.state_addresses()) == sorted(set(generated) - set(stack.removed))

    def test_bucket_key_and_table_policies_read_back_with_one_grant_per_environment(
        self, bootstrap: Applied
    ) -> None:
        server, platform, outputs = bootstrap.stack.server, bootstrap.platform, bootstrap.outputs
        assert len(platform.state_principals) == 3
        bucket = outputs["state_bucket"]
        policy = json.loads(server.boto3_client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
        writes = {
            s["Principal"]["AWS"]: s["Resource"] for s in policy["Statement"] if "ReadWrite" in s["Sid"]
        }
        assert writes == {
            p.role_arn: f"arn:aws:s3:::{bucket}/{p.environment}/*" for p in platform.state_principals
        }

        key = server.boto3_client("kms").get_key_policy(
            KeyId=outputs["state_kms_key_arn"], PolicyName="default"
        )
        users = [s for s in json.loads(key["Policy"])["Statement"] if s["Sid"].endswith("UsesStateKey")]
        assert {s["Principal"]["AWS"] for s in users} == roles(platform)

        dynamodb = server.boto3_client("dynamodb")
        table_arn = dynamodb.describe_table(TableName=outputs["lock_table"])["Table"]["TableArn"]
        table_policy = json.loads(dynamodb.get_resource_policy(ResourceArn=table_arn)["Policy"])
        leading = {
            s["Principal"]["AWS"]: s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            for s in table_policy["Statement"]
        }
        assert leading == {p.role_arn: [f"{bucket}/{p.environment}/*"] for p in platform.state_principals}
        assert {s["Resource"] for s in table_policy["Statement"]} == {table_arn}

    def test_replans_clean_then_destroys(self, bootstrap: Applied) -> None:
        stack = bootstrap.stack
        replan = stack.replan()
        assert replan.clean, "re-plan after apply is not clean:\n  " + "\n  ".join(
            str(c) for c in replan.unexpected
        )
        # the state bucket has prevent_destroy and the table deletion protection: lifted for the emulator only
        assert stack.lift_protections()
        stack.plan_changes(plan_file="lift.tfplan")
        stack.run("apply", "-input=false", "lift.tfplan")  # deletion protection off, then destroy
        stack.destroy()
        assert stack.state_addresses() == []
