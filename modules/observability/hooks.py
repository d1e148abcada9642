"""What one service's observability adds to its task: the X-Ray daemon when it is traced, then its
APM provider's hooks (`TaskAdditions`, rendered by the service's container module)."""

from __future__ import annotations

from collections.abc import Mapping

from modules.config import Environment, ServiceConfig
from modules.config.observability import declared_secret_name
from modules.observability.apm import apm_additions, image_version
from modules.observability.sidecar import TaskAdditions
from modules.observability.tracing import tracing_name, xray_additions


def service_additions(
    env: Environment, service: ServiceConfig, secret_arns: Mapping[str, str]
) -> tuple[TaskAdditions, ...]:
    """The X-Ray daemon when `env.traced(service)`, then the hooks of `env.apm_for(service)`; ()
    for neither. `secret_arns`: the environment's declared secrets by name (Secrets.secret_arns),
    one of which holds the APM key."""
    additions = []
    if env.traced(service):
        additions.append(
            xray_additions(
                image=env.config.tracing.daemon_image,
                region=env.region,
                segment_name=tracing_name(env.prefix, service.name),
            )
        )
    apm = env.apm_for(service)
    if apm is not None:
        additions.append(
            apm_additions(
                apm,
                project=env.project.name,
                environment=env.name,
                service=service.name,
                version=image_version(service.image, service.image_tag),
                # The config refuses a key_secret that names no [[secrets]] entry.
                secret_arn=secret_arns[declared_secret_name(apm.key_secret)],
            )
        )
    return tuple(additions)
