"""The GitHub Actions workflows of a project, rendered from the jinja2 templates beside this file.

`render_workflows(Workflows(...))` returns file name -> YAML text: `infrastructure.yml` (synth check,
plan on pull requests, applies in promotion order on push) and one `deploy-<service>.yml` per
service (build once, promote by digest). The models are plain values: the caller derives them from
the config, so nothing here reads it. Two renders of one model are byte-identical.

Every action is pinned to a full commit SHA (`ACTIONS`): a tag can be moved to other code, a commit
cannot. Jobs get AWS credentials from GitHub's OIDC token only; there is no access key anywhere.
"""

from __future__ import annotations

import functools
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent / "templates"
INFRASTRUCTURE = "infrastructure.yml"


@dataclass(frozen=True)
class Pin:
    """One action's release: the commit GitHub runs and the tag it was released as (the comment)."""

    commit: str  # 40 hex digits
    version: str  # "v7.0.1"


# Each the newest release at the time of writing, read from the action's own repository
# (`git rev-parse <tag>^{commit}`). Bump a pin as one change: the SHA and its tag together.
ACTIONS: dict[str, Pin] = {
    "actions/checkout": Pin("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": Pin("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/setup-node": Pin("820762786026740c76f36085b0efc47a31fe5020", "v7.0.0"),
    "hashicorp/setup-terraform": Pin("dfe3c3f87815947d99a8997f908cb6525fc44e9e", "v4.0.1"),
    "aws-actions/configure-aws-credentials": Pin("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
    "aws-actions/amazon-ecr-login": Pin("03f1aad4c6c7ffd436567f42f9384779290529bd", "v2.1.7"),
    "aws-actions/amazon-ecs-render-task-definition": Pin(
        "138c24f321fdbdf7edee4a685519d253cae2cdea", "v1.9.0"
    ),
    "aws-actions/amazon-ecs-deploy-task-definition": Pin(
        "c465972ecbd160473f22e683363b422a5412a3de", "v2.6.3"
    ),
}
NODE_VERSION = "20"  # what `make synth` runs cdktf's jsii runtime with


@dataclass(frozen=True)
class InfrastructureStage:
    """One environment stack, in promotion order."""

    environment: str  # "dev"
    backend: str  # "s3" | "cloud"
    stack_dir: str  # "generated/stacks/dev"
    region: str
    plan_role_arn: str | None  # None for cloud: Terraform Cloud plans and applies itself
    apply_role_arn: str | None
    github_environment: str  # the apply job's ("dev"; prod's is protected by required reviewers)
    plan_github_environment: str  # the plan job's ("dev-plan")


@dataclass(frozen=True)
class ServiceStage:
    """One environment a service is deployed to, in promotion order."""

    environment: str
    region: str
    registry: str  # "<account>.dkr.ecr.<region>.amazonaws.com"
    repository: str  # "acme-dev/api" (the repository's name)
    cluster: str  # "acme-dev"
    ecs_service: str  # "acme-dev-api"
    task_definition_family: str  # "acme-dev-api"
    container_name: str  # "api"
    deploy_role_arn: str
    github_environment: str  # "dev"

    @property
    def image(self) -> str:
        """The repository's URL, without tag or digest."""
        return f"{self.registry}/{self.repository}"


@dataclass(frozen=True)
class ServiceWorkflow:
    service: str  # "api"
    source: str  # the docker build context, relative to the repository root ("services/api")
    stages: tuple[ServiceStage, ...]  # at least one; the first builds, the others promote


@dataclass(frozen=True)
class Workflows:
    project: str
    repository: str  # "org/name"
    branch: str  # "main"
    terraform_version: str  # "1.11.4"
    python_version: str  # "3.11"
    infrastructure: tuple[InfrastructureStage, ...]
    services: tuple[ServiceWorkflow, ...]


def service_workflow_name(service: str) -> str:
    return f"deploy-{service}.yml"


def render_workflows(model: Workflows) -> dict[str, str]:
    """File name -> YAML text, sorted by file name."""
    jinja = _templates()
    files = {INFRASTRUCTURE: jinja.get_template("infrastructure.yml.j2").render(model=model)}
    for workflow in model.services:
        if not workflow.stages:
            raise ValueError(f"service {workflow.service!r} has no stage to deploy to")
        files[service_workflow_name(workflow.service)] = jinja.get_template("deploy.yml.j2").render(
            model=model, workflow=workflow
        )
    return dict(sorted(files.items()))


# --- template helpers ----------------------------------------------------------------------------


def expression(text: str) -> str:
    """`${{ text }}`: GitHub's expression syntax collides with jinja2's `{{ }}`, so the templates
    write an Actions expression as `{{ expr("github.sha") }}`."""
    return "${{ " + text + " }}"


def uses(action: str) -> str:
    """`owner/name@<commit> # <tag>`: a pinned `uses:` value with its release as a comment."""
    pin = ACTIONS[action]
    return f"{action}@{pin.commit} # {pin.version}"


def yaml_string(value: object) -> str:
    """A double-quoted YAML scalar: JSON strings are valid YAML, so any value stays one string."""
    return json.dumps(str(value))


def expression_string(value: object) -> str:
    """A string literal inside an Actions expression: single quotes, a quote doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def registry_login_needed(previous: ServiceStage, stage: ServiceStage) -> bool:
    """The promoting job logs in to its own registry with amazon-ecr-login; the previous stage's
    registry (another account or region) needs a login of its own to be read from."""
    return previous.registry != stage.registry


@functools.cache  # one compile of each template per process
def _templates() -> Environment:
    # Imported here: a synth renders the workflows while Node.js writes the stacks (modules/stacks/
    # synth.py), so jinja2's import (about 40 ms) is not spent before the first construct is made.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    jinja = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML, not HTML; values are quoted by the filters below
    )
    jinja.globals.update(
        expr=expression, uses=uses, registry_login_needed=registry_login_needed, node_version=NODE_VERSION
    )
    jinja.filters.update(q=yaml_string, sh=shlex.quote, literal=expression_string)
    return jinja
