"""Tier 4, roles for people: examples/people-roles/ applied against a moto server, read back,
re-planned clean and destroyed.

The harness is emulator.py (beside this file), the profile emulator_profile.toml. moto stores
roles, trust policies and policies and lists attachments; it evaluates no IAM, so what the
policies allow is asserted on the JSON by synth_tests/security/test_access.py, and here that AWS's
API takes them as they are (the managed policies exist under those ARNs, the trust policies and
inline policies are accepted and read back unchanged, nothing drifts).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import ROOT, synth_config
from emulator import EmulatorStack, MotoServer, Profile, generated_addresses, load_profile, moto_server

EXAMPLE = ROOT / "examples" / "people-roles"
ENVIRONMENT = "dev"
LEVELS = ("readonly", "operator", "admin")


@dataclass(frozen=True)
class Applied:
    stack: EmulatorStack
    generated: dict[str, Any]  # the example's environment stack JSON, as synthesized

    @property
    def server(self) -> MotoServer:
        return self.stack.server


def _policy(document: Any) -> dict[str, Any]:
    """A policy document as the IAM API returns it (boto3 decodes most, not all)."""
    return document if isinstance(document, dict) else json.loads(unquote(document))


def _generated(applied: Applied, resource_type: str, name: str) -> dict[str, Any]:
    return applied.generated["resource"][resource_type][name]


@pytest.fixture(scope="module")
def people_roles(terraform_cli_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    """The example's environment stack applied to its own moto server (stopped afterwards)."""
    tmp = tmp_path_factory.mktemp("emulator-people-roles")
    out = tmp / "generated"
    synth_config(EXAMPLE, out)
    stack_dir = out / "stacks" / ENVIRONMENT
    profile: Profile = load_profile()
    with moto_server(tmp / "logs") as server:
        stack = EmulatorStack(stack_dir, tmp / "stacks", terraform_cli_config, server, profile)
        stack.init()
        stack.apply()
        yield Applied(stack, json.loads((stack_dir / "cdk.tf.json").read_text()))


@pytest.mark.emulator
class TestPeopleRoles:
    """In order: the last test destroys what the fixture applied."""

    def test_applies_every_resource(self, people_roles: Applied) -> None:
        stack = people_roles.stack
        generated = generated_addresses(people_roles.generated)
        assert sorted(stack.state_addresses()) == sorted(set(generated) - set(stack.removed))
        assert {f"aws_iam_role.access_{level}_role" for level in LEVELS} <= set(stack.state_addresses())

    def test_roles_hold_their_trust_and_session_length(self, people_roles: Applied) -> None:
        iam = people_roles.server.boto3_client("iam")
        outputs = json.loads(people_roles.stack.run("output", "-json").stdout)
        arns = outputs["people_role_arns"]["value"]
        assert set(arns) == set(LEVELS)
        for level in LEVELS:
            role = iam.get_role(RoleName=f"example-dev-{level}")["Role"]
            assert role["Arn"] == arns[level]
            assert role["MaxSessionDuration"] == 2 * 3600
            generated = json.loads(
                _generated(people_roles, "aws_iam_role", f"access_{level}_role")["assume_role_policy"]
            )
            assert _policy(role["AssumeRolePolicyDocument"]) == generated
        operator = _policy(iam.get_role(RoleName="example-dev-operator")["Role"]["AssumeRolePolicyDocument"])
        assert [s["Sid"] for s in operator["Statement"]] == ["AssumeWithMfa", "ExemptRolesAssumeWithoutMfa"]
        assert tags_of(iam, "example-dev-admin")["Environment"] == "dev"

    def test_managed_policies_and_the_guard_are_attached(self, people_roles: Applied) -> None:
        iam = people_roles.server.boto3_client("iam")
        guard = iam.list_policies(Scope="Local")["Policies"]
        (guard_arn,) = [p["Arn"] for p in guard if p["PolicyName"] == "example-dev-people-guard"]
        expected = {
            "readonly": {"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", guard_arn},
            "operator": {"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", guard_arn},
            "admin": {"arn:aws:iam::aws:policy/PowerUserAccess", guard_arn},
        }
        for level, arns in expected.items():
            found = iam.list_attached_role_policies(RoleName=f"example-dev-{level}")["AttachedPolicies"]
            assert {p["PolicyArn"] for p in found} == arns

    def test_inline_policies_name_the_applied_cluster_and_key(self, people_roles: Applied) -> None:
        iam = people_roles.server.boto3_client("iam")
        ecs = people_roles.server.boto3_client("ecs")
        (cluster_arn,) = ecs.list_clusters()["clusterArns"]
        assert iam.list_role_policies(RoleName="example-dev-readonly")["PolicyNames"] == []
        document = iam.get_role_policy(
            RoleName="example-dev-operator", PolicyName="example-dev-operator-environment"
        )
        statements = {s["Sid"]: s for s in _policy(document["PolicyDocument"])["Statement"]}
        assert statements["StopServiceTasks"]["Condition"]["ArnEquals"] == {"ecs:cluster": cluster_arn}
        assert cluster_arn in statements["ExecIntoServiceTasks"]["Resource"]
        key_arn = json.loads(people_roles.stack.run("output", "-json").stdout)["kms_key_arn"]["value"]
        assert statements["ExecSessionKey"]["Resource"] == key_arn
        admin = iam.get_role_policy(RoleName="example-dev-admin", PolicyName="example-dev-admin-environment")
        assert "PassEnvironmentRoles" in {s["Sid"] for s in _policy(admin["PolicyDocument"])["Statement"]}

    def test_replans_clean(self, people_roles: Applied) -> None:
        replan = people_roles.stack.replan()
        assert replan.clean, (
            f"re-plan after apply is not clean (exit {replan.exit_code}); changes not in "
            f"emulator_profile.toml [[allow_diff]]:\n  " + "\n  ".join(str(c) for c in replan.unexpected)
        )

    def test_destroys(self, people_roles: Applied) -> None:
        people_roles.stack.destroy()
        assert people_roles.stack.state_addresses() == []
        iam = people_roles.server.boto3_client("iam")
        names = {r["RoleName"] for r in iam.list_roles()["Roles"]}
        assert not names & {f"example-dev-{level}" for level in LEVELS}


def tags_of(iam: Any, role: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role)["Tags"]}
