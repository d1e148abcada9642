"""Keys, secrets, audit and access: the env KMS key, secrets and parameters, CloudTrail, GuardDuty, people's roles."""

from modules.security.access import PeopleRoles, PeopleRolesProps
from modules.security.guardduty import AccessAnalyzer, AccessAnalyzerProps, GuardDuty, GuardDutyProps
from modules.security.kms import KEY_DELETION_WINDOW_DAYS, EnvironmentKey, EnvironmentKeyProps
from modules.security.secrets import Secrets, SecretsProps
from modules.security.terraform_cloud import TerraformCloudTrust, TerraformCloudTrustProps
from modules.security.trail import (
    Trail,
    TrailKey,
    TrailKeyProps,
    TrailNames,
    TrailProps,
    bucket_delivery_statements,
)

__all__ = [
    "KEY_DELETION_WINDOW_DAYS",
    "AccessAnalyzer",
    "AccessAnalyzerProps",
    "EnvironmentKey",
    "EnvironmentKeyProps",
    "GuardDuty",
    "GuardDutyProps",
    "PeopleRoles",
    "PeopleRolesProps",
    "Secrets",
    "SecretsProps",
    "TerraformCloudTrust",
    "TerraformCloudTrustProps",
    "Trail",
    "TrailKey",
    "TrailKeyProps",
    "TrailNames",
    "TrailProps",
    "bucket_delivery_statements",
]
