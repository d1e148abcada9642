"""The bootstrap stack: the S3 state bucket, its KMS key and the DynamoDB lock table.

It is applied first, with local state; once the bucket exists its own state moves into it
(`[state] bootstrap_backend = "s3"`, then `terraform init -migrate-state`).
"""

from __future__ import annotations

from dataclasses import dataclass

from modules import naming, policy
from modules.cdk import (
    Construct,
    LocalBackend,
    TerraformOutput,
    TerraformResourceLifecycle,
    TerraformStack,
    aws,
)
from modules.config import ProjectConfig, default_tags
from modules.providers import aws_provider, s3_backend

BOOTSTRAP_STACK = "bootstrap"


@dataclass(frozen=True)
class StateStoreProps:
    """What the state store needs; defaults live in the config schema."""

    bucket_name: str
    lock_table_name: str | None  # None: environments lock with S3 lockfiles only
    key_alias: str
    account_id: str
    partition: str
    noncurrent_version_days: int
    abort_incomplete_upload_days: int = 7

    @classmethod
    def of(cls, project: ProjectConfig) -> StateStoreProps:
        return cls(
            bucket_name=naming.state_bucket(project),
            lock_table_name=naming.lock_table(project)
            if project.state.lock in ("dynamodb", "both")
            else None,
            key_alias=naming.state_key_alias(project),
            account_id=project.account_id,
            partition=naming.partition(project.region),
            noncurrent_version_days=project.state.noncurrent_version_days,
        )


class StateStore(Construct):
    """Hardened remote state: KMS key, versioned private bucket, optional lock table.

    Exposes `bucket_name`, `key_arn` and `lock_table_name` (None without a table).
    """

    def __init__(self, scope: Construct, id: str, props: StateStoreProps) -> None:
        super().__init__(scope, id)
        key = aws.kms_key.KmsKey(
            self,
            "state-key",
            description=f"Terraform state: {props.bucket_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy.document(
                {
                    "Sid": "AccountAdministersKey",
                    "Effect": "Allow",
                    "Principal": policy.account_root(props.partition, props.account_id),
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ),
        )
        aws.kms_alias.KmsAlias(self, "state-key-alias", name=props.key_alias, target_key_id=key.key_id)

        bucket = aws.s3_bucket.S3Bucket(
            self,
            "state-bucket",
            bucket=props.bucket_name,
            # Losing this bucket loses every environment's state: Terraform refuses to destroy it.
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        aws.s3_bucket_versioning.S3BucketVersioningA(
            self,
            "state-bucket-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
        )
        # Nested blocks inside lists must be the binding's struct classes: plain dicts there lose
        # every multi-word key on the way through jsii, silently.
        sse = aws.s3_bucket_server_side_encryption_configuration
        sse.S3BucketServerSideEncryptionConfigurationA(
            self,
            "state-bucket-encryption",
            bucket=bucket.id,
            rule=[
                sse.S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="aws:kms", kms_master_key_id=key.arn
                        )
                    ),
                    # The bucket key cuts KMS requests (and cost) for every state read and write.
                    bucket_key_enabled=True,
                )
            ],
        )
        aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self,
            "state-bucket-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
            self,
            "state-bucket-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
        )
        aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "state-bucket-policy",
            bucket=bucket.id,
            policy=policy.document(policy.deny_insecure_transport(bucket.arn)),
        )
        lifecycle = aws.s3_bucket_lifecycle_configuration
        lifecycle.S3BucketLifecycleConfiguration(
            self,
            "state-bucket-lifecycle",
            bucket=bucket.id,
            rule=[
                lifecycle.S3BucketLifecycleConfigurationRule(
                    id="expire-superseded-state",
                    status="Enabled",
                    filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter()],
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

        self.lock_table_name: str | None = None
        if props.lock_table_name is not None:
            table = aws.dynamodb_table.DynamodbTable(
                self,
                "lock-table",
                name=props.lock_table_name,
                billing_mode="PAY_PER_REQUEST",
                hash_key="LockID",
                attribute=[aws.dynamodb_table.DynamodbTableAttribute(name="LockID", type="S")],
                point_in_time_recovery={"enabled": True},
                server_side_encryption={"enabled": True, "kms_key_arn": key.arn},
                deletion_protection_enabled=True,
            )
            self.lock_table_name = table.name

        self.bucket_name: str = bucket.bucket
        self.key_arn: str = key.arn


class BootstrapStack(TerraformStack):
    """The remote-state foundation every environment stack's backend points at."""

    def __init__(self, scope: Construct, project: ProjectConfig) -> None:
        super().__init__(scope, BOOTSTRAP_STACK)
        aws_provider(
            self,
            region=project.region,
            account_id=project.account_id,
            tags=default_tags(project, BOOTSTRAP_STACK),
        )
        if project.state.bootstrap_backend == "s3":
            s3_backend(self, project, BOOTSTRAP_STACK)
        else:
            LocalBackend(self, path="terraform.tfstate")

        store = StateStore(self, "state", StateStoreProps.of(project))
        TerraformOutput(
            self, "state_bucket", value=store.bucket_name, description="S3 bucket holding Terraform state"
        )
        TerraformOutput(
            self, "state_kms_key_arn", value=store.key_arn, description="KMS key encrypting state"
        )
        if store.lock_table_name is not None:
            TerraformOutput(
                self, "lock_table", value=store.lock_table_name, description="DynamoDB table for state locks"
            )
