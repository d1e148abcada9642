"""The task definition's containers as deterministic JSON: the app, then the sidecars its
observability hooks add (X-Ray daemon, APM agents; modules/observability), and the volumes the app
mounts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modules.config import ServiceConfig
from modules.data.grant import FileSystemMount, StoreGrant
from modules.observability.sidecar import Sidecar, TaskAdditions

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


def with_additions(
    service_name: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    additions: Sequence[TaskAdditions],
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The app container's environment, secrets (name -> valueFrom) and docker labels: those of
    `container_variables`, then each hook's variables whose name the service does not set itself
    (a service may so override e.g. `DD_VERSION`), then the hooks' labels. Two hooks setting one
    name raise: their names are disjoint by design."""
    own = set(environment) | set(secrets)
    added: dict[str, str] = {}  # name -> the hook that set it
    labels: dict[str, str] = {}
    merged_environment, merged_secrets = dict(environment), dict(secrets)
    for hook in additions:
        for variables, target in ((hook.environment, merged_environment), (hook.secrets, merged_secrets)):
            for name, value in variables.items():
                if name in added:
                    raise ValueError(
                        f"service {service_name}: {name} is set by {added[name]} and by {hook.purpose}"
                    )
                added[name] = hook.purpose
                if name not in own:
                    target[name] = value
        for name, value in hook.docker_labels.items():
            if name in labels and labels[name] != value:
                raise ValueError(f"service {service_name}: docker label {name} is set twice")
            labels[name] = value
    return merged_environment, merged_secrets, labels


def _log_configuration(log_group_name: str, region: str, stream_prefix: str) -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": log_group_name,
            "awslogs-region": region,
            "awslogs-stream-prefix": stream_prefix,
        },
    }


def _variables(container: dict[str, Any], environment: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    # Left out when empty: ECS drops empty lists, and a stated [] would differ on re-plan.
    if environment:
        container["environment"] = [{"name": k, "value": v} for k, v in sorted(environment.items())]
    if secrets:
        container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())]


def sidecar_definition(sidecar: Sidecar, *, log_group_name: str, region: str) -> dict[str, Any]:
    """One sidecar container: not essential, no port mappings (the app reaches it on localhost),
    its own log stream prefix in the service's log group, a CPU and soft memory reservation."""
    container: dict[str, Any] = {
        "name": sidecar.name,
        "image": sidecar.image,
        "essential": False,
        "cpu": sidecar.cpu,
        "memoryReservation": sidecar.memory_reservation,
        "logConfiguration": _log_configuration(log_group_name, region, sidecar.log_stream_prefix),
        "readonlyRootFilesystem": sidecar.readonly_root_filesystem,
    }
    _variables(container, sidecar.environment, sidecar.secrets)
    if sidecar.docker_labels:
        container["dockerLabels"] = dict(sorted(sidecar.docker_labels.items()))
    return container


def check_sidecars(service: ServiceConfig, sidecars: Sequence[Sidecar]) -> None:
    """Raises when a sidecar's name is the app's or another sidecar's (ECS refuses the task
    definition), or when the sidecars' reservations leave the app nothing of the task."""
    names = [service.name, *(s.name for s in sidecars)]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(
            f"service {service.name}: container name {', '.join(duplicated)} is used twice in its task"
        )
    for used, total, what in (
        (sum(s.memory_reservation for s in sidecars), service.memory, "MiB of memory"),
        (sum(s.cpu for s in sidecars), service.cpu, "CPU units"),
    ):
        if sidecars and used >= total:
            raise ValueError(f"service {service.name}: its sidecars reserve {used} of its {total} {what}")


def container_definitions(
    service: ServiceConfig,
    *,
    image: str,
    log_group_name: str,
    region: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    docker_labels: Mapping[str, str],
    mounts: Sequence[MountPoint],
    exec_enabled: bool,
    health_check_grace_seconds: int,
    sidecars: Sequence[Sidecar],
) -> str:
    """The app container, then the sidecars in the order given, as deterministic JSON (sorted
    keys, env and secrets sorted by name).

    `environment`, `secrets` (name -> valueFrom) and `docker_labels` are those of
    `with_additions`, `mounts` those of `mount_points`."""
    check_sidecars(service, sidecars)
    container: dict[str, Any] = {
        "name": service.name,
        "image": image,
        "essential": True,
        # awsvpc: the host port is the container port; stated so a re-plan sees no change.
        "portMappings": [{"containerPort": service.port, "hostPort": service.port, "protocol": "tcp"}],
        "logConfiguration": _log_configuration(log_group_name, region, service.name),
        "readonlyRootFilesystem": service.readonly_root_filesystem,
    }
    _variables(container, environment, secrets)
    if docker_labels:
        container["dockerLabels"] = dict(sorted(docker_labels.items()))
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
    sidecar_containers = [
        sidecar_definition(s, log_group_name=log_group_name, region=region) for s in sidecars
    ]
    return json.dumps([container, *sidecar_containers], sort_keys=True)
