"""What an environment has that its alarms and dashboard watch: `WatchedResources`, built by the
stack from config and the attributes of the constructs it made (narrow values, no constructs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from modules.config import Environment
from modules.config.observability import AlarmsConfig

LoadBalancerKey = Literal["public-alb", "internal-alb", "internal-nlb"]
_TITLES: dict[str, str] = {
    "public-alb": "Public ALB",
    "internal-alb": "Internal ALB",
    "internal-nlb": "Internal NLB",
}


@dataclass(frozen=True)
class LoadBalancerWatch:
    """One load balancer, by its ARN suffix (CloudWatch's LoadBalancer dimension)."""

    key: LoadBalancerKey
    arn_suffix: str

    @property
    def application(self) -> bool:
        return self.key != "internal-nlb"

    @property
    def namespace(self) -> str:
        return "AWS/ApplicationELB" if self.application else "AWS/NetworkELB"

    @property
    def title(self) -> str:
        return _TITLES[self.key]


@dataclass(frozen=True)
class ServiceWatch:
    """One ECS service, its thresholds, and the target group in front of it."""

    name: str  # the service's name in config
    ecs_service_name: str  # "<project>-<env>-<name>" (ServiceProps.name)
    cpu_percent: float  # its `alarms.cpu_percent`, else `[alarms] service_cpu_percent`
    memory_percent: float
    load_balancer: LoadBalancerWatch
    target_group_arn_suffix: str


@dataclass(frozen=True)
class DatabaseWatch:
    """The RDS instance, or the Aurora cluster's members (writer first)."""

    instance_ids: tuple[str, ...]
    aurora: bool


@dataclass(frozen=True)
class CacheWatch:
    """The replication group's member clusters (CacheClusterId), the primary and its replicas."""

    member_ids: tuple[str, ...]

    @property
    def replicated(self) -> bool:
        return len(self.member_ids) > 1


@dataclass(frozen=True)
class NotifierWatch:
    """The Discord notifier Lambda and the dead-letter queue of the messages it gave up on."""

    function_name: str
    dead_letter_queue_name: str


@dataclass(frozen=True)
class WatchedResources:
    """Everything `watches()` builds the alarm set and the dashboard from."""

    alarms: AlarmsConfig  # thresholds and the evaluation window
    load_balancers: tuple[LoadBalancerWatch, ...]  # those present: public ALB, internal ALB, NLB
    cluster_name: str | None  # None without services
    container_insights: bool
    services: tuple[ServiceWatch, ...]  # in config order
    database: DatabaseWatch | None
    cache: CacheWatch | None
    nat_gateways: tuple[tuple[str, str], ...]  # (zone letter, NAT gateway id), by zone
    notifier: NotifierWatch | None

    @classmethod
    def of(
        cls,
        env: Environment,
        *,
        public_alb_arn_suffix: str | None,
        internal_alb_arn_suffix: str | None,
        nlb_arn_suffix: str | None,
        target_group_arn_suffixes: Mapping[str, str],
        cluster_name: str | None,
        database_instance_ids: Sequence[str],
        cache_member_ids: Sequence[str],
        nat_gateway_ids: Mapping[str, str],
        notifier: NotifierWatch | None,
    ) -> WatchedResources:
        """`target_group_arn_suffixes`: by service name, of every load balancer (the public ALB's and
        the internal ones' together); `nat_gateway_ids`: by zone letter (Network.nat_gateway_ids_by_zone)."""
        config = env.config
        balancers: dict[str, LoadBalancerWatch] = {
            key: LoadBalancerWatch(key, suffix)  # type: ignore[arg-type]
            for key, suffix in (
                ("public-alb", public_alb_arn_suffix),
                ("internal-alb", internal_alb_arn_suffix),
                ("internal-nlb", nlb_arn_suffix),
            )
            if suffix is not None
        }
        services = []
        for service in env.services if cluster_name is not None else ():
            key = (
                "public-alb"
                if service.public
                else "internal-alb"
                if service.protocol == "http"
                else "internal-nlb"
            )
            if key not in balancers or service.name not in target_group_arn_suffixes:
                raise ValueError(f"service {service.name} sits behind the {key}: pass its ARN suffixes")
            services.append(
                ServiceWatch(
                    name=service.name,
                    ecs_service_name=f"{env.prefix}-{service.name}",
                    cpu_percent=_own_or(service.alarms.cpu_percent, config.alarms.service_cpu_percent),
                    memory_percent=_own_or(
                        service.alarms.memory_percent, config.alarms.service_memory_percent
                    ),
                    load_balancer=balancers[key],
                    target_group_arn_suffix=target_group_arn_suffixes[service.name],
                )
            )
        if (config.database is not None) != bool(database_instance_ids):
            raise ValueError("database_instance_ids: the database's instances, exactly when it has one")
        if (config.cache is not None) != bool(cache_member_ids):
            raise ValueError("cache_member_ids: the cache's member clusters, exactly when it has one")
        return cls(
            alarms=config.alarms,
            load_balancers=tuple(balancers.values()),
            cluster_name=cluster_name,
            container_insights=config.cluster.container_insights,
            services=tuple(services),
            database=(
                DatabaseWatch(tuple(database_instance_ids), config.database.aurora)
                if config.database is not None
                else None
            ),
            cache=CacheWatch(tuple(cache_member_ids)) if cache_member_ids else None,
            nat_gateways=tuple(sorted(nat_gateway_ids.items())),
            notifier=notifier,
        )


def _own_or(own: float | None, default: float) -> float:
    """A service's own threshold wins over the environment's."""
    return own if own is not None else default
