"""README.md, "What you will see in Discord": the message shown is what the notifier posts for dev's
public ALB 5xx alarm (modules/notifications/discord/runtime/notifier.py, run on that alarm's SNS
message), so the README cannot drift from the code."""

from __future__ import annotations

import importlib.util
import json
import re
from types import ModuleType

import pytest
from conftest import ROOT

RUNTIME = ROOT / "modules" / "notifications" / "discord" / "runtime" / "notifier.py"
BLOCK = re.compile(r"<!-- BEGIN DISCORD EXAMPLE -->\n(.*?)<!-- END DISCORD EXAMPLE -->", re.S)

# CloudWatch's SNS message for the alarm as the committed dev stack defines it (name, description
# and threshold are read from generated/ below, so a changed alarm changes the example).
STATE_CHANGE = {
    "AWSAccountId": "111111111111",
    "NewStateValue": "ALARM",
    "NewStateReason": (
        "Threshold Crossed: 5 out of the last 5 datapoints [12.5 (26/11/26 18:04:00), 9.1 (26/11/26 "
        "18:03:00), 8.7 (26/11/26 18:02:00), 7.9 (26/11/26 18:01:00), 6.2 (26/11/26 18:00:00)] were "
        "greater than the threshold (5.0)."
    ),
    "StateChangeTime": "2026-11-26T18:05:12.345+0000",
    "Region": "EU (Ireland)",
    "OldStateValue": "OK",
    "Trigger": {
        "Period": 60,
        "EvaluationPeriods": 5,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 5.0,
        "Metrics": [
            {"Id": "rate", "Expression": "100 * (elb + target) / requests", "ReturnData": True},
            {
                "Id": "requests",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApplicationELB",
                        "MetricName": "RequestCount",
                        "Dimensions": [
                            {"value": "app/acme-dev-public/0123456789abcdef", "name": "LoadBalancer"}
                        ],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
        ],
    },
}


@pytest.fixture()
def notifier(monkeypatch) -> ModuleType:
    monkeypatch.setenv("ENVIRONMENT", "dev")
    monkeypatch.setenv("PROJECT", "acme")
    spec = importlib.util.spec_from_file_location("notifier_readme_example", RUNTIME)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered(notifier: ModuleType) -> str:
    stack = json.loads((ROOT / "generated" / "stacks" / "dev" / "cdk.tf.json").read_text())
    alarm = stack["resource"]["aws_cloudwatch_metric_alarm"]["alarms_public_alb_5xx_rate"]
    message = {
        **STATE_CHANGE,
        "AlarmName": alarm["alarm_name"],
        "AlarmDescription": alarm["alarm_description"],
        "AlarmArn": f"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:{alarm['alarm_name']}",
    }
    sns = {
        "Message": json.dumps(message),
        "TopicArn": "arn:aws:sns:eu-west-1:111111111111:acme-dev-alerts",
        "Timestamp": "2026-11-26T18:05:12.400Z",
    }
    payload = notifier.build_payload(sns)
    return "```json\n" + json.dumps(payload, indent=2, ensure_ascii=False) + "\n```\n"


def test_the_readme_shows_what_the_notifier_posts(notifier: ModuleType) -> None:
    match = BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md has no DISCORD EXAMPLE block"
    expected = rendered(notifier)
    assert match.group(1) == expected, "paste this between the DISCORD EXAMPLE markers:\n" + expected
