"""modules/review/rules.py: one test per rule of RULES, on the committed plan or real changes from it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from review_fixtures import (
    BILLING,
    DATABASE,
    DEV_PLAN,
    OPENED_INGRESS,
    UPLOADS,
    created,
    dev_plan_data,
    edited,
    entry,
    plan_of,
)

from modules.review import RULES, Severity, read_plan, review
from modules.review.plan import Plan
from modules.review.report import Finding

PUBLIC_ALB = "aws_lb.public_alb_alb"
LOGS_BUCKET = "aws_s3_bucket.lb_access_logs_bucket_bucket"
FLOW_LOGS = "aws_cloudwatch_log_group.network_flow_log_group"
WORLD_80 = "aws_vpc_security_group_ingress_rule.public_alb_80_from_ipv4_any"
WEB_GROUP = "aws_security_group.services_web_security_group"


def flags(plan: Plan) -> dict[tuple[str, str], Finding]:
    return {(f.address, f.rule): f for f in review(plan).findings}


def rules_of(plan: Plan, address: str) -> set[str]:
    return {rule for (a, rule) in flags(plan) if a == address}


def real(address: str) -> dict[str, Any]:
    return entry(dev_plan_data(), address)


def test_every_rule_has_an_id_a_one_line_reason_and_a_test_here() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert all(r.reason and "\n" not in r.reason and len(r.reason) < 120 for r in RULES)
    assert {r.severity for r in RULES} == {Severity.DANGER, Severity.WARNING}
    tests = set(re.findall(r"^def (test_\w+)", Path(__file__).read_text(), re.M))
    missing = [i for i in ids if not any(t.startswith(f"test_{i.replace('-', '_')}") for t in tests)]
    assert missing == [], "every rule needs a test named test_<rule id>..."


# --- danger ------------------------------------------------------------------------------------


def test_deletes_data_flags_the_database_replacement_and_the_bucket_delete_of_the_real_plan() -> None:
    found = flags(read_plan(DEV_PLAN))
    database = found[(DATABASE, "deletes-data")]
    assert database.severity is Severity.DANGER and database.action.value == "replace"
    assert database.forced_by == ("engine",) and database.attributes == ("engine",)
    assert [(v.path, v.before, v.after) for v in database.values] == [("engine", "postgres", "mysql")]
    assert database.action_reason == "replace_because_cannot_update"
    bucket = found[(UPLOADS, "deletes-data")]
    assert bucket.severity is Severity.DANGER and bucket.action.value == "delete"
    # the bucket's parts go with it: not data holders themselves, and not flagged as loosening
    # its public access block or removing its encryption
    parts = [a for (a, _) in found if a.startswith("aws_s3_bucket_") and "uploads" in a]
    assert parts == []
    # creating a data store is no danger
    assert not rules_of(read_plan(DEV_PLAN), "aws_cloudwatch_log_group.database_log_error")


def test_deletion_protection_off_on_a_switch_and_on_force_destroy() -> None:
    alb = real(PUBLIC_ALB)
    off = edited(alb, ["update"], before={"enable_deletion_protection": True})
    assert off["change"]["after"]["enable_deletion_protection"] is False  # dev's value
    finding = flags(plan_of(off))[(PUBLIC_ALB, "deletion-protection-off")]
    assert finding.attributes == ("enable_deletion_protection",)
    assert finding.detail == "enable_deletion_protection: true -> false"
    assert "deletion-protection-off" not in rules_of(plan_of(edited(alb, ["update"])), PUBLIC_ALB)
    # switched on is not flagged
    on = edited(alb, ["update"], after={"enable_deletion_protection": True})
    assert "deletion-protection-off" not in rules_of(plan_of(on), PUBLIC_ALB)
    bucket = edited(
        real(LOGS_BUCKET), ["update"], before={"force_destroy": False}, after={"force_destroy": True}
    )
    assert flags(plan_of(bucket))[(LOGS_BUCKET, "deletion-protection-off")].attributes == ("force_destroy",)


def test_backups_off_when_retention_drops_to_zero_or_the_final_snapshot_is_skipped() -> None:
    database = real(DATABASE)
    base = edited(database, ["update"])
    base["change"]["after"] = json.loads(json.dumps(base["change"]["before"]))
    base["change"]["after_unknown"] = {}
    base.pop("action_reason", None)
    base["change"].pop("replace_paths", None)
    zero = edited(base, after={"backup_retention_period": 0})
    assert flags(plan_of(zero))[(DATABASE, "backups-off")].detail == "backup_retention_period: 1 -> 0"
    skip = edited(base, before={"skip_final_snapshot": False})
    assert flags(plan_of(skip))[(DATABASE, "backups-off")].attributes == ("skip_final_snapshot",)
    assert "backups-off" not in rules_of(plan_of(base), DATABASE)
    versioning = "aws_s3_bucket_versioning.lb_access_logs_bucket_versioning"
    suspended = edited(
        real(versioning), ["update"], after={"versioning_configuration[0].status": "Suspended"}
    )
    assert flags(plan_of(suspended))[(versioning, "backups-off")].attributes == (
        "versioning_configuration[0].status",
    )


def test_encryption_removed_when_a_flag_goes_off_or_the_key_goes() -> None:
    efs = "aws_efs_file_system.filesystems_shared_file_system"
    off = edited(real(efs), ["update"], after={"encrypted": False, "kms_key_id": ""})
    finding = flags(plan_of(off))[(efs, "encryption-removed")]
    assert finding.attributes == ("encrypted", "kms_key_id")
    # a key changed for another key is not "removed"
    other = edited(
        real(efs), ["update"], after={"kms_key_id": "arn:aws:kms:eu-west-1:111111111111:key/other"}
    )
    assert "encryption-removed" not in rules_of(plan_of(other), efs)


def test_bucket_encryption_removed_only_while_the_bucket_stays() -> None:
    kept = "aws_s3_bucket_server_side_encryption_configuration.lb_access_logs_bucket_encryption"
    deleted = edited(real(kept), ["delete"])
    deleted["change"]["after"] = None
    assert flags(plan_of(deleted))[(kept, "bucket-encryption-removed")].severity is Severity.DANGER
    gone = "aws_s3_bucket_server_side_encryption_configuration.buckets_uploads_encryption"
    assert not rules_of(read_plan(DEV_PLAN), gone)  # its bucket is deleted in the same plan


# --- warning -----------------------------------------------------------------------------------


def test_world_ingress_flags_ssh_from_anywhere_but_not_the_public_listener() -> None:
    plan = read_plan(DEV_PLAN)
    finding = flags(plan)[(OPENED_INGRESS, "world-ingress")]
    assert finding.severity is Severity.WARNING and finding.attributes == ("cidr_ipv4",)
    assert finding.detail == "tcp port 22 from 0.0.0.0/0 (public listener ports: 80)"
    # the public ALB's own rule, opened anew, is what it is for
    listener_rule = created(real(WORLD_80))
    assert "world-ingress" not in rules_of(plan_of(listener_rule), WORLD_80)
    # ...on a port no public listener serves it is not
    other_port = created(real(WORLD_80), from_port=443, to_port=443)
    assert "port 443" in flags(plan_of(other_port))[(WORLD_80, "world-ingress")].detail
    # ...nor on the listener port of another group (the group from the config's reference)
    elsewhere = created(real(WORLD_80), security_group_id=None)
    elsewhere["change"]["after_unknown"] = {"security_group_id": True}
    moved = {(WORLD_80, "security_group_id"): [f"{WEB_GROUP}.id", WEB_GROUP]}
    assert (WORLD_80, "world-ingress") in flags(plan_of(elsewhere, references=moved))
    assert (WORLD_80, "world-ingress") not in flags(plan_of(elsewhere))  # the config names the ALB's group
    # every protocol, IPv6, and an inline block of a security group
    everything = created(real(WORLD_80), ip_protocol="-1", cidr_ipv4=None, cidr_ipv6="::/0")
    assert (
        "any protocol all ports from ::/0" in flags(plan_of(everything))[(WORLD_80, "world-ingress")].detail
    )
    group = real(WEB_GROUP)
    inline = {"cidr_blocks": ["0.0.0.0/0"], "from_port": 8080, "to_port": 8080, "protocol": "tcp"}
    opened = edited(group, ["update"])
    opened["change"]["after"]["ingress"] = [*group["change"]["after"]["ingress"], inline]
    finding = flags(plan_of(opened))[(WEB_GROUP, "world-ingress")]
    assert finding.attributes[0].startswith("ingress[") and "port 8080" in finding.detail


def _role_policy(
    statements: list[dict[str, Any]], address: str = "aws_iam_role_policy.access_operator_policy"
):
    found = real(address)
    document = json.loads(found["change"]["after"]["policy"])
    document["Statement"] = [*document["Statement"], *statements]
    return address, edited(found, ["update"], after={"policy": json.dumps(document)})


def test_policy_wildcard_action_when_a_policy_gains_star_or_a_whole_service() -> None:
    address, change = _role_policy([{"Effect": "Allow", "Action": ["s3:*"], "Resource": "arn:aws:s3:::x/*"}])
    finding = flags(plan_of(change))[(address, "policy-wildcard-action")]
    assert finding.detail == "policy: s3:*" and finding.attributes == ("policy",)
    # a Deny of everything is no grant
    address, denied = _role_policy([{"Effect": "Deny", "Action": "*", "Resource": "*"}])
    assert not rules_of(plan_of(denied), address)
    # the real plan's policy updates take grants away: nothing gained
    assert not rules_of(read_plan(DEV_PLAN), "aws_iam_role_policy.services_api_task_role_uses_policy")


def test_policy_wildcard_resource_when_actions_are_granted_on_every_resource() -> None:
    address, change = _role_policy([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}])
    assert flags(plan_of(change))[(address, "policy-wildcard-resource")].detail == "policy: iam:PassRole"
    # a key policy's Resource "*" is the key itself
    key = real("aws_kms_key.key_key")
    document = json.loads(key["change"]["after"]["policy"])
    document["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    changed = edited(key, ["update"], after={"policy": json.dumps(document)})
    assert "policy-wildcard-resource" not in rules_of(plan_of(changed), "aws_kms_key.key_key")


def test_policy_new_principal_on_a_trust_policy_and_everyone_on_a_new_one() -> None:
    role = "aws_iam_role.access_admin_role"
    found = real(role)
    trust = json.loads(found["change"]["after"]["assume_role_policy"])
    trust["Statement"][0]["Principal"] = {
        "AWS": ["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"]
    }
    changed = edited(found, ["update"], after={"assume_role_policy": json.dumps(trust)})
    finding = flags(plan_of(changed))[(role, "policy-new-principal")]
    assert finding.detail == "assume_role_policy: AWS:arn:aws:iam::222222222222:root"
    # a new role trusting whom it was made for is its purpose, not news
    assert "policy-new-principal" not in rules_of(plan_of(created(found)), role)
    trust["Statement"][0]["Principal"] = "*"
    anyone = created(found, assume_role_policy=json.dumps(trust))
    assert flags(plan_of(anyone))[(role, "policy-new-principal")].detail == "assume_role_policy: *"


def test_public_access_loosened_on_a_flag_or_a_delete_while_the_bucket_stays() -> None:
    block = "aws_s3_bucket_public_access_block.lb_access_logs_bucket_public_access"
    loosened = edited(real(block), ["update"], after={"block_public_policy": False})
    assert flags(plan_of(loosened))[(block, "public-access-loosened")].attributes == ("block_public_policy",)
    deleted = edited(real(block), ["delete"])
    deleted["change"]["after"] = None
    assert (block, "public-access-loosened") in flags(plan_of(deleted))
    gone = "aws_s3_bucket_public_access_block.buckets_uploads_public_access"
    assert not rules_of(read_plan(DEV_PLAN), gone)  # with its bucket


def test_retention_shortened_on_log_groups_and_lifecycle_expirations() -> None:
    shorter = edited(real(FLOW_LOGS), ["update"], after={"retention_in_days": 7})
    finding = flags(plan_of(shorter))[(FLOW_LOGS, "retention-shortened")]
    assert finding.detail == "retention_in_days: 30 -> 7"
    longer = edited(real(FLOW_LOGS), ["update"], after={"retention_in_days": 90})
    assert not rules_of(plan_of(longer), FLOW_LOGS)
    forever = edited(real(FLOW_LOGS), ["update"], before={"retention_in_days": 0})
    assert "never expires" in flags(plan_of(forever))[(FLOW_LOGS, "retention-shortened")].detail
    lifecycle = "aws_s3_bucket_lifecycle_configuration.lb_access_logs_bucket_lifecycle"
    expiring = edited(real(lifecycle), ["update"], after={"rule[0].expiration[0].days": 30})
    assert flags(plan_of(expiring))[(lifecycle, "retention-shortened")].attributes == (
        "rule[0].expiration[0].days",
    )


def test_scaled_to_zero_flags_the_billing_service_of_the_real_plan() -> None:
    finding = flags(read_plan(DEV_PLAN))[(BILLING, "scaled-to-zero")]
    assert finding.severity is Severity.WARNING and finding.detail == "desired_count: 1 -> 0"
    assert not rules_of(read_plan(DEV_PLAN), "aws_ecs_service.services_api_service")


def test_database_restart_on_an_instance_class_or_engine_version_update() -> None:
    base = edited(real(DATABASE), ["update"])
    base["change"]["after"] = json.loads(json.dumps(base["change"]["before"]))
    base["change"]["after_unknown"] = {}
    base["change"].pop("replace_paths", None)
    bigger = edited(base, after={"instance_class": "db.t4g.large", "engine_version": "17"})
    finding = flags(plan_of(bigger))[(DATABASE, "database-restart")]
    assert finding.attributes == ("instance_class", "engine_version")
    assert "db.t4g.medium -> db.t4g.large" in finding.detail
    # the real plan replaces it: that is a danger of its own, not a restart
    assert "database-restart" not in rules_of(read_plan(DEV_PLAN), DATABASE)


def test_database_member_replaced_for_an_aurora_instance() -> None:
    # dev has no Aurora; the real database replacement stands in, retyped as a cluster member
    member = edited(
        real(DATABASE), type="aws_rds_cluster_instance", address="aws_rds_cluster_instance.database_a"
    )
    finding = flags(plan_of(member))[("aws_rds_cluster_instance.database_a", "database-member-replaced")]
    assert finding.severity is Severity.WARNING and finding.forced_by == ("engine",)
    assert "deletes-data" not in rules_of(plan_of(member), "aws_rds_cluster_instance.database_a")


def test_tag_only_updates_are_counted_not_flagged() -> None:
    tagged = edited(real(FLOW_LOGS), ["update"], after={"tags": {"Team": "x"}, "tags_all": {"Team": "x"}})
    result = review(plan_of(tagged))
    assert result.findings == ()
    assert [(u.address, u.tags_only) for u in result.unflagged] == [(FLOW_LOGS, True)]
    assert result.tags_only == 1
