"""`compute` and `[cluster]` of an environment file: the ECS cluster and how services run on it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from modules.config.rules import rule
from modules.config.types import Strict


class ClusterConfig(Strict):
    """`[cluster]`: the ECS cluster and how services run on it."""

    container_insights: bool
    """Container Insights (per-task CPU, memory and network metrics) on the ECS cluster."""
    spot: bool
    """Fargate: default capacity strategy FARGATE_SPOT (true) or FARGATE (false)."""
    exec_enabled: bool
    """ECS exec (`aws ecs execute-command`) into running tasks, audited to the log group
    `/<project>/<env>/ecs-exec`."""
    log_retention_days: int
    """Days the services' log groups and the ECS exec audit log group are kept: a CloudWatch Logs
    retention value."""
    deploy_owner: Literal["terraform", "pipeline"] = "terraform"
    """pipeline: task definition and desired count are ignored by Terraform, so an apply never
    reverts what CI/CD deployed (with autoscaling, desired count is always ignored)."""
    min_healthy_percent: int = Field(ge=0, le=100)
    """Deployments: the share of desired tasks that must keep running while tasks are replaced."""
    max_percent: int = Field(ge=100, le=400)
    """Deployments: the most tasks that may run at once, as a share of desired tasks."""
    health_check_grace_seconds: int = Field(default=60, ge=0, le=2_147_483_647)
    """Seconds after a task starts before failing load balancer health checks count against it."""
    ecr_keep_tagged_images: int = Field(default=30, ge=1, le=1000)
    """ECR lifecycle: the newest tagged images kept per repository; older ones expire."""
    ecr_untagged_expiry_days: int = Field(default=7, ge=1, le=365)
    """ECR lifecycle: days after which untagged images expire."""
    instance_type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")] = "t3.medium"
    """`compute = "ec2"` only: the EC2 instance type of the ECS instances."""
    instance_min: int = Field(default=1, ge=0, le=1000)
    """`compute = "ec2"` only: the Auto Scaling Group's minimum size."""
    instance_max: int = Field(default=4, ge=1, le=1000)
    """`compute = "ec2"` only: the Auto Scaling Group's maximum size."""
    instance_volume_gb: int = Field(default=30, ge=30, le=16384)
    """`compute = "ec2"` only: size of each instance's encrypted gp3 root volume (GiB)."""

    @rule("instance_min", "instance_max")
    def _instances(self) -> None:
        if self.instance_min > self.instance_max:
            raise ValueError(
                f"instance_min ({self.instance_min}) is above instance_max ({self.instance_max})"
            )
