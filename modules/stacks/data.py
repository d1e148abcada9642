"""The environment's data stores, composed: each built from its section, then each service's `uses`
turned into what the stores grant it and the network paths to them."""

from __future__ import annotations

from typing import Protocol

from modules.cdk import Construct, TerraformOutput
from modules.config import Environment, ServiceConfig
from modules.config.uses import Use
from modules.data import (
    ApplicationBuckets,
    ApplicationBucketsProps,
    Cache,
    CacheProps,
    Database,
    DatabaseProps,
    FileSystem,
    FileSystemProps,
    StoreGrant,
    combined,
)
from modules.network import Network


class _Store(Protocol):
    def grant(self, service_name: str, use: Use) -> StoreGrant: ...


class DataStores:
    """The stores of one environment: `[database]`, `[cache]`, `[[buckets]]`, `[[filesystems]]`.

    Built before the services (a service's container needs its connection settings); `connect`
    opens each service's network paths once its tasks' security group exists.
    """

    def __init__(self, scope: Construct, env: Environment, kms_key_arn: str, network: Network) -> None:
        config = env.config
        subnets = network.private_subnet_ids
        self.database: Database | None = None
        if config.database is not None:
            self.database = Database(
                scope,
                "database",
                DatabaseProps.of(env, kms_key_arn=kms_key_arn, vpc_id=network.vpc_id, subnet_ids=subnets),
            )
        self.cache: Cache | None = None
        if config.cache is not None:
            self.cache = Cache(
                scope,
                "cache",
                CacheProps.of(
                    env,
                    kms_key_arn=kms_key_arn,
                    vpc_id=network.vpc_id,
                    subnet_ids=subnets,
                    clients=sorted(s.name for s in env.services if s.uses_of("cache")),
                ),
            )
        self.buckets: ApplicationBuckets | None = None
        if config.buckets:
            self.buckets = ApplicationBuckets(
                scope, "buckets", ApplicationBucketsProps.of(env, kms_key_arn=kms_key_arn)
            )
        self.filesystems: dict[str, FileSystem] = {}
        if config.filesystems:
            # A parent scope keeps file system names (chosen by users) apart from the IDs above.
            parent = Construct(scope, "filesystems")
            for filesystem in config.filesystems:
                self.filesystems[filesystem.name] = FileSystem(
                    parent,
                    filesystem.name,
                    FileSystemProps.of(
                        env,
                        filesystem,
                        kms_key_arn=kms_key_arn,
                        vpc_id=network.vpc_id,
                        subnet_ids=subnets,
                        clients=[
                            s
                            for s in env.services
                            if any(u.name == filesystem.name for u in s.uses_of("filesystem"))
                        ],
                    ),
                )

    def _store(self, use: Use) -> _Store:
        store: _Store | None
        if use.kind == "database":
            store = self.database
        elif use.kind == "cache":
            store = self.cache
        elif use.kind == "bucket":
            store = self.buckets
        elif use.kind == "filesystem":
            store = self.filesystems.get(use.name or "")
        else:
            raise ValueError(f"{use} is not a data store")
        if store is None:  # the schema refuses a use of a store the environment lacks
            raise ValueError(f"{use}: this environment has no such store")
        return store

    def grant(self, service: ServiceConfig) -> StoreGrant:
        """Everything the service's store uses give it, as one grant."""
        return combined(
            self._store(use).grant(service.name, use) for use in service.parsed_uses if use.kind != "service"
        )

    def connect(self, service: ServiceConfig, tasks_security_group_id: str) -> None:
        """Admit the service's tasks to each store it uses that sits in the VPC (buckets do not)."""
        for use in service.parsed_uses:
            if use.kind in ("database", "cache", "filesystem"):
                store = self._store(use)
                store.allow_from(f"{service.name}-tasks", tasks_security_group_id)  # type: ignore[attr-defined]

    def outputs(self, scope: Construct) -> None:
        """What an operator or an application's deploy needs to find the stores."""
        if self.database is not None:
            TerraformOutput(
                scope,
                "database_endpoint",
                value=self.database.endpoint,
                description="Database writer endpoint",
            )
            TerraformOutput(
                scope,
                "database_master_secret_arn",
                value=self.database.master_secret_arn,
                description="Secrets Manager secret of the master user (managed and rotated by RDS)",
            )
        if self.cache is not None:
            TerraformOutput(
                scope, "cache_endpoint", value=self.cache.endpoint, description="Cache primary endpoint (TLS)"
            )
        if self.buckets is not None:
            TerraformOutput(
                scope,
                "bucket_names",
                value=dict(sorted(self.buckets.names.items())),
                description="Application buckets",
            )
        if self.filesystems:
            TerraformOutput(
                scope,
                "filesystem_ids",
                value={name: fs.id for name, fs in sorted(self.filesystems.items())},
                description="EFS file systems",
            )
