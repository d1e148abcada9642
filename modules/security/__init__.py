"""Encryption and access control of an environment; today its customer-managed KMS key."""

from modules.security.kms import EnvironmentKey, EnvironmentKeyProps

__all__ = ["EnvironmentKey", "EnvironmentKeyProps"]
