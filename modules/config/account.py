"""`[account]` of an environment file: whether it owns its account's account-wide services, and their settings.

Some resources exist once per account (a multi-region CloudTrail trail, an IAM OIDC provider) or
once per account and region (a GuardDuty detector, an IAM Access Analyzer). Exactly one
environment per account creates them: the one whose `[account]` table says `owner = true`. The
loader refuses two owners of one account (loader.py). These settings are never per profile: a
profile would switch them on in every environment of that profile, and a second owner would be
one `profile = "production"` away.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from modules.config.rules import rule
from modules.config.types import Strict, check_log_retention

FindingFrequency = Literal["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"]


class AccountConfig(Strict):
    """`[account]` in an environment file: the account-wide services this environment owns."""

    owner: bool = False
    """This environment creates its account's account-wide services (CloudTrail, GuardDuty, IAM
    Access Analyzer); at most one environment per account may. The account is `account_id`, else
    the project's."""
    cloudtrail: bool = True
    """Owner only: a multi-region CloudTrail trail with log file validation, KMS-encrypted, to its own
    S3 bucket and to a CloudWatch Logs group."""
    insights: bool = True
    """Owner only: CloudTrail Insights on the trail (unusual rates of write API calls); billed per
    event analyzed."""
    trail_retention_days: int = Field(default=2557, ge=1, le=3653)
    """Owner only: days the trail's log files are kept in its S3 bucket (the long-term record)."""
    guardduty: bool = True
    """Owner only: a GuardDuty detector in the environment's region, with S3 data events, EBS malware
    protection, RDS login events and runtime monitoring (ECS Fargate agent managed by GuardDuty);
    findings go to a CloudWatch Logs group."""
    guardduty_finding_frequency: FindingFrequency = "SIX_HOURS"
    """Owner only: how often updates to existing GuardDuty findings are published (new findings are
    published within minutes either way)."""
    access_analyzer: bool = True
    """Owner only: an IAM Access Analyzer (account zone of trust) in the environment's region, which
    reports resources shared outside the account."""
    xray_encryption: bool = True
    """Owner only: X-Ray encrypts the traces of every environment of the account in this region with
    this environment's key (X-Ray has one such setting per account and region)."""
    github_oidc_provider: bool = True
    """Owner only: create the account's IAM OIDC provider for GitHub Actions when an environment of
    the account delivers with github; false: one exists already (IAM allows one per host), and the
    roles trust it by its ARN."""
    cloudwatch_retention_days: int = 365
    """Owner only: days the trail's events and GuardDuty's findings are kept in CloudWatch Logs (a
    CloudWatch Logs retention value)."""

    _retention = field_validator("cloudwatch_retention_days")(check_log_retention)

    @rule("owner")
    def _settings_need_the_owner(self) -> None:
        # model_fields_set: the keys the file wrote (a default is never "set").
        written = sorted(self.model_fields_set - {"owner"})
        if written and not self.owner:
            raise ValueError(
                f"{', '.join(written)}: account-wide settings take effect only in the account's owner; "
                "set owner = true here (one environment per account) or remove them"
            )
