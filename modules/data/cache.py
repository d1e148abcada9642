"""`[cache]`: an ElastiCache replication group (Valkey or Redis OSS) that only its using services reach.

TLS is required in transit and the data is encrypted at rest with the environment key. There is
no AUTH token anywhere: provider 5.100 has no write-only `auth_token`, so a token would be stored
in Terraform state. With `auth = "iam"` (the default) each using service connects as its own
ElastiCache user with a short-lived IAM token (`elasticache:Connect`); with `auth = "none"` the
security group and TLS are the only gates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from modules.cdk import Construct, TerraformResourceLifecycle, aws
from modules.config import Environment
from modules.config.data import CACHE_PORT
from modules.config.uses import CACHE_USER_VARIABLE, CACHE_VARIABLES, Use
from modules.core.naming import bounded
from modules.data.grant import StoreGrant
from modules.network import PeerAdmission, security_group

# ElastiCache limits replication group IDs to 40 characters; IAM-authenticated users need
# user_id == user_name, and both are held to the same 40.
CACHE_ID_LIMIT = 40
# What an application user may do: every data command (strings, hashes, streams, scripts,
# transactions, pub/sub on every channel, INFO and KEYS that common clients call) on every key, but
# nothing of @admin (MONITOR, CLIENT KILL, DEBUG, replication and ACL changes), so a compromised
# task can neither watch the other services' traffic nor reconfigure the cache. The services
# sharing a cache share its keyspace, as they would with one token.
APPLICATION_ACCESS = "on ~* &* +@all -@admin"
# ElastiCache requires a user named "default" in every user group; ours is disabled and may run
# nothing, so a connection that does not authenticate as a service's user can do nothing.
DISABLED_ACCESS = "off -@all"
# The disabled default user cannot use IAM (that needs user_id == user_name, and the id "default"
# is ElastiCache's own built-in user) and must not have a password (it would be in state), so it
# is a no-password user. Only a "redis" user group may hold one (a "valkey" group admits password
# and IAM users only); ElastiCache attaches "redis" user groups to Valkey caches too, and a
# "redis" group may hold the Valkey services' users.
USER_GROUP_ENGINE = "redis"
LOG_TYPES = ("slow-log", "engine-log")


@dataclass(frozen=True)
class CacheProps:
    """What the cache needs; defaults live in the config schema (`[cache]` and the profiles)."""

    name: str  # "<project>-<env>": prefixes every name below
    log_group_prefix: str  # "/<project>/<env>": the slow and engine logs are "<it>/cache/<type>"
    engine: Literal["valkey", "redis"]
    engine_version: str  # "8.0", "7.1"
    parameter_group_family: str  # "valkey8", "redis7"
    node_type: str
    node_count: int  # the primary and its replicas
    multi_az: bool  # automatic failover and Multi-AZ (only with a replica)
    auth: Literal["iam", "none"]
    snapshot_retention_days: int  # 0: no snapshots
    snapshot_window: str  # "hh:mm-hh:mm" UTC
    maintenance_window: str  # "ddd:hh:mm-ddd:hh:mm" UTC
    log_retention_days: int
    kms_key_arn: str  # at rest and the log groups
    vpc_id: str
    subnet_ids: tuple[str, ...]  # the private subnets
    clients: tuple[str, ...]  # the services that `uses` the cache, sorted

    @classmethod
    def of(
        cls,
        env: Environment,
        *,
        kms_key_arn: str,
        vpc_id: str,
        subnet_ids: Sequence[str],
        clients: Sequence[str],
    ) -> CacheProps:
        cache = env.config.cache
        if cache is None:
            raise ValueError(f"{env.name} has no [cache]")
        return cls(
            name=env.prefix,
            log_group_prefix=env.log_group_prefix,
            engine=cache.engine,
            engine_version=cache.version,
            parameter_group_family=cache.parameter_group_family,
            node_type=cache.node_type,
            node_count=cache.node_count(env.network.az_count),
            multi_az=cache.multi_az,
            auth=cache.auth,
            snapshot_retention_days=cache.snapshot_retention_days,
            snapshot_window=cache.snapshot_window,
            maintenance_window=cache.maintenance_window,
            log_retention_days=cache.log_retention_days,
            kms_key_arn=kms_key_arn,
            vpc_id=vpc_id,
            subnet_ids=tuple(subnet_ids),
            clients=tuple(sorted(set(clients))),
        )

    @property
    def replication_group_id(self) -> str:
        return bounded(f"{self.name}-cache", CACHE_ID_LIMIT)

    @property
    def default_user_id(self) -> str:
        # The cache's own name, which no service user can take: theirs all continue "-cache-<service>".
        return bounded(f"{self.name}-cache", CACHE_ID_LIMIT)

    def user_name(self, service: str) -> str:
        """The service's ElastiCache user: its user_id and user_name (IAM needs them equal)."""
        return bounded(f"{self.name}-cache-{service}", CACHE_ID_LIMIT)


class Cache(PeerAdmission, Construct):
    """A replication group (cluster mode off) in the private subnets, with its own subnet group,
    security group (no rules until `allow_from`), parameter group, TLS required, at-rest encryption
    with the environment key, snapshots, a maintenance window, and its slow and engine logs in two
    KMS-encrypted log groups. With IAM authentication, an ElastiCache user per using service and a
    disabled `default` user, in the cache's user group.

    Exposes `security_group_id`, `endpoint` (primary), `reader_endpoint`, `port`,
    `replication_group_id`, `member_cluster_ids`, `arn` and `user_ids` (by service name; empty without IAM auth).
    """

    def __init__(self, scope: Construct, id: str, props: CacheProps) -> None:
        super().__init__(scope, id)
        self._props = props
        # allow_from (PeerAdmission): the services that use it, on the cache port.
        self.admitted_as = f"cache {props.replication_group_id}"
        self.admitted_port = CACHE_PORT
        self.security_group_id: str = security_group(
            self,
            "security-group",
            name=f"{props.name}-cache",
            description=f"Cache of {props.name}: its using services only",
            vpc_id=props.vpc_id,
        )
        subnet_group = aws.elasticache_subnet_group.ElasticacheSubnetGroup(
            self,
            "subnet-group",
            name=f"{props.name}-cache",
            description=f"Private subnets of the cache of {props.name}",
            subnet_ids=list(props.subnet_ids),
        )
        # The family is part of the name and the new group is made first: an engine upgrade to a
        # new family swaps groups under the running cache (the old one cannot be deleted in use).
        parameter_group = aws.elasticache_parameter_group.ElasticacheParameterGroup(
            self,
            "parameter-group",
            name=f"{props.name}-cache-{props.parameter_group_family}",
            family=props.parameter_group_family,
            description=f"Cache parameters of {props.name} ({props.parameter_group_family})",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        log_groups = {
            log_type: aws.cloudwatch_log_group.CloudwatchLogGroup(
                self,
                log_type,
                name=f"{props.log_group_prefix}/cache/{log_type}",
                retention_in_days=props.log_retention_days,
                kms_key_id=props.kms_key_arn,
            )
            for log_type in LOG_TYPES
        }
        self.user_ids: dict[str, str] = {}  # filled by _users
        self._user_arns: dict[str, str] = {}
        user_group = self._users(props) if props.auth == "iam" else None

        rg = aws.elasticache_replication_group
        failover = props.multi_az and props.node_count > 1
        group = rg.ElasticacheReplicationGroup(
            self,
            "replication-group",
            replication_group_id=props.replication_group_id,
            description=f"Cache of {props.name} ({props.engine} {props.engine_version})",
            engine=props.engine,
            engine_version=props.engine_version,
            node_type=props.node_type,
            num_cache_clusters=props.node_count,
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,
            port=CACHE_PORT,
            subnet_group_name=subnet_group.name,
            security_group_ids=[self.security_group_id],
            parameter_group_name=parameter_group.name,
            # Provider 5.100 types these two as strings.
            at_rest_encryption_enabled="true",
            kms_key_id=props.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            user_group_ids=[user_group.user_group_id] if user_group is not None else None,
            snapshot_retention_limit=props.snapshot_retention_days,
            snapshot_window=props.snapshot_window,
            maintenance_window=props.maintenance_window,
            auto_minor_version_upgrade="true",
            # Changes wait for the maintenance window rather than restarting nodes mid-day.
            apply_immediately=False,
            log_delivery_configuration=[
                rg.ElasticacheReplicationGroupLogDeliveryConfiguration(
                    destination=log_groups[log_type].name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type=log_type,
                )
                for log_type in LOG_TYPES
            ],
        )
        self.endpoint: str = group.primary_endpoint_address
        self.reader_endpoint: str = group.reader_endpoint_address
        self.port: int = CACHE_PORT
        self.replication_group_id: str = group.id
        # The group's member clusters, named by ElastiCache <group id>-001, -002, ... (CacheClusterId).
        self.member_cluster_ids: tuple[str, ...] = tuple(
            f"{props.replication_group_id}-{n:03d}" for n in range(1, props.node_count + 1)
        )
        self.arn: str = group.arn

    def _users(self, props: CacheProps) -> aws.elasticache_user_group.ElasticacheUserGroup:
        """One IAM-authenticated user per client service and the disabled default, in one group."""
        user = aws.elasticache_user
        default = user.ElasticacheUser(
            self,
            "default-user",
            user_id=props.default_user_id,
            user_name="default",
            engine=USER_GROUP_ENGINE,
            access_string=DISABLED_ACCESS,
            # `no_password_required` rather than an authentication_mode block: ElastiCache reads
            # that mode back as "no-password", which would differ from "no-password-required" on
            # every plan.
            no_password_required=True,
        )
        # A scope of their own: a service named "default" cannot meet the default user's ID.
        users_scope = Construct(self, "users")
        users = {
            service: user.ElasticacheUser(
                users_scope,
                service,
                user_id=props.user_name(service),
                user_name=props.user_name(service),
                engine=props.engine,
                access_string=APPLICATION_ACCESS,
                authentication_mode=user.ElasticacheUserAuthenticationMode(type="iam"),
            )
            for service in props.clients
        }
        self.user_ids.update({service: u.user_id for service, u in users.items()})
        self._user_arns.update({service: u.arn for service, u in users.items()})
        return aws.elasticache_user_group.ElasticacheUserGroup(
            self,
            "user-group",
            user_group_id=props.replication_group_id,
            engine=USER_GROUP_ENGINE,
            user_ids=[default.user_id, *(users[s].user_id for s in props.clients)],
        )

    def grant(self, service_name: str, use: Use) -> StoreGrant:
        """The connection settings (TLS on) and, with IAM auth, the service's user name and
        `elasticache:Connect` on this cache as exactly that user."""
        if use.kind != "cache":
            raise ValueError(f"{use} is not a use of the cache")
        if service_name not in self._props.clients:
            clients = ", ".join(self._props.clients) or "none"
            raise ValueError(f"{service_name} is not a client of the cache (clients: {clients})")
        host, port, tls = CACHE_VARIABLES
        environment = {host: self.endpoint, port: str(CACHE_PORT), tls: "true"}
        if self._props.auth != "iam":
            return StoreGrant(environment=environment)
        environment[CACHE_USER_VARIABLE] = self._props.user_name(service_name)
        connect = {
            "Sid": "ConnectToCache",
            "Effect": "Allow",
            "Action": "elasticache:Connect",
            # IAM authentication checks both: the cache and the user the token names.
            "Resource": [self.arn, self._user_arns[service_name]],
        }
        return StoreGrant(environment=environment, task_statements=(connect,))
