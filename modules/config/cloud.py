"""Where an environment's state lives: the bootstrap stack's S3 bucket, or Terraform Cloud.

`backend` in project.toml ("s3" or "cloud") is every environment's unless its own file sets one.
`[cloud]` in project.toml says which Terraform Cloud (or Terraform Enterprise) organization,
project and host the "cloud" environments run in; each gets a workspace (`<project>-<env>` unless
its file names one). A Terraform Cloud run reaches AWS through dynamic provider credentials: a plan
role and an apply role per environment, trusted through the account's OIDC provider for the host
(named by the rules below, created by the bootstrap stack).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from modules.config.types import CloudHost, OrganizationName, ProjectName, Strict

Backend = Literal["s3", "cloud"]
BACKEND_KEY = "backend"
CLOUD_KEY = "cloud"
WORKSPACE_KEY = "workspace"
BOOTSTRAP_BACKEND_KEY = "state.bootstrap_backend"
# The Terraform version the workspaces run: the one the platform is tested with.
TERRAFORM_VERSION = "1.11.4"
# The audience Terraform Cloud puts in its workload identity tokens for AWS, by default.
TFC_AUDIENCE = "aws.workload.identity"


class CloudSettings(Strict):
    """`[cloud]` in project.toml: the Terraform Cloud (or Enterprise) that runs the "cloud" environments."""

    organization: OrganizationName
    """The organization that owns the workspaces (required)."""
    project: ProjectName = "Default Project"
    """The Terraform Cloud project the workspaces belong to; it is part of every run's identity token,
    so the roles trust runs of this project only."""
    hostname: CloudHost = "app.terraform.io"
    """Terraform Cloud, or your Terraform Enterprise host."""
    execution_mode: Literal["remote", "agent"] = "remote"
    """Where the workspaces' runs execute: Terraform Cloud's workers, or your own agents."""


def cloud_rules(
    *, backend: Backend | None, workspace: str | None, cloud: CloudSettings | None, cloud_known: bool
) -> list[tuple[str, str]]:
    """(key, problem) pairs of one environment file: a cloud environment needs `[cloud]` in project.toml;
    a workspace name means nothing to an S3 environment. `backend` is the resolved one (None: unknown);
    `cloud_known`: project.toml validated, so `cloud` is what it says."""
    problems: list[tuple[str, str]] = []
    if backend == "cloud" and cloud is None and cloud_known:
        problems.append(
            (
                BACKEND_KEY,
                'the cloud backend needs [cloud] in project.toml with at least organization = "<name>"',
            )
        )
    if backend == "s3" and workspace is not None:
        problems.append((WORKSPACE_KEY, 'a Terraform Cloud workspace name needs backend = "cloud"'))
    return problems


def bootstrap_backend_rules(
    *, bootstrap_backend: str, cloud: CloudSettings | None, backends: Sequence[Backend] | None
) -> list[tuple[str, str]]:
    """(key, problem) pairs of project.toml: where the bootstrap stack keeps its own state must exist.

    `backends`: every environment's resolved backend, None when some file's is unknown (then the
    S3 rule waits until that file is fixed)."""
    problems: list[tuple[str, str]] = []
    if bootstrap_backend == "s3" and backends is not None and "s3" not in backends:
        problems.append(
            (
                BOOTSTRAP_BACKEND_KEY,
                "no environment uses the s3 backend, so the bootstrap stack creates no state bucket to "
                'keep its own state in: use "local" or "cloud"',
            )
        )
    if bootstrap_backend == "cloud" and cloud is None:
        problems.append(
            (
                BOOTSTRAP_BACKEND_KEY,
                'the cloud backend needs [cloud] in project.toml with at least organization = "<name>"',
            )
        )
    return problems


def shared_workspace_rules(
    workspaces: Sequence[tuple[str, str, str, bool]], bootstrap_workspace: str | None
) -> list[tuple[str, str, str]]:
    """(file, key, problem) between environment files: a workspace holds one stack's state, so no
    two cloud environments (nor an environment and the bootstrap stack) may share one.

    `workspaces`: (environment, file, workspace, named in the file) of every cloud environment;
    `bootstrap_workspace`: the bootstrap stack's, when its state is in Terraform Cloud. A clash is
    reported on each file that names the workspace (a default `<project>-<env>` is nobody's choice).
    """
    problems: list[tuple[str, str, str]] = []
    for name, shown, workspace, named in workspaces:
        if not named:
            continue
        others = [f"environment '{n}' ({s})" for n, s, w, _ in workspaces if w == workspace and n != name]
        if workspace == bootstrap_workspace:
            others.insert(0, 'the bootstrap stack (bootstrap_backend = "cloud")')
        if others:
            problems.append(
                (
                    shown,
                    WORKSPACE_KEY,
                    f"workspace '{workspace}' is also the workspace of {', '.join(others)}; "
                    "a workspace holds one stack's state",
                )
            )
    return problems


# --- names other parts of the platform find these by ---------------------------------------------


def workspace_name(project: str, environment: str, configured: str | None) -> str:
    return configured or f"{project}-{environment}"


def bootstrap_workspace_name(project: str) -> str:
    """The bootstrap stack's workspace when `[state] bootstrap_backend = "cloud"`."""
    return f"{project}-bootstrap"


def run_phase_subject(cloud: CloudSettings, workspace: str, phase: Literal["plan", "apply"]) -> str:
    """The `sub` claim of a Terraform Cloud run's identity token, exactly."""
    return (
        f"organization:{cloud.organization}:project:{cloud.project}:workspace:{workspace}:run_phase:{phase}"
    )


def run_role_name(project: str, environment: str, phase: Literal["plan", "apply"]) -> str:
    """`<project>-<env>-tfc-plan` / `-tfc-apply`: the role a run of that phase uses (at most 64)."""
    return f"{project}-{environment}-tfc-{phase}"
