"""Audit alarms on the account's CloudTrail log group: the CIS AWS Foundations Benchmark's
monitoring set (AWS Security Hub controls CloudWatch.1 to CloudWatch.14).

Only the environment that owns its account has the trail, so only it builds these. Each check is
one metric filter on the trail's CloudWatch Logs group and one alarm on the filter's metric, which
fires on a single matching event and tells the alerts topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment


@dataclass(frozen=True)
class AuditCheck:
    """One CIS check: the CloudTrail events it counts, and what to do when one happens."""

    key: str  # "root-account-usage": construct IDs and the end of the filter's and alarm's names
    control: str  # the Security Hub control, "CloudWatch.1"
    metric_name: str  # "RootAccountUsage"
    pattern: str  # the CloudWatch Logs filter pattern
    description: str


# The filter patterns of AWS's own implementation of these controls (the Automated Security
# Response on AWS solution's CloudWatch playbook), byte for byte, with two from the CIS benchmark's
# later versions: sign-in without MFA counts successful IAM-user sign-ins only (federated and SSO
# sessions report MFAUsed "No" although their identity provider asked for MFA; failed sign-ins
# have their own check), and route table changes are EC2's (API Gateway has CreateRoute and
# DeleteRoute actions of its own).
CIS_CHECKS: tuple[AuditCheck, ...] = (
    AuditCheck(
        "root-account-usage",
        "CloudWatch.1",
        "RootAccountUsage",
        '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',
        "The account's root user made a call. Nobody should use it day to day: find who holds its "
        "credentials and MFA device",
    ),
    AuditCheck(
        "unauthorized-api-calls",
        "CloudWatch.2",
        "UnauthorizedAPICalls",
        '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
        "A call was refused by IAM. Usually a role missing a permission after a change; repeated "
        "refusals from one principal can mean stolen credentials probing",
    ),
    AuditCheck(
        "console-signin-without-mfa",
        "CloudWatch.3",
        "ConsoleSigninWithoutMFA",
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
        '&& ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
        "An IAM user signed in to the console without MFA. Require an MFA device for that user",
    ),
    AuditCheck(
        "iam-policy-changes",
        "CloudWatch.4",
        "IAMPolicyChanges",
        "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) "
        "|| ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) "
        "|| ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) "
        "|| ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) "
        "|| ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) "
        "|| ($.eventName=DetachGroupPolicy)}",
        "An IAM policy changed. Expected during a Terraform apply; otherwise find who changed it",
    ),
    AuditCheck(
        "cloudtrail-changes",
        "CloudWatch.5",
        "CloudTrailChanges",
        "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) "
        "|| ($.eventName=StartLogging) || ($.eventName=StopLogging)}",
        "A trail was created, changed, stopped or deleted: the audit record itself. Check the trail "
        "still logs",
    ),
    AuditCheck(
        "console-signin-failures",
        "CloudWatch.6",
        "ConsoleAuthenticationFailure",
        '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}',
        "A console sign-in failed. Many from one source can be a password-guessing attempt",
    ),
    AuditCheck(
        "kms-key-disabled-or-deleted",
        "CloudWatch.7",
        "DisableOrDeleteCMK",
        "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
        "A KMS key was disabled or scheduled for deletion: what it encrypts becomes unreadable. "
        "Cancel the deletion (aws kms cancel-key-deletion) unless it is intended",
    ),
    AuditCheck(
        "s3-bucket-policy-changes",
        "CloudWatch.8",
        "S3BucketPolicyChanges",
        "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) "
        "|| ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) "
        "|| ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) "
        "|| ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}",
        "A bucket's policy, ACL, CORS, lifecycle or replication changed. Check nothing was opened up",
    ),
    AuditCheck(
        "config-changes",
        "CloudWatch.9",
        "AWSConfigChanges",
        "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) "
        "|| ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) "
        "|| ($.eventName=PutConfigurationRecorder))}",
        "AWS Config's recorder or delivery channel changed or stopped",
    ),
    AuditCheck(
        "security-group-changes",
        "CloudWatch.10",
        "SecurityGroupChanges",
        "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) "
        "|| ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) "
        "|| ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}",
        "A security group or rule changed. Expected during a Terraform apply; otherwise check "
        "nothing was opened to the internet",
    ),
    AuditCheck(
        "nacl-changes",
        "CloudWatch.11",
        "NetworkACLChanges",
        "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) "
        "|| ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) "
        "|| ($.eventName=ReplaceNetworkAclAssociation)}",
        "A network ACL or its entries changed",
    ),
    AuditCheck(
        "network-gateway-changes",
        "CloudWatch.12",
        "NetworkGatewayChanges",
        "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) "
        "|| ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) "
        "|| ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}",
        "An internet or customer gateway was created, attached, detached or deleted",
    ),
    AuditCheck(
        "route-table-changes",
        "CloudWatch.13",
        "RouteTableChanges",
        "{($.eventSource=ec2.amazonaws.com) && (($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) "
        "|| ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) "
        "|| ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable))}",
        "A route or route table changed: traffic may take another path",
    ),
    AuditCheck(
        "vpc-changes",
        "CloudWatch.14",
        "VPCChanges",
        "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) "
        "|| ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) "
        "|| ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) "
        "|| ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) "
        "|| ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}",
        "A VPC was created, deleted, changed or peered",
    ),
)


@dataclass(frozen=True)
class AuditAlarmsProps:
    """The audit alarms of the account's trail."""

    name: str  # "<project>-<env>": filters and alarms are "<name>-audit-<check>"
    namespace: str  # "<project>/CISBenchmark": where the filters' metrics live
    log_group_name: str  # the trail's CloudWatch Logs group (AccountServices.trail_log_group_name)
    alerts_topic_arn: str
    period_seconds: int  # `[alarms] period_seconds`
    checks: tuple[AuditCheck, ...]

    @classmethod
    def of(cls, env: Environment, *, log_group_name: str, alerts_topic_arn: str) -> AuditAlarmsProps:
        return cls(
            name=env.prefix,
            # The project's, not the environment's: the trail records the whole account (every
            # environment in it), and another project in the same account must not add to these
            # counts, as a shared "CISBenchmark" namespace would.
            namespace=f"{env.project.name}/CISBenchmark",
            log_group_name=log_group_name,
            alerts_topic_arn=alerts_topic_arn,
            period_seconds=env.config.alarms.period_seconds,
            checks=CIS_CHECKS,
        )


class AuditAlarms(Construct):
    """Per CIS check, a metric filter `<name>-audit-<check>` on the trail's log group counting each
    matching event as 1, and an alarm of the same name on that metric: Sum >= 1 in one period.

    The alarm tells the alerts topic when it fires and has no OK action: an audit event is a fact,
    and the period after it, with no event, carries no news. No event, no datapoint: missing data
    is not breaching.

    Exposes `alarm_names` and `metric_names`, by check key.
    """

    def __init__(self, scope: Construct, id: str, props: AuditAlarmsProps) -> None:
        super().__init__(scope, id)
        self.alarm_names: dict[str, str] = {}
        self.metric_names: dict[str, str] = {}
        for check in props.checks:
            name = f"{props.name}-audit-{check.key}"
            self._check(props, check, name)
            self.alarm_names[check.key] = name
            self.metric_names[check.key] = check.metric_name

    def _check(self, props: AuditAlarmsProps, check: AuditCheck, name: str) -> Any:
        mf = aws.cloudwatch_log_metric_filter
        mf.CloudwatchLogMetricFilter(
            self,
            check.key,
            name=name,
            log_group_name=props.log_group_name,
            pattern=check.pattern,
            metric_transformation=mf.CloudwatchLogMetricFilterMetricTransformation(
                name=check.metric_name, namespace=props.namespace, value="1", unit="Count"
            ),
        )
        return aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            self,
            f"{check.key}-alarm",
            alarm_name=name,
            alarm_description=(
                f"{check.description}. Look up the event in CloudTrail (event history, or the log "
                f"group {props.log_group_name}). CIS AWS Foundations, Security Hub {check.control}."
            ),
            namespace=props.namespace,
            metric_name=check.metric_name,
            statistic="Sum",
            period=props.period_seconds,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            treat_missing_data="notBreaching",
            alarm_actions=[props.alerts_topic_arn],
        )
