"""Reading `environments/*.toml` into a validated `Platform`, every problem at once.

Imports nothing from cdktf or the provider bindings, so a bad config is reported before the jsii
runtime starts. Loading collects every problem across all files and raises one `ConfigError`.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modules.config.environment import Environment, EnvironmentConfig, Platform
from modules.config.errors import ConfigError, ConfigProblem, problems_of
from modules.config.profiles import DEFAULT_PROFILE, PROFILES
from modules.config.project import PROJECT_FILE, ProjectConfig
from modules.config.services import service_rules
from modules.config.types import Slug, Strict

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
            problems += problems_of(project_shown, exc)

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
            problems += problems_of(shown, exc)
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


class _SlugCheck(Strict):
    value: Slug
