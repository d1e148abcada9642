"""Per-environment profiles: the defaults an environment file starts from."""

from __future__ import annotations

from typing import Any, Literal

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
        # A deleted secret can be restored for the shortest window Secrets Manager allows.
        "secret_recovery_days": 7,
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
        "secret_recovery_days": 30,
    },
}
DEFAULT_PROFILE: ProfileName = "production"
