"""Tier 4: the synthesized stacks applied against a moto server, re-planned, and destroyed.

bootstrap, dev (plain HTTP) and prod (production's HTTPS path: certificate, validation record,
listeners, alias records; NLB; interface endpoints) each get their own moto server. The harness is
synth_tests/verification/emulator.py; what moto cannot do is listed, with reasons, in
synth_tests/verification/emulator_profile.toml. The unit tests at the bottom need neither moto nor
terraform.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from emulator import (
    BACKEND_CONFIG_FILE,
    DEAD_PROXY,
    ENDPOINT_SERVICES,
    LIFT_OVERRIDE_FILE,
    OVERRIDE_FILE,
    PROFILE_PATH,
    PROTECTION_ATTRIBUTES,
    Change,
    EmulatorStack,
    MotoServer,
    Profile,
    ProfileError,
    bucket_policy_suspended,
    create_hosted_zone,
    empty_versioned_bucket,
    generated_addresses,
    lifted_attributes,
    load_profile,
    moto_server,
    parse_plan_changes,
    parse_profile,
    protection_lift_override,
    provider_aliases,
    provider_override,
    replace_in_strings,
    s3_backend_emulator_config,
    strip_excluded,
    unexpected_changes,
    variable_values,
)

emulator = pytest.mark.emulator


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


def stack_json(out: Path, name: str) -> dict[str, Any]:
    return json.loads((out / "stacks" / name / "cdk.tf.json").read_text())


def assert_replans_clean(stack: EmulatorStack) -> None:
    replan = stack.replan()
    assert replan.exit_code in (0, 2)
    assert replan.clean, (
        f"{stack.name}: re-plan after apply is not clean (exit {replan.exit_code}); changes not in "
        f"emulator_profile.toml [[allow_diff]]:\n  " + "\n  ".join(str(c) for c in replan.unexpected)
    )


# ---------------------------------------------------------------------------------------------
# bootstrap: apply, re-plan, the dev stack's S3 backend against it, lift protections, destroy
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def bootstrap(
    fresh_synth: Path, terraform_cli_config: Path, profile: Profile, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorStack]:
    """The bootstrap stack applied, as generated, to its own moto server (stopped afterwards)."""
    tmp = tmp_path_factory.mktemp("emulator-bootstrap")
    with moto_server(tmp / "logs") as server:
        stack = EmulatorStack(
            fresh_synth / "stacks" / "bootstrap", tmp / "stacks", terraform_cli_config, server, profile
        )
        stack.init()
        stack.apply()
        yield stack


@emulator
class TestBootstrapStack:
    """In order: the last test destroys what the first applied."""

    def test_applies_everything_and_replans_clean(self, bootstrap: EmulatorStack, fresh_synth: Path) -> None:
        generated = generated_addresses(stack_json(fresh_synth, "bootstrap"))
        assert sorted(bootstrap.state_addresses()) == sorted(set(generated) - set(bootstrap.removed))
        assert_replans_clean(bootstrap)

    def test_dev_stack_s3_backend_writes_state_and_locks(
        self,
        bootstrap: EmulatorStack,
        fresh_synth: Path,
        terraform_cli_config: Path,
        profile: Profile,
        tmp_path: Path,
    ) -> None:
        server = bootstrap.server
        outputs = json.loads(bootstrap.run("output", "-json").stdout)
        backend = stack_json(fresh_synth, "dev")["terraform"]["backend"]["s3"]
        # the environment stacks' backend names what bootstrap created
        assert backend["bucket"] == outputs["state_bucket"]["value"]
        assert backend["dynamodb_table"] == outputs["lock_table"]["value"]
        bucket, key, table = backend["bucket"], backend["key"], backend["dynamodb_table"]
        assert key == "dev/terraform.tfstate"

        dev = EmulatorStack(
            fresh_synth / "stacks" / "dev",
            tmp_path,
            terraform_cli_config,
            server,
            profile,
            local_backend=False,
        )
        (dev.workdir / BACKEND_CONFIG_FILE).write_text(s3_backend_emulator_config(server.url))
        s3, dynamodb = server.boto3_client("s3"), server.boto3_client("dynamodb")
        lock_id = f"{bucket}/{key}"

        with bucket_policy_suspended(server, bucket, profile):
            try:
                dev.init(f"-backend-config={BACKEND_CONFIG_FILE}")

                # someone else holds the lock: terraform must look in the table and refuse to go on
                held = {
                    "ID": "emulator-test",
                    "Operation": "OperationTypeApply",
                    "Who": "pytest",
                    "Path": lock_id,
                }
                dynamodb.put_item(
                    TableName=table, Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(held)}}
                )
                blocked = dev.tf.run("plan", "-lock-timeout=0s", "-input=false", "-no-color")
                assert blocked.returncode == 1 and "Error acquiring the state lock" in blocked.stderr, (
                    blocked.stderr
                )
                assert "emulator-test" in blocked.stderr
                dynamodb.delete_item(TableName=table, Key={"LockID": {"S": lock_id}})

                # a state written through the backend: locked, stored encrypted, digest kept, unlocked
                probe = {
                    "version": 4,
                    "terraform_version": dev.terraform_version(),
                    "serial": 1,
                    "lineage": "00000000-0000-0000-0000-000000000000",  # the backend assigns its own
                    "outputs": {"probe": {"value": "written through the s3 backend", "type": "string"}},
                    "resources": [],
                }
                (dev.workdir / "probe.tfstate").write_text(json.dumps(probe))
                dev.run("state", "push", "probe.tfstate")

                head = s3.head_object(Bucket=bucket, Key=key)
                assert head["ServerSideEncryption"] == "aws:kms"
                assert head["SSEKMSKeyId"] == backend["kms_key_id"]
                digest = dynamodb.get_item(TableName=table, Key={"LockID": {"S": f"{lock_id}-md5"}}).get(
                    "Item"
                )
                assert digest is not None, "no state digest in the lock table: DynamoDB was not used"
                assert digest["Digest"]["S"] == head["ETag"].strip('"')
                assert "Item" not in dynamodb.get_item(TableName=table, Key={"LockID": {"S": lock_id}}), (
                    "lock kept"
                )
                # read back through the backend, which checks the digest
                pulled = json.loads(dev.run("state", "pull").stdout)
                assert pulled["outputs"]["probe"]["value"] == "written through the s3 backend"
            finally:
                # versioned, no force_destroy: empty it so the bootstrap destroy can delete it
                empty_versioned_bucket(server, bucket)

    def test_lifting_protections_is_an_in_place_update_then_destroys(self, bootstrap: EmulatorStack) -> None:
        blocked = bootstrap.tf.run("plan", "-destroy", "-input=false", "-no-color")
        assert blocked.returncode == 1 and "prevent_destroy" in blocked.stderr, "state bucket not protected"

        lift = bootstrap.lift_protections()
        assert lift, "bootstrap has prevent_destroy and deletion protection to lift"
        expected = lifted_attributes(lift)
        # nothing else may change: this also proves the backend test left the bucket policy as it was
        changes = bootstrap.plan_changes(plan_file="lift.tfplan")
        assert {c.address: c.attributes for c in changes} == expected
        assert all(c.actions == ("update",) for c in changes), [str(c) for c in changes]
        bootstrap.run("apply", "-input=false", "lift.tfplan")

        bootstrap.destroy()
        assert bootstrap.state_addresses() == []


# ---------------------------------------------------------------------------------------------
# dev: apply, re-plan, destroy
# ---------------------------------------------------------------------------------------------


@emulator
def test_dev_stack_applies_replans_clean_and_destroys(
    fresh_synth: Path, terraform_cli_config: Path, profile: Profile, tmp_path: Path
) -> None:
    with moto_server(tmp_path / "logs") as server:
        stack = EmulatorStack(
            fresh_synth / "stacks" / "dev", tmp_path / "stacks", terraform_cli_config, server, profile
        )
        stack.init()
        stack.apply()
        generated = generated_addresses(stack_json(fresh_synth, "dev"))
        assert sorted(stack.state_addresses()) == sorted(set(generated) - set(stack.removed))
        assert_replans_clean(stack)
        stack.destroy()
        assert stack.state_addresses() == []


# ---------------------------------------------------------------------------------------------
# prod: production's HTTPS path applied, re-planned, protections planned off, destroyed
# ---------------------------------------------------------------------------------------------

PRODUCTION = "prod"


@dataclass(frozen=True)
class Applied:
    stack: EmulatorStack
    env: Any  # modules.config.Environment of prod, as committed
    zone_id: str  # the hosted zone moto made for the domain


@pytest.fixture(scope="class")
def prod(
    fresh_synth: Path,
    terraform_cli_config: Path,
    profile: Profile,
    committed_platform: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Applied]:
    """The prod stack applied to its own moto server, its hosted zone made in moto first.

    Why prod's zone id is rewritten in the scratch copy rather than prod synthesized from a config
    naming moto's zone: moto chooses the id itself, 22 random upper-case letters and digits rather
    than AWS's Z-prefixed form, and the config schema rightly refuses such an id, so no config can
    name it. The configured id (prod.toml's `hosted_zone_id`) is a distinctive string the generator
    writes only where the zone is meant; replacing that one value leaves everything else applied as
    the session's synth wrote it, and costs no second synth.
    """
    env = committed_platform.environment(PRODUCTION)
    domain = env.config.domain
    assert domain is not None and domain.hosted_zone_id is not None, "prod: DNS-validated HTTPS"
    tmp = tmp_path_factory.mktemp("emulator-prod")
    with moto_server(tmp / "logs") as server:
        zone_id = create_hosted_zone(server, domain.name)
        stack = EmulatorStack(
            fresh_synth / "stacks" / PRODUCTION,
            tmp / "stacks",
            terraform_cli_config,
            server,
            profile,
            substitutions={domain.hosted_zone_id: zone_id},
        )
        stack.init()
        applied = stack.apply()
        (tmp / "apply.log").write_text(applied.stdout)
        yield Applied(stack, env, zone_id)


def public_alb(server: MotoServer) -> dict[str, Any]:
    """The one internet-facing application load balancer (moto leaves Scheme out for those)."""
    (alb,) = [
        lb
        for lb in server.boto3_client("elbv2").describe_load_balancers()["LoadBalancers"]
        if lb["Type"] == "application" and lb.get("Scheme", "internet-facing") == "internet-facing"
    ]
    return alb


def listeners(server: MotoServer, lb_arn: str) -> dict[int, dict[str, Any]]:
    """{port: listener} of a load balancer."""
    found = server.boto3_client("elbv2").describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    return {x["Port"]: x for x in found}


def record_sets(server: MotoServer, zone_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """{(name without the final dot, type): record set} of a moto hosted zone."""
    sets = server.boto3_client("route53").list_resource_record_sets(HostedZoneId=zone_id)
    return {(r["Name"].rstrip("."), r["Type"]): r for r in sets["ResourceRecordSets"]}


@emulator
class TestProdStack:
    """In order: the last test destroys what the fixture applied."""

    def test_applies_everything_with_the_zone_moto_made(self, prod: Applied, fresh_synth: Path) -> None:
        stack = prod.stack
        generated = generated_addresses(stack_json(fresh_synth, PRODUCTION))
        assert sorted(stack.state_addresses()) == sorted(set(generated) - set(stack.removed))
        configured = prod.env.config.domain.hosted_zone_id
        assert stack.substituted[configured] > 0
        assert configured not in json.dumps(stack.config)
        records = stack.config["resource"]["aws_route53_record"]
        assert records and all(r["zone_id"] == prod.zone_id for r in records.values())
        assert not any(a.startswith("aws_route53_record.") for a in stack.removed)
        assert not any(a.startswith(("aws_acm_", "aws_lb")) for a in stack.removed)

    def test_certificate_is_issued_and_validated_through_its_record(self, prod: Applied) -> None:
        """moto issues the certificate ACM_VALIDATION_WAIT_SECONDS after the request without looking at
        DNS, so what proves the validation wiring is here: the record ACM asks for is in the zone."""
        server, domain = prod.stack.server, prod.env.config.domain
        acm = server.boto3_client("acm")
        (summary,) = acm.list_certificates()["CertificateSummaryList"]
        cert = acm.describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
        assert cert["Status"] == "ISSUED" and cert["Type"] == "AMAZON_ISSUED"
        assert cert["DomainName"] == domain.name
        assert set(cert["SubjectAlternativeNames"]) >= {domain.name, f"*.{domain.name}"}
        records = record_sets(server, prod.zone_id)
        options = cert["DomainValidationOptions"]
        assert {o["ValidationMethod"] for o in options} == {"DNS"}
        for option in options:
            wanted = option["ResourceRecord"]
            found = records.get((wanted["Name"].rstrip("."), wanted["Type"]))
            assert found is not None, f"no validation record {wanted['Name']} in the zone"
            assert [r["Value"] for r in found["ResourceRecords"]] == [wanted["Value"]]
        assert cert["CertificateArn"] in {
            c["CertificateArn"]
            for c in listeners(server, public_alb(server)["LoadBalancerArn"])[443]["Certificates"]
        }, "the HTTPS listener serves the validated certificate"

    def test_https_listener_rules_redirect_and_alias_records(self, prod: Applied) -> None:
        server, env = prod.stack.server, prod.env
        elbv2 = server.boto3_client("elbv2")
        alb = public_alb(server)
        on = listeners(server, alb["LoadBalancerArn"])
        assert sorted(on) == [80, 443]
        https, http = on[443], on[80]
        generated = prod.stack.config["resource"]["aws_lb_listener"].values()
        assert https["Protocol"] == "HTTPS"
        assert {https["SslPolicy"]} == {x["ssl_policy"] for x in generated if x.get("protocol") == "HTTPS"}
        (redirect,) = http["DefaultActions"]
        assert redirect["Type"] == "redirect"
        assert {k: redirect["RedirectConfig"][k] for k in ("Protocol", "Port", "StatusCode")} == {
            "Protocol": "HTTPS",
            "Port": "443",
            "StatusCode": "HTTP_301",
        }

        public = [s for s in env.services if s.public and s.protocol == "http"]
        rules = [
            r for r in elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"] if not r["IsDefault"]
        ]
        hosts_by_rule = sorted(
            sorted(
                v
                for c in r["Conditions"]
                if c["Field"] == "host-header"
                for v in c["HostHeaderConfig"]["Values"]
            )
            for r in rules
        )
        assert hosts_by_rule == sorted(sorted(s.hosts) for s in public)
        assert all(a["Type"] == "forward" for r in rules for a in r["Actions"])

        records = record_sets(server, prod.zone_id)
        for host in sorted({h for s in public for h in s.hosts}):
            alias = records[(host, "A")].get("AliasTarget")
            assert alias is not None, f"{host}: not an alias record"
            assert alias["DNSName"].rstrip(".").lower() == alb["DNSName"].lower(), host
            assert alias["HostedZoneId"] == alb["CanonicalHostedZoneId"], host

    def test_internal_tcp_services_listen_on_the_internal_nlb(self, prod: Applied) -> None:
        elbv2 = prod.stack.server.boto3_client("elbv2")
        tcp = {s.port for s in prod.env.services if not s.public and s.protocol == "tcp"}
        assert tcp, "prod has an internal TCP service"
        internal = [
            lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb.get("Scheme") == "internal"
        ]
        ports = {
            x["Port"]: x["Protocol"]
            for lb in internal
            for x in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        }
        assert {p: ports.get(p) for p in tcp} == {p: "TCP" for p in tcp}

    def test_replans_clean(self, prod: Applied) -> None:
        assert_replans_clean(prod.stack)

    def test_lifting_protections_is_planned_in_place_then_destroys(self, prod: Applied) -> None:
        """The lift is planned, not applied: moto 5.2.5 DeleteLoadBalancer ignores deletion protection,
        and applying the lift would wait ~45 s more (the provider waits 30 s for every modified load
        balancer). The bootstrap test applies its lift."""
        stack = prod.stack
        lift = stack.lift_protections()
        expected = lifted_attributes(lift)
        assert expected, "prod's load balancers have deletion protection to lift"
        # against the applied state: test_replans_clean has just compared every resource with moto
        changes = stack.plan_changes("lift.tfplan", "-refresh=false")
        # beside moto's allowlisted diffs, exactly the lifted arguments change, in place
        lifted = unexpected_changes(changes, stack.profile)
        assert {c.address: c.attributes for c in lifted} == expected
        assert all(c.actions == ("update",) for c in lifted), [str(c) for c in lifted]

        # nothing has touched moto since the apply but the re-plan, which read every resource back
        stack.destroy("-refresh=false")
        assert stack.state_addresses() == []
        left = record_sets(stack.server, prod.zone_id)
        assert sorted(t for _, t in left) == ["NS", "SOA"], "every record the stack made is gone"


@emulator
def test_profile_entries_match_the_generated_stacks(fresh_synth: Path, profile: Profile) -> None:
    """A "needed" exclusion must still match something; a "known-gap" one must not match yet."""
    addresses = [
        a
        for d in sorted((fresh_synth / "stacks").iterdir())
        for a in generated_addresses(stack_json(fresh_synth, d.name))
    ]
    for exclusion in profile.exclusions:
        hits = [a for a in addresses if exclusion.matches(a)]
        if exclusion.status == "needed":
            assert hits, f"{exclusion.label}: no generated stack has it any more; delete the entry"
        else:
            assert not hits, (
                f"{exclusion.label}: now generated ({hits[0]}); re-check against moto, promote or delete"
            )


# ---------------------------------------------------------------------------------------------
# Unit: the profile, the scratch-copy edits and the plan reading (no moto, no terraform)
# ---------------------------------------------------------------------------------------------


def test_the_committed_profile_loads_and_every_entry_has_a_reason() -> None:
    loaded = load_profile(PROFILE_PATH)
    assert loaded.exclusions, "the known gaps from DESIGN.md are listed"
    assert all(e.reason.strip() and e.status in ("needed", "known-gap") for e in loaded.exclusions)
    assert all(a.reason.strip() for a in loaded.allowed_diffs + loaded.object_io_suspensions)
    assert loaded.excluded("aws_appautoscaling_target.service-web") is not None


def test_profile_problems_are_all_reported_at_once() -> None:
    with pytest.raises(ProfileError) as error:
        parse_profile(
            {
                "exclude": [
                    {"type": "aws_x", "status": "needed"},
                    {"type": "aws_y", "address": "aws_y.a", "status": "maybe", "reason": "r"},
                    {"type": "not_a_type", "status": "needed", "reason": "r", "why": "typo"},
                ],
                "allow_diff": [
                    {"type": "aws_z", "attribute": "tags", "reason": " "},
                    {"type": "aws_z", "attribute": "id", "reason": "r", "forces_replacement": "yes"},
                ],
                "suspend_for_object_io": [{"type": "aws_kms_key", "reason": "r"}],
                "exlcude": [],
            }
        )
    lines = str(error.value).splitlines()
    assert "emulator_profile.toml: unknown table 'exlcude'" in lines
    assert "emulator_profile.toml: exclude[0]: missing 'reason'" in lines
    assert "emulator_profile.toml: exclude[1]: needs exactly one of 'type' or 'address'" in lines
    assert "emulator_profile.toml: exclude[1]: status must be one of needed, known-gap" in lines
    assert "emulator_profile.toml: exclude[2]: unknown key 'why'" in lines
    assert "emulator_profile.toml: exclude[2]: 'not_a_type' is not an aws_* resource type" in lines
    assert "emulator_profile.toml: allow_diff[0]: 'reason' must be a non-empty string" in lines
    assert "emulator_profile.toml: allow_diff[1]: 'forces_replacement' must be true or false" in lines
    assert (
        "emulator_profile.toml: suspend_for_object_io[0]: the harness can only suspend aws_s3_bucket_policy"
        in lines
    )


def test_duplicate_profile_entries_are_rejected() -> None:
    entry = {"type": "aws_x", "status": "known-gap", "reason": "r"}
    with pytest.raises(ProfileError, match="'aws_x' is listed twice"):
        parse_profile({"exclude": [entry, dict(entry)]})


STACK = {
    "resource": {
        "aws_appautoscaling_target": {"web": {"resource_id": "service/c/web"}},
        "aws_appautoscaling_policy": {
            "web-cpu": {"resource_id": "${aws_appautoscaling_target.web.resource_id}"}
        },
        "aws_cloudwatch_metric_alarm": {
            "web-cpu": {"alarm_actions": ["${aws_appautoscaling_policy.web-cpu.arn}"]},
            "unrelated": {"alarm_name": "x"},
        },
        "aws_ecs_service": {"web": {"name": "web"}},
        "aws_sns_topic": {"after": {"depends_on": ["aws_appautoscaling_target.web"]}},
    },
    "output": {
        "policy": {"value": "${aws_appautoscaling_policy.web-cpu.arn}"},
        "service": {"value": "${aws_ecs_service.web.name}"},
    },
}
PROFILE = parse_profile(
    {
        "exclude": [
            {"type": "aws_appautoscaling_target", "status": "known-gap", "reason": "hangs"},
            {"address": "aws_ecs_service.nothing", "status": "needed", "reason": "r"},
        ]
    }
)


def test_strip_excluded_removes_exclusions_and_everything_referring_to_them() -> None:
    stripped, removed = strip_excluded(STACK, PROFILE)
    assert removed == {
        "aws_appautoscaling_target.web": "excluded: hangs",
        "aws_appautoscaling_policy.web-cpu": "references aws_appautoscaling_target.web",
        "aws_sns_topic.after": "references aws_appautoscaling_target.web",
        "aws_cloudwatch_metric_alarm.web-cpu": "references aws_appautoscaling_policy.web-cpu",
        "output.policy": "references aws_appautoscaling_policy.web-cpu",
    }
    assert stripped["resource"] == {
        "aws_cloudwatch_metric_alarm": {"unrelated": {"alarm_name": "x"}},
        "aws_ecs_service": {"web": {"name": "web"}},
    }
    assert list(stripped["output"]) == ["service"]
    assert "aws_appautoscaling_target" in STACK["resource"], "the input is not modified"


def test_strip_excluded_matches_by_address_and_leaves_the_rest_alone() -> None:
    by_address = parse_profile(
        {"exclude": [{"address": "aws_ecs_service.web", "status": "needed", "reason": "r"}]}
    )
    stripped, removed = strip_excluded(STACK, by_address)
    assert removed == {
        "aws_ecs_service.web": "excluded: r",
        "output.service": "references aws_ecs_service.web",
    }
    assert stripped["resource"]["aws_appautoscaling_target"] == STACK["resource"]["aws_appautoscaling_target"]
    assert strip_excluded(STACK, Profile()) == (STACK, {})


def test_provider_override_points_every_endpoint_at_the_emulator_and_keeps_the_account_guard() -> None:
    override = provider_override("http://127.0.0.1:4566")
    (aws,) = override["provider"]["aws"]
    assert aws["endpoints"] == [{s: "http://127.0.0.1:4566" for s in ENDPOINT_SERVICES}]
    assert {"dynamodb", "ec2", "iam", "kms", "logs", "s3", "sts"} <= set(ENDPOINT_SERVICES)
    assert aws["skip_credentials_validation"] is True and aws["skip_metadata_api_check"] is True
    assert aws["s3_use_path_style"] is True
    # sts must answer so the generated allowed_account_ids is checked; neither is overridden
    assert "skip_requesting_account_id" not in aws and "allowed_account_ids" not in aws
    assert "region" not in aws and "default_tags" not in aws
    assert aws["https_proxy"] == DEAD_PROXY and aws["no_proxy"] == "127.0.0.1"
    assert override["terraform"] == {"backend": {"local": {"path": "terraform.tfstate"}}}
    assert "terraform" not in provider_override("http://127.0.0.1:4566", local_backend=False)
    assert OVERRIDE_FILE.endswith("_override.tf.json") and LIFT_OVERRIDE_FILE.endswith("_override.tf.json")


def test_provider_override_covers_every_aliased_provider_block() -> None:
    stack = {"provider": {"aws": [{"region": "eu-west-1"}, {"alias": "us-east-1", "region": "us-east-1"}]}}
    assert provider_aliases(stack) == (None, "us-east-1")
    assert provider_aliases({}) == (None,)
    blocks = provider_override("http://127.0.0.1:1", aliases=provider_aliases(stack))["provider"]["aws"]
    assert [b.get("alias") for b in blocks] == [None, "us-east-1"]
    assert all(b["endpoints"] == blocks[0]["endpoints"] and "region" not in b for b in blocks)


def test_s3_backend_config_only_adds_connection_settings() -> None:
    text = s3_backend_emulator_config("http://127.0.0.1:4566")
    assert 'endpoints = { s3 = "http://127.0.0.1:4566", dynamodb = "http://127.0.0.1:4566"' in text
    assert "use_path_style = true" in text and "skip_requesting_account_id = true" in text
    settings = {line.split("=", 1)[0].strip() for line in text.splitlines()}
    assert not settings & {"bucket", "key", "region", "encrypt", "kms_key_id", "dynamodb_table"}


def test_protection_lift_override_names_only_protected_resources() -> None:
    stack = {
        "resource": {
            "aws_s3_bucket": {
                "state": {"bucket": "b", "lifecycle": {"prevent_destroy": True}},
                "logs": {"bucket": "l"},
            },
            "aws_dynamodb_table": {"lock": {"deletion_protection_enabled": True}},
            "aws_db_instance": {"db": {"deletion_protection": False}},
            "aws_lb": {"alb": {"enable_deletion_protection": True}},
        }
    }
    assert protection_lift_override(stack) == {
        "resource": {
            "aws_s3_bucket": {"state": {"lifecycle": {"prevent_destroy": False}}},
            "aws_dynamodb_table": {"lock": {"deletion_protection_enabled": False}},
            "aws_lb": {"alb": {"enable_deletion_protection": False}},
        }
    }
    assert protection_lift_override({"resource": {"aws_vpc": {"v": {}}}}) == {}


def test_lifted_attributes_are_the_deletion_protection_arguments_only() -> None:
    override = {
        "resource": {
            "aws_s3_bucket": {"state": {"lifecycle": {"prevent_destroy": False}}},
            "aws_lb": {"alb": {"enable_deletion_protection": False}},
            "aws_dynamodb_table": {
                "lock": {"deletion_protection_enabled": False, "lifecycle": {"prevent_destroy": False}}
            },
        }
    }
    assert lifted_attributes(override) == {
        "aws_lb.alb": ("enable_deletion_protection",),
        "aws_dynamodb_table.lock": ("deletion_protection_enabled",),
    }
    assert set(PROTECTION_ATTRIBUTES) >= {"enable_deletion_protection", "deletion_protection_enabled"}
    assert lifted_attributes({}) == {}


def test_replace_in_strings_rewrites_values_not_keys_and_counts() -> None:
    zone = "Z0PROD000000EXAMPLE"
    stack = {
        "resource": {
            "aws_route53_record": {
                "alias": {"zone_id": zone, "alias": [{"zone_id": "${aws_lb.alb.zone_id}"}]},
                "validation": {"zone_id": zone, "ttl": 60, "allow_overwrite": True},
            },
            "aws_iam_policy": {zone: {"policy": f"arn:aws:route53:::hostedzone/{zone}"}},
        }
    }
    replaced, count = replace_in_strings(stack, zone, "MOTO1")
    assert count == 3
    records = replaced["resource"]["aws_route53_record"]
    assert records["alias"] == {"zone_id": "MOTO1", "alias": [{"zone_id": "${aws_lb.alb.zone_id}"}]}
    assert records["validation"] == {"zone_id": "MOTO1", "ttl": 60, "allow_overwrite": True}
    assert replaced["resource"]["aws_iam_policy"] == {zone: {"policy": "arn:aws:route53:::hostedzone/MOTO1"}}
    assert stack["resource"]["aws_route53_record"]["alias"]["zone_id"] == zone, "the input is not modified"
    assert replace_in_strings(stack, "absent", "x") == (stack, 0)


def test_variable_values_set_a_placeholder_for_every_string_variable() -> None:
    stack = {
        "variable": {
            "stripe_value": {"type": "string", "default": "", "sensitive": True, "ephemeral": True},
            "untyped": {"default": ""},
            "count": {"type": "number", "default": 1},
        }
    }
    assert variable_values(stack) == {
        "TF_VAR_stripe_value": "emulator-stripe_value",
        "TF_VAR_untyped": "emulator-untyped",
    }
    assert variable_values({}) == {}


def plan_change(
    address: str, actions: list[str], before: Any, after: Any, unknown: Any = None, **extra: Any
) -> dict:
    change = {"actions": actions, "before": before, "after": after, "after_unknown": unknown or {}, **extra}
    return {"address": address, "type": address.split(".")[0], "change": change}


def test_plan_changes_are_read_from_show_json() -> None:
    plan = {
        "resource_changes": [
            plan_change("aws_vpc.v", ["no-op"], {"id": "v"}, {"id": "v"}),
            plan_change(
                "aws_s3_bucket.b", ["update"], {"tags": {}, "id": "b"}, {"tags": {"a": "1"}, "id": "b"}
            ),
            # nested after_unknown shapes without a `true` leaf are not unknowns
            plan_change("aws_kms_key.k", ["update"], {"p": [1]}, {"p": [1]}, {"arn": True, "p": [{}]}),
            plan_change(
                "aws_ecs_service.s",
                ["delete", "create"],
                {"id": "s", "cps": [], "exec": False, "lb": [{"a": 1}]},
                {"id": None, "cps": [{"w": 1}], "exec": True, "lb": [{"a": 1}]},
                {"id": True, "cps": [{}], "lb": [{}]},
                replace_paths=[["cps"]],
            ),
            plan_change("aws_subnet.s", ["create"], None, {"id": None}, {"id": True}),
        ],
        "output_changes": {"vpc_id": {"actions": ["no-op"]}, "arn": {"actions": ["update"]}},
    }
    assert [str(c) for c in parse_plan_changes(plan)] == [
        "update aws_s3_bucket.b [tags]",
        "update aws_kms_key.k [arn]",
        "delete/create aws_ecs_service.s [cps, exec] (forced by cps)",
        "create aws_subnet.s",
        "update output.arn",
    ]


def test_only_allowlisted_updates_and_allowlisted_replacements_are_forgiven() -> None:
    def change(
        actions: tuple[str, ...], attributes: tuple[str, ...], forced_by: tuple[str, ...] = ()
    ) -> Change:
        return Change("aws_ecs_service.s", "aws_ecs_service", actions, attributes, forced_by)

    allow = parse_profile(
        {
            "allow_diff": [
                {"type": "aws_ecs_service", "attribute": "cps", "reason": "r", "forces_replacement": True},
                {"type": "aws_ecs_service", "attribute": "exec", "reason": "r"},
            ]
        }
    )
    forgiven = [
        change(("update",), ("exec",)),
        change(("update",), ("cps", "exec")),
        change(("delete", "create"), ("cps", "exec"), ("cps",)),
        change(("create", "delete"), ("cps",), ("cps",)),
    ]
    not_forgiven = [
        change(("update",), ()),
        change(("update",), ("exec", "task_definition")),
        change(("delete", "create"), ("exec",), ("exec",)),  # exec may differ, not force a replacement
        change(("delete", "create"), ("cps", "task_definition"), ("cps",)),
        change(("delete", "create"), ("cps",), ()),
        change(("create",), ()),
        change(("delete",), ()),
        Change("output.x", "output", ("update",)),
    ]
    assert unexpected_changes(tuple(forgiven), allow) == ()
    assert unexpected_changes(tuple(not_forgiven), allow) == tuple(not_forgiven)
    assert unexpected_changes(tuple(forgiven[:1]), Profile()) == tuple(forgiven[:1])


def test_moto_server_url_is_loopback(tmp_path: Path) -> None:
    server = MotoServer(port=12345, account_id="111111111111", log_path=tmp_path / "moto.log")
    assert server.url == "http://127.0.0.1:12345"
    server.stop()  # never started: a no-op
