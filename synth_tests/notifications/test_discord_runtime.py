"""modules/notifications/discord/runtime/notifier.py: the real handler against a local Discord and moto.

The handler is loaded from its file, as Lambda loads it. Discord is an HTTP server on 127.0.0.1 that
records every request and answers from a script (204, 429 with `retry_after`, 500, 404); the webhook
URL comes from a secret in a moto server on 127.0.0.1. Waits are recorded, never slept.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import boto3
import pytest
from conftest import ROOT
from moto.server import ThreadedMotoServer

RUNTIME = ROOT / "modules" / "notifications" / "discord" / "runtime" / "notifier.py"
WEBHOOK_PATH = "/api/webhooks/123456789012345678/a-webhook-token"
TOPIC = "arn:aws:sns:us-east-1:123456789012:acme-dev-alerts"
SNS_TIME = "2024-05-01T10:01:03.123Z"
RED, ORANGE, GREEN, BLUE, GREY = 0xE74C3C, 0xE67E22, 0x2ECC71, 0x3498DB, 0x95A5A6

Answer = tuple[int, dict[str, str], bytes]
OK: Answer = (204, {}, b"")
RATE_LIMITED: Answer = (
    429,
    {"Content-Type": "application/json", "Retry-After": "1"},
    b'{"message": "You are being rate limited.", "retry_after": 0.05, "global": false}',
)
SERVER_ERROR: Answer = (
    500,
    {"Content-Type": "application/json"},
    b'{"message": "500: Internal Server Error"}',
)
NOT_FOUND: Answer = (
    404,
    {"Content-Type": "application/json"},
    b'{"message": "Unknown Webhook", "code": 10015}',
)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any


class FakeDiscord:
    """A webhook endpoint that answers from `answers`, then with `then`, and records every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.answers: list[Answer] = []
        self.then: Answer = OK
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append(Request(self.command, self.path, headers, json.loads(body)))
                status, answer_headers, answer = fake.answers.pop(0) if fake.answers else fake.then
                self.send_response(status)
                for name, value in answer_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{WEBHOOK_PATH}"
        # A short poll so that shutdown() (each test's teardown) returns at once.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@dataclass
class Harness:
    notifier: ModuleType
    discord: FakeDiscord
    secrets: Any  # a boto3 secretsmanager client of the moto server
    secret_arn: str
    sleeps: list[float] = field(default_factory=list)

    def invoke(self, message: str, subject: str | None = None, topic: str = TOPIC) -> dict[str, int]:
        return self.notifier.handler(sns_event(message, subject, topic), None)

    def bodies(self) -> list[Any]:
        return [r.body for r in self.discord.requests]


SECRET_NAMES = (f"acme-dev-discord-webhook-{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    fake = FakeDiscord()
    yield fake
    fake.stop()


def load_notifier(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh copy of the runtime module (a new Lambda container): empty cache, sleeps recorded."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # keep runtime/ free of __pycache__
    spec = importlib.util.spec_from_file_location("notifier", RUNTIME)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def secret_value(request: pytest.FixtureRequest, discord: FakeDiscord) -> str:
    """What the secret holds: the fake's URL "bare" (the default), as "json" or "padded", or the param."""
    form = getattr(request, "param", "bare")
    forms = {"bare": discord.url, "json": json.dumps({"url": discord.url}), "padded": f"  {discord.url}\n"}
    return forms.get(form, form)


@pytest.fixture
def harness(
    monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, discord: FakeDiscord, secret_value: str
) -> Harness:
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name=next(SECRET_NAMES), SecretString=secret_value)["ARN"]
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", arn)
    monkeypatch.setenv("ENVIRONMENT", "dev")
    monkeypatch.setenv("PROJECT", "acme")
    notifier = load_notifier(monkeypatch)
    result = Harness(notifier, discord, secrets, arn)
    monkeypatch.setattr(notifier, "sleep", result.sleeps.append)
    return result


def sns_event(message: str, subject: str | None = None, topic: str = TOPIC) -> dict[str, Any]:
    sns = {
        "Type": "Notification",
        "TopicArn": topic,
        "Subject": subject,
        "Message": message,
        "Timestamp": SNS_TIME,
    }
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": sns}]}


def payload(embed: dict[str, Any]) -> dict[str, Any]:
    return {"username": "acme dev", "allowed_mentions": {"parse": []}, "embeds": [embed]}


def inline(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value, "inline": True}


ENVIRONMENT = inline("Environment", "dev")
FOOTER = {"text": "acme-dev-alerts"}

# ---------------------------------------------------------------- CloudWatch alarms

CPU_REASON = (
    "Threshold Crossed: 3 out of the last 3 datapoints [91.2 (01/05/24 10:00:00)] were greater than the "
    "threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition)."
)
CPU_ALARM = {
    "AlarmName": "acme-dev-web-cpu",
    "AlarmDescription": "CPU of the web service above 80% for 3 minutes",
    "AWSAccountId": "123456789012",
    "NewStateValue": "ALARM",
    "NewStateReason": CPU_REASON,
    "StateChangeTime": "2024-05-01T10:01:02.345+0000",
    "Region": "US East (N. Virginia)",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:acme-dev-web-cpu",
    "OldStateValue": "OK",
    "Trigger": {
        "MetricName": "CPUUtilization",
        "Namespace": "AWS/ECS",
        "StatisticType": "Statistic",
        "Statistic": "AVERAGE",
        "Unit": None,
        "Dimensions": [{"value": "acme-dev", "name": "ClusterName"}, {"value": "web", "name": "ServiceName"}],
        "Period": 60,
        "EvaluationPeriods": 3,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 80.0,
        "TreatMissingData": "missing",
    },
}


def metric_stat(name: str) -> dict[str, Any]:
    metric = {
        "Dimensions": [{"value": "app/acme-dev/50dc6c495c0c9188", "name": "LoadBalancer"}],
        "MetricName": name,
        "Namespace": "AWS/ApplicationELB",
    }
    return {
        "Id": name.lower(),
        "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"},
        "ReturnData": False,
    }


RATE_ALARM_OK = {
    "AlarmName": "acme-dev alb/5xx rate",
    "AlarmDescription": None,
    "NewStateValue": "OK",
    "NewStateReason": "Threshold Crossed: no datapoints were received for 5 periods.",
    "StateChangeTime": "2024-05-01T10:31:00.000+0000",
    "Region": "US East (N. Virginia)",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:acme-dev alb/5xx rate",
    "OldStateValue": "ALARM",
    "Trigger": {
        "Period": 60,
        "EvaluationPeriods": 5,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 5.0,
        "TreatMissingData": "notBreaching",
        "Metrics": [
            {"Expression": "100 * errors / requests", "Id": "rate", "Label": "5xx rate", "ReturnData": True},
            metric_stat("HTTPCode_Target_5XX_Count"),
            metric_stat("RequestCount"),
        ],
    },
}
COMPOSITE = {
    "AlarmName": "acme-prod-unhealthy",
    "AlarmDescription": "Any of the environment's alarms",
    "NewStateValue": "INSUFFICIENT_DATA",
    "NewStateReason": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:acme-prod-web-cpu is INSUFFICIENT_DATA",
    "StateChangeTime": "2024-05-01T11:00:00.000+0000",
    "Region": "EU (Ireland)",
    "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:acme-prod-unhealthy",
    "AlarmRule": 'ALARM("acme-prod-web-cpu") OR ALARM("acme-prod-db-storage")',
    "OldStateValue": "OK",
}
CLOUDWATCH = "https://{0}.console.aws.amazon.com/cloudwatch/home?region={0}#alarmsV2:alarm/"

ALARMS = {
    "alarm": (
        CPU_ALARM,
        {
            "title": "ALARM: acme-dev-web-cpu",
            "description": CPU_REASON,
            "color": RED,
            "url": CLOUDWATCH.format("us-east-1") + "acme-dev-web-cpu",
            "fields": [
                ENVIRONMENT,
                inline("Resource", "ClusterName=acme-dev, ServiceName=web"),
                inline("Region", "us-east-1"),
                inline("Metric", "AWS/ECS CPUUtilization"),
                {
                    "name": "Alarm description",
                    "value": "CPU of the web service above 80% for 3 minutes",
                    "inline": False,
                },
            ],
            "timestamp": "2024-05-01T10:01:02.345+00:00",
            "footer": FOOTER,
        },
    ),
    "ok-metric-math": (
        RATE_ALARM_OK,
        {
            "title": "OK: acme-dev alb/5xx rate",
            "description": "Threshold Crossed: no datapoints were received for 5 periods.",
            "color": GREEN,
            "url": CLOUDWATCH.format("us-east-1") + "acme-dev%20alb%2F5xx%20rate",
            "fields": [
                ENVIRONMENT,
                inline("Resource", "LoadBalancer=app/acme-dev/50dc6c495c0c9188"),
                inline("Region", "us-east-1"),
                inline(
                    "Metric", "AWS/ApplicationELB HTTPCode_Target_5XX_Count, AWS/ApplicationELB RequestCount"
                ),
            ],
            "timestamp": "2024-05-01T10:31:00.000+00:00",
            "footer": FOOTER,
        },
    ),
    "composite": (
        COMPOSITE,
        {
            "title": "INSUFFICIENT_DATA: acme-prod-unhealthy",
            "description": COMPOSITE["NewStateReason"],
            "color": GREY,
            "url": CLOUDWATCH.format("eu-west-1") + "acme-prod-unhealthy",
            "fields": [
                ENVIRONMENT,
                inline("Resource", "acme-prod-unhealthy"),
                inline("Region", "eu-west-1"),
                {"name": "Alarm description", "value": "Any of the environment's alarms", "inline": False},
            ],
            "timestamp": "2024-05-01T11:00:00.000+00:00",
            "footer": FOOTER,
        },
    ),
}


@pytest.mark.parametrize("case", list(ALARMS))
def test_alarm_state_change_payload(harness: Harness, case: str) -> None:
    alarm, embed = ALARMS[case]
    assert harness.invoke(json.dumps(alarm), subject=f'ALARM: "{alarm["AlarmName"]}"') == {"delivered": 1}
    [request] = harness.discord.requests
    assert (request.method, request.path) == ("POST", WEBHOOK_PATH)
    assert request.headers["content-type"] == "application/json"
    assert not request.headers["user-agent"].startswith("Python-urllib")  # Cloudflare refuses it
    assert request.body == payload(embed)
    assert harness.sleeps == []


# ---------------------------------------------------------------- EventBridge notices


def notice(**values: Any) -> dict[str, Any]:
    base = {"notice": 1, "region": "us-east-1", "account": "123456789012", "time": "2024-05-01T10:05:00Z"}
    return base | values


def notice_embed(
    title: str, reason: str, color: int, url: str, resource: str, severity: str, **extra: Any
) -> dict:
    region = extra.get("region", "us-east-1")
    fields = [
        ENVIRONMENT,
        inline("Resource", resource),
        inline("Severity", severity),
        inline("Region", region),
    ]
    fields.append(inline("Account", "123456789012"))
    embed = {"title": title, "description": reason, "color": color, "url": url, "fields": fields}
    return embed | {"timestamp": "2024-05-01T10:05:00.000+00:00", "footer": FOOTER}


SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/acme-dev/web"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/acme-dev/0123456789abcdef0123456789abcdef"
DB_ARN = "arn:aws:rds:us-east-1:123456789012:db:acme-dev-db"
CLUSTER_ARN = "arn:aws:rds:eu-west-1:123456789012:cluster:acme-prod-db"
FINDING_ARN = (
    "arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0"
    "/finding/a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
)
REPOSITORY_ARN = "arn:aws:ecr:us-east-1:123456789012:repository/acme/web"
CONSOLE = "https://us-east-1.console.aws.amazon.com/"

NOTICES = {
    "ecs-deployment": (
        notice(
            kind="ecs-deployment",
            severity="critical",
            title="ECS deployment failed: web",
            resource=SERVICE_ARN,
            reason="ECS deployment circuit breaker: tasks failed to start.",
        ),
        notice_embed(
            "ECS deployment failed: web",
            "ECS deployment circuit breaker: tasks failed to start.",
            RED,
            CONSOLE + "ecs/v2/clusters/acme-dev/services/web/health?region=us-east-1",
            SERVICE_ARN,
            "critical",
        ),
    ),
    "ecs-task-stopped": (
        notice(
            kind="ecs-task-stopped",
            severity="warning",
            title="Task of web stopped",
            resource=TASK_ARN,
            reason="Essential container in task exited (exit code 137)",
        ),
        notice_embed(
            "Task of web stopped",
            "Essential container in task exited (exit code 137)",
            ORANGE,
            CONSOLE
            + "ecs/v2/clusters/acme-dev/tasks/0123456789abcdef0123456789abcdef/configuration?region=us-east-1",
            TASK_ARN,
            "warning",
        ),
    ),
    "rds-event-instance": (
        notice(
            kind="rds-event",
            severity="info",
            title="RDS event: acme-dev-db",
            resource=DB_ARN,
            reason="Multi-AZ instance failover completed.",
        ),
        notice_embed(
            "RDS event: acme-dev-db",
            "Multi-AZ instance failover completed.",
            BLUE,
            CONSOLE + "rds/home?region=us-east-1#database:id=acme-dev-db",
            DB_ARN,
            "info",
        ),
    ),
    "rds-event-cluster": (
        notice(
            kind="rds-event",
            severity="critical",
            title="RDS event: acme-prod-db",
            resource=CLUSTER_ARN,
            reason="The free storage capacity for DB cluster acme-prod-db is low.",
            region="eu-west-1",
        ),
        notice_embed(
            "RDS event: acme-prod-db",
            "The free storage capacity for DB cluster acme-prod-db is low.",
            RED,
            "https://eu-west-1.console.aws.amazon.com/rds/home?region=eu-west-1#database:id=acme-prod-db;is-cluster=true",
            CLUSTER_ARN,
            "critical",
            region="eu-west-1",
        ),
    ),
    "guardduty-finding": (
        notice(
            kind="guardduty-finding",
            severity=8.9,
            title="GuardDuty: UnauthorizedAccess:EC2/SSHBruteForce",
            resource=FINDING_ARN,
            reason="10.0.1.23 is performing SSH brute force attacks against i-0123456789abcdef0.",
        ),
        notice_embed(
            "GuardDuty: UnauthorizedAccess:EC2/SSHBruteForce",
            "10.0.1.23 is performing SSH brute force attacks against i-0123456789abcdef0.",
            RED,
            CONSOLE
            + "guardduty/home?region=us-east-1#/findings?macros=current&fId=a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
            FINDING_ARN,
            "critical (8.9)",
        ),
    ),
    "ecr-scan": (
        notice(
            kind="ecr-scan",
            severity="critical",
            title="ECR scan: acme/web has CRITICAL findings",
            resource=REPOSITORY_ARN,
            reason="2 critical vulnerabilities in sha256:4f1d",
        ),
        notice_embed(
            "ECR scan: acme/web has CRITICAL findings",
            "2 critical vulnerabilities in sha256:4f1d",
            RED,
            CONSOLE + "ecr/repositories/private/123456789012/acme/web?region=us-east-1",
            REPOSITORY_ARN,
            "critical",
        ),
    ),
    "pipeline": (
        notice(
            kind="pipeline",
            severity="warning",
            title="Pipeline acme-dev-deploy failed",
            resource="acme-dev-deploy",
            reason="Stage Deploy failed",
        ),
        notice_embed(
            "Pipeline acme-dev-deploy failed",
            "Stage Deploy failed",
            ORANGE,
            CONSOLE + "codesuite/codepipeline/pipelines/acme-dev-deploy/view?region=us-east-1",
            "acme-dev-deploy",
            "warning",
        ),
    ),
}


@pytest.mark.parametrize("case", list(NOTICES))
def test_eventbridge_notice_payload(harness: Harness, case: str) -> None:
    message, embed = NOTICES[case]
    harness.invoke(json.dumps(message))
    assert harness.bodies() == [payload(embed)]


def test_notice_with_missing_values_renders_what_it_has(harness: Harness) -> None:
    blank = {"notice": 1, "kind": "ecs-task-stopped", "severity": None, "title": "", "resource": ""}
    harness.invoke(json.dumps(blank | {"reason": None, "region": "", "account": "", "time": ""}))
    harness.invoke(json.dumps({"notice": 1, "kind": "new-kind", "resource": SERVICE_ARN, "severity": "high"}))
    first = {
        "title": "ecs-task-stopped",
        "color": ORANGE,  # no severity: warning
        "fields": [ENVIRONMENT, inline("Resource", "-")],
        "timestamp": "2024-05-01T10:01:03.123+00:00",  # the SNS Timestamp
        "footer": FOOTER,
    }
    second = {
        "title": "new-kind",
        "color": ORANGE,
        "fields": [
            ENVIRONMENT,
            inline("Resource", SERVICE_ARN),
            inline("Severity", "high"),
            inline("Region", "us-east-1"),
        ],
        "timestamp": "2024-05-01T10:01:03.123+00:00",
        "footer": FOOTER,
    }  # an unknown kind has no link
    assert harness.bodies() == [payload(first), payload(second)]


@pytest.mark.parametrize(
    ("value", "severity", "label"),
    [
        (7, "critical", "critical (7)"),
        (6.9, "warning", "warning (6.9)"),
        (4, "warning", "warning (4)"),
        (3.9, "info", "info (3.9)"),
        ("7.5", "critical", "critical (7.5)"),
        ("CRITICAL", "critical", "critical"),
        ("info", "info", "info"),
        ("", "warning", ""),
    ],
)
def test_severity_from_names_and_guardduty_numbers(
    monkeypatch: pytest.MonkeyPatch, value: object, severity: str, label: str
) -> None:
    assert load_notifier(monkeypatch).severity_of(value) == (severity, label)


def test_broken_notice_json_falls_back_to_a_plain_message(harness: Harness) -> None:
    broken = '{"notice": 1, "kind": "rds-event", "reason": "the user said "no"", "region": "us-east-1"}'
    harness.invoke(broken)
    embed = {
        "title": "Message on acme-dev-alerts",
        "description": broken,
        "color": BLUE,
        "fields": [ENVIRONMENT],
        "timestamp": "2024-05-01T10:01:03.123+00:00",
        "footer": FOOTER,
    }
    assert harness.bodies() == [payload(embed)]


def test_plain_message_payload(harness: Harness) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:acme-dev-deployments"
    harness.invoke("web 1.4.2 is live in dev (@everyone)", subject="Deploy finished", topic=topic)
    embed = {
        "title": "Deploy finished",
        "description": "web 1.4.2 is live in dev (@everyone)",
        "color": BLUE,
        "fields": [ENVIRONMENT],
        "timestamp": "2024-05-01T10:01:03.123+00:00",
        "footer": {"text": "acme-dev-deployments"},
    }
    assert harness.bodies() == [payload(embed)]  # allowed_mentions: parse [] keeps @everyone silent


def test_one_message_per_record(harness: Harness) -> None:
    event = sns_event("first")
    event["Records"] += sns_event("second", subject="Second")["Records"]
    assert harness.notifier.handler(event, None) == {"delivered": 2}
    assert [b["embeds"][0]["description"] for b in harness.bodies()] == ["first", "second"]


# ---------------------------------------------------------------- Discord's limits


def embed_length(embed: dict[str, Any]) -> int:
    """What Discord counts against the 6000 characters of an embed."""
    fields = sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    return len(embed["title"]) + len(embed.get("description", "")) + len(embed["footer"]["text"]) + fields


def test_an_overlong_reason_is_cut_to_the_description_limit(harness: Harness) -> None:
    harness.invoke(json.dumps(CPU_ALARM | {"NewStateReason": "x" * 10_000, "AlarmName": "n" * 300}))
    [embed] = harness.bodies()[0]["embeds"]
    assert embed["description"] == "x" * 4095 + "…"
    assert embed["title"] == "ALARM: " + "n" * 248 + "…"
    assert len(embed["title"]) == 256
    assert embed_length(embed) <= 6000


def test_the_whole_embed_is_cut_to_6000_characters(harness: Harness) -> None:
    long = notice(
        kind="pipeline", title="t" * 400, resource="r" * 2000, reason="x" * 10_000, severity="s" * 2000
    )
    harness.invoke(json.dumps(long | {"account": "a" * 2000, "region": "g" * 2000}))
    [embed] = harness.bodies()[0]["embeds"]
    assert len(embed["title"]) == 256
    assert [len(f["value"]) for f in embed["fields"]] == [3, 1024, 1024, 1024, 1024]
    assert all(f["value"].endswith("…") for f in embed["fields"][1:])
    assert embed_length(embed) == 6000  # the description gave way
    assert embed["description"].endswith("…") and len(embed["description"]) < 4096
    assert "url" not in embed  # "ggg…" is no region


# ---------------------------------------------------------------- rate limits and errors


def test_429_waits_retry_after_from_the_body_then_delivers(harness: Harness) -> None:
    harness.discord.answers = [RATE_LIMITED, OK]
    harness.invoke("hello")
    bodies = harness.bodies()
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert harness.sleeps == [0.05]  # the body's retry_after, not the header's rounded 1 s


def test_429_without_a_body_waits_the_retry_after_header(harness: Harness) -> None:
    harness.discord.answers = [(429, {"Retry-After": "2"}, b""), OK]
    harness.invoke("hello")
    assert len(harness.discord.requests) == 2
    assert harness.sleeps == [2.0]


def test_500_twice_backs_off_then_delivers(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    harness.discord.answers = [SERVER_ERROR, SERVER_ERROR, OK]
    with caplog.at_level("INFO", logger="notifier"):
        assert harness.invoke("hello") == {"delivered": 1}
    assert len(harness.discord.requests) == 3
    assert harness.sleeps == [0.5, 1.0]
    retries = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(retries) == 2 and all("HTTP 500" in line for line in retries)
    assert not any(WEBHOOK_PATH in r.getMessage() for r in caplog.records)  # the URL is never logged


def test_500_forever_raises_after_the_bounded_attempts(harness: Harness) -> None:
    harness.discord.then = SERVER_ERROR
    with pytest.raises(harness.notifier.DeliveryError, match="5 attempts") as raised:
        harness.invoke("hello")
    assert len(harness.discord.requests) == harness.notifier.MAX_ATTEMPTS == 5
    assert harness.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert WEBHOOK_PATH not in str(raised.value)


def test_the_total_wait_is_capped(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.notifier, "MAX_TOTAL_WAIT", 1.0)
    harness.discord.then = SERVER_ERROR
    with pytest.raises(harness.notifier.DeliveryError):
        harness.invoke("hello")
    assert harness.sleeps == [0.5]  # the next 1 s would pass the cap
    assert len(harness.discord.requests) == 2


def test_a_retry_after_beyond_the_cap_is_not_waited(harness: Harness) -> None:
    slow = b'{"message": "You are being rate limited.", "retry_after": 60.0, "global": true}'
    harness.discord.then = (429, {"Content-Type": "application/json"}, slow)
    with pytest.raises(harness.notifier.DeliveryError, match="HTTP 429"):
        harness.invoke("hello")
    assert harness.sleeps == []
    assert len(harness.discord.requests) == 1


def test_404_raises_without_retry(harness: Harness) -> None:
    harness.discord.then = NOT_FOUND
    with pytest.raises(harness.notifier.DeliveryError, match="HTTP 404") as raised:
        harness.invoke("hello")
    assert len(harness.discord.requests) == 1
    assert harness.sleeps == []
    assert WEBHOOK_PATH not in str(raised.value)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_errors_back_off_then_raise(harness: Harness) -> None:
    harness.notifier._webhook_url = f"http://127.0.0.1:{closed_port()}{WEBHOOK_PATH}"
    with pytest.raises(harness.notifier.DeliveryError, match="connection error") as raised:
        harness.invoke("hello")
    assert harness.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert WEBHOOK_PATH not in str(raised.value)


# ---------------------------------------------------------------- the webhook secret


@pytest.mark.parametrize("secret_value", ["bare", "json", "padded"], indirect=True)
def test_secret_holds_the_url_bare_or_as_json(harness: Harness, secret_value: str) -> None:
    harness.invoke("hello")
    assert [r.path for r in harness.discord.requests] == [WEBHOOK_PATH]


@pytest.mark.parametrize(
    "secret_value", ["not a url", '{"webhook": "https://example.invalid/x"}'], indirect=True
)
def test_a_secret_without_a_url_fails_without_showing_it(harness: Harness, secret_value: str) -> None:
    with pytest.raises(ValueError, match="neither a URL") as raised:
        harness.invoke("hello")
    assert "not a url" not in str(raised.value) and "example.invalid" not in str(raised.value)
    assert harness.discord.requests == []


def test_the_secret_is_read_once_per_container(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    other = FakeDiscord()
    try:
        harness.invoke("first")
        harness.secrets.put_secret_value(SecretId=harness.secret_arn, SecretString=other.url)
        harness.invoke("second")
        assert len(harness.discord.requests) == 2 and other.requests == []  # the cached URL
        harness.notifier = load_notifier(monkeypatch)  # a new container reads the new value
        monkeypatch.setattr(harness.notifier, "sleep", harness.sleeps.append)
        harness.invoke("third")
        assert [r.body["embeds"][0]["description"] for r in other.requests] == ["third"]
    finally:
        other.stop()


def test_the_module_loads_and_renders_without_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` now raises ImportError
    notifier = load_notifier(monkeypatch)
    monkeypatch.setenv("ENVIRONMENT", "dev")
    monkeypatch.setenv("PROJECT", "acme")
    assert notifier.build_payload(sns_event("hi")["Records"][0]["Sns"])["username"] == "acme dev"
    with pytest.raises(ImportError):
        notifier.webhook_url()
