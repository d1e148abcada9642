"""modules/delivery/workflows/: the infrastructure workflow (synth check, plans on pull requests,
applies in promotion order) and one deploy workflow per service (built once, promoted by digest).

The fixture project: dev and stg on the S3 backend, prod on Terraform Cloud, each in its own
account; `api` runs in all three, `worker` only in dev and prod. The workflows are read back with
PyYAML (installed with the dev extra, through moto[server]); actionlint, with shellcheck on every
`run:` script, is the real check, in the policy tier.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from modules.delivery.workflows import (
    ACTIONS,
    InfrastructureStage,
    ServiceStage,
    ServiceWorkflow,
    Workflows,
    render_workflows,
)

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
ACCOUNTS = {"dev": "111111111111", "stg": "222222222222", "prod": "333333333333"}
S3 = ("dev", "stg")
ORDER = ("dev", "stg", "prod")
SERVICES = {"api": ("dev", "stg", "prod"), "worker": ("dev", "prod")}
# The inputs each action actionlint has no metadata for declares in its action.yml at the pinned
# commit (actionlint checks those of actions/* and configure-aws-credentials itself).
DECLARED_INPUTS = {
    "hashicorp/setup-terraform": {
        "cli_config_credentials_hostname",
        "cli_config_credentials_token",
        "terraform_version",
        "terraform_wrapper",
    },
    "aws-actions/amazon-ecr-login": {
        "http-proxy",
        "mask-password",
        "registries",
        "registry-type",
        "skip-logout",
    },
    "aws-actions/amazon-ecs-render-task-definition": {
        "command",
        "container-name",
        "docker-labels",
        "env-files",
        "environment-variables",
        "execution-role-arn",
        "image",
        "log-configuration-log-driver",
        "log-configuration-options",
        "secrets",
        "task-definition",
        "task-definition-arn",
        "task-definition-family",
        "task-definition-revision",
        "task-role-arn",
    },
    "aws-actions/amazon-ecs-deploy-task-definition": {
        "cluster",
        "codedeploy-application",
        "codedeploy-appspec",
        "codedeploy-deployment-config",
        "codedeploy-deployment-description",
        "codedeploy-deployment-group",
        "desired-count",
        "enable-ecs-managed-tags",
        "force-new-deployment",
        "keep-null-value-keys",
        "max-retries",
        "propagate-tags",
        "run-task",
        "run-task-assign-public-IP",
        "run-task-capacity-provider-strategy",
        "run-task-container-overrides",
        "run-task-launch-type",
        "run-task-managed-ebs-volume",
        "run-task-managed-ebs-volume-name",
        "run-task-security-groups",
        "run-task-started-by",
        "run-task-subnets",
        "run-task-tags",
        "service",
        "service-managed-ebs-volume",
        "service-managed-ebs-volume-name",
        "task-definition",
        "wait-for-minutes",
        "wait-for-service-stability",
        "wait-for-task-stopped",
        "wait-max-delay-seconds",
    },
}


def role(env: str, kind: str) -> str:
    return f"arn:aws:iam::{ACCOUNTS[env]}:role/acme-{env}-github-{kind}"


def registry(env: str) -> str:
    return f"{ACCOUNTS[env]}.dkr.ecr.{REGION}.amazonaws.com"


def infrastructure_stage(env: str) -> InfrastructureStage:
    s3 = env in S3
    return InfrastructureStage(
        environment=env,
        backend="s3" if s3 else "cloud",
        stack_dir=f"generated/stacks/{env}",
        region=REGION,
        plan_role_arn=role(env, "plan") if s3 else None,
        apply_role_arn=role(env, "apply") if s3 else None,
        github_environment=env,
        plan_github_environment=f"{env}-plan",
    )


def service_stage(env: str, service: str) -> ServiceStage:
    prefix = f"acme-{env}"
    return ServiceStage(
        environment=env,
        region=REGION,
        registry=registry(env),
        repository=f"{prefix}/{service}",
        cluster=prefix,
        ecs_service=f"{prefix}-{service}",
        task_definition_family=f"{prefix}-{service}",
        container_name=service,
        deploy_role_arn=role(env, "deploy"),
        github_environment=env,
    )


def model(**changes: Any) -> Workflows:
    fields: dict[str, Any] = {
        "project": "acme",
        "repository": "acme-corp/platform",
        "branch": "main",
        "terraform_version": "1.11.4",
        "python_version": "3.11",
        "infrastructure": tuple(infrastructure_stage(env) for env in ORDER),
        "services": tuple(
            ServiceWorkflow(
                service=name,
                source=f"services/{name}",
                stages=tuple(service_stage(env, name) for env in envs),
            )
            for name, envs in SERVICES.items()
        ),
    }
    return Workflows(**{**fields, **changes})


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return render_workflows(model())


def load(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    # YAML 1.1 reads the bare key `on` as a boolean; GitHub reads it as the string
    document["on"] = document.pop(True)
    return document


def steps(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(s["run"] for s in job["steps"] if "run" in s)


def credentials(job: dict[str, Any]) -> dict[str, str]:
    (step,) = steps(job, "aws-actions/configure-aws-credentials")
    return step["with"]


# --- the files -----------------------------------------------------------------------------------


def test_one_infrastructure_workflow_and_one_deploy_workflow_per_service(files: dict[str, str]) -> None:
    assert list(files) == ["deploy-api.yml", "deploy-worker.yml", "infrastructure.yml"]
    for name, text in files.items():
        document = load(text)
        assert document["jobs"], name
        assert document["permissions"] == {"contents": "read"}, name  # jobs widen only what they need


def test_rendering_is_deterministic(files: dict[str, str]) -> None:
    """The same model renders the same bytes, here and in processes with other hash seeds."""
    assert render_workflows(model()) == files
    child = (
        "import json, sys; sys.path.insert(0, 'synth_tests/delivery'); import test_workflows as t; "
        "print(json.dumps(t.render_workflows(t.model())))"
    )
    for seed in ("1", "2"):
        environment = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"} | {"PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", child],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(result.stdout) == files


def test_no_long_lived_aws_keys_anywhere(files: dict[str, str]) -> None:
    for name, text in files.items():
        for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "secrets."):
            assert forbidden not in text, (name, forbidden)
        for job_id, job in load(text)["jobs"].items():
            if steps(job, "aws-actions/configure-aws-credentials"):
                assert job["permissions"]["id-token"] == "write", (name, job_id)  # OIDC


def test_every_action_is_pinned_to_the_commit_in_the_pin_table(files: dict[str, str]) -> None:
    used = set()
    for name, text in files.items():
        for line in text.splitlines():
            if "uses:" not in line:
                continue
            found = re.fullmatch(r"\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)", line)
            assert found, (name, line)
            action, commit, version = found.groups()
            assert (commit, version) == (ACTIONS[action].commit, ACTIONS[action].version), (name, line)
            used.add(action)
    assert used == set(ACTIONS)  # no stale pin in the table


def test_inputs_of_actions_actionlint_does_not_know_are_declared_by_the_action(files: dict[str, str]) -> None:
    checked = set()
    for text in files.values():
        for job in load(text)["jobs"].values():
            for action, declared in DECLARED_INPUTS.items():
                for step in steps(job, action):
                    assert set(step.get("with", {})) <= declared, (action, step)
                    checked.add(action)
    assert checked == set(DECLARED_INPUTS)


def test_no_expression_inside_a_script_values_come_through_env(files: dict[str, str]) -> None:
    """Script injection: a branch name or PR title inlined into `run:` would be executed."""
    for name, text in files.items():
        for job_id, job in load(text)["jobs"].items():
            assert "${{" not in scripts(job), (name, job_id)


# --- infrastructure.yml --------------------------------------------------------------------------


def infrastructure(files: dict[str, str]) -> dict[str, Any]:
    return load(files["infrastructure.yml"])


def test_runs_on_pull_requests_to_and_pushes_on_the_branch(files: dict[str, str]) -> None:
    assert infrastructure(files)["on"] == {
        "pull_request": {"branches": ["main"]},
        "push": {"branches": ["main"]},
    }


def test_synth_fails_when_generated_differs_and_lists_the_changed_stacks(files: dict[str, str]) -> None:
    synth = infrastructure(files)["jobs"]["synth"]
    assert "permissions" not in synth  # contents: read, from the top
    (checkout,) = steps(synth, "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0  # the base commit of the pull request
    assert steps(synth, "actions/setup-python")[0]["with"]["python-version"] == "3.11"
    assert steps(synth, "actions/setup-node")[0]["with"]["node-version"] == "20"
    script = scripts(synth)
    assert script.index("make synth") < script.index("git status --porcelain -- generated/")
    assert "generated/ differs from a fresh synth: run make synth and commit" in script
    assert "exit 1" in script
    changed = next(s for s in synth["steps"] if s.get("id") == "changed")
    assert changed["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert 'git diff --quiet "$BASE_SHA" HEAD' in changed["run"]
    for env in ORDER:
        assert f"stack {env} generated/stacks/{env}\n" in changed["run"]
    assert synth["outputs"]["stacks"] == "${{ steps.changed.outputs.stacks }}"


def test_the_changed_stacks_script_lists_changed_stacks_on_a_pull_request_and_all_on_a_push(
    files: dict[str, str], tmp_path: Path
) -> None:
    """Run the synth job's script in a scratch repository where a commit changes only stg's stack."""
    script = next(s for s in infrastructure(files)["jobs"]["synth"]["steps"] if s.get("id") == "changed")[
        "run"
    ]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    for env in ORDER:
        (tmp_path / "generated" / "stacks" / env).mkdir(parents=True)
        (tmp_path / "generated" / "stacks" / env / "cdk.tf.json").write_text("{}")
    git("add", ".")
    git("commit", "-qm", "base")
    base = git("rev-parse", "HEAD")
    (tmp_path / "generated" / "stacks" / "stg" / "cdk.tf.json").write_text('{"changed": true}')
    git("commit", "-qam", "change stg")

    def outputs(event: str) -> str:
        output = tmp_path / f"output-{event}"
        subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            env={
                "PATH": "/usr/bin:/bin",
                "EVENT_NAME": event,
                "BASE_SHA": base,
                "GITHUB_OUTPUT": str(output),
            },
        )
        return output.read_text()

    assert outputs("pull_request") == 'stacks=["stg"]\n'
    assert outputs("push") == 'stacks=["dev","stg","prod"]\n'


def test_a_plan_job_per_s3_stack_on_pull_requests_only_when_its_stack_changed(files: dict[str, str]) -> None:
    jobs = infrastructure(files)["jobs"]
    assert sorted(j for j in jobs if j.startswith("plan-")) == ["plan-dev", "plan-stg"]
    for env in S3:
        plan = jobs[f"plan-{env}"]
        assert plan["needs"] == "synth"
        assert plan["if"] == (
            f"github.event_name == 'pull_request' && contains(fromJSON(needs.synth.outputs.stacks), '{env}')"
        )
        assert plan["environment"] == f"{env}-plan"
        assert plan["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
        assert credentials(plan) == {
            "role-to-assume": role(env, "plan"),
            "role-session-name": f"plan-{env}",
            "aws-region": REGION,
        }
        (terraform,) = steps(plan, "hashicorp/setup-terraform")
        assert terraform["with"] == {"terraform_version": "1.11.4", "terraform_wrapper": False}
        script = scripts(plan)
        order = [
            "make install",
            f"terraform -chdir=generated/stacks/{env} init -input=false",
            f"terraform -chdir=generated/stacks/{env} plan -input=false -lock-timeout=10m -out=tfplan",
            f"terraform -chdir=generated/stacks/{env} show -json tfplan > plan.json",
            ".venv/bin/python main.py review plan.json --format markdown > review.md",
            'gh pr comment "$PR_NUMBER" --repo "$GITHUB_REPOSITORY" --body-file review.md',
        ]
        assert [script.index(command) for command in order] == sorted(script.index(c) for c in order)
        (comment,) = [s for s in plan["steps"] if "gh pr comment" in s.get("run", "")]
        assert comment["env"] == {
            "GH_TOKEN": "${{ github.token }}",
            "PR_NUMBER": "${{ github.event.pull_request.number }}",
        }
        assert "apply" not in script


def test_apply_jobs_on_push_chained_in_promotion_order_each_in_its_environment(files: dict[str, str]) -> None:
    jobs = infrastructure(files)["jobs"]
    applies = [j for j in jobs if j.startswith("apply-")]
    assert applies == ["apply-dev", "apply-stg"]  # in promotion order
    assert [jobs[j]["needs"] for j in applies] == ["synth", "apply-dev"]
    for env in S3:
        apply = jobs[f"apply-{env}"]
        assert apply["if"] == "github.event_name == 'push'"
        assert apply["environment"] == env
        assert apply["concurrency"] == {"group": f"terraform-apply-{env}", "cancel-in-progress": False}
        assert apply["permissions"] == {"contents": "read", "id-token": "write"}
        assert credentials(apply)["role-to-assume"] == role(env, "apply")
        assert credentials(apply)["aws-region"] == REGION
        script = scripts(apply)
        chdir = f"terraform -chdir=generated/stacks/{env}"
        assert script.index(f"{chdir} init") < script.index(f"{chdir} plan") < script.index(f"{chdir} apply")
        assert f"{chdir} plan -input=false -lock-timeout=10m -out=tfplan" in script
        assert script.rstrip().endswith(f"{chdir} apply -input=false -lock-timeout=10m tfplan")


def test_no_plan_or_apply_job_for_a_terraform_cloud_stack(files: dict[str, str]) -> None:
    text = files["infrastructure.yml"]
    jobs = infrastructure(files)["jobs"]
    assert set(jobs) == {"synth", "plan-dev", "plan-stg", "apply-dev", "apply-stg"}
    assert role("prod", "plan") not in text and role("prod", "apply") not in text
    assert "generated/stacks/prod" not in "\n".join(scripts(j) for n, j in jobs.items() if n != "synth")
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "Terraform Cloud plans and applies" in comments
    assert "#   prod (generated/stacks/prod)" in comments


def test_a_cloud_stack_between_two_s3_stacks_is_skipped_by_the_apply_chain() -> None:
    stages = (infrastructure_stage("dev"), infrastructure_stage("prod"), infrastructure_stage("stg"))
    jobs = load(render_workflows(model(infrastructure=stages, services=()))["infrastructure.yml"])["jobs"]
    assert jobs["apply-stg"]["needs"] == "apply-dev"


# --- deploy-<service>.yml ------------------------------------------------------------------------


def deploy(files: dict[str, str], service: str) -> dict[str, Any]:
    return load(files[f"deploy-{service}.yml"])


@pytest.mark.parametrize("service", SERVICES)
def test_deploys_on_pushes_touching_the_service_or_by_hand(files: dict[str, str], service: str) -> None:
    workflow = deploy(files, service)
    assert workflow["on"] == {
        "push": {"branches": ["main"], "paths": [f"services/{service}/**"]},
        "workflow_dispatch": None,
    }
    assert workflow["jobs"]["build"]["if"] == "github.ref == 'refs/heads/main'"


@pytest.mark.parametrize("service", SERVICES)
def test_one_job_per_stage_chained_each_in_its_environment_with_its_deploy_role(
    files: dict[str, str], service: str
) -> None:
    envs = SERVICES[service]
    jobs = deploy(files, service)["jobs"]
    ids = ["build", *(f"deploy-{env}" for env in envs[1:])]
    assert list(jobs) == ids
    assert [jobs[j].get("needs") for j in ids] == [None, *ids[:-1]]
    for job_id, env in zip(ids, envs, strict=True):
        job = jobs[job_id]
        assert job["environment"] == env
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        assert job["concurrency"] == {"group": f"deploy-{service}-{env}", "cancel-in-progress": False}
        assert credentials(job) == {
            "role-to-assume": role(env, "deploy"),
            "role-session-name": f"deploy-{service}-{env}",
            "aws-region": REGION,
        }
        assert len(steps(job, "aws-actions/amazon-ecr-login")) == 1


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_is_built_once_and_later_stages_copy_it_by_digest(
    files: dict[str, str], service: str
) -> None:
    text = files[f"deploy-{service}.yml"]
    envs = SERVICES[service]
    jobs = deploy(files, service)["jobs"]
    assert len(re.findall(r"\bdocker build\b", text)) == 1  # not `docker buildx imagetools`
    build = jobs["build"]
    assert "docker build" in scripts(build)
    (image,) = [s for s in build["steps"] if s.get("id") == "image"]
    assert image["env"] == {
        "IMAGE": f"{registry(envs[0])}/acme-{envs[0]}/{service}",
        "REPOSITORY": f"acme-{envs[0]}/{service}",
        "SOURCE": f"services/{service}",
    }
    assert 'docker build --tag "$IMAGE:$GITHUB_SHA" "$SOURCE"' in image["run"]
    assert 'docker push "$IMAGE:$GITHUB_SHA"' in image["run"]
    assert 'echo "digest=$digest" >> "$GITHUB_OUTPUT"' in image["run"]
    assert build["outputs"] == {"digest": "${{ steps.image.outputs.digest }}"}
    previous_job, previous_env = "build", envs[0]
    for env in envs[1:]:
        job = jobs[f"deploy-{env}"]
        digest = f"${{{{ needs.{previous_job}.outputs.digest }}}}"
        assert job["outputs"] == {"digest": digest}  # handed on unchanged
        assert "checkout" not in str(job["steps"])  # nothing to build from
        (copy,) = [s for s in job["steps"] if "imagetools create" in s.get("run", "")]
        assert copy["env"] == {
            "DIGEST": digest,
            "SOURCE_IMAGE": f"{registry(previous_env)}/acme-{previous_env}/{service}",
            "IMAGE": f"{registry(env)}/acme-{env}/{service}",
            "REPOSITORY": f"acme-{env}/{service}",
        }
        assert (
            'docker buildx imagetools create --tag "$IMAGE:$GITHUB_SHA" "$SOURCE_IMAGE@$DIGEST"'
            in copy["run"]
        )
        assert 'docker buildx imagetools inspect "$IMAGE@$DIGEST"' in copy["run"]
        login = [s for s in job["steps"] if "docker login" in s.get("run", "")]
        assert [s["env"] for s in login] == [{"REGISTRY": registry(previous_env), "REGION": REGION}]
        previous_job, previous_env = f"deploy-{env}", env


@pytest.mark.parametrize("service", SERVICES)
def test_every_stage_rolls_out_the_digest_and_waits_for_stability(
    files: dict[str, str], service: str
) -> None:
    jobs = deploy(files, service)["jobs"]
    digests = ["${{ steps.image.outputs.digest }}"]
    digests += [f"${{{{ needs.{j}.outputs.digest }}}}" for j in list(jobs)[:-1]]
    for (job_id, job), env, digest in zip(jobs.items(), SERVICES[service], digests, strict=True):
        prefix = f"acme-{env}"
        names = [s.get("uses", s.get("run", "")).split("@")[0] for s in job["steps"]]
        fetch = names.index(
            'aws ecs describe-task-definition --task-definition "$FAMILY" --query taskDefinition > task-definition.json'
        )
        render = names.index("aws-actions/amazon-ecs-render-task-definition")
        roll_out = names.index("aws-actions/amazon-ecs-deploy-task-definition")
        assert fetch < render < roll_out == len(names) - 1, job_id
        assert job["steps"][fetch]["env"] == {"FAMILY": f"{prefix}-{service}"}
        assert job["steps"][render]["with"] == {
            "task-definition": "task-definition.json",
            "container-name": service,
            "image": f"{registry(env)}/{prefix}/{service}@{digest}",
        }
        assert job["steps"][roll_out]["with"] == {
            "task-definition": f"${{{{ steps.{job['steps'][render]['id']}.outputs.task-definition }}}}",
            "service": f"{prefix}-{service}",
            "cluster": prefix,
            "wait-for-service-stability": True,
        }


def test_a_promotion_within_one_registry_needs_no_second_login() -> None:
    stages = (service_stage("dev", "api"), replace(service_stage("stg", "api"), registry=registry("dev")))
    workflow = ServiceWorkflow(service="api", source="services/api", stages=stages)
    jobs = load(render_workflows(model(services=(workflow,)))["deploy-api.yml"])["jobs"]
    assert "docker login" not in scripts(jobs["deploy-stg"])
    assert "docker logout" not in scripts(jobs["deploy-stg"])


# --- actionlint ----------------------------------------------------------------------------------


def tool(name: str) -> str:
    """A linter the dev extra installs next to this Python; its absence fails the test."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed next to {sys.executable}: pip install -e '.[dev]'"
    return found


def actionlint(directory: Path) -> subprocess.CompletedProcess[str]:
    """actionlint on every workflow in `directory`, with shellcheck on each `run:` script."""
    return subprocess.run(
        [
            tool("actionlint"),
            "-no-color",
            "-oneline",
            "-shellcheck",
            tool("shellcheck"),
            "-pyflakes=",  # no Python scripts in these workflows
            *sorted(str(p) for p in directory.glob("*.yml")),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.policy
def test_actionlint_and_shellcheck_pass_on_every_workflow(files: dict[str, str], tmp_path: Path) -> None:
    pinned, tagged = tmp_path / "pinned", tmp_path / "tagged"
    for directory in (pinned, tagged):
        directory.mkdir()
    for name, text in files.items():
        (pinned / name).write_text(text)
        # actionlint knows the inputs of common actions by major tag, not by commit: the same file
        # with `@v7` instead of `@<commit> # v7.0.1` has its `with:` keys checked too.
        (tagged / name).write_text(re.sub(r"@[0-9a-f]{40} # (v\d+)[\d.]*", r"@\1", text))
    for directory in (pinned, tagged):
        result = actionlint(directory)
        assert result.returncode == 0, result.stdout + result.stderr
    # the check has teeth: a misspelt input and an unquoted variable are both found
    broken = tagged / "infrastructure.yml"
    broken.write_text(
        broken.read_text()
        .replace("persist-credentials:", "persist-credential:", 1)
        .replace("run: make synth", "run: make synth $TARGET", 1)
    )
    found = actionlint(tagged).stdout
    assert 'input "persist-credential" is not defined' in found
    assert "SC2086" in found
