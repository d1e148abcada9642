"""GitHub Actions with OIDC: the account's IAM OIDC provider for GitHub's token issuer, and per
environment a deploy role (its services) and, when its state is in S3, a plan and an apply role.

A workflow job that names a GitHub environment presents a token whose `sub` is
`repo:<org>/<repo>:environment:<name>`, whatever triggered it; AWS STS exchanges it for a role
(`sts:AssumeRoleWithWebIdentity`) only if the role's trust policy admits that exact token. Each role
admits exactly one subject (`StringEquals` on `aud` and `sub`, never `StringLike`, never a wildcard):
- deploy and apply: the job in GitHub environment `<env>` of the one repository (production's
  protected by required reviewers, so nobody applies or deploys there without an approval);
- plan: the job in GitHub environment `<env>-plan`, which pull requests may use without an approval;
  it can read, never change.
No other repository, environment, branch or fork gets any of these roles.

Permissions, and why:
- deploy: push to the environment's own repositories; pull (only) from the previous environment's,
  since images are built once in the first environment and promoted by digest (a later environment's
  deploy job copies the manifest and its layers from the previous environment's repository); register
  revisions of its services' task definition families; roll out exactly its services; pass exactly
  their task and execution roles, to ECS tasks only. Nothing of another environment: its services,
  repositories and roles are named nowhere in the policy.
- plan: AWS-managed ReadOnlyAccess (the practical minimum to refresh every resource type a stack may
  hold, see modules/security/terraform_cloud.py), its own state (read it, take and release its lock,
  with the state key through S3 and DynamoDB only), its own secrets (a refresh reads secret versions;
  the statements are shared with the Terraform Cloud plan roles), and an explicit deny of every data
  read ReadOnlyAccess allows (S3 objects, DynamoDB items, log events) except on its own state.
- apply: AWS-managed AdministratorAccess, for the reason modules/security/terraform_cloud.py gives:
  the stack creates IAM roles and policies and KMS keys and their policies, and any role that can do
  that can make itself an administrator, so a narrower policy would only look narrower. In an account
  shared by several environments each apply role can change the others: production belongs in an
  account of its own.

The plan and apply roles are their environment's Terraform principals; their names are fixed by the
caller so the state account can grant them cross-account access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config.delivery import GITHUB_AUDIENCE, GITHUB_OIDC_HOST
from modules.core import iam
from modules.security.terraform_cloud import (
    DATA_READ_ACTIONS,
    MANAGED_POLICIES,
    MAX_SESSION_SECONDS,
    Phase,
    secret_refresh_statements,
)

# Log in to ECR: GetAuthorizationToken names no repository (the token is for the registry).
ECR_LOGIN_ACTIONS = ("ecr:GetAuthorizationToken",)
# Push an image (layers, then the manifest) and read it back (the deploy job reads the pushed digest).
ECR_PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
# Read an image of the previous environment to promote it: its manifest and layers, nothing written.
ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
)
ROLL_OUT_ACTIONS = ("ecs:DescribeServices", "ecs:UpdateService")
# The S3 backend during a plan: read the state, and take and release its lock.
STATE_READ_ACTIONS = ("s3:GetObject",)
LOCK_FILE_ACTIONS = ("s3:DeleteObject", "s3:PutObject")
LOCK_ITEM_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem")
# Read state (Decrypt) and write a lock file or lock item encrypted with the state key.
STATE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class DeployedService:
    """One service a deploy job rolls out, by the ARNs and names its environment gives it."""

    name: str
    repository_arn: str  # its ECR repository in this environment
    service_arn: str  # arn:...:ecs:<region>:<account>:service/<cluster>/<service>
    task_role_arn: str
    execution_role_arn: str
    task_definition_family: str  # "<prefix>-<service>"


@dataclass(frozen=True)
class StateAccess:
    """Where one environment's S3 state lives and how it is locked and encrypted."""

    bucket_arn: str
    state_prefix: str  # "<env>/": the environment's state objects are "<it>..."
    lock_table_arn: str | None  # None: no DynamoDB locking
    lock_files: bool  # the backend locks with S3 lock files (`<key>.tflock`)
    state_key_arn: str  # the state key's alias ARN: arn:<partition>:kms:<region>:<account>:alias/<name>
    state_region: str  # the state bucket's (and key's) region
    # Where the backend lists workspaces (`terraform init` does): "env:/" by default, inside the
    # environment's own prefix for a cross-account one (modules/security/state_access.py).
    workspaces_prefix: str = "env:/"


@dataclass(frozen=True)
class GitHubRolesProps:
    """One environment's GitHub Actions roles: their names, the subjects they admit, and what they touch."""

    environment: str
    partition: str
    region: str  # the environment's: where its services, repositories, secrets and key live
    account_id: str
    repository: str  # "<org>/<name>"
    provider_arn: str  # the account's GitHub OIDC provider
    deploy_role_name: str
    plan_role_name: str
    apply_role_name: str
    deploy_subject: str  # repo:<org>/<repo>:environment:<env>
    plan_subject: str  # repo:<org>/<repo>:environment:<env>-plan
    apply_subject: str  # repo:<org>/<repo>:environment:<env>
    services: tuple[DeployedService, ...]  # empty: no deploy role
    upstream_repository_arns: tuple[str, ...]  # the previous environment's repositories (pull only)
    terraform: StateAccess | None  # None (Terraform Cloud backend): no plan or apply role
    secret_prefix: str  # "<project>/<env>": the environment's secrets are "<it>/<name>"


class GitHubOidcProvider(Construct):
    """The IAM OIDC provider for GitHub Actions' token issuer in one account (one per account).

    `provider`: the AWS provider of that account (None: the stack's default one). Exposes `arn`.
    """

    def __init__(self, scope: Construct, id: str, provider: aws.provider.AwsProvider | None = None) -> None:
        super().__init__(scope, id)
        oidc = aws.iam_openid_connect_provider.IamOpenidConnectProvider(
            self,
            "oidc-provider",
            url=f"https://{GITHUB_OIDC_HOST}",
            client_id_list=[GITHUB_AUDIENCE],
            # No thumbprint_list (optional since provider 5.81): IAM verifies GitHub's certificate
            # against its trusted root CAs; a pinned thumbprint would only break the trust on
            # GitHub's next certificate renewal (as in modules/security/terraform_cloud.py).
            provider=provider,
        )
        self.arn: str = oidc.arn


def trust_policy(provider_arn: str, subject: str, sid: str) -> str:
    """Jobs of exactly one repository and GitHub environment, with a token for AWS STS."""
    return iam.document(
        {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": GITHUB_AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": subject,
                }
            },
        }
    )


def task_definition_arn(partition: str, region: str, account_id: str, family: str) -> str:
    """Every revision of one task definition family."""
    return f"arn:{partition}:ecs:{region}:{account_id}:task-definition/{family}:*"


def deploy_statements(
    *,
    partition: str,
    region: str,
    account_id: str,
    services: tuple[DeployedService, ...],
    upstream_repository_arns: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Build, push (or promote) and roll out exactly `services`, and nothing else."""
    statements: list[dict[str, Any]] = [
        {"Sid": "LogInToRegistry", "Effect": "Allow", "Action": list(ECR_LOGIN_ACTIONS), "Resource": "*"},
        {
            "Sid": "PushEnvironmentImages",
            "Effect": "Allow",
            "Action": list(ECR_PUSH_ACTIONS),
            "Resource": [service.repository_arn for service in services],
        },
    ]
    if upstream_repository_arns:
        statements.append(
            {
                # Promotion by digest: the image built in the first environment, never rebuilt.
                "Sid": "PullUpstreamImages",
                "Effect": "Allow",
                "Action": list(ECR_PULL_ACTIONS),
                "Resource": list(upstream_repository_arns),
            }
        )
    statements += [
        {
            # RegisterTaskDefinition authorizes on the task-definition resource type
            # (task-definition/<family>:<revision>, Service Authorization Reference), so a deploy
            # registers revisions of its own services' families only.
            "Sid": "RegisterServiceTaskDefinitions",
            "Effect": "Allow",
            "Action": "ecs:RegisterTaskDefinition",
            "Resource": [
                task_definition_arn(partition, region, account_id, service.task_definition_family)
                for service in services
            ],
        },
        {
            # DescribeTaskDefinition supports no resource-level permission (Resource must be "*").
            # The deploy job reads the current revision to render the next one; a revision holds
            # configuration and references to secrets, never their values.
            "Sid": "DescribeTaskDefinitions",
            "Effect": "Allow",
            "Action": "ecs:DescribeTaskDefinition",
            "Resource": "*",
        },
        {
            "Sid": "RollOutServices",
            "Effect": "Allow",
            "Action": list(ROLL_OUT_ACTIONS),
            "Resource": [service.service_arn for service in services],
        },
        {
            # A new revision names the services' roles; registering it passes them, to ECS tasks only.
            "Sid": "PassServiceRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [
                arn for service in services for arn in (service.task_role_arn, service.execution_role_arn)
            ],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
    ]
    return statements


def bucket_name(bucket_arn: str) -> str:
    """`arn:<partition>:s3:::<name>` -> `<name>`."""
    return bucket_arn.rsplit(":", 1)[1]


def state_objects(state: StateAccess) -> str:
    return f"{state.bucket_arn}/{state.state_prefix}*"


def state_statements(state: StateAccess) -> list[dict[str, Any]]:
    """A plan's use of its own S3 state: list and read it, take and release its lock, with the
    state key through S3 (and DynamoDB), nothing of another environment's state."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListState",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": state.bucket_arn,
            # init lists the workspaces: their names only, each workspace's state is an object
            "Condition": {
                "StringLike": {"s3:prefix": [f"{state.state_prefix}*", f"{state.workspaces_prefix}*"]}
            },
        },
        {
            "Sid": "ReadState",
            "Effect": "Allow",
            "Action": list(STATE_READ_ACTIONS),
            "Resource": state_objects(state),
        },
    ]
    services = [f"s3.{state.state_region}.amazonaws.com"]
    if state.lock_files:
        statements.append(
            {
                "Sid": "LockStateWithLockFiles",
                "Effect": "Allow",
                "Action": list(LOCK_FILE_ACTIONS),
                "Resource": f"{state.bucket_arn}/{state.state_prefix}*.tflock",
            }
        )
    if state.lock_table_arn is not None:
        services.append(f"dynamodb.{state.state_region}.amazonaws.com")
        statements.append(
            {
                # Lock and digest items are keyed `<bucket>/<state key>`: this environment's only.
                "Sid": "LockStateWithLockTable",
                "Effect": "Allow",
                "Action": list(LOCK_ITEM_ACTIONS),
                "Resource": state.lock_table_arn,
                "Condition": {
                    "ForAllValues:StringLike": {
                        "dynamodb:LeadingKeys": [f"{bucket_name(state.bucket_arn)}/{state.state_prefix}*"]
                    }
                },
            }
        )
    # An identity policy cannot name a key by its alias in Resource (that names the alias itself).
    # kms:RequestAlias would not do either: S3 and DynamoDB call KMS with the key ID, and Decrypt names
    # no key at all. kms:ResourceAliases matches the aliases of the key actually used, however the
    # request names it; with the keys of the state's account and region, and through S3 (and DynamoDB)
    # only, this is the state key and the state's own use of it.
    arn_head, alias = state.state_key_arn.rsplit(":", 1)
    statements.append(
        {
            "Sid": "UseStateKey",
            "Effect": "Allow",
            "Action": list(STATE_KEY_ACTIONS),
            "Resource": f"{arn_head}:key/*",
            "Condition": {
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": alias},
                "StringEquals": {"kms:ViaService": services},
            },
        }
    )
    return statements


def plan_statements(props: GitHubRolesProps, state: StateAccess) -> list[dict[str, Any]]:
    """What a plan needs beyond ReadOnlyAccess, and the data reads it never needs."""
    spared = [state_objects(state)]
    if state.lock_table_arn is not None:
        spared.append(state.lock_table_arn)
    return [
        *state_statements(state),
        *secret_refresh_statements(
            partition=props.partition,
            region=props.region,
            account_id=props.account_id,
            environment=props.environment,
            secret_prefix=props.secret_prefix,
        ),
        {
            # A plan runs a pull request's code: no data it does not need (another environment's
            # state in a shared bucket included); its own state and lock stay readable.
            "Sid": "DenyDataReadsButState",
            "Effect": "Deny",
            "Action": list(DATA_READ_ACTIONS),
            "NotResource": spared,
        },
    ]


class GitHubRoles(Construct):
    """One environment's GitHub Actions roles: `<deploy_role_name>` when it has services,
    `<plan_role_name>` and `<apply_role_name>` when its state is in S3 (Terraform Cloud
    environments use the Terraform Cloud roles instead). Each in its own scope (`deploy`, `plan`,
    `apply`) holding `role` and its policies.

    `provider`: the AWS provider of the environment's account (None: the stack's default one).
    Exposes `deploy_role_arn`, `plan_role_arn` and `apply_role_arn` (None when not made).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        props: GitHubRolesProps,
        provider: aws.provider.AwsProvider | None = None,
    ) -> None:
        super().__init__(scope, id)
        self._props, self._provider = props, provider
        self.deploy_role_arn: str | None = None
        self.plan_role_arn: str | None = None
        self.apply_role_arn: str | None = None
        if props.services:
            of_deploy = Construct(self, "deploy")
            deploy = self._role(of_deploy, props.deploy_role_name, props.deploy_subject)
            statements = deploy_statements(
                partition=props.partition,
                region=props.region,
                account_id=props.account_id,
                services=props.services,
                upstream_repository_arns=props.upstream_repository_arns,
            )
            self._inline(of_deploy, deploy, f"{props.deploy_role_name}-services", statements)
            self.deploy_role_arn = deploy.arn
        if props.terraform is not None:
            of_plan = Construct(self, "plan")
            plan = self._role(of_plan, props.plan_role_name, props.plan_subject)
            self._managed(of_plan, plan, "plan")
            self._inline(
                of_plan, plan, f"{props.plan_role_name}-refresh", plan_statements(props, props.terraform)
            )
            self.plan_role_arn = plan.arn
            of_apply = Construct(self, "apply")
            apply = self._role(of_apply, props.apply_role_name, props.apply_subject)
            self._managed(of_apply, apply, "apply")
            self.apply_role_arn = apply.arn

    def _role(self, scope: Construct, name: str, subject: str) -> aws.iam_role.IamRole:
        """The role of one kind of job (the scope's ID), trusting exactly `subject`."""
        job = scope.node.id
        return aws.iam_role.IamRole(
            scope,
            "role",
            name=name,
            description=f"GitHub Actions {job} jobs of {self._props.environment} in {self._props.repository}",
            assume_role_policy=trust_policy(
                self._props.provider_arn, subject, f"GitHubActions{job.capitalize()}Jobs"
            ),
            # A job's credentials last as long as it needs them, at most one hour (the default).
            max_session_duration=MAX_SESSION_SECONDS,
            provider=self._provider,
        )

    def _managed(self, scope: Construct, role: aws.iam_role.IamRole, phase: Phase) -> None:
        construct_id, managed = MANAGED_POLICIES[phase]
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            scope,
            construct_id,
            role=role.name,
            policy_arn=f"arn:{self._props.partition}:iam::aws:policy/{managed}",
            provider=self._provider,
        )

    def _inline(
        self, scope: Construct, role: aws.iam_role.IamRole, name: str, statements: list[dict[str, Any]]
    ) -> None:
        aws.iam_role_policy.IamRolePolicy(
            scope,
            "policy",
            name=name,
            role=role.id,
            policy=iam.document(*statements),
            provider=self._provider,
        )
