"""What one `uses` entry of a store gives a service: connection settings, secrets, IAM, mounts.

Every store (database, cache, bucket, file system) answers `grant(service, use)` with a
`StoreGrant`; the service puts the settings in its container and the statements in its roles,
without knowing which store they came from. The network path is opened separately, by the store's
`allow_from` (the side being reached owns the rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FileSystemMount:
    """One EFS mount of a service: the task definition volume and the container's mount point."""

    volume_name: str  # the task definition's volume name, e.g. "efs-shared"
    file_system_id: str
    access_point_id: str  # the service's own access point: its root directory and POSIX user
    container_path: str
    read_only: bool


@dataclass(frozen=True)
class StoreGrant:
    """What a service gets for one use of a store. Statement Sids are unique across a service's
    grants (each store names its own), so all of them fit one policy document per role."""

    environment: Mapping[str, str] = field(default_factory=dict)  # plain env vars (tokens allowed)
    secrets: Mapping[str, str] = field(default_factory=dict)  # env var -> the container's valueFrom
    task_statements: tuple[dict[str, Any], ...] = ()  # the task role: what the application does
    execution_statements: tuple[dict[str, Any], ...] = ()  # the execution role: reading `secrets`
    mounts: tuple[FileSystemMount, ...] = ()


def combined(grants: Iterable[StoreGrant]) -> StoreGrant:
    """All of a service's grants as one; the schema refuses uses whose variables collide."""
    grants = list(grants)
    environment: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for grant in grants:
        environment.update(grant.environment)
        secrets.update(grant.secrets)
    return StoreGrant(
        environment=environment,
        secrets=secrets,
        task_statements=tuple(s for g in grants for s in g.task_statements),
        execution_statements=tuple(s for g in grants for s in g.execution_statements),
        mounts=tuple(m for g in grants for m in g.mounts),
    )


def sid_part(name: str) -> str:
    """A config name or access mode as part of a statement Sid (letters and digits only):
    "user-files" -> "UserFiles"; Sids name the store so a service's grants never share one."""
    return "".join(part.capitalize() for part in name.split("-"))
