"""The signals an environment's alarms and its dashboard watch, each defined once.

A `Watch` is one metric (or metric math over several) and the condition that makes it an alarm:
threshold, comparison, evaluation window and how missing data counts. `Alarms` turns each into a
CloudWatch alarm and `Dashboard` into a graph with the same threshold drawn on it, so the two never
disagree. `watches(resources)` builds the set from what the environment has (`WatchedResources`,
resources.py), and nothing for what it lacks.

Missing data, chosen per signal:
- notBreaching for load and event counts: CloudWatch publishes no datapoint when nothing happens
  (no requests, no tasks, no errors), and quiet is healthy.
- missing for headroom (free storage, freeable memory): a gap says nothing either way, so the alarm
  keeps its state rather than guessing.
- breaching for the running task count: Container Insights reports it every minute while the
  service exists, so its absence is itself a reason to look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from modules.config.observability import AlarmsConfig
from modules.observability.resources import (
    CacheWatch,
    DatabaseWatch,
    LoadBalancerWatch,
    NotifierWatch,
    ServiceWatch,
    WatchedResources,
)

Comparison = Literal["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold"]
MissingData = Literal["breaching", "notBreaching", "missing"]

# SQS publishes queue metrics every five minutes: a shorter period would see gaps, not zeros.
SQS_PERIOD_SECONDS = 300
GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class Metric:
    """One CloudWatch metric with the statistic it is read with."""

    namespace: str  # "AWS/ECS"
    name: str  # "CPUUtilization"
    dimensions: tuple[tuple[str, str], ...]  # (name, value), in the order the console shows them
    statistic: str  # Average, Sum, Minimum, Maximum, or a percentile such as p99

    @property
    def percentile(self) -> bool:
        """Read with an extended statistic (p99), not a plain one."""
        return self.statistic.startswith("p")


@dataclass(frozen=True)
class MetricMath:
    """An expression over metrics; its result is what the alarm compares."""

    expression: str  # over the ids of `inputs`
    inputs: tuple[tuple[str, Metric], ...]  # (id, metric); an id starts with a lowercase letter
    label: str


@dataclass(frozen=True)
class Watch:
    """One watched signal: what both its alarm and its dashboard graph are built from."""

    key: str  # "service-api-cpu": the alarm's construct ID and the end of its name
    row: str  # the dashboard row it belongs to: "Service api", "Database"
    title: str  # the graph's title
    signal: Metric | MetricMath
    comparison: Comparison
    threshold: float
    period_seconds: int
    evaluation_periods: int
    datapoints_to_alarm: int  # of the last `evaluation_periods`; fewer for discrete events
    treat_missing_data: MissingData
    description: str  # what it means and where to look

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """Every metric the signal reads."""
        if isinstance(self.signal, Metric):
            return (self.signal,)
        return tuple(metric for _, metric in self.signal.inputs)


def shown(value: float) -> str:
    """A threshold as people write it: 90, not 90.0."""
    return str(int(value)) if float(value).is_integer() else str(value)


class _Builder:
    """Watches with the environment's evaluation window."""

    def __init__(self, alarms: AlarmsConfig) -> None:
        self.alarms = alarms
        self.found: list[Watch] = []

    def add(
        self,
        key: str,
        row: str,
        title: str,
        signal: Metric | MetricMath,
        comparison: Comparison,
        threshold: float,
        missing: MissingData,
        description: str,
        *,
        event: bool = False,
        period_seconds: int | None = None,
    ) -> None:
        """`event`: a discrete occurrence (an error, a dead letter) alarms on one breaching period of
        the window, and clears only after a whole quiet window; anything else must breach every
        period of it."""
        periods = self.alarms.evaluation_periods
        period = period_seconds or self.alarms.period_seconds
        window = f"{periods} period(s) of {period} s"
        self.found.append(
            Watch(
                key=key,
                row=row,
                title=title,
                signal=signal,
                comparison=comparison,
                threshold=threshold,
                period_seconds=period,
                evaluation_periods=periods,
                datapoints_to_alarm=1 if event else periods,
                treat_missing_data=missing,
                description=f"{description} (fires on {'1 of' if event else 'all of'} {window})",
            )
        )


def _load_balancer(b: _Builder, lb: LoadBalancerWatch) -> None:
    """ALB-wide: the share of 5xx answers and the targets' p99 latency (an NLB has neither)."""
    if not lb.application:
        return
    dims = (("LoadBalancer", lb.arn_suffix),)

    def count(name: str) -> Metric:
        return Metric(lb.namespace, name, dims, "Sum")

    a = b.alarms
    rate = MetricMath(
        # A 5xx count has no datapoint while there are none: FILL reads that as 0. No requests at
        # all leave the rate without data: no traffic is no 5xx spike.
        expression="100 * (FILL(elb_5xx, 0) + FILL(target_5xx, 0)) / requests",
        inputs=(
            ("elb_5xx", count("HTTPCode_ELB_5XX_Count")),
            ("target_5xx", count("HTTPCode_Target_5XX_Count")),
            ("requests", count("RequestCount")),
        ),
        label="5xx responses (% of requests)",
    )
    b.add(
        f"{lb.key}-5xx-rate",
        lb.title,
        f"{lb.title}: 5xx rate (%)",
        rate,
        "GreaterThanOrEqualToThreshold",
        a.alb_5xx_percent,
        "notBreaching",
        f"{lb.title}: at least {shown(a.alb_5xx_percent)}% of requests answered 5xx (by the load "
        "balancer or its targets). Look at the services' logs and unhealthy-host alarms, and at "
        "recent deployments; threshold: [alarms] alb_5xx_percent",
    )
    b.add(
        f"{lb.key}-response-time-p99",
        lb.title,
        f"{lb.title}: target response time p99 (s)",
        Metric(lb.namespace, "TargetResponseTime", dims, "p99"),
        "GreaterThanOrEqualToThreshold",
        a.alb_response_time_p99_seconds,
        "notBreaching",
        f"{lb.title}: 1% of requests took {shown(a.alb_response_time_p99_seconds)} s or longer in the "
        "targets. Look at the services' CPU and memory, the database and cache, and slow endpoints in "
        "the logs; threshold: [alarms] alb_response_time_p99_seconds",
    )


def _service(b: _Builder, service: ServiceWatch, cluster_name: str, container_insights: bool) -> None:
    row = f"Service {service.name}"
    key = f"service-{service.name}"
    a = b.alarms
    lb = service.load_balancer
    b.add(
        f"{key}-unhealthy-hosts",
        row,
        f"{service.name}: unhealthy targets ({lb.title})",
        Metric(
            lb.namespace,
            "UnHealthyHostCount",
            (("TargetGroup", service.target_group_arn_suffix), ("LoadBalancer", lb.arn_suffix)),
            "Maximum",
        ),
        "GreaterThanOrEqualToThreshold",
        a.unhealthy_hosts,
        # Published while the target group has targets; with none, the running-task alarm (or
        # the task-stopped events) tell the story.
        "notBreaching",
        f"Service {service.name}: {shown(a.unhealthy_hosts)} or more tasks fail the {lb.title} "
        "health check. Look at the service's events and the task logs (crash loop, health check path, "
        "port); threshold: [alarms] unhealthy_hosts",
    )
    dims = (("ClusterName", cluster_name), ("ServiceName", service.ecs_service_name))
    for metric, what, shown_as, threshold, setting in (
        ("CPUUtilization", "cpu", "CPU", service.cpu_percent, "cpu_percent"),
        ("MemoryUtilization", "memory", "memory", service.memory_percent, "memory_percent"),
    ):
        b.add(
            f"{key}-{what}",
            row,
            f"{service.name}: {shown_as} utilization (%)",
            Metric("AWS/ECS", metric, dims, "Average"),
            "GreaterThanOrEqualToThreshold",
            threshold,
            # No running task publishes nothing: nothing is overloaded.
            "notBreaching",
            f"Service {service.name}: average {shown_as} of its tasks at or above {shown(threshold)}%. "
            "Look at autoscaling (max_count), traffic and recent deployments; threshold: the service's "
            f"alarms.{setting}, else [alarms] service_{setting}",
        )
    if container_insights:
        b.add(
            f"{key}-running-tasks",
            row,
            f"{service.name}: tasks missing (desired - running)",
            MetricMath(
                expression="desired - running",
                inputs=(
                    ("desired", Metric("ECS/ContainerInsights", "DesiredTaskCount", dims, "Average")),
                    ("running", Metric("ECS/ContainerInsights", "RunningTaskCount", dims, "Average")),
                ),
                label="desired - running tasks",
            ),
            "GreaterThanOrEqualToThreshold",
            1,
            # Container Insights reports both counts every minute while the service exists: no
            # data means the service or its insights are gone, which needs a look.
            "breaching",
            f"Service {service.name}: fewer tasks running than desired. Look at the service's events "
            "and stopped tasks (exit codes, failed health checks, capacity, image pulls)",
        )


def _database(b: _Builder, database: DatabaseWatch) -> None:
    a = b.alarms
    for instance in database.instance_ids:
        # An RDS instance is "database"; an Aurora member is named after its number.
        key = "database" if not database.aurora else f"database-{instance.rsplit('-', 1)[1]}"
        dims = (("DBInstanceIdentifier", instance),)
        what = f"Database {instance}"
        b.add(
            f"{key}-cpu",
            "Database",
            f"{instance}: CPU utilization (%)",
            Metric("AWS/RDS", "CPUUtilization", dims, "Average"),
            "GreaterThanOrEqualToThreshold",
            a.database_cpu_percent,
            "notBreaching",
            f"{what}: CPU at or above {shown(a.database_cpu_percent)}%. Look at Performance "
            "Insights (top SQL, waits); threshold: [alarms] database_cpu_percent",
        )
        b.add(
            f"{key}-freeable-memory",
            "Database",
            f"{instance}: freeable memory (bytes)",
            Metric("AWS/RDS", "FreeableMemory", dims, "Minimum"),
            "LessThanThreshold",
            a.database_freeable_memory_mib * MIB,
            "missing",
            f"{what}: freeable memory below {a.database_freeable_memory_mib} MiB. Look at "
            "connections and Performance Insights, or a larger instance class; threshold: [alarms] "
            "database_freeable_memory_mib",
        )
        b.add(
            f"{key}-connections",
            "Database",
            f"{instance}: connections",
            Metric("AWS/RDS", "DatabaseConnections", dims, "Maximum"),
            "GreaterThanOrEqualToThreshold",
            a.database_connections,
            "notBreaching",
            f"{what}: {a.database_connections} or more open connections. Look at the services' "
            "connection pools and task counts; threshold: [alarms] database_connections",
        )
        if not database.aurora:  # Aurora's storage grows by itself
            b.add(
                f"{key}-free-storage",
                "Database",
                f"{instance}: free storage (bytes)",
                Metric("AWS/RDS", "FreeStorageSpace", dims, "Minimum"),
                "LessThanThreshold",
                a.database_free_storage_gib * GIB,
                "missing",
                f"{what}: free storage below {a.database_free_storage_gib} GiB. Storage autoscaling "
                "may have reached max_allocated_storage_gb: raise it, or find what grows; threshold: "
                "[alarms] database_free_storage_gib",
            )


def _cache(b: _Builder, cache: CacheWatch) -> None:
    a = b.alarms
    for member in cache.member_ids:
        key = f"cache-{member.rsplit('-', 1)[1]}"
        dims = (("CacheClusterId", member),)
        what = f"Cache node {member}"
        b.add(
            f"{key}-engine-cpu",
            "Cache",
            f"{member}: engine CPU (%)",
            Metric("AWS/ElastiCache", "EngineCPUUtilization", dims, "Average"),
            "GreaterThanOrEqualToThreshold",
            a.cache_cpu_percent,
            "notBreaching",
            f"{what}: engine CPU at or above {shown(a.cache_cpu_percent)}% (the engine is single-"
            "threaded). Look at the slow log and expensive commands (KEYS, large ranges); threshold: "
            "[alarms] cache_cpu_percent",
        )
        b.add(
            f"{key}-memory",
            "Cache",
            f"{member}: memory used (%)",
            Metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", dims, "Average"),
            "GreaterThanOrEqualToThreshold",
            a.cache_memory_percent,
            "notBreaching",
            f"{what}: {shown(a.cache_memory_percent)}% or more of its memory used. Look at key TTLs "
            "and what grows, or a larger node type; threshold: [alarms] cache_memory_percent",
        )
        b.add(
            f"{key}-evictions",
            "Cache",
            f"{member}: evictions",
            Metric("AWS/ElastiCache", "Evictions", dims, "Sum"),
            "GreaterThanOrEqualToThreshold",
            a.cache_evictions,
            "notBreaching",
            f"{what}: {a.cache_evictions} or more keys evicted per period to make room. Look at "
            "memory use and key TTLs; threshold: [alarms] cache_evictions",
        )
        if cache.replicated:
            # On every member, not only today's replicas: a failover swaps the roles, and the
            # primary publishes no lag (notBreaching).
            b.add(
                f"{key}-replication-lag",
                "Cache",
                f"{member}: replication lag (s)",
                Metric("AWS/ElastiCache", "ReplicationLag", dims, "Maximum"),
                "GreaterThanOrEqualToThreshold",
                a.cache_replication_lag_seconds,
                "notBreaching",
                f"{what}: as a replica, {shown(a.cache_replication_lag_seconds)} s or more behind "
                "the primary. Look at the primary's write load and network; threshold: [alarms] "
                "cache_replication_lag_seconds",
            )


def _nat(b: _Builder, zone: str, gateway_id: str) -> None:
    a = b.alarms
    b.add(
        f"nat-{zone}-port-allocation-errors",
        "NAT gateways",
        f"NAT gateway {zone}: port allocation errors",
        Metric("AWS/NATGateway", "ErrorPortAllocation", (("NatGatewayId", gateway_id),), "Sum"),
        "GreaterThanOrEqualToThreshold",
        a.nat_port_allocation_errors,
        "notBreaching",
        f"NAT gateway of zone {zone}: {a.nat_port_allocation_errors} or more connections it could "
        "not open (out of source ports to one destination). Look at connection reuse to that "
        "destination, or VPC endpoints for AWS APIs; threshold: [alarms] nat_port_allocation_errors",
        event=True,
    )


def _notifier(b: _Builder, notifier: NotifierWatch) -> None:
    a = b.alarms
    dims = (("FunctionName", notifier.function_name),)
    for metric, what in (("Errors", "errors"), ("Throttles", "throttles")):
        b.add(
            f"notifier-{what}",
            "Discord notifier",
            f"Notifier: {what}",
            Metric("AWS/Lambda", metric, dims, "Sum"),
            "GreaterThanOrEqualToThreshold",
            a.notifier_errors,
            "notBreaching",
            f"The Discord notifier: {a.notifier_errors} or more {what} per period; alerts may not "
            "reach Discord (this one reaches the alerts topic's other subscriptions). Look at its "
            "log group and the webhook secret; threshold: [alarms] notifier_errors",
            event=True,
        )
    b.add(
        "notifier-dead-letters",
        "Discord notifier",
        "Notifier: undelivered messages",
        Metric(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            (("QueueName", notifier.dead_letter_queue_name),),
            "Maximum",
        ),
        "GreaterThanThreshold",
        0,
        "notBreaching",
        "The Discord notifier gave up on a message: it waits in the dead-letter queue "
        f"{notifier.dead_letter_queue_name}. Read it there, fix the cause (the notifier's log "
        "group), then purge or redrive it",
        event=True,
        period_seconds=max(b.alarms.period_seconds, SQS_PERIOD_SECONDS),
    )


def watches(resources: WatchedResources) -> tuple[Watch, ...]:
    """Every watch of the environment, in dashboard order: load balancers, services (config
    order), database, cache, NAT gateways, notifier."""
    b = _Builder(resources.alarms)
    for lb in resources.load_balancers:
        _load_balancer(b, lb)
    if resources.cluster_name is not None:
        for service in resources.services:
            _service(b, service, resources.cluster_name, resources.container_insights)
    if resources.database is not None:
        _database(b, resources.database)
    if resources.cache is not None:
        _cache(b, resources.cache)
    for zone, gateway_id in resources.nat_gateways:
        _nat(b, zone, gateway_id)
    if resources.notifier is not None:
        _notifier(b, resources.notifier)
    keys = [w.key for w in b.found]
    if len(set(keys)) != len(keys):  # a construct ID (and an alarm name) used twice
        raise ValueError(f"watch keys repeat: {sorted(k for k in keys if keys.count(k) > 1)}")
    return tuple(b.found)
