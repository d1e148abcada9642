"""EventBridge rules that turn what happens in the environment into short "notice" messages on its
topics: failed or rolled-back deployments, crashed tasks, database failovers and low storage,
GuardDuty findings, critical image vulnerabilities.

Each rule's target rewrites the event with an input transformer into the JSON the Discord notifier
reads (runtime/notifier.py, kind 2): {"notice": 1, "kind", "severity", "title", "resource",
"reason", "region", "account", "time"}. EventBridge escapes the values it puts between quotes, so
a free text (a GuardDuty title) still makes valid JSON; the email subscribers read the same JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.core.naming import partition
from modules.security.kms import database_identifier

TopicName = Literal["alerts", "deployments"]
# Every notice says where and when; these paths exist in every event.
COMMON_PATHS = {"region": "$.region", "account": "$.account", "time": "$.time"}
# The circuit breaker's reason when it starts a rollback: "ECS deployment circuit breaker: rolling
# back to deploymentId ecs-svc/..." (the ECS guide, "service deployment state change events").
ROLLBACK_REASON = "*rolling back*"


@dataclass(frozen=True)
class Notice:
    """One rule: the events it matches, the topic it publishes to, and the notice it sends."""

    kind: str  # the notice's "kind", also the rule's construct ID
    purpose: str  # the rule is named "<project>-<env>-<purpose>"
    description: str
    pattern: dict[str, Any]
    topic: TopicName
    paths: dict[str, str]  # input transformer variables: name -> JSON path in the event
    template: str  # the input template, JSON with <variable> placeholders


def notice_template(
    kind: str, severity: str, title: str, resource: str, reason: str, *, numeric_severity: bool = False
) -> str:
    """The notice JSON with placeholders. `severity` is a word, or with `numeric_severity` a
    placeholder EventBridge fills with a number (left unquoted, as the notifier reads it)."""
    notice = {
        "notice": 1,
        "kind": kind,
        "severity": severity,
        "title": title,
        "resource": resource,
        "reason": reason,
        "region": "<region>",
        "account": "<account>",
        "time": "<time>",
    }
    text = json.dumps(notice)
    if numeric_severity:
        text = text.replace(json.dumps(severity), severity, 1)
    return text


@dataclass(frozen=True)
class EventRulesProps:
    """What the rules watch; a None leaves that rule out (the environment has no such resource)."""

    name: str  # "<project>-<env>": every rule is named "<name>-<purpose>"
    region: str
    account_id: str
    alerts_topic_arn: str
    deployments_topic_arn: str
    cluster_name: str | None  # the environment's ECS cluster; None: no services, no ECS rules
    repository_prefix: str | None  # "<name>/": its ECR repositories; None: none
    database_identifier: str | None  # its RDS instance or Aurora cluster (members "<id>-<n>")
    guardduty_min_severity: float | None  # None: not the account's GuardDuty owner

    @classmethod
    def of(
        cls,
        env: Environment,
        *,
        alerts_topic_arn: str,
        deployments_topic_arn: str,
        cluster_name: str | None,
    ) -> EventRulesProps:
        config = env.config
        account = config.account
        return cls(
            name=env.prefix,
            region=env.region,
            account_id=env.account_id,
            alerts_topic_arn=alerts_topic_arn,
            deployments_topic_arn=deployments_topic_arn,
            cluster_name=cluster_name,
            # compute/registry.py names each service's repository "<project>-<env>/<service>"; a
            # service with an external image has none.
            repository_prefix=f"{env.prefix}/" if any(s.image is None for s in env.services) else None,
            database_identifier=database_identifier(env.prefix) if config.database is not None else None,
            guardduty_min_severity=config.notifications.guardduty_min_severity
            if account.owner and account.guardduty
            else None,
        )

    @property
    def notices(self) -> tuple[Notice, ...]:
        """The rules this environment gets, in a fixed order."""
        ecs = f"arn:{partition(self.region)}:ecs:{self.region}:{self.account_id}"
        found: list[Notice] = []
        if self.cluster_name is not None:
            found += [
                _deployment(f"{ecs}:service/{self.cluster_name}/"),
                _task(f"{ecs}:cluster/{self.cluster_name}"),
            ]
        if self.database_identifier is not None:
            found.append(_database(self.database_identifier))
        if self.guardduty_min_severity is not None:
            found.append(_guardduty(self.guardduty_min_severity))
        if self.repository_prefix is not None:
            found.append(_image_scan(self.repository_prefix))
        return tuple(found)


def _deployment(service_arn_prefix: str) -> Notice:
    return Notice(
        kind="ecs-deployment",
        purpose="ecs-deployment-failed",
        description="A deployment of this environment's ECS services failed or is rolled back",
        pattern={
            "source": ["aws.ecs"],
            "detail-type": ["ECS Deployment State Change"],
            "resources": [{"prefix": service_arn_prefix}],
            # Failed (the circuit breaker tripped), or a rollback started (an IN_PROGRESS event
            # that only its reason tells apart from a deployment starting).
            "$or": [
                {"detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}},
                {
                    "detail": {
                        "eventName": ["SERVICE_DEPLOYMENT_IN_PROGRESS"],
                        "reason": [{"wildcard": ROLLBACK_REASON}],
                    }
                },
            ],
        },
        topic="deployments",
        paths={
            "service": "$.resources[0]",
            "event": "$.detail.eventName",
            "reason": "$.detail.reason",
            **COMMON_PATHS,
        },
        template=notice_template(
            "ecs-deployment", "critical", "ECS deployment: <event>", "<service>", "<reason>"
        ),
    )


def _task(cluster_arn: str) -> Notice:
    return Notice(
        kind="ecs-task-stopped",
        purpose="ecs-task-stopped",
        description="A task of this environment stopped because an essential container exited non-zero",
        pattern={
            "source": ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            "detail": {
                "clusterArn": [cluster_arn],
                "lastStatus": ["STOPPED"],
                "stopCode": ["EssentialContainerExited"],
                # Matches when any container of the task has a non-zero exit code (the event does
                # not say which containers are essential; a clean exit of all of them is quiet).
                "containers": {"exitCode": [{"anything-but": 0}]},
            },
        },
        topic="alerts",
        paths={
            "task": "$.detail.taskArn",
            "group": "$.detail.group",
            "reason": "$.detail.stoppedReason",
            **COMMON_PATHS,
        },
        template=notice_template(
            "ecs-task-stopped", "warning", "ECS task stopped: <group>", "<task>", "<reason>"
        ),
    )


def _database(identifier: str) -> Notice:
    return Notice(
        kind="rds-event",
        purpose="database-events",
        description=f"Failover or low storage of {identifier}",
        pattern={
            "source": ["aws.rds"],
            "detail-type": ["RDS DB Instance Event", "RDS DB Cluster Event"],
            "detail": {
                "EventCategories": ["failover", "low storage"],
                # The instance or cluster, and an Aurora cluster's members ("<id>-1", ...).
                "SourceIdentifier": [identifier, {"prefix": f"{identifier}-"}],
            },
        },
        topic="alerts",
        paths={
            "source": "$.detail.SourceArn",
            "identifier": "$.detail.SourceIdentifier",
            "event": "$.detail.EventID",
            "message": "$.detail.Message",
            **COMMON_PATHS,
        },
        template=notice_template(
            "rds-event", "critical", "RDS <event>: <identifier>", "<source>", "<message>"
        ),
    )


def _guardduty(min_severity: float) -> Notice:
    return Notice(
        kind="guardduty-finding",
        purpose="guardduty-alerts",
        description=f"GuardDuty findings of severity {min_severity:g} or more",
        pattern={
            "source": ["aws.guardduty"],
            "detail-type": ["GuardDuty Finding"],
            "detail": {"severity": [{"numeric": [">=", min_severity]}]},
        },
        topic="alerts",
        paths={
            "finding": "$.detail.arn",
            "severity": "$.detail.severity",
            "title": "$.detail.title",
            "description": "$.detail.description",
            **COMMON_PATHS,
        },
        template=notice_template(
            "guardduty-finding",
            "<severity>",
            "GuardDuty: <title>",
            "<finding>",
            "<description>",
            numeric_severity=True,
        ),
    )


def _image_scan(repository_prefix: str) -> Notice:
    return Notice(
        kind="ecr-scan",
        purpose="ecr-critical-findings",
        description="Image scans of this environment's repositories with CRITICAL findings",
        pattern={
            "source": ["aws.ecr"],
            "detail-type": ["ECR Image Scan"],
            "detail": {
                "scan-status": ["COMPLETE"],
                "repository-name": [{"prefix": repository_prefix}],
                "finding-severity-counts": {"CRITICAL": [{"numeric": [">", 0]}]},
            },
        },
        topic="alerts",
        paths={
            "repository": "$.resources[0]",
            "name": "$.detail.repository-name",
            "digest": "$.detail.image-digest",
            "critical": "$.detail.finding-severity-counts.CRITICAL",
            **COMMON_PATHS,
        },
        template=notice_template(
            "ecr-scan",
            "critical",
            "ECR scan: <critical> CRITICAL findings in <name>",
            "<repository>",
            "Image <digest>",
        ),
    )


class EventRules(Construct):
    """One EventBridge rule (default bus) per notice this environment has, each with one target: its
    topic, through an input transformer that sends the notice JSON. Deployment failures and
    rollbacks go to the deployments topic, everything else to the alerts topic.

    Construct IDs are the notice kinds (the target is the rule's child "to-<topic>"). Exposes
    `rule_arns` and `rule_names` ({kind: value}).
    """

    def __init__(self, scope: Construct, id: str, props: EventRulesProps) -> None:
        super().__init__(scope, id)
        topics = {"alerts": props.alerts_topic_arn, "deployments": props.deployments_topic_arn}
        self.rule_arns: dict[str, str] = {}
        self.rule_names: dict[str, str] = {}
        target = aws.cloudwatch_event_target
        for notice in props.notices:
            rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
                self,
                notice.kind,
                name=f"{props.name}-{notice.purpose}",
                description=notice.description,
                event_pattern=json.dumps(notice.pattern, sort_keys=True),
            )
            target.CloudwatchEventTarget(
                rule,
                f"to-{notice.topic}",
                rule=rule.name,
                target_id=notice.topic,
                arn=topics[notice.topic],
                input_transformer=target.CloudwatchEventTargetInputTransformer(
                    input_paths=notice.paths, input_template=notice.template
                ),
            )
            self.rule_arns[notice.kind] = rule.arn
            self.rule_names[notice.kind] = rule.name
