"""modules/delivery/targets.py: the names and ARNs the workflows and roles are built from agree with
what the environment stacks create, for the shipped platform."""

from __future__ import annotations

import json

import pytest
from conftest import environment_json, resources

from modules.delivery.targets import registry, state_access, upstream_repositories_arn, workflows_of

ENVIRONMENTS = ("dev", "stg", "prod")


@pytest.fixture(scope="module")
def stacks(committed_platform) -> dict[str, dict]:
    return {name: environment_json(committed_platform, name) for name in ENVIRONMENTS}


def names(stack: dict, resource_type: str, attribute: str = "name") -> set[str]:
    return {body[attribute] for body in resources(stack, resource_type).values()}


def test_every_workflow_stage_names_what_its_stack_creates(committed_platform, stacks) -> None:
    model = workflows_of(committed_platform.all_environments)
    assert model is not None and model.repository == "acme/platform" and model.branch == "main"
    assert [s.environment for s in model.infrastructure] == ["dev", "stg", "prod"]
    seen = set()
    for workflow in model.services:
        for stage in workflow.stages:
            stack = stacks[stage.environment]
            env = committed_platform.environment(stage.environment)
            seen.add((workflow.service, stage.environment))
            assert stage.cluster in names(stack, "aws_ecs_cluster")
            assert stage.ecs_service in names(stack, "aws_ecs_service")
            assert stage.task_definition_family in names(stack, "aws_ecs_task_definition", "family")
            assert stage.repository in names(stack, "aws_ecr_repository")
            assert (
                stage.registry
                == registry(env.account_id, env.region)
                == "111111111111.dkr.ecr.eu-west-1.amazonaws.com"
            )
            role = stage.deploy_role_arn.rsplit("/", 1)[1]
            assert role in names(stack, "aws_iam_role") and stage.deploy_role_arn.startswith(
                f"arn:aws:iam::{env.account_id}:role/"
            )
            # a container of that name runs the service's image
            (definition,) = [
                d
                for d in resources(stack, "aws_ecs_task_definition").values()
                if d["family"] == stage.task_definition_family
            ]
            assert stage.container_name in {
                c["name"] for c in json.loads(definition["container_definitions"])
            }
    # every delivered service of every environment has a stage, and nothing else has one
    delivered = {
        (s.name, env.name)
        for env in committed_platform.all_environments
        for s in env.services
        if env.delivered(s)
    }
    assert seen == delivered
    for stage in model.infrastructure:
        stack = stacks[stage.environment]
        for arn in (stage.plan_role_arn, stage.apply_role_arn):
            assert arn is not None and arn.rsplit("/", 1)[1] in names(stack, "aws_iam_role")


def test_images_are_built_in_the_first_environment_that_runs_the_service(committed_platform) -> None:
    model = workflows_of(committed_platform.all_environments)
    assert model is not None
    first = {w.service: w.stages[0].environment for w in model.services}
    # ledger runs only in prod: built there
    assert first == {"api": "dev", "billing": "dev", "ledger": "prod", "web": "dev"}
    assert [s.environment for s in next(w for w in model.services if w.service == "api").stages] == [
        "dev",
        "stg",
        "prod",
    ]


def test_the_deploy_role_pulls_only_from_the_previous_environment(committed_platform, stacks) -> None:
    dev, stg = committed_platform.environment("dev"), committed_platform.environment("stg")
    assert upstream_repositories_arn(dev) is None
    upstream = upstream_repositories_arn(stg)
    assert upstream == "arn:aws:ecr:eu-west-1:111111111111:repository/acme-dev/*"
    policy = json.loads(resources(stacks["stg"], "aws_iam_role_policy")["github_deploy_policy"]["policy"])
    pulls = [s for s in policy["Statement"] if upstream in json.dumps(s.get("Resource"))]
    assert len(pulls) == 1 and not any(a for a in pulls[0]["Action"] if "Put" in a or "Upload" in a)


def test_the_plan_role_reads_the_state_its_backend_writes(committed_platform, stacks) -> None:
    for name in ENVIRONMENTS:
        env = committed_platform.environment(name)
        access = state_access(env)
        backend = stacks[name]["terraform"]["backend"]["s3"]
        assert access is not None
        assert access.bucket_arn == f"arn:aws:s3:::{backend['bucket']}"
        assert backend["key"].startswith(access.state_prefix)
        assert access.state_key_arn == backend["kms_key_id"]
        assert (access.lock_table_arn or "").endswith(f":table/{backend['dynamodb_table']}")
