"""The bootstrap stack: the S3 state bucket, its KMS key and the DynamoDB lock table.

It is applied first, with local state; once the bucket exists its own state moves into it
(`[state] bootstrap_backend = "s3"`, then `terraform init -migrate-state`). When every environment
keeps its state in Terraform Cloud there is no bucket, key or table, and the bootstrap's own state
may live in a Terraform Cloud workspace (`bootstrap_backend = "cloud"`).
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, LocalBackend, TerraformOutput, TerraformStack, aws
from modules.config import Environment, Platform, ProjectConfig, StatePrincipal, default_tags
from modules.config.cloud import bootstrap_workspace_name
from modules.core import iam, naming
from modules.data import (
    ABORT_INCOMPLETE_UPLOAD_DAYS,
    PrivateBucket,
    PrivateBucketProps,
    server_access_log_bucket,
)
from modules.security import KEY_DELETION_WINDOW_DAYS, TerraformCloudTrust, TerraformCloudTrustProps
from modules.security.state_access import (
    StateAccessProps,
    bucket_statements,
    key_statements,
    lock_table_statements,
)
from modules.stacks.providers import aws_provider, cloud_backend, s3_backend

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


def state_store_outputs(stack: Construct, store: StateStore) -> None:
    """What an operator reads after the first apply: the names the environment backends point at."""
    TerraformOutput(
        stack, "state_bucket", value=store.bucket_name, description="S3 bucket holding Terraform state"
    )
    TerraformOutput(
        stack,
        "state_access_log_bucket",
        value=store.access_log_bucket_name,
        description="S3 bucket receiving the state bucket's access logs",
    )
    TerraformOutput(stack, "state_kms_key_arn", value=store.key_arn, description="KMS key encrypting state")
    if store.lock_table_name is not None:
        TerraformOutput(
            stack, "lock_table", value=store.lock_table_name, description="DynamoDB table for state locks"
        )


class BootstrapStack(TerraformStack):
    """The remote-state foundation every environment stack's backend points at."""

    def __init__(self, scope: Construct, platform: Platform) -> None:
        """`platform.all_environments`, not the selected ones: a synth of some environments writes
        the same bootstrap stack as a full synth."""
        super().__init__(scope, BOOTSTRAP_STACK)
        project = platform.project
        aws_provider(
            self,
            region=project.region,
            account_id=project.account_id,
            tags=default_tags(project, BOOTSTRAP_STACK),
        )
        bootstrap_backend = project.state.bootstrap_backend
        if bootstrap_backend == "s3":
            s3_backend(self, project, BOOTSTRAP_STACK)
        elif bootstrap_backend == "cloud":
            assert project.cloud is not None  # the loader refuses "cloud" without [cloud]
            cloud_backend(self, project.cloud, bootstrap_workspace_name(project.name))
        else:
            LocalBackend(self, path="terraform.tfstate")

        # Only S3 environments keep state here: with every environment in Terraform Cloud there is
        # no bucket, key or lock table (and the loader refuses bootstrap_backend = "s3").
        if any(env.backend == "s3" for env in platform.all_environments):
            store = StateStore(self, "state", StateStoreProps.of(project, platform.state_principals))
            state_store_outputs(self, store)

        # Dynamic provider credentials of the cloud environments: they must exist before a
        # workspace's first run, and this is the stack an operator applies with their own credentials.
        terraform_cloud_trust(self, platform)


def cloud_environments_by_account(platform: Platform) -> dict[str, tuple[Environment, ...]]:
    """The cloud environments of every configured environment, by account, both in order."""
    by_account: dict[str, list[Environment]] = {}
    for env in sorted(platform.all_environments, key=lambda e: e.name):
        if env.backend == "cloud":
            by_account.setdefault(env.account_id, []).append(env)
    return {account: tuple(by_account[account]) for account in sorted(by_account)}


def account_provider(
    stack: Construct, platform: Platform, account_id: str, first: Environment
) -> aws.provider.AwsProvider:
    """The provider of another account: it assumes the role the first cloud environment (by name)
    of that account names, which the loader requires of an environment outside the project's account."""
    project = platform.project
    assert first.config.assume_role_arn is not None  # the loader's rule for another account
    return aws_provider(
        stack,
        region=project.region,
        account_id=account_id,
        tags=default_tags(project, BOOTSTRAP_STACK),
        assume_role_arn=first.config.assume_role_arn,
        session_name=f"{project.name}-bootstrap",
        alias=f"account_{account_id}",
    )


def terraform_cloud_trust(stack: Construct, platform: Platform) -> None:
    """Per account with cloud environments: the OIDC provider for the Terraform Cloud host and each
    environment's plan and apply roles; the project's account through the default provider, any
    other through an aliased one. Nothing without a cloud environment."""
    by_account = cloud_environments_by_account(platform)
    if not by_account:
        return
    cloud = platform.project.cloud
    assert cloud is not None  # the loader refuses a cloud environment without [cloud]
    role_arns: dict[str, dict[str, str]] = {}
    provider_arns: dict[str, str] = {}
    for account_id, environments in by_account.items():
        provider = (
            None
            if account_id == platform.project.account_id
            else account_provider(stack, platform, account_id, environments[0])
        )
        trust = TerraformCloudTrust(
            stack,
            f"terraform-cloud-{account_id}",
            TerraformCloudTrustProps.of(cloud, account_id, environments),
            provider=provider,
        )
        role_arns.update(trust.role_arns)
        provider_arns[account_id] = trust.oidc_provider_arn
    TerraformOutput(
        stack,
        "terraform_cloud_role_arns",
        value=role_arns,
        description="Terraform Cloud run roles by environment and phase (TFC_AWS_PLAN_ROLE_ARN, _APPLY_)",
    )
    TerraformOutput(
        stack,
        "terraform_cloud_oidc_provider_arns",
        value=provider_arns,
        description="IAM OIDC provider for the Terraform Cloud host, by account",
    )
