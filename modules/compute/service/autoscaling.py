"""Target tracking autoscaling of one ECS service's desired count."""

from __future__ import annotations

from modules.cdk import Construct, aws
from modules.config.services import AutoscalingConfig

SCALE_IN_COOLDOWN = 300  # scale in slowly: a brief dip must not drop capacity
SCALE_OUT_COOLDOWN = 60


def target_tracking(
    scope: Construct,
    *,
    name: str,
    resource_id: str,
    min_count: int,
    max_count: int,
    targets: AutoscalingConfig,
    request_count_resource_label: str | None,
) -> None:
    """Target tracking on CPU, memory and ALB requests per target (each when its target > 0).

    `resource_id` is "service/<cluster>/<service>"; `name` prefixes each policy's name. Requests
    per target need `request_count_resource_label` ("<lb arn suffix>/<tg arn suffix>").
    """
    target = aws.appautoscaling_target.AppautoscalingTarget(
        scope,
        "autoscaling-target",
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=resource_id,
        min_capacity=min_count,
        max_capacity=max_count,
    )
    metrics = [
        ("cpu", "ECSServiceAverageCPUUtilization", targets.cpu_percent, None),
        ("memory", "ECSServiceAverageMemoryUtilization", targets.memory_percent, None),
    ]
    if request_count_resource_label is not None:
        metrics.append(
            (
                "requests",
                "ALBRequestCountPerTarget",
                targets.requests_per_target,
                request_count_resource_label,
            )
        )
    ap = aws.appautoscaling_policy
    for purpose, metric, value, label in metrics:
        if value <= 0:
            continue
        ap.AppautoscalingPolicy(
            scope,
            f"autoscaling-{purpose}",
            name=f"{name}-{purpose}",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=(
                ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                    target_value=value,
                    scale_in_cooldown=SCALE_IN_COOLDOWN,
                    scale_out_cooldown=SCALE_OUT_COOLDOWN,
                    predefined_metric_specification=(
                        ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                            predefined_metric_type=metric, resource_label=label
                        )
                    ),
                )
            ),
        )
