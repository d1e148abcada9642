"""modules/stacks/workspaces.py and its place in the synth: `terraform-cloud/workspaces.json`, one
workspace per cloud environment, written with the bootstrap stack, absent without a cloud environment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import BASE_PROJECT, env_toml, load, resources, run_main, synth_stack, write_config

from modules.core import stamp

PROJECT = (
    BASE_PROJECT
    + 'backend = "cloud"\n[cloud]\norganization = "acme"\nproject = "platform"\n'
    + 'hostname = "tfe.example.com"\nexecution_mode = "agent"\n'
)
GOV_ROLE = "arn:aws-us-gov:iam::222222222222:role/terraform"
FILES = {
    "dev": env_toml("10.10.0.0/16"),
    # another account in another partition; production profile: no auto-apply
    "prod": f'account_id = "222222222222"\nregion = "us-gov-west-1"\nassume_role_arn = "{GOV_ROLE}"\n'
    + env_toml("10.20.0.0/16", profile="production"),
    "qa": 'backend = "s3"\n' + env_toml("10.40.0.0/16"),  # S3 state: no workspace
    # no profile (the default is production), a workspace of its own name
    "stg": 'workspace = "staging"\n\n[network]\ncidr = "10.30.0.0/16"\n',
}


def variables(plan: str, apply: str, region: str) -> list[dict]:
    return [
        {"key": "TFC_AWS_PROVIDER_AUTH", "value": "true", "category": "env", "sensitive": False},
        {"key": "TFC_AWS_PLAN_ROLE_ARN", "value": plan, "category": "env", "sensitive": False},
        {"key": "TFC_AWS_APPLY_ROLE_ARN", "value": apply, "category": "env", "sensitive": False},
        {"key": "AWS_REGION", "value": region, "category": "env", "sensitive": False},
    ]


def entry(env: str, name: str, auto_apply: bool, account: str, region: str, partition: str = "aws") -> dict:
    role = f"arn:{partition}:iam::{account}:role/acme-{env}-tfc"
    return {
        "environment": env,
        "name": name,
        "organization": "acme",
        "project": "platform",
        "hostname": "tfe.example.com",
        "working_directory": f"generated/stacks/{env}",
        "trigger_patterns": [f"/generated/stacks/{env}/**/*"],
        "terraform_version": "1.11.4",
        "execution_mode": "agent",
        "auto_apply": auto_apply,
        "variables": variables(f"{role}-plan", f"{role}-apply", region),
    }


def test_one_workspace_per_cloud_environment_exactly(tmp_path: Path) -> None:
    from modules.stacks.workspaces import render_workspaces

    platform = load(write_config(tmp_path, FILES, project=PROJECT))
    text = render_workspaces(platform.all_environments)
    assert text is not None and text.endswith("}\n")
    assert json.loads(text) == {
        "workspaces": [
            entry("dev", "acme-dev", True, "111111111111", "eu-west-1"),
            entry("prod", "acme-prod", False, "222222222222", "us-gov-west-1", "aws-us-gov"),
            entry("stg", "staging", False, "111111111111", "eu-west-1"),
        ]
    }
    # deterministic: sorted keys, two-space indent, whatever order the environments come in
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert render_workspaces(reversed(platform.all_environments)) == text


def test_no_secret_is_in_it(tmp_path: Path) -> None:
    from modules.stacks.workspaces import render_workspaces

    text = render_workspaces(load(write_config(tmp_path, FILES, project=PROJECT)).all_environments)
    assert text is not None
    for workspace in json.loads(text)["workspaces"]:
        assert {v["key"] for v in workspace["variables"]} == {
            "TFC_AWS_PROVIDER_AUTH",
            "TFC_AWS_PLAN_ROLE_ARN",
            "TFC_AWS_APPLY_ROLE_ARN",
            "AWS_REGION",
        }
        assert not any(v["sensitive"] for v in workspace["variables"])
    for word in ("SECRET", "TOKEN", "ACCESS_KEY", "PASSWORD"):
        assert word not in text.upper()


def test_no_file_without_a_cloud_environment(tmp_path: Path) -> None:
    from modules.stacks.workspaces import render_workspaces

    platform = load(write_config(tmp_path, {"dev": env_toml()}))
    assert render_workspaces(platform.all_environments) is None


def synth(config: Path, out: Path, *args: str) -> str:
    result = run_main("synth", *args, "--config", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_written_with_the_bootstrap_stamped_and_dropped_when_no_longer_configured(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", FILES, project=PROJECT)
    out = tmp_path / "generated"
    synth(config, out)
    written = out / stamp.WORKSPACES
    text = written.read_text()
    assert [w["environment"] for w in json.loads(text)["workspaces"]] == ["dev", "prod", "stg"]
    assert stamp.WORKSPACES in stamp.recorded_outputs(out, stamp.BOOTSTRAP)

    # edited or deleted by hand: the stamp notices, and the synth writes it again
    written.write_text("{}\n")
    assert synth(config, out).split(": ", 1)[1].startswith("synthesized bootstrap")
    assert written.read_text() == text
    written.unlink()
    assert synth(config, out).split(": ", 1)[1].startswith("synthesized bootstrap")
    assert written.read_text() == text
    assert synth(config, out).endswith("up to date")

    # every environment back on S3: a full synth leaves no file (nor its directory) behind
    shutil.rmtree(config)
    write_config(config, {"dev": env_toml("10.10.0.0/16"), "qa": env_toml("10.40.0.0/16")})
    synth(config, out)
    assert not written.exists() and not written.parent.exists()


def test_each_run_role_it_names_is_a_bootstrap_role_trusting_that_workspace_and_phase(tmp_path: Path) -> None:
    """The two halves agree: the ARNs a workspace is told to use are roles the bootstrap stack creates,
    in the environment's account, trusting runs of that workspace and phase only."""
    from modules.cdk import Testing
    from modules.stacks.bootstrap import BootstrapStack
    from modules.stacks.workspaces import render_workspaces

    platform = load(write_config(tmp_path, FILES, project=PROJECT))
    text = render_workspaces(platform.all_environments)
    assert text is not None
    bootstrap = synth_stack(BootstrapStack(Testing.app(), platform))
    roles = {role["name"]: role for role in resources(bootstrap, "aws_iam_role").values()}
    aliases = {p.get("alias"): p["allowed_account_ids"] for p in bootstrap["provider"]["aws"]}
    for workspace in json.loads(text)["workspaces"]:
        for phase in ("plan", "apply"):
            (arn,) = [
                v["value"] for v in workspace["variables"] if v["key"] == f"TFC_AWS_{phase.upper()}_ROLE_ARN"
            ]
            account, name = arn.split(":")[4], arn.split("/")[-1]
            role = roles[name]
            provider = role.get("provider")  # "aws.<alias>"; none: the stack's default provider
            assert aliases[provider.removeprefix("aws.") if provider else None] == [account]
            (statement,) = json.loads(role["assume_role_policy"])["Statement"]
            assert statement["Condition"]["StringEquals"][f"{workspace['hostname']}:sub"] == (
                f"organization:acme:project:platform:workspace:{workspace['name']}:run_phase:{phase}"
            )
