"""Shared files: one `[[filesystems]]` entry as an EFS file system that only its services can mount,
each through its own access point, over TLS, with IAM authorization."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment, ServiceConfig
from modules.config.data import FilesystemConfig
from modules.config.uses import Use, filesystem_variable
from modules.core import iam
from modules.data.grant import FileSystemMount, StoreGrant, sid_part
from modules.network.security_group import PeerAdmission, security_group

NFS_PORT = 2049
# What an NFS client does: mount, write, and act as root. The file system policy denies them without
# TLS or an access point; the management API (always TLS, no access point) stays untouched, so the
# policy can never lock Terraform out of the file system.
CLIENT_ACTIONS = (
    "elasticfilesystem:ClientMount",
    "elasticfilesystem:ClientWrite",
    "elasticfilesystem:ClientRootAccess",
)
# Each service's root directory: the owner reads and writes, its group reads, nobody else.
ROOT_DIRECTORY_PERMISSIONS = "0750"


@dataclass(frozen=True)
class FileSystemClient:
    """A service that mounts the file system: its access point's directory and POSIX user.

    Read-only is not a property of the access point: it is the use's (no ClientWrite in the task
    role, and a read-only mount), so one client shape serves both.
    """

    service: str  # names the access point and its root directory, /<service>
    uid: int  # the POSIX user every NFS operation runs as, and the owner of the directory
    gid: int

    @classmethod
    def of(cls, service: ServiceConfig, filesystem: FilesystemConfig) -> FileSystemClient:
        """The service's own `user` (uid[:gid]) when it sets one, so its files belong to the user
        its process runs as; the file system's uid/gid otherwise (and for a user without a gid)."""
        uid, gid = filesystem.uid, filesystem.gid
        if service.user is not None:
            user, _, group = service.user.partition(":")
            uid, gid = int(user), int(group) if group else gid
        return cls(service=service.name, uid=uid, gid=gid)


@dataclass(frozen=True)
class FileSystemProps:
    """One EFS file system; defaults live in the config schema and its profiles, not here."""

    name: str  # the entry's name: the grant's volume name, Sids and variable
    resource_name: str  # "<project>-<env>-<name>": creation token, Name tags, security group
    kms_key_arn: str  # encrypts the file system at rest
    vpc_id: str
    subnets: tuple[tuple[str, str], ...]  # (zone letter, private subnet id): one mount target each
    throughput_mode: str  # "elastic" | "bursting"
    infrequent_access_after_days: int  # one of EFS's lifecycle steps: 1, 7, 14, 30, 60, 90, ...
    backup: bool  # EFS automatic backups (AWS Backup's default plan)
    clients: tuple[FileSystemClient, ...]  # one access point each, sorted by service name

    @classmethod
    def of(
        cls,
        env: Environment,
        filesystem: FilesystemConfig,
        *,
        kms_key_arn: str,
        vpc_id: str,
        subnet_ids: Sequence[str],
        clients: Sequence[ServiceConfig],
    ) -> FileSystemProps:
        """`subnet_ids`: the private subnets in zone order (Network.private_subnet_ids); `clients`:
        the services that mount this file system."""
        return cls(
            name=filesystem.name,
            resource_name=f"{env.prefix}-{filesystem.name}",
            kms_key_arn=kms_key_arn,
            vpc_id=vpc_id,
            subnets=tuple(zip(env.network.zone_letters, subnet_ids, strict=True)),
            throughput_mode=filesystem.throughput_mode,
            infrequent_access_after_days=filesystem.infrequent_access_after_days,
            backup=filesystem.backup,
            clients=tuple(
                sorted((FileSystemClient.of(s, filesystem) for s in clients), key=lambda c: c.service)
            ),
        )


def transition_to_ia(days: int) -> str:
    """EFS's spelling of a lifecycle step: AFTER_1_DAY, AFTER_7_DAYS, ..."""
    return f"AFTER_{days}_DAY" if days == 1 else f"AFTER_{days}_DAYS"


class FileSystem(PeerAdmission, Construct):
    """An encrypted EFS file system (general purpose, throughput from config, Infrequent Access after
    `infrequent_access_after_days` and back on first access, automatic backups as configured), a
    mount target in each private subnet behind the file system's own security group, an access
    point per client service (root directory /<service> owned by its POSIX user, which every NFS
    operation runs as), and a file system policy that denies NFS access without TLS or without an
    access point. Nothing grants ClientRootAccess, and through an access point a client is its POSIX
    user whatever it claims, so no client is ever root on the file system.

    No statement allows anything: same-account services mount with IAM authorization and their
    task role's `grant` statements; a client without IAM authorization is anonymous and refused.

    Exposes `id`, `arn`, `security_group_id`, `access_point_ids` and `access_point_arns` (by service
    name); `allow_from` opens NFS from a peer group, `grant` gives a service its mount.
    """

    def __init__(self, scope: Construct, id: str, props: FileSystemProps) -> None:
        super().__init__(scope, id)
        efs = aws.efs_file_system
        file_system = efs.EfsFileSystem(
            self,
            "file-system",
            creation_token=props.resource_name,
            encrypted=True,
            kms_key_id=props.kms_key_arn,
            performance_mode="generalPurpose",
            throughput_mode=props.throughput_mode,
            # One transition per block: the provider refuses two in one lifecycle_policy.
            lifecycle_policy=[
                efs.EfsFileSystemLifecyclePolicy(
                    transition_to_ia=transition_to_ia(props.infrequent_access_after_days)
                ),
                # A file read again is hot again: without this it would stay in (slower, per-read
                # billed) Infrequent Access.
                efs.EfsFileSystemLifecyclePolicy(transition_to_primary_storage_class="AFTER_1_ACCESS"),
            ],
            tags={"Name": props.resource_name},
        )
        # Always stated, DISABLED too: without a policy the state depends on how the file system
        # came to be (the console and CloudFormation turn backups on, the API leaves them off), a
        # backup switched on by hand would not show as a change, and `backup = false` would only
        # mean "not asked for".
        aws.efs_backup_policy.EfsBackupPolicy(
            self,
            "backup-policy",
            file_system_id=file_system.id,
            backup_policy=aws.efs_backup_policy.EfsBackupPolicyBackupPolicy(
                status="ENABLED" if props.backup else "DISABLED"
            ),
        )
        self.security_group_id: str = security_group(
            self,
            "security-group",
            name=f"{props.resource_name}-efs",
            description=f"EFS {props.name}: NFS from the services that mount it",
            vpc_id=props.vpc_id,
        )
        for letter, subnet_id in props.subnets:
            aws.efs_mount_target.EfsMountTarget(
                self,
                f"mount-target-{letter}",
                file_system_id=file_system.id,
                subnet_id=subnet_id,
                security_groups=[self.security_group_id],
            )
        aws.efs_file_system_policy.EfsFileSystemPolicy(
            self,
            "policy",
            file_system_id=file_system.id,
            policy=iam.document(*self._policy_statements(file_system.arn)),
        )
        ap = aws.efs_access_point
        access_points = {
            client.service: ap.EfsAccessPoint(
                self,
                f"access-point-{client.service}",
                file_system_id=file_system.id,
                posix_user=ap.EfsAccessPointPosixUser(uid=client.uid, gid=client.gid),
                # EFS creates the directory, owned by the client's user, on the first mount.
                root_directory=ap.EfsAccessPointRootDirectory(
                    path=f"/{client.service}",
                    creation_info=ap.EfsAccessPointRootDirectoryCreationInfo(
                        owner_uid=client.uid, owner_gid=client.gid, permissions=ROOT_DIRECTORY_PERMISSIONS
                    ),
                ),
                tags={"Name": f"{props.resource_name}-{client.service}"},
            )
            for client in props.clients
        }
        self._name = props.name
        # allow_from (PeerAdmission): the services that mount it, on NFS.
        self.admitted_as = f"efs-{props.name}"
        self.admitted_port = NFS_PORT
        self.id: str = file_system.id
        self.arn: str = file_system.arn
        self.access_point_ids: dict[str, str] = {name: a.id for name, a in access_points.items()}
        self.access_point_arns: dict[str, str] = {name: a.arn for name, a in access_points.items()}

    @staticmethod
    def _policy_statements(file_system_arn: str) -> tuple[dict[str, Any], ...]:
        return (
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": list(CLIENT_ACTIONS),
                "Resource": file_system_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                # Every client goes through its access point, so its directory and POSIX user are
                # enforced by EFS, not chosen by the client.
                "Sid": "DenyMountWithoutAccessPoint",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": list(CLIENT_ACTIONS),
                "Resource": file_system_arn,
                "Condition": {"Null": {"elasticfilesystem:AccessPointArn": "true"}},
            },
        )

    def grant(self, service_name: str, use: Use) -> StoreGrant:
        """The service's mount of this file system at `use.option` through its own access point,
        the path as FILESYSTEM_<NAME>_PATH, and exactly ClientMount (and ClientWrite unless the use
        is read-only) on this file system through that access point."""
        if service_name not in self.access_point_ids:
            raise ValueError(
                f"{service_name} is not a client of file system {self._name}: pass it in `clients`"
            )
        assert use.kind == "filesystem" and use.name == self._name and use.option is not None
        actions = ["elasticfilesystem:ClientMount"] + (
            [] if use.read_only else ["elasticfilesystem:ClientWrite"]
        )
        return StoreGrant(
            environment={filesystem_variable(self._name): use.option},
            task_statements=(
                {
                    "Sid": f"FileSystem{sid_part(self._name)}Mount",
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": self.arn,
                    # The key is ARN-typed: an ARN operator (parliament flags a String one as mismatched).
                    "Condition": {
                        "ArnEquals": {
                            "elasticfilesystem:AccessPointArn": self.access_point_arns[service_name]
                        }
                    },
                },
            ),
            mounts=(
                FileSystemMount(
                    volume_name=f"efs-{self._name}",
                    file_system_id=self.id,
                    access_point_id=self.access_point_ids[service_name],
                    container_path=use.option,
                    read_only=use.read_only,
                ),
            ),
        )
