"""`[alarms]`, `[notifications]`, `[tracing]` and `[apm]` of an environment file: what watches the
environment and whom it tells.

Every default threshold lives here (and so in the rendered reference); the evaluation window comes
from the profile. A service may override its own CPU and memory thresholds (`[services.alarms]`).
The secrets these sections name (the Discord webhook URL, the APM key) are `[[secrets]]` entries of
the same file: only their ARNs ever reach the generated JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from modules.config.types import (
    DeclaredSecret,
    Email,
    HttpsUrl,
    Strict,
    check_log_retention,
)

Percent = Annotated[float, Field(gt=0, le=100)]
Tracing = Literal["none", "xray"]
ApmProvider = Literal["datadog", "newrelic", "sentry"]


class AlarmsConfig(Strict):
    """`[alarms]`: the default alarm set, built from what the environment has, to the alerts topic."""

    enabled: bool = True
    """The default alarm set and the composite "environment unhealthy" alarm; false: none (the
    dashboard, topics and events stay)."""
    period_seconds: Literal[60, 300, 900, 3600] = 60
    """Length of one evaluation period (seconds)."""
    evaluation_periods: int = Field(ge=1, le=60)
    """Periods a metric must breach in a row before its alarm fires."""
    alb_5xx_percent: Percent = 5
    """Public and internal ALBs: 5xx responses (load balancer and targets) as a share of requests."""
    alb_response_time_p99_seconds: float = Field(default=2.0, gt=0, le=300)
    """ALBs: p99 of the targets' response time (seconds)."""
    unhealthy_hosts: int = Field(default=1, ge=1, le=1000)
    """Per target group: unhealthy targets at or above which its alarm fires."""
    service_cpu_percent: Percent = 90
    """Per ECS service: average CPU utilization; a service's `alarms.cpu_percent` overrides it."""
    service_memory_percent: Percent = 90
    """Per ECS service: average memory utilization; a service's `alarms.memory_percent` overrides it."""
    database_cpu_percent: Percent = 80
    """RDS / Aurora: CPU utilization (per instance for Aurora's writer and readers)."""
    database_free_storage_gib: int = Field(default=5, ge=1, le=65536)
    """RDS: free storage (GiB) below which its alarm fires (Aurora storage grows by itself)."""
    database_freeable_memory_mib: int = Field(default=256, ge=1, le=1048576)
    """RDS / Aurora: freeable memory (MiB) below which its alarm fires."""
    database_connections: int = Field(default=200, ge=1, le=100000)
    """RDS / Aurora: open connections at or above which its alarm fires."""
    cache_cpu_percent: Percent = 80
    """ElastiCache: engine CPU utilization."""
    cache_memory_percent: Percent = 80
    """ElastiCache: `DatabaseMemoryUsagePercentage`."""
    cache_evictions: int = Field(default=100, ge=1, le=100000000)
    """ElastiCache: keys evicted per period at or above which its alarm fires."""
    cache_replication_lag_seconds: float = Field(default=30, gt=0, le=3600)
    """ElastiCache with a replica: replication lag (seconds)."""
    nat_port_allocation_errors: int = Field(default=1, ge=1, le=1000000)
    """Per NAT gateway: port allocation errors per period (connections it could not open)."""
    notifier_errors: int = Field(default=1, ge=1, le=1000)
    """The Discord notifier: errors or throttles per period; its dead-letter queue alarms on any
    message."""


class ServiceAlarmsConfig(Strict):
    """`[services.alarms]`: one service's own thresholds; unset: the environment's `[alarms]`."""

    cpu_percent: Percent | None = None
    """Average CPU utilization of the service; unset: `alarms.service_cpu_percent`."""
    memory_percent: Percent | None = None
    """Average memory utilization of the service; unset: `alarms.service_memory_percent`."""


class NotificationsConfig(Strict):
    """`[notifications]`: the `alerts` and `deployments` SNS topics, who they reach, and Discord."""

    alert_emails: list[Email] = []
    """Email subscriptions of the alerts topic (alarms, GuardDuty, task crashes); each address
    confirms its subscription once."""
    alert_https_endpoints: list[HttpsUrl] = []
    """HTTPS subscriptions of the alerts topic (an on-call tool's SNS endpoint)."""
    deployment_emails: list[Email] = []
    """Email subscriptions of the deployments topic (failed or rolled-back deployments)."""
    discord_webhook_secret: DeclaredSecret | None = None
    """`secret:<name>`: a `[[secrets]]` entry holding the Discord webhook URL (set out of band or
    write-only); set: a Lambda notifier posts both topics to Discord. Unset: no notifier."""
    guardduty_min_severity: float = Field(default=7.0, ge=1, le=10)
    """GuardDuty findings at or above this severity (1-10; high is 7) reach the alerts topic."""
    log_retention_days: int
    """Days the notifier's log group is kept (a CloudWatch Logs retention value)."""

    _retention = field_validator("log_retention_days")(check_log_retention)


class TracingConfig(Strict):
    """`[tracing]`: AWS X-Ray for the environment's services."""

    mode: Tracing = "none"
    """xray: every service runs an X-Ray daemon sidecar (a service may opt out with `tracing =
    "none"`, or opt in alone with `tracing = "xray"`); none: no tracing."""
    sampling_rate: float = Field(default=0.05, ge=0, le=1)
    """Share of requests traced beyond the reservoir."""
    reservoir_per_second: int = Field(default=1, ge=0, le=10000)
    """Requests per second traced before `sampling_rate` applies."""
    daemon_image: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^\S+$")] = (
        "public.ecr.aws/xray/aws-xray-daemon:3.3.14"
    )
    """The X-Ray daemon sidecar's image (pinned)."""


class ApmConfig(Strict):
    """`[apm]`: an external APM for the environment's services (each may opt out with `apm = false`)."""

    provider: ApmProvider
    """datadog: an agent sidecar (APM and DogStatsD from the app container only); newrelic: the
    license key and app name for the agent in the app container; sentry: the DSN, environment and
    release for the SDK."""
    key_secret: DeclaredSecret
    """`secret:<name>`: the `[[secrets]]` entry holding the Datadog API key, New Relic license key or
    Sentry DSN; injected by ARN, never in the JSON."""
    datadog_site: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")] = "datadoghq.com"
    """datadog: the Datadog site the agent reports to."""
    agent_image: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^\S+$")] | None = (
        None
    )
    """The sidecar's image (datadog: the agent; newrelic: the infrastructure agent); unset: the
    pinned default of the provider."""
    newrelic_infrastructure: bool = False
    """newrelic: also run the New Relic infrastructure agent as a sidecar."""


def declared_secret_name(ref: str) -> str:
    """The `[[secrets]]` entry a `secret:<name>` names."""
    return ref.removeprefix("secret:")


def observability_rules(
    notifications: NotificationsConfig | None,
    apm: ApmConfig | None,
    secret_names: Sequence[str] | None,
) -> list[tuple[str, str]]:
    """The secrets `[notifications]` and `[apm]` name must be `[[secrets]]` entries of the file.

    `secret_names`: the declared entries' names, None while one of them did not validate.
    """
    if secret_names is None:
        return []
    names = sorted(secret_names)
    problems = []
    for key, ref in (
        (
            "notifications.discord_webhook_secret",
            notifications.discord_webhook_secret if notifications else None,
        ),
        ("apm.key_secret", apm.key_secret if apm else None),
    ):
        if ref is not None and declared_secret_name(ref) not in names:
            problems.append(
                (
                    key,
                    f"no [[secrets]] entry named '{declared_secret_name(ref)}' "
                    f"(declared: {', '.join(names) or 'none'})",
                )
            )
    return problems
