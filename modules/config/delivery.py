"""`[delivery]`: how services are built and deployed, and how Terraform runs from CI.

project.toml's `[delivery]` chooses the mode for every environment, names the GitHub repository
and branch, and orders the environments an image is promoted through; an environment file's own
`[delivery]` may choose another mode (or none) and, for CodePipeline, its own connection.

- github: GitHub Actions assumes roles in AWS through the account's IAM OIDC provider for
  `token.actions.githubusercontent.com` (created by the account's owner environment). Each role
  trusts exactly one GitHub environment of exactly one repository: the deploy and apply roles
  `repo:<org>/<repo>:environment:<env>`, the plan role `...:environment:<env>-plan`.
- codepipeline: per service a CodePipeline (V2) from a CodeConnections GitHub connection.
- none: nothing deploys; `[cluster] deploy_owner` says who owns the running task definition.

A service delivered by either mode is owned by its pipeline (`deploy_owner` "pipeline"), so an
apply never reverts a deployment. The names below are the fixed rules other parts of the platform
(the workflows, the bootstrap stack's state grants) find the roles by.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import field_validator

from modules.config.rules import rule
from modules.config.types import Connection, GitHubRepository, Slug, Strict
from modules.core.naming import bounded

DeliveryMode = Literal["github", "codepipeline", "none"]
RolePurpose = Literal["deploy", "plan", "apply"]
DELIVERY_MODE_KEY = "delivery.mode"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"  # what aws-actions/configure-aws-credentials asks GitHub for
# The plan job's GitHub environment is the apply one's name plus this: a job that names an
# environment gets that environment's `sub` claim whatever triggered it (a pull request too).
PLAN_ENVIRONMENT_SUFFIX = "-plan"
BUILD_PROJECT_NAME_LIMIT = 150


def branch_problem(branch: str) -> str | None:
    """Why git (and so GitHub) refuses `branch` as a branch name (git check-ref-format), or None."""
    if not branch or len(branch) > 255:
        return "must be 1-255 characters"
    if re.search(r"[\x00-\x20\x7f~^:?*\[\\]", branch):
        return "may not contain spaces, control characters or any of ~ ^ : ? * [ \\"
    if ".." in branch or "@{" in branch or "//" in branch:
        return "may not contain '..', '@{' or '//'"
    if branch == "@" or branch.startswith(("/", "-")) or branch.endswith(("/", ".", ".lock")):
        return "may not be '@', start with '/' or '-', or end with '/', '.' or '.lock'"
    if any(part.startswith(".") for part in branch.split("/")):
        return "no part between slashes may start with '.'"
    return None


class DeliveryConfig(Strict):
    """`[delivery]` in project.toml: how every environment's services and infrastructure are delivered."""

    mode: DeliveryMode = "none"
    """github: GitHub Actions with OIDC (rendered workflows in generated/github/workflows/);
    codepipeline: a CodePipeline + CodeBuild per service; none: nothing deploys. An environment
    file's `[delivery] mode` overrides it."""
    repository: GitHubRepository | None = None
    """The GitHub repository `<org>/<name>` that holds this platform and the services' sources;
    required unless every environment's mode is none."""
    branch: str = "main"
    """The branch that deploys: pushes to it build and deploy the services and apply the
    infrastructure; pull requests into it are planned."""
    promotion: list[Slug] = []
    """github: the environments in promotion order (e.g. ["dev", "stg", "prod"]). An image is built
    once, in the first environment that runs its service, and promoted by digest to each next one;
    infrastructure applies follow the same order. Every github environment is listed."""
    connection: Connection | None = None
    """codepipeline: "create" (each environment creates a CodeConnections connection, which stays
    PENDING until someone completes the GitHub handshake in the console) or the ARN of an existing
    connection; an environment file may set its own."""

    @field_validator("branch")
    @classmethod
    def _branch(cls, branch: str) -> str:
        problem = branch_problem(branch)
        if problem is not None:
            raise ValueError(f"'{branch}' is not a branch name GitHub accepts: it {problem}")
        return branch

    @field_validator("promotion")
    @classmethod
    def _promotion_once_each(cls, promotion: list[str]) -> list[str]:
        twice = sorted({name for name in promotion if promotion.count(name) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} is listed more than once")
        return promotion

    @rule("mode", "repository")
    def _repository_when_delivering(self) -> None:
        if self.mode != "none" and self.repository is None:
            raise ValueError(f'mode "{self.mode}" needs repository = "<org>/<name>"')


class EnvironmentDeliveryConfig(Strict):
    """`[delivery]` in an environment file: this environment's own choice."""

    mode: DeliveryMode | None = None
    """github, codepipeline or none for this environment; unset: project.toml's."""
    connection: Connection | None = None
    """codepipeline: this environment's connection ("create" or an existing connection's ARN);
    unset: project.toml's."""


# --- names other parts of the platform find these by ---------------------------------------------


def github_role_name(project: str, environment: str, purpose: RolePurpose) -> str:
    """`<project>-<env>-github-deploy` / `-github-plan` / `-github-apply` (at most 55 characters)."""
    return f"{project}-{environment}-github-{purpose}"


def github_environment(environment: str, purpose: RolePurpose) -> str:
    """The GitHub environment whose jobs may assume the role: `<env>`, or `<env>-plan` for plans."""
    return environment + (PLAN_ENVIRONMENT_SUFFIX if purpose == "plan" else "")


def github_subject(repository: str, environment: str, purpose: RolePurpose) -> str:
    """The exact `sub` claim of a job of `repository` that names the role's GitHub environment."""
    return f"repo:{repository}:environment:{github_environment(environment, purpose)}"


def build_project_name(prefix: str, service: str) -> str:
    """codepipeline: the service's CodeBuild project, `<prefix>-<service>-build` (at most 150)."""
    return bounded(f"{prefix}-{service}-build", BUILD_PROJECT_NAME_LIMIT)


def build_log_group_name(project_name: str) -> str:
    """The project's log group: CodeBuild's default name, created by the platform first with the
    environment key (whose policy admits it by this exact name, modules/security/kms.py)."""
    return f"/aws/codebuild/{project_name}"


def github_oidc_provider_arn(partition: str, account_id: str) -> str:
    """The account's OIDC provider for GitHub: IAM names it by its host, so every environment of
    the account knows its ARN whichever one created it."""
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


# --- rules between files -------------------------------------------------------------------------


def delivery_rules(
    environments: Sequence[tuple[str, str, str, DeliveryMode, Connection | None]],
    owners: Sequence[tuple[str, str, str]],
    repository: str | None,
) -> list[tuple[str, str, str]]:
    """(file, key, problem) between project.toml and the environment files.

    `environments`: (name, file, account, resolved mode, resolved connection) of every environment
    file whose delivery settings validated; `owners`: (name, file, account) of each account owner;
    `repository`: project.toml's.
    """
    problems: list[tuple[str, str, str]] = []
    github = [e for e in environments if e[3] == "github"]
    owned = {account for _, _, account in owners}
    for name, shown, account, mode, connection in environments:
        if mode != "none" and repository is None:
            problems.append(
                (
                    shown,
                    DELIVERY_MODE_KEY,
                    f'"{mode}" needs the repository it delivers from: repository = "<org>/<name>" in '
                    "project.toml's [delivery]",
                )
            )
        if mode == "codepipeline" and connection is None:
            problems.append(
                (
                    shown,
                    "delivery.connection",
                    'codepipeline needs a connection: "create" (then complete the GitHub handshake in '
                    "the console) or the ARN of an existing CodeConnections connection, here or in "
                    "project.toml",
                )
            )
        if mode == "github" and account not in owned:
            problems.append(
                (
                    shown,
                    DELIVERY_MODE_KEY,
                    f"github delivery needs account {account}'s OIDC provider for GitHub, which the "
                    "account's owner creates: set [account] owner = true in one environment of it",
                )
            )
        if mode == "github" and name.endswith(PLAN_ENVIRONMENT_SUFFIX):
            base = name.removesuffix(PLAN_ENVIRONMENT_SUFFIX)
            if any(other[0] == base for other in github):
                problems.append(
                    (
                        shown,
                        DELIVERY_MODE_KEY,
                        f"GitHub environment '{name}' is already the plan environment of '{base}' "
                        "(GitHub environment names are unique per repository); rename one file",
                    )
                )
    return problems


def promotion_rules(
    delivery: DeliveryConfig, project_file: str, github: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(file, key, problem) of project.toml's `promotion`: every github environment is in it. A name
    with no github environment (one removed, or opted out) is passed over: the order of the others
    stands, and a misspelt name leaves its environment unlisted, which is reported."""
    missing = [name for name in sorted(github) if name not in delivery.promotion]
    if not missing:
        return []
    return [
        (
            project_file,
            "delivery.promotion",
            f"{', '.join(missing)} deliver with github: list every github environment, in promotion "
            'order (e.g. ["dev", "stg", "prod"])',
        )
    ]
