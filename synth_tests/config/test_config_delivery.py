"""modules/config/delivery.py: `[delivery]` in project.toml and the environment files, the naming
rules the roles and workflows are found by, and the schema errors of the error contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BASE_PROJECT, env_toml, run_main, write_config

from modules.config import ConfigError, load_platform
from modules.config.delivery import (
    branch_problem,
    github_environment,
    github_oidc_provider_arn,
    github_role_name,
    github_subject,
)

GITHUB = '[delivery]\nmode = "github"\nrepository = "acme/platform"\npromotion = ["dev", "prod"]\n'
OWNER = "[account]\nowner = true\n"
SERVICE = (
    '[edge]\nhttp_only = true\n\n[[services]]\nname = "web"\nport = 8080\npaths = ["/*"]\npriority = 10\n'
)


def problems(config: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_platform(config)
    return [str(p) for p in error.value.problems]


def github_platform(tmp_path: Path, project: str = BASE_PROJECT + GITHUB, dev: str = "", prod: str = ""):
    return write_config(
        tmp_path,
        {"dev": env_toml("10.10.0.0/16") + dev + SERVICE, "prod": env_toml("10.30.0.0/16") + OWNER + prod},
        project=project,
    )


# --- naming rules ------------------------------------------------------------------------------


def test_role_names_subjects_and_environments_follow_fixed_rules() -> None:
    assert github_role_name("acme", "dev", "deploy") == "acme-dev-github-deploy"
    assert github_role_name("acme", "dev", "plan") == "acme-dev-github-plan"
    assert github_environment("prod", "apply") == "prod"
    assert github_environment("prod", "plan") == "prod-plan"
    assert github_subject("acme/platform", "prod", "apply") == "repo:acme/platform:environment:prod"
    assert github_subject("acme/platform", "prod", "plan") == "repo:acme/platform:environment:prod-plan"
    assert (
        github_oidc_provider_arn("aws", "111111111111")
        == "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
    )
    # the longest slugs still make a valid IAM role name
    assert len(github_role_name("a" * 20, "b" * 20, "deploy")) <= 64


@pytest.mark.parametrize("branch", ["main", "release/2026-11", "feature/x.y", "v1.2", "a_b"])
def test_branch_names_git_accepts(branch: str) -> None:
    assert branch_problem(branch) is None


@pytest.mark.parametrize(
    "branch",
    [
        "",
        "has space",
        "a..b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "/a",
        "a/",
        "a.",
        "a.lock",
        "@",
        "a@{b",
        "a//b",
        ".hidden",
        "a/.b",
        "-x",
    ],
)
def test_branch_names_git_refuses(branch: str) -> None:
    assert branch_problem(branch) is not None


# --- the resolved environment ------------------------------------------------------------------


def test_github_delivery_resolves_per_environment(tmp_path: Path) -> None:
    platform = load_platform(github_platform(tmp_path))
    dev, prod = platform.environments
    assert (dev.delivery_mode, prod.delivery_mode) == ("github", "github")
    # the account's owner creates the provider; the other environment of the account trusts it
    assert (dev.creates_github_provider, prod.creates_github_provider) == (False, True)
    # prod promotes dev's images
    assert (dev.promoted_from, prod.promoted_from) == (None, ("dev", "111111111111", "eu-west-1"))
    (web,) = dev.services
    assert dev.delivered(web) and dev.deploy_owner(web) == "pipeline"
    assert web.build_context == "services/web"


def test_an_environment_may_opt_out_and_external_images_are_not_delivered(tmp_path: Path) -> None:
    service = SERVICE.replace('name = "web"', 'name = "web"\nimage = "nginx:1.27"')
    config = write_config(
        tmp_path,
        {
            "dev": env_toml("10.10.0.0/16") + service,
            "prod": env_toml("10.30.0.0/16") + OWNER + '[delivery]\nmode = "none"\n',
        },
        project=BASE_PROJECT + GITHUB.replace('["dev", "prod"]', '["dev"]'),
    )
    dev, prod = load_platform(config).environments
    (web,) = dev.services
    assert not dev.delivered(web) and dev.deploy_owner(web) == "terraform"
    # prod delivers nothing itself, but owns the account dev's github jobs reach AWS through
    assert prod.delivery_mode == "none" and prod.creates_github_provider


def test_no_provider_when_the_owner_says_one_exists(tmp_path: Path) -> None:
    config = github_platform(tmp_path, prod="github_oidc_provider = false\n")
    assert [e.creates_github_provider for e in load_platform(config).environments] == [False, False]


# --- schema errors -------------------------------------------------------------------------------


def test_repository_must_be_org_slash_name(tmp_path: Path) -> None:
    for bad in ("platform", "acme/", "-acme/platform", "acme/platform/x", "acme/..", "ac me/platform"):
        project = BASE_PROJECT + GITHUB.replace("acme/platform", bad)
        found = problems(github_platform(tmp_path / bad.replace("/", "_").replace(" ", "_"), project=project))
        assert len(found) == 1 and "project.toml: delivery.repository:" in found[0], (bad, found)


def test_a_delivery_mode_needs_a_repository(tmp_path: Path) -> None:
    project = BASE_PROJECT + '[delivery]\nmode = "github"\npromotion = ["dev", "prod"]\n'
    (found,) = problems(github_platform(tmp_path, project=project))
    assert found.endswith('project.toml: delivery: mode "github" needs repository = "<org>/<name>"')


def test_a_branch_github_refuses(tmp_path: Path) -> None:
    project = BASE_PROJECT + GITHUB + 'branch = "release..1"\n'
    (found,) = problems(github_platform(tmp_path, project=project))
    assert "project.toml: delivery.branch: 'release..1' is not a branch name GitHub accepts" in found


def test_every_github_environment_is_in_the_promotion(tmp_path: Path) -> None:
    # "prd" is no environment: passed over, and prod, unlisted, is reported
    project = BASE_PROJECT + GITHUB.replace('["dev", "prod"]', '["dev", "prd"]')
    (found,) = problems(github_platform(tmp_path, project=project))
    assert found == (
        f"{tmp_path}/project.toml: delivery.promotion: prod deliver with github: list every github "
        'environment, in promotion order (e.g. ["dev", "stg", "prod"])'
    )
    # a name without a github environment (removed, or opted out) is passed over
    project = BASE_PROJECT + GITHUB.replace('["dev", "prod"]', '["dev", "stg", "prod"]')
    dev, prod = load_platform(github_platform(tmp_path, project=project)).environments
    assert prod.promoted_from == ("dev", "111111111111", "eu-west-1")


def test_github_needs_an_owner_to_create_the_accounts_provider(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {"dev": env_toml("10.10.0.0/16") + SERVICE, "prod": env_toml("10.30.0.0/16")},
        project=BASE_PROJECT + GITHUB,
    )
    found = problems(config)
    assert len(found) == 2
    for line, name in zip(found, ("dev", "prod"), strict=True):
        assert line.startswith(
            f"{tmp_path}/{name}.toml: delivery.mode: github delivery needs account 111111111111"
        )


def test_two_owners_of_one_account_would_both_create_the_provider(tmp_path: Path) -> None:
    found = problems(github_platform(tmp_path, dev=OWNER))
    assert len(found) == 2 and all("account.owner: account 111111111111 is also owned by" in f for f in found)


def test_a_plan_environment_name_clash(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "dev": env_toml("10.10.0.0/16") + OWNER,
            "dev-plan": env_toml("10.20.0.0/16"),
        },
        project=BASE_PROJECT + GITHUB.replace('["dev", "prod"]', '["dev", "dev-plan"]'),
    )
    (found,) = problems(config)
    assert found.startswith(
        f"{tmp_path}/dev-plan.toml: delivery.mode: GitHub environment 'dev-plan' is already"
    )


def test_codepipeline_needs_a_connection(tmp_path: Path) -> None:
    project = BASE_PROJECT + '[delivery]\nmode = "codepipeline"\nrepository = "acme/platform"\n'
    config = write_config(tmp_path, {"dev": env_toml() + SERVICE}, project=project)
    (found,) = problems(config)
    assert found.startswith(f"{tmp_path}/dev.toml: delivery.connection: codepipeline needs a connection")
    # an environment's own connection, "create" or an existing one's ARN, satisfies it
    arn = "arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
    for connection in ("create", arn):
        write_config(
            tmp_path,
            {"dev": env_toml() + f'[delivery]\nconnection = "{connection}"\n' + SERVICE},
            project=project,
        )
        (env,) = load_platform(tmp_path).environments
        assert env.delivery_connection == connection
    write_config(
        tmp_path,
        {"dev": env_toml() + '[delivery]\nconnection = "arn:aws:s3:::x"\n' + SERVICE},
        project=project,
    )
    (found,) = problems(tmp_path)
    assert "dev.toml: delivery.connection:" in found


def test_terraform_may_not_own_what_a_pipeline_deploys(tmp_path: Path) -> None:
    (found,) = problems(github_platform(tmp_path, dev='[cluster]\ndeploy_owner = "terraform"\n'))
    assert found.startswith(
        f'{tmp_path}/dev.toml: cluster.deploy_owner: "terraform" with delivery mode "github": the github '
        "deployments of web would be reverted by every apply"
    )


def test_bad_delivery_exits_2_with_one_line_per_problem_and_no_output(tmp_path: Path) -> None:
    project = BASE_PROJECT + '[delivery]\nmode = "github"\nrepository = "nope"\nbranch = "a b"\n'
    config = github_platform(tmp_path / "config", project=project)
    out = tmp_path / "out"
    result = run_main("synth", "--config", str(config), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert any("project.toml: delivery.repository:" in line for line in lines)
    assert any("project.toml: delivery.branch:" in line for line in lines)
    assert "Traceback" not in result.stderr and not out.exists()


def test_an_environment_delivering_needs_the_projects_repository(tmp_path: Path) -> None:
    config = github_platform(tmp_path, project=BASE_PROJECT, dev='[delivery]\nmode = "github"\n')
    found = problems(config)
    assert f'{tmp_path}/dev.toml: delivery.mode: "github" needs the repository it delivers from' in found[0]
    assert len(found) == 2 and "delivery.promotion" in found[1]
