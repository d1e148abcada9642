"""The account's CloudTrail trail: multi-region, log file validation, its own KMS key, CloudWatch Logs.

The trail is account-wide, so only the environment that owns its account creates it (`[account]`
in its file). Three pieces, composed by the stack because the delivery bucket is a data-layer
`PrivateBucket`: `TrailKey` (the key CloudTrail encrypts log files with), the bucket (built by the
stack from `TrailNames` and `bucket_delivery_statements`), then `Trail`, which names the bucket
through its policy so the first apply creates the policy before the trail.

Why a key of its own and not the environment key: the trail records the whole account (every
region, every environment in it), so who may read it is an audit decision, not an environment
one. People and services granted the environment key (to read its data and logs) do not thereby
read the account's audit trail, the key's policy says exactly that CloudTrail, and this trail only,
may encrypt with it, and the shared environment key policy stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.core import iam
from modules.core.naming import bounded, partition, s3_bucket_arn
from modules.security.kms import KEY_DELETION_WINDOW_DAYS

BUCKET_NAME_LIMIT = 63
# CloudTrail's own analysis of management events: unusual rates of write API calls.
INSIGHT_TYPES = ("ApiCallRateInsight",)
CLOUDTRAIL_SERVICE = "cloudtrail.amazonaws.com"


@dataclass(frozen=True)
class TrailNames:
    """The trail's names and ARNs, known from config before anything exists (policies name them)."""

    name: str  # the trail: "<project>-<env>-trail"
    arn: str
    bucket_name: str  # "<project>-<env>-cloudtrail-<account>-<region>", shortened with a hash past 63
    bucket_arn: str
    access_log_bucket_name: str  # "<project>-<env>-cloudtrail-logs-<account>-<region>": S3 access logs
    log_group_name: str  # "/<project>/<env>/cloudtrail": under the environment key's log prefix
    partition: str
    region: str  # the trail's home region
    account_id: str

    @classmethod
    def of(cls, env: Environment) -> TrailNames:
        part = partition(env.region)
        name = f"{env.prefix}-trail"
        # Account and region keep the global bucket name unique without a random suffix.
        suffix = f"-{env.account_id}-{env.region}"
        bucket_name = bounded(f"{env.prefix}-cloudtrail", BUCKET_NAME_LIMIT - len(suffix)) + suffix
        access_log_bucket_name = (
            bounded(f"{env.prefix}-cloudtrail-logs", BUCKET_NAME_LIMIT - len(suffix)) + suffix
        )
        return cls(
            name=name,
            arn=f"arn:{part}:cloudtrail:{env.region}:{env.account_id}:trail/{name}",
            bucket_name=bucket_name,
            bucket_arn=s3_bucket_arn(part, bucket_name),
            access_log_bucket_name=access_log_bucket_name,
            log_group_name=f"{env.log_group_prefix}/cloudtrail",
            partition=part,
            region=env.region,
            account_id=env.account_id,
        )

    @property
    def access_log_bucket_arn(self) -> str:
        return s3_bucket_arn(self.partition, self.access_log_bucket_name)

    @property
    def log_prefix_arn(self) -> str:
        """Where CloudTrail writes in the bucket: AWSLogs/<account>/ (CloudTrail and CloudTrail-Digest)."""
        return f"{self.bucket_arn}/AWSLogs/{self.account_id}/*"


def bucket_delivery_statements(names: TrailNames) -> tuple[dict[str, Any], ...]:
    """The bucket policy statements CloudTrail needs, for this one trail of this account only.

    CloudTrail checks the bucket's ACL (GetBucketAcl) and writes with the bucket-owner-full-control
    ACL; the bucket enforces ownership (ACLs disabled), which accepts that ACL. aws:SourceArn pins
    the trail, aws:SourceAccount the account (the confused-deputy guard).
    """
    source = {"aws:SourceArn": names.arn, "aws:SourceAccount": names.account_id}
    return (
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "s3:GetBucketAcl",
            "Resource": names.bucket_arn,
            "Condition": {"StringEquals": source},
        },
        {
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "s3:PutObject",
            "Resource": names.log_prefix_arn,
            "Condition": {"StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}},
        },
    )


@dataclass(frozen=True)
class TrailKeyProps:
    """The trail's KMS key."""

    names: TrailNames
    deletion_window_days: int

    @classmethod
    def of(cls, env: Environment) -> TrailKeyProps:
        return cls(names=TrailNames.of(env), deletion_window_days=KEY_DELETION_WINDOW_DAYS)


class TrailKey(Construct):
    """A KMS key (yearly rotation, alias `alias/<trail name>`) that only the trail may encrypt with.

    Readers decrypt through the account's IAM policies (the AccountAdministersKey statement);
    the key policy grants no reader by itself. Exposes `arn`.
    """

    def __init__(self, scope: Construct, id: str, props: TrailKeyProps) -> None:
        super().__init__(scope, id)
        names = props.names
        # AWS CloudTrail user guide, "Configure AWS KMS key policies for CloudTrail".
        this_trail = {"StringEquals": {"aws:SourceArn": names.arn}}
        policy = iam.document(
            {
                "Sid": "AccountAdministersKey",
                "Effect": "Allow",
                "Principal": iam.account_root(names.partition, names.account_id),
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudTrailEncryptsLogFiles",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_SERVICE},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    **this_trail,
                    # Every log file's encryption context names the trail that wrote it.
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{names.partition}:cloudtrail:*:{names.account_id}:trail/*"
                        )
                    },
                },
            },
            {
                # CloudTrail checks the key when the trail is created or updated.
                "Sid": "CloudTrailDescribesKey",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_SERVICE},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": this_trail,
            },
        )
        key = aws.kms_key.KmsKey(
            self,
            "key",
            description=f"{names.name}: CloudTrail log files",
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=policy,
        )
        aws.kms_alias.KmsAlias(self, "alias", name=f"alias/{names.name}", target_key_id=key.key_id)
        self.arn: str = key.arn


@dataclass(frozen=True)
class TrailProps:
    """What the trail needs; `bucket_name` must be a reference through the bucket's policy."""

    names: TrailNames
    bucket_name: str  # the delivery bucket, named through its aws_s3_bucket_policy (apply order)
    kms_key_arn: str  # TrailKey.arn: encrypts the log files
    log_kms_key_arn: str  # the environment key: encrypts the CloudWatch Logs copy
    log_retention_days: int
    insights: bool  # ApiCallRateInsight on management events

    @classmethod
    def of(cls, env: Environment, *, bucket_name: str, kms_key_arn: str, log_kms_key_arn: str) -> TrailProps:
        account = env.config.account
        return cls(
            names=TrailNames.of(env),
            bucket_name=bucket_name,
            kms_key_arn=kms_key_arn,
            log_kms_key_arn=log_kms_key_arn,
            log_retention_days=account.cloudwatch_retention_days,
            insights=account.insights,
        )


class Trail(Construct):
    """A multi-region trail of every management event, with log file validation, global service
    events, KMS-encrypted log files, a copy in a KMS-encrypted CloudWatch Logs group (written
    through a role limited to that group's CloudTrail streams) and, optionally, Insights.

    Data events: the trail logs management events only (one advanced event selector). When the
    environment gets application buckets, their object-level events are one more advanced event
    selector here (eventCategory Data, resources.type AWS::S3::Object, resources.ARN starting
    with each bucket's ARN), passed in as bucket ARNs on TrailProps.

    Exposes `arn` and `log_group_name`.
    """

    def __init__(self, scope: Construct, id: str, props: TrailProps) -> None:
        super().__init__(scope, id)
        names = props.names
        log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=names.log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=props.log_kms_key_arn,
        )
        role = aws.iam_role.IamRole(
            self,
            "logs-role",
            name=f"{names.name}-logs",
            assume_role_policy=iam.service_trust(
                CLOUDTRAIL_SERVICE, source_account=names.account_id, sid="CloudTrailAssumesRole"
            ),
        )
        log_group_arn = (
            f"arn:{names.partition}:logs:{names.region}:{names.account_id}:log-group:{names.log_group_name}"
        )
        role_policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "logs-role-policy",
            name="write-trail-events",
            role=role.id,
            policy=iam.document(
                {
                    # A multi-region trail writes one stream per region, <account>_CloudTrail_<region>.
                    "Sid": "WriteTrailEvents",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:log-stream:{names.account_id}_CloudTrail_*",
                }
            ),
        )
        cloudtrail = aws.cloudtrail
        trail = cloudtrail.Cloudtrail(
            self,
            "trail",
            name=names.name,
            s3_bucket_name=props.bucket_name,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=props.kms_key_arn,
            # CloudTrail wants the group's ARN with the stream wildcard.
            cloud_watch_logs_group_arn=f"{log_group.arn}:*",
            cloud_watch_logs_role_arn=role.arn,
            advanced_event_selector=[
                cloudtrail.CloudtrailAdvancedEventSelector(
                    name="Management events",
                    field_selector=[
                        cloudtrail.CloudtrailAdvancedEventSelectorFieldSelector(
                            field="eventCategory", equal_to=["Management"]
                        )
                    ],
                )
            ],
            insight_selector=(
                [cloudtrail.CloudtrailInsightSelector(insight_type=t) for t in INSIGHT_TYPES]
                if props.insights
                else None
            ),
            # CloudTrail checks on create that the role can write to the group: its policy first.
            depends_on=[role_policy],
        )
        self.arn: str = trail.arn
        self.log_group_name: str = log_group.name
