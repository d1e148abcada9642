"""The task definition's one container, as deterministic JSON, and the volumes it mounts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modules.config import ServiceConfig
from modules.data.grant import FileSystemMount, StoreGrant

# The container health check runs inside the image: it needs wget (busybox, alpine, debian-slim).
HEALTH_CHECK_INTERVAL = 30
HEALTH_CHECK_TIMEOUT = 5
HEALTH_CHECK_RETRIES = 3
HEALTH_CHECK_MAX_START_PERIOD = 300  # the most ECS accepts
# ECS exec's SSM agent writes under these paths; with a read-only root filesystem they are given
# task-scoped writable volumes so exec still works (aws/containers-roadmap#1359).
EXEC_WRITABLE_PATHS = (("exec-agent-state", "/var/lib/amazon"), ("exec-agent-logs", "/var/log/amazon"))


@dataclass(frozen=True)
class MountPoint:
    """One mount of the container: a task definition volume at a path inside the container."""

    volume_name: str
    container_path: str
    read_only: bool
    file_system: FileSystemMount | None  # None: a task-scoped volume (ECS exec's agent paths)


def exec_volumes(service: ServiceConfig, exec_enabled: bool) -> tuple[tuple[str, str], ...]:
    """(volume name, container path) pairs the container needs writable for ECS exec."""
    if exec_enabled and service.readonly_root_filesystem:
        return EXEC_WRITABLE_PATHS
    return ()


def mount_points(
    service: ServiceConfig, exec_enabled: bool, mounts: Sequence[FileSystemMount]
) -> tuple[MountPoint, ...]:
    """ECS exec's writable paths, then the granted file systems by volume name (the order of
    `uses` then moves no mount point). The schema refuses two mounts at one path; one that
    reaches here anyway raises, as does a volume name used twice."""
    points = [MountPoint(name, path, False, None) for name, path in exec_volumes(service, exec_enabled)]
    points += [
        MountPoint(m.volume_name, m.container_path, m.read_only, m)
        for m in sorted(mounts, key=lambda m: m.volume_name)
    ]
    for attribute, what in (("volume_name", "volume"), ("container_path", "mount path")):
        seen: set[str] = set()
        for point in points:
            value = getattr(point, attribute)
            if value in seen:
                raise ValueError(f"service {service.name}: {what} {value} is mounted twice")
            seen.add(value)
    return tuple(points)


def container_variables(
    service: ServiceConfig, secrets: Mapping[str, str], grant: StoreGrant
) -> tuple[dict[str, str], dict[str, str]]:
    """The container's environment (name -> value) and secrets (name -> valueFrom): the service's
    own (`secrets` resolved to valueFrom) and the grant's. The schema refuses a name set twice;
    one that reaches here anyway raises rather than one silently replacing the other."""
    sources = {
        "environment": service.environment,
        "secrets": secrets,
        "a store's environment": grant.environment,
        "a store's secrets": grant.secrets,
    }
    seen: dict[str, str] = {}
    for source, variables in sources.items():
        for name in variables:
            if name in seen:
                raise ValueError(f"service {service.name}: {name} is set by {seen[name]} and by {source}")
            seen[name] = source
    return {**service.environment, **grant.environment}, {**secrets, **grant.secrets}


def container_definitions(
    service: ServiceConfig,
    *,
    image: str,
    log_group_name: str,
    region: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    mounts: Sequence[MountPoint],
    exec_enabled: bool,
    health_check_grace_seconds: int,
) -> str:
    """The one container, as deterministic JSON (sorted keys, env and secrets sorted by name).

    `environment` and `secrets` (name -> valueFrom) are the merged ones of `container_variables`,
    `mounts` those of `mount_points`."""
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
    if environment:
        container["environment"] = [{"name": k, "value": v} for k, v in sorted(environment.items())]
    if secrets:
        container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())]
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
    if mounts:
        container["mountPoints"] = [
            {"sourceVolume": m.volume_name, "containerPath": m.container_path, "readOnly": m.read_only}
            for m in mounts
        ]
    return json.dumps([container], sort_keys=True)
