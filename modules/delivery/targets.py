"""What delivery is built from: the config, through fixed naming rules, into the plain props of
github.py, workflows/ and codepipeline/.

Every name and ARN here is known from the config alone (no Terraform reference), so the workflows
rendered for the whole project, and one environment's roles, agree without reading each other's
output: the deploy role of `<env>` is `arn:<partition>:iam::<account>:role/<project>-<env>-github-deploy`
whichever stack or file mentions it.
"""

from __future__ import annotations

from collections.abc import Iterable

from modules.compute.cluster import cluster_name
from modules.config import Environment
from modules.config.cloud import TERRAFORM_VERSION
from modules.config.delivery import RolePurpose, github_environment, github_role_name, github_subject
from modules.core import naming
from modules.delivery.github import StateAccess
from modules.delivery.workflows.render import (
    InfrastructureStage,
    ServiceStage,
    ServiceWorkflow,
    Workflows,
)
from modules.security.state_access import workspace_key_prefix

# Where the stacks are, relative to the repository root the workflows check out.
STACKS_DIR = "generated/stacks"
# The Python the workflows run `make synth` with: the one the platform is tested with.
PYTHON_VERSION = "3.11"


def role_arn(env: Environment, purpose: RolePurpose) -> str:
    """The ARN of the environment's GitHub role for `purpose` (made by its own stack)."""
    name = github_role_name(env.project.name, env.name, purpose)
    return f"arn:{naming.partition(env.region)}:iam::{env.account_id}:role/{name}"


def subject(env: Environment, purpose: RolePurpose) -> str:
    assert env.project.delivery.repository is not None  # the schema's rule for a delivery mode
    return github_subject(env.project.delivery.repository, env.name, purpose)


def registry(account_id: str, region: str) -> str:
    """The ECR registry host of an account and region."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account_id}.dkr.ecr.{region}.{suffix}"


def repository_name(prefix: str, service: str) -> str:
    """A service's ECR repository (modules/compute/registry.py names it so)."""
    return f"{prefix}/{service}"


def upstream_repositories_arn(env: Environment) -> str | None:
    """Every repository of the environment this one promotes images from (by its name prefix: a
    service added there needs no change here), or None for the first in the promotion."""
    if env.promoted_from is None:
        return None
    name, account, region = env.promoted_from
    prefix = f"{env.project.name}-{name}"
    return f"arn:{naming.partition(region)}:ecr:{region}:{account}:repository/{prefix}/*"


def state_access(env: Environment) -> StateAccess | None:
    """What the plan role reads and locks of the environment's S3 state; None for Terraform Cloud
    (its runs use the Terraform Cloud roles)."""
    if env.backend != "s3":
        return None
    project = env.project
    part = naming.partition(project.region)
    bucket = naming.state_bucket(project)
    lock = project.state.lock
    return StateAccess(
        bucket_arn=naming.s3_bucket_arn(part, bucket),
        state_prefix=f"{env.name}/",
        lock_table_arn=(
            f"arn:{part}:dynamodb:{project.region}:{project.account_id}:table/{naming.lock_table(project)}"
            if lock in ("dynamodb", "both")
            else None
        ),
        lock_files=lock in ("lockfile", "both"),
        state_key_arn=naming.state_key_alias_arn(project),
        state_region=project.region,
        workspaces_prefix=f"{workspace_key_prefix(env.name)}/"
        if not env.in_state_account and env.config.assume_role_arn
        else "env:/",
    )


def _github(environments: Iterable[Environment]) -> list[Environment]:
    """The github environments, in promotion order."""
    by_name = {env.name: env for env in environments if env.delivery_mode == "github"}
    order = next(iter(by_name.values())).project.delivery.promotion if by_name else []
    return [by_name[name] for name in order if name in by_name]


def infrastructure_stage(env: Environment) -> InfrastructureStage:
    s3 = env.backend == "s3"
    return InfrastructureStage(
        environment=env.name,
        backend=env.backend,
        stack_dir=f"{STACKS_DIR}/{env.name}",
        region=env.region,
        plan_role_arn=role_arn(env, "plan") if s3 else None,
        apply_role_arn=role_arn(env, "apply") if s3 else None,
        github_environment=github_environment(env.name, "apply"),
        plan_github_environment=github_environment(env.name, "plan"),
    )


def service_stage(env: Environment, service: str) -> ServiceStage:
    return ServiceStage(
        environment=env.name,
        region=env.region,
        registry=registry(env.account_id, env.region),
        repository=repository_name(env.prefix, service),
        cluster=cluster_name(env.prefix),
        ecs_service=f"{env.prefix}-{service}",
        task_definition_family=f"{env.prefix}-{service}",
        container_name=service,
        deploy_role_arn=role_arn(env, "deploy"),
        github_environment=github_environment(env.name, "deploy"),
    )


def workflows_of(environments: Iterable[Environment]) -> Workflows | None:
    """The project's workflows, from every configured environment (a synth of some environments
    renders the same files), or None when no environment delivers with github."""
    ordered = _github(environments)
    if not ordered:
        return None
    delivery = ordered[0].project.delivery
    assert delivery.repository is not None
    services: dict[str, tuple[str, list[ServiceStage]]] = {}
    for env in ordered:
        for service in env.services:
            if env.delivered(service):
                context, stages = services.setdefault(service.name, (service.build_context, []))
                stages.append(service_stage(env, service.name))
    return Workflows(
        project=ordered[0].project.name,
        repository=delivery.repository,
        branch=delivery.branch,
        terraform_version=TERRAFORM_VERSION,
        python_version=PYTHON_VERSION,
        infrastructure=tuple(infrastructure_stage(env) for env in ordered),
        services=tuple(
            ServiceWorkflow(service=name, source=context, stages=tuple(stages))
            for name, (context, stages) in sorted(services.items())
        ),
    )
