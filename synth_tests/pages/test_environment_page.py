"""modules/pages/environment.py and environment.md.j2: each environment's page, against its stack.

What the page says an environment runs is read back from the Terraform JSON the same config
synthesizes: bucket, role and secret names, engines, account and region, the load balancers'
outputs; the page that a synth writes is the page rendered from the config, whatever directory the
config is in.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import BASE_PROJECT, CONFIG_DIR, ROOT, env_toml, environment_json, load, write_config

from modules.config import Environment, load_platform
from modules.pages import render_page
from modules.pages.diagram import architecture
from modules.pages.environment import INTERNAL_ALB, INTERNAL_NLB, LB_OUTPUTS, PUBLIC_LB

COMMITTED = [env.name for env in load_platform(CONFIG_DIR).environments]


def section(page: str, title: str) -> str:
    """The text of one `## title` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", page, re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


def row(text: str, first_cell: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith(f"| {first_cell} |")]
    return line


def cells(line: str) -> list[str]:
    """The cells of a markdown table row (an escaped `\\|` stays inside its cell)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def tables_are_rectangular(page: str) -> None:
    width = None
    for line in page.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        if width is None:
            width = len(cells(line))
        assert len(cells(line)) == width, line


@pytest.fixture(scope="module")
def pages(committed_platform) -> dict[str, str]:
    return {env.name: render_page(env) for env in committed_platform.environments}


@pytest.fixture(scope="module")
def stacks(committed_platform) -> dict[str, dict]:
    return {name: environment_json(committed_platform, name) for name in COMMITTED}


def test_every_synth_writes_the_page_of_each_environment(fresh_synth: Path, pages: dict[str, str]) -> None:
    docs = fresh_synth / "docs"
    assert sorted(p.name for p in docs.iterdir()) == [f"{name}.md" for name in sorted(pages)]
    for name, page in pages.items():
        assert (docs / f"{name}.md").read_text() == page
        # the page links the stack it describes, relative to itself
        assert f"](../stacks/{name}/cdk.tf.json)" in page
        assert (docs / f"../stacks/{name}/cdk.tf.json").is_file()


def test_a_page_is_deterministic_and_independent_of_where_the_config_is(
    tmp_path: Path, pages: dict[str, str]
) -> None:
    copy = tmp_path / "elsewhere" / "config"
    shutil.copytree(CONFIG_DIR, copy)
    for env in load_platform(copy).environments:
        assert render_page(env) == render_page(env) == pages[env.name]


@pytest.mark.parametrize("name", COMMITTED)
def test_the_diagram_and_its_resources_are_on_the_page(committed_platform, pages, name: str) -> None:
    page, env = pages[name], committed_platform.environment(name)
    diagram = architecture(env)
    assert f"```mermaid\n{diagram.mermaid()}```" in page
    table = page.split("<summary>The Terraform resources each box stands for</summary>", 1)[1]
    table = table.split("</details>", 1)[0]
    for node in diagram.nodes:
        for address in node.addresses:
            assert f"`{address}`" in row(table, node.title)
    tables_are_rectangular(page)


@pytest.mark.parametrize("name", COMMITTED)
def test_services_are_listed_where_they_are_reached(committed_platform, pages, stacks, name: str) -> None:
    env, page = committed_platform.environment(name), pages[name]
    services = section(page, "Services")
    for service in env.services:
        line = row(services, service.name)
        if service.protocol == "tcp":
            assert f"`tcp://{INTERNAL_NLB}:{service.port}`" in line
        elif not service.public:
            assert f"`http://{INTERNAL_ALB}/" in line
            assert all(f"`Host: {host}`" in line for host in service.hosts)
        elif env.config.domain is not None:
            assert all(f"`https://{host}/" in line for host in service.hosts)
            assert "http://" not in line
        else:
            assert f"`http://{PUBLIC_LB}/" in line and "https://" not in line
        for path in service.paths:
            assert path.removesuffix("*") in line
        assert f"{service.desired_count} task" in line
        assert all(f"`{use}`" in line for use in service.uses)
    (cluster,) = stacks[name]["resource"]["aws_ecs_cluster"].values()
    assert f"ECS cluster `{cluster['name']}`" in services
    # each placeholder a URL uses is explained by a stack output that exists
    outputs = stacks[name]["output"]
    for placeholder, output in LB_OUTPUTS.items():
        if placeholder in services:
            assert f"`terraform output -raw {output}`" in services and output in outputs


@pytest.mark.parametrize("name", COMMITTED)
def test_stores_are_the_stacks_stores(committed_platform, pages, stacks, name: str) -> None:
    env, stores, resources = (
        committed_platform.environment(name),
        section(pages[name], "Stores"),
        stacks[name]["resource"],
    )
    for bucket in env.config.buckets:
        real_name = resources["aws_s3_bucket"][f"buckets_{bucket.name}_bucket"]["bucket"]
        (line,) = [line for line in stores.splitlines() if line.startswith(f"| bucket | `{real_name}` |")]
        assert bucket.purpose in line
        users = [s.name for s in env.services if any(u.name == bucket.name for u in s.uses_of("bucket"))]
        assert all(user in line for user in users)
    database = env.config.database
    if database is None:
        assert "| database |" not in stores
    elif database.aurora:
        (cluster,) = resources["aws_rds_cluster"].values()
        line = row(stores, "database")
        assert f"{cluster['engine']} {cluster['engine_version']}" in line
        assert f"{len(resources['aws_rds_cluster_instance'])} instances" in line
    else:
        (instance,) = resources["aws_db_instance"].values()
        line = row(stores, "database")
        assert (
            f"{instance['engine']} {instance['engine_version']}" in line
            and instance["instance_class"] in line
        )
    if env.config.cache is None:
        assert "| cache |" not in stores
    else:
        (group,) = resources["aws_elasticache_replication_group"].values()
        line = row(stores, "cache")
        assert f"{group['num_cache_clusters']} node" in line and group["node_type"] in line
    for filesystem in env.config.filesystems:
        assert f"file system | `{filesystem.name}`" in stores
    assert "aws_efs_file_system" in resources or not env.config.filesystems


@pytest.mark.parametrize("name", COMMITTED)
def test_roles_show_who_can_assume_them(pages, stacks, name: str) -> None:
    roles = section(pages[name], "Roles for people")
    found = stacks[name]["resource"]["aws_iam_role"]
    people = {key: role for key, role in found.items() if key.startswith("access_")}
    assert people, "the committed environments all have roles for people"
    for role in people.values():
        line = row(roles, f"`{role['name']}`")
        for statement in json.loads(role["assume_role_policy"])["Statement"]:
            principals = statement["Principal"]["AWS"]
            for principal in [principals] if isinstance(principals, str) else principals:
                assert principal in line
    assert len([line for line in roles.splitlines() if line.startswith("| `")]) == len(people)


@pytest.mark.parametrize("name", COMMITTED)
def test_account_region_and_secrets_are_the_stacks(committed_platform, pages, stacks, name: str) -> None:
    page, stack = pages[name], stacks[name]
    (provider,) = stack["provider"]["aws"]
    header = page.split("## Architecture", 1)[0]
    assert f"Account `{provider['allowed_account_ids'][0]}`, region `{provider['region']}`" in header
    secrets = section(page, "Secrets and parameters")
    for secret in stack["resource"].get("aws_secretsmanager_secret", {}).values():
        assert f"| `{secret['name']}` |" in secrets
    env = committed_platform.environment(name)
    for service in env.services:
        for variable, ref in service.secrets.items():
            assert variable in secrets and (ref.split(":", 1)[1] in secrets)


@pytest.mark.parametrize("name", COMMITTED)
def test_alarms_topics_and_notifier_are_the_stacks(pages, stacks, name: str) -> None:
    resources = stacks[name]["resource"]
    listed = section(pages[name], "Alarms and notifications")
    for topic in resources["aws_sns_topic"].values():
        assert f"SNS topic `{topic['name']}`" in listed
    for subscription in resources.get("aws_sns_topic_subscription", {}).values():
        assert subscription["protocol"] == "lambda" or subscription["endpoint"] in listed
    (composite,) = resources["aws_cloudwatch_composite_alarm"].values()
    assert f"`{composite['alarm_name']}`" in listed
    (dashboard,) = resources["aws_cloudwatch_dashboard"].values()
    assert f"dashboard `{dashboard['dashboard_name']}`" in listed
    functions = resources.get("aws_lambda_function", {}).values()
    assert [f"Lambda `{f['function_name']}`" in listed for f in functions] == [True] * len(functions)
    assert ("Discord" in listed) == bool(functions)
    assert ("CIS audit alarms" in listed) == ("aws_cloudwatch_log_metric_filter" in resources)
    tracing = "aws_xray_sampling_rule" in resources
    assert ("X-Ray tracing" in listed) == tracing


def test_an_environment_without_services_or_stores_renders(tmp_path: Path) -> None:
    platform = load(write_config(tmp_path, {"qa": env_toml()}))
    env: Environment = platform.environment("qa")
    page = render_page(env)
    for title, says in (
        ("Services", "None: the environment has no `[[services]]`"),
        ("Stores", "None: the environment has no database"),
        ("Roles for people", "None: `[access]` lists nobody"),
        ("Secrets and parameters", "None declared"),
    ):
        assert says in section(page, title)
    assert "```mermaid\nflowchart LR\n" in page
    assert f"VPC `{env.network.cidr}`" in section(page, "Network")


def test_free_text_cannot_break_a_table(tmp_path: Path) -> None:
    secret = '\n[[secrets]]\nname = "token"\ndescription = "a | b <i>\\nsecond line"\n'
    platform = load(write_config(tmp_path, {"qa": env_toml() + secret}, project=BASE_PROJECT))
    page = render_page(platform.environment("qa"))
    tables_are_rectangular(page)
    assert "a \\| b &lt;i> second line" in row(section(page, "Secrets and parameters"), "`acme/qa/token`")


def test_declared_secrets_and_parameters_and_mfa_exemptions_of_the_examples() -> None:
    examples = CONFIG_DIR.parent / "examples"
    secrets_platform = load_platform(examples / "secrets")
    (env,) = secrets_platform.environments
    resources = environment_json(secrets_platform, env.name)["resource"]
    listed = section(render_page(env), "Secrets and parameters")
    names = [s["name"] for s in resources["aws_secretsmanager_secret"].values()]
    names += [p["name"] for p in resources["aws_ssm_parameter"].values()]
    assert names and all(f"| `{name}` |" in listed for name in names)
    # a parameter created out of band is listed too, under the name the stack grants its readers
    stack_text = json.dumps(resources)
    for parameter in (p for p in env.config.parameters if not p.write_only):
        (shown,) = re.findall(rf"\| `(/[^`]*/{parameter.name})` \|", listed)
        assert f":parameter{shown}" in stack_text

    roles_platform = load_platform(examples / "people-roles")
    (env,) = roles_platform.environments
    roles = section(render_page(env), "Roles for people")
    for exempt in env.config.access.mfa_exempt:
        assert f"{exempt} (no MFA)" in roles
    assert roles.count("(no MFA)") == sum(
        exempt in env.config.access.principals(level)
        for level in env.config.access.levels
        for exempt in env.config.access.mfa_exempt
    )


@pytest.mark.parametrize("name", ["dev", "stg", "prod"])
def test_delivery_names_the_roles_the_stack_creates(committed_platform, pages, stacks, name: str) -> None:
    text = section(pages[name], "Delivery")
    roles = {r["name"] for r in stacks[name]["resource"]["aws_iam_role"].values() if "-github-" in r["name"]}
    assert roles == {f"acme-{name}-github-{p}" for p in ("deploy", "plan", "apply")}
    assert set(re.findall(r"`(acme-[a-z]+-github-[a-z]+)`", text)) == roles
    env = committed_platform.environment(name)
    delivered = [s.name for s in env.services if env.delivered(s)]
    assert f"deploys {', '.join(delivered)} (" in text
    promoted = {"dev": "images built here", "stg": "promoted by digest from dev", "prod": "from stg"}
    assert promoted[name] in text
    provider = "aws_iam_openid_connect_provider" in stacks[name]["resource"]
    assert ("OIDC provider for GitHub Actions is created here" in text) == provider == (name == "prod")


def test_delivery_of_a_codepipeline_environment_and_of_none(tmp_path: Path) -> None:
    text = section(
        render_page(load_platform(ROOT / "examples" / "codepipeline").environment("prod")), "Delivery"
    )
    assert (
        "`example-prod-web`, `example-prod-worker` (build, push, a manual approval, deploy by digest)" in text
    )
    assert "`example-prod-github` is PENDING" in text
    (env,) = load(write_config(tmp_path, {"qa": env_toml()})).environments
    assert section(render_page(env), "Delivery").strip() == (
        "- Nothing deploys the services from CI; Terraform owns their task definitions"
    )
