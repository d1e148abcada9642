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
        # db.t4g.medium: the smallest class both RDS and Aurora run.
        "database": {
            "instance_class": "db.t4g.medium",
            "multi_az": False,
            "backup_retention_days": 1,
            "deletion_protection": False,
            "final_snapshot": False,
            "log_retention_days": 30,
        },
        "cache": {
            "node_type": "cache.t4g.micro",
            "multi_az": False,
            "snapshot_retention_days": 1,
            "log_retention_days": 30,
        },
        "filesystems": {"backup": False},
        # Quiet: five breaching minutes before an alarm; logs kept a month.
        "alarms": {"evaluation_periods": 5},
        "notifications": {"log_retention_days": 30},
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
        "database": {
            "instance_class": "db.r6g.large",
            "multi_az": True,
            "backup_retention_days": 14,
            "deletion_protection": True,
            "final_snapshot": True,
            "log_retention_days": 365,
        },
        "cache": {
            "node_type": "cache.m7g.large",
            "multi_az": True,
            "snapshot_retention_days": 7,
            "log_retention_days": 365,
        },
        "filesystems": {"backup": True},
        "alarms": {"evaluation_periods": 3},
        "notifications": {"log_retention_days": 365},
    },
}
DEFAULT_PROFILE: ProfileName = "production"
# Profile tables laid under a section only when the file has it (an optional store is not created
# by its profile), and tables laid under every entry of an array of tables.
OPTIONAL_SECTIONS = frozenset({"database", "cache"})
PER_ENTRY_SECTIONS = frozenset({"filesystems"})
