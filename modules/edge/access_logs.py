"""Load balancer access logs: the SSE-S3 bucket ELB log delivery may write into, and its names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct
from modules.config import Environment
from modules.core import naming
from modules.data import ABORT_INCOMPLETE_UPLOAD_DAYS, PrivateBucket, PrivateBucketProps

PUBLIC_ALB_LOG_PREFIX = "public-alb"
INTERNAL_ALB_LOG_PREFIX = "internal-alb"
# Log objects are never overwritten: a noncurrent version only exists once the expiration rule has
# run, so it can go a day later.
LOG_NONCURRENT_VERSION_DAYS = 1

# ELB access-log delivery writes as a regional, AWS-owned account in the regions launched before
# August 2022, and those regions want that account as the bucket policy principal. Regions
# launched since accept only the service principal below. (Elastic Load Balancing user guide,
# "Enable access logs", step 2.) A region missing here gets the service principal.
ELB_LOG_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
}
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def access_log_bucket_name(name: str, purpose: str, account_id: str, region: str) -> str:
    """`<name>-<purpose>-<account>-<region>`, the name part shortened with a hash past 63 characters."""
    return naming.bucket_name(name, f"-{purpose}-{account_id}-{region}")


def elb_log_delivery(
    region: str, partition: str, bucket_arn: str, account_id: str, prefixes: Iterable[str]
) -> dict[str, Any]:
    """The bucket policy statement that lets ELB write this account's access logs under `prefixes`."""
    elb_account = ELB_LOG_ACCOUNTS.get(region)
    principal = (
        {"AWS": f"arn:{partition}:iam::{elb_account}:root"}
        if elb_account
        else {"Service": ELB_LOG_DELIVERY_SERVICE}
    )
    return {
        "Sid": "ElbAccessLogDelivery",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:PutObject",
        "Resource": [f"{bucket_arn}/{prefix}/AWSLogs/{account_id}/*" for prefix in prefixes],
    }


@dataclass(frozen=True)
class LoadBalancerLogsProps:
    """An SSE-S3 bucket that ELB may write access logs into."""

    bucket_name: str
    region: str  # the bucket must be in the load balancers' region
    account_id: str  # the load balancers' account (part of every log key)
    partition: str
    retention_days: int  # log objects expire after this many days
    prefixes: tuple[str, ...]  # the load balancers' log prefixes ELB may write under

    @classmethod
    def of(cls, env: Environment, prefixes: tuple[str, ...]) -> LoadBalancerLogsProps:
        """The environment's one access-log bucket, for the ALBs whose log prefixes are given."""
        return cls(
            bucket_name=access_log_bucket_name(env.prefix, "alb-logs", env.account_id, env.region),
            region=env.region,
            account_id=env.account_id,
            partition=naming.partition(env.region),
            retention_days=env.config.edge.access_log_days,
            prefixes=prefixes,
        )


class LoadBalancerLogs(Construct):
    """A `PrivateBucket` (SSE-S3: ALB log delivery does not support SSE-KMS) whose policy lets ELB
    log delivery of the region write under each prefix, and whose logs expire.

    Exposes `bucket_name`: a reference through the bucket policy resource, so a load balancer
    that names it is created after the policy and its first apply works; `bucket_arn`; and
    `policy` (the `aws_s3_bucket_policy`).
    """

    def __init__(self, scope: Construct, id: str, props: LoadBalancerLogsProps) -> None:
        super().__init__(scope, id)
        arn = naming.s3_bucket_arn(props.partition, props.bucket_name)
        bucket = PrivateBucket(
            self,
            "bucket",
            PrivateBucketProps(
                name=props.bucket_name,
                partition=props.partition,
                kms_key_arn=None,
                expiration_days=props.retention_days,
                noncurrent_version_days=LOG_NONCURRENT_VERSION_DAYS,
                abort_incomplete_upload_days=ABORT_INCOMPLETE_UPLOAD_DAYS,
                transitions=(),
                cors_origins=(),
                object_lock_days=None,
                policy_statements=(
                    elb_log_delivery(props.region, props.partition, arn, props.account_id, props.prefixes),
                ),
                access_log_bucket=None,  # a log bucket does not log itself
                access_log_prefix="",
                prevent_destroy=False,
                tags={},
            ),
        )
        self.policy: Any = bucket.policy
        self.bucket_name: str = self.policy.bucket
        self.bucket_arn: str = bucket.arn
