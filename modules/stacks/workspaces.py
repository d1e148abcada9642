"""`terraform-cloud/workspaces.json`: what a Terraform Cloud workspace needs to run a cloud environment.

One entry per environment whose `backend` is "cloud", from every configured environment (so a synth
of some environments writes the file exactly as a full synth does): the workspace, its organization,
project and host, the stack directory it runs (`generated/stacks/<env>`, from the repository's root)
and the only files whose change triggers a run, the Terraform version, the execution mode, whether
a plan applies itself (never for the production profile), and the environment variables that turn
on dynamic provider credentials with the plan and apply roles the bootstrap stack creates. Names
and ARNs only: nothing in it is a secret, so it is committed with the stacks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from modules.config import Environment
from modules.config.cloud import TERRAFORM_VERSION, run_role_name
from modules.core import naming

# Where the stacks are, relative to the repository root a VCS-driven workspace checks out.
STACKS_DIR = "generated/stacks"
PRODUCTION_PROFILE = "production"


def run_role_arn(env: Environment, phase: Literal["plan", "apply"]) -> str:
    """The role a run of `phase` holds, in the environment's own account (made by the bootstrap stack)."""
    partition = naming.partition(env.region)
    return f"arn:{partition}:iam::{env.account_id}:role/{run_role_name(env.project.name, env.name, phase)}"


def _variable(key: str, value: str) -> dict[str, Any]:
    """A workspace variable as the Terraform Cloud API takes it (`data.attributes` of a var)."""
    return {"key": key, "value": value, "category": "env", "sensitive": False}


def workspace_entry(env: Environment) -> dict[str, Any]:
    """The workspace of one cloud environment."""
    cloud = env.project.cloud
    assert cloud is not None and env.workspace is not None  # the loader's rules for a cloud environment
    directory = f"{STACKS_DIR}/{env.name}"
    return {
        "environment": env.name,
        "name": env.workspace,
        "organization": cloud.organization,
        "project": cloud.project,
        "hostname": cloud.hostname,
        "working_directory": directory,
        # A leading "/" anchors the pattern at the repository root: only this stack's files.
        "trigger_patterns": [f"/{directory}/**/*"],
        "terraform_version": TERRAFORM_VERSION,
        "execution_mode": cloud.execution_mode,
        # Production plans wait for a person to confirm them; other environments apply on merge.
        "auto_apply": env.config.profile != PRODUCTION_PROFILE,
        "variables": [
            _variable("TFC_AWS_PROVIDER_AUTH", "true"),
            _variable("TFC_AWS_PLAN_ROLE_ARN", run_role_arn(env, "plan")),
            _variable("TFC_AWS_APPLY_ROLE_ARN", run_role_arn(env, "apply")),
            _variable("AWS_REGION", env.region),
        ],
    }


def render_workspaces(environments: Iterable[Environment]) -> str | None:
    """The file's text (sorted keys, workspaces in environment order, a final newline), or None when
    no environment uses the cloud backend (then there is no file)."""
    entries = [
        workspace_entry(env) for env in sorted(environments, key=lambda e: e.name) if env.backend == "cloud"
    ]
    if not entries:
        return None
    return json.dumps({"workspaces": entries}, indent=2, sort_keys=True) + "\n"
