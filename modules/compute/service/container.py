"""The task definition's one container, as deterministic JSON."""

from __future__ import annotations

import json
from typing import Any

from modules.compute.service.permissions import SecretReference
from modules.config import ServiceConfig

# The container health check runs inside the image: it needs wget (busybox, alpine, debian-slim).
HEALTH_CHECK_INTERVAL = 30
HEALTH_CHECK_TIMEOUT = 5
HEALTH_CHECK_RETRIES = 3
HEALTH_CHECK_MAX_START_PERIOD = 300  # the most ECS accepts
# ECS exec's SSM agent writes under these paths; with a read-only root filesystem they are given
# task-scoped writable volumes so exec still works (aws/containers-roadmap#1359).
EXEC_WRITABLE_PATHS = (("exec-agent-state", "/var/lib/amazon"), ("exec-agent-logs", "/var/log/amazon"))


def exec_volumes(service: ServiceConfig, exec_enabled: bool) -> tuple[tuple[str, str], ...]:
    """(volume name, container path) pairs the container needs writable for ECS exec."""
    if exec_enabled and service.readonly_root_filesystem:
        return EXEC_WRITABLE_PATHS
    return ()


def container_definitions(
    service: ServiceConfig,
    *,
    image: str,
    log_group_name: str,
    region: str,
    secrets: dict[str, SecretReference],
    exec_enabled: bool,
    health_check_grace_seconds: int,
) -> str:
    """The one container, as deterministic JSON (sorted keys, env and secrets sorted by name)."""
    container: dict[str, Any] = {
        "name": service.name,
        "image": image,
        "essential": True,
        # awsvpc: the host port is the container port; stated so a re-plan sees no change.
        "portMappings": [{"containerPort": service.port, "hostPort": service.port, "protocol": "tcp"}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group_name,
                "awslogs-region": region,
                "awslogs-stream-prefix": service.name,
            },
        },
        "readonlyRootFilesystem": service.readonly_root_filesystem,
    }
    # Left out when empty: ECS drops empty lists, and a stated [] would differ on re-plan.
    if service.environment:
        container["environment"] = [{"name": k, "value": v} for k, v in sorted(service.environment.items())]
    if secrets:
        container["secrets"] = [
            {"name": k, "valueFrom": ref.value_from} for k, ref in sorted(secrets.items())
        ]
    if service.user is not None:
        container["user"] = service.user
    if service.protocol == "http" and service.container_health_check:
        url = f"http://localhost:{service.port}{service.health_check_path}"
        container["healthCheck"] = {
            "command": ["CMD-SHELL", f"wget -qO- {url} > /dev/null || exit 1"],
            "interval": HEALTH_CHECK_INTERVAL,
            "timeout": HEALTH_CHECK_TIMEOUT,
            "retries": HEALTH_CHECK_RETRIES,
            "startPeriod": min(health_check_grace_seconds, HEALTH_CHECK_MAX_START_PERIOD),
        }
    if exec_enabled:
        # ECS exec runs its agent beside the app; an init process reaps the sessions' children.
        container["linuxParameters"] = {"initProcessEnabled": True}
    volumes = exec_volumes(service, exec_enabled)
    if volumes:
        container["mountPoints"] = [
            {"sourceVolume": name, "containerPath": path, "readOnly": False} for name, path in volumes
        ]
    return json.dumps([container], sort_keys=True)
