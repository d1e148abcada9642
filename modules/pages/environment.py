"""The page of one environment: what it runs, where to reach it, who may act on it, and its diagram.

`EnvironmentPage.of(env)` gathers the page's facts from the resolved config, the objects the stack
is built from: bucket names through the helper the buckets use, the names of roles, secrets and
the cluster spelled as their constructs spell them (the page tests read each back from the
synthesized stack). `render_page` renders it through `environment.md.j2`. Nothing on the page depends on where the config or the
output lives, so two renders of one config are byte-identical.

Every synth renders the pages, so their cost counts (DESIGN.md section 7): the template is compiled
once per process, and its compiled form is kept in the synth cache (`.synth-cache/templates/`), as
Python keeps bytecode in `__pycache__`: jinja2 compiling the template costs about 25 ms, loading it
about 1 ms. jinja2 checks the template's source against it, so an edited template is recompiled.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from jinja2 import FileSystemBytecodeCache, Template

from modules.config import Environment, ServiceConfig
from modules.config.access import principal_key
from modules.config.data import bucket_name
from modules.config.secrets import PARAMETER_PREFIX, SECRET_PREFIX
from modules.core.markdown import table_cell, templates
from modules.core.stamp import cache_root
from modules.pages.diagram import GATEWAY_ENDPOINTS, Diagram, architecture, has_alarms

TEMPLATE = "environment.md.j2"
# Where a URL needs a name Terraform only knows after apply: the stack's outputs give each.
PUBLIC_LB = "<public load balancer's DNS name>"
INTERNAL_ALB = "<internal load balancer's DNS name>"
INTERNAL_NLB = "<internal network load balancer's DNS name>"
LB_OUTPUTS = {
    PUBLIC_LB: "public_alb_dns_name",
    INTERNAL_ALB: "internal_alb_dns_name",
    INTERNAL_NLB: "internal_nlb_dns_name",
}
# What each level of `[access]` may do (modules/security/access.py), in a few words.
LEVEL_WORDS = {
    "readonly": "sees every resource's configuration; reads no data",
    "operator": "readonly, plus restart, scale and stop this environment's services, ECS exec, read its logs",
    "admin": "every AWS service but IAM, on this environment's resources",
}


@dataclass(frozen=True)
class Address:
    """Where a service is reached: a URL, and the Host header an internal ALB rule matches."""

    url: str
    host: str | None = None


@dataclass(frozen=True)
class ServiceRow:
    name: str
    exposure: str
    addresses: tuple[Address, ...]
    runs: str
    uses: tuple[str, ...]
    secrets: tuple[str, ...]  # the environment variables it gets from secrets


@dataclass(frozen=True)
class StoreRow:
    kind: str
    name: str
    what: str
    used_by: tuple[str, ...]


@dataclass(frozen=True)
class RoleRow:
    name: str
    level: str
    may: str
    principals: tuple[str, ...]


@dataclass(frozen=True)
class SecretRow:
    kind: str
    name: str
    description: str
    value: str
    read_by: tuple[str, ...]


@dataclass(frozen=True)
class EnvironmentPage:
    """Everything `environment.md.j2` shows of one environment."""

    name: str
    prefix: str
    account_id: str
    region: str
    profile: str
    assume_role_arn: str | None
    account_services: tuple[str, ...]
    network: tuple[str, ...]
    compute: str
    services: tuple[ServiceRow, ...]
    load_balancer_outputs: tuple[tuple[str, str], ...]  # (placeholder in a URL, stack output)
    stores: tuple[StoreRow, ...]
    roles: tuple[RoleRow, ...]
    max_session_hours: int
    secrets: tuple[SecretRow, ...]
    external_secrets: tuple[tuple[str, str, str], ...]  # (service, variable, reference)
    alarms: tuple[str, ...]  # what watches the environment, one line each
    topics: tuple[str, ...]  # the SNS topics and where each delivers
    delivery: tuple[str, ...]  # how the services are deployed and Terraform runs from CI, one line each
    diagram: Diagram

    @classmethod
    def of(cls, env: Environment) -> EnvironmentPage:
        config = env.config
        services = tuple(_service_row(env, s) for s in env.services)
        urls = " ".join(a.url for row in services for a in row.addresses)
        return cls(
            name=env.name,
            prefix=env.prefix,
            account_id=env.account_id,
            region=env.region,
            profile=config.profile,
            assume_role_arn=config.assume_role_arn,
            account_services=_account_services(env),
            network=_network(env),
            compute=_compute(env),
            services=services,
            load_balancer_outputs=tuple((p, o) for p, o in LB_OUTPUTS.items() if p in urls),
            stores=_stores(env),
            roles=_roles(env),
            max_session_hours=config.access.max_session_hours,
            secrets=_secrets(env),
            external_secrets=tuple(
                (s.name, variable, ref)
                for s in env.services
                for variable, ref in sorted(s.secrets.items())
                if not ref.startswith((SECRET_PREFIX, PARAMETER_PREFIX))
            ),
            alarms=_watching(env),
            topics=_topics(env),
            delivery=_delivery(env),
            diagram=architecture(env),
        )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _roles(env: Environment) -> tuple[RoleRow, ...]:
    """One role `<project>-<env>-<level>` per level with principals; a principal exempt from MFA is
    marked."""
    access = env.config.access
    exempt = {principal_key(role) for role in access.mfa_exempt}
    return tuple(
        RoleRow(
            f"{env.prefix}-{level}",
            level,
            LEVEL_WORDS[level],
            tuple(p + (" (no MFA)" if principal_key(p) in exempt else "") for p in access.principals(level)),
        )
        for level in access.levels
    )


def _watching(env: Environment) -> tuple[str, ...]:
    """The default alarm set, the dashboard, the audit alarms and the tracing, as configured."""
    alarms, tracing, apm = env.config.alarms, env.config.tracing, env.config.apm
    lines = []
    if has_alarms(env):
        lines.append(
            f"Default alarms (`{env.prefix}-*`) on the load balancers, services, stores and NAT gateways, "
            f"each after {_plural(alarms.evaluation_periods, 'breaching period')} of {alarms.period_seconds} s, "
            f"and the composite `{env.prefix}-environment-unhealthy`: they notify the alerts topic"
        )
    elif not alarms.enabled:
        lines.append("No default alarms (`alarms.enabled = false`)")
    else:
        lines.append(
            "No default alarms: nothing to watch yet (no load balancer, service, store or NAT gateway)"
        )
    lines.append(f"CloudWatch dashboard `{env.prefix}`: a row per load balancer, service and store")
    if env.config.account.owner and env.config.account.cloudtrail:
        lines.append(
            "CIS audit alarms on the account's CloudTrail events (root use, IAM and network changes, ...)"
        )
    traced = [s.name for s in env.services if env.traced(s)]
    if traced:
        lines.append(
            f"X-Ray tracing ({tracing.sampling_rate:g} of requests beyond {tracing.reservoir_per_second}/s): {', '.join(traced)}"
        )
    if apm is not None:
        users = [s.name for s in env.services if env.apm_for(s) is not None]
        if users:
            lines.append(f"APM {apm.provider} (key from `{apm.key_secret}`): {', '.join(users)}")
    return tuple(lines)


def _topics(env: Environment) -> tuple[str, ...]:
    """The alerts and deployments topics, their subscriptions and the Discord notifier."""
    notifications = env.config.notifications
    alerts = [*notifications.alert_emails, *notifications.alert_https_endpoints]
    lines = [
        f"SNS topic `{env.prefix}-alerts` (alarms, task crashes, RDS events, image scans"
        + (", GuardDuty findings" if env.config.account.owner and env.config.account.guardduty else "")
        + "): "
        + (", ".join(alerts) if alerts else "no subscriptions"),
        f"SNS topic `{env.prefix}-deployments` (failed or rolled-back deployments): "
        + (", ".join(notifications.deployment_emails) or "no subscriptions"),
    ]
    if notifications.discord_webhook_secret is not None:
        lines.append(
            f"Discord: the Lambda `{env.prefix}-discord-notifier` posts both topics to the webhook in "
            f"`{notifications.discord_webhook_secret}`"
        )
    return tuple(lines)


def _delivery(env: Environment) -> tuple[str, ...]:
    """Who deploys the services and runs Terraform: the roles GitHub Actions jobs assume, or the
    pipelines, or nobody."""
    delivery = env.project.delivery
    delivered = [s.name for s in env.services if env.delivered(s)]
    lines = []
    if env.delivery_mode == "github":
        role = f"{env.project.name}-{env.name}-github"
        where = f"`{delivery.repository}` (`{delivery.branch}`)"
        if delivered:
            source = (
                f"images promoted by digest from {env.promoted_from[0]}"
                if env.promoted_from is not None
                else "images built here, first in the promotion"
            )
            lines.append(
                f"GitHub Actions from {where}: `{role}-deploy`, for jobs in the GitHub environment "
                f"`{env.name}`, deploys {', '.join(delivered)} ({source})"
            )
        if env.backend == "s3":
            lines.append(
                f"Terraform from CI: `{role}-plan` plans pull requests in `{env.name}-plan`, "
                f"`{role}-apply` applies merges in `{env.name}`"
            )
        else:
            lines.append(f"Terraform from CI: Terraform Cloud plans and applies workspace `{env.workspace}`")
        if env.creates_github_provider:
            lines.append(
                f"The account's OIDC provider for GitHub Actions is created here (account {env.account_id})"
            )
    elif env.delivery_mode == "codepipeline" and delivered:
        approval = ", a manual approval" if env.config.profile == "production" else ""
        lines.append(
            f"CodePipeline per service from `{delivery.repository}` (`{delivery.branch}`): "
            + ", ".join(f"`{env.prefix}-{name}`" for name in delivered)
            + f" (build, push{approval}, deploy by digest)"
        )
        if env.delivery_connection == "create":
            lines.append(
                f"The connection `{env.prefix}-github` is PENDING until its GitHub handshake is completed "
                "in the console"
            )
    if not lines:
        lines.append(
            "Nothing deploys the services from CI; "
            + (
                "a pipeline outside the platform"
                if env.config.cluster.deploy_owner == "pipeline"
                else "Terraform"
            )
            + " owns their task definitions"
        )
    return tuple(lines)


def _account_services(env: Environment) -> tuple[str, ...]:
    account = env.config.account
    if not account.owner:
        return ()
    return tuple(
        words
        for on, words in (
            (account.cloudtrail, "CloudTrail (multi-region trail)"),
            (account.guardduty, f"GuardDuty in {env.region}"),
            (account.access_analyzer, f"IAM Access Analyzer in {env.region}"),
        )
        if on
    )


def _network(env: Environment) -> tuple[str, ...]:
    network = env.network
    letters = network.zone_letters
    nat = {
        "none": "no NAT gateway (the private subnets reach only the VPC endpoints)",
        "single": f"one NAT gateway, in zone {letters[0]}",
        "per_az": "a NAT gateway in each zone",
    }[network.nat]
    interface = ", ".join(network.interface_endpoints) or "none"
    return (
        f"VPC `{network.cidr}`, zones {', '.join(letters)}: a public and a private subnet each",
        nat,
        f"gateway endpoints: {', '.join(GATEWAY_ENDPOINTS)}; interface endpoints: {interface}",
        f"flow logs kept {network.flow_log_retention_days} days",
    )


def _compute(env: Environment) -> str:
    config = env.config
    cluster = config.cluster
    if config.compute == "ec2":
        runs = f"EC2 instances ({cluster.instance_type}, {cluster.instance_min} to {cluster.instance_max})"
    else:
        runs = "Fargate Spot" if cluster.spot else "Fargate"
    owner = {"github": "GitHub Actions", "codepipeline": "CodePipeline"}.get(env.delivery_mode)
    if owner is None:
        owner = "the pipeline" if cluster.deploy_owner == "pipeline" else "Terraform"
    return f"ECS cluster `{env.prefix}-cluster` on {runs}; {owner} deploys the task definitions"


def _path(pattern: str) -> str:
    """A listener rule's path pattern as the start of a URL: `/api/*` is reached at `/api/`."""
    return pattern[:-1] if pattern.endswith("/*") else pattern


def _addresses(env: Environment, service: ServiceConfig) -> tuple[Address, ...]:
    if service.protocol == "tcp":
        return (Address(f"tcp://{INTERNAL_NLB}:{service.port}"),)
    paths = [_path(p) for p in service.paths] or ["/"]
    if not service.public:
        # Inside the VPC the hosts are Host headers the internal ALB's rule matches, not DNS names.
        hosts: list[str | None] = list(service.hosts) or [None]
        return tuple(Address(f"http://{INTERNAL_ALB}{p}", h) for h in hosts for p in paths)
    domain = env.config.domain
    if env.config.edge.http_only or domain is None:
        hosts_shown = service.hosts or [PUBLIC_LB]
        return tuple(Address(f"http://{h}{p}") for h in hosts_shown for p in paths)
    return tuple(Address(f"https://{h}{p}") for h in (service.hosts or [domain.name]) for p in paths)


def _service_row(env: Environment, service: ServiceConfig) -> ServiceRow:
    balancer = "ALB" if service.protocol == "http" else "NLB"
    exposure = "public" if service.public else f"internal, {balancer}"
    count = _plural(service.desired_count, "task")
    if service.autoscaled:
        count += f" ({service.min_count} to {service.max_count})"
    return ServiceRow(
        name=service.name,
        exposure=exposure,
        addresses=_addresses(env, service),
        runs=f"{count}, {service.cpu} CPU units, {service.memory} MiB",
        uses=tuple(service.uses),
        secrets=tuple(sorted(service.secrets)),
    )


def _users(env: Environment, kind: str, name: str | None = None) -> tuple[str, ...]:
    """`service (how)` for each service with a use of this store."""
    found = []
    for service in env.services:
        for use in service.uses_of(kind):
            if name is not None and use.name != name:
                continue
            if kind == "database":
                how = f"IAM auth as user {service.name}" if use.option == "iam" else "master user"
            elif kind == "filesystem":
                how = f"at {use.option}" + (", read-only" if use.read_only else "")
            else:
                how = use.option or ""
            found.append(f"{service.name} ({how})" if how else service.name)
    return tuple(found)


def _stores(env: Environment) -> tuple[StoreRow, ...]:
    config = env.config
    rows = []
    database = config.database
    if database is not None:
        if database.aurora:
            shape = (
                f"Aurora cluster of {_plural(database.instance_count, 'instance')} {database.instance_class}"
            )
        else:
            standby = "Multi-AZ standby" if database.multi_az else "single-AZ"
            shape = f"RDS instance {database.instance_class}, {standby}"
        protection = "on" if database.deletion_protection else "off"
        rows.append(
            StoreRow(
                "database",
                database.database_name,
                f"{database.engine} {database.version}, {shape}; backups kept "
                f"{_plural(database.backup_retention_days, 'day')}, deletion protection {protection}",
                _users(env, "database"),
            )
        )
    cache = config.cache
    if cache is not None:
        nodes = cache.node_count(env.network.az_count)
        failover = "automatic failover" if cache.multi_az else "no failover"
        rows.append(
            StoreRow(
                "cache",
                "cache",
                f"{cache.engine} {cache.version}, {_plural(nodes, 'node')} {cache.node_type}, {failover}, "
                f"TLS, auth {cache.auth}",
                _users(env, "cache"),
            )
        )
    for bucket in config.buckets:
        lock = f", Object Lock {bucket.object_lock_days} days" if bucket.object_lock_days else ""
        rows.append(
            StoreRow(
                "bucket",
                bucket_name(env.project.name, env.name, bucket.name, env.account_id),
                f"S3, {bucket.purpose}, encrypted ({bucket.encryption}), versioned{lock}",
                _users(env, "bucket", bucket.name),
            )
        )
    for filesystem in config.filesystems:
        backup = "daily backup" if filesystem.backup else "no backup"
        rows.append(
            StoreRow(
                "file system",
                filesystem.name,
                f"EFS, {filesystem.throughput_mode} throughput, encrypted, {backup}",
                _users(env, "filesystem", filesystem.name),
            )
        )
    return tuple(rows)


def _readers(env: Environment, reference: str) -> tuple[str, ...]:
    return tuple(
        f"{s.name} ({variable})"
        for s in env.services
        for variable, ref in sorted(s.secrets.items())
        if ref == reference
    )


def _secrets(env: Environment) -> tuple[SecretRow, ...]:
    config = env.config
    rows = []
    for secret in config.secrets:
        value = (
            f"written by Terraform from the variable `{secret.variable}`, never stored"
            if secret.write_only
            else "set out of band"
        )
        rows.append(
            SecretRow(
                "Secrets Manager secret",
                f"{env.project.name}/{env.name}/{secret.name}",
                secret.description,
                value,
                _readers(env, f"{SECRET_PREFIX}{secret.name}"),
            )
        )
    for parameter in config.parameters:
        value = (
            f"written by Terraform from the variable `{parameter.variable}`, never stored"
            if parameter.write_only
            else "created and set out of band"
        )
        rows.append(
            SecretRow(
                f"SSM parameter ({parameter.type})",
                f"/{env.project.name}/{env.name}/{parameter.name}",
                parameter.description,
                value,
                _readers(env, f"{PARAMETER_PREFIX}{parameter.name}"),
            )
        )
    return tuple(rows)


def _cell(text: object) -> str:
    """A markdown table cell: no line breaks, no column separators, no HTML."""
    return table_cell(text).replace("<", "&lt;")


def _code(text: object) -> str:
    """A code span in a table cell (a code span shows `<` as it is; only `|` needs escaping)."""
    return "`" + str(text).replace("|", "\\|") + "`"


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """The compiled template's place in the synth cache; None (compile each time) where it cannot be."""
    directory = cache_root() / "templates"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(directory))


@functools.cache
def _template() -> Template:
    jinja = templates(
        Path(__file__).resolve().parent,
        {"cell": _cell, "code": _code},
        bytecode_cache=_bytecode_cache(),
        auto_reload=False,
    )
    return jinja.get_template(TEMPLATE)


def render_page(env: Environment) -> str:
    """The markdown page of `env`."""
    return _template().render(page=EnvironmentPage.of(env))
