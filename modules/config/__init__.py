"""The typed config schema: `environments/*.toml` in, a validated `Platform` out.

The single source of defaults and per-environment profiles. Imports nothing from cdktf or the
provider bindings, so a bad config is reported before the jsii runtime starts.
"""

from modules.config.compute import ClusterConfig
from modules.config.edge import DomainConfig, EdgeConfig
from modules.config.environment import Environment, EnvironmentConfig, Platform
from modules.config.errors import ConfigError, ConfigProblem
from modules.config.loader import load_platform
from modules.config.network import NetworkConfig
from modules.config.profiles import DEFAULT_PROFILE, PROFILES
from modules.config.project import ProjectConfig, default_tags
from modules.config.services import ServiceConfig
from modules.config.state_access import StatePrincipal
from modules.config.types import NatMode

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "ClusterConfig",
    "ConfigError",
    "ConfigProblem",
    "DomainConfig",
    "EdgeConfig",
    "Environment",
    "EnvironmentConfig",
    "NatMode",
    "NetworkConfig",
    "Platform",
    "ProjectConfig",
    "ServiceConfig",
    "StatePrincipal",
    "default_tags",
    "load_platform",
]
