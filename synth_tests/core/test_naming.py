"""modules/core/naming.py: names the stacks agree on, and AWS name limits."""

from __future__ import annotations

from pathlib import Path

from conftest import BASE_PROJECT, env_toml, load, write_config

from modules.core import naming


def test_bounded_names_fit_the_limit_and_never_change_by_themselves() -> None:
    assert naming.bounded("short", 64) == "short"
    long = "a" * 70
    assert len(naming.bounded(long, 64)) == 64
    assert naming.bounded(long, 64) == naming.bounded(long, 64) != naming.bounded("b" * 70, 64)
    assert naming.bounded("acme-dev-" + "x" * 40, 32) == "acme-dev-xxxxxxxxxxxxxxxx-" + naming.short_hash(
        "acme-dev-" + "x" * 40
    )


def test_state_names_come_from_the_project(tmp_path: Path) -> None:
    project = load(write_config(tmp_path, {"dev": env_toml()}, project=BASE_PROJECT)).project
    assert naming.state_bucket(project) == "acme-tfstate-111111111111-eu-west-1"
    assert naming.state_access_log_bucket(project) == "acme-tfstate-logs-111111111111-eu-west-1"
    assert naming.lock_table(project) == "acme-tflock"
    assert naming.state_key_alias_arn(project) == "arn:aws:kms:eu-west-1:111111111111:alias/acme-tfstate"
    assert naming.state_object_key("dev") == "dev/terraform.tfstate"


def test_partitions() -> None:
    assert [naming.partition(r) for r in ("eu-west-1", "cn-north-1", "us-gov-west-1")] == [
        "aws",
        "aws-cn",
        "aws-us-gov",
    ]


def test_bucket_name_keeps_its_suffix_and_shortens_the_head_with_a_hash() -> None:
    from modules.core.naming import bucket_name, short_hash

    assert (
        bucket_name("acme-dev", "-alb-logs-111111111111-eu-west-1")
        == "acme-dev-alb-logs-111111111111-eu-west-1"
    )
    head, suffix = "a" * 20 + "-" + "b" * 20, "-pipeline-111111111111-ap-southeast-2"
    name = bucket_name(head, suffix)
    assert len(name) == 63 and name.endswith(suffix)
    assert name == f"{'a' * 19}-{short_hash(head + suffix)}{suffix}"
    assert bucket_name(head + "x", suffix) != name, "two long heads stay apart"
