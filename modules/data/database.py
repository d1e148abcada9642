"""The environment's relational database: an RDS instance (postgres, mysql) or an Aurora cluster
(aurora-postgresql, aurora-mysql), private, encrypted with the environment key, TLS only, its
master password created and rotated by RDS in Secrets Manager (never seen by Terraform)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, TerraformResourceLifecycle, aws
from modules.config import Environment
from modules.config.data import DatabaseConfig
from modules.config.uses import DATABASE_PASSWORD_VARIABLE, DATABASE_VARIABLES, Use
from modules.core import iam
from modules.core.naming import bounded, partition
from modules.data.grant import StoreGrant
from modules.network.security_group import PeerAdmission, security_group
from modules.security.kms import database_identifier, rds_log_group_prefix

HOST_VARIABLE, PORT_VARIABLE, NAME_VARIABLE, USER_VARIABLE = DATABASE_VARIABLES

# The current RDS certificate authority (RSA 2048, valid to 2061); rds-ca-2019 expired in 2024.
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
IAM_ROLE_NAME_LIMIT = 64
# Statements slower than this are logged (PostgreSQL ms; MySQL's long_query_time is in seconds).
SLOW_STATEMENT_MS = 1000

# What makes each engine refuse connections without TLS, and log what its exports carry. Every
# parameter here is dynamic, so the provider's default apply method (immediate) applies them.
# RDS for MySQL takes require_secure_transport as 0/1, Aurora MySQL as OFF/ON.
_TLS_PARAMETERS: dict[str, dict[str, str]] = {
    "postgres": {"rds.force_ssl": "1"},
    "aurora-postgresql": {"rds.force_ssl": "1"},
    "mysql": {"require_secure_transport": "1"},
    "aurora-mysql": {"require_secure_transport": "ON"},
}
# PostgreSQL: slow statements (with their duration) for tuning, and DDL as the record of schema
# and role changes; not every statement, which would copy application data into the logs. Create
# passwords with psql's \password (it sends only the hash), not CREATE/ALTER ROLE ... PASSWORD
# '...' in clear, or the DDL log keeps the password. Users of database:iam have no password at all.
_POSTGRES_LOGGING = {"log_min_duration_statement": str(SLOW_STATEMENT_MS), "log_statement": "ddl"}
# MySQL writes its slow and general logs only when switched on, and exports only files.
_MYSQL_LOGGING = {
    "slowquery": {
        "slow_query_log": "1",
        "long_query_time": str(SLOW_STATEMENT_MS // 1000),
        "log_output": "FILE",
    },
    "general": {"general_log": "1", "log_output": "FILE"},
}
# The audit log: connections, DDL and grants (not every query, which would copy application data).
_AUDIT_EVENTS = "CONNECT,QUERY_DDL,QUERY_DCL"


def iam_database_user(service_name: str) -> str:
    """The database user a service connects as with `database:iam`: its name with '-' as '_' (an
    identifier PostgreSQL and MySQL take unquoted). The README's CREATE USER step uses this name."""
    return service_name.replace("-", "_")


def database_parameters(database: DatabaseConfig) -> dict[str, str]:
    """The engine parameters this platform sets: TLS only, and what the exported logs need. Aurora
    sets them in its cluster parameter group (which carries instance-level ones to every member)."""
    parameters = dict(_TLS_PARAMETERS[database.engine])
    if database.postgres:
        parameters |= _POSTGRES_LOGGING
    else:
        for log, settings in _MYSQL_LOGGING.items():
            if log in database.exported_logs:
                parameters |= settings
        if database.aurora and "audit" in database.exported_logs:
            # Aurora MySQL's Advanced Auditing; RDS for MySQL needs the audit plugin option instead.
            parameters |= {"server_audit_logging": "1", "server_audit_events": _AUDIT_EVENTS}
    return parameters


@dataclass(frozen=True)
class DatabaseProps:
    """What the database needs; defaults live in the config schema (`[database]`), not here."""

    prefix: str  # "<project>-<env>": names the subnet, security and parameter groups and the role
    identifier: str  # "<project>-<env>-db": the instance or cluster (Aurora members -1, -2, ...)
    database: DatabaseConfig
    zones: tuple[str, ...]  # availability zone names, in the network's order; Aurora members rotate
    kms_key_arn: str  # storage, master secret, Performance Insights and log groups
    vpc_id: str
    subnet_ids: tuple[str, ...]  # private subnets, one per zone
    region: str
    account_id: str

    @classmethod
    def of(cls, env: Environment, *, kms_key_arn: str, vpc_id: str, subnet_ids: list[str]) -> DatabaseProps:
        database = env.config.database
        if database is None:
            raise ValueError(f"{env.name} has no [database]")
        return cls(
            prefix=env.prefix,
            identifier=database_identifier(env.prefix),
            database=database,
            zones=tuple(f"{env.region}{letter}" for letter in env.network.zone_letters),
            kms_key_arn=kms_key_arn,
            vpc_id=vpc_id,
            subnet_ids=tuple(subnet_ids),
            region=env.region,
            account_id=env.account_id,
        )


class Database(PeerAdmission, Construct):
    """An RDS instance or an Aurora cluster with its instances, in a private subnet group, behind a
    security group of its own (no rule until `allow_from`), TLS forced by its parameter group.

    Encrypted with the environment key (storage, master secret, Performance Insights, exported
    logs); the master password is managed by RDS in Secrets Manager; IAM database authentication
    on; backups, maintenance window, Multi-AZ, deletion protection and final snapshot from config;
    enhanced monitoring with its own role. The log groups RDS exports to are created first, with a
    retention and the key, so RDS never creates unencrypted ones that never expire.

    Exposes `identifier`, `instance_identifiers` (the instance, or Aurora's members), `arn`, `security_group_id`, `endpoint` (the writer's host name),
    `reader_endpoint` (Aurora; None for an instance), `port`, `database_name`, `master_secret_arn`,
    `resource_id` and `log_group_names`; `grant(service_name, use)` and `allow_from(label, group)`.
    """

    def __init__(self, scope: Construct, id: str, props: DatabaseProps) -> None:
        super().__init__(scope, id)
        database = props.database
        part = partition(props.region)
        self._props = props
        # allow_from (PeerAdmission): the services that use it, on the engine port.
        self.admitted_as = props.identifier
        self.admitted_port = database.port
        self._partition = part

        self.security_group_id: str = security_group(
            self,
            "security-group",
            name=props.identifier,
            description=f"Database {props.identifier}: only the services that use it, on {database.port}",
            vpc_id=props.vpc_id,
        )
        subnet_group = aws.db_subnet_group.DbSubnetGroup(
            self,
            "subnet-group",
            name=props.identifier,
            description=f"Private subnets of {props.prefix}",
            subnet_ids=list(props.subnet_ids),
        )

        log_prefix = rds_log_group_prefix(props.identifier, aurora=database.aurora)
        log_groups = [
            aws.cloudwatch_log_group.CloudwatchLogGroup(
                self,
                f"log-{log}",
                name=f"{log_prefix}/{log}",
                retention_in_days=database.log_retention_days,
                kms_key_id=props.kms_key_arn,
            )
            for log in database.exported_logs
        ]
        self.log_group_names: list[str] = [f"{log_prefix}/{log}" for log in database.exported_logs]

        role = aws.iam_role.IamRole(
            self,
            "monitoring-role",
            name=bounded(f"{props.identifier}-monitoring", IAM_ROLE_NAME_LIMIT),
            description=f"RDS enhanced monitoring of {props.identifier}",
            assume_role_policy=iam.service_trust(
                "monitoring.rds.amazonaws.com",
                source_account=props.account_id,
                sid="RdsMonitoringAssumesRole",
            ),
        )
        # AWS's policy for exactly this role: write OS metrics to the RDSOSMetrics log group.
        monitoring_policy = aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self,
            "monitoring-role-policy",
            role=role.name,
            policy_arn=f"arn:{part}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
        )

        family = database.parameter_group_family
        # Named after the family, and replaced before it is destroyed: a major version upgrade
        # moves the database to a new group while the old one is still attached.
        group_name = f"{props.identifier}-{family.replace('.', '-')}"
        replace_first = TerraformResourceLifecycle(create_before_destroy=True)
        parameters = database_parameters(database)

        # Shared by the instance and the Aurora members.
        instance_settings: dict[str, Any] = {
            "instance_class": database.instance_class,
            "db_subnet_group_name": subnet_group.name,
            "publicly_accessible": False,
            "auto_minor_version_upgrade": True,
            "ca_cert_identifier": CA_CERTIFICATE,
            "copy_tags_to_snapshot": True,
            "performance_insights_enabled": True,
            "performance_insights_kms_key_id": props.kms_key_arn,
            "performance_insights_retention_period": database.performance_insights_retention_days,
            "monitoring_interval": database.monitoring_interval_seconds,
            "monitoring_role_arn": role.arn,
            "depends_on": [monitoring_policy],
        }
        final_snapshot = {
            "deletion_protection": database.deletion_protection,
            "skip_final_snapshot": not database.final_snapshot,
            "final_snapshot_identifier": f"{props.identifier}-final",
        }

        if database.aurora:
            cluster_parameters = aws.rds_cluster_parameter_group.RdsClusterParameterGroup(
                self,
                "cluster-parameter-group",
                name=group_name,
                family=family,
                description=f"{props.identifier}: TLS only, logging",
                parameter=[
                    aws.rds_cluster_parameter_group.RdsClusterParameterGroupParameter(name=name, value=value)
                    for name, value in parameters.items()
                ],
                lifecycle=replace_first,
            )
            cluster = aws.rds_cluster.RdsCluster(
                self,
                "cluster",
                cluster_identifier=props.identifier,
                engine=database.engine,
                engine_version=database.version,
                database_name=database.database_name,
                master_username=database.master_username,
                manage_master_user_password=True,
                master_user_secret_kms_key_id=props.kms_key_arn,
                port=database.port,
                storage_encrypted=True,
                kms_key_id=props.kms_key_arn,
                db_subnet_group_name=subnet_group.name,
                vpc_security_group_ids=[self.security_group_id],
                db_cluster_parameter_group_name=cluster_parameters.name,
                iam_database_authentication_enabled=True,
                backup_retention_period=database.backup_retention_days,
                preferred_backup_window=database.backup_window,
                preferred_maintenance_window=database.maintenance_window,
                copy_tags_to_snapshot=True,
                enabled_cloudwatch_logs_exports=list(database.exported_logs),
                depends_on=log_groups,
                **final_snapshot,
            )
            for number in range(1, database.instance_count + 1):
                aws.rds_cluster_instance.RdsClusterInstance(
                    self,
                    f"instance-{number}",
                    identifier=f"{props.identifier}-{number}",
                    cluster_identifier=cluster.id,
                    # The engine version is the cluster's: members follow it, never set their own.
                    engine=cluster.engine,
                    # Round the zones, so the members of a Multi-AZ cluster never share one.
                    availability_zone=props.zones[(number - 1) % len(props.zones)],
                    promotion_tier=promotion_tier(number),
                    preferred_maintenance_window=database.maintenance_window,
                    **instance_settings,
                )
            self.arn: str = cluster.arn
            self.endpoint: str = cluster.endpoint
            self.reader_endpoint: str | None = cluster.reader_endpoint
            self.master_secret_arn: str = cluster.master_user_secret.get(0).secret_arn
            self.resource_id: str = cluster.cluster_resource_id
        else:
            parameter_group = aws.db_parameter_group.DbParameterGroup(
                self,
                "parameter-group",
                name=group_name,
                family=family,
                description=f"{props.identifier}: TLS only, logging",
                parameter=[
                    aws.db_parameter_group.DbParameterGroupParameter(name=name, value=value)
                    for name, value in parameters.items()
                ],
                lifecycle=replace_first,
            )
            option_group = None
            if database.engine == "mysql" and "audit" in database.exported_logs:
                option_group = self._mysql_audit_option_group(props, group_name, replace_first)
            instance = aws.db_instance.DbInstance(
                self,
                "instance",
                identifier=props.identifier,
                engine=database.engine,
                engine_version=database.version,
                db_name=database.database_name,
                username=database.master_username,
                manage_master_user_password=True,
                master_user_secret_kms_key_id=props.kms_key_arn,
                port=database.port,
                storage_type="gp3",
                allocated_storage=database.allocated_storage_gb,
                max_allocated_storage=database.max_allocated_storage_gb,
                storage_encrypted=True,
                kms_key_id=props.kms_key_arn,
                vpc_security_group_ids=[self.security_group_id],
                parameter_group_name=parameter_group.name,
                option_group_name=option_group,
                multi_az=database.multi_az,
                iam_database_authentication_enabled=True,
                backup_retention_period=database.backup_retention_days,
                backup_window=database.backup_window,
                maintenance_window=database.maintenance_window,
                enabled_cloudwatch_logs_exports=list(database.exported_logs),
                **final_snapshot,
                **instance_settings | {"depends_on": [*log_groups, monitoring_policy]},
            )
            self.arn = instance.arn
            self.endpoint = instance.address
            self.reader_endpoint = None
            self.master_secret_arn = instance.master_user_secret.get(0).secret_arn
            self.resource_id = instance.resource_id

        self.identifier: str = props.identifier
        # The DB instances (CloudWatch's DBInstanceIdentifier): the instance, or Aurora's members.
        self.instance_identifiers: tuple[str, ...] = (
            tuple(f"{props.identifier}-{n}" for n in range(1, database.instance_count + 1))
            if database.aurora
            else (props.identifier,)
        )
        self.port: int = database.port
        self.database_name: str = database.database_name

    def _mysql_audit_option_group(
        self, props: DatabaseProps, name: str, lifecycle: TerraformResourceLifecycle
    ) -> str:
        """RDS for MySQL writes its audit log through the MariaDB audit plugin, an option."""
        og = aws.db_option_group
        group = og.DbOptionGroup(
            self,
            "option-group",
            name=name,
            engine_name=props.database.engine,
            major_engine_version=".".join(props.database.version.split(".")[:2]),
            option_group_description=f"{props.identifier}: audit log",
            option=[
                og.DbOptionGroupOption(
                    option_name="MARIADB_AUDIT_PLUGIN",
                    option_settings=[
                        og.DbOptionGroupOptionOptionSettings(name="SERVER_AUDIT_EVENTS", value=_AUDIT_EVENTS)
                    ],
                )
            ],
            lifecycle=lifecycle,
        )
        return group.name

    def grant(self, service_name: str, use: Use) -> StoreGrant:
        """What `service_name` gets for `database` (the master secret's user and password, read by
        its execution role) or `database:iam` (its own database user, an IAM token, no password)."""
        if use.kind != "database":
            raise ValueError(f"{use} is not a use of the database")
        props = self._props
        environment = {
            HOST_VARIABLE: self.endpoint,
            PORT_VARIABLE: str(self.port),
            NAME_VARIABLE: self.database_name,
        }
        if use.option == "iam":
            user = iam_database_user(service_name)
            return StoreGrant(
                environment=environment | {USER_VARIABLE: user},
                task_statements=(
                    {
                        "Sid": "ConnectToDatabase",
                        "Effect": "Allow",
                        "Action": "rds-db:connect",
                        "Resource": (
                            f"arn:{self._partition}:rds-db:{props.region}:{props.account_id}:"
                            f"dbuser:{self.resource_id}/{user}"
                        ),
                    },
                ),
            )
        secret = self.master_secret_arn
        return StoreGrant(
            environment=environment,
            secrets={
                USER_VARIABLE: f"{secret}:username::",
                DATABASE_PASSWORD_VARIABLE: f"{secret}:password::",
            },
            execution_statements=(
                {
                    "Sid": "ReadDatabaseMasterSecret",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secret,
                },
                {
                    # Only through Secrets Manager, and only for this secret (Secrets Manager puts
                    # the secret's ARN in the encryption context of every call it makes).
                    "Sid": "DecryptDatabaseMasterSecret",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": props.kms_key_arn,
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{props.region}.amazonaws.com",
                            "kms:EncryptionContext:SecretARN": secret,
                        }
                    },
                },
            ),
        )


def promotion_tier(number: int) -> int:
    """Aurora fails over to the lowest tier: the second member (another zone) first, the first
    member back after that, further readers (read scaling) last."""
    return min(number - 1, 2)
