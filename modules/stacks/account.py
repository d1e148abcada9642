"""The account-wide services, composed for the environment that owns its account.

Resources that exist once per account (a multi-region trail) or once per account and region (a
GuardDuty detector, an IAM Access Analyzer) are created by exactly one environment: the one whose
`[account]` table says `owner = true` (the loader refuses a second owner of an account). Later
account-wide concerns (OIDC providers, X-Ray settings) join them here.
"""

from __future__ import annotations

from modules.cdk import Construct
from modules.config import Environment
from modules.data import (
    ABORT_INCOMPLETE_UPLOAD_DAYS,
    PrivateBucket,
    PrivateBucketProps,
    server_access_log_bucket,
)
from modules.observability import XrayEncryption, XrayEncryptionProps
from modules.security import (
    AccessAnalyzer,
    AccessAnalyzerProps,
    GuardDuty,
    GuardDutyProps,
    Trail,
    TrailKey,
    TrailKeyProps,
    TrailNames,
    TrailProps,
    bucket_delivery_statements,
)

# CloudTrail never overwrites a log file, so a noncurrent version exists only where one was
# deleted or overwritten by someone else: keep that evidence for a year (log file validation
# reports the gap, the old version still holds what was there).
TRAIL_NONCURRENT_VERSION_DAYS = 365
# S3 never overwrites an access-log object: a noncurrent version exists only after expiry ran.
ACCESS_LOG_NONCURRENT_VERSION_DAYS = 1


class AccountServices(Construct):
    """CloudTrail (its key, its `PrivateBucket` and that bucket's server access-log bucket, the trail),
    GuardDuty, IAM Access Analyzer and X-Ray's encryption with the environment key, each as `[account]` switches it. Only for the environment that
    owns its account.

    Exposes `trail_arn`, `trail_log_group_name` (the audit alarms' source) and `detector_id` (None
    when switched off).
    """

    def __init__(self, scope: Construct, id: str, env: Environment, kms_key_arn: str) -> None:
        super().__init__(scope, id)
        settings = env.config.account
        self.trail_arn: str | None = None
        self.trail_log_group_name: str | None = None
        self.detector_id: str | None = None
        if settings.cloudtrail:
            names = TrailNames.of(env)
            key = TrailKey(self, "trail-key", TrailKeyProps.of(env))
            # Server access logs of the trail bucket: who read (or tried to change) the audit record.
            access_logs = server_access_log_bucket(
                self,
                "trail-access-logs",
                name=names.access_log_bucket_name,
                partition=names.partition,
                account_id=names.account_id,
                source_bucket_names=(names.bucket_name,),
                expiration_days=settings.trail_retention_days,
                noncurrent_version_days=ACCESS_LOG_NONCURRENT_VERSION_DAYS,
            )
            bucket = PrivateBucket(
                self,
                "trail-bucket",
                PrivateBucketProps(
                    name=names.bucket_name,
                    partition=names.partition,
                    # CloudTrail encrypts every log file with the trail key itself (the trail's
                    # kms_key_id). The bucket default stays SSE-S3: the baseline pairs SSE-KMS with an
                    # S3 Bucket Key, whose data keys carry the bucket ARN as encryption context
                    # instead of the aws:cloudtrail:arn the key policy admits CloudTrail by.
                    kms_key_arn=None,
                    noncurrent_version_days=TRAIL_NONCURRENT_VERSION_DAYS,
                    expiration_days=settings.trail_retention_days,
                    abort_incomplete_upload_days=ABORT_INCOMPLETE_UPLOAD_DAYS,
                    transitions=(),
                    cors_origins=(),
                    object_lock_days=None,
                    policy_statements=bucket_delivery_statements(names),
                    # Through the log bucket's policy: S3 refuses a logging target that does not
                    # admit log delivery yet.
                    access_log_bucket=access_logs.policy.bucket,
                    access_log_prefix="trail-bucket/",
                    # The account's audit record: a destroy must be a deliberate change.
                    prevent_destroy=True,
                    tags={},
                ),
            )
            trail = Trail(
                self,
                "trail",
                TrailProps.of(
                    env,
                    # Through the bucket policy: CloudTrail refuses a bucket that does not admit it yet.
                    bucket_name=bucket.policy.bucket,
                    kms_key_arn=key.arn,
                    log_kms_key_arn=kms_key_arn,
                ),
            )
            self.trail_arn = trail.arn
            self.trail_log_group_name = trail.log_group_name
        if settings.guardduty:
            guardduty = GuardDuty(self, "guardduty", GuardDutyProps.of(env, kms_key_arn))
            self.detector_id = guardduty.detector_id
        if settings.access_analyzer:
            AccessAnalyzer(self, "access-analyzer", AccessAnalyzerProps.of(env))
        if settings.xray_encryption:
            XrayEncryption(self, "xray-encryption", XrayEncryptionProps.of(env, kms_key_arn))
