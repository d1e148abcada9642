"""modules/stacks/providers.py, environment.py and bootstrap.py with Terraform Cloud: the backend of
each environment (S3 or cloud, never both), no role assumed by a cloud environment's provider, and a
bootstrap stack without state storage when no environment keeps state in S3."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BASE_PROJECT, env_toml, environment_json, load, resources, synth_stack, write_config

CLOUD = '[cloud]\norganization = "acme"\nproject = "platform"\nhostname = "tfe.example.com"\n'
ROLE = "arn:aws:iam::222222222222:role/terraform"


def cloud_project(backend: str = "cloud", state: str = "") -> str:
    return BASE_PROJECT + f'backend = "{backend}"\n' + (f"[state]\n{state}" if state else "") + CLOUD


def elsewhere(cidr: str, extra: str = "") -> str:
    """An environment in another account than the project's, with the role the bootstrap reaches it by."""
    return f'account_id = "222222222222"\nassume_role_arn = "{ROLE}"\n{extra}' + env_toml(cidr)


def bootstrap_json(platform) -> dict:
    from modules.cdk import Testing
    from modules.stacks.bootstrap import BootstrapStack

    return synth_stack(BootstrapStack(Testing.app(), platform))


def test_a_cloud_environment_has_a_cloud_block_and_no_s3_backend(tmp_path: Path) -> None:
    platform = load(write_config(tmp_path, {"dev": env_toml()}, project=cloud_project()))
    terraform = environment_json(platform, "dev")["terraform"]
    assert "backend" not in terraform
    assert terraform["cloud"] == {
        "hostname": "tfe.example.com",
        "organization": "acme",
        "workspaces": {"name": "acme-dev", "project": "platform"},
    }


def test_a_workspace_named_in_the_file_is_the_one_in_the_cloud_block(tmp_path: Path) -> None:
    platform = load(
        write_config(tmp_path, {"dev": 'workspace = "dev-ws"\n' + env_toml()}, project=cloud_project())
    )
    assert environment_json(platform, "dev")["terraform"]["cloud"]["workspaces"]["name"] == "dev-ws"


def test_a_cloud_environment_in_another_account_assumes_no_role(tmp_path: Path) -> None:
    """Its runs hold the account's plan or apply role already (dynamic credentials)."""
    platform = load(write_config(tmp_path, {"prod": elsewhere("10.20.0.0/16")}, project=cloud_project()))
    stack = environment_json(platform, "prod")
    (provider,) = stack["provider"]["aws"]
    assert provider["allowed_account_ids"] == ["222222222222"]
    assert "assume_role" not in provider
    assert list(stack["terraform"]) == ["cloud", "required_providers"]


def test_an_environment_may_keep_s3_state_in_a_cloud_project_and_the_other_way_round(tmp_path: Path) -> None:
    files = {
        "dev": 'backend = "s3"\n' + env_toml("10.10.0.0/16"),
        "prod": 'backend = "cloud"\n' + elsewhere("10.20.0.0/16"),
    }
    for backend in ("s3", "cloud"):
        platform = load(write_config(tmp_path / backend, files, project=cloud_project(backend)))
        dev, prod = environment_json(platform, "dev"), environment_json(platform, "prod")
        assert "s3" in dev["terraform"]["backend"] and "cloud" not in dev["terraform"]
        assert "backend" not in prod["terraform"] and prod["terraform"]["cloud"]["workspaces"]["name"] == (
            "acme-prod"
        )
        assert "assume_role" not in prod["provider"]["aws"][0]


STORE_TYPES = ("aws_s3_bucket", "aws_kms_key", "aws_kms_alias", "aws_dynamodb_table")
STORE_OUTPUTS = {"state_bucket", "state_access_log_bucket", "state_kms_key_arn", "lock_table"}


@pytest.mark.parametrize("bootstrap_backend", ["local", "cloud"])
def test_without_an_s3_environment_the_bootstrap_has_no_state_store(
    tmp_path: Path, bootstrap_backend: str
) -> None:
    platform = load(
        write_config(
            tmp_path,
            {"dev": env_toml("10.10.0.0/16"), "prod": elsewhere("10.20.0.0/16")},
            project=cloud_project(state=f'bootstrap_backend = "{bootstrap_backend}"\n'),
        )
    )
    stack = bootstrap_json(platform)
    assert not any(resources(stack, kind) for kind in STORE_TYPES)
    assert not STORE_OUTPUTS & set(stack.get("output", {}))
    if bootstrap_backend == "cloud":
        assert "backend" not in stack["terraform"]
        assert stack["terraform"]["cloud"] == {
            "hostname": "tfe.example.com",
            "organization": "acme",
            "workspaces": {"name": "acme-bootstrap", "project": "platform"},
        }
    else:
        assert stack["terraform"]["backend"] == {"local": {"path": "terraform.tfstate"}}
        assert "cloud" not in stack["terraform"]


def test_one_s3_environment_keeps_the_state_store_whichever_environments_are_synthesized(
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path,
        {"dev": env_toml("10.10.0.0/16"), "qa": 'backend = "s3"\n' + env_toml("10.40.0.0/16")},
        project=cloud_project(),
    )
    from modules.config import load_platform

    full, only_dev = load_platform(config), load_platform(config, ("dev",))
    assert [e.name for e in only_dev.environments] == ["dev"]  # the cloud one alone is selected
    stack = bootstrap_json(only_dev)
    assert stack == bootstrap_json(full)
    assert all(resources(stack, kind) for kind in STORE_TYPES)
    assert set(stack["output"]) >= STORE_OUTPUTS
