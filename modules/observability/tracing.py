"""AWS X-Ray (`[tracing]`, a service's `tracing`): the daemon sidecar a traced service runs, the
environment's sampling rule and group, and the account's trace encryption.

How a trace is named: the app container gets `AWS_XRAY_TRACING_NAME=<project>-<env>-<service>`
(the X-Ray SDKs name their segments after it) and `AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000`. The
sampling rule matches `<project>-<env>-*` and the group's filter names each traced service, so both
apply to this environment's traces only, though X-Ray keeps every environment of an account and
region together.

Encryption. X-Ray has one encryption setting per account and region, so `XrayEncryption` belongs
to the account's owner environment (`[account] owner = true`), with that environment's key: the
traces of every other environment of the account (in that region) are encrypted with it too. X-Ray
uses the key through a KMS grant it creates when the setting is applied (the X-Ray guide, "User
permissions for encryption"):
- whoever applies the setting (the owner environment's Terraform role) needs kms:CreateGrant and
  kms:DescribeKey on the key;
- writers need nothing on the key: PutTraceSegments from any task role is encrypted by X-Ray under
  its grant, so the task roles here get X-Ray actions only;
- readers of traces (the console, BatchGetTraces) need kms:Decrypt on the key.
The environment key's policy (modules/security/kms.py) delegates to the account's IAM policies
(`AccountAdministersKey`: kms:* for the account root), which covers all three for principals of
the same account: it needs no X-Ray statement. A role that should read traces needs kms:Decrypt on
the owner's key in its own policy, best limited to `kms:ViaService = xray.<region>.amazonaws.com`.
If the key is disabled or scheduled for deletion (the owner environment destroyed), X-Ray stops
storing traces for the whole account and region; removing the setting from Terraform does not
reset it (the provider leaves X-Ray's configuration as it is).
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.core import naming
from modules.observability.sidecar import Sidecar, TaskAdditions

XRAY_DAEMON = "xray-daemon"
XRAY_DAEMON_ADDRESS = "127.0.0.1:2000"  # the daemon's default: UDP and TCP on loopback only
# The daemon is a small Go process (~20-40 MiB resident) with buffers of 1% of the memory it sees:
# a 64 MiB soft reservation keeps the smallest Fargate task (512 MiB) mostly the app's.
XRAY_DAEMON_CPU = 32
XRAY_DAEMON_MEMORY_RESERVATION = 64
# What the daemon calls: upload segments and telemetry, fetch sampling rules and targets. None of
# these has resource-level permissions in X-Ray: "*" is the only resource they accept.
XRAY_WRITE_ACTIONS = (
    "xray:GetSamplingRules",
    "xray:GetSamplingStatisticSummaries",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)
XRAY_NAME_LIMIT = 32  # sampling rule and group names
# Below X-Ray's Default rule (10000); lower numbers stay free for finer rules added by hand.
SAMPLING_RULE_PRIORITY = 1000


def tracing_name(prefix: str, service: str) -> str:
    """The segment name a service's traces carry: `<project>-<env>-<service>`."""
    return f"{prefix}-{service}"


def xray_additions(*, image: str, region: str, segment_name: str) -> TaskAdditions:
    """The X-Ray daemon sidecar of one traced service, the app's daemon address and segment name,
    and the task role's X-Ray write actions."""
    daemon = Sidecar(
        name=XRAY_DAEMON,
        image=image,
        cpu=XRAY_DAEMON_CPU,
        memory_reservation=XRAY_DAEMON_MEMORY_RESERVATION,
        # The daemon buffers in memory and logs to stdout: it writes no file.
        readonly_root_filesystem=True,
        log_stream_prefix="xray",
        # A task has no EC2 instance metadata to find its region in.
        environment={"AWS_REGION": region},
    )
    return TaskAdditions(
        purpose="xray",
        sidecars=(daemon,),
        environment={"AWS_XRAY_DAEMON_ADDRESS": XRAY_DAEMON_ADDRESS, "AWS_XRAY_TRACING_NAME": segment_name},
        task_statements=(
            {
                "Sid": "XrayWriteTraces",
                "Effect": "Allow",
                "Action": list(XRAY_WRITE_ACTIONS),
                "Resource": "*",
            },
        ),
    )


@dataclass(frozen=True)
class TracingProps:
    """What the environment's sampling rule and group need."""

    prefix: str  # "<project>-<env>": the rule and group name (bounded), the services' name prefix
    segment_names: tuple[str, ...]  # `tracing_name` of each traced service, sorted; at least one
    sampling_rate: float
    reservoir_per_second: int

    @classmethod
    def of(cls, env: Environment) -> TracingProps:
        return cls(
            prefix=env.prefix,
            segment_names=tuple(
                sorted(tracing_name(env.prefix, s.name) for s in env.services if env.traced(s))
            ),
            sampling_rate=env.config.tracing.sampling_rate,
            reservoir_per_second=env.config.tracing.reservoir_per_second,
        )

    @property
    def name(self) -> str:
        """The sampling rule's and the group's name: the prefix, bounded to X-Ray's 32 characters."""
        return naming.bounded(self.prefix, XRAY_NAME_LIMIT)

    @property
    def filter_expression(self) -> str:
        """Traces that pass through any traced service of the environment."""
        return " OR ".join(f'service("{name}")' for name in self.segment_names)


class Tracing(Construct):
    """The environment's X-Ray sampling rule (`reservoir_per_second` requests a second, then
    `sampling_rate` of the rest, for segments named `<project>-<env>-*`) and group (the traces
    through its traced services). For an environment with at least one traced service.

    Exposes `sampling_rule_name`, `group_name` and `group_arn`.
    """

    def __init__(self, scope: Construct, id: str, props: TracingProps) -> None:
        super().__init__(scope, id)
        if not props.segment_names:
            raise ValueError(f"{props.prefix}: no traced service, so no sampling rule or group")
        rule = aws.xray_sampling_rule.XraySamplingRule(
            self,
            "xray-sampling-rule",
            rule_name=props.name,
            priority=SAMPLING_RULE_PRIORITY,
            fixed_rate=props.sampling_rate,
            reservoir_size=props.reservoir_per_second,
            # The environment's services by their segment names; any host, method, path or resource.
            service_name=f"{props.prefix}-*",
            service_type="*",
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
            version=1,
        )
        group = aws.xray_group.XrayGroup(
            self,
            "xray-group",
            group_name=props.name,
            filter_expression=props.filter_expression,
        )
        self.sampling_rule_name: str = rule.rule_name
        self.group_name: str = group.group_name
        self.group_arn: str = group.arn


@dataclass(frozen=True)
class XrayEncryptionProps:
    """What the account's X-Ray encryption setting needs."""

    kms_key_arn: str  # the owner environment's key (symmetric: X-Ray refuses asymmetric keys)

    @classmethod
    def of(cls, env: Environment, kms_key_arn: str) -> XrayEncryptionProps:
        if not env.config.account.owner:
            raise ValueError(
                f"{env.name}: X-Ray encryption is account-wide; only the account's owner environment sets it"
            )
        return cls(kms_key_arn=kms_key_arn)


class XrayEncryption(Construct):
    """X-Ray's encryption setting for the account and region: KMS with the owner environment's key
    (see the module docstring for who needs what on that key). Only for the account's owner.

    Exposes `key_id`.
    """

    def __init__(self, scope: Construct, id: str, props: XrayEncryptionProps) -> None:
        super().__init__(scope, id)
        config = aws.xray_encryption_config.XrayEncryptionConfig(
            self, "xray-encryption-config", type="KMS", key_id=props.kms_key_arn
        )
        self.key_id: str = config.key_id
