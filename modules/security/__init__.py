"""Encryption and access control of an environment; today its customer-managed KMS key."""

from modules.security.kms import KEY_DELETION_WINDOW_DAYS, EnvironmentKey, EnvironmentKeyProps

__all__ = ["KEY_DELETION_WINDOW_DAYS", "EnvironmentKey", "EnvironmentKeyProps"]
