"""`environments/project.toml`: the project name, state account and region, `[state]`, `[tags]`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from modules.config.cloud import Backend, CloudSettings
from modules.config.delivery import DeliveryConfig
from modules.config.types import AccountId, LockMode, Region, Slug, Strict, TagKey, TagValue

PROJECT_FILE = "project.toml"
STANDARD_TAGS = ("Project", "Environment", "Owner", "ManagedBy")


class StateSettings(Strict):
    """`[state]` in project.toml: how the bootstrap stack and the environment backends keep state."""

    lock: LockMode = "dynamodb"
    """dynamodb: a DynamoDB lock table; lockfile: S3 native `use_lockfile` (Terraform 1.10 or later; the
    DynamoDB backend arguments are deprecated in 1.11); both: the two together."""
    bootstrap_backend: Literal["local", "s3", "cloud"] = "local"
    """local for the first apply; s3 once the bootstrap state has been migrated into its own bucket
    (some environment must use the s3 backend); cloud: in the Terraform Cloud workspace
    `<project>-bootstrap` of `[cloud]` (optional; execution mode Local, so it runs with your own
    credentials)."""
    noncurrent_version_days: int = Field(default=90, ge=1, le=3650)
    """Days a superseded state version is kept before it expires."""
    access_log_days: int = Field(default=365, ge=1, le=3650)
    """Days the state bucket's server access logs are kept."""


class ProjectConfig(Strict):
    """environments/project.toml."""

    name: Slug
    """The project's slug (a-z, 0-9, '-', 2-20 chars); it prefixes every resource name."""
    region: Region
    """Region of the state bucket, and the region of every environment that sets none."""
    account_id: AccountId
    """The account that holds the state bucket (12 digits), and of every environment that sets none."""
    owner: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\w .:/=+@-]+$")] = (
        "platform"
    )
    """Value of the `Owner` default tag on every resource."""
    state: StateSettings = StateSettings()
    """How the bootstrap stack and the environment backends keep Terraform state."""
    backend: Backend = "s3"
    """Where the environment stacks keep state: s3 (the bootstrap stack's bucket) or cloud (Terraform
    Cloud workspaces, see `[cloud]`); an environment file may choose its own."""
    cloud: CloudSettings | None = None
    """The Terraform Cloud (or Enterprise) organization, project and host of the cloud environments;
    required when any environment uses the cloud backend."""
    delivery: DeliveryConfig = DeliveryConfig()
    """How services are built and deployed and how Terraform runs from CI: GitHub Actions with OIDC,
    CodePipeline, or none (README: "Deploying services", "Running Terraform from CI")."""
    tags: dict[TagKey, TagValue] = {}
    """Extra default tags on every resource; `Project`, `Environment`, `Owner` and `ManagedBy` are
    set by the generator and may not be overridden."""

    @field_validator("name")
    @classmethod
    def _not_internal(cls, name: str) -> str:
        if name == "internal" or name.startswith("internal-"):
            raise ValueError(
                "load balancer names start with the project name and may not start with 'internal-'"
            )
        if name.startswith(("aws", "ecs", "fargate")):
            raise ValueError(
                "ECS capacity provider names start with the project name and may not start with aws, ecs or fargate"
            )
        return name

    @field_validator("tags")
    @classmethod
    def _no_standard_tag_override(cls, tags: dict[str, str]) -> dict[str, str]:
        clashes = sorted(set(tags) & set(STANDARD_TAGS))
        if clashes:
            raise ValueError(f"{', '.join(clashes)} is set by the generator; choose another tag key")
        return tags


def default_tags(project: ProjectConfig, stack_name: str) -> dict[str, str]:
    """Provider default tags of a stack: the four standard tags, then the project's own."""
    standard = {
        "Project": project.name,
        "Environment": stack_name,
        "Owner": project.owner,
        "ManagedBy": "terraform",
    }
    return {**standard, **dict(sorted(project.tags.items()))}
