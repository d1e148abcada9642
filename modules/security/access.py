"""Roles for people: `<project>-<env>-readonly`, `-operator` and `-admin`, assumed with MFA.

What each level may do, and why (the README's "Roles for people" says it for users):

- readonly: AWS-managed ViewOnlyAccess, not ReadOnlyAccess. ReadOnlyAccess reads data: S3
  objects, DynamoDB items, log events, SSM parameter values (SecureStrings under the account's
  aws/ssm key too), Lambda code, ECR images; ViewOnlyAccess lists and describes configuration
  only. Neither reads a secret's value. Describe and list calls mostly have no resource-level
  permissions, so this is account-wide; the guard below keeps it off resources tagged as another
  environment where IAM evaluates tags.
- operator: what readonly sees, plus running this environment's services and nothing else:
  restart and scale them (ecs:UpdateService), stop their tasks, ECS exec into them when the
  cluster allows exec, and read this environment's log groups (log events are data, so readonly
  does not). Every ECS grant is pinned to the environment's cluster by ARN (`ecs:cluster`).
- admin: AWS-managed PowerUserAccess (every service but IAM, Organizations and Account), IAM read
  on the environment's roles, and iam:PassRole of the environment's own roles. No IAM writes:
  with PutRolePolicy on any role whose credentials a person can reach (a task role, through ECS
  exec or a task they run) that person is account admin, so roles change only through reviewed
  Terraform. Not AdministratorAccess for the same reason.

Every role also carries the environment guard: nothing on a resource tagged as another
environment (`aws:ResourceTag/Environment`; the bootstrap stack's state key, lock table and
bucket are tagged `bootstrap`), no resource labelled as another environment, no role assumed
outside the environment, no write to the Terraform state, no SSM session into a container (ECS
exec is the audited way in), and no switching off of the account's audit (CloudTrail, GuardDuty).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.config.access import Level, principal_key
from modules.core import iam
from modules.core.naming import partition, s3_bucket_arn, state_bucket

# AWS-managed policies: (construct ID, name with its path, which is part of the ARN).
VIEW_ONLY_ACCESS = ("view-only-access", "job-function/ViewOnlyAccess")
POWER_USER_ACCESS = ("power-user-access", "PowerUserAccess")
MANAGED_POLICIES: dict[Level, tuple[tuple[str, str], ...]] = {
    "readonly": (VIEW_ONLY_ACCESS,),
    "operator": (VIEW_ONLY_ACCESS,),
    "admin": (POWER_USER_ACCESS,),
}
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class PeopleRolesProps:
    """Who may assume each level's role, and the environment resources its policies name."""

    prefix: str  # "<project>-<env>": the roles are "<prefix>-<level>", the env's roles "<prefix>-*"
    environment: str  # the value of the Environment default tag on every resource of the env
    region: str
    account_id: str
    principals: tuple[tuple[Level, tuple[str, ...]], ...]  # levels with principals, as ARNs
    mfa_exempt: frozenset[str]  # role ARNs that assume without MFA
    max_session_hours: int  # role session length, and the oldest MFA accepted when assuming
    log_group_prefix: str  # "/<project>/<env>": operators read every log group below it
    kms_key_arn: str  # the env key: ECS exec sessions are encrypted with it
    cluster_arn: str | None  # the env's ECS cluster; None: no services, no ECS grants
    exec_enabled: bool  # `cluster.exec_enabled`: operators may ECS exec into tasks
    state_bucket: str  # the Terraform state bucket: people never write it

    @classmethod
    def of(cls, env: Environment, kms_key_arn: str, cluster_arn: str | None) -> PeopleRolesProps:
        access = env.config.access
        part = partition(env.region)

        def arn(principal: str) -> str:
            # IAM stores a bare account id as its root ARN; writing it that way keeps plans clean.
            return f"arn:{part}:iam::{principal}:root" if principal.isdigit() else principal

        return cls(
            prefix=env.prefix,
            environment=env.name,
            region=env.region,
            account_id=env.account_id,
            principals=tuple(
                (level, tuple(sorted(arn(p) for p in access.principals(level)))) for level in access.levels
            ),
            mfa_exempt=frozenset(access.mfa_exempt),
            max_session_hours=access.max_session_hours,
            log_group_prefix=env.log_group_prefix,
            kms_key_arn=kms_key_arn,
            cluster_arn=cluster_arn,
            exec_enabled=env.config.cluster.exec_enabled,
            state_bucket=state_bucket(env.project),
        )

    @property
    def partition(self) -> str:
        return partition(self.region)

    def role_name(self, level: Level) -> str:
        return f"{self.prefix}-{level}"

    def exempt(self, principal: str) -> bool:
        return principal_key(principal) in {principal_key(r) for r in self.mfa_exempt}


def trust_policy(principals: tuple[str, ...], props: PeopleRolesProps) -> str:
    """Exactly `principals` may assume the role: with MFA no older than one session, except the
    exempt roles, which get a statement of their own without the MFA condition."""
    with_mfa = [p for p in principals if not props.exempt(p)]
    without_mfa = [p for p in principals if props.exempt(p)]
    statements: list[dict[str, Any]] = []
    if with_mfa:
        statements.append(
            {
                "Sid": "AssumeWithMfa",
                "Effect": "Allow",
                "Principal": {"AWS": with_mfa},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "Bool": {"aws:MultiFactorAuthPresent": "true"},
                    # An MFA older than one session came from a long-lived session token
                    # (GetSessionToken lasts up to 36 hours): sign in with MFA again.
                    "NumericLessThan": {
                        "aws:MultiFactorAuthAge": str(props.max_session_hours * SECONDS_PER_HOUR)
                    },
                },
            }
        )
    if without_mfa:
        statements.append(
            {
                # Roles that cannot present MFA (CI); listed by ARN in `access.mfa_exempt`.
                "Sid": "ExemptRolesAssumeWithoutMfa",
                "Effect": "Allow",
                "Principal": {"AWS": without_mfa},
                "Action": "sts:AssumeRole",
            }
        )
    return iam.document(*statements)


def guard_statements(props: PeopleRolesProps) -> list[dict[str, Any]]:
    """What no role for people may do, whatever its other policies allow."""
    part, account = props.partition, props.account_id
    bucket = s3_bucket_arn(part, props.state_bucket)
    return [
        {
            # Resources of other environments (and of the bootstrap stack) carry their own
            # Environment tag: deny every action IAM authorizes against such a resource's tags.
            "Sid": "DenyOtherEnvironments",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:ResourceTag/Environment": props.environment},
                "Null": {"aws:ResourceTag/Environment": "false"},
            },
        },
        {
            "Sid": "DenyLabellingOtherEnvironments",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:RequestTag/Environment": props.environment},
                "Null": {"aws:RequestTag/Environment": "false"},
            },
        },
        {
            # Untagged roles trusting the account (a deploy role made by hand) would otherwise
            # be one sts:AssumeRole away; PowerUserAccess allows sts:*.
            "Sid": "DenyRolesOutsideEnvironment",
            "Effect": "Deny",
            "Action": "sts:AssumeRole",
            "NotResource": f"arn:{part}:iam::{account}:role/{props.prefix}-*",
        },
        {
            # Only Terraform writes state; a person deleting or rewriting it orphans resources.
            "Sid": "DenyStateWrites",
            "Effect": "Deny",
            "Action": ["s3:DeleteBucket*", "s3:DeleteObject*", "s3:PutBucket*", "s3:PutObject*"],
            "Resource": [bucket, f"{bucket}/*"],
        },
        {
            # Containers are entered with ECS exec, which the cluster audits to its log group; a
            # plain SSM session into a task would not be logged (ECS developer guide, ECS Exec).
            "Sid": "DenyUnauditedContainerSessions",
            "Effect": "Deny",
            "Action": "ssm:StartSession",
            "Resource": f"arn:{part}:ecs:*:{account}:task/*",
        },
        {
            # The account's audit is changed through Terraform, never switched off by hand.
            "Sid": "DenyAuditTampering",
            "Effect": "Deny",
            "Action": [
                "cloudtrail:DeleteTrail",
                "cloudtrail:PutEventSelectors",
                "cloudtrail:StopLogging",
                "cloudtrail:UpdateTrail",
                "guardduty:DeleteDetector",
                "guardduty:DisassociateFromAdministratorAccount",
                "guardduty:UpdateDetector",
            ],
            "Resource": "*",
        },
    ]


def operator_statements(props: PeopleRolesProps) -> list[dict[str, Any]]:
    """Run the environment's services: ECS on its cluster only, its log groups, the exec key."""
    part, region, account = props.partition, props.region, props.account_id
    ecs = f"arn:{part}:ecs:{region}:{account}"
    on_cluster = {"ArnEquals": {"ecs:cluster": props.cluster_arn}}
    statements: list[dict[str, Any]] = []
    if props.cluster_arn is not None:
        statements += [
            {
                # Restart (force a new deployment) and scale. A desired count set here lasts until
                # the next apply, unless autoscaling or `deploy_owner = "pipeline"` owns it. A
                # service may only be pointed at this environment's task definitions: another
                # environment's would run with that environment's task role.
                "Sid": "RestartAndScaleServices",
                "Effect": "Allow",
                "Action": "ecs:UpdateService",
                "Resource": f"{ecs}:service/*",
                "Condition": {
                    **on_cluster,
                    "ArnLikeIfExists": {"ecs:task-definition": f"{ecs}:task-definition/{props.prefix}-*:*"},
                },
            },
            {
                "Sid": "StopServiceTasks",
                "Effect": "Allow",
                "Action": "ecs:StopTask",
                "Resource": f"{ecs}:task/*",
                "Condition": on_cluster,
            },
        ]
        if props.exec_enabled:
            statements += [
                {
                    # ecs:ExecuteCommand is all a caller needs: ECS opens the SSM session on its
                    # behalf, so no ssm:StartSession (which the guard denies on tasks).
                    "Sid": "ExecIntoServiceTasks",
                    "Effect": "Allow",
                    "Action": "ecs:ExecuteCommand",
                    "Resource": [props.cluster_arn, f"{ecs}:task/*"],
                    "Condition": on_cluster,
                },
                {
                    # Exec sessions are encrypted with the env key: the caller generates the data
                    # key, the agent in the task decrypts (its task role holds kms:Decrypt).
                    "Sid": "ExecSessionKey",
                    "Effect": "Allow",
                    "Action": "kms:GenerateDataKey",
                    "Resource": props.kms_key_arn,
                },
            ]
    statements.append(
        {
            # Log events, Logs Insights and live tail on the environment's log groups only
            # (services, ECS exec audit, VPC flow logs); CloudWatch Logs decrypts them itself.
            "Sid": "ReadEnvironmentLogs",
            "Effect": "Allow",
            "Action": [
                "logs:FilterLogEvents",
                "logs:GetLogEvents",
                "logs:GetLogGroupFields",
                "logs:GetLogRecord",
                "logs:GetQueryResults",
                "logs:StartLiveTail",
                "logs:StartQuery",
            ],
            "Resource": [
                f"arn:{part}:logs:{region}:{account}:log-group:{props.log_group_prefix}/*",
                f"arn:{part}:logs:{region}:{account}:log-group:{props.log_group_prefix}/*:log-stream:*",
            ],
        }
    )
    return statements


def admin_statements(props: PeopleRolesProps) -> list[dict[str, Any]]:
    """IAM read on the environment's roles and PassRole of them; PowerUserAccess does the rest."""
    part, account = props.partition, props.account_id
    roles = f"arn:{part}:iam::{account}:role/{props.prefix}-*"
    return [
        {
            "Sid": "ReadEnvironmentRoles",
            "Effect": "Allow",
            "Action": [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:ListRoleTags",
            ],
            "Resource": roles,
        },
        {
            "Sid": "ReadPolicies",
            "Effect": "Allow",
            "Action": ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"],
            "Resource": [f"arn:{part}:iam::{account}:policy/*", f"arn:{part}:iam::aws:policy/*"],
        },
        {
            # Services of the environment run with its roles (task and execution roles, the
            # flow-log role): an admin re-creating one by hand must hand them over. A role for
            # people passed to a service is useless: its trust admits no service.
            "Sid": "PassEnvironmentRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": roles,
        },
    ]


class PeopleRoles(Construct):
    """One IAM role per level with principals (`<prefix>-readonly`, `-operator`, `-admin`): its
    trust policy (MFA), its AWS-managed policy, its own inline policy (operator, admin), and the
    environment guard, one customer-managed policy (`<prefix>-people-guard`) attached to every role.

    Exposes `role_arns`: level -> role ARN, for the levels created.
    """

    def __init__(self, scope: Construct, id: str, props: PeopleRolesProps) -> None:
        super().__init__(scope, id)
        own: dict[Level, list[dict[str, Any]]] = {
            "readonly": [],
            "operator": operator_statements(props),
            "admin": admin_statements(props),
        }
        guard = aws.iam_policy.IamPolicy(
            self,
            "guard",
            name=f"{props.prefix}-people-guard",
            description=f"{props.prefix}: what no role for people may do (other environments, state, audit)",
            policy=iam.document(*guard_statements(props)),
        )
        self.role_arns: dict[str, str] = {}
        for level, principals in props.principals:
            scope_of_level = Construct(self, level)
            role = aws.iam_role.IamRole(
                scope_of_level,
                "role",
                name=props.role_name(level),
                description=f"{props.prefix}: {level} access for people (MFA)",
                assume_role_policy=trust_policy(principals, props),
                max_session_duration=props.max_session_hours * SECONDS_PER_HOUR,
            )
            attached = [
                (construct_id, f"arn:{props.partition}:iam::aws:policy/{managed}")
                for construct_id, managed in MANAGED_POLICIES[level]
            ]
            for construct_id, policy_arn in [*attached, ("guard", guard.arn)]:
                aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                    scope_of_level, construct_id, role=role.name, policy_arn=policy_arn
                )
            if own[level]:
                aws.iam_role_policy.IamRolePolicy(
                    scope_of_level,
                    "policy",
                    name=f"{props.role_name(level)}-environment",
                    role=role.id,
                    policy=iam.document(*own[level]),
                )
            self.role_arns[level] = role.arn
