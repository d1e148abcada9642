"""modules/notifications/topics.py: the alerts and deployments topics, their key, policies and subscriptions."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import by_path, env_toml, load, only, ref, resources, synth_stack, write_config

ACCOUNT = "111111111111"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ALARMS = f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:acme-qa-*"
RULES = f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/acme-qa-*"


def topics_json(tmp_path: Path, notifications: str = ""):
    from modules.cdk import TerraformStack, Testing
    from modules.notifications.topics import Topics, TopicsProps

    text = env_toml("10.40.0.0/16") + f"\n[notifications]\n{notifications}"
    (env,) = load(write_config(tmp_path, {"qa": text})).environments
    stack = TerraformStack(Testing.app(), "test")
    Topics(stack, "topics", TopicsProps.of(env))
    return synth_stack(stack)


def statements(policy: str) -> dict[str, dict]:
    document = json.loads(policy)
    assert document["Version"] == "2012-10-17"
    found = {s["Sid"]: s for s in document["Statement"]}
    assert len(found) == len(document["Statement"]), "Sids are unique"
    return found


def test_two_topics_encrypted_with_a_dedicated_rotating_key(tmp_path: Path) -> None:
    stack = topics_json(tmp_path)
    key_arn = ref(stack, "aws_kms_key", "topics/key", "arn")
    topics = by_path(stack, "aws_sns_topic")
    assert {path: (t["name"], t["kms_master_key_id"]) for path, t in topics.items()} == {
        "topics/alerts": ("acme-qa-alerts", key_arn),
        "topics/deployments": ("acme-qa-deployments", key_arn),
    }
    key = only(stack, "aws_kms_key")
    assert (key["enable_key_rotation"], key["deletion_window_in_days"]) == (True, 30)
    alias = only(stack, "aws_kms_alias")
    assert alias == {
        "name": "alias/acme-qa-notifications",
        "target_key_id": ref(stack, "aws_kms_key", "topics/key", "key_id"),
    }


def test_the_key_lets_the_account_administer_it_and_alarms_and_rules_encrypt_messages(tmp_path: Path) -> None:
    found = statements(only(topics_json(tmp_path), "aws_kms_key")["policy"])
    assert found["AccountAdministersKey"] == {
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "kms:*",
        "Resource": "*",
    }
    cloudwatch, events = found["CloudWatchAlarmsUseKey"], found["EventBridgeUsesKey"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    for statement in (cloudwatch, events):
        assert (statement["Effect"], statement["Action"]) == (
            "Allow",
            ["kms:Decrypt", "kms:GenerateDataKey*"],
        )
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    # KMS does not see aws:SourceAccount/SourceArn for EventBridge deliveries (SNS guide): a
    # condition on them would drop every event. The topic policy scopes the rules instead.
    assert "Condition" not in events
    assert set(found) == {"AccountAdministersKey", "CloudWatchAlarmsUseKey", "EventBridgeUsesKey"}


def test_topic_policies_admit_this_environments_alarms_and_rules_only(tmp_path: Path) -> None:
    stack = topics_json(tmp_path)
    policies = by_path(stack, "aws_sns_topic_policy")
    assert set(policies) == {"topics/alerts/policy", "topics/deployments/policy"}
    publishers = {}
    for purpose in ("alerts", "deployments"):
        policy = policies[f"topics/{purpose}/policy"]
        topic_arn = ref(stack, "aws_sns_topic", f"topics/{purpose}", "arn")
        assert policy["arn"] == topic_arn
        found = statements(policy["policy"])
        assert all(s["Resource"] == topic_arn for s in found.values())
        owner = found.pop("AccountManagesTopic")
        assert (owner["Effect"], owner["Principal"]) == ("Allow", {"AWS": ROOT})
        assert "sns:Subscribe" in owner["Action"] and "sns:SetTopicAttributes" in owner["Action"]
        deny = found.pop("DenyPublishWithoutTls")
        assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sns:Publish")
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        publishers[purpose] = {
            s["Principal"]["Service"]: (s["Effect"], s["Action"], s["Condition"]) for s in found.values()
        }
    events = (
        "Allow",
        "sns:Publish",
        {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": RULES}},
    )
    alarms = (
        "Allow",
        "sns:Publish",
        {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": ALARMS}},
    )
    assert publishers == {
        "alerts": {"cloudwatch.amazonaws.com": alarms, "events.amazonaws.com": events},
        # no alarm notifies the deployments topic
        "deployments": {"events.amazonaws.com": events},
    }


def test_no_email_or_https_subscription_without_config(tmp_path: Path) -> None:
    assert resources(topics_json(tmp_path), "aws_sns_topic_subscription") == {}


def test_email_and_https_subscriptions_from_config_each_named_after_its_address(tmp_path: Path) -> None:
    stack = topics_json(
        tmp_path,
        'alert_emails = ["oncall@example.com", "ops.team+alerts@example.org", "oncall@example.com"]\n'
        'alert_https_endpoints = ["https://events.pagerduty.com/integration/abc123/enqueue"]\n'
        'deployment_emails = ["releases@example.com"]\n',
    )
    alerts = ref(stack, "aws_sns_topic", "topics/alerts", "arn")
    deployments = ref(stack, "aws_sns_topic", "topics/deployments", "arn")
    found = by_path(stack, "aws_sns_topic_subscription")
    assert {path: (s["topic_arn"], s["protocol"], s["endpoint"]) for path, s in found.items()} == {
        "topics/alerts/email-oncall@example.com": (alerts, "email", "oncall@example.com"),
        "topics/alerts/email-ops.team+alerts@example.org": (alerts, "email", "ops.team+alerts@example.org"),
        "topics/alerts/https-events.pagerduty.com-integration-abc123-enqueue": (
            alerts,
            "https",
            "https://events.pagerduty.com/integration/abc123/enqueue",
        ),
        "topics/deployments/email-releases@example.com": (deployments, "email", "releases@example.com"),
    }
    https = found["topics/alerts/https-events.pagerduty.com-integration-abc123-enqueue"]
    assert https["endpoint_auto_confirms"] is False
    assert all("endpoint_auto_confirms" not in s for s in found.values() if s["protocol"] == "email")


def test_removing_an_address_leaves_the_other_subscriptions_addresses_alone(tmp_path: Path) -> None:
    from conftest import construct_paths

    before = topics_json(
        tmp_path / "a", 'alert_emails = ["a@example.com", "b@example.com", "c@example.com"]\n'
    )
    after = topics_json(tmp_path / "b", 'alert_emails = ["b@example.com", "c@example.com"]\n')
    names_before = construct_paths(before, "aws_sns_topic_subscription")
    names_after = construct_paths(after, "aws_sns_topic_subscription")
    # the Terraform names (addresses) of b and c are the same in both: no position in a list
    assert set(names_after.items()) < set(names_before.items())
    assert sorted(names_before.values()) == [f"topics/alerts/email-{x}@example.com" for x in "abc"]
