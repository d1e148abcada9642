"""Per-environment encryption: the customer-managed KMS key that logs (and later data) use."""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.config.delivery import build_log_group_name, build_project_name
from modules.core import iam
from modules.core.naming import partition

# The longest window KMS allows: a key deletion scheduled by mistake can be cancelled for 30 days,
# and a key holding logs, data or state is never worth a shorter one.
KEY_DELETION_WINDOW_DAYS = 30


# RDS names the log groups of a database's exports itself, after the instance or cluster
# (/aws/rds/instance/<id>/<log>, /aws/rds/cluster/<id>/<log>), outside the environment's
# /<project>/<env> prefix. data/database.py creates them first, encrypted with this key, so the key
# policy admits exactly that database's groups, and only in an environment that has a database.
# Both names live here, the lowest layer that both this key and the database see.
def database_identifier(env_prefix: str) -> str:
    """The environment's RDS instance or Aurora cluster identifier, `<project>-<env>-db`."""
    return f"{env_prefix}-db"


def rds_log_group_prefix(identifier: str, *, aurora: bool) -> str:
    """Where RDS writes the log exports of `identifier`: `<prefix>/<log>` for each exported log."""
    return f"/aws/rds/{'cluster' if aurora else 'instance'}/{identifier}"


# Lambda names a function's log group after it (/aws/lambda/<function>); the notifier's group is
# created first, encrypted with this key (notifications/discord/notifier.py), so the key admits
# exactly that group, and only in an environment that has the notifier.
def notifier_function_name(env_prefix: str) -> str:
    """The Discord notifier's Lambda function, `<project>-<env>-discord-notifier`."""
    return f"{env_prefix}-discord-notifier"


def lambda_log_group_name(function_name: str) -> str:
    """The log group Lambda writes `function_name`'s logs to."""
    return f"/aws/lambda/{function_name}"


@dataclass(frozen=True)
class EnvironmentKeyProps:
    """What the environment key needs."""

    name: str  # "<project>-<env>"; the alias is alias/<name>
    log_group_prefix: str  # "/<project>/<env>": every log group of the environment starts with it
    extra_log_group_prefixes: tuple[str, ...]  # groups AWS names outside it (the database's exports)
    extra_log_group_names: tuple[str, ...]  # single groups AWS names outside it (the notifier's)
    region: str
    account_id: str
    deletion_window_days: int  # days a scheduled deletion waits, and can still be cancelled

    @classmethod
    def of(cls, env: Environment) -> EnvironmentKeyProps:
        return cls(
            name=env.prefix,
            log_group_prefix=env.log_group_prefix,
            extra_log_group_prefixes=_database_log_groups(env),
            extra_log_group_names=_lambda_log_groups(env) + _codebuild_log_groups(env),
            region=env.region,
            account_id=env.account_id,
            deletion_window_days=KEY_DELETION_WINDOW_DAYS,
        )

    @property
    def log_group_arn_patterns(self) -> tuple[str, ...]:
        """The log groups CloudWatch Logs may use the key for: this environment's, then the extra ones."""
        base = f"arn:{partition(self.region)}:logs:{self.region}:{self.account_id}:log-group:"
        return tuple(
            f"{base}{prefix}/*" for prefix in (self.log_group_prefix, *self.extra_log_group_prefixes)
        ) + tuple(f"{base}{name}" for name in self.extra_log_group_names)


def _database_log_groups(env: Environment) -> tuple[str, ...]:
    database = env.config.database
    if database is None:
        return ()
    return (rds_log_group_prefix(database_identifier(env.prefix), aurora=database.aurora),)


def _lambda_log_groups(env: Environment) -> tuple[str, ...]:
    if env.config.notifications.discord_webhook_secret is None:
        return ()
    return (lambda_log_group_name(notifier_function_name(env.prefix)),)


def _codebuild_log_groups(env: Environment) -> tuple[str, ...]:
    """codepipeline: each delivered service's build log group (CodeBuild names it)."""
    if env.delivery_mode != "codepipeline":
        return ()
    return tuple(
        build_log_group_name(build_project_name(env.prefix, service.name))
        for service in env.services
        if env.delivered(service)
    )


class EnvironmentKey(Construct):
    """A KMS key with yearly rotation and an alias; CloudWatch Logs may use it for this env's groups
    (and for its database's export groups, which RDS names, its notifier's, which Lambda names, and
    its CodeBuild projects', which CodeBuild names).

    Exposes `arn` and `alias_name`.
    """

    def __init__(self, scope: Construct, id: str, props: EnvironmentKeyProps) -> None:
        super().__init__(scope, id)
        part = partition(props.region)
        patterns = props.log_group_arn_patterns
        key_policy = iam.document(
            {
                "Sid": "AccountAdministersKey",
                "Effect": "Allow",
                "Principal": iam.account_root(part, props.account_id),
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                # Scoped by encryption context so only this environment's log groups can use it.
                # No kms:DescribeKey: it carries no encryption context, so under this condition it
                # was never allowed (dropping it changes no permission). CloudWatch Logs encrypts a
                # group's data with the calls below; the key checks it makes when a key is
                # associated run on the caller's behalf (kms:ViaService, see the CloudWatch Logs
                # guide "Encrypt log data in CloudWatch Logs using AWS KMS"), which
                # AccountAdministersKey leaves to the caller's IAM policy.
                "Sid": "CloudWatchLogsUsesKey",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{props.region}.amazonaws.com"},
                "Action": [
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey*",
                    "kms:ReEncrypt*",
                ],
                "Resource": "*",
                # One pattern stays a plain string (the document is unchanged without a database).
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": patterns[0]
                        if len(patterns) == 1
                        else list(patterns)
                    }
                },
            },
        )
        key = aws.kms_key.KmsKey(
            self,
            "key",
            description=f"{props.name}: logs and data at rest",
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=key_policy,
        )
        alias = aws.kms_alias.KmsAlias(self, "alias", name=f"alias/{props.name}", target_key_id=key.key_id)
        self.arn: str = key.arn
        self.alias_name: str = alias.name
