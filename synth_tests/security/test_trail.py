"""modules/security/trail.py: the trail, its key, its CloudWatch Logs delivery and its bucket policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import env_toml, load, name_at, only, ref, synth_stack, write_config

ENV_KEY = "arn:aws:kms:eu-west-1:111111111111:key/env"
TRAIL_ARN = "arn:aws:cloudtrail:eu-west-1:111111111111:trail/acme-prod-trail"


def owner(tmp_path: Path, account: str = ""):
    text = env_toml("10.30.0.0/16", "production") + f"\n[account]\nowner = true\n{account}"
    (env,) = load(write_config(tmp_path, {"prod": text})).environments
    return env


def trail_json(tmp_path: Path, account: str = ""):
    from modules.cdk import TerraformStack, Testing
    from modules.security.trail import Trail, TrailKey, TrailKeyProps, TrailProps

    env = owner(tmp_path, account)
    stack = TerraformStack(Testing.app(), "test")
    key = TrailKey(stack, "trail-key", TrailKeyProps.of(env))
    Trail(
        stack,
        "trail",
        TrailProps.of(env, bucket_name="trail-bucket", kms_key_arn=key.arn, log_kms_key_arn=ENV_KEY),
    )
    return synth_stack(stack)


def statements(document: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(document)["Statement"]}


def test_names_and_arns_are_known_from_config(tmp_path: Path) -> None:
    from modules.security.trail import TrailNames

    names = TrailNames.of(owner(tmp_path))
    assert (names.name, names.arn) == ("acme-prod-trail", TRAIL_ARN)
    assert names.bucket_name == "acme-prod-cloudtrail-111111111111-eu-west-1"
    assert names.bucket_arn == f"arn:aws:s3:::{names.bucket_name}"
    assert names.access_log_bucket_name == "acme-prod-cloudtrail-logs-111111111111-eu-west-1"
    assert names.log_group_name == "/acme/prod/cloudtrail"


def test_a_long_bucket_name_is_shortened_but_keeps_account_and_region(tmp_path: Path) -> None:
    from modules.security.trail import TrailNames

    project = 'name = "a-very-long-project1"\nregion = "ap-southeast-2"\naccount_id = "111111111111"\n'
    text = env_toml("10.30.0.0/16", "production") + "\n[account]\nowner = true\n"
    (env,) = load(write_config(tmp_path, {"production-eu-west1": text}, project=project)).environments
    name = TrailNames.of(env).bucket_name
    assert len(name) == 63 and name.endswith("-111111111111-ap-southeast-2")
    assert name == TrailNames.of(env).bucket_name, "deterministic"


def test_a_multi_region_validated_trail_encrypted_with_its_own_key(tmp_path: Path) -> None:
    stack = trail_json(tmp_path)
    trail = only(stack, "aws_cloudtrail")
    assert trail["name"] == "acme-prod-trail"
    assert trail["is_multi_region_trail"] is True and trail["include_global_service_events"] is True
    assert trail["enable_log_file_validation"] is True
    assert trail["kms_key_id"] == ref(stack, "aws_kms_key", "trail-key/key", "arn")
    assert trail["s3_bucket_name"] == "trail-bucket"
    assert "s3_key_prefix" not in trail, "the bucket policy admits AWSLogs/<account>/ at the root"


def test_management_events_by_one_advanced_selector_and_insights_by_default(tmp_path: Path) -> None:
    trail = only(trail_json(tmp_path), "aws_cloudtrail")
    assert trail["advanced_event_selector"] == [
        {
            "name": "Management events",
            "field_selector": [{"field": "eventCategory", "equals": ["Management"]}],
        }
    ]
    assert "event_selector" not in trail
    assert trail["insight_selector"] == [{"insight_type": "ApiCallRateInsight"}]


def test_insights_can_be_switched_off(tmp_path: Path) -> None:
    assert "insight_selector" not in only(trail_json(tmp_path, "insights = false\n"), "aws_cloudtrail")


def test_events_go_to_an_encrypted_log_group_through_a_role_limited_to_it(tmp_path: Path) -> None:
    stack = trail_json(tmp_path, "cloudwatch_retention_days = 400\n")
    trail = only(stack, "aws_cloudtrail")
    group = only(stack, "aws_cloudwatch_log_group")
    assert (group["name"], group["retention_in_days"], group["kms_key_id"]) == (
        "/acme/prod/cloudtrail",
        400,
        ENV_KEY,
    )
    assert (
        trail["cloud_watch_logs_group_arn"]
        == ref(stack, "aws_cloudwatch_log_group", "trail/log-group", "arn") + ":*"
    )
    assert trail["cloud_watch_logs_role_arn"] == ref(stack, "aws_iam_role", "trail/logs-role", "arn")

    role = only(stack, "aws_iam_role")
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    (write,) = json.loads(only(stack, "aws_iam_role_policy")["policy"])["Statement"]
    assert sorted(write["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert write["Resource"] == (
        "arn:aws:logs:eu-west-1:111111111111:log-group:/acme/prod/cloudtrail"
        ":log-stream:111111111111_CloudTrail_*"
    )


def test_the_trail_waits_for_its_role_policy(tmp_path: Path) -> None:
    stack = trail_json(tmp_path)
    policy = name_at(stack, "aws_iam_role_policy", "trail/logs-role-policy")
    assert only(stack, "aws_cloudtrail")["depends_on"] == [f"aws_iam_role_policy.{policy}"]


def test_only_this_trail_may_encrypt_with_the_key(tmp_path: Path) -> None:
    stack = trail_json(tmp_path)
    key = only(stack, "aws_kms_key")
    assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] == 30
    found = statements(key["policy"])
    assert set(found) == {"AccountAdministersKey", "CloudTrailEncryptsLogFiles", "CloudTrailDescribesKey"}
    encrypt = found["CloudTrailEncryptsLogFiles"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN},
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"
        },
    }
    assert found["CloudTrailDescribesKey"]["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
    assert only(stack, "aws_kms_alias")["name"] == "alias/acme-prod-trail"


@pytest.mark.parametrize("sid", ["CloudTrailAclCheck", "CloudTrailWrite"])
def test_the_bucket_admits_this_trail_of_this_account_only(tmp_path: Path, sid: str) -> None:
    from modules.security.trail import TrailNames, bucket_delivery_statements

    names = TrailNames.of(owner(tmp_path))
    statement = {s["Sid"]: s for s in bucket_delivery_statements(names)}[sid]
    assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    conditions = statement["Condition"]["StringEquals"]
    assert conditions["aws:SourceArn"] == TRAIL_ARN and conditions["aws:SourceAccount"] == "111111111111"
    if sid == "CloudTrailAclCheck":
        assert (statement["Action"], statement["Resource"]) == ("s3:GetBucketAcl", names.bucket_arn)
    else:
        assert statement["Action"] == "s3:PutObject"
        assert statement["Resource"] == f"{names.bucket_arn}/AWSLogs/111111111111/*"
        assert conditions["s3:x-amz-acl"] == "bucket-owner-full-control"
