"""The environment's `alerts` and `deployments` SNS topics, their key, their policies and the
subscriptions `[notifications]` asks for."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.core import iam
from modules.core.naming import partition
from modules.security.kms import KEY_DELETION_WINDOW_DAYS

CLOUDWATCH = "cloudwatch.amazonaws.com"
EVENTS = "events.amazonaws.com"
# What the console's default topic policy lets the owning account do, minus Receive (not an SNS
# topic action any longer). Same-account IAM policies would suffice; stated so the policy says who
# manages the topic.
OWNER_ACTIONS = (
    "sns:AddPermission",
    "sns:DeleteTopic",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
    "sns:RemovePermission",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
)


@dataclass(frozen=True)
class TopicsProps:
    """What the topics need; the subscriptions are the validated `[notifications]` lists."""

    name: (
        str  # "<project>-<env>": topics "<name>-alerts", "<name>-deployments"; key alias/<name>-notifications
    )
    region: str
    account_id: str
    alert_emails: tuple[str, ...]
    alert_https_endpoints: tuple[str, ...]
    deployment_emails: tuple[str, ...]
    deletion_window_days: int  # of the notifications key

    @classmethod
    def of(cls, env: Environment) -> TopicsProps:
        notifications = env.config.notifications
        return cls(
            name=env.prefix,
            region=env.region,
            account_id=env.account_id,
            alert_emails=tuple(notifications.alert_emails),
            alert_https_endpoints=tuple(notifications.alert_https_endpoints),
            deployment_emails=tuple(notifications.deployment_emails),
            deletion_window_days=KEY_DELETION_WINDOW_DAYS,
        )

    @property
    def alarm_arn_pattern(self) -> str:
        """Every CloudWatch alarm of this environment (their names start with `<name>-`)."""
        return f"arn:{partition(self.region)}:cloudwatch:{self.region}:{self.account_id}:alarm:{self.name}-*"

    @property
    def rule_arn_pattern(self) -> str:
        """Every EventBridge rule of this environment on the default bus (names start with `<name>-`).

        A pattern rather than the rules' ARNs: the topic policy then depends on no rule, and a new
        rule needs no policy change."""
        return f"arn:{partition(self.region)}:events:{self.region}:{self.account_id}:rule/{self.name}-*"


class Topics(Construct):
    """A KMS key for the topics (rotation, alias `alias/<name>-notifications`), the `alerts` topic
    (alarms, task crashes, database events, GuardDuty and ECR findings) and the `deployments` topic
    (failed and rolled-back deployments), both encrypted with it.

    Each topic's policy lets the account manage it, the environment's EventBridge rules publish to
    it (and, to alerts only, its CloudWatch alarms), each scoped with aws:SourceAccount and
    aws:SourceArn, and refuses a publish without TLS. Email subscriptions from `alert_emails` and
    `deployment_emails` and HTTPS ones from `alert_https_endpoints`, each a child of its topic
    named after its address (so removing one address touches no other subscription).

    Exposes `alerts_topic_arn`, `deployments_topic_arn` and `key_arn`.
    """

    def __init__(self, scope: Construct, id: str, props: TopicsProps) -> None:
        super().__init__(scope, id)
        key = aws.kms_key.KmsKey(
            self,
            "key",
            description=f"{props.name}: SNS topics alerts and deployments",
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=key_policy(props),
        )
        aws.kms_alias.KmsAlias(
            self, "key-alias", name=f"alias/{props.name}-notifications", target_key_id=key.key_id
        )
        alerts = self._topic(props, "alerts", key.arn, publishers=(CLOUDWATCH, EVENTS))
        deployments = self._topic(props, "deployments", key.arn, publishers=(EVENTS,))
        for address in unique(props.alert_emails):
            _subscribe(alerts, "email", address)
        for url in unique(props.alert_https_endpoints):
            _subscribe(alerts, "https", url)
        for address in unique(props.deployment_emails):
            _subscribe(deployments, "email", address)
        self.alerts_topic_arn: str = alerts.arn
        self.deployments_topic_arn: str = deployments.arn
        self.key_arn: str = key.arn

    def _topic(self, props: TopicsProps, purpose: str, key_arn: str, publishers: tuple[str, ...]) -> Any:
        topic = aws.sns_topic.SnsTopic(
            self,
            purpose,
            name=f"{props.name}-{purpose}",
            display_name=f"{props.name} {purpose}",  # the sender name of email notifications
            kms_master_key_id=key_arn,
        )
        aws.sns_topic_policy.SnsTopicPolicy(
            topic, "policy", arn=topic.arn, policy=topic_policy(props, topic.arn, publishers)
        )
        return topic


def key_policy(props: TopicsProps) -> str:
    """The account administers the key; CloudWatch alarms (this account's) and EventBridge may
    generate and decrypt the data keys SNS encrypts messages with."""
    part = partition(props.region)
    return iam.document(
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": iam.account_root(part, props.account_id),
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchAlarmsUseKey",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": props.account_id}},
        },
        {
            # No aws:SourceAccount / aws:SourceArn here: the SNS guide ("Key management",
            # compatibility with AWS services) says KMS does not receive them for EventBridge
            # deliveries to encrypted topics, and with them every event would be dropped. Which
            # rules may publish is the topic policy's job; this key encrypts these two topics only.
            "Sid": "EventBridgeUsesKey",
            "Effect": "Allow",
            "Principal": {"Service": EVENTS},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
    )


def topic_policy(props: TopicsProps, topic_arn: str, publishers: Iterable[str]) -> str:
    """The account manages the topic; each of `publishers` (service principals) may publish for
    this environment's alarms or rules only; nobody may publish without TLS."""
    patterns = {CLOUDWATCH: props.alarm_arn_pattern, EVENTS: props.rule_arn_pattern}
    sids = {CLOUDWATCH: "CloudWatchAlarmsPublish", EVENTS: "EventBridgeRulesPublish"}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountManagesTopic",
            "Effect": "Allow",
            "Principal": iam.account_root(partition(props.region), props.account_id),
            "Action": list(OWNER_ACTIONS),
            "Resource": topic_arn,
        }
    ]
    for service in publishers:
        statements.append(
            {
                "Sid": sids[service],
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": props.account_id},
                    "ArnLike": {"aws:SourceArn": patterns[service]},
                },
            }
        )
    statements.append(
        {
            "Sid": "DenyPublishWithoutTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    return iam.document(*statements)


def unique(values: Iterable[str]) -> list[str]:
    """The values in config order, each once (a repeated address is one subscription)."""
    return list(dict.fromkeys(values))


def _subscribe(topic: Any, protocol: str, endpoint: str) -> None:
    # The construct ID is the address itself (without the scheme), so the Terraform name reads
    # like it ("alerts_email_ops_example_com") and stays when other addresses come and go.
    address = endpoint.removeprefix("https://").replace("/", "-")  # "/" separates construct paths
    aws.sns_topic_subscription.SnsTopicSubscription(
        topic,
        f"{protocol}-{address}",
        topic_arn=topic.arn,
        protocol=protocol,
        endpoint=endpoint,
        # Email and HTTPS endpoints confirm by themselves (a link, a SubscribeURL call); Terraform
        # waits for nothing and shows the subscription pending until they do.
        endpoint_auto_confirms=False if protocol == "https" else None,
    )
