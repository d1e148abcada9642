"""modules/data/database.py: the RDS instance and the Aurora cluster built from `[database]` and its
profile, their parameter, subnet and security groups, log groups and monitoring role, what a using
service is granted, and the environment key admitting the database's log groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import by_path, env_toml, keys, load, only, ref, resources, synth_stack, write_config

from modules.config.uses import parse_use

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
SUBNETS = ["subnet-a", "subnet-b"]


def database_stack(directory: Path, database: str, profile: str, network: str = "") -> tuple[dict, Any]:
    """A stack holding the environment's Database (admitting "api"), and outputs with what it grants
    the services "my-api" (`database`) and "worker" (`database:iam`), so tokens resolve in the JSON."""
    from modules.cdk import TerraformOutput, TerraformStack, Testing
    from modules.data.database import Database, DatabaseProps

    (env,) = load(
        write_config(directory, {"dev": env_toml(profile=profile, network=network) + database})
    ).environments
    stack = TerraformStack(Testing.app(), "test")
    db = Database(
        stack, "database", DatabaseProps.of(env, kms_key_arn=KEY, vpc_id="vpc-1", subnet_ids=SUBNETS)
    )
    db.allow_from("api", "sg-api")
    for output, service, use in (
        ("secret_grant", "my-api", "database"),
        ("iam_grant", "worker", "database:iam"),
    ):
        grant = db.grant(service, parse_use(use))
        TerraformOutput(
            stack,
            output,
            value=json.dumps(
                {
                    "environment": dict(grant.environment),
                    "secrets": dict(grant.secrets),
                    "task": list(grant.task_statements),
                    "execution": list(grant.execution_statements),
                    "mounts": list(grant.mounts),
                }
            ),
        )
    return synth_stack(stack), db


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> dict:
    stack, _ = database_stack(
        tmp_path_factory.mktemp("postgres"), '[database]\nengine = "postgres"\n', "development"
    )
    return stack


@pytest.fixture(scope="module")
def aurora_and_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Any]:
    return database_stack(
        tmp_path_factory.mktemp("aurora"),
        '[database]\nengine = "aurora-postgresql"\n',
        "production",
        network='zones = ["b", "c"]\n',
    )


@pytest.fixture(scope="module")
def aurora(aurora_and_database: tuple[dict, Any]) -> dict:
    return aurora_and_database[0]


def grant(stack: dict, output: str) -> dict:
    return json.loads(stack["output"][output]["value"])


INSTANCE = "${aws_db_instance.database_instance"
CLUSTER = "${aws_rds_cluster.database_cluster"


# --- an RDS instance (postgres, development profile) ------------------------------------------


def test_instance_is_private_encrypted_and_its_password_managed_by_rds(postgres: dict) -> None:
    instance = only(postgres, "aws_db_instance")
    assert instance["identifier"] == "acme-dev-db"
    assert (instance["engine"], instance["engine_version"]) == ("postgres", "16")
    assert instance["instance_class"] == "db.t4g.medium"
    assert (instance["db_name"], instance["username"], instance["port"]) == ("app", "app_admin", 5432)
    assert instance["publicly_accessible"] is False
    assert instance["storage_encrypted"] is True and instance["kms_key_id"] == KEY
    assert (instance["storage_type"], instance["allocated_storage"], instance["max_allocated_storage"]) == (
        "gp3",
        20,
        100,
    )
    assert instance["manage_master_user_password"] is True
    assert instance["master_user_secret_kms_key_id"] == KEY
    assert instance["iam_database_authentication_enabled"] is True
    assert instance["db_subnet_group_name"] == ref(
        postgres, "aws_db_subnet_group", "database/subnet-group", "name"
    )
    assert instance["vpc_security_group_ids"] == [
        ref(postgres, "aws_security_group", "database/security-group", "id")
    ]
    assert instance["auto_minor_version_upgrade"] is True
    assert instance["ca_cert_identifier"] == "rds-ca-rsa2048-g1"


@pytest.mark.parametrize("fixture", ["postgres", "aurora"])
def test_no_password_anywhere_in_the_json(fixture: str, request: pytest.FixtureRequest) -> None:
    stack = request.getfixturevalue(fixture)
    named = {key for key in keys(stack) if "password" in key.lower()}
    # the one attribute with "password" in its name is the switch that hands the password to RDS
    assert named == {"manage_master_user_password"}


def test_development_has_no_standby_no_protection_no_final_snapshot(postgres: dict) -> None:
    instance = only(postgres, "aws_db_instance")
    assert instance["multi_az"] is False
    assert instance["deletion_protection"] is False
    assert instance["skip_final_snapshot"] is True
    assert instance["final_snapshot_identifier"] == "acme-dev-db-final"
    assert instance["backup_retention_period"] == 1
    assert (instance["backup_window"], instance["maintenance_window"]) == (
        "02:00-03:00",
        "sun:03:30-sun:04:30",
    )
    assert instance["copy_tags_to_snapshot"] is True


def test_production_instance_has_a_standby_protection_and_a_final_snapshot(tmp_path: Path) -> None:
    stack, _ = database_stack(tmp_path, '[database]\nengine = "postgres"\n', "production")
    instance = only(stack, "aws_db_instance")
    assert instance["multi_az"] is True
    assert instance["deletion_protection"] is True
    assert instance["skip_final_snapshot"] is False
    assert instance["final_snapshot_identifier"] == "acme-dev-db-final"
    assert instance["backup_retention_period"] == 14


def test_parameter_group_forces_tls_and_logs_slow_statements_and_ddl(postgres: dict) -> None:
    group = only(postgres, "aws_db_parameter_group")
    assert (group["name"], group["family"]) == ("acme-dev-db-postgres16", "postgres16")
    assert {p["name"]: p["value"] for p in group["parameter"]} == {
        "rds.force_ssl": "1",
        "log_min_duration_statement": "1000",
        "log_statement": "ddl",
    }
    # named after the family: a major upgrade creates the new group before the old one goes
    assert group["lifecycle"] == {"create_before_destroy": True}
    assert only(postgres, "aws_db_instance")["parameter_group_name"] == ref(
        postgres, "aws_db_parameter_group", "database/parameter-group", "name"
    )
    assert "aws_db_option_group" not in postgres["resource"]


def test_private_subnet_group_and_an_empty_security_group_until_allow_from(postgres: dict) -> None:
    assert only(postgres, "aws_db_subnet_group") == {
        "name": "acme-dev-db",
        "description": "Private subnets of acme-dev",
        "subnet_ids": SUBNETS,
    }
    group = only(postgres, "aws_security_group")
    assert (group["name"], group["vpc_id"]) == ("acme-dev-db", "vpc-1")
    assert "ingress" not in group and "egress" not in group


def test_allow_from_admits_the_peer_on_the_engine_port_only(postgres: dict) -> None:
    group = ref(postgres, "aws_security_group", "database/security-group", "id")
    assert by_path(postgres, "aws_vpc_security_group_ingress_rule") == {
        "database/allow-api-ingress": {
            "security_group_id": group,
            "referenced_security_group_id": "sg-api",
            "ip_protocol": "tcp",
            "from_port": 5432,
            "to_port": 5432,
            "description": "From api on 5432",
        }
    }
    assert by_path(postgres, "aws_vpc_security_group_egress_rule") == {
        "database/allow-api-egress": {
            "security_group_id": "sg-api",
            "referenced_security_group_id": group,
            "ip_protocol": "tcp",
            "from_port": 5432,
            "to_port": 5432,
            "description": "To acme-dev-db on 5432",
        }
    }


def test_instance_log_groups_are_encrypted_kept_and_created_before_the_instance(postgres: dict) -> None:
    groups = by_path(postgres, "aws_cloudwatch_log_group")
    assert groups == {
        "database/log-postgresql": {
            "name": "/aws/rds/instance/acme-dev-db/postgresql",
            "retention_in_days": 30,
            "kms_key_id": KEY,
        },
        "database/log-upgrade": {
            "name": "/aws/rds/instance/acme-dev-db/upgrade",
            "retention_in_days": 30,
            "kms_key_id": KEY,
        },
    }
    instance = only(postgres, "aws_db_instance")
    assert instance["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    names = {f"aws_cloudwatch_log_group.{name}" for name in resources(postgres, "aws_cloudwatch_log_group")}
    assert names <= set(instance["depends_on"])


def test_performance_insights_and_enhanced_monitoring_with_its_own_role(postgres: dict) -> None:
    instance = only(postgres, "aws_db_instance")
    assert instance["performance_insights_enabled"] is True
    assert instance["performance_insights_kms_key_id"] == KEY
    assert instance["performance_insights_retention_period"] == 7
    assert instance["monitoring_interval"] == 60
    assert instance["monitoring_role_arn"] == ref(postgres, "aws_iam_role", "database/monitoring-role", "arn")
    role = only(postgres, "aws_iam_role")
    assert role["name"] == "acme-dev-db-monitoring"
    assert json.loads(role["assume_role_policy"])["Statement"] == [
        {
            "Sid": "RdsMonitoringAssumesRole",
            "Effect": "Allow",
            "Principal": {"Service": "monitoring.rds.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}},
        }
    ]
    attachment = only(postgres, "aws_iam_role_policy_attachment")
    assert attachment["policy_arn"] == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    # the role can act before RDS first uses it
    assert "aws_iam_role_policy_attachment.database_monitoring_role_policy" in instance["depends_on"]


def test_default_grant_reads_the_master_secret_through_the_execution_role(postgres: dict) -> None:
    secret = f"{INSTANCE}.master_user_secret[0].secret_arn}}"
    assert grant(postgres, "secret_grant") == {
        "environment": {
            "DATABASE_HOST": f"{INSTANCE}.address}}",
            "DATABASE_PORT": "5432",
            "DATABASE_NAME": "app",
        },
        "secrets": {"DATABASE_USER": f"{secret}:username::", "DATABASE_PASSWORD": f"{secret}:password::"},
        "task": [],
        "execution": [
            {
                "Sid": "ReadDatabaseMasterSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secret,
            },
            {
                "Sid": "DecryptDatabaseMasterSecret",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": KEY,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
                        "kms:EncryptionContext:SecretARN": secret,
                    }
                },
            },
        ],
        "mounts": [],
    }


def test_iam_grant_connects_as_the_services_own_user_without_a_secret(postgres: dict) -> None:
    assert grant(postgres, "iam_grant") == {
        "environment": {
            "DATABASE_HOST": f"{INSTANCE}.address}}",
            "DATABASE_PORT": "5432",
            "DATABASE_NAME": "app",
            "DATABASE_USER": "worker",
        },
        "secrets": {},
        "task": [
            {
                "Sid": "ConnectToDatabase",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": f"arn:aws:rds-db:eu-west-1:111111111111:dbuser:{INSTANCE}.resource_id}}/worker",
            }
        ],
        "execution": [],
        "mounts": [],
    }


def test_the_iam_database_user_is_the_service_name_with_underscores() -> None:
    from modules.data.database import iam_database_user

    assert iam_database_user("billing-api") == "billing_api"
    assert iam_database_user("worker") == "worker"


def test_grant_refuses_another_kind_of_use(aurora_and_database: tuple[dict, Any]) -> None:
    _, database = aurora_and_database
    with pytest.raises(ValueError, match="not a use of the database"):
        database.grant("api", parse_use("cache"))


# --- an Aurora cluster (aurora-postgresql, production profile) -------------------------------


def test_cluster_is_encrypted_protected_and_its_password_managed_by_rds(aurora: dict) -> None:
    cluster = only(aurora, "aws_rds_cluster")
    assert cluster["cluster_identifier"] == "acme-dev-db"
    assert (cluster["engine"], cluster["engine_version"]) == ("aurora-postgresql", "16.6")
    assert cluster["storage_encrypted"] is True and cluster["kms_key_id"] == KEY
    assert cluster["manage_master_user_password"] is True
    assert cluster["master_user_secret_kms_key_id"] == KEY
    assert cluster["iam_database_authentication_enabled"] is True
    assert cluster["deletion_protection"] is True
    assert cluster["skip_final_snapshot"] is False
    assert cluster["final_snapshot_identifier"] == "acme-dev-db-final"
    assert cluster["backup_retention_period"] == 14
    assert cluster["copy_tags_to_snapshot"] is True
    assert cluster["preferred_backup_window"] == "02:00-03:00"
    assert cluster["preferred_maintenance_window"] == "sun:03:30-sun:04:30"
    assert cluster["vpc_security_group_ids"] == [
        ref(aurora, "aws_security_group", "database/security-group", "id")
    ]
    assert "aws_db_instance" not in aurora["resource"]


def test_cluster_parameter_group_forces_tls(aurora: dict) -> None:
    group = only(aurora, "aws_rds_cluster_parameter_group")
    assert (group["name"], group["family"]) == ("acme-dev-db-aurora-postgresql16", "aurora-postgresql16")
    assert {p["name"]: p["value"] for p in group["parameter"]} == {
        "rds.force_ssl": "1",
        "log_min_duration_statement": "1000",
        "log_statement": "ddl",
    }
    assert only(aurora, "aws_rds_cluster")["db_cluster_parameter_group_name"] == ref(
        aurora, "aws_rds_cluster_parameter_group", "database/cluster-parameter-group", "name"
    )
    assert "aws_db_parameter_group" not in aurora["resource"]


def test_members_spread_over_the_zones_with_failover_tiers(aurora: dict) -> None:
    members = by_path(aurora, "aws_rds_cluster_instance")
    assert {
        path: (m["identifier"], m["availability_zone"], m["promotion_tier"]) for path, m in members.items()
    } == {
        "database/instance-1": ("acme-dev-db-1", "eu-west-1b", 0),
        "database/instance-2": ("acme-dev-db-2", "eu-west-1c", 1),
    }
    cluster_id = ref(aurora, "aws_rds_cluster", "database/cluster", "id")
    role = ref(aurora, "aws_iam_role", "database/monitoring-role", "arn")
    for member in members.values():
        assert member["cluster_identifier"] == cluster_id
        assert member["instance_class"] == "db.r6g.large"
        assert member["publicly_accessible"] is False
        assert member["performance_insights_enabled"] is True
        assert member["performance_insights_kms_key_id"] == KEY
        assert (member["monitoring_interval"], member["monitoring_role_arn"]) == (60, role)
        assert member["ca_cert_identifier"] == "rds-ca-rsa2048-g1"
        assert member["auto_minor_version_upgrade"] is True
        # the version is the cluster's alone: members follow it through upgrades
        assert "engine_version" not in member


def test_more_members_than_zones_come_round_again(tmp_path: Path) -> None:
    stack, _ = database_stack(
        tmp_path,
        '[database]\nengine = "aurora-postgresql"\ninstances = 3\n',
        "production",
        'zones = ["b", "c"]\n',
    )
    members = by_path(stack, "aws_rds_cluster_instance")
    assert {path: (m["availability_zone"], m["promotion_tier"]) for path, m in members.items()} == {
        "database/instance-1": ("eu-west-1b", 0),
        "database/instance-2": ("eu-west-1c", 1),
        "database/instance-3": ("eu-west-1b", 2),
    }


def test_cluster_log_groups_are_encrypted_kept_and_created_before_the_cluster(aurora: dict) -> None:
    assert by_path(aurora, "aws_cloudwatch_log_group") == {
        "database/log-postgresql": {
            "name": "/aws/rds/cluster/acme-dev-db/postgresql",
            "retention_in_days": 365,
            "kms_key_id": KEY,
        }
    }
    cluster = only(aurora, "aws_rds_cluster")
    assert cluster["enabled_cloudwatch_logs_exports"] == ["postgresql"]
    assert cluster["depends_on"] == ["aws_cloudwatch_log_group.database_log_postgresql"]


def test_aurora_attributes(aurora_and_database: tuple[dict, Any]) -> None:
    _, database = aurora_and_database
    assert database.identifier == "acme-dev-db"
    assert (database.port, database.database_name) == (5432, "app")
    assert database.reader_endpoint is not None
    assert database.log_group_names == ["/aws/rds/cluster/acme-dev-db/postgresql"]


def test_aurora_grants_use_the_cluster(aurora: dict) -> None:
    secret = f"{CLUSTER}.master_user_secret[0].secret_arn}}"
    default = grant(aurora, "secret_grant")
    assert default["environment"]["DATABASE_HOST"] == f"{CLUSTER}.endpoint}}"
    assert default["secrets"] == {
        "DATABASE_USER": f"{secret}:username::",
        "DATABASE_PASSWORD": f"{secret}:password::",
    }
    assert default["execution"][0]["Resource"] == secret
    (connect,) = grant(aurora, "iam_grant")["task"]
    assert connect["Resource"] == (
        f"arn:aws:rds-db:eu-west-1:111111111111:dbuser:{CLUSTER}.cluster_resource_id}}/worker"
    )


# --- MySQL engines -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "group_type", "family", "tls"),
    [
        ("mysql", "aws_db_parameter_group", "mysql8.0", "1"),
        ("aurora-mysql", "aws_rds_cluster_parameter_group", "aurora-mysql8.0", "ON"),
    ],
)
def test_mysql_engines_require_secure_transport_and_write_the_exported_logs(
    tmp_path: Path, engine: str, group_type: str, family: str, tls: str
) -> None:
    stack, _ = database_stack(tmp_path, f'[database]\nengine = "{engine}"\n', "production")
    group = only(stack, group_type)
    assert group["family"] == family
    assert group["name"] == f"acme-dev-db-{family.replace('.', '-')}"
    # RDS for MySQL takes 0/1, Aurora MySQL OFF/ON; the slow query log is exported by default
    assert {p["name"]: p["value"] for p in group["parameter"]} == {
        "require_secure_transport": tls,
        "slow_query_log": "1",
        "long_query_time": "1",
        "log_output": "FILE",
    }
    kind = "cluster" if engine.startswith("aurora") else "instance"
    assert sorted(g["name"] for g in resources(stack, "aws_cloudwatch_log_group").values()) == [
        f"/aws/rds/{kind}/acme-dev-db/error",
        f"/aws/rds/{kind}/acme-dev-db/slowquery",
    ]


def test_mysql_audit_export_adds_the_audit_plugin_option(tmp_path: Path) -> None:
    stack, _ = database_stack(
        tmp_path, '[database]\nengine = "mysql"\nlog_exports = ["error", "audit"]\n', "development"
    )
    option_group = only(stack, "aws_db_option_group")
    assert (option_group["engine_name"], option_group["major_engine_version"]) == ("mysql", "8.0")
    assert option_group["option"] == [
        {
            "option_name": "MARIADB_AUDIT_PLUGIN",
            "option_settings": [{"name": "SERVER_AUDIT_EVENTS", "value": "CONNECT,QUERY_DDL,QUERY_DCL"}],
        }
    ]
    assert only(stack, "aws_db_instance")["option_group_name"] == ref(
        stack, "aws_db_option_group", "database/option-group", "name"
    )
    # no slow query log exported: none switched on
    assert {p["name"] for p in only(stack, "aws_db_parameter_group")["parameter"]} == {
        "require_secure_transport"
    }


def test_aurora_mysql_audit_export_switches_on_advanced_auditing() -> None:
    from modules.config.data import DatabaseConfig
    from modules.data.database import database_parameters

    database = DatabaseConfig(
        engine="aurora-mysql",
        instance_class="db.t4g.medium",
        multi_az=False,
        backup_retention_days=1,
        deletion_protection=False,
        final_snapshot=False,
        log_retention_days=30,
        log_exports=["audit", "general"],
    )
    assert database_parameters(database) == {
        "require_secure_transport": "ON",
        "general_log": "1",
        "log_output": "FILE",
        "server_audit_logging": "1",
        "server_audit_events": "CONNECT,QUERY_DDL,QUERY_DCL",
    }


# --- the environment key admits the database's log groups ----------------------------------


@pytest.mark.parametrize(
    ("database", "extra"),
    [
        ("", None),
        ('[database]\nengine = "postgres"\n', "/aws/rds/instance/acme-dev-db/*"),
        ('[database]\nengine = "aurora-mysql"\n', "/aws/rds/cluster/acme-dev-db/*"),
    ],
)
def test_environment_key_admits_exactly_the_databases_log_groups(
    tmp_path: Path, database: str, extra: str | None
) -> None:
    from modules.cdk import TerraformStack, Testing
    from modules.security import EnvironmentKey, EnvironmentKeyProps

    (env,) = load(write_config(tmp_path, {"dev": env_toml() + database})).environments
    stack = TerraformStack(Testing.app(), "test")
    EnvironmentKey(stack, "key", EnvironmentKeyProps.of(env))
    statements = {
        s["Sid"]: s for s in json.loads(only(synth_stack(stack), "aws_kms_key")["policy"])["Statement"]
    }
    patterns = statements["CloudWatchLogsUsesKey"]["Condition"]["ArnLike"][
        "kms:EncryptionContext:aws:logs:arn"
    ]
    base = "arn:aws:logs:eu-west-1:111111111111:log-group:"
    if extra is None:
        assert patterns == f"{base}/acme/dev/*"  # unchanged without a database
    else:
        assert patterns == [f"{base}/acme/dev/*", f"{base}{extra}"]
