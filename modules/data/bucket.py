"""One hardened S3 bucket baseline, used by every bucket the platform creates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from modules.cdk import Construct, TerraformResourceLifecycle, aws
from modules.core import iam
from modules.core.naming import s3_bucket_arn

# A multipart upload still incomplete after a week was abandoned (a crashed writer): its parts are
# billed storage nobody can read, so every bucket aborts it.
ABORT_INCOMPLETE_UPLOAD_DAYS = 7
# What a browser may do with a bucket that has CORS origins: download, upload (presigned PUT or
# POST) and check an object. ETag is exposed because a browser's multipart upload must send each
# part's ETag back to complete it.
CORS_METHODS = ("GET", "PUT", "POST", "HEAD")
CORS_EXPOSE_HEADERS = ("ETag",)
CORS_MAX_AGE_SECONDS = 3000


@dataclass(frozen=True)
class Transition:
    """Current objects move to `storage_class` this many days after they were written."""

    days: int
    storage_class: Literal["STANDARD_IA", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "INTELLIGENT_TIERING"]


@dataclass(frozen=True)
class PrivateBucketProps:
    """A private bucket; every value is given by the caller (the baseline itself is not optional)."""

    name: str
    partition: str  # of the bucket's region: "aws", "aws-cn", "aws-us-gov"
    kms_key_arn: str | None
    """SSE-KMS with a bucket key; None means SSE-S3 (what S3 server access log delivery requires)."""
    noncurrent_version_days: int  # a superseded version expires after this many days
    expiration_days: int | None  # current objects expire after this many days; None: kept
    abort_incomplete_upload_days: int  # stale multipart uploads are aborted after this many days
    transitions: tuple[Transition, ...]  # current objects move to cheaper classes; (): they stay
    cors_origins: tuple[str, ...]  # browser origins allowed CORS_METHODS; (): no CORS configuration
    object_lock_days: int | None
    """Object Lock in governance mode, each new version locked this many days; None: no Object Lock.
    S3 turns Object Lock on only when the bucket is created: changing this to a number later
    replaces the bucket."""
    policy_statements: tuple[dict[str, Any], ...]  # granted on top of the deny-non-TLS baseline
    access_log_bucket: str | None  # where S3 server access logs of this bucket go; None: not logged
    access_log_prefix: str  # key prefix of this bucket's access logs in access_log_bucket
    prevent_destroy: bool  # Terraform refuses to destroy the bucket
    tags: dict[str, str]  # on the bucket, on top of the provider's default tags

    @property
    def arn(self) -> str:
        return s3_bucket_arn(self.partition, self.name)


class PrivateBucket(Construct):
    """A versioned, encrypted bucket: all four public-access blocks, ACLs disabled
    (BucketOwnerEnforced), TLS-only policy, lifecycle for old versions and stale uploads, and
    optionally: transitions of current objects, browser CORS, Object Lock (governance) and server
    access logging.

    Exposes `name`, `arn` and `policy` (the `aws_s3_bucket_policy` resource).
    """

    def __init__(self, scope: Construct, id: str, props: PrivateBucketProps) -> None:
        super().__init__(scope, id)
        bucket = aws.s3_bucket.S3Bucket(
            self,
            "bucket",
            bucket=props.name,
            object_lock_enabled=True if props.object_lock_days is not None else None,
            tags=props.tags or None,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None,
        )
        aws.s3_bucket_versioning.S3BucketVersioningA(
            self, "versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}
        )
        # Nested blocks inside lists must be the binding's struct classes: plain dicts there lose
        # every multi-word key on the way through jsii, silently.
        sse = aws.s3_bucket_server_side_encryption_configuration
        default = sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
            sse_algorithm="aws:kms" if props.kms_key_arn else "AES256",
            kms_master_key_id=props.kms_key_arn,
        )
        sse.S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket.id,
            rule=[
                sse.S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=default,
                    # The bucket key cuts KMS requests (and cost) for every read and write.
                    bucket_key_enabled=True if props.kms_key_arn else None,
                )
            ],
        )
        aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self,
            "public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
            self, "ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}
        )
        bucket_policy = aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "policy",
            bucket=bucket.id,
            policy=iam.document(iam.deny_insecure_transport(props.arn), *props.policy_statements),
        )
        lifecycle = aws.s3_bucket_lifecycle_configuration
        lifecycle.S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket.id,
            rule=[
                lifecycle.S3BucketLifecycleConfigurationRule(
                    id="expire-old-versions-and-uploads",
                    status="Enabled",
                    filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter()],
                    expiration=(
                        [lifecycle.S3BucketLifecycleConfigurationRuleExpiration(days=props.expiration_days)]
                        if props.expiration_days
                        else None
                    ),
                    noncurrent_version_expiration=[
                        lifecycle.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=props.noncurrent_version_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        lifecycle.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=props.abort_incomplete_upload_days
                        )
                    ],
                ),
                *self._transition_rules(props),
            ],
        )
        if props.cors_origins:
            cors = aws.s3_bucket_cors_configuration
            cors.S3BucketCorsConfiguration(
                self,
                "cors",
                bucket=bucket.id,
                cors_rule=[
                    cors.S3BucketCorsConfigurationCorsRule(
                        id="browser-access",
                        allowed_origins=list(props.cors_origins),
                        allowed_methods=list(CORS_METHODS),
                        # Presigned requests carry their own signature; any request header may come.
                        allowed_headers=["*"],
                        expose_headers=list(CORS_EXPOSE_HEADERS),
                        max_age_seconds=CORS_MAX_AGE_SECONDS,
                    )
                ],
            )
        if props.object_lock_days is not None:
            lock = aws.s3_bucket_object_lock_configuration
            lock.S3BucketObjectLockConfigurationA(
                self,
                "object-lock",
                bucket=bucket.id,
                # Governance: a principal granted s3:BypassGovernanceRetention (none here) can still
                # remove a locked version; compliance mode could not be undone even by the account root.
                rule=lock.S3BucketObjectLockConfigurationRuleA(
                    default_retention=lock.S3BucketObjectLockConfigurationRuleDefaultRetentionA(
                        mode="GOVERNANCE", days=props.object_lock_days
                    )
                ),
            )
        if props.access_log_bucket is not None:
            aws.s3_bucket_logging.S3BucketLoggingA(
                self,
                "access-logging",
                bucket=bucket.id,
                target_bucket=props.access_log_bucket,
                target_prefix=props.access_log_prefix,
            )
        self.name: str = bucket.bucket
        self.arn: str = bucket.arn
        self.policy: Any = bucket_policy  # for writers that must wait until the policy admits them

    @staticmethod
    def _transition_rules(props: PrivateBucketProps) -> list[Any]:
        """A rule of its own for the transitions, beside the baseline's expiry rule."""
        if not props.transitions:
            return []
        lifecycle = aws.s3_bucket_lifecycle_configuration
        return [
            lifecycle.S3BucketLifecycleConfigurationRule(
                id="transition-current-versions",
                status="Enabled",
                filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter()],
                transition=[
                    lifecycle.S3BucketLifecycleConfigurationRuleTransition(
                        days=transition.days, storage_class=transition.storage_class
                    )
                    for transition in props.transitions
                ],
            )
        ]


def server_access_log_delivery(
    source_bucket_arns: Sequence[str], account_id: str, log_bucket_arn: str
) -> dict[str, Any]:
    """Let S3 log delivery write the source buckets' access logs into the log bucket (and no other
    bucket's: aws:SourceArn names each source)."""
    if not source_bucket_arns:
        raise ValueError("server access log delivery needs at least one source bucket")
    # One source is a plain string, several a list: IAM reads both the same.
    sources = source_bucket_arns[0] if len(source_bucket_arns) == 1 else list(source_bucket_arns)
    return {
        "Sid": "S3ServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{log_bucket_arn}/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": sources},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
    }


def server_access_log_bucket(
    scope: Construct,
    id: str,
    *,
    name: str,
    partition: str,
    account_id: str,
    source_bucket_names: Sequence[str],
    expiration_days: int,
    noncurrent_version_days: int,
) -> PrivateBucket:
    """The bucket the source buckets' S3 server access logs go to: the hardened baseline with SSE-S3
    (S3 log delivery writes only to SSE-S3 buckets, never SSE-KMS), logs expiring after
    `expiration_days`, and a policy that lets S3 log delivery write for those source buckets only.

    Point each source bucket's `access_log_bucket` at the returned bucket's `policy.bucket`, so
    logging is switched on only once delivery may write (PutBucketLogging can refuse a target
    without it).
    """
    return PrivateBucket(
        scope,
        id,
        PrivateBucketProps(
            name=name,
            partition=partition,
            kms_key_arn=None,
            expiration_days=expiration_days,
            noncurrent_version_days=noncurrent_version_days,
            abort_incomplete_upload_days=ABORT_INCOMPLETE_UPLOAD_DAYS,
            transitions=(),
            cors_origins=(),
            object_lock_days=None,
            policy_statements=(
                server_access_log_delivery(
                    [s3_bucket_arn(partition, source) for source in source_bucket_names],
                    account_id,
                    s3_bucket_arn(partition, name),
                ),
            ),
            access_log_bucket=None,  # a log bucket does not log itself
            access_log_prefix="",
            prevent_destroy=False,
            tags={},
        ),
    )
