"""The bootstrap stack: the S3 state bucket, its KMS key and the DynamoDB lock table.

It is applied first, with local state; once the bucket exists its own state moves into it
(`[state] bootstrap_backend = "s3"`, then `terraform init -migrate-state`).
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, LocalBackend, TerraformOutput, TerraformStack, aws
from modules.config import ProjectConfig, StatePrincipal, default_tags
from modules.core import iam, naming
from modules.data import (
    ABORT_INCOMPLETE_UPLOAD_DAYS,
    PrivateBucket,
    PrivateBucketProps,
    server_access_log_bucket,
)
from modules.security import KEY_DELETION_WINDOW_DAYS
from modules.security.state_access import (
    StateAccessProps,
    bucket_statements,
    key_statements,
    lock_table_statements,
)
from modules.stacks.providers import aws_provider, s3_backend

BOOTSTRAP_STACK = "bootstrap"
# An access log object is never rewritten: a noncurrent version appears only when a log is deleted
# (by the expiry rule or by hand). A month to recover a deleted log is enough to investigate, and
# keeps a deliberate deletion of the audit trail undoable for as long.
ACCESS_LOG_NONCURRENT_VERSION_DAYS = 30


@dataclass(frozen=True)
class StateStoreProps:
    """What the state store needs; defaults live in the config schema."""

    bucket_name: str
    access_log_bucket_name: str
    lock_table_name: str | None  # None: environments lock with S3 lockfiles only
    key_alias: str
    account_id: str
    partition: str
    noncurrent_version_days: int
    access_log_days: int
    access: StateAccessProps  # the environments in other accounts and what each may touch

    @classmethod
    def of(cls, project: ProjectConfig, principals: tuple[StatePrincipal, ...]) -> StateStoreProps:
        bucket_name = naming.state_bucket(project)
        return cls(
            bucket_name=bucket_name,
            access_log_bucket_name=naming.state_access_log_bucket(project),
            lock_table_name=naming.lock_table(project)
            if project.state.lock in ("dynamodb", "both")
            else None,
            key_alias=naming.state_key_alias(project),
            account_id=project.account_id,
            partition=naming.partition(project.region),
            noncurrent_version_days=project.state.noncurrent_version_days,
            access_log_days=project.state.access_log_days,
            access=StateAccessProps(
                bucket_name=bucket_name,
                bucket_arn=naming.s3_bucket_arn(naming.partition(project.region), bucket_name),
                region=project.region,
                lock_files=project.state.lock in ("lockfile", "both"),
                lock_table=project.state.lock in ("dynamodb", "both"),
                principals=principals,
            ),
        )


class StateStore(Construct):
    """Hardened remote state: KMS key, versioned private bucket with access logs, optional lock table.

    Exposes `bucket_name`, `access_log_bucket_name`, `key_arn` and `lock_table_name` (None without
    a table).
    """

    def __init__(self, scope: Construct, id: str, props: StateStoreProps) -> None:
        super().__init__(scope, id)
        key = aws.kms_key.KmsKey(
            self,
            "state-key",
            description=f"Terraform state: {props.bucket_name}",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=iam.document(
                {
                    "Sid": "AccountAdministersKey",
                    "Effect": "Allow",
                    "Principal": iam.account_root(props.partition, props.account_id),
                    "Action": "kms:*",
                    "Resource": "*",
                },
                *key_statements(props.access),
            ),
        )
        aws.kms_alias.KmsAlias(self, "state-key-alias", name=props.key_alias, target_key_id=key.key_id)

        # Server access logs of the state bucket: who read or wrote which state, and when.
        access_logs = server_access_log_bucket(
            self,
            "access-log-bucket",
            name=props.access_log_bucket_name,
            partition=props.partition,
            account_id=props.account_id,
            source_bucket_names=(props.bucket_name,),
            expiration_days=props.access_log_days,
            noncurrent_version_days=ACCESS_LOG_NONCURRENT_VERSION_DAYS,
        )
        bucket = PrivateBucket(
            self,
            "state-bucket",
            PrivateBucketProps(
                name=props.bucket_name,
                partition=props.partition,
                kms_key_arn=key.arn,
                noncurrent_version_days=props.noncurrent_version_days,
                expiration_days=None,  # current state never expires
                abort_incomplete_upload_days=ABORT_INCOMPLETE_UPLOAD_DAYS,
                transitions=(),
                cors_origins=(),
                object_lock_days=None,
                policy_statements=bucket_statements(props.access),
                # Through the log bucket's policy: logging is switched on only once S3 log
                # delivery may write there (PutBucketLogging can refuse a target without it).
                access_log_bucket=access_logs.policy.bucket,
                access_log_prefix="state-bucket/",
                # Losing this bucket loses every environment's state: Terraform refuses to destroy it.
                prevent_destroy=True,
                tags={},
            ),
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
            if props.access.principals:
                # The one resource policy of the table (DynamoDB allows cross-account item access
                # only through it): each environment's own lock entries.
                aws.dynamodb_resource_policy.DynamodbResourcePolicy(
                    self,
                    "lock-table-policy",
                    resource_arn=table.arn,
                    policy=iam.document(*lock_table_statements(props.access, table.arn)),
                )

        self.bucket_name: str = bucket.name
        self.access_log_bucket_name: str = access_logs.name
        self.key_arn: str = key.arn


class BootstrapStack(TerraformStack):
    """The remote-state foundation every environment stack's backend points at."""

    def __init__(
        self, scope: Construct, project: ProjectConfig, state_principals: tuple[StatePrincipal, ...] = ()
    ) -> None:
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

        store = StateStore(self, "state", StateStoreProps.of(project, state_principals))
        TerraformOutput(
            self, "state_bucket", value=store.bucket_name, description="S3 bucket holding Terraform state"
        )
        TerraformOutput(
            self,
            "state_access_log_bucket",
            value=store.access_log_bucket_name,
            description="S3 bucket receiving the state bucket's access logs",
        )
        TerraformOutput(
            self, "state_kms_key_arn", value=store.key_arn, description="KMS key encrypting state"
        )
        if store.lock_table_name is not None:
            TerraformOutput(
                self, "lock_table", value=store.lock_table_name, description="DynamoDB table for state locks"
            )
