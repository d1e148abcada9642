"""One hardened S3 bucket baseline, used by every bucket the platform creates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, TerraformResourceLifecycle, aws
from modules.core import iam
from modules.core.naming import s3_bucket_arn

# A multipart upload still incomplete after a week was abandoned (a crashed writer): its parts are
# billed storage nobody can read, so every bucket aborts it.
ABORT_INCOMPLETE_UPLOAD_DAYS = 7


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
    (BucketOwnerEnforced), TLS-only policy, lifecycle for old versions and stale uploads,
    and optional server access logging.

    Exposes `name`, `arn` and `policy` (the `aws_s3_bucket_policy` resource).
    """

    def __init__(self, scope: Construct, id: str, props: PrivateBucketProps) -> None:
        super().__init__(scope, id)
        bucket = aws.s3_bucket.S3Bucket(
            self,
            "bucket",
            bucket=props.name,
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
                )
            ],
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


def server_access_log_delivery(
    source_bucket_arn: str, account_id: str, log_bucket_arn: str
) -> dict[str, Any]:
    """Let S3 log delivery write one source bucket's access logs into the log bucket."""
    return {
        "Sid": "S3ServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{log_bucket_arn}/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": source_bucket_arn},
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
    source_bucket_name: str,
    expiration_days: int,
    noncurrent_version_days: int,
) -> PrivateBucket:
    """The bucket one source bucket's S3 server access logs go to: the hardened baseline with SSE-S3
    (S3 log delivery writes only to SSE-S3 buckets, never SSE-KMS), logs expiring after
    `expiration_days`, and a policy that lets S3 log delivery write for that source bucket only.

    Point the source bucket's `access_log_bucket` at the returned bucket's `policy.bucket`, so
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
            policy_statements=(
                server_access_log_delivery(
                    s3_bucket_arn(partition, source_bucket_name), account_id, s3_bucket_arn(partition, name)
                ),
            ),
            access_log_bucket=None,  # a log bucket does not log itself
            access_log_prefix="",
            prevent_destroy=False,
            tags={},
        ),
    )
