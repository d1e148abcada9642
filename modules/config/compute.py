"""`compute` and `[cluster]` of an environment file: the ECS cluster and how services run on it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from modules.config.types import Strict


class ClusterConfig(Strict):
    """`[cluster]`: the ECS cluster and how services run on it."""

    container_insights: bool
    spot: bool
    """Fargate: default capacity strategy FARGATE_SPOT (true) or FARGATE (false)."""
    exec_enabled: bool
    """ECS exec (`aws ecs execute-command`) into running tasks, audited to a log group."""
    log_retention_days: int
    deploy_owner: Literal["terraform", "pipeline"] = "terraform"
    """pipeline: task definition and desired count are ignored by Terraform, so an apply never
    reverts what CI/CD deployed."""
    min_healthy_percent: int = Field(ge=0, le=100)
    max_percent: int = Field(ge=100, le=400)
    health_check_grace_seconds: int = Field(default=60, ge=0, le=2_147_483_647)
    ecr_keep_tagged_images: int = Field(default=30, ge=1, le=1000)
    ecr_untagged_expiry_days: int = Field(default=7, ge=1, le=365)
    # compute = "ec2" only:
    instance_type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")] = "t3.medium"
    instance_min: int = Field(default=1, ge=0, le=1000)
    instance_max: int = Field(default=4, ge=1, le=1000)
    instance_volume_gb: int = Field(default=30, ge=30, le=16384)

    @model_validator(mode="after")
    def _instances(self) -> ClusterConfig:
        if self.instance_min > self.instance_max:
            raise ValueError(
                f"instance_min ({self.instance_min}) is above instance_max ({self.instance_max})"
            )
        return self
