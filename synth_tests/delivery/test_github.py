"""modules/delivery/github.py: the GitHub OIDC provider, and per environment a deploy role that
touches only its own services, and a plan and an apply role trusting exactly one GitHub environment."""

from __future__ import annotations

import json
from dataclasses import replace

from conftest import by_path, keys, only, ref, synth_stack

ACCOUNT = "111111111111"
REGION = "eu-west-1"
REPOSITORY = "acme-corp/platform"
STATE_BUCKET = f"acme-tfstate-{ACCOUNT}-{REGION}"
STATE_BUCKET_ARN = f"arn:aws:s3:::{STATE_BUCKET}"
LOCK_TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/acme-tflock"
STATE_KEY_ALIAS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/acme-tfstate"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
PUSH = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
}
PULL = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
}


def service(env: str, name: str):
    """A service of `acme-<env>` named as the platform names it (cluster, service, family, repository)."""
    from modules.delivery.github import DeployedService

    prefix = f"acme-{env}"
    return DeployedService(
        name=name,
        repository_arn=f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{prefix}/{name}",
        service_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{prefix}/{prefix}-{name}",
        task_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{prefix}-{name}-task",
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{prefix}-{name}-execution",
        task_definition_family=f"{prefix}-{name}",
    )


def state(env: str, lock_table: bool = True, lock_files: bool = True):
    from modules.delivery.github import StateAccess

    return StateAccess(
        bucket_arn=STATE_BUCKET_ARN,
        state_prefix=f"{env}/",
        lock_table_arn=LOCK_TABLE_ARN if lock_table else None,
        lock_files=lock_files,
        state_key_arn=STATE_KEY_ALIAS_ARN,
        state_region=REGION,
    )


def props(env: str, services: tuple[str, ...] = ("api", "worker"), upstream: tuple[str, ...] = (), **changes):
    from modules.delivery.github import GitHubRolesProps

    prefix = f"acme-{env}"
    built = GitHubRolesProps(
        environment=env,
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        repository=REPOSITORY,
        provider_arn=PROVIDER_ARN,
        deploy_role_name=f"{prefix}-github-deploy",
        plan_role_name=f"{prefix}-github-plan",
        apply_role_name=f"{prefix}-github-apply",
        deploy_subject=f"repo:{REPOSITORY}:environment:{env}",
        plan_subject=f"repo:{REPOSITORY}:environment:{env}-plan",
        apply_subject=f"repo:{REPOSITORY}:environment:{env}",
        services=tuple(service(env, name) for name in services),
        upstream_repository_arns=tuple(
            service(u, name).repository_arn for u in upstream for name in services
        ),
        terraform=state(env),
        secret_prefix=f"acme/{env}",
    )
    return replace(built, **changes)


def roles_json(roles_props, with_provider: bool = False):
    from modules.cdk import TerraformOutput, TerraformStack, Testing
    from modules.delivery.github import GitHubOidcProvider, GitHubRoles

    stack = TerraformStack(Testing.app(), "test")
    if with_provider:
        provider = GitHubOidcProvider(stack, "github-oidc")
        roles_props = replace(roles_props, provider_arn=provider.arn)
    roles = GitHubRoles(stack, "github", roles_props)
    # an output per role made, so tests see what each exposed ARN resolves to
    for attribute in ("deploy_role_arn", "plan_role_arn", "apply_role_arn"):
        if getattr(roles, attribute) is not None:
            TerraformOutput(stack, attribute, value=getattr(roles, attribute))
    return synth_stack(stack), roles


def statements(policy: str) -> dict[str, dict]:
    document = json.loads(policy)
    assert document["Version"] == "2012-10-17"
    found = {s["Sid"]: s for s in document["Statement"]}
    assert len(found) == len(document["Statement"]), "Sids are unique"
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy_at(stack, path: str) -> dict[str, dict]:
    return statements(by_path(stack, "aws_iam_role_policy")[path]["policy"])


def test_one_oidc_provider_for_githubs_issuer_and_sts_audience() -> None:
    stack, _ = roles_json(props("dev"), with_provider=True)
    provider = only(stack, "aws_iam_openid_connect_provider")
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    assert "thumbprint_list" not in provider  # IAM verifies GitHub's certificate itself


def test_each_role_trusts_exactly_one_github_environment_of_the_repository() -> None:
    stack, _ = roles_json(props("dev"), with_provider=True)
    provider_arn = ref(stack, "aws_iam_openid_connect_provider", "github-oidc/oidc-provider", "arn")
    roles = by_path(stack, "aws_iam_role")
    assert sorted(roles) == ["github/apply/role", "github/deploy/role", "github/plan/role"]
    expected_subjects = {
        "deploy": "repo:acme-corp/platform:environment:dev",
        "plan": "repo:acme-corp/platform:environment:dev-plan",
        "apply": "repo:acme-corp/platform:environment:dev",
    }
    for job, subject in expected_subjects.items():
        trust = json.loads(roles[f"github/{job}/role"]["assume_role_policy"])
        assert trust == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"GitHubActions{job.capitalize()}Jobs",
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                            "token.actions.githubusercontent.com:sub": subject,
                        }
                    },
                }
            ],
        }
    trusts = [json.loads(role["assume_role_policy"]) for role in roles.values()]
    assert "*" not in json.dumps(trusts)
    assert not [key for key in keys(trusts) if "Like" in key]  # no StringLike, at any depth


def test_roles_are_named_by_the_callers_rule_with_one_hour_sessions() -> None:
    stack, roles = roles_json(props("dev"))
    by = by_path(stack, "aws_iam_role")
    assert {path: role["name"] for path, role in by.items()} == {
        "github/deploy/role": "acme-dev-github-deploy",
        "github/plan/role": "acme-dev-github-plan",
        "github/apply/role": "acme-dev-github-apply",
    }
    assert {role["max_session_duration"] for role in by.values()} == {3600}
    assert {name: output["value"] for name, output in stack["output"].items()} == {
        f"{job}_role_arn": ref(stack, "aws_iam_role", f"github/{job}/role", "arn")
        for job in ("deploy", "plan", "apply")
    }


def test_the_deploy_role_pushes_registers_and_rolls_out_exactly_its_services() -> None:
    dev = props("dev")
    stack, _ = roles_json(dev)
    deploy = policy_at(stack, "github/deploy/policy")
    assert (
        by_path(stack, "aws_iam_role_policy")["github/deploy/policy"]["name"]
        == "acme-dev-github-deploy-services"
    )
    api, worker = dev.services
    assert deploy["LogInToRegistry"]["Action"] == ["ecr:GetAuthorizationToken"]
    assert deploy["LogInToRegistry"]["Resource"] == "*"
    assert set(deploy["PushEnvironmentImages"]["Action"]) == PUSH
    assert deploy["PushEnvironmentImages"]["Resource"] == [api.repository_arn, worker.repository_arn]
    assert deploy["RegisterServiceTaskDefinitions"]["Action"] == "ecs:RegisterTaskDefinition"
    assert deploy["RegisterServiceTaskDefinitions"]["Resource"] == [
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/acme-dev-api:*",
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/acme-dev-worker:*",
    ]
    assert deploy["DescribeTaskDefinitions"]["Action"] == "ecs:DescribeTaskDefinition"
    assert set(deploy["RollOutServices"]["Action"]) == {"ecs:UpdateService", "ecs:DescribeServices"}
    assert deploy["RollOutServices"]["Resource"] == [api.service_arn, worker.service_arn]
    # the only "*" resources: what supports no resource-level permission
    assert sorted(sid for sid, s in deploy.items() if "*" in as_list(s["Resource"])) == [
        "DescribeTaskDefinitions",
        "LogInToRegistry",
    ]
    assert "PullUpstreamImages" not in deploy  # the first environment builds, it promotes nothing


def test_the_deploy_role_passes_exactly_its_services_roles_to_ecs_tasks() -> None:
    dev = props("dev")
    stack, _ = roles_json(dev)
    passing = policy_at(stack, "github/deploy/policy")["PassServiceRoles"]
    api, worker = dev.services
    assert passing["Action"] == "iam:PassRole"
    assert sorted(passing["Resource"]) == sorted(
        [api.task_role_arn, api.execution_role_arn, worker.task_role_arn, worker.execution_role_arn]
    )
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_the_deploy_role_names_nothing_of_another_environment() -> None:
    stack, _ = roles_json(props("dev"))
    text = by_path(stack, "aws_iam_role_policy")["github/deploy/policy"]["policy"]
    for other in (service("stg", "api"), service("stg", "worker"), service("prod", "api")):
        for arn in (
            other.repository_arn,
            other.service_arn,
            other.task_role_arn,
            other.execution_role_arn,
            other.task_definition_family,
        ):
            assert arn not in text, arn
    assert "acme-stg" not in text and "acme-prod" not in text
    # and every ARN it names is dev's (or the account-wide ECR login / task definition reads)
    for statement in json.loads(text)["Statement"]:
        for resource in as_list(statement["Resource"]):
            assert resource == "*" or "acme-dev" in resource, resource


def test_a_later_environment_pulls_only_from_the_previous_ones_repositories() -> None:
    stg = props("stg", upstream=("dev",))
    stack, _ = roles_json(stg)
    deploy = policy_at(stack, "github/deploy/policy")
    upstream = [service("dev", "api").repository_arn, service("dev", "worker").repository_arn]
    pull = deploy["PullUpstreamImages"]
    assert pull["Effect"] == "Allow"
    assert set(pull["Action"]) == PULL
    assert not {
        "ecr:PutImage",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
    } & set(pull["Action"])
    assert pull["Resource"] == upstream
    # dev's repositories appear in no other statement (nothing is pushed to them)
    for sid, statement in deploy.items():
        if sid != "PullUpstreamImages":
            assert not set(upstream) & set(as_list(statement["Resource"])), sid
    assert deploy["PushEnvironmentImages"]["Resource"] == [s.repository_arn for s in stg.services]


def test_the_plan_role_reads_its_state_and_locks_it_with_the_state_key() -> None:
    stack, _ = roles_json(props("dev"))
    plan = policy_at(stack, "github/plan/policy")
    assert (
        by_path(stack, "aws_iam_role_policy")["github/plan/policy"]["name"] == "acme-dev-github-plan-refresh"
    )
    assert plan["ListState"]["Action"] == "s3:ListBucket"
    assert plan["ListState"]["Resource"] == STATE_BUCKET_ARN
    # its own prefix, and the workspace names `terraform init` lists
    assert plan["ListState"]["Condition"] == {"StringLike": {"s3:prefix": ["dev/*", "env:/*"]}}
    assert plan["ReadState"]["Action"] == ["s3:GetObject"]
    assert plan["ReadState"]["Resource"] == f"{STATE_BUCKET_ARN}/dev/*"
    assert set(plan["LockStateWithLockFiles"]["Action"]) == {"s3:PutObject", "s3:DeleteObject"}
    assert plan["LockStateWithLockFiles"]["Resource"] == f"{STATE_BUCKET_ARN}/dev/*.tflock"
    table = plan["LockStateWithLockTable"]
    assert set(table["Action"]) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
    assert table["Resource"] == LOCK_TABLE_ARN
    assert table["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{STATE_BUCKET}/dev/*"]}
    }
    key = plan["UseStateKey"]
    assert set(key["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert key["Resource"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"
    assert key["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/acme-tfstate"},
        "StringEquals": {
            "kms:ViaService": [f"s3.{REGION}.amazonaws.com", f"dynamodb.{REGION}.amazonaws.com"]
        },
    }
    # writing state is the apply role's: no PutObject outside the lock files
    for sid, statement in plan.items():
        if "s3:PutObject" in as_list(statement["Action"]) and statement["Effect"] == "Allow":
            assert sid == "LockStateWithLockFiles"


def test_the_plan_role_reads_no_data_but_its_own_state() -> None:
    from modules.security.terraform_cloud import DATA_READ_ACTIONS

    stack, _ = roles_json(props("dev"))
    deny = policy_at(stack, "github/plan/policy")["DenyDataReadsButState"]
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == list(DATA_READ_ACTIONS)
    assert "Resource" not in deny
    assert deny["NotResource"] == [f"{STATE_BUCKET_ARN}/dev/*", LOCK_TABLE_ARN]
    assert {"s3:GetObject", "dynamodb:GetItem", "logs:GetLogEvents"} <= set(deny["Action"])


def test_the_plan_role_refreshes_only_its_own_secrets_and_reads_the_rest_read_only() -> None:
    stack, _ = roles_json(props("dev"))
    plan = policy_at(stack, "github/plan/policy")
    assert plan["RefreshEnvironmentSecrets"]["Resource"] == (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:acme/dev/*"
    )
    assert (
        plan["DecryptEnvironmentSecrets"]["Condition"]["StringEquals"]["aws:ResourceTag/Environment"] == "dev"
    )
    attached = {path: a["policy_arn"] for path, a in by_path(stack, "aws_iam_role_policy_attachment").items()}
    assert attached == {
        "github/plan/read-only-access": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "github/apply/administrator-access": "arn:aws:iam::aws:policy/AdministratorAccess",
    }
    # the apply role has no inline policy of its own
    assert sorted(by_path(stack, "aws_iam_role_policy")) == ["github/deploy/policy", "github/plan/policy"]


def test_locking_follows_the_backend() -> None:
    files_only = props("dev", terraform=state("dev", lock_table=False))
    stack, _ = roles_json(files_only)
    plan = policy_at(stack, "github/plan/policy")
    assert "LockStateWithLockTable" not in plan and "LockStateWithLockFiles" in plan
    assert plan["UseStateKey"]["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"s3.{REGION}.amazonaws.com"
    ]
    assert plan["DenyDataReadsButState"]["NotResource"] == [f"{STATE_BUCKET_ARN}/dev/*"]

    table_only = props("dev", terraform=state("dev", lock_files=False))
    stack, _ = roles_json(table_only)
    plan = policy_at(stack, "github/plan/policy")
    assert "LockStateWithLockFiles" not in plan and "LockStateWithLockTable" in plan
    assert not [s for s in plan.values() if s["Effect"] == "Allow" and "s3:PutObject" in as_list(s["Action"])]


def test_no_plan_or_apply_role_for_a_terraform_cloud_environment() -> None:
    stack, roles = roles_json(props("dev", terraform=None))
    assert sorted(by_path(stack, "aws_iam_role")) == ["github/deploy/role"]
    assert "aws_iam_role_policy_attachment" not in stack["resource"]
    assert roles.plan_role_arn is None and roles.apply_role_arn is None
    assert stack["output"]["deploy_role_arn"]["value"] == ref(
        stack, "aws_iam_role", "github/deploy/role", "arn"
    )


def test_no_deploy_role_without_services() -> None:
    stack, roles = roles_json(props("dev", services=()))
    assert sorted(by_path(stack, "aws_iam_role")) == ["github/apply/role", "github/plan/role"]
    assert roles.deploy_role_arn is None
    assert sorted(stack["output"]) == ["apply_role_arn", "plan_role_arn"]
    stack, roles = roles_json(props("dev", services=(), terraform=None))
    assert not [t for t in stack.get("resource", {}) if t.startswith("aws_iam")]
    assert (roles.deploy_role_arn, roles.plan_role_arn, roles.apply_role_arn) == (None, None, None)
