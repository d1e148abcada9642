"""modules/observability/audit.py: the CIS metric filters and alarms on the account's trail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import by_path, env_toml, load, ref, resources, synth_stack, write_config
from watch_fixtures import KEY, TOPIC

# What each CIS check counts, written out from the benchmark (CIS AWS Foundations 1.2 section 3 /
# 1.4 section 4; AWS Security Hub CloudWatch.1-14): the event names, the event source it is limited
# to, and the other conditions (field, operator, value).
CIS = {
    "root-account-usage": (
        "CloudWatch.1",
        set(),
        None,
        {("userIdentity.type", "=", "Root"), ("eventType", "!=", "AwsServiceEvent")},
    ),
    "unauthorized-api-calls": (
        "CloudWatch.2",
        set(),
        None,
        {("errorCode", "=", "*UnauthorizedOperation"), ("errorCode", "=", "AccessDenied*")},
    ),
    "console-signin-without-mfa": (
        "CloudWatch.3",
        {"ConsoleLogin"},
        None,
        {
            ("additionalEventData.MFAUsed", "!=", "Yes"),
            ("userIdentity.type", "=", "IAMUser"),
            ("responseElements.ConsoleLogin", "=", "Success"),
        },
    ),
    "iam-policy-changes": (
        "CloudWatch.4",
        {
            *(f"{verb}{kind}Policy" for verb in ("Delete", "Put") for kind in ("Group", "Role", "User")),
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            *(f"{verb}{kind}Policy" for verb in ("Attach", "Detach") for kind in ("Role", "User", "Group")),
        },
        None,
        set(),
    ),
    "cloudtrail-changes": (
        "CloudWatch.5",
        {"CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"},
        None,
        set(),
    ),
    "console-signin-failures": (
        "CloudWatch.6",
        {"ConsoleLogin"},
        None,
        {("errorMessage", "=", "Failed authentication")},
    ),
    "kms-key-disabled-or-deleted": ("CloudWatch.7", {"DisableKey", "ScheduleKeyDeletion"}, "kms", set()),
    "s3-bucket-policy-changes": (
        "CloudWatch.8",
        {
            *(
                f"Put{what}"
                for what in (
                    "BucketAcl",
                    "BucketPolicy",
                    "BucketCors",
                    "BucketLifecycle",
                    "BucketReplication",
                )
            ),
            *(
                f"Delete{what}"
                for what in ("BucketPolicy", "BucketCors", "BucketLifecycle", "BucketReplication")
            ),
        },
        "s3",
        set(),
    ),
    "config-changes": (
        "CloudWatch.9",
        {
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        },
        "config",
        set(),
    ),
    "security-group-changes": (
        "CloudWatch.10",
        {
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        },
        None,
        set(),
    ),
    "nacl-changes": (
        "CloudWatch.11",
        {
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        },
        None,
        set(),
    ),
    "network-gateway-changes": (
        "CloudWatch.12",
        {
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        },
        None,
        set(),
    ),
    "route-table-changes": (
        "CloudWatch.13",
        {
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        },
        "ec2",
        set(),
    ),
    "vpc-changes": (
        "CloudWatch.14",
        {
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        },
        None,
        set(),
    ),
}
TERM = re.compile(r'\$\.([A-Za-z.]+)\s*(!=|=)\s*"?([^")]+?)"?\s*\)?\s*(?:&&|\|\||\}|\)|$)')


def terms(pattern: str) -> set[tuple[str, str, str]]:
    return {(field, op, value.strip()) for field, op, value in TERM.findall(pattern)}


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory):
    """An owner environment's account services (the trail) with the audit alarms on its log group."""
    from modules.cdk import TerraformStack, Testing
    from modules.observability import AuditAlarms, AuditAlarmsProps
    from modules.stacks.account import AccountServices

    text = (
        env_toml("10.30.0.0/16", "production")
        + "\n[account]\nowner = true\n\n[alarms]\nperiod_seconds = 300\n"
    )
    (env,) = load(write_config(tmp_path_factory.mktemp("audit"), {"prod": text})).environments
    stack = TerraformStack(Testing.app(), "test")
    account = AccountServices(stack, "account", env, KEY)
    assert account.trail_log_group_name is not None
    AuditAlarms(
        stack,
        "audit-alarms",
        AuditAlarmsProps.of(env, log_group_name=account.trail_log_group_name, alerts_topic_arn=TOPIC),
    )
    return synth_stack(stack)


def test_one_filter_and_one_alarm_per_cis_check(audit) -> None:
    filters = by_path(audit, "aws_cloudwatch_log_metric_filter")
    alarms = by_path(audit, "aws_cloudwatch_metric_alarm")
    assert set(filters) == {f"audit-alarms/{key}" for key in CIS}
    assert set(alarms) == {f"audit-alarms/{key}-alarm" for key in CIS}
    for key in CIS:
        f, alarm = filters[f"audit-alarms/{key}"], alarms[f"audit-alarms/{key}-alarm"]
        assert f["name"] == alarm["alarm_name"] == f"acme-prod-audit-{key}"
        (transformation,) = [f["metric_transformation"]]
        # The alarm watches exactly the metric its filter writes.
        assert (transformation["name"], transformation["namespace"]) == (
            alarm["metric_name"],
            alarm["namespace"],
        )
        assert transformation["namespace"] == "acme/CISBenchmark"
        assert transformation["value"] == "1"
        assert CIS[key][0] in alarm["alarm_description"]


def test_filters_read_the_trail_s_log_group(audit) -> None:
    group = ref(audit, "aws_cloudwatch_log_group", "account/trail/log-group", "name")
    assert {f["log_group_name"] for f in resources(audit, "aws_cloudwatch_log_metric_filter").values()} == {
        group
    }


@pytest.mark.parametrize("key", sorted(CIS))
def test_each_pattern_counts_exactly_the_events_of_its_check(audit, key: str) -> None:
    _, names, source, conditions = CIS[key]
    pattern = by_path(audit, "aws_cloudwatch_log_metric_filter")[f"audit-alarms/{key}"]["pattern"]
    assert pattern.startswith("{") and pattern.endswith("}")
    assert pattern.count("(") == pattern.count(")")
    found = terms(pattern)
    assert {value for field, op, value in found if field == "eventName"} == names
    assert {value for field, _, value in found if field == "eventSource"} == (
        {f"{source}.amazonaws.com"} if source else set()
    )
    assert {t for t in found if t[0] not in ("eventName", "eventSource")} == conditions
    if key == "root-account-usage":
        assert "$.userIdentity.invokedBy NOT EXISTS" in pattern


def test_alarms_fire_on_one_event_and_tell_the_alerts_topic(audit) -> None:
    for path, alarm in by_path(audit, "aws_cloudwatch_metric_alarm").items():
        settings = (
            alarm["statistic"],
            alarm["comparison_operator"],
            alarm["threshold"],
            alarm["evaluation_periods"],
            alarm["period"],
            alarm["treat_missing_data"],
            alarm["alarm_actions"],
        )
        assert settings == ("Sum", "GreaterThanOrEqualToThreshold", 1, 1, 300, "notBreaching", [TOPIC]), path
        assert "ok_actions" not in alarm  # an audit event is a fact: no "OK" follows it


def test_the_checks_stay_apart_from_another_project_in_the_account(tmp_path: Path) -> None:
    from modules.observability import AuditAlarmsProps

    project = 'name = "other"\nregion = "eu-west-1"\naccount_id = "111111111111"\n'
    text = env_toml("10.30.0.0/16", "production") + "\n[account]\nowner = true\n"
    (env,) = load(write_config(tmp_path, {"prod": text}, project=project)).environments
    props = AuditAlarmsProps.of(env, log_group_name="/other/prod/cloudtrail", alerts_topic_arn=TOPIC)
    assert props.namespace == "other/CISBenchmark"
