"""Threat detection of an account in one region: the GuardDuty detector and its features, its findings
in CloudWatch Logs, and IAM Access Analyzer.

Both exist once per account and region, so only the environment that owns its account creates
them (`[account]` in its file), in that environment's region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.core import iam
from modules.core.naming import partition

# The protection plans that matter for this platform, each with the additional configuration AWS
# reports for it. Every additional configuration AWS returns is listed, enabled or not: the
# provider reads back all of them, so one left out would show as a change on every plan.
# - S3_DATA_EVENTS: object-level API activity on every bucket of the account.
# - EBS_MALWARE_PROTECTION: scans the volumes of EC2 instances (the ec2 capacity) with findings.
# - RDS_LOGIN_EVENTS: login activity on Aurora (the data stores on the roadmap).
# - RUNTIME_MONITORING: GuardDuty's agent beside every new Fargate task, deployed and updated by
#   GuardDuty (ECS_FARGATE_AGENT_MANAGEMENT). No EKS here; EC2 agent management installs the agent
#   through SSM, which the ECS instances are not set up for, so both stay off.
FEATURES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("S3_DATA_EVENTS", ()),
    ("EBS_MALWARE_PROTECTION", ()),
    ("RDS_LOGIN_EVENTS", ()),
    (
        "RUNTIME_MONITORING",
        (
            ("ECS_FARGATE_AGENT_MANAGEMENT", "ENABLED"),
            ("EKS_ADDON_MANAGEMENT", "DISABLED"),
            ("EC2_AGENT_MANAGEMENT", "DISABLED"),
        ),
    ),
)
FINDINGS_EVENT_PATTERN = {"detail-type": ["GuardDuty Finding"], "source": ["aws.guardduty"]}
EVENTS_SERVICE = "events.amazonaws.com"


@dataclass(frozen=True)
class GuardDutyProps:
    """The detector, and where its findings go."""

    name: str  # "<project>-<env>": prefixes the findings rule and log resource policy
    region: str
    account_id: str
    finding_frequency: str  # FIFTEEN_MINUTES | ONE_HOUR | SIX_HOURS
    findings_log_group_name: str  # "/<project>/<env>/guardduty-findings"
    findings_retention_days: int
    kms_key_arn: str  # the environment key: encrypts the findings log group

    @classmethod
    def of(cls, env: Environment, kms_key_arn: str) -> GuardDutyProps:
        account = env.config.account
        return cls(
            name=env.prefix,
            region=env.region,
            account_id=env.account_id,
            finding_frequency=account.guardduty_finding_frequency,
            findings_log_group_name=f"{env.log_group_prefix}/guardduty-findings",
            findings_retention_days=account.cloudwatch_retention_days,
            kms_key_arn=kms_key_arn,
        )

    @property
    def rule_name(self) -> str:
        return f"{self.name}-guardduty-findings"

    @property
    def rule_arn(self) -> str:
        return f"arn:{partition(self.region)}:events:{self.region}:{self.account_id}:rule/{self.rule_name}"

    @property
    def findings_log_group_arn(self) -> str:
        return (
            f"arn:{partition(self.region)}:logs:{self.region}:{self.account_id}:"
            f"log-group:{self.findings_log_group_name}"
        )


class GuardDuty(Construct):
    """An enabled GuardDuty detector with the `FEATURES` above (one resource each), and an
    EventBridge rule that sends every finding to a KMS-encrypted CloudWatch Logs group, which a
    resource policy lets EventBridge write to for this rule only. The CloudWatch Logs foundation
    (CloudTrail, VPC flow logs, DNS logs) is always on; features not listed keep AWS's defaults.

    The rule is where alerting attaches: a second target (an SNS topic) sees the same findings.
    Exposes `detector_id`, `findings_rule_name` and `findings_log_group_name`.
    """

    def __init__(self, scope: Construct, id: str, props: GuardDutyProps) -> None:
        super().__init__(scope, id)
        detector = aws.guardduty_detector.GuarddutyDetector(
            self, "detector", enable=True, finding_publishing_frequency=props.finding_frequency
        )
        feature = aws.guardduty_detector_feature
        for name, extra in FEATURES:
            feature.GuarddutyDetectorFeature(
                self,
                f"feature-{name.lower().replace('_', '-')}",
                detector_id=detector.id,
                name=name,
                status="ENABLED",
                additional_configuration=[
                    feature.GuarddutyDetectorFeatureAdditionalConfiguration(name=extra_name, status=status)
                    for extra_name, status in extra
                ]
                or None,
            )

        log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "findings-log-group",
            name=props.findings_log_group_name,
            retention_in_days=props.findings_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        # EventBridge writes to CloudWatch Logs under the group's resource policy, never a role.
        # As in AWS's eventbridge-cloudwatch pattern (aws-samples/serverless-patterns): streams may
        # be created, events written only for this rule (aws:SourceArn).
        streams = f"{props.findings_log_group_arn}:*"
        log_policy = aws.cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(
            self,
            "findings-log-policy",
            policy_name=props.rule_name,
            policy_document=iam.document(
                {
                    "Sid": "EventBridgeCreatesFindingStreams",
                    "Effect": "Allow",
                    "Principal": {"Service": EVENTS_SERVICE},
                    "Action": "logs:CreateLogStream",
                    "Resource": streams,
                },
                {
                    "Sid": "EventBridgeWritesFindings",
                    "Effect": "Allow",
                    "Principal": {"Service": EVENTS_SERVICE},
                    "Action": "logs:PutLogEvents",
                    "Resource": streams,
                    "Condition": {"ArnEquals": {"aws:SourceArn": props.rule_arn}},
                },
            ),
        )
        rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "findings-rule",
            name=props.rule_name,
            description="Every GuardDuty finding of the account in this region",
            event_pattern=json.dumps(FINDINGS_EVENT_PATTERN, sort_keys=True),
        )
        aws.cloudwatch_event_target.CloudwatchEventTarget(
            self,
            "findings-to-logs",
            rule=rule.name,
            target_id="findings-log-group",
            arn=log_group.arn,
            # The first finding must not arrive before EventBridge may write it.
            depends_on=[log_policy],
        )
        self.detector_id: str = detector.id
        self.findings_rule_name: str = rule.name
        self.findings_log_group_name: str = log_group.name


@dataclass(frozen=True)
class AccessAnalyzerProps:
    """The analyzer's name."""

    name: str  # "<project>-<env>-access-analyzer"

    @classmethod
    def of(cls, env: Environment) -> AccessAnalyzerProps:
        return cls(name=f"{env.prefix}-access-analyzer")


class AccessAnalyzer(Construct):
    """An IAM Access Analyzer whose zone of trust is the account: it reports every resource policy
    of this region that admits a principal outside it. Free of charge. Exposes `arn`."""

    def __init__(self, scope: Construct, id: str, props: AccessAnalyzerProps) -> None:
        super().__init__(scope, id)
        analyzer = aws.accessanalyzer_analyzer.AccessanalyzerAnalyzer(
            self, "analyzer", analyzer_name=props.name, type="ACCOUNT"
        )
        self.arn: str = analyzer.arn
