"""Dynamic provider credentials for Terraform Cloud: the account's OIDC provider for the Terraform
Cloud (or Enterprise) host, and a plan role and an apply role per cloud environment of the account.

A Terraform Cloud run presents a workload identity token whose `sub` names its organization,
project, workspace and run phase; AWS STS exchanges it for the role the run asks for
(`sts:AssumeRoleWithWebIdentity`) only if the role's trust policy admits that exact token. Each role
admits exactly one subject (`StringEquals`, no wildcard): the plan role the plan phase of its
environment's workspace, the apply role the apply phase. No other workspace, project, organization
or phase gets either role, whatever its name looks like.

Permissions, and why:
- plan: AWS-managed ReadOnlyAccess, the practical minimum to refresh every resource type a stack
  may hold (ViewOnlyAccess misses most Get* calls a refresh makes: bucket policies, key policies...).
  A refresh also reads what ReadOnlyAccess leaves out: the provider refreshes a secret version with
  secretsmanager:GetSecretValue (write-only values too), decrypting with the environment key; so
  the role may read the environment's own secrets (`<project>/<env>/*`) and decrypt through Secrets
  Manager and SSM with keys tagged as its environment, nothing else. And it may not read data no
  refresh of these stacks reads: S3 objects (another environment's S3 state in a shared account),
  DynamoDB items, log events (explicit deny; ReadOnlyAccess allows them all).
- apply: AWS-managed AdministratorAccess. The stack creates IAM roles and policies, KMS keys and
  their policies; any role that can do that can make itself an administrator, so a narrower policy
  would only look narrower. The consequence: in an account shared by several environments, each
  environment's apply role can change every other environment there. Production belongs in an
  account of its own (README: "Dynamic provider credentials").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.config.cloud import TFC_AUDIENCE, CloudSettings, run_phase_subject, run_role_name
from modules.core import iam
from modules.core.naming import partition

Phase = Literal["plan", "apply"]
PHASES: tuple[Phase, ...] = ("plan", "apply")
# AWS-managed policies: (construct ID, name), by phase; the ARN is arn:<partition>:iam::aws:policy/<name>.
MANAGED_POLICIES: dict[Phase, tuple[str, str]] = {
    "plan": ("read-only-access", "ReadOnlyAccess"),
    "apply": ("administrator-access", "AdministratorAccess"),
}
# A run's credentials last as long as its phase needs them, at most one hour (the default).
MAX_SESSION_SECONDS = 3600
# What ReadOnlyAccess allows and no refresh of the generated stacks needs: data, not configuration.
DATA_READ_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:PartiQLSelect",
    "dynamodb:Query",
    "dynamodb:Scan",
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:GetLogRecord",
    "logs:StartLiveTail",
    "logs:StartQuery",
    "s3:GetObject",
    "s3:GetObjectVersion",
)


@dataclass(frozen=True)
class RunRoles:
    """One cloud environment's pair of roles: their names and the run subjects they admit."""

    environment: str
    plan_role_name: str
    apply_role_name: str
    plan_subject: str
    apply_subject: str
    region: str  # the environment's: where its secrets and key live
    secret_prefix: str  # "<project>/<env>": the environment's secrets are "<it>/<name>"

    @classmethod
    def of(cls, env: Environment, cloud: CloudSettings) -> RunRoles:
        assert env.workspace is not None  # a cloud environment has a workspace
        project = env.project.name
        return cls(
            environment=env.name,
            plan_role_name=run_role_name(project, env.name, "plan"),
            apply_role_name=run_role_name(project, env.name, "apply"),
            plan_subject=run_phase_subject(cloud, env.workspace, "plan"),
            apply_subject=run_phase_subject(cloud, env.workspace, "apply"),
            region=env.region,
            # modules/security/secrets.py names the environment's secrets the same way
            secret_prefix=f"{project}/{env.name}",
        )

    def role_name(self, phase: Phase) -> str:
        return self.plan_role_name if phase == "plan" else self.apply_role_name

    def subject(self, phase: Phase) -> str:
        return self.plan_subject if phase == "plan" else self.apply_subject


@dataclass(frozen=True)
class TerraformCloudTrustProps:
    """One account's trust in Terraform Cloud: the host, and the cloud environments of the account."""

    hostname: str  # the OIDC issuer is https://<hostname>; its claims are "<hostname>:aud", ":sub"
    audience: str
    account_id: str
    partition: str
    environments: tuple[RunRoles, ...]  # in name order

    @classmethod
    def of(
        cls, cloud: CloudSettings, account_id: str, environments: Sequence[Environment]
    ) -> TerraformCloudTrustProps:
        """`environments`: the cloud environments of `account_id` (at least one)."""
        return cls(
            hostname=cloud.hostname,
            audience=TFC_AUDIENCE,
            account_id=account_id,
            partition=partition(environments[0].region),
            environments=tuple(RunRoles.of(env, cloud) for env in sorted(environments, key=lambda e: e.name)),
        )


def trust_policy(props: TerraformCloudTrustProps, provider_arn: str, subject: str, phase: Phase) -> str:
    """Runs of exactly one workspace and phase, with a token for AWS, through the host's provider."""
    return iam.document(
        {
            "Sid": f"TerraformCloud{phase.capitalize()}Runs",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{props.hostname}:aud": props.audience,
                    f"{props.hostname}:sub": subject,
                }
            },
        }
    )


def secret_refresh_statements(
    *, partition: str, region: str, account_id: str, environment: str, secret_prefix: str
) -> list[dict[str, Any]]:
    """What a plan's refresh needs beyond ReadOnlyAccess: read the environment's own secrets
    (`<secret_prefix>/*`) and decrypt them with keys tagged as its environment, through Secrets
    Manager and SSM only. Shared with the GitHub Actions plan roles (modules/delivery/github.py)."""
    part, account = partition, account_id
    return [
        {
            # The provider refreshes aws_secretsmanager_secret_version with GetSecretValue, even
            # for a write-only value (it then drops the value from state).
            "Sid": "RefreshEnvironmentSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": f"arn:{part}:secretsmanager:{region}:{account}:secret:{secret_prefix}/*",
        },
        {
            # Secrets and SecureString parameters are encrypted with the environment key (tagged
            # with its environment); decrypting is allowed through those two services only.
            "Sid": "DecryptEnvironmentSecrets",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": f"arn:{part}:kms:{region}:{account}:key/*",
            "Condition": {
                "StringEquals": {
                    "aws:ResourceTag/Environment": environment,
                    "kms:ViaService": [
                        f"secretsmanager.{region}.amazonaws.com",
                        f"ssm.{region}.amazonaws.com",
                    ],
                }
            },
        },
    ]


def plan_statements(props: TerraformCloudTrustProps, roles: RunRoles) -> list[dict[str, Any]]:
    """What a plan's refresh needs beyond ReadOnlyAccess, and the data reads it never needs."""
    return [
        *secret_refresh_statements(
            partition=props.partition,
            region=roles.region,
            account_id=props.account_id,
            environment=roles.environment,
            secret_prefix=roles.secret_prefix,
        ),
        {
            # A plan may run code from any branch (speculative plans): no data it does not need.
            "Sid": "DenyDataReads",
            "Effect": "Deny",
            "Action": list(DATA_READ_ACTIONS),
            "Resource": "*",
        },
    ]


class TerraformCloudTrust(Construct):
    """The IAM OIDC provider for the Terraform Cloud host in one account, and per cloud environment
    of that account `<project>-<env>-tfc-plan` and `<project>-<env>-tfc-apply`.

    `provider`: the AWS provider of that account (None: the stack's default one).
    Exposes `oidc_provider_arn` and `role_arns`: {environment: {"plan": ARN, "apply": ARN}}.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        props: TerraformCloudTrustProps,
        provider: aws.provider.AwsProvider | None = None,
    ) -> None:
        super().__init__(scope, id)
        oidc = aws.iam_openid_connect_provider.IamOpenidConnectProvider(
            self,
            "oidc-provider",
            url=f"https://{props.hostname}",
            client_id_list=[props.audience],
            # No thumbprint_list (optional since provider 5.81): IAM verifies a public host's
            # certificate against its trusted root CAs, and for any other host (a Terraform
            # Enterprise with a private CA) fetches and stores the top intermediate CA's thumbprint
            # itself. A pinned thumbprint would only break the trust on the host's next renewal.
            provider=provider,
        )
        self.oidc_provider_arn: str = oidc.arn
        self.role_arns: dict[str, dict[str, str]] = {}
        for roles in props.environments:
            of_environment = Construct(self, roles.environment)
            self.role_arns[roles.environment] = {}
            for phase in PHASES:
                of_phase = Construct(of_environment, phase)
                role = aws.iam_role.IamRole(
                    of_phase,
                    "role",
                    name=roles.role_name(phase),
                    description=f"Terraform Cloud {phase} runs of {roles.environment}",
                    assume_role_policy=trust_policy(props, oidc.arn, roles.subject(phase), phase),
                    max_session_duration=MAX_SESSION_SECONDS,
                    provider=provider,
                )
                construct_id, managed = MANAGED_POLICIES[phase]
                aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                    of_phase,
                    construct_id,
                    role=role.name,
                    policy_arn=f"arn:{props.partition}:iam::aws:policy/{managed}",
                    provider=provider,
                )
                if phase == "plan":
                    aws.iam_role_policy.IamRolePolicy(
                        of_phase,
                        "policy",
                        name=f"{roles.role_name(phase)}-refresh",
                        role=role.id,
                        policy=iam.document(*plan_statements(props, roles)),
                        provider=provider,
                    )
                self.role_arns[roles.environment][phase] = role.arn
