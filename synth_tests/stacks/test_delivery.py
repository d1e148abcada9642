"""modules/stacks/environment.py `_delivery` and synth.py's workflows: what each delivery mode adds
to an environment stack, and where the project's workflows are written."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import BASE_PROJECT, ROOT, env_toml, environment_json, load, resources, run_main, write_config

from modules.config import load_platform

GITHUB = '[delivery]\nmode = "github"\nrepository = "acme/platform"\npromotion = ["qa"]\n'
SERVICE = (
    '[edge]\nhttp_only = true\n\n[[services]]\nname = "web"\nport = 8080\npaths = ["/*"]\npriority = 10\n'
)


def test_the_account_owner_creates_the_github_provider_and_every_environment_trusts_it(
    committed_platform,
) -> None:
    provider_arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
    for name in ("dev", "stg", "prod"):
        stack = environment_json(committed_platform, name)
        providers = resources(stack, "aws_iam_openid_connect_provider")
        roles = {k: r for k, r in resources(stack, "aws_iam_role").items() if k.startswith("github_")}
        assert {r["name"] for r in roles.values()} == {
            f"acme-{name}-github-deploy",
            f"acme-{name}-github-plan",
            f"acme-{name}-github-apply",
        }
        principals = {
            json.loads(r["assume_role_policy"])["Statement"][0]["Principal"]["Federated"]
            for r in roles.values()
        }
        if name == "prod":  # the owner: its provider, referenced
            (key,) = providers
            assert providers[key]["url"] == "https://token.actions.githubusercontent.com"
            assert principals == {f"${{aws_iam_openid_connect_provider.{key}.arn}}"}
        else:  # by the ARN IAM gives it
            assert providers == {} and principals == {provider_arn}
        assert set(stack["output"]["github_role_arns"]["value"]) == {"deploy", "plan", "apply"}


def test_a_delivered_service_is_owned_by_its_pipeline(committed_platform) -> None:
    stack = environment_json(committed_platform, "dev")
    for service in resources(stack, "aws_ecs_service").values():
        assert service["lifecycle"]["ignore_changes"] == ["task_definition", "desired_count"]


def test_no_services_no_deploy_role_and_cloud_state_no_plan_or_apply_role(tmp_path: Path) -> None:
    project = BASE_PROJECT + GITHUB
    stack = environment_json(
        load(
            write_config(tmp_path / "s3", {"qa": env_toml() + "[account]\nowner = true\n"}, project=project)
        ),
        "qa",
    )
    roles = {r["name"] for r in resources(stack, "aws_iam_role").values()}
    assert {"acme-qa-github-plan", "acme-qa-github-apply"} <= roles and "acme-qa-github-deploy" not in roles
    assert set(stack["output"]["github_role_arns"]["value"]) == {"plan", "apply"}

    cloud = BASE_PROJECT + 'backend = "cloud"\n[cloud]\norganization = "acme"\n' + GITHUB
    env = env_toml() + "[account]\nowner = true\n" + SERVICE
    stack = environment_json(load(write_config(tmp_path / "cloud", {"qa": env}, project=cloud)), "qa")
    roles = {r["name"] for r in resources(stack, "aws_iam_role").values() if "github" in r["name"]}
    assert roles == {"acme-qa-github-deploy"}, "Terraform Cloud runs plans and applies with its own roles"


def test_codepipeline_makes_one_pipeline_per_delivered_service(tmp_path: Path) -> None:
    platform = load_platform(ROOT / "examples" / "codepipeline")
    stack = environment_json(platform, "prod")
    pipelines = {p["name"]: p for p in resources(stack, "aws_codepipeline").values()}
    assert set(pipelines) == {"example-prod-web", "example-prod-worker"}, "proxy's image is external"
    for pipeline in pipelines.values():
        assert [s["name"] for s in pipeline["stage"]] == ["Source", "Build", "Approval", "Deploy"]
    (connection,) = resources(stack, "aws_codestarconnections_connection").values()
    assert (connection["name"], connection["provider_type"]) == ("example-prod-github", "GitHub")
    # the environment key admits exactly the build log groups CodeBuild writes to
    key = resources(stack, "aws_kms_key")["key_key"]
    groups = {
        g["name"] for g in resources(stack, "aws_cloudwatch_log_group").values() if "codebuild" in g["name"]
    }
    assert groups == {"/aws/codebuild/example-prod-web-build", "/aws/codebuild/example-prod-worker-build"}
    policy = json.dumps(json.loads(key["policy"]))
    assert all(f"log-group:{g}" in policy for g in groups)
    services = {s["name"]: s for s in resources(stack, "aws_ecs_service").values()}
    owned = {
        n: "lifecycle" in s and "task_definition" in s["lifecycle"]["ignore_changes"]
        for n, s in services.items()
    }
    assert owned == {"example-prod-web": True, "example-prod-worker": True, "example-prod-proxy": False}
    # no github environment, no workflows
    none = write_config(tmp_path / "none", {"qa": env_toml()})
    result = run_main("synth", "--config", str(none), "--out", str(tmp_path / "none-out"))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "none-out" / "github").exists()
