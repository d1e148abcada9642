"""What an observability hook adds to one service's task: sidecar containers, the app container's
variables and labels, and what the task's roles must allow. Plain typed data: the service's
container module renders it (modules/compute/service/container.py), the service grants it.

Imports nothing from cdktf, so the service can combine and test it without a stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sidecar:
    """A non-essential container beside the app in the same task (awsvpc: they share localhost).

    It has no port mappings: the app reaches it on 127.0.0.1, and nothing outside the task can (a
    mapping would only matter to a load balancer or a bridge network, and the tasks' security group
    admits no one on these ports anyway). Its logs go to the service's log group under its own
    stream prefix. Not essential: the app keeps serving when the sidecar stops (ECS records it).
    """

    name: str  # the container name, unique in the task
    image: str  # pinned
    cpu: int  # CPU units reserved, counted against the task's
    memory_reservation: int  # MiB, a soft limit, counted against the task's memory
    readonly_root_filesystem: bool  # false only where the image must write (said where it is set)
    log_stream_prefix: str
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # name -> valueFrom (an ARN, never a value)
    docker_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskAdditions:
    """One hook's additions to a service's task definition and roles.

    `environment` and `secrets` go into the app container as defaults: a name the service sets
    itself (its `environment` or `secrets`, or a store's) keeps the service's value.
    """

    purpose: str  # "xray", "datadog", ...: names the task role policy holding `task_statements`
    sidecars: tuple[Sidecar, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)  # the app container's
    secrets: Mapping[str, str] = field(default_factory=dict)  # the app container's: name -> valueFrom
    docker_labels: Mapping[str, str] = field(default_factory=dict)  # the app container's
    execution_secret_arns: tuple[str, ...] = ()  # Secrets Manager secrets the execution role reads
    task_statements: tuple[dict[str, Any], ...] = ()  # what the app and its sidecars call (task role)
