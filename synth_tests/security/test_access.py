"""modules/security/access.py: the roles for people, their trust (MFA) and policies scoped to the
environment, asserted on the JSON of whole environment stacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import by_path, env_toml, environment_json, load, ref, resources, write_config

ROOT_ARN = "arn:aws:iam::111111111111:root"
CI_ROLE = "arn:aws:iam::222222222222:role/ci"
ALICE = "arn:aws:iam::111111111111:user/alice"
WEB = """
[edge]
http_only = true

[[services]]
name = "web"
port = 8080
paths = ["/*"]
priority = 10
"""
ALL_LEVELS = f"""
[access]
readonly = ["111111111111"]
operator = ["{ALICE}", "{CI_ROLE}"]
admin = ["{ROOT_ARN}"]
mfa_exempt = ["{CI_ROLE}"]
max_session_hours = 2
"""


def qa_json(tmp_path: Path, text: str) -> dict:
    return environment_json(load(write_config(tmp_path, {"qa": text})), "qa")


def roles(stack: dict) -> dict[str, dict]:
    return {path: role for path, role in by_path(stack, "aws_iam_role").items() if path.startswith("access/")}


def trust(role: dict) -> list[dict[str, Any]]:
    return json.loads(role["assume_role_policy"])["Statement"]


def inline(stack: dict, level: str) -> dict[str, dict]:
    """The statements of a level's own inline policy, by Sid ({} when it has none)."""
    policy = by_path(stack, "aws_iam_role_policy").get(f"access/{level}/policy")
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]} if policy else {}


def attached(stack: dict, level: str) -> set[str]:
    return {
        a["policy_arn"]
        for path, a in by_path(stack, "aws_iam_role_policy_attachment").items()
        if path.startswith(f"access/{level}/")
    }


def guard(stack: dict) -> dict[str, dict]:
    policy = by_path(stack, "aws_iam_policy")["access/guard"]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


@pytest.fixture(scope="module")
def qa(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A development environment with one service (ECS exec on) and every level."""
    return qa_json(tmp_path_factory.mktemp("qa"), env_toml() + WEB + ALL_LEVELS)


# --- roles and trust ---------------------------------------------------------------------------


def test_one_role_per_level_named_and_sized_from_config(qa: dict) -> None:
    found = roles(qa)
    assert {p: r["name"] for p, r in found.items()} == {
        "access/readonly/role": "acme-qa-readonly",
        "access/operator/role": "acme-qa-operator",
        "access/admin/role": "acme-qa-admin",
    }
    assert {r["max_session_duration"] for r in found.values()} == {2 * 3600}


def test_trust_names_exactly_the_principals_and_requires_fresh_mfa(qa: dict) -> None:
    found = roles(qa)
    (readonly,) = trust(found["access/readonly/role"])
    # a bare account id is written as its root ARN, as IAM stores it
    assert readonly["Principal"] == {"AWS": [ROOT_ARN]}
    assert readonly["Action"] == "sts:AssumeRole" and readonly["Effect"] == "Allow"
    assert readonly["Condition"] == {
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
        "NumericLessThan": {"aws:MultiFactorAuthAge": "7200"},
    }
    (admin,) = trust(found["access/admin/role"])
    assert admin["Principal"] == {"AWS": [ROOT_ARN]} and "Condition" in admin


def test_exempt_roles_only_in_their_own_statement_without_mfa(qa: dict) -> None:
    with_mfa, without_mfa = trust(roles(qa)["access/operator/role"])
    assert with_mfa["Sid"] == "AssumeWithMfa"
    assert with_mfa["Principal"] == {"AWS": [ALICE]}
    assert with_mfa["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
    assert without_mfa == {
        "Sid": "ExemptRolesAssumeWithoutMfa",
        "Effect": "Allow",
        "Principal": {"AWS": [CI_ROLE]},
        "Action": "sts:AssumeRole",
    }


def test_a_level_of_exempt_roles_only_has_no_mfa_statement(tmp_path: Path) -> None:
    stack = qa_json(tmp_path, env_toml() + f'[access]\nadmin = ["{CI_ROLE}"]\nmfa_exempt = ["{CI_ROLE}"]\n')
    (statement,) = trust(roles(stack)["access/admin/role"])
    assert statement["Sid"] == "ExemptRolesAssumeWithoutMfa" and "Condition" not in statement


def test_no_access_no_roles_and_a_level_without_principals_has_no_role(tmp_path: Path) -> None:
    assert roles(qa_json(tmp_path / "none", env_toml() + WEB)) == {}
    stack = qa_json(tmp_path / "some", env_toml() + f'[access]\nreadonly = ["{ROOT_ARN}"]\n')
    assert set(roles(stack)) == {"access/readonly/role"}
    assert json.loads(json.dumps(stack["output"]["people_role_arns"]["value"])) == {
        "readonly": ref(stack, "aws_iam_role", "access/readonly/role", "arn")
    }


def test_role_arns_are_stack_outputs(qa: dict) -> None:
    assert qa["output"]["people_role_arns"]["value"] == {
        level: ref(qa, "aws_iam_role", f"access/{level}/role", "arn")
        for level in ("readonly", "operator", "admin")
    }


# --- what each level may do --------------------------------------------------------------------


def test_readonly_views_configuration_and_reads_no_data(qa: dict) -> None:
    assert attached(qa, "readonly") == {
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
        ref(qa, "aws_iam_policy", "access/guard", "arn"),
    }
    assert inline(qa, "readonly") == {}


def test_operator_acts_on_this_environments_cluster_only(qa: dict) -> None:
    cluster = ref(qa, "aws_ecs_cluster", "cluster/cluster", "arn")
    own = inline(qa, "operator")
    assert attached(qa, "operator") == {
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
        ref(qa, "aws_iam_policy", "access/guard", "arn"),
    }
    ecs = {sid: s for sid, s in own.items() if any(a.startswith("ecs:") for a in _actions(s))}
    assert {sid: _actions(s) for sid, s in ecs.items()} == {
        "RestartAndScaleServices": ["ecs:UpdateService"],
        "StopServiceTasks": ["ecs:StopTask"],
        "ExecIntoServiceTasks": ["ecs:ExecuteCommand"],
    }
    for statement in ecs.values():
        assert statement["Condition"]["ArnEquals"] == {"ecs:cluster": cluster}
    assert cluster in own["ExecIntoServiceTasks"]["Resource"]
    # a service can only be pointed at this environment's task definitions
    assert own["RestartAndScaleServices"]["Condition"]["ArnLikeIfExists"] == {
        "ecs:task-definition": "arn:aws:ecs:eu-west-1:111111111111:task-definition/acme-qa-*:*"
    }
    # ECS opens the SSM session itself: no ssm:StartSession for the caller
    assert not any(a.startswith("ssm:") for s in own.values() for a in _actions(s))


def test_operator_reads_only_this_environments_logs(qa: dict) -> None:
    logs = inline(qa, "operator")["ReadEnvironmentLogs"]
    assert logs["Resource"] == [
        "arn:aws:logs:eu-west-1:111111111111:log-group:/acme/qa/*",
        "arn:aws:logs:eu-west-1:111111111111:log-group:/acme/qa/*:log-stream:*",
    ]
    assert {"logs:FilterLogEvents", "logs:GetLogEvents", "logs:StartQuery"} <= set(logs["Action"])


def test_operator_exec_uses_the_environment_key(qa: dict) -> None:
    assert inline(qa, "operator")["ExecSessionKey"] == {
        "Sid": "ExecSessionKey",
        "Effect": "Allow",
        "Action": "kms:GenerateDataKey",
        "Resource": ref(qa, "aws_kms_key", "key/key", "arn"),
    }


def test_operator_without_services_has_no_ecs_statements(tmp_path: Path) -> None:
    stack = qa_json(tmp_path, env_toml() + f'[access]\noperator = ["{ROOT_ARN}"]\n')
    assert set(inline(stack, "operator")) == {"ReadEnvironmentLogs"}


def test_operator_gets_no_exec_where_the_cluster_refuses_it(tmp_path: Path) -> None:
    production = env_toml(profile="production") + WEB.replace("http_only = true", "http_only = false")
    production += '\n[domain]\nname = "example.com"\nhosted_zone_id = "Z0EXAMPLE"\n'
    production = production.replace('paths = ["/*"]', 'hosts = ["example.com"]')
    stack = qa_json(tmp_path, production + f'[access]\noperator = ["{ROOT_ARN}"]\n')
    assert set(inline(stack, "operator")) == {
        "RestartAndScaleServices",
        "StopServiceTasks",
        "ReadEnvironmentLogs",
    }


def test_admin_is_power_user_with_iam_read_and_pass_of_its_own_roles(qa: dict) -> None:
    assert attached(qa, "admin") == {
        "arn:aws:iam::aws:policy/PowerUserAccess",
        ref(qa, "aws_iam_policy", "access/guard", "arn"),
    }
    own = inline(qa, "admin")
    actions = [a for s in own.values() for a in _actions(s)]
    writes = [a for a in actions if a.startswith("iam:") and not a.startswith(("iam:Get", "iam:List"))]
    assert writes == ["iam:PassRole"]
    assert own["PassEnvironmentRoles"]["Resource"] == "arn:aws:iam::111111111111:role/acme-qa-*"
    assert own["ReadEnvironmentRoles"]["Resource"] == "arn:aws:iam::111111111111:role/acme-qa-*"
    assert all(s["Effect"] == "Allow" for s in own.values())


# --- the environment guard ---------------------------------------------------------------------


def test_guard_keeps_every_role_off_other_environments(qa: dict) -> None:
    found = guard(qa)
    assert all(s["Effect"] == "Deny" for s in found.values())
    assert found["DenyOtherEnvironments"]["Condition"] == {
        "StringNotEquals": {"aws:ResourceTag/Environment": "qa"},
        "Null": {"aws:ResourceTag/Environment": "false"},
    }
    assert found["DenyLabellingOtherEnvironments"]["Condition"]["StringNotEquals"] == {
        "aws:RequestTag/Environment": "qa"
    }
    assert found["DenyRolesOutsideEnvironment"]["NotResource"] == "arn:aws:iam::111111111111:role/acme-qa-*"
    assert found["DenyStateWrites"]["Resource"] == [
        "arn:aws:s3:::acme-tfstate-111111111111-eu-west-1",
        "arn:aws:s3:::acme-tfstate-111111111111-eu-west-1/*",
    ]
    assert found["DenyUnauditedContainerSessions"]["Action"] == "ssm:StartSession"
    assert "cloudtrail:StopLogging" in found["DenyAuditTampering"]["Action"]
    guard_arn = ref(qa, "aws_iam_policy", "access/guard", "arn")
    for level in ("readonly", "operator", "admin"):
        assert guard_arn in attached(qa, level)


def test_no_policy_of_a_role_for_people_allows_everything(qa: dict) -> None:
    for level in ("readonly", "operator", "admin"):
        for statement in inline(qa, level).values():
            assert statement["Effect"] == "Allow"
            assert "*" not in _actions(statement) and statement.get("Resource") != "*"


# --- the shipped environments ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "stg", "prod"])
def test_shipped_environments_give_the_account_three_roles_behind_mfa(committed_platform, name: str) -> None:
    stack = environment_json(committed_platform, name)
    found = roles(stack)
    assert {r["name"] for r in found.values()} == {
        f"acme-{name}-{level}" for level in ("readonly", "operator", "admin")
    }
    for role in found.values():
        (statement,) = trust(role)
        assert statement["Principal"] == {"AWS": [ROOT_ARN]}
        assert statement["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
    assert len(resources(stack, "aws_iam_policy")) >= 1


def _actions(statement: dict) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)
