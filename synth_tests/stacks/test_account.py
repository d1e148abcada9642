"""modules/stacks/account.py and its wiring: the account-wide services exist in the owner's stack only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import by_path, env_toml, environment_json, load, name_at, only, ref, resources, write_config

ACCOUNT_WIDE = (
    "aws_cloudtrail",
    "aws_guardduty_detector",
    "aws_guardduty_detector_feature",
    "aws_accessanalyzer_analyzer",
    "aws_cloudwatch_log_resource_policy",
    "aws_xray_encryption_config",
)


def owner_json(tmp_path: Path, account: str = "") -> dict:
    text = env_toml("10.30.0.0/16", "production") + f"\n[account]\nowner = true\n{account}"
    return environment_json(load(write_config(tmp_path, {"prod": text})), "prod")


@pytest.fixture(scope="module")
def committed_prod(committed_platform) -> dict:
    return environment_json(committed_platform, "prod")


@pytest.mark.parametrize("name", ["dev", "stg"])
def test_environments_that_do_not_own_their_account_create_nothing_account_wide(
    committed_platform, name
) -> None:
    stack = environment_json(committed_platform, name)
    assert not [t for t in ACCOUNT_WIDE if resources(stack, t)]
    assert not {"trail_arn", "guardduty_detector_id"} & set(stack["output"])
    # Every environment has rules of its own (modules/notifications/events.py), none account-wide.
    assert all(path.startswith("events/") for path in by_path(stack, "aws_cloudwatch_event_rule"))


def test_the_owner_creates_trail_detector_and_analyzer_under_one_scope(committed_prod: dict) -> None:
    for resource_type in ACCOUNT_WIDE:
        assert resources(committed_prod, resource_type), resource_type
        assert all(path.startswith("account/") for path in by_path(committed_prod, resource_type))
    rules = by_path(committed_prod, "aws_cloudwatch_event_rule")
    assert "account/guardduty/findings-rule" in rules or any(p.startswith("account/") for p in rules)
    assert all(path.startswith(("account/", "events/")) for path in rules)
    (encryption,) = by_path(committed_prod, "aws_xray_encryption_config").values()
    assert encryption["type"] == "KMS" and encryption["key_id"] == ref(
        committed_prod, "aws_kms_key", "key/key", "arn"
    )
    assert committed_prod["output"]["trail_arn"]["value"] == ref(
        committed_prod, "aws_cloudtrail", "account/trail/trail", "arn"
    )
    assert committed_prod["output"]["guardduty_detector_id"]["value"] == ref(
        committed_prod, "aws_guardduty_detector", "account/guardduty/detector", "id"
    )


def test_the_trail_bucket_is_a_private_bucket_cloudtrail_may_write_to(committed_prod: dict) -> None:
    buckets = by_path(committed_prod, "aws_s3_bucket")
    bucket = buckets["account/trail-bucket/bucket"]
    assert bucket["bucket"] == "acme-prod-cloudtrail-111111111111-eu-west-1"
    assert bucket["lifecycle"] == {"prevent_destroy": True}, "the account's audit record"
    (rule,) = by_path(committed_prod, "aws_s3_bucket_lifecycle_configuration")[
        "account/trail-bucket/lifecycle"
    ]["rule"]
    assert rule["expiration"] == [{"days": 2557}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 365}]
    (sse,) = by_path(committed_prod, "aws_s3_bucket_server_side_encryption_configuration")[
        "account/trail-bucket/encryption"
    ]["rule"]
    # log files are SSE-KMS by the trail's own key; no bucket key to replace their encryption context
    assert sse["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    assert "bucket_key_enabled" not in sse
    public = by_path(committed_prod, "aws_s3_bucket_public_access_block")[
        "account/trail-bucket/public-access"
    ]
    assert all(public[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls"))
    policy = by_path(committed_prod, "aws_s3_bucket_policy")["account/trail-bucket/policy"]
    sids = [s["Sid"] for s in json.loads(policy["policy"])["Statement"]]
    assert sids == ["DenyInsecureTransport", "CloudTrailAclCheck", "CloudTrailWrite"]


def test_reads_of_the_trail_bucket_are_logged_to_a_bucket_of_their_own(committed_prod: dict) -> None:
    logs = by_path(committed_prod, "aws_s3_bucket")["account/trail-access-logs/bucket"]
    assert logs["bucket"] == "acme-prod-cloudtrail-logs-111111111111-eu-west-1"
    logging = by_path(committed_prod, "aws_s3_bucket_logging")["account/trail-bucket/access-logging"]
    policy = name_at(committed_prod, "aws_s3_bucket_policy", "account/trail-access-logs/policy")
    assert logging["target_bucket"] == f"${{aws_s3_bucket_policy.{policy}.bucket}}"
    assert logging["target_prefix"] == "trail-bucket/"
    statements = json.loads(
        by_path(committed_prod, "aws_s3_bucket_policy")["account/trail-access-logs/policy"]["policy"]
    )["Statement"]
    delivery = next(s for s in statements if s["Sid"] == "S3ServerAccessLogDelivery")
    assert delivery["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:s3:::acme-prod-cloudtrail-111111111111-eu-west-1"
    }


def test_first_apply_order_bucket_policy_then_trail(committed_prod: dict) -> None:
    trail = only(committed_prod, "aws_cloudtrail")
    policy = name_at(committed_prod, "aws_s3_bucket_policy", "account/trail-bucket/policy")
    # the bucket is named through its policy, so the trail is created after it
    assert trail["s3_bucket_name"] == f"${{aws_s3_bucket_policy.{policy}.bucket}}"
    role_policy = name_at(committed_prod, "aws_iam_role_policy", "account/trail/logs-role-policy")
    assert trail["depends_on"] == [f"aws_iam_role_policy.{role_policy}"]
    assert trail["kms_key_id"] == ref(committed_prod, "aws_kms_key", "account/trail-key/key", "arn")


def test_logs_use_the_environment_key_and_the_trail_its_own(committed_prod: dict) -> None:
    env_key = ref(committed_prod, "aws_kms_key", "key/key", "arn")
    groups = by_path(committed_prod, "aws_cloudwatch_log_group")
    assert groups["account/trail/log-group"]["kms_key_id"] == env_key
    assert groups["account/guardduty/findings-log-group"]["kms_key_id"] == env_key
    assert only(committed_prod, "aws_guardduty_detector")["finding_publishing_frequency"] == "FIFTEEN_MINUTES"


@pytest.mark.parametrize(
    ("switch", "gone", "output"),
    [
        ("cloudtrail = false", ("aws_cloudtrail", "aws_s3_bucket", "aws_iam_role"), "trail_arn"),
        (
            "guardduty = false",
            ("aws_guardduty_detector", "aws_cloudwatch_event_rule"),
            "guardduty_detector_id",
        ),
        ("access_analyzer = false", ("aws_accessanalyzer_analyzer",), None),
    ],
)
def test_each_service_can_be_switched_off(tmp_path: Path, switch: str, gone: tuple[str, ...], output) -> None:
    everything = owner_json(tmp_path / "all")
    without = owner_json(tmp_path / "without", switch + "\n")
    for resource_type in gone:
        in_account = {p for p in by_path(everything, resource_type) if p.startswith("account/")}
        assert in_account, resource_type
        assert not {p for p in by_path(without, resource_type) if p.startswith("account/")}, resource_type
    if output is not None:
        assert output in everything["output"] and output not in without["output"]
