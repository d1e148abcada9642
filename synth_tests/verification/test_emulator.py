"""Tier 4: the synthesized stacks applied against a moto server, re-planned, and destroyed.

bootstrap, dev (plain HTTP; the data stores: a PostgreSQL instance, the cache users, the uploads
bucket, EFS with the api's access point, and no secret value in the state) and prod (production's
HTTPS path: certificate, validation record, listeners, alias records; NLB; interface endpoints;
Aurora PostgreSQL with both instances) each get their own moto server. The harness is
synth_tests/verification/emulator.py; what moto cannot do is listed, with reasons, in
synth_tests/verification/emulator_profile.toml. The unit tests at the bottom need neither moto nor
terraform.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_main, synth_config
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
    apply_rewrites,
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
    stand_in_references,
    strip_excluded,
    unexpected_changes,
    variable_values,
    write_json,
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
                # and only under the environment's own prefix, the one a cross-account grant names
                written = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
                assert written and all(k.startswith("dev/") for k in written), written
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
# dev: apply, the data stores and their wiring in moto, no secret in state, re-plan, destroy
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    stack: EmulatorStack
    env: Any  # modules.config.Environment, as committed
    zone_id: str = ""  # prod: the hosted zone moto made for the domain


@pytest.fixture(scope="class")
def dev(
    fresh_synth: Path,
    terraform_cli_config: Path,
    profile: Profile,
    committed_platform: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Applied]:
    """The dev stack applied, as generated, to its own moto server (stopped afterwards)."""
    tmp = tmp_path_factory.mktemp("emulator-dev")
    with moto_server(tmp / "logs") as server:
        stack = EmulatorStack(
            fresh_synth / "stacks" / "dev", tmp / "stacks", terraform_cli_config, server, profile
        )
        stack.init()
        applied = stack.apply()
        (tmp / "apply.log").write_text(applied.stdout)
        yield Applied(stack, committed_platform.environment("dev"))


def state_resources(stack: EmulatorStack) -> dict[str, dict[str, Any]]:
    """{address: attribute values} of every managed resource in the stack's state."""
    shown = json.loads(stack.run("show", "-json").stdout)
    return {
        r["address"]: r["values"]
        for r in shown.get("values", {}).get("root_module", {}).get("resources", [])
        if r["mode"] == "managed"
    }


def only_resource(config: dict[str, Any], rtype: str) -> tuple[str, dict[str, Any]]:
    """(address, arguments) of the one resource of a type in a stack JSON."""
    ((name, body),) = config["resource"][rtype].items()
    return f"{rtype}.{name}", body


# An attribute that would hold a secret value: a password, an AUTH token, a secret's string or
# binary, their write-only forms. Booleans and numbers beside them (manage_master_user_password,
# no_password_required, secret_string_wo_version) carry no secret and are not matched as values.
SECRET_ATTRIBUTE = re.compile(r"(password|passwords|auth_token|secret_string|secret_binary)(_wo)?$")


def secret_values(value: Any, path: str = "") -> list[str]:
    """Paths of the non-empty string values, at any depth, held by an attribute named like a secret."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            if SECRET_ATTRIBUTE.search(key) and _holds_text(item):
                found.append(here)
            found += secret_values(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += secret_values(item, f"{path}[{i}]")
    return found


def _holds_text(value: Any) -> bool:
    if isinstance(value, str):
        return value != ""
    if isinstance(value, dict):
        return any(_holds_text(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_text(v) for v in value)
    return False  # null, booleans, numbers


PLAN_FIXTURES = Path(__file__).resolve().parents[1] / "review" / "fixtures"
PLAN_FIXTURE = "dev-plan.json"
OPENED_INGRESS = "review_ssh_from_ipv4_any"


def changed_dev_config(into: Path) -> Path:
    """environments/ copied, dev.toml changed the way a risky pull request would: the database
    engine (forces a new RDS instance), the uploads bucket and the api's use of it removed, and the
    billing service scaled to zero."""
    shutil.copytree(ROOT / "environments", into)
    dev = into / "dev.toml"
    text = dev.read_text()
    for old, new in (
        ('engine = "postgres"', 'engine = "mysql"'),
        ('  "bucket:uploads:read-write",\n', ""),
        (
            '[[buckets]]\nname = "uploads"\npurpose = "uploads"\ncors_origins = ["http://localhost:3000"]\n',
            "",
        ),
        (
            'hosts = ["billing.internal"]\n',
            'hosts = ["billing.internal"]\ndesired_count = 0\nmin_count = 0\n',
        ),
    ):
        assert text.count(old) == 1, f"dev.toml no longer has {old!r}: update changed_dev_config"
        text = text.replace(old, new)
    dev.write_text(text)
    return into


def synthesize_changed(config: Path, out: Path) -> Path:
    result = run_main("synth", "--env", "dev", "--config", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@emulator
class TestDevStack:
    """In order: the last test destroys what the fixture applied."""

    def test_applies_everything_and_keeps_the_cache_users_wiring(
        self, dev: Applied, fresh_synth: Path
    ) -> None:
        stack = dev.stack
        generated = generated_addresses(stack_json(fresh_synth, "dev"))
        applied = stack.state_addresses()
        assert sorted(applied) == sorted(set(generated) - set(stack.removed))
        # the stores themselves are applied; only what moto cannot do is left out
        for prefix in (
            "aws_db_instance.",
            "aws_efs_file_system.",
            "aws_efs_access_point.",
            "aws_efs_mount_target.",
        ):
            assert any(a.startswith(prefix) for a in applied), prefix
        assert not [a for a in stack.removed if a.startswith(("aws_db_", "aws_s3_bucket.", "aws_efs_access"))]
        # the replication group's ARN and endpoint are stood in, so the api (cache, database,
        # bucket and file system user) is applied with its task definition, service and grants
        (cache, _) = only_resource(stack_json(fresh_synth, "dev"), "aws_elasticache_replication_group")
        assert {f"{cache}.arn", f"{cache}.primary_endpoint_address"} <= set(stack.stood_in)
        assert {
            "aws_ecs_task_definition.services_api_task_definition",
            "aws_ecs_service.services_api_service",
            "aws_iam_role_policy.services_api_task_role_uses_policy",
        } <= set(applied)

    def test_state_holds_no_password_token_or_secret_value(self, dev: Applied) -> None:
        stack = dev.stack
        raw = stack.run("state", "pull").stdout
        state = json.loads(raw)
        leaks = [
            f"{r['type']}.{r['name']}: {path}"
            for r in state["resources"]
            for instance in r.get("instances", [])
            for path in secret_values(instance.get("attributes", {}))
        ]
        assert leaks == [], "secret-like attributes with a value in the state"
        (database, _) = only_resource(stack.config, "aws_db_instance")
        resources = state_resources(stack)
        db = resources[database]
        assert db["manage_master_user_password"] is True
        (secret,) = db["master_user_secret"]
        assert secret["secret_arn"] and secret["kms_key_id"] == resources["aws_kms_key.key_key"]["arn"]
        # moto makes the managed master secret with a value (RDS would make a random one): it must
        # not have found its way into the state, neither whole nor its password
        value = stack.server.boto3_client("secretsmanager").get_secret_value(SecretId=secret["secret_arn"])
        secret_string = value["SecretString"]
        password = json.loads(secret_string)["password"]
        assert password and password not in raw
        assert secret_string not in raw
        # write-only inputs (TF_VAR_...) are not stored either
        for placeholder in variable_values(stack.config).values():
            assert placeholder not in raw

    def test_database_is_private_encrypted_with_iam_auth_and_a_managed_secret(self, dev: Applied) -> None:
        stack = dev.stack
        (address, body) = only_resource(stack.config, "aws_db_instance")
        state = state_resources(stack)
        key_arn = state["aws_kms_key.key_key"]["arn"]
        rds = stack.server.boto3_client("rds")
        (db,) = rds.describe_db_instances(DBInstanceIdentifier=body["identifier"])["DBInstances"]
        assert db["Engine"] == dev.env.config.database.engine == "postgres"
        assert db["IAMDatabaseAuthenticationEnabled"] is True
        assert db["StorageEncrypted"] is True and db["KmsKeyId"] == key_arn
        assert db["PubliclyAccessible"] is False
        assert db["DeletionProtection"] is False and db["MultiAZ"] is False  # development
        assert db["MasterUserSecret"]["SecretArn"] == state[address]["master_user_secret"][0]["secret_arn"]
        assert db["MasterUserSecret"]["KmsKeyId"] == key_arn
        assert (
            db["DBSubnetGroup"]["DBSubnetGroupName"]
            == state["aws_db_subnet_group.database_subnet_group"]["name"]
        )
        assert {g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]} == set(
            state[address]["vpc_security_group_ids"]
        )
        (group,) = db["DBParameterGroups"]
        params = rds.describe_db_parameters(DBParameterGroupName=group["DBParameterGroupName"])["Parameters"]
        assert {p["ParameterName"]: p.get("ParameterValue") for p in params}.get("rds.force_ssl") == "1"

    def test_topics_rules_alarms_dashboard_and_the_notifier_are_applied(self, dev: Applied) -> None:
        """What tells people about dev (modules/notifications, modules/observability), read back
        from moto: the composite alarm aside (moto has none: emulator_profile.toml)."""
        stack = dev.stack
        state = state_resources(stack)
        server = stack.server
        topics = {v["name"]: v["arn"] for a, v in state.items() if a.startswith("aws_sns_topic.")}
        assert set(topics) == {"acme-dev-alerts", "acme-dev-deployments"}
        sns = server.boto3_client("sns")
        for arn in topics.values():
            attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
            assert attributes["KmsMasterKeyId"] == state["aws_kms_key.topics_key"]["arn"]
        function = state["aws_lambda_function.discord_notifier_function"]
        subscribed = {
            (s["TopicArn"], s["Protocol"], s["Endpoint"])
            for arn in topics.values()
            for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        }
        assert subscribed == {(arn, "lambda", function["arn"]) for arn in topics.values()}

        lam = server.boto3_client("lambda")
        config = lam.get_function(FunctionName="acme-dev-discord-notifier")["Configuration"]
        assert (config["Runtime"], config["Handler"]) == ("python3.12", "notifier.handler")
        assert "VpcConfig" not in config or not config["VpcConfig"].get("SubnetIds")
        secret_arn = state["aws_secretsmanager_secret.secrets_discord"]["arn"]
        assert config["Environment"]["Variables"]["WEBHOOK_SECRET_ARN"] == secret_arn
        (_, body) = only_resource(stack.config, "aws_lambda_function")
        assert config["CodeSha256"] == body["source_code_hash"], "the committed zip is what was uploaded"

        alarms = server.boto3_client("cloudwatch").describe_alarms(AlarmNamePrefix="acme-dev-")[
            "MetricAlarms"
        ]
        generated = {
            v["alarm_name"] for v in stack.config["resource"]["aws_cloudwatch_metric_alarm"].values()
        }
        assert {a["AlarmName"] for a in alarms} == generated
        assert all(a["AlarmActions"] == [topics["acme-dev-alerts"]] == a["OKActions"] for a in alarms)
        dashboard = server.boto3_client("cloudwatch").get_dashboard(DashboardName="acme-dev")
        assert json.loads(dashboard["DashboardBody"])["widgets"]

        events = server.boto3_client("events")
        rules = {r["Name"] for r in events.list_rules(NamePrefix="acme-dev-")["Rules"]}
        assert rules == {v["name"] for v in stack.config["resource"]["aws_cloudwatch_event_rule"].values()}
        for rule in rules:
            (target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
            assert target["Arn"] in topics.values() and target["InputTransformer"]["InputTemplate"]

    def test_file_system_is_encrypted_with_a_mount_target_per_zone_and_the_api_access_point(
        self, dev: Applied
    ) -> None:
        stack = dev.stack
        state = state_resources(stack)
        efs = stack.server.boto3_client("efs")
        (address, _) = only_resource(stack.config, "aws_efs_file_system")
        (fs,) = efs.describe_file_systems(FileSystemId=state[address]["id"])["FileSystems"]
        assert fs["Encrypted"] is True and fs["KmsKeyId"] == state["aws_kms_key.key_key"]["arn"]
        targets = efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
        private = {v["id"] for a, v in state.items() if a.startswith("aws_subnet.network_private_")}
        assert sorted(t["SubnetId"] for t in targets) == sorted(private)
        (point,) = efs.describe_access_points(FileSystemId=fs["FileSystemId"])["AccessPoints"]
        (_, wanted) = only_resource(stack.config, "aws_efs_access_point")
        creation = wanted["root_directory"]["creation_info"]
        assert point["RootDirectory"] == {
            "Path": "/api",
            "CreationInfo": {
                "OwnerUid": creation["owner_uid"],
                "OwnerGid": creation["owner_gid"],
                "Permissions": creation["permissions"],
            },
        }
        assert point["PosixUser"] == {"Uid": wanted["posix_user"]["uid"], "Gid": wanted["posix_user"]["gid"]}

    def test_uploads_bucket_is_private_versioned_and_encrypted_with_the_key(self, dev: Applied) -> None:
        stack = dev.stack
        state = state_resources(stack)
        bucket = state["aws_s3_bucket.buckets_uploads_bucket"]["bucket"]
        s3 = stack.server.boto3_client("s3")
        (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": state["aws_kms_key.key_key"]["arn"],
        }
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
        (cors,) = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        assert cors["AllowedOrigins"] == ["http://localhost:3000"]
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        assert "DenyInsecureTransport" in {st.get("Sid") for st in policy["Statement"]}

    def test_api_task_definition_reads_the_stores_it_uses(self, dev: Applied) -> None:
        """The wiring as ECS has it: the master secret's keys as secrets, the file system through the
        api's access point with TLS and IAM, the stores' settings (the cache's stood in) as variables."""
        stack = dev.stack
        state = state_resources(stack)
        arn = state["aws_ecs_task_definition.services_api_task_definition"]["arn"]
        task = stack.server.boto3_client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
        (container,) = task["containerDefinitions"]
        secret_arn = state["aws_db_instance.database_instance"]["master_user_secret"][0]["secret_arn"]
        secrets = {x["name"]: x["valueFrom"] for x in container["secrets"]}
        assert secrets["DATABASE_USER"] == f"{secret_arn}:username::"
        assert secrets["DATABASE_PASSWORD"] == f"{secret_arn}:password::"
        variables = {x["name"]: x["value"] for x in container["environment"]}
        assert variables["DATABASE_HOST"] == state["aws_db_instance.database_instance"]["address"]
        assert variables["BUCKET_UPLOADS"] == state["aws_s3_bucket.buckets_uploads_bucket"]["bucket"]
        assert variables["CACHE_HOST"].endswith(".emulator.invalid")  # the stand-in
        assert variables["FILESYSTEM_SHARED_PATH"] == "/mnt/shared"
        (volume,) = [v for v in task["volumes"] if "efsVolumeConfiguration" in v]
        efs = volume["efsVolumeConfiguration"]
        assert efs["fileSystemId"] == state["aws_efs_file_system.filesystems_shared_file_system"]["id"]
        assert efs["transitEncryption"] == "ENABLED"
        assert efs["authorizationConfig"] == {
            "accessPointId": state["aws_efs_access_point.filesystems_shared_access_point_api"]["id"],
            "iam": "ENABLED",
        }
        assert {
            "containerPath": "/mnt/shared",
            "readOnly": False,
            "sourceVolume": volume["name"],
        } in container["mountPoints"]

    def test_cache_users_use_iam_and_the_default_user_is_off(self, dev: Applied) -> None:
        stack = dev.stack
        users = {u["UserId"]: u for u in stack.server.boto3_client("elasticache").describe_users()["Users"]}
        for body in stack.config["resource"]["aws_elasticache_user"].values():
            user = users[body["user_id"]]
            assert user["UserName"] == body["user_name"]
            assert user["AccessString"] == body["access_string"]
            if body["user_name"] == "default":
                assert body["access_string"].startswith("off ")
            else:
                assert user["UserId"] == user["UserName"], "IAM authentication needs user_id == user_name"
                assert user["Authentication"]["Type"] == "iam"

    def test_reviews_a_changed_config_planned_against_the_applied_state(
        self, dev: Applied, terraform_cli_config: Path, profile: Profile, tmp_path: Path
    ) -> None:
        """A changed dev config (database engine, no uploads bucket, billing scaled to zero, SSH open
        to the world) synthesized, prepared like the applied stack, planned against the applied state
        and reviewed by `main.py review`. UPDATE_PLAN_FIXTURES=1 keeps the plan as the unit tier's
        fixture (synth_tests/review/fixtures/)."""
        out = synthesize_changed(changed_dev_config(tmp_path / "config"), tmp_path / "generated")
        changed = EmulatorStack(
            out / "stacks" / "dev", tmp_path / "changed", terraform_cli_config, dev.stack.server, profile
        )
        # The config cannot open an ingress to the world beyond the public ALB's listener ports (it
        # is secure by construction), so the changed JSON gets one here, as a hand edit would.
        rules = changed.config["resource"]["aws_vpc_security_group_ingress_rule"]
        rules[OPENED_INGRESS] = {
            "security_group_id": "${aws_security_group.services_web_security_group.id}",
            "ip_protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "cidr_ipv4": "0.0.0.0/0",
            "description": "SSH from anywhere (added by the review test)",
        }
        write_json(changed.workdir / "cdk.tf.json", changed.config)
        # A copy of the applied state: the plan reads it, and dev's own working directory stays as
        # applied for the re-plan and the destroy below.
        shutil.copy2(dev.stack.workdir / "terraform.tfstate", changed.workdir / "terraform.tfstate")
        changed.init()
        changed.run("plan", "-input=false", "-out=review.tfplan")
        shown = changed.run("show", "-json", "review.tfplan").stdout
        plan_path = tmp_path / PLAN_FIXTURE
        plan_path.write_text(shown)
        if os.environ.get("UPDATE_PLAN_FIXTURES") == "1":
            (PLAN_FIXTURES / PLAN_FIXTURE).write_text(shown)  # as Terraform wrote it

        result = run_main("review", str(plan_path), "--format", "json", "--fail-on", "danger")
        assert result.returncode == 3, result.stderr
        (stack,) = json.loads(result.stdout)["stacks"]
        assert stack["stack"] == "dev"
        flags = {(f["address"], f["rule"]): f for f in stack["findings"]}
        database = flags[("aws_db_instance.database_instance", "deletes-data")]
        assert database["severity"] == "danger" and database["action"] == "replace"
        assert "engine" in database["forced_by"]
        bucket = flags[("aws_s3_bucket.buckets_uploads_bucket", "deletes-data")]
        assert bucket["severity"] == "danger" and bucket["action"] == "delete"
        ingress = flags[(f"aws_vpc_security_group_ingress_rule.{OPENED_INGRESS}", "world-ingress")]
        assert ingress["severity"] == "warning" and ingress["action"] == "create"
        assert "22" in ingress["detail"]
        # the public ALB's own listener rules stay open to the world and are not flagged
        assert not [a for a, rule in flags if rule == "world-ingress" and a != ingress["address"]]
        billing = flags[("aws_ecs_service.services_billing_service", "scaled-to-zero")]
        assert billing["severity"] == "warning" and billing["attributes"] == ["desired_count"]

    def test_github_roles_trust_one_github_environment_each_and_deploy_only_dev(self, dev: Applied) -> None:
        """The GitHub Actions roles as IAM holds them (the account's OIDC provider is prod's, the
        account owner's; dev names it by ARN): each admits exactly one `sub` of the one repository,
        and the deploy role names exactly dev's repositories, services, task definition families and
        service roles, read back from moto, and nothing of another environment."""
        env, server = dev.env, dev.stack.server
        iam, ecs, ecr = (server.boto3_client(s) for s in ("iam", "ecs", "ecr"))
        host, repository = "token.actions.githubusercontent.com", env.project.delivery.repository
        subjects = {
            "deploy": f"repo:{repository}:environment:{env.name}",
            "apply": f"repo:{repository}:environment:{env.name}",
            "plan": f"repo:{repository}:environment:{env.name}-plan",
        }
        for purpose, subject in subjects.items():
            role = iam.get_role(RoleName=f"{env.prefix}-github-{purpose}")["Role"]
            trust = role["AssumeRolePolicyDocument"]
            (statement,) = (json.loads(trust) if isinstance(trust, str) else trust)["Statement"]
            assert statement["Principal"] == {
                "Federated": f"arn:aws:iam::{env.account_id}:oidc-provider/{host}"
            }, purpose
            assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
            assert statement["Condition"] == {
                "StringEquals": {f"{host}:aud": "sts.amazonaws.com", f"{host}:sub": subject}
            }, purpose

        delivered = [s.name for s in env.services if env.delivered(s)]
        assert delivered, "dev deploys services of its own"
        (cluster,) = ecs.list_clusters()["clusterArns"]
        running = ecs.describe_services(cluster=cluster, services=[f"{env.prefix}-{s}" for s in delivered])
        tasks = [
            ecs.describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
            for s in running["services"]
        ]
        repositories = ecr.describe_repositories(repositoryNames=[f"{env.prefix}/{s}" for s in delivered])
        policy = iam.get_role_policy(
            RoleName=f"{env.prefix}-github-deploy", PolicyName=f"{env.prefix}-github-deploy-services"
        )["PolicyDocument"]
        statements = {
            s["Sid"]: sorted([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
            for s in (json.loads(policy) if isinstance(policy, str) else policy)["Statement"]
        }
        assert statements == {
            "LogInToRegistry": ["*"],
            "PushEnvironmentImages": sorted(r["repositoryArn"] for r in repositories["repositories"]),
            # dev is the first in the promotion: nothing upstream to pull from
            "RegisterServiceTaskDefinitions": sorted(
                f"arn:aws:ecs:{env.region}:{env.account_id}:task-definition/{t['family']}:*" for t in tasks
            ),
            "DescribeTaskDefinitions": ["*"],
            "RollOutServices": sorted(s["serviceArn"] for s in running["services"]),
            "PassServiceRoles": sorted(r for t in tasks for r in (t["taskRoleArn"], t["executionRoleArn"])),
        }
        assert len(statements["RollOutServices"]) == len(delivered)
        named = json.dumps(statements)
        assert not [other for other in ("stg", "prod") if f"{env.project.name}-{other}" in named]

    def test_replans_clean(self, dev: Applied) -> None:
        assert_replans_clean(dev.stack)

    def test_destroys(self, dev: Applied) -> None:
        stack = dev.stack
        stack.destroy()
        assert stack.state_addresses() == []
        server = stack.server
        assert server.boto3_client("rds").describe_db_instances()["DBInstances"] == []
        assert server.boto3_client("efs").describe_file_systems()["FileSystems"] == []


# ---------------------------------------------------------------------------------------------
# prod: production's HTTPS path applied, re-planned, protections lifted, destroyed
# ---------------------------------------------------------------------------------------------

PRODUCTION = "prod"


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

    def test_aurora_cluster_has_both_instances_iam_auth_and_encryption(self, prod: Applied) -> None:
        """moto keeps both Aurora members on one server (aws_rds_cluster_instance is read by identifier,
        not by moto's one constant DbiResourceId): the writer and a reader in another zone."""
        stack = prod.stack
        state = state_resources(stack)
        (address, body) = only_resource(stack.config, "aws_rds_cluster")
        rds = stack.server.boto3_client("rds")
        (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=body["cluster_identifier"])["DBClusters"]
        assert cluster["Engine"] == prod.env.config.database.engine == "aurora-postgresql"
        assert cluster["IAMDatabaseAuthenticationEnabled"] is True
        assert (
            cluster["StorageEncrypted"] is True and cluster["KmsKeyId"] == state["aws_kms_key.key_key"]["arn"]
        )
        assert cluster["DeletionProtection"] is True
        assert (
            cluster["MasterUserSecret"]["SecretArn"] == state[address]["master_user_secret"][0]["secret_arn"]
        )
        members = {m["DBInstanceIdentifier"]: m["IsClusterWriter"] for m in cluster["DBClusterMembers"]}
        instances = stack.config["resource"]["aws_rds_cluster_instance"].values()
        assert sorted(members) == sorted(i["identifier"] for i in instances)
        assert len(members) == prod.env.config.database.instances == 2
        zones = {
            i["DBInstanceIdentifier"]: i["AvailabilityZone"]
            for i in rds.describe_db_instances()["DBInstances"]
            if i["DBInstanceIdentifier"] in members
        }
        assert len(set(zones.values())) == 2, zones

    def test_github_oidc_provider_is_the_accounts_and_prods_roles_trust_it(self, prod: Applied) -> None:
        """prod owns the account, so it creates the account's IAM OIDC provider for GitHub's tokens
        (dev and stg name it by ARN); its own GitHub roles trust that provider."""
        iam, env = prod.stack.server.boto3_client("iam"), prod.env
        host = "token.actions.githubusercontent.com"
        (arn,) = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
        assert arn == f"arn:aws:iam::{env.account_id}:oidc-provider/{host}"
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        assert provider["Url"].removeprefix("https://") == host
        assert provider["ClientIDList"] == ["sts.amazonaws.com"]
        for purpose in ("deploy", "plan", "apply"):
            trust = iam.get_role(RoleName=f"{env.prefix}-github-{purpose}")["Role"][
                "AssumeRolePolicyDocument"
            ]
            (statement,) = (json.loads(trust) if isinstance(trust, str) else trust)["Statement"]
            assert statement["Principal"] == {"Federated": arn}, purpose

    def test_replans_clean(self, prod: Applied) -> None:
        assert_replans_clean(prod.stack)

    def test_lifting_protections_is_in_place_then_destroys_with_a_final_snapshot(self, prod: Applied) -> None:
        """The lift is planned, then applied to the protected resources only (-target, -refresh=false:
        the rest of the plan is moto's allowlisted diffs, and applying those would replace services).
        moto 5.2.5 enforces the database's deletion protection, not the load balancers'.

        The plan refreshes: the state the apply wrote may hold a service read without its tags
        (moto's DescribeServices race, emulator_profile.toml "ECS tags"), and a plan against that
        state would show tags_all changing on the service's moto-caused replacement; what moto holds
        has them (test_replans_clean)."""
        stack = prod.stack
        lift = stack.lift_protections()
        expected = lifted_attributes(lift)
        (cluster, body) = only_resource(stack.config, "aws_rds_cluster")
        assert cluster in expected, "prod's database has deletion protection to lift"
        assert any(a.startswith("aws_lb.") for a in expected), "so have prod's load balancers"
        changes = stack.plan_changes("lift.tfplan")
        # beside moto's allowlisted diffs, exactly the lifted arguments change, in place
        lifted = unexpected_changes(changes, stack.profile)
        assert {
            c.address: tuple(a for a in c.attributes if not stack.profile.allows(c.type, a)) for c in lifted
        } == expected
        assert all(c.actions == ("update",) for c in lifted), [str(c) for c in lifted]
        stack.run(
            "apply", "-input=false", "-auto-approve", "-refresh=false", *(f"-target={a}" for a in expected)
        )

        stack.destroy("-refresh=false")
        assert stack.state_addresses() == []
        left = record_sets(stack.server, prod.zone_id)
        assert sorted(t for _, t in left) == ["NS", "SOA"], "every record the stack made is gone"
        rds = stack.server.boto3_client("rds")
        assert (
            rds.describe_db_clusters()["DBClusters"] == []
            and rds.describe_db_instances()["DBInstances"] == []
        )
        # beside moto's automated one (rds:<cluster>-<date>), the final snapshot production asks for
        snapshots = rds.describe_db_cluster_snapshots(DBClusterIdentifier=body["cluster_identifier"])
        taken = {x["DBClusterSnapshotIdentifier"] for x in snapshots["DBClusterSnapshots"]}
        assert body["final_snapshot_identifier"] in taken, "production keeps a final snapshot"


# Examples another emulator test applies for resources the committed config does not generate
# (test_emulator_delivery.py: CodePipeline delivery, where environments/ delivers with GitHub).
EMULATED_EXAMPLES = ("codepipeline",)


@emulator
def test_profile_entries_match_the_generated_stacks(
    fresh_synth: Path, profile: Profile, tmp_path: Path
) -> None:
    """A "needed" exclusion must still match something the tier applies (the committed config or an
    example in EMULATED_EXAMPLES); a "known-gap" one must not match yet."""
    outs = [fresh_synth] + [
        synth_config(ROOT / "examples" / name, tmp_path / name) for name in EMULATED_EXAMPLES
    ]
    addresses = [
        a
        for out in outs
        for d in sorted((out / "stacks").iterdir())
        for a in generated_addresses(stack_json(out, d.name))
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


def test_rewrites_set_or_remove_an_argument_of_every_resource_of_a_type_in_the_copy_only() -> None:
    profile = parse_profile(
        {
            "rewrite": [
                {"type": "aws_codebuild_project", "path": "encryption_key", "reason": "r"},
                {"type": "aws_codebuild_project", "path": "source.location", "value": "x", "reason": "r"},
            ]
        }
    )
    generated = {
        "resource": {
            "aws_codebuild_project": {
                "a": {"encryption_key": "${aws_kms_key.k.arn}", "source": {"type": "CODEPIPELINE"}},
                "b": {"source": [{"type": "CODEPIPELINE"}]},
            },
            "aws_kms_key": {"k": {"encryption_key": "stays"}},
        }
    }
    copy, made = apply_rewrites(generated, profile)
    assert made == (
        "aws_codebuild_project.a.encryption_key",
        "aws_codebuild_project.a.source.location",
        "aws_codebuild_project.b.source.location",
    )
    projects = copy["resource"]["aws_codebuild_project"]
    assert projects["a"] == {"source": {"type": "CODEPIPELINE", "location": "x"}}
    assert projects["b"] == {"source": [{"type": "CODEPIPELINE", "location": "x"}]}
    assert copy["resource"]["aws_kms_key"] == generated["resource"]["aws_kms_key"]
    assert "location" not in generated["resource"]["aws_codebuild_project"]["a"]["source"], "a copy"
    with pytest.raises(ProfileError) as error:
        parse_profile({"rewrite": [{"type": "codebuild", "path": "a.b.c", "reason": "r"}]})
    assert str(error.value).splitlines() == [
        "emulator_profile.toml: rewrite[0]: 'path' must be <argument> or <block>.<argument>",
        "emulator_profile.toml: rewrite[0]: 'codebuild' is not an aws_* resource type",
    ]


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


CACHED = {
    "provider": {"aws": [{"region": "eu-west-1", "allowed_account_ids": ["111111111111"]}]},
    "resource": {
        "aws_elasticache_replication_group": {"cache": {"replication_group_id": "acme-dev-cache"}},
        "aws_ecs_task_definition": {
            "api": {
                "container_definitions": '[{"value": "${aws_elasticache_replication_group.cache.primary_endpoint_address}"}]'
            }
        },
        "aws_iam_role_policy": {
            "api": {
                "policy": '{"Resource": ["${ aws_elasticache_replication_group.cache.arn }", "$${aws_elasticache_replication_group.cache.arn}"]}'
            },
            "web": {"policy": "${jsonencode(aws_elasticache_replication_group.cache.arn)}"},
            "ledger": {"policy": "${aws_elasticache_replication_group.cache.arn_suffix}"},
        },
    },
    "output": {"cache": {"value": "${aws_elasticache_replication_group.cache.primary_endpoint_address}"}},
}
STAND_IN = parse_profile(
    {
        "exclude": [
            {
                "type": "aws_elasticache_replication_group",
                "status": "needed",
                "reason": "r",
                "stand_in": {
                    "arn": "arn:aws:elasticache:{region}:{account_id}:replicationgroup:{replication_group_id}",
                    "primary_endpoint_address": "master.{replication_group_id}.emulator.invalid",
                },
            }
        ]
    }
)


def test_stand_ins_replace_plain_references_so_their_resources_stay() -> None:
    stood, counts = stand_in_references(CACHED, STAND_IN)
    arn = "arn:aws:elasticache:eu-west-1:111111111111:replicationgroup:acme-dev-cache"
    assert counts == {
        "aws_elasticache_replication_group.cache.arn": 1,
        "aws_elasticache_replication_group.cache.primary_endpoint_address": 2,
    }
    resources = stood["resource"]
    assert resources["aws_ecs_task_definition"]["api"]["container_definitions"] == (
        '[{"value": "master.acme-dev-cache.emulator.invalid"}]'
    )
    # a plain reference is stood in; an escaped `$${`, a function call or another attribute is not
    assert resources["aws_iam_role_policy"]["api"]["policy"] == (
        f'{{"Resource": ["{arn}", "$${{aws_elasticache_replication_group.cache.arn}}"]}}'
    )
    assert resources["aws_iam_role_policy"]["web"] == CACHED["resource"]["aws_iam_role_policy"]["web"]
    assert resources["aws_iam_role_policy"]["ledger"] == CACHED["resource"]["aws_iam_role_policy"]["ledger"]
    assert stood["output"]["cache"]["value"] == "master.acme-dev-cache.emulator.invalid"
    assert "aws_elasticache_replication_group" in CACHED["resource"], "the input is not modified"

    # then strip_excluded takes out the excluded resource and only what still refers to it
    stripped, removed = strip_excluded(stood, STAND_IN)
    assert removed == {
        "aws_elasticache_replication_group.cache": "excluded: r",
        "aws_iam_role_policy.ledger": "references aws_elasticache_replication_group.cache",
        "aws_iam_role_policy.web": "references aws_elasticache_replication_group.cache",
    }
    assert list(stripped["output"]) == ["cache"]
    assert stand_in_references(CACHED, Profile()) == (CACHED, {})


def test_a_stand_in_naming_an_unknown_field_is_an_error() -> None:
    profile = parse_profile(
        {
            "exclude": [
                {
                    "type": "aws_elasticache_replication_group",
                    "status": "needed",
                    "reason": "r",
                    "stand_in": {"arn": "arn:{partition}:elasticache"},
                }
            ]
        }
    )
    with pytest.raises(ValueError, match=r"cache\.arn: stand-in .* names 'partition'"):
        stand_in_references(CACHED, profile)


def test_stand_in_entries_are_checked() -> None:
    with pytest.raises(ProfileError) as error:
        parse_profile(
            {
                "exclude": [
                    {"type": "aws_x", "status": "needed", "reason": "r", "stand_in": {"arn": ""}},
                    {"type": "aws_y", "status": "needed", "reason": "r", "stand_in": {"Not-An-Attr": "v"}},
                    {"type": "aws_z", "status": "needed", "reason": "r", "stand_in": "arn"},
                ]
            }
        )
    lines = str(error.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["exclude[0]", "exclude[1]", "exclude[2]"]
    assert all(line.endswith("'stand_in' must map attribute names to non-empty strings") for line in lines)
    ok = parse_profile(
        {
            "exclude": [
                {
                    "type": "aws_rds_cluster",
                    "status": "needed",
                    "reason": "r",
                    "stand_in": {"master_user_secret[0].secret_arn": "a"},
                }
            ]
        }
    )
    assert ok.exclusions[0].stand_in == (("master_user_secret[0].secret_arn", "a"),)


def test_secret_values_finds_text_under_secret_names_only() -> None:
    attributes = {
        "manage_master_user_password": True,
        "master_user_secret": [
            {"secret_arn": "arn:aws:secretsmanager:...:secret:rds!db-1", "secret_status": "active"}
        ],
        "no_password_required": True,
        "password": None,
        "secret_string_wo": None,
        "secret_string_wo_version": 1,
        "auth_token": "",
        "passwords": ["hunter2"],
        "nested": [{"master_password": "x"}, {"settings": {"auth_token": "t"}}],
        "secret_string": "{}",
    }
    assert secret_values(attributes) == [
        "passwords",
        "nested[0].master_password",
        "nested[1].settings.auth_token",
        "secret_string",
    ]


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
