"""`[[services]]` of an environment file, and the rules that hold between services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from modules.config.edge import DomainConfig, EdgeConfig
from modules.config.observability import ServiceAlarmsConfig, Tracing
from modules.config.rules import rule
from modules.config.types import EnvName, HostName, PathPattern, SecretRef, Slug, SourceDirectory, Strict
from modules.config.uses import Use, check_use, parse_use

# The task sizes Fargate accepts: cpu units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


class AutoscalingConfig(Strict):
    """Target tracking on the service; any target may be switched off with 0."""

    cpu_percent: int = Field(default=60, ge=0, le=100)
    """Target average CPU utilization of the service's tasks (percent); 0: no CPU policy."""
    memory_percent: int = Field(default=75, ge=0, le=100)
    """Target average memory utilization of the service's tasks (percent); 0: no memory policy."""
    requests_per_target: int = Field(default=0, ge=0, le=1_000_000)
    """Target ALB requests per task per minute (http services); 0: no request count policy."""


# The sidecar containers that `[tracing]` and `[apm]` add beside a service's own container
# (modules/observability): a service of that name would clash with its sidecar in the task.
SIDECAR_NAMES = frozenset({"xray-daemon", "datadog-agent", "newrelic-infra"})


class ServiceConfig(Strict):
    """One `[[services]]` entry."""

    name: Slug
    """The service's slug, unique in the environment; it names its resources."""
    image: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^\S+$")] | None = None
    """A full image reference; unset: the service's ECR repository at `image_tag`."""
    source: SourceDirectory | None = None
    """Delivery: the service's Docker build context in the repository (its Dockerfile at the top);
    unset: `services/<name>`."""
    image_tag: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")] = "initial"
    """The tag deployed from the service's ECR repository (its tags are immutable)."""
    port: int = Field(ge=1, le=65535)
    """The container port the load balancer sends traffic to."""
    protocol: Literal["http", "tcp"] = "http"
    """http: behind an Application Load Balancer; tcp: an internal service behind the Network Load
    Balancer, on a port no other tcp service uses."""
    cpu: int = 256
    """CPU units of the task; with memory, a valid Fargate pair (256, 512, 1024, ..., 16384)."""
    memory: int = 512
    """Memory of the task (MiB); with cpu, a valid Fargate pair."""
    desired_count: int = Field(default=1, ge=0, le=1000)
    """Tasks to run; `min_count <= desired_count <= max_count`."""
    min_count: int = Field(default=1, ge=0, le=1000)
    """Fewest tasks autoscaling may scale in to."""
    max_count: int = Field(default=1, ge=0, le=1000)
    """Most tasks autoscaling may scale out to; above `min_count`, autoscaling is on."""
    health_check_path: PathPattern = "/health"
    """Path of the target group's health check, and of the container's own."""
    public: bool = True
    """Behind the public ALB, or (false) the internal ALB or NLB. Unset: true for an http service,
    false for a tcp one (tcp services are internal)."""
    hosts: list[HostName] = []
    """Host names the listener rule matches; an http service has hosts and/or paths, at most 5
    together, and no two services may claim the same host and path."""
    paths: list[PathPattern] = []
    """Path patterns the listener rule matches (e.g. `/api/*`)."""
    priority: int | None = Field(default=None, ge=1, le=50000)
    """Listener rule priority, unique per load balancer, required for an http service: chosen by you so
    it never shifts."""
    environment: dict[EnvName, str] = {}
    """Plain environment variables of the container."""
    secrets: dict[EnvName, SecretRef] = {}
    """Env var -> secret: `secret:<name>` or `parameter:<name>` (a `[[secrets]]` or `[[parameters]]`
    entry of this file), or one managed elsewhere: an ARN, `ssm:<parameter name>` or
    `secretsmanager:<secret name>`; the execution role may read exactly these."""
    container_health_check: bool = True
    """Run `wget` on health_check_path inside the container; switch off for images without wget
    (distroless, scratch): the load balancer's health check still applies."""
    readonly_root_filesystem: bool = True
    """Mount the container's root filesystem read-only."""
    user: Annotated[str, StringConstraints(pattern=r"^[0-9]+(:[0-9]+)?$")] | None = None
    """Run as this uid[:gid] instead of the image's user."""
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    """Target tracking of the service's task count, when `max_count` is above `min_count` (an inline
    table: `autoscaling = { cpu_percent = 50 }`)."""
    alarms: ServiceAlarmsConfig = ServiceAlarmsConfig()
    """The service's own alarm thresholds (an inline table: `alarms = { cpu_percent = 95 }`)."""
    tracing: Tracing | None = None
    """xray: an X-Ray daemon sidecar for this service; none: no tracing; unset: `tracing.mode`."""
    apm: bool = True
    """false: this service opts out of the environment's `[apm]`."""
    uses: list[Annotated[str, AfterValidator(check_use)]] = []
    """What the service needs, one string each; exactly those network paths, grants and connection
    settings are opened: `service:<name>` (call an internal service), `database` or `database:iam`,
    `cache`, `bucket:<name>:<read|write|read-write>`, `filesystem:<name>:<path>[:ro]` (README:
    Data stores)."""

    @field_validator("name")
    @classmethod
    def _not_a_sidecar_name(cls, name: str) -> str:
        if name in SIDECAR_NAMES:
            raise ValueError("is the name of a tracing or APM sidecar container; choose another name")
        return name

    @model_validator(mode="before")
    @classmethod
    def _public_follows_protocol(cls, data: Any) -> Any:
        """Unset `public`: a tcp service is internal, an http one public."""
        if isinstance(data, dict) and "public" not in data:
            return {**data, "public": data.get("protocol") != "tcp"}
        return data

    @rule("cpu", "memory")
    def _fargate_size(self) -> None:
        allowed = FARGATE_SIZES.get(self.cpu)
        if allowed is None:
            raise ValueError(f"cpu {self.cpu} is not a Fargate size: use one of {sorted(FARGATE_SIZES)}")
        if self.memory not in allowed:
            raise ValueError(
                f"memory {self.memory} is not valid with cpu {self.cpu}: Fargate allows "
                f"{allowed[0]}-{allowed[-1]} in steps of {allowed[1] - allowed[0]}"
            )

    @rule("min_count", "desired_count", "max_count")
    def _counts(self) -> None:
        if not self.min_count <= self.desired_count <= self.max_count:
            raise ValueError(
                f"counts must satisfy min_count <= desired_count <= max_count "
                f"(got {self.min_count}, {self.desired_count}, {self.max_count})"
            )

    @rule("protocol", "public")
    def _tcp_is_internal(self) -> None:
        if self.protocol == "tcp" and self.public:
            raise ValueError("protocol tcp is for internal services behind the NLB: remove public = true")

    @rule("protocol", "hosts", "paths", "priority")
    def _tcp_has_no_listener_rule(self) -> None:
        if self.protocol == "tcp" and (self.hosts or self.paths or self.priority is not None):
            raise ValueError("a tcp service has no hosts, paths or priority")

    @rule("protocol", "hosts", "paths")
    def _http_conditions(self) -> None:
        if self.protocol == "http" and not (self.hosts or self.paths):
            raise ValueError("an http service needs hosts and/or paths for its listener rule")
        if self.protocol == "http" and len(self.hosts) + len(self.paths) > 5:
            raise ValueError("a listener rule takes at most 5 hosts and paths together")

    @rule("protocol", "priority")
    def _http_priority(self) -> None:
        if self.protocol == "http" and self.priority is None:
            raise ValueError("an http service needs a listener rule priority (1-50000)")

    @property
    def parsed_uses(self) -> tuple[Use, ...]:
        return tuple(parse_use(text) for text in self.uses)

    def uses_of(self, kind: str) -> tuple[Use, ...]:
        """The service's uses of one kind, in the order written."""
        return tuple(use for use in self.parsed_uses if use.kind == kind)

    @property
    def called_services(self) -> tuple[str, ...]:
        """Names of the internal services this service calls (its `service:` uses)."""
        return tuple(use.name for use in self.uses_of("service") if use.name is not None)

    @property
    def build_context(self) -> str:
        """Where delivery builds the service's image: `source`, else `services/<name>`."""
        return self.source or f"services/{self.name}"

    @property
    def autoscaled(self) -> bool:
        return self.max_count > self.min_count

    @property
    def routes(self) -> list[tuple[str, str]]:
        """(host, path) pairs this service claims on its load balancer; "" matches anything."""
        return [(h, p) for h in (self.hosts or [""]) for p in (self.paths or [""])]


def service_rules(
    services: Sequence[ServiceConfig | None],
    edge: EdgeConfig | None,
    domain: DomainConfig | None,
    production: bool | None,
    domain_set: bool,
) -> list[tuple[str, str]]:
    """Rules across services: (key path, problem) for each violation.

    They run over what validated: None is a service, `[edge]` or profile that did not (its own
    problems are reported), so only the rules that need it wait. `domain_set`: the file has a
    `[domain]` table, valid (`domain`) or not.
    """
    problems: list[tuple[str, str]] = []
    seen_names: dict[str, int] = {}
    claimed: dict[tuple[bool, str, str], str] = {}
    priorities: dict[tuple[bool, int], str] = {}
    for index, service in enumerate(services):
        if service is None:
            continue
        where = f"services[{index}]"
        if service.name in seen_names:
            problems.append(
                (f"{where}.name", f"'{service.name}' is already services[{seen_names[service.name]}]")
            )
        seen_names.setdefault(service.name, index)
        if service.protocol == "tcp":
            continue
        if service.priority is not None:
            slot = (service.public, service.priority)
            if slot in priorities:
                problems.append(
                    (f"{where}.priority", f"{service.priority} is already used by '{priorities[slot]}'")
                )
            priorities.setdefault(slot, service.name)
        for host, path in service.routes:
            route = (service.public, host, path)
            if route in claimed:
                shown = f"host {host or '*'} path {path or '*'}"
                problems.append((f"{where}.hosts", f"{shown} is already claimed by '{claimed[route]}'"))
            claimed.setdefault(route, service.name)
        if service.public and domain is not None:
            for host in service.hosts:
                # The certificate covers the name and one level below it (name, *.name).
                label = host.removesuffix("." + domain.name)
                if host != domain.name and (label == host or "." in label or label == "*"):
                    problems.append(
                        (
                            f"{where}.hosts",
                            f"{host} is not {domain.name} or one label below it (the certificate's names)",
                        )
                    )
    tcp_ports: dict[int, str] = {}
    for index, service in enumerate(services):
        if service is not None and service.protocol == "tcp":
            if service.port in tcp_ports:
                problems.append(
                    (
                        f"services[{index}].port",
                        f"{service.port} is already the NLB listener of '{tcp_ports[service.port]}'",
                    )
                )
            tcp_ports.setdefault(service.port, service.name)
    public = [s for s in services if s is not None and s.public]
    if edge is not None and edge.http_only and production:
        problems.append(("edge.http_only", "plain HTTP is refused by the production profile"))
    if edge is not None and public and not domain_set and not edge.http_only:
        problems.append(("domain", "public services need [domain] for HTTPS, or edge.http_only = true"))
    if edge is not None and edge.http_only and domain_set:
        problems.append(("edge.http_only", "conflicts with [domain]: with a domain the ALB serves HTTPS"))
    complete = [s for s in services if s is not None]
    if len(complete) == len(services):  # `uses` names other services: it waits until all validated
        problems += uses_rules(complete)
    return problems


def uses_rules(services: list[ServiceConfig]) -> list[tuple[str, str]]:
    """Rules of `uses` that need the other services: (key path, problem) for each violation."""
    problems: list[tuple[str, str]] = []
    by_name = {s.name: s for s in services}
    for index, service in enumerate(services):
        seen: set[Use] = set()
        for position, use in enumerate(service.parsed_uses):
            where = f"services[{index}].uses[{position}]"
            if use in seen:
                problems.append((where, f"{use} is listed twice"))
            seen.add(use)
            if use.kind == "service":
                callee = by_name.get(use.name)
                if callee is None:
                    known = ", ".join(sorted(n for n, s in by_name.items() if not s.public)) or "none"
                    problems.append((where, f"no service named '{use.name}' (internal services: {known})"))
                elif callee.name == service.name:
                    problems.append((where, "a service does not need to declare that it calls itself"))
                elif callee.public:
                    problems.append(
                        (where, f"'{use.name}' is public: call it at its public address, not through uses")
                    )
    return problems
