"""Reading `environments/*.toml` into a validated `Platform`, every problem at once.

Imports nothing from cdktf or the provider bindings, so a bad config is reported before the jsii
runtime starts. Loading collects every problem across all files and raises one `ConfigError`.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from modules.config.cloud import (
    BACKEND_KEY,
    WORKSPACE_KEY,
    Backend,
    bootstrap_backend_rules,
    bootstrap_workspace_name,
    cloud_rules,
    shared_workspace_rules,
    workspace_name,
)
from modules.config.data import (
    BucketConfig,
    CacheConfig,
    DatabaseConfig,
    FilesystemConfig,
    data_rules,
    store_use_rules,
)
from modules.config.delivery import (
    Connection,
    DeliveryMode,
    EnvironmentDeliveryConfig,
    delivery_rules,
    promotion_rules,
)
from modules.config.edge import DomainConfig, EdgeConfig
from modules.config.environment import Environment, EnvironmentConfig, Platform
from modules.config.errors import ConfigError, ConfigProblem, labelled, problems_of
from modules.config.network import parse_vpc_cidr
from modules.config.observability import ApmConfig, NotificationsConfig, observability_rules
from modules.config.profiles import DEFAULT_PROFILE, OPTIONAL_SECTIONS, PER_ENTRY_SECTIONS, PROFILES
from modules.config.project import PROJECT_FILE, ProjectConfig
from modules.config.secrets import ParameterConfig, SecretConfig, secret_rules
from modules.config.services import ServiceConfig, service_rules
from modules.config.state_access import ASSUME_ROLE_KEY, state_access_rules, state_principals
from modules.config.types import SLUG_WORDS, AccountId, RoleArn, Slug, Strict

RESERVED_STACK_NAMES = frozenset({"bootstrap", "project"})


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
    """Lay the environment's values over its profile's defaults (one level of tables deep). An
    optional section's defaults apply only when the file has the section; an array of tables'
    (PER_ENTRY_SECTIONS) apply to each of its entries."""
    profile = raw.get("profile", DEFAULT_PROFILE)
    merged = copy.deepcopy(PROFILES.get(profile, {}) if isinstance(profile, str) else {})
    per_entry = {key: merged.pop(key) for key in PER_ENTRY_SECTIONS if key in merged}
    for key in OPTIONAL_SECTIONS - raw.keys():
        merged.pop(key, None)
    for key, value in raw.items():
        if key in per_entry and isinstance(value, list):
            merged[key] = [{**per_entry[key], **e} if isinstance(e, dict) else e for e in value]
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _overlaps(
    shown: str, vpc: IPv4Network, earlier: list[tuple[str, str, IPv4Network]]
) -> list[ConfigProblem]:
    """Rules between files: environment CIDRs must not overlap (peering and VPN need unique ranges)."""
    return [
        ConfigProblem(
            shown, "network.cidr", f"{vpc} overlaps {other} of environment '{other_name}' ({other_shown})"
        )
        for other_name, other_shown, other in earlier
        if vpc.overlaps(other)
    ]


def _owned_account(raw: dict[str, Any], project_account: Any) -> str | None:
    """The account a file's environment owns (`[account] owner = true`), whatever else in the file
    failed: its `account_id`, else the project's; None when it owns none or the id is unreadable."""
    account = raw.get("account")
    if not isinstance(account, dict) or account.get("owner") is not True:
        return None
    chosen = raw.get("account_id", project_account)
    return chosen if _valid(_AccountIdCheck, {"value": chosen}) is not None else None


def _shared_owners(owners: list[tuple[str, str, str]]) -> list[ConfigProblem]:
    """Rules between files: one owner per account (account-wide resources exist once per account:
    a second owner's apply would fail on, or fight over, the first one's). One problem per owner
    that shares its account, naming the others."""
    return [
        ConfigProblem(
            shown,
            "account.owner",
            f"account {account} is also owned by "
            + ", ".join(f"environment '{n}' ({s})" for n, s, a in owners if a == account and s != shown)
            + "; only one environment per account may own it",
        )
        for _, shown, account in owners
        if sum(a == account for _, _, a in owners) > 1
    ]


def _vpc_cidr(merged: dict[str, Any]) -> IPv4Network | None:
    """The file's VPC CIDR if it parses, whatever else in the file failed (for the overlap rule)."""
    network = merged.get("network")
    try:
        return parse_vpc_cidr(network.get("cidr")) if isinstance(network, dict) else None
    except ValueError:
        return None


def _valid(model: type[Strict], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _profile_default(error: ErrorDetails, profile: Any) -> bool:
    """A key reported missing only because the profile named is not one: it would supply the key."""
    if error["type"] != "missing" or (isinstance(profile, str) and profile in PROFILES):
        return False
    for defaults in PROFILES.values():
        table: Any = defaults
        for part in error["loc"]:
            table = table.get(part) if isinstance(table, dict) and isinstance(part, str) else None
        if table is not None:
            return True
    return False


def _environment(
    shown: str, raw: dict[str, Any], name: str, project: ProjectConfig | None, project_account: Any
) -> tuple[EnvironmentConfig | None, list[ConfigProblem], IPv4Network | None]:
    """One environment file: its schema problems, then the rules across its services and stores
    over every service and section that validated; and its VPC CIDR if that parsed."""
    merged = _with_profile(raw)
    config: EnvironmentConfig | None = None
    problems: list[ConfigProblem] = []
    try:
        config = EnvironmentConfig.model_validate(merged)
        services: list[ServiceConfig | None] = list(config.services)
        secrets: list[SecretConfig | None] = list(config.secrets)
        parameters: list[ParameterConfig | None] = list(config.parameters)
        edge, domain, profile = config.edge, config.domain, config.profile
        database, cache = config.database, config.cache
        buckets: list[BucketConfig | None] = list(config.buckets)
        filesystems: list[FilesystemConfig | None] = list(config.filesystems)
        notifications, apm = config.notifications, config.apm
    except ValidationError as exc:
        profile = merged.get("profile", DEFAULT_PROFILE)
        errors = [e for e in exc.errors() if not _profile_default(e, profile)]
        problems += problems_of(shown, errors, EnvironmentConfig, merged)
        entries = merged.get("services", [])
        services = [_valid(ServiceConfig, entry) for entry in entries] if isinstance(entries, list) else []
        edge = _valid(EdgeConfig, merged.get("edge"))
        domain = _valid(DomainConfig, merged["domain"]) if "domain" in merged else None
        secrets = _valid_entries(SecretConfig, merged.get("secrets", []))
        parameters = _valid_entries(ParameterConfig, merged.get("parameters", []))
        database = _valid(DatabaseConfig, merged["database"]) if "database" in merged else None
        cache = _valid(CacheConfig, merged["cache"]) if "cache" in merged else None
        buckets = _valid_entries(BucketConfig, merged.get("buckets", []))
        filesystems = _valid_entries(FilesystemConfig, merged.get("filesystems", []))
        notifications = _valid(NotificationsConfig, merged.get("notifications"))
        apm = _valid(ApmConfig, merged["apm"]) if "apm" in merged else None
    production = profile == "production" if isinstance(profile, str) and profile in PROFILES else None
    rules = service_rules(services, edge, domain, production, domain_set="domain" in merged)
    rules += secret_rules(services, secrets, parameters)
    rules += store_use_rules(
        [
            (index, service.parsed_uses, (*service.environment, *service.secrets))
            for index, service in enumerate(services)
            if service is not None
        ],
        database=database,
        cache=cache,
        buckets=buckets,
        filesystems=filesystems,
        sections_set=frozenset(k for k in ("database", "cache", "buckets", "filesystems") if k in merged),
    )
    account_id = merged.get("account_id", project_account)
    rules += state_access_rules(
        account_id=account_id if _valid(_AccountIdCheck, {"value": account_id}) is not None else None,
        project_account=project_account
        if _valid(_AccountIdCheck, {"value": project_account}) is not None
        else None,
        assume_role_arn=merged.get(ASSUME_ROLE_KEY)
        if _valid(_RoleArnCheck, {"value": merged.get(ASSUME_ROLE_KEY)}) is not None
        else None,
    )
    backend = merged.get(BACKEND_KEY, project.backend if project is not None else None)
    workspace = merged.get(WORKSPACE_KEY)
    rules += cloud_rules(
        backend=backend if backend in get_args(Backend) else None,
        workspace=workspace if isinstance(workspace, str) else None,
        cloud=project.cloud if project is not None else None,
        cloud_known=project is not None,
    )
    rules += data_rules(
        project=project.name if project is not None else None,
        env=name,
        account_id=account_id if _valid(_AccountIdCheck, {"value": account_id}) is not None else None,
        database=database,
        cache=cache,
        buckets=buckets,
        filesystems=filesystems,
        production=production,
    )
    rules += observability_rules(
        notifications,
        apm,
        None if any(entry is None for entry in secrets) else [entry.name for entry in secrets if entry],
    )
    rules += _deploy_owner_rules(merged, project, services)
    problems += [ConfigProblem(shown, labelled(key, merged), problem) for key, problem in rules]
    return (config if not problems else None), problems, _vpc_cidr(merged)


def _delivery_mode(raw: dict[str, Any], project: ProjectConfig | None) -> DeliveryMode | None:
    """The file's resolved delivery mode: its own, else the project's; None when unreadable."""
    delivery = _valid(EnvironmentDeliveryConfig, raw.get("delivery", {}))
    if delivery is None or project is None:
        return None
    return delivery.mode or project.delivery.mode


def _delivery_connection(raw: dict[str, Any], project: ProjectConfig | None) -> Connection | None:
    delivery = _valid(EnvironmentDeliveryConfig, raw.get("delivery", {}))
    if delivery is None or project is None:
        return None
    return delivery.connection or project.delivery.connection


def _deploy_owner_rules(
    merged: dict[str, Any], project: ProjectConfig | None, services: list[ServiceConfig | None]
) -> list[tuple[str, str]]:
    """A pipeline or workflow owns what it deploys: `deploy_owner = "terraform"` written beside a
    delivery mode would have every apply revert the last deployment."""
    cluster = merged.get("cluster")
    mode = _delivery_mode(merged, project)
    if not isinstance(cluster, dict) or cluster.get("deploy_owner") != "terraform" or mode in (None, "none"):
        return []
    delivered = [s.name for s in services if s is not None and s.image is None]
    if not delivered:
        return []
    return [
        (
            "cluster.deploy_owner",
            f'"terraform" with delivery mode "{mode}": the {mode} deployments of {", ".join(delivered)} '
            "would be reverted by every apply; remove it (delivered services are deployed by their pipeline)",
        )
    ]


def _valid_entries(model: type[Strict], entries: Any) -> list[Any]:
    """Each entry of a list of tables validated on its own (None where it failed)."""
    return [_valid(model, entry) for entry in entries] if isinstance(entries, list) else []


def _in_key_order(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Stable: by the top-level key in the schema's order, then by list index (`services[2]`)."""
    order = list(EnvironmentConfig.model_fields)

    def rank(problem: ConfigProblem) -> tuple[int, int]:
        match = re.match(r"([^.\[ ]*)(?:\[(\d+)\])?", problem.key)
        top, index = match.groups() if match else ("", None)
        return (order.index(top) if top in order else len(order), int(index) if index else -1)

    return sorted(problems, key=rank)


def load_platform(config_dir: Path, only: tuple[str, ...] = ()) -> Platform:
    """Read project.toml and every <env>.toml in `config_dir`; raise ConfigError listing all problems.

    `only` restricts which environments are returned; every file is still validated, so cross-file
    rules hold whichever subset is synthesized. Each file is checked as far as it can be: a value
    that fails its type holds back only the rules that need it, and CIDR overlaps are checked
    between every file whose `network.cidr` parsed.
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
            problems += problems_of(project_shown, exc.errors(), ProjectConfig, raw_project)

    env_files = sorted(p for p in config_dir.glob("*.toml") if p.name != PROJECT_FILE)
    if config_dir.is_dir() and not env_files:
        problems.append(ConfigProblem(shown_dir, "(directory)", "no environment files (<env>.toml) found"))
    environments: list[Environment] = []
    cidrs: list[tuple[str, str, IPv4Network]] = []  # (name, file, CIDR) of every file whose CIDR parsed
    owners: list[tuple[str, str, str]] = []  # (name, file, account) of every file that owns its account
    # The resolved backend of every environment file (None: unknown), and (name, file, workspace,
    # named in the file) of every cloud environment: for the rules between files and project.toml.
    backends: list[Backend | None] = []
    workspaces: list[tuple[str, str, str, bool]] = []
    # (name, file, account, resolved mode, resolved connection) of every file whose delivery validated.
    deliveries: list[tuple[str, str, str, DeliveryMode, Connection | None]] = []
    project_account = project.account_id if project else (raw_project or {}).get("account_id")
    for path in env_files:
        shown = f"{shown_dir}/{path.name}"
        name = path.stem
        if name in RESERVED_STACK_NAMES:
            problems.append(ConfigProblem(shown, "(file name)", f"'{name}' is reserved; rename the file"))
            continue
        if not _valid_slug(name):
            problems.append(
                ConfigProblem(shown, "(file name)", f"environment name '{name}' must be {SLUG_WORDS}")
            )
            continue
        raw, read_problems = _read_toml(path, shown)
        problems += read_problems
        if raw is None:
            continue
        config, file_problems, vpc = _environment(shown, raw, name, project, project_account)
        if vpc is not None:
            file_problems += _overlaps(shown, vpc, cidrs)
            cidrs.append((name, shown, vpc))
        problems += _in_key_order(file_problems)
        if (owned := _owned_account(raw, project_account)) is not None:
            owners.append((name, shown, owned))
        mode = _delivery_mode(raw, project)
        account = raw.get("account_id", project_account)
        if mode is not None and _valid(_AccountIdCheck, {"value": account}) is not None:
            deliveries.append((name, shown, account, mode, _delivery_connection(raw, project)))
        backend = raw.get(BACKEND_KEY, project.backend if project is not None else None)
        backends.append(backend if backend in get_args(Backend) else None)
        workspace = raw.get(WORKSPACE_KEY)
        if backend == "cloud" and project is not None and (workspace is None or isinstance(workspace, str)):
            workspaces.append(
                (name, shown, workspace_name(project.name, name, workspace), workspace is not None)
            )
        if config is not None and project is not None and not file_problems:
            environments.append(Environment(name=name, project=project, config=config, source=shown))

    problems += _shared_owners(owners)
    if project is not None:
        problems += [
            ConfigProblem(*problem)
            for problem in delivery_rules(deliveries, owners, project.delivery.repository)
        ]
    if project is not None:
        problems += [
            ConfigProblem(*problem)
            for problem in promotion_rules(
                project.delivery,
                project_shown,
                [name for name, _, _, mode, _ in deliveries if mode == "github"],
            )
        ]
        problems += [
            ConfigProblem(project_shown, key, problem)
            for key, problem in bootstrap_backend_rules(
                bootstrap_backend=project.state.bootstrap_backend,
                cloud=project.cloud,
                backends=backends
                if env_files and len(backends) == len(env_files) and None not in backends
                else None,
            )
        ]
        bootstrap_workspace = (
            bootstrap_workspace_name(project.name) if project.state.bootstrap_backend == "cloud" else None
        )
        problems += [
            ConfigProblem(shown, key, problem)
            for shown, key, problem in shared_workspace_rules(workspaces, bootstrap_workspace)
        ]
    unknown = sorted(set(only) - {p.stem for p in env_files})
    for name in unknown:
        problems.append(
            ConfigProblem(
                f"{shown_dir}/{name}.toml",
                "(file)",
                f"no environment named '{name}'; environments: "
                + (", ".join(sorted({p.stem for p in env_files} - RESERVED_STACK_NAMES)) or "none"),
            )
        )
    if problems:
        raise ConfigError(problems)
    assert project is not None
    # The owner of an account any of whose environments delivers with github creates its OIDC
    # provider for GitHub (unless `[account] github_oidc_provider = false`: it exists already).
    github = {env.name: env for env in environments if env.delivery_mode == "github"}
    github_accounts = {env.account_id for env in github.values()}
    promotion = [github[name] for name in project.delivery.promotion if name in github]
    upstream = {
        later.name: (earlier.name, earlier.account_id, earlier.region)
        for earlier, later in zip(promotion, promotion[1:], strict=False)
    }
    environments = [
        dataclasses.replace(
            env,
            creates_github_provider=env.config.account.owner
            and env.config.account.github_oidc_provider
            and env.account_id in github_accounts,
            promoted_from=upstream.get(env.name),
        )
        for env in environments
    ]
    selected = tuple(env for env in environments if not only or env.name in only)
    # From every environment, not only the selected ones: the bootstrap stack grants them all.
    principals = state_principals(
        project.account_id,
        (
            (env.name, env.account_id, env.config.assume_role_arn)
            for env in environments
            if env.backend == "s3"
        ),
    )
    return Platform(
        project=project,
        environments=selected,
        source=shown_dir,
        state_principals=principals,
        all_environments=tuple(environments),
    )


def _valid_slug(name: str) -> bool:
    try:
        _SlugCheck.model_validate({"value": name})
    except ValidationError:
        return False
    return True


class _SlugCheck(Strict):
    value: Slug


class _AccountIdCheck(Strict):
    value: AccountId


class _RoleArnCheck(Strict):
    value: RoleArn
