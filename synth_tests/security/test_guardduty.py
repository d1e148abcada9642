"""modules/security/guardduty.py: the detector, its features, findings to CloudWatch Logs, Access Analyzer."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import by_path, env_toml, load, name_at, only, ref, synth_stack, write_config

ENV_KEY = "arn:aws:kms:eu-west-1:111111111111:key/env"
RULE_ARN = "arn:aws:events:eu-west-1:111111111111:rule/acme-prod-guardduty-findings"
GROUP_ARN = "arn:aws:logs:eu-west-1:111111111111:log-group:/acme/prod/guardduty-findings"


def guardduty_json(tmp_path: Path, account: str = ""):
    from modules.cdk import TerraformStack, Testing
    from modules.security.guardduty import AccessAnalyzer, AccessAnalyzerProps, GuardDuty, GuardDutyProps

    text = env_toml("10.30.0.0/16", "production") + f"\n[account]\nowner = true\n{account}"
    (env,) = load(write_config(tmp_path, {"prod": text})).environments
    stack = TerraformStack(Testing.app(), "test")
    GuardDuty(stack, "guardduty", GuardDutyProps.of(env, ENV_KEY))
    AccessAnalyzer(stack, "access-analyzer", AccessAnalyzerProps.of(env))
    return synth_stack(stack)


def test_an_enabled_detector_with_the_configured_frequency(tmp_path: Path) -> None:
    detector = only(
        guardduty_json(tmp_path, 'guardduty_finding_frequency = "ONE_HOUR"\n'), "aws_guardduty_detector"
    )
    assert detector == {"enable": True, "finding_publishing_frequency": "ONE_HOUR"}
    assert "datasources" not in detector, "features, not the deprecated datasources block"


def test_the_features_that_matter_each_a_resource_of_its_own(tmp_path: Path) -> None:
    stack = guardduty_json(tmp_path)
    detector_id = ref(stack, "aws_guardduty_detector", "guardduty/detector", "id")
    features = by_path(stack, "aws_guardduty_detector_feature")
    assert {path: f["name"] for path, f in features.items()} == {
        "guardduty/feature-s3-data-events": "S3_DATA_EVENTS",
        "guardduty/feature-ebs-malware-protection": "EBS_MALWARE_PROTECTION",
        "guardduty/feature-rds-login-events": "RDS_LOGIN_EVENTS",
        "guardduty/feature-runtime-monitoring": "RUNTIME_MONITORING",
    }
    assert all(f["status"] == "ENABLED" and f["detector_id"] == detector_id for f in features.values())
    assert all(
        "additional_configuration" not in f for f in features.values() if f["name"] != "RUNTIME_MONITORING"
    )


def test_runtime_monitoring_manages_the_fargate_agent_and_lists_every_additional_configuration(
    tmp_path: Path,
) -> None:
    runtime = by_path(guardduty_json(tmp_path), "aws_guardduty_detector_feature")[
        "guardduty/feature-runtime-monitoring"
    ]
    # every configuration AWS reports for the feature, or each plan shows the missing ones as a change
    assert {c["name"]: c["status"] for c in runtime["additional_configuration"]} == {
        "ECS_FARGATE_AGENT_MANAGEMENT": "ENABLED",
        "EKS_ADDON_MANAGEMENT": "DISABLED",
        "EC2_AGENT_MANAGEMENT": "DISABLED",
    }


def test_every_finding_goes_to_an_encrypted_log_group(tmp_path: Path) -> None:
    stack = guardduty_json(tmp_path, "cloudwatch_retention_days = 731\n")
    rule = only(stack, "aws_cloudwatch_event_rule")
    assert rule["name"] == "acme-prod-guardduty-findings"
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
    }
    group = only(stack, "aws_cloudwatch_log_group")
    assert (group["name"], group["retention_in_days"], group["kms_key_id"]) == (
        "/acme/prod/guardduty-findings",
        731,
        ENV_KEY,
    )
    target = only(stack, "aws_cloudwatch_event_target")
    assert target["rule"] == ref(stack, "aws_cloudwatch_event_rule", "guardduty/findings-rule", "name")
    assert target["arn"] == ref(stack, "aws_cloudwatch_log_group", "guardduty/findings-log-group", "arn")
    assert "role_arn" not in target, "CloudWatch Logs targets use the group's resource policy, never a role"
    policy = name_at(stack, "aws_cloudwatch_log_resource_policy", "guardduty/findings-log-policy")
    assert target["depends_on"] == [f"aws_cloudwatch_log_resource_policy.{policy}"]


def test_eventbridge_may_write_findings_to_that_group_for_this_rule_only(tmp_path: Path) -> None:
    policy = only(guardduty_json(tmp_path), "aws_cloudwatch_log_resource_policy")
    assert policy["policy_name"] == "acme-prod-guardduty-findings"
    found = {s["Sid"]: s for s in json.loads(policy["policy_document"])["Statement"]}
    assert {sid: (s["Action"], s["Resource"]) for sid, s in found.items()} == {
        "EventBridgeCreatesFindingStreams": ("logs:CreateLogStream", f"{GROUP_ARN}:*"),
        "EventBridgeWritesFindings": ("logs:PutLogEvents", f"{GROUP_ARN}:*"),
    }
    assert all(s["Principal"] == {"Service": "events.amazonaws.com"} for s in found.values())
    assert found["EventBridgeWritesFindings"]["Condition"] == {"ArnEquals": {"aws:SourceArn": RULE_ARN}}


def test_access_analyzer_watches_the_account(tmp_path: Path) -> None:
    analyzer = only(guardduty_json(tmp_path), "aws_accessanalyzer_analyzer")
    assert analyzer == {"analyzer_name": "acme-prod-access-analyzer", "type": "ACCOUNT"}
