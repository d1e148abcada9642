"""The AWS provider and the state backend (S3 or Terraform Cloud), configured the same way for every stack."""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import (
    CloudBackend,
    Construct,
    NamedCloudWorkspace,
    S3Backend,
    S3BackendAssumeRoleConfig,
    aws,
    override,
)
from modules.config import ProjectConfig
from modules.config.cloud import CloudSettings
from modules.core import naming
from modules.security.state_access import workspace_key_prefix


@dataclass(frozen=True)
class StateRole:
    """The role a cross-account environment's backend assumes to reach the state account."""

    role_arn: str
    session_name: str


def aws_provider(
    stack: Construct,
    *,
    region: str,
    account_id: str,
    tags: dict[str, str],
    assume_role_arn: str | None = None,
    session_name: str | None = None,
    alias: str | None = None,
) -> aws.provider.AwsProvider:
    """An AWS provider of a stack: pinned region, account guard, default tags, optional role.

    `alias`: a further provider beside the stack's default one (the bootstrap stack reaches each
    other account of the cloud environments through one)."""
    return aws.provider.AwsProvider(
        stack,
        f"aws-{alias}" if alias else "aws",
        alias=alias,
        region=region,
        # A plan against the wrong account's credentials fails before it reads anything.
        allowed_account_ids=[account_id],
        default_tags=[aws.provider.AwsProviderDefaultTags(tags=tags)],
        assume_role=(
            [aws.provider.AwsProviderAssumeRole(role_arn=assume_role_arn, session_name=session_name)]
            if assume_role_arn
            else None
        ),
    )


def s3_backend(
    stack: Construct,
    project: ProjectConfig,
    stack_name: str,
    *,
    cross_account_role: StateRole | None = None,
) -> None:
    """Remote state in the bootstrap bucket, found by name, encrypted with the state key.

    `cross_account_role`: for an environment in another account than the state's, the role its
    state is read and written as (the one the bootstrap stack grants this environment's prefix), and
    the session name; its workspaces then live inside that prefix too.
    """
    lock = project.state.lock
    S3Backend(
        stack,
        bucket=naming.state_bucket(project),
        key=naming.state_object_key(stack_name),
        region=project.region,
        encrypt=True,
        kms_key_id=naming.state_key_alias_arn(project),
        dynamodb_table=naming.lock_table(project) if lock in ("dynamodb", "both") else None,
        assume_role=S3BackendAssumeRoleConfig(
            role_arn=cross_account_role.role_arn, session_name=cross_account_role.session_name
        )
        if cross_account_role is not None
        else None,
        workspace_key_prefix=workspace_key_prefix(stack_name) if cross_account_role is not None else None,
    )
    if lock in ("lockfile", "both"):
        # cdktf 0.21's S3Backend has no use_lockfile (added in Terraform 1.10).
        override(stack, "terraform.backend.s3.use_lockfile", True)


def cloud_backend(stack: Construct, cloud: CloudSettings, workspace: str) -> None:
    """State (and runs) in one Terraform Cloud workspace: `terraform { cloud { ... } }`.

    No token here: `terraform login` (or TF_TOKEN_<host>) supplies it. The workspace's project is
    named too, so a workspace `terraform init` creates lands in the project the roles trust.
    """
    CloudBackend(
        stack,
        hostname=cloud.hostname,
        organization=cloud.organization,
        workspaces=NamedCloudWorkspace(workspace, project=cloud.project),
    )
