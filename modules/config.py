"""The typed config schema: `environments/*.toml` in, validated `Platform` out.

This is the single source of defaults and of the per-environment profiles. It imports nothing from
cdktf or the provider bindings, so a bad config is reported before the jsii runtime starts.

Every problem becomes one `ConfigProblem` (`<file>: <key.path>: <problem>`); loading collects all
of them across all files and raises one `ConfigError`.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from modules import cidr
from modules.config_services import ClusterConfig, DomainConfig, EdgeConfig, ServiceConfig, service_rules

PROJECT_FILE = "project.toml"
RESERVED_STACK_NAMES = frozenset({"bootstrap", "project"})
STANDARD_TAGS = ("Project", "Environment", "Owner", "ManagedBy")

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "kms", "sts")

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")]
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")]
RoleArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]+$")
]
ZoneLetter = Annotated[str, StringConstraints(pattern=r"^[a-z]$")]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w .:/=+@-]+$")]
TagValue = Annotated[str, StringConstraints(max_length=256, pattern=r"^[\w .:/=+@-]*$")]
NatMode = Literal["none", "single", "per_az"]
LockMode = Literal["dynamodb", "lockfile", "both"]
ProfileName = Literal["development", "production"]


# Per-environment profiles: the defaults an environment file starts from before its own values
# are laid over them. "development" is cheap, "production" is safe; an environment that names no
# profile gets "production", so a new environment is safe until someone decides otherwise.
PROFILES: dict[str, dict[str, Any]] = {
    "development": {
        "network": {"nat": "single", "flow_log_retention_days": 30},
        "cluster": {
            "container_insights": False,
            "spot": True,
            "exec_enabled": True,
            "log_retention_days": 30,
            # Replace tasks in place: dev tolerates a moment without a running task.
            "min_healthy_percent": 0,
            "max_percent": 200,
        },
        "edge": {"deletion_protection": False},
    },
    "production": {
        "network": {"nat": "per_az", "flow_log_retention_days": 365},
        "cluster": {
            "container_insights": True,
            "spot": False,
            "exec_enabled": False,
            "log_retention_days": 365,
            "min_healthy_percent": 100,
            "max_percent": 200,
        },
        "edge": {"deletion_protection": True},
    },
}
DEFAULT_PROFILE: ProfileName = "production"


class _Strict(BaseModel):
    # Unknown keys are errors: a typo must never be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class StateSettings(_Strict):
    """`[state]` in project.toml: how the bootstrap stack and the environment backends keep state."""

    lock: LockMode = "dynamodb"
    """dynamodb: DynamoDB lock table; lockfile: S3 native `use_lockfile`; both: the two together."""
    bootstrap_backend: Literal["local", "s3"] = "local"
    """local for the first apply; s3 once the bootstrap state has been migrated into its own bucket."""
    noncurrent_version_days: int = Field(default=90, ge=1, le=3650)
    """Days a superseded state version is kept before it expires."""
    access_log_days: int = Field(default=365, ge=1, le=3650)
    """Days the state bucket's server access logs are kept."""


class ProjectConfig(_Strict):
    """environments/project.toml."""

    name: Slug
    region: Region
    account_id: AccountId
    owner: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\w .:/=+@-]+$")] = (
        "platform"
    )
    state: StateSettings = StateSettings()
    tags: dict[TagKey, TagValue] = {}

    @field_validator("name")
    @classmethod
    def _not_internal(cls, name: str) -> str:
        if name == "internal" or name.startswith("internal-"):
            raise ValueError(
                "load balancer names start with the project name and may not start with 'internal-'"
            )
        if name.startswith(("aws", "ecs", "fargate")):
            raise ValueError(
                "ECS capacity provider names start with the project name and may not start with aws, ecs or fargate"
            )
        return name

    @field_validator("tags")
    @classmethod
    def _no_standard_tag_override(cls, tags: dict[str, str]) -> dict[str, str]:
        clashes = sorted(set(tags) & set(STANDARD_TAGS))
        if clashes:
            raise ValueError(f"{', '.join(clashes)} is set by the generator; choose another tag key")
        return tags


class NetworkConfig(_Strict):
    """`[network]` in an environment file."""

    cidr: IPv4Network
    az_count: int = Field(default=2, ge=2, le=6)
    zones: list[ZoneLetter] | None = None
    """Zone letters in the region (e.g. ["a", "c"]); default: the first az_count letters."""
    nat: NatMode
    public_subnet_prefix: int = Field(default=24, ge=16, le=28)
    private_subnet_prefix: int = Field(default=20, ge=16, le=28)
    flow_log_retention_days: int
    interface_endpoints: list[Literal[INTERFACE_ENDPOINTS]] = []  # type: ignore[valid-type]

    @field_validator("cidr", mode="before")
    @classmethod
    def _parse_cidr(cls, value: Any) -> IPv4Network:
        if not isinstance(value, str):
            raise ValueError('must be a string such as "10.10.0.0/16"')
        try:
            network = IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"not an IPv4 network CIDR ({exc})") from None
        if not 16 <= network.prefixlen <= 24:
            raise ValueError("a VPC CIDR must be between /16 and /24")
        return network

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs accepts {sorted(LOG_RETENTION_DAYS)}")
        return days

    @field_validator("interface_endpoints")
    @classmethod
    def _unique_endpoints(cls, endpoints: list[str]) -> list[str]:
        if len(set(endpoints)) != len(endpoints):
            raise ValueError("lists an endpoint twice")
        return endpoints

    @model_validator(mode="after")
    def _zones_and_sizing(self) -> NetworkConfig:
        if self.zones is not None:
            if len(self.zones) != self.az_count:
                raise ValueError(f"zones lists {len(self.zones)} zones but az_count is {self.az_count}")
            if len(set(self.zones)) != len(self.zones):
                raise ValueError("zones lists a zone twice")
        cidr.allocate(self.cidr, self.az_count, self.private_subnet_prefix, self.public_subnet_prefix)
        return self

    @property
    def zone_letters(self) -> tuple[str, ...]:
        return tuple(self.zones) if self.zones is not None else tuple("abcdef"[: self.az_count])

    @property
    def subnets(self) -> cidr.SubnetLayout:
        return cidr.allocate(self.cidr, self.az_count, self.private_subnet_prefix, self.public_subnet_prefix)


class EnvironmentConfig(_Strict):
    """environments/<env>.toml, after its profile's defaults were laid under it."""

    profile: ProfileName = DEFAULT_PROFILE
    account_id: AccountId | None = None
    region: Region | None = None
    assume_role_arn: RoleArn | None = None
    """Role the provider assumes in the environment's account (separate-account setups)."""
    network: NetworkConfig
    compute: Literal["fargate", "ec2"] = "fargate"
    """fargate: FARGATE / FARGATE_SPOT capacity providers; ec2: an Auto Scaling Group of ECS instances."""
    cluster: ClusterConfig
    edge: EdgeConfig
    domain: DomainConfig | None = None
    services: list[ServiceConfig] = []


@dataclass(frozen=True)
class Environment:
    """One environment, resolved against the project: what the stacks are built from."""

    name: str
    project: ProjectConfig
    config: EnvironmentConfig
    source: str  # the file it came from, for messages

    @property
    def prefix(self) -> str:
        """`<project>-<env>`: the start of every resource name in this environment."""
        return f"{self.project.name}-{self.name}"

    @property
    def log_group_prefix(self) -> str:
        """`/<project>/<env>`: the start of every CloudWatch log group name in this environment."""
        return f"/{self.project.name}/{self.name}"

    @property
    def region(self) -> str:
        return self.config.region or self.project.region

    @property
    def account_id(self) -> str:
        return self.config.account_id or self.project.account_id

    @property
    def network(self) -> NetworkConfig:
        return self.config.network

    @property
    def services(self) -> list[ServiceConfig]:
        return self.config.services

    @property
    def tags(self) -> dict[str, str]:
        return default_tags(self.project, self.name)


def default_tags(project: ProjectConfig, stack_name: str) -> dict[str, str]:
    """Provider default tags of a stack: the four standard tags, then the project's own."""
    standard = {
        "Project": project.name,
        "Environment": stack_name,
        "Owner": project.owner,
        "ManagedBy": "terraform",
    }
    return {**standard, **dict(sorted(project.tags.items()))}


@dataclass(frozen=True)
class Platform:
    """The project and its environments, in name order."""

    project: ProjectConfig
    environments: tuple[Environment, ...]
    source: str

    def environment(self, name: str) -> Environment:
        return next(env for env in self.environments if env.name == name)


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.problem}"


class ConfigError(Exception):
    """Every problem found in the config, each one line."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith("literal[") or part.startswith("function-"):
            continue  # pydantic's own union/validator labels, not config keys
        else:
            path += f".{part}" if path else part
    return path or "(file)"


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    # Echo what was given when it is a value, not a whole table (model-level rules say enough).
    given = error.get("input")
    if isinstance(given, str | int | float | bool | list) and len(repr(given)) <= 80:
        message += f" (got {given!r})"
    return message


def _problems(file: str, exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[ConfigProblem]:
    return [ConfigProblem(file, _key_path(prefix + tuple(e["loc"])), _message(e)) for e in exc.errors()]


def _read_toml(path: Path, shown: str) -> tuple[dict[str, Any] | None, list[ConfigProblem]]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle), []
    except FileNotFoundError:
        return None, [ConfigProblem(shown, "(file)", "file not found")]
    except tomllib.TOMLDecodeError as exc:
        return None, [ConfigProblem(shown, "(file)", f"not valid TOML: {exc}")]
    except OSError as exc:
        return None, [ConfigProblem(shown, "(file)", f"cannot be read: {exc.strerror}")]


def _with_profile(raw: dict[str, Any]) -> dict[str, Any]:
    """Lay the environment's values over its profile's defaults (one level of tables deep)."""
    profile = raw.get("profile", DEFAULT_PROFILE)
    merged = copy.deepcopy(PROFILES.get(profile, {}) if isinstance(profile, str) else {})
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _cross_file_problems(environments: list[Environment]) -> list[ConfigProblem]:
    """Rules between files: environment CIDRs must not overlap (peering and VPN need unique ranges)."""
    problems: list[ConfigProblem] = []
    for index, env in enumerate(environments):
        for earlier in environments[:index]:
            if env.network.cidr.overlaps(earlier.network.cidr):
                problems.append(
                    ConfigProblem(
                        env.source,
                        "network.cidr",
                        f"{env.network.cidr} overlaps {earlier.network.cidr} of environment "
                        f"'{earlier.name}' ({earlier.source})",
                    )
                )
    return problems


def load_platform(config_dir: Path, only: tuple[str, ...] = ()) -> Platform:
    """Read project.toml and every <env>.toml in `config_dir`; raise ConfigError listing all problems.

    `only` restricts which environments are returned; every file is still validated, so cross-file
    rules hold whichever subset is synthesized.
    """
    shown_dir = str(config_dir)
    problems: list[ConfigProblem] = []
    project_shown = f"{shown_dir}/{PROJECT_FILE}"
    raw_project, read_problems = _read_toml(config_dir / PROJECT_FILE, project_shown)
    problems += read_problems
    project: ProjectConfig | None = None
    if raw_project is not None:
        try:
            project = ProjectConfig.model_validate(raw_project)
        except ValidationError as exc:
            problems += _problems(project_shown, exc)

    env_files = sorted(p for p in config_dir.glob("*.toml") if p.name != PROJECT_FILE)
    if config_dir.is_dir() and not env_files:
        problems.append(ConfigProblem(shown_dir, "(directory)", "no environment files (<env>.toml) found"))
    environments: list[Environment] = []
    for path in env_files:
        shown = f"{shown_dir}/{path.name}"
        name = path.stem
        if name in RESERVED_STACK_NAMES:
            problems.append(ConfigProblem(shown, "(file name)", f"'{name}' is reserved; rename the file"))
            continue
        if not _valid_slug(name):
            problems.append(
                ConfigProblem(
                    shown,
                    "(file name)",
                    f"environment name '{name}' must be a slug: a-z, 0-9 and '-', 2-20 chars",
                )
            )
            continue
        raw, read_problems = _read_toml(path, shown)
        problems += read_problems
        if raw is None:
            continue
        try:
            config = EnvironmentConfig.model_validate(_with_profile(raw))
        except ValidationError as exc:
            problems += _problems(shown, exc)
            continue
        rule_problems = service_rules(
            config.services, config.edge, config.domain, production=config.profile == "production"
        )
        problems += [ConfigProblem(shown, key, problem) for key, problem in rule_problems]
        if project is not None and not rule_problems:
            environments.append(Environment(name=name, project=project, config=config, source=shown))

    unknown = sorted(set(only) - {p.stem for p in env_files})
    for name in unknown:
        problems.append(ConfigProblem(f"{shown_dir}/{name}.toml", "(file)", f"no environment named '{name}'"))
    problems += _cross_file_problems(environments)
    if problems:
        raise ConfigError(problems)
    assert project is not None
    selected = tuple(env for env in environments if not only or env.name in only)
    return Platform(project=project, environments=selected, source=shown_dir)


def _valid_slug(name: str) -> bool:
    try:
        _SlugCheck.model_validate({"value": name})
    except ValidationError:
        return False
    return True


class _SlugCheck(_Strict):
    value: Slug
