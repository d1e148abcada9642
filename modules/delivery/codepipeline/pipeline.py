"""One service's CodePipeline (V2): GitHub source through a CodeConnections connection, a CodeBuild
build that pushes the image and names it by digest, a manual approval where the environment asks for
one, and the ECS deploy; its artifact bucket, its two roles, and a rule that reports its failures.

Who may do what, and why:
- CodeBuild (role `<prefix>-<service>-build`, trusted by CodeBuild for this account only): write its
  own log group; read and write the artifact bucket's objects (the source zip in, imagedefinitions.json
  out), encrypting and decrypting them with the environment key through S3 only; log in to ECR
  (GetAuthorizationToken has no resource) and push to, and describe, exactly this service's
  repository. It cannot deploy: the deploy is the pipeline's.
- CodePipeline (role `<prefix>-<service>-pipeline`, trusted by CodePipeline for this account only):
  the artifact bucket and the key the same way; use exactly this environment's connection; start and
  read builds of exactly this project; register (and tag while registering) revisions of exactly
  this service's task definition family, and update and describe exactly this service; list and describe the
  cluster's tasks while it watches the deployment; pass exactly the service's task and execution
  roles, and only to ECS tasks.

The ECS deploy action copies the task definition the service runs, swaps in the image of
imagedefinitions.json and updates the service; the deployment circuit breaker (compute/) still rolls
back a release that never becomes healthy. Terraform must not own the running image of such a
service (`deploy_owner = "pipeline"`), or the next apply reverts the deploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modules.cdk import Construct, aws
from modules.config.delivery import build_log_group_name, build_project_name
from modules.core import iam
from modules.core.naming import bounded, bucket_name
from modules.data.bucket import ABORT_INCOMPLETE_UPLOAD_DAYS, PrivateBucket, PrivateBucketProps
from modules.notifications.events import COMMON_PATHS, Notice, notice_template

if TYPE_CHECKING:
    from jinja2 import Environment as Jinja

BUILDSPEC_TEMPLATE = "buildspec.yml.j2"
IMAGE_DEFINITIONS = "imagedefinitions.json"  # what the build writes and the ECS action reads
# AWS name limits.
PIPELINE_NAME_LIMIT = 100
ROLE_NAME_LIMIT = 64
RULE_NAME_LIMIT = 64
# The build: one docker build of one service needs no more than the smallest instance, and a build
# still running after half an hour is stuck, not slow.
COMPUTE_TYPE = "BUILD_GENERAL1_SMALL"
# Amazon Linux 2023 standard image, with Docker and the AWS CLI; CodeBuild keeps the major version's
# latest patch cached on its hosts.
BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
BUILD_TIMEOUT_MINUTES = 30
# Artifacts are the source zip and imagedefinitions.json of each run: reproducible from the commit,
# kept a month for a retry or a look, superseded versions a week.
ARTIFACT_EXPIRATION_DAYS = 30
ARTIFACT_NONCURRENT_VERSION_DAYS = 7
# Action and artifact names: fixed, the trigger names the source action.
SOURCE_ACTION = "Source"
SOURCE_OUTPUT = "source"
BUILD_OUTPUT = "image"
CODEBUILD_SERVICE = "codebuild.amazonaws.com"
CODEPIPELINE_SERVICE = "codepipeline.amazonaws.com"
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
# Pushing an image: upload its layers and its manifest; DescribeImages finds a commit's image again
# when a run is retried (the buildspec reuses it instead of pushing a tag that exists).
ECR_PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
CONNECTION_PREFIXES = ("codestar-connections", "codeconnections")
# Reading an SSE-KMS object decrypts its data key; writing one generates a data key.
ARTIFACT_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def artifact_bucket_name(prefix: str, service: str, account_id: str, region: str) -> str:
    """`<prefix>-<service>-pipeline-<account>-<region>`, the head shortened with a hash past 63
    characters (account and region make the global name unique without a random suffix)."""
    return bucket_name(f"{prefix}-{service}", f"-pipeline-{account_id}-{region}")


def pipeline_log_bucket_name(prefix: str, account_id: str, region: str) -> str:
    """`<prefix>-pipeline-logs-<account>-<region>`: the S3 server access logs of the environment's
    artifact buckets, the prefix shortened with a hash past 63 characters. No artifact bucket's name
    has "-pipeline-logs-" before its account id."""
    return bucket_name(prefix, f"-pipeline-logs-{account_id}-{region}")


@dataclass(frozen=True)
class ServicePipelineProps:
    """What one service's pipeline needs; every value comes from config or another construct."""

    prefix: str  # "<project>-<env>"
    service: str
    partition: str
    region: str
    account_id: str
    kms_key_arn: str  # the environment key: artifacts, build output, the build's log group
    repository: str  # GitHub "org/name"
    branch: str  # a push to it starts the pipeline
    source: str  # the build context directory in the repository, e.g. "services/api"
    connection_arn: str  # a CodeConnections (or CodeStar Connections) connection to GitHub
    repository_url: str  # the service's ECR repository: "<account>.dkr.ecr.<region>.amazonaws.com/<name>"
    repository_arn: str
    cluster_name: str
    ecs_service_name: str
    container_name: str  # the container imagedefinitions.json names
    task_definition_family: str  # "<prefix>-<service>": the action registers revisions of it
    task_role_arn: str
    execution_role_arn: str
    log_retention_days: int
    approval: bool  # a manual approval stage before the deploy
    deployments_topic_arn: str  # where a failed execution is reported
    access_log_bucket: str | None  # S3 server access logs of the artifact bucket; None: not logged

    @property
    def pipeline_name(self) -> str:
        return bounded(f"{self.prefix}-{self.service}", PIPELINE_NAME_LIMIT)

    @property
    def project_name(self) -> str:
        return build_project_name(self.prefix, self.service)

    @property
    def log_group_name(self) -> str:
        return build_log_group_name(self.project_name)

    @property
    def bucket_name(self) -> str:
        return artifact_bucket_name(self.prefix, self.service, self.account_id, self.region)

    @property
    def build_role_name(self) -> str:
        return bounded(f"{self.prefix}-{self.service}-build", ROLE_NAME_LIMIT)

    @property
    def pipeline_role_name(self) -> str:
        return bounded(f"{self.prefix}-{self.service}-pipeline", ROLE_NAME_LIMIT)

    @property
    def failure_rule_name(self) -> str:
        return bounded(f"{self.prefix}-{self.service}-pipeline-failed", RULE_NAME_LIMIT)

    @property
    def service_arn(self) -> str:
        return (
            f"arn:{self.partition}:ecs:{self.region}:{self.account_id}:"
            f"service/{self.cluster_name}/{self.ecs_service_name}"
        )

    @property
    def cluster_arn(self) -> str:
        return f"arn:{self.partition}:ecs:{self.region}:{self.account_id}:cluster/{self.cluster_name}"

    @property
    def task_definition_arn(self) -> str:
        """Every revision of the service's task definition family."""
        return (
            f"arn:{self.partition}:ecs:{self.region}:{self.account_id}:"
            f"task-definition/{self.task_definition_family}:*"
        )

    @property
    def task_arn_prefix(self) -> str:
        """The cluster's tasks are `<this>/<task id>`."""
        return f"arn:{self.partition}:ecs:{self.region}:{self.account_id}:task/{self.cluster_name}"

    @property
    def source_paths(self) -> str:
        """The trigger's file path filter: anything under the build context."""
        return f"{self.source.strip('/')}/**"


# --- the buildspec ------------------------------------------------------------------------------


@cache
def _templates() -> Jinja:
    # Imported when a pipeline is built: jinja2's import (about 40 ms) is spent only by the synths
    # of environments that deliver with codepipeline.
    from jinja2 import Environment as Jinja
    from jinja2 import FileSystemLoader, StrictUndefined

    # YAML, not HTML: no autoescape; each value goes through `quote` (a JSON string is a valid YAML
    # double-quoted scalar). An undefined name fails the render instead of printing nothing.
    jinja = Jinja(
        loader=FileSystemLoader(Path(__file__).resolve().parent),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    jinja.filters["quote"] = json.dumps
    return jinja


def render_buildspec(props: ServicePipelineProps) -> str:
    """The project's buildspec: log in to ECR, build `source` once per commit, push it tagged with
    the commit, write imagedefinitions.json with the image's digest."""
    return (
        _templates()
        .get_template(BUILDSPEC_TEMPLATE)
        .render(
            prefix=props.prefix,
            service=props.service,
            source=props.source,
            repository_url=props.repository_url,
            container_name=props.container_name,
            image_definitions=IMAGE_DEFINITIONS,
        )
    )


# --- permissions --------------------------------------------------------------------------------


def artifact_statements(
    bucket_arn: str, kms_key_arn: str, region: str, *, object_acl: bool
) -> list[dict[str, Any]]:
    """Read and write the artifact bucket's objects, with the environment key through S3 only.

    `object_acl`: also s3:PutObjectAcl, which CodePipeline's own service role policy lists (an
    upload that sends bucket-owner-full-control needs it); with ACLs disabled (BucketOwnerEnforced)
    that is the only ACL S3 accepts, so it grants nothing more. CodeBuild sends none."""
    object_actions = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    return [
        {
            "Sid": "ArtifactObjects",
            "Effect": "Allow",
            "Action": [*object_actions, "s3:PutObjectAcl"] if object_acl else object_actions,
            "Resource": f"{bucket_arn}/*",
        },
        {
            "Sid": "ArtifactBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
            "Resource": bucket_arn,
        },
        {
            "Sid": "ArtifactKey",
            "Effect": "Allow",
            "Action": list(ARTIFACT_KEY_ACTIONS),
            "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    ]


def use_connection_actions(connection_arn: str) -> list[str] | str:
    """UseConnection under the service prefix of the connection's ARN: IAM matches an action only
    to resources of its own prefix, and since the CodeStar Connections rename a connection's ARN is
    `codestar-connections` (created through the old API, as Terraform's
    aws_codestarconnections_connection does) or `codeconnections` (the console's since July 2024).
    A reference not known until apply gets both, on that one ARN."""
    for prefix in CONNECTION_PREFIXES:
        if connection_arn.startswith("arn:") and connection_arn.split(":")[2:3] == [prefix]:
            return f"{prefix}:UseConnection"
    return [f"{prefix}:UseConnection" for prefix in CONNECTION_PREFIXES]


def build_statements(
    *, log_group_arn: str, bucket_arn: str, kms_key_arn: str, repository_arn: str, region: str
) -> list[dict[str, Any]]:
    """The CodeBuild role: its logs, the artifacts, and pushing to exactly one repository.

    No KMS statement for the logs: CloudWatch Logs encrypts a group's events itself, with the key
    policy's grant to the Logs service; a writer needs no key permission."""
    return [
        iam.write_log_group("WriteOwnLogs", log_group_arn),
        *artifact_statements(bucket_arn, kms_key_arn, region, object_acl=False),
        {
            # GetAuthorizationToken has no resource: the token's scope is what the role may push.
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "PushServiceImage",
            "Effect": "Allow",
            "Action": list(ECR_PUSH_ACTIONS),
            "Resource": repository_arn,
        },
    ]


def pipeline_statements(
    props: ServicePipelineProps, *, bucket_arn: str, project_arn: str
) -> list[dict[str, Any]]:
    """The CodePipeline role: artifacts, the connection, the build, and the deploy of one service."""
    return [
        *artifact_statements(bucket_arn, props.kms_key_arn, props.region, object_acl=True),
        {
            "Sid": "UseConnection",
            "Effect": "Allow",
            "Action": use_connection_actions(props.connection_arn),
            "Resource": props.connection_arn,
        },
        {
            "Sid": "RunBuild",
            "Effect": "Allow",
            "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
            "Resource": project_arn,
        },
        {
            "Sid": "DeployService",
            "Effect": "Allow",
            "Action": ["ecs:DescribeServices", "ecs:UpdateService"],
            "Resource": props.service_arn,
        },
        {
            # RegisterTaskDefinition authorizes on task-definition/<family>:<revision> (Service
            # Authorization Reference): the action registers revisions of this family only.
            "Sid": "RegisterTaskDefinition",
            "Effect": "Allow",
            "Action": "ecs:RegisterTaskDefinition",
            "Resource": props.task_definition_arn,
        },
        {
            # The copy keeps the running revision's tags, which registering applies: tagging only
            # as part of registering this family.
            "Sid": "TagTaskDefinitionOnRegister",
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": props.task_definition_arn,
            "Condition": {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
        },
        {
            # DescribeTaskDefinition has no resource-level permission: the action reads the
            # running revision to copy it (configuration and secret references, never values).
            "Sid": "DescribeTaskDefinition",
            "Effect": "Allow",
            "Action": "ecs:DescribeTaskDefinition",
            "Resource": "*",
        },
        {
            # The action watches the deployment's tasks: only this cluster's.
            "Sid": "WatchDeploymentTasks",
            "Effect": "Allow",
            "Action": "ecs:DescribeTasks",
            "Resource": f"{props.task_arn_prefix}/*",
        },
        {
            # ListTasks names no task ARN; the condition keeps it to this cluster.
            "Sid": "ListClusterTasks",
            "Effect": "Allow",
            "Action": "ecs:ListTasks",
            "Resource": "*",
            "Condition": {"ArnEquals": {"ecs:cluster": props.cluster_arn}},
        },
        {
            "Sid": "PassServiceRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [props.task_role_arn, props.execution_role_arn],
            "Condition": {"StringEquals": {"iam:PassedToService": ECS_TASKS_SERVICE}},
        },
    ]


# --- the failure notice -------------------------------------------------------------------------


def failure_notice(props: ServicePipelineProps) -> Notice:
    """A failed execution of this pipeline, as the notice the Discord notifier reads (kind
    "pipeline": it links the pipeline's console page). Warning, not critical: the service keeps
    running the release it had."""
    return Notice(
        kind="pipeline",
        purpose=f"{props.service}-pipeline-failed",
        description=f"A run of the {props.pipeline_name} pipeline failed",
        pattern={
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Pipeline Execution State Change"],
            "detail": {"pipeline": [props.pipeline_name], "state": ["FAILED"]},
        },
        topic="deployments",
        paths={
            "pipeline": "$.detail.pipeline",
            "arn": "$.resources[0]",
            "execution": "$.detail.execution-id",
            **COMMON_PATHS,
        },
        template=notice_template(
            "pipeline",
            "warning",
            "Pipeline <pipeline> failed",
            "<arn>",
            "Execution <execution> failed; its page names the stage and action.",
        ),
    )


# --- the construct ------------------------------------------------------------------------------


def _service_role(
    scope: Construct,
    *,
    name: str,
    description: str,
    service: str,
    sid: str,
    account_id: str,
    policy_name: str,
    statements: list[dict[str, Any]],
) -> tuple[Any, Any]:
    """A role `service` may assume for this account only, and its one inline policy: (role, policy)."""
    role = aws.iam_role.IamRole(
        scope,
        "role",
        name=name,
        description=description,
        assume_role_policy=iam.service_trust(service, source_account=account_id, sid=sid),
    )
    policy = aws.iam_role_policy.IamRolePolicy(
        scope, "role-policy", name=policy_name, role=role.id, policy=iam.document(*statements)
    )
    return role, policy


class ServicePipeline(Construct):
    """For one service:
    - `artifacts`: the artifact bucket (hardened baseline, SSE-KMS with the environment key; runs'
      artifacts expire after ARTIFACT_EXPIRATION_DAYS);
    - `build/`: the CodeBuild project `<prefix>-<service>-build` (small Linux container,
      privileged for the Docker daemon, output encrypted with the environment key, logs in its own
      group with retention and the key, no S3 logs) and its role;
    - `pipeline/`: the pipeline `<prefix>-<service>` (V2): Source (the connection, the branch, a
      push under `source` starts it), Build, Approval (when `approval`), Deploy (ECS), its artifact
      store encrypted with the environment key; and its role;
    - `failed`: an EventBridge rule sending each failed execution to the deployments topic.

    Exposes `pipeline_name`, `pipeline_arn`, `project_name` and `artifact_bucket_name`.
    """

    def __init__(self, scope: Construct, id: str, props: ServicePipelineProps) -> None:
        super().__init__(scope, id)
        bucket = PrivateBucket(
            self,
            "artifacts",
            PrivateBucketProps(
                name=props.bucket_name,
                partition=props.partition,
                kms_key_arn=props.kms_key_arn,
                noncurrent_version_days=ARTIFACT_NONCURRENT_VERSION_DAYS,
                expiration_days=ARTIFACT_EXPIRATION_DAYS,
                abort_incomplete_upload_days=ABORT_INCOMPLETE_UPLOAD_DAYS,
                transitions=(),
                cors_origins=(),
                object_lock_days=None,
                policy_statements=(),
                access_log_bucket=props.access_log_bucket,
                access_log_prefix=f"{props.bucket_name}/",
                prevent_destroy=False,  # artifacts are rebuilt from the commit
                tags={},
            ),
        )
        project = self._build(props, bucket.arn)
        pipeline = self._pipeline(props, bucket.name, bucket.arn, project)
        self._failure_rule(props)
        self.pipeline_name: str = pipeline.name
        self.pipeline_arn: str = pipeline.arn
        self.project_name: str = project.name
        self.artifact_bucket_name: str = bucket.name

    def _build(self, props: ServicePipelineProps, bucket_arn: str) -> Any:
        scope = Construct(self, "build")
        log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            scope,
            "log-group",
            name=props.log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        role, role_policy = _service_role(
            scope,
            name=props.build_role_name,
            description=f"CodeBuild of {props.pipeline_name}: its logs, its artifacts, its repository",
            service=CODEBUILD_SERVICE,
            sid="CodeBuildAssumesRole",
            account_id=props.account_id,
            policy_name="logs-artifacts-push",
            statements=build_statements(
                log_group_arn=log_group.arn,
                bucket_arn=bucket_arn,
                kms_key_arn=props.kms_key_arn,
                repository_arn=props.repository_arn,
                region=props.region,
            ),
        )
        codebuild = aws.codebuild_project
        return codebuild.CodebuildProject(
            scope,
            "project",
            name=props.project_name,
            description=f"Builds and pushes the {props.service} image of {props.prefix}",
            service_role=role.arn,
            build_timeout=BUILD_TIMEOUT_MINUTES,
            # Build output (imagedefinitions.json) is encrypted with the environment key.
            encryption_key=props.kms_key_arn,
            source=codebuild.CodebuildProjectSource(type="CODEPIPELINE", buildspec=render_buildspec(props)),
            artifacts=codebuild.CodebuildProjectArtifacts(type="CODEPIPELINE"),
            environment=codebuild.CodebuildProjectEnvironment(
                type="LINUX_CONTAINER",
                compute_type=COMPUTE_TYPE,
                image=BUILD_IMAGE,
                image_pull_credentials_type="CODEBUILD",
                # Privileged only because `docker build` needs the Docker daemon, which runs in the
                # build container; the build runs this repository's code only.
                privileged_mode=True,
            ),
            logs_config=codebuild.CodebuildProjectLogsConfig(
                cloudwatch_logs=codebuild.CodebuildProjectLogsConfigCloudwatchLogs(
                    status="ENABLED", group_name=log_group.name
                ),
                s3_logs=codebuild.CodebuildProjectLogsConfigS3Logs(status="DISABLED"),
            ),
            # The first build finds its role's permissions in place.
            depends_on=[role_policy],
        )

    def _pipeline(self, props: ServicePipelineProps, bucket_name: str, bucket_arn: str, project: Any) -> Any:
        scope = Construct(self, "pipeline")
        role, role_policy = _service_role(
            scope,
            name=props.pipeline_role_name,
            description=f"{props.pipeline_name}: its artifacts, connection, build and ECS service",
            service=CODEPIPELINE_SERVICE,
            sid="CodePipelineAssumesRole",
            account_id=props.account_id,
            policy_name="artifacts-source-build-deploy",
            statements=pipeline_statements(props, bucket_arn=bucket_arn, project_arn=project.arn),
        )
        cp = aws.codepipeline
        return cp.Codepipeline(
            scope,
            "pipeline",
            name=props.pipeline_name,
            pipeline_type="V2",
            role_arn=role.arn,
            artifact_store=[
                cp.CodepipelineArtifactStore(
                    type="S3",
                    location=bucket_name,
                    encryption_key=cp.CodepipelineArtifactStoreEncryptionKey(
                        type="KMS", id=props.kms_key_arn
                    ),
                )
            ],
            stage=[
                cp.CodepipelineStage(name=name, action=[action]) for name, action in _stages(props, project)
            ],
            # A push to the branch touching the build context starts a run; other pushes to the
            # repository (another service, docs) do not. A trigger replaces the source action's
            # default change detection (DetectChanges: every push to BranchName) with its filters.
            trigger=[
                cp.CodepipelineTrigger(
                    provider_type="CodeStarSourceConnection",
                    git_configuration=cp.CodepipelineTriggerGitConfiguration(
                        source_action_name=SOURCE_ACTION,
                        push=[
                            cp.CodepipelineTriggerGitConfigurationPush(
                                branches=cp.CodepipelineTriggerGitConfigurationPushBranches(
                                    includes=[props.branch]
                                ),
                                file_paths=cp.CodepipelineTriggerGitConfigurationPushFilePaths(
                                    includes=[props.source_paths]
                                ),
                            )
                        ],
                    ),
                )
            ],
            # CodePipeline starts a run on creation: it must find its permissions in place.
            depends_on=[role_policy],
        )

    def _failure_rule(self, props: ServicePipelineProps) -> None:
        notice = failure_notice(props)
        rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "failed",
            name=props.failure_rule_name,
            description=notice.description,
            event_pattern=json.dumps(notice.pattern, sort_keys=True),
        )
        target = aws.cloudwatch_event_target
        target.CloudwatchEventTarget(
            rule,
            f"to-{notice.topic}",
            rule=rule.name,
            target_id=notice.topic,
            arn=props.deployments_topic_arn,
            input_transformer=target.CloudwatchEventTargetInputTransformer(
                input_paths=notice.paths, input_template=notice.template
            ),
        )


def _stages(props: ServicePipelineProps, project: Any) -> list[tuple[str, Any]]:
    """(stage name, its one action), in order; the approval only when the environment asks."""
    cp = aws.codepipeline
    source = cp.CodepipelineStageAction(
        name=SOURCE_ACTION,
        category="Source",
        owner="AWS",
        provider="CodeStarSourceConnection",
        version="1",
        output_artifacts=[SOURCE_OUTPUT],
        configuration={
            "ConnectionArn": props.connection_arn,
            "FullRepositoryId": props.repository,
            "BranchName": props.branch,
            "OutputArtifactFormat": "CODE_ZIP",
            "DetectChanges": "true",
        },
    )
    build = cp.CodepipelineStageAction(
        name="Build",
        category="Build",
        owner="AWS",
        provider="CodeBuild",
        version="1",
        input_artifacts=[SOURCE_OUTPUT],
        output_artifacts=[BUILD_OUTPUT],
        configuration={"ProjectName": project.name},
    )
    approval = cp.CodepipelineStageAction(
        name="Approve",
        category="Approval",
        owner="AWS",
        provider="Manual",
        version="1",
        configuration={"CustomData": f"Deploy the {props.service} image just built to {props.prefix}?"},
    )
    deploy = cp.CodepipelineStageAction(
        name="Deploy",
        category="Deploy",
        owner="AWS",
        provider="ECS",
        version="1",
        input_artifacts=[BUILD_OUTPUT],
        configuration={
            "ClusterName": props.cluster_name,
            "ServiceName": props.ecs_service_name,
            "FileName": IMAGE_DEFINITIONS,
        },
    )
    stages = [("Source", source), ("Build", build)]
    if props.approval:
        stages.append(("Approval", approval))
    stages.append(("Deploy", deploy))
    return stages
