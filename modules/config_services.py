"""Schema of what an environment runs: `compute`, `[cluster]`, `[edge]`, `[domain]`, `[[services]]`.

Part of the config schema (see config.py); imports nothing from cdktf.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")]
HostName = Annotated[
    str,
    StringConstraints(max_length=253, pattern=r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
]
PathPattern = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^/[A-Za-z0-9_\-./*?~%]*$")
]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")]
CertificateArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[a-f0-9-]+$")
]
HostedZoneId = Annotated[str, StringConstraints(pattern=r"^Z[A-Z0-9]{1,31}$")]
SecretRef = Annotated[
    str,
    StringConstraints(
        pattern=(
            r"^(arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:[0-9]{12}:(secret:|parameter/)[A-Za-z0-9/_+=.@-]+"
            r"|ssm:/?[A-Za-z0-9/_.-]+|secretsmanager:[A-Za-z0-9/_+=.@-]+)$"
        )
    ),
]

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ClusterConfig(_Strict):
    """`[cluster]`: the ECS cluster and how services run on it."""

    container_insights: bool
    spot: bool
    """Fargate: default capacity strategy FARGATE_SPOT (true) or FARGATE (false)."""
    exec_enabled: bool
    """ECS exec (`aws ecs execute-command`) into running tasks, audited to a log group."""
    log_retention_days: int
    deploy_owner: Literal["terraform", "pipeline"] = "terraform"
    """pipeline: task definition and desired count are ignored by Terraform, so an apply never
    reverts what CI/CD deployed."""
    min_healthy_percent: int = Field(ge=0, le=100)
    max_percent: int = Field(ge=100, le=400)
    health_check_grace_seconds: int = Field(default=60, ge=0, le=2_147_483_647)
    ecr_keep_tagged_images: int = Field(default=30, ge=1, le=1000)
    ecr_untagged_expiry_days: int = Field(default=7, ge=1, le=365)
    # compute = "ec2" only:
    instance_type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")] = "t3.medium"
    instance_min: int = Field(default=1, ge=0, le=1000)
    instance_max: int = Field(default=4, ge=1, le=1000)
    instance_volume_gb: int = Field(default=30, ge=30, le=16384)

    @model_validator(mode="after")
    def _instances(self) -> ClusterConfig:
        if self.instance_min > self.instance_max:
            raise ValueError(
                f"instance_min ({self.instance_min}) is above instance_max ({self.instance_max})"
            )
        return self


class EdgeConfig(_Strict):
    """`[edge]`: the load balancers in front of the services."""

    http_only: bool = False
    """Serve public services over plain HTTP on the ALB's DNS name (no domain). Refused by the
    production profile."""
    ingress_ipv4: list[str] = ["0.0.0.0/0"]
    ingress_ipv6: list[str] = ["::/0"]
    idle_timeout_seconds: int = Field(default=60, ge=1, le=4000)
    deletion_protection: bool
    deregistration_delay_seconds: int = Field(default=30, ge=0, le=3600)
    access_log_days: int = Field(default=90, ge=1, le=3650)

    @field_validator("ingress_ipv4", "ingress_ipv6")
    @classmethod
    def _cidrs(cls, cidrs: list[str], info: ValidationInfo) -> list[str]:
        network, family = (
            (IPv4Network, "IPv4") if info.field_name == "ingress_ipv4" else (IPv6Network, "IPv6")
        )
        for cidr in cidrs:
            try:
                network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not an {family} CIDR ({exc})") from None
        return cidrs


class DomainConfig(_Strict):
    """`[domain]`: HTTPS for the public load balancer."""

    name: HostName
    """The environment's domain; service hosts must be this name or below it."""
    hosted_zone_id: HostedZoneId | None = None
    """Route 53 zone of `name`: DNS-validated certificate and alias records are created."""
    certificate_arn: CertificateArn | None = None
    """An existing ACM certificate to use instead of requesting one."""

    @model_validator(mode="after")
    def _certificate_source(self) -> DomainConfig:
        if self.hosted_zone_id is None and self.certificate_arn is None:
            raise ValueError(
                "set hosted_zone_id (a DNS-validated certificate is requested) or certificate_arn"
            )
        return self


class AutoscalingConfig(_Strict):
    """Target tracking on the service; any target may be switched off with 0."""

    cpu_percent: int = Field(default=60, ge=0, le=100)
    memory_percent: int = Field(default=75, ge=0, le=100)
    requests_per_target: int = Field(default=0, ge=0, le=1_000_000)


class ServiceConfig(_Strict):
    """One `[[services]]` entry."""

    name: Slug
    image: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^\S+$")] | None = None
    """A full image reference; default: the service's ECR repository at `image_tag`."""
    image_tag: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")] = "initial"
    port: int = Field(ge=1, le=65535)
    protocol: Literal["http", "tcp"] = "http"
    """tcp: an internal service behind a Network Load Balancer."""
    cpu: int = 256
    memory: int = 512
    desired_count: int = Field(default=1, ge=0, le=1000)
    min_count: int = Field(default=1, ge=0, le=1000)
    max_count: int = Field(default=1, ge=0, le=1000)
    health_check_path: PathPattern = "/health"
    public: bool = True
    hosts: list[HostName] = []
    paths: list[PathPattern] = []
    priority: int | None = Field(default=None, ge=1, le=50000)
    """Listener rule priority, unique per load balancer: chosen by you so it never shifts."""
    environment: dict[EnvName, str] = {}
    secrets: dict[EnvName, SecretRef] = {}
    """Env var -> secret: an ARN, `ssm:<parameter name>` or `secretsmanager:<secret name>`."""
    container_health_check: bool = True
    """Run `wget` on health_check_path inside the container; switch off for images without wget
    (distroless, scratch): the load balancer's health check still applies."""
    readonly_root_filesystem: bool = True
    user: Annotated[str, StringConstraints(pattern=r"^[0-9]+(:[0-9]+)?$")] | None = None
    """Run as this uid[:gid] instead of the image's user."""
    autoscaling: AutoscalingConfig = AutoscalingConfig()

    @model_validator(mode="after")
    def _shape(self) -> ServiceConfig:
        allowed = FARGATE_SIZES.get(self.cpu)
        if allowed is None:
            raise ValueError(f"cpu {self.cpu} is not a Fargate size: use one of {sorted(FARGATE_SIZES)}")
        if self.memory not in allowed:
            raise ValueError(
                f"memory {self.memory} is not valid with cpu {self.cpu}: Fargate allows "
                f"{allowed[0]}-{allowed[-1]} in steps of {allowed[1] - allowed[0]}"
            )
        if not self.min_count <= self.desired_count <= self.max_count:
            raise ValueError(
                f"counts must satisfy min_count <= desired_count <= max_count "
                f"(got {self.min_count}, {self.desired_count}, {self.max_count})"
            )
        if self.protocol == "tcp":
            if self.public:
                raise ValueError("protocol tcp is for internal services (public = false) behind an NLB")
            if self.hosts or self.paths or self.priority is not None:
                raise ValueError("a tcp service has no hosts, paths or priority")
        else:
            if not (self.hosts or self.paths):
                raise ValueError("an http service needs hosts and/or paths for its listener rule")
            if self.priority is None:
                raise ValueError("an http service needs a listener rule priority (1-50000)")
            if len(self.hosts) + len(self.paths) > 5:
                raise ValueError("a listener rule takes at most 5 hosts and paths together")
        return self

    @property
    def autoscaled(self) -> bool:
        return self.max_count > self.min_count

    @property
    def routes(self) -> list[tuple[str, str]]:
        """(host, path) pairs this service claims on its load balancer; "" matches anything."""
        return [(h, p) for h in (self.hosts or [""]) for p in (self.paths or [""])]


def service_rules(
    services: list[ServiceConfig], edge: EdgeConfig, domain: DomainConfig | None, production: bool
) -> list[tuple[str, str]]:
    """Rules across services: (key path, problem) for each violation."""
    problems: list[tuple[str, str]] = []
    seen_names: dict[str, int] = {}
    claimed: dict[tuple[bool, str, str], str] = {}
    priorities: dict[tuple[bool, int], str] = {}
    for index, service in enumerate(services):
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
        if service.protocol == "tcp":
            if service.port in tcp_ports:
                problems.append(
                    (
                        f"services[{index}].port",
                        f"{service.port} is already the NLB listener of '{tcp_ports[service.port]}'",
                    )
                )
            tcp_ports.setdefault(service.port, service.name)
    public = [s for s in services if s.public]
    if edge.http_only and production:
        problems.append(("edge.http_only", "plain HTTP is refused by the production profile"))
    if public and domain is None and not edge.http_only:
        problems.append(("domain", "public services need [domain] for HTTPS, or edge.http_only = true"))
    if edge.http_only and domain is not None:
        problems.append(("edge.http_only", "conflicts with [domain]: with a domain the ALB serves HTTPS"))
    return problems
