"""modules/readable_addresses.js and modules/cdk.py `synth_app`: Terraform names spell the construct
path below the stack, without cdktf's hash suffix, and two paths spelling one name fail the synth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import by_path, construct_paths, resources


def small_app(tmp_path: Path):
    """An app with one stack, "test", holding an AWS provider (the synth refuses a stack without)."""
    from modules.cdk import App, TerraformStack, aws

    app = App(outdir=str(tmp_path / "out"))
    stack = TerraformStack(app, "test")
    aws.provider.AwsProvider(stack, "aws", region="eu-west-1")
    return app, stack


def synthesized(app, tmp_path: Path) -> dict:
    from modules.cdk import synth_app

    synth_app(app)
    return json.loads((tmp_path / "out" / "stacks" / "test" / "cdk.tf.json").read_text())


def readable(path: str) -> str:
    """The rule, spelled out: each ID's runs of non-alphanumerics become "_" (trimmed), joined by "_"."""
    parts = (re.sub("[^A-Za-z0-9]+", "_", construct_id).strip("_") for construct_id in path.split("/"))
    return "_".join(part for part in parts if part)


def test_names_follow_the_construct_path_without_a_hash(tmp_path: Path) -> None:
    from modules.cdk import Construct, aws

    app, stack = small_app(tmp_path)
    top = aws.s3_bucket.S3Bucket(stack, "logs-bucket", bucket="logs")
    scope = Construct(stack, "net.work-1")
    nested = aws.s3_bucket.S3Bucket(scope, "my--bucket.v2", bucket="data")
    aws.s3_bucket_versioning.S3BucketVersioningA(
        scope, "my--bucket.v2-versioning", bucket=nested.id, versioning_configuration={"status": "Enabled"}
    )
    aws.s3_bucket_versioning.S3BucketVersioningA(
        Construct(Construct(stack, "-edge-"), "cluster"),
        "cluster",
        bucket=top.id,
        versioning_configuration={"status": "Enabled"},
    )
    stack_json = synthesized(app, tmp_path)

    assert by_path(stack_json, "aws_s3_bucket").keys() == {"logs-bucket", "net.work-1/my--bucket.v2"}
    assert set(resources(stack_json, "aws_s3_bucket")) == {"logs_bucket", "net_work_1_my_bucket_v2"}
    assert construct_paths(stack_json, "aws_s3_bucket_versioning") == {
        "net_work_1_my_bucket_v2_versioning": "net.work-1/my--bucket.v2-versioning",
        # leading and trailing punctuation goes; a repeated ID stays (cdktf's ids dropped one)
        "edge_cluster_cluster": "-edge-/cluster/cluster",
    }
    # references use the same names
    versioning = resources(stack_json, "aws_s3_bucket_versioning")
    assert (
        versioning["net_work_1_my_bucket_v2_versioning"]["bucket"]
        == "${aws_s3_bucket.net_work_1_my_bucket_v2.id}"
    )
    assert versioning["edge_cluster_cluster"]["bucket"] == "${aws_s3_bucket.logs_bucket.id}"
    for resource_type in ("aws_s3_bucket", "aws_s3_bucket_versioning"):
        for name, path in construct_paths(stack_json, resource_type).items():
            assert name == readable(path)
            assert not re.search(r"_[0-9A-F]{8}$", name), name


def test_every_stack_of_the_committed_config_follows_the_rule(fresh_synth: Path) -> None:
    for stack_file in sorted(fresh_synth.glob("stacks/*/cdk.tf.json")):
        stack_json = json.loads(stack_file.read_text())
        for resource_type in stack_json["resource"]:
            for name, path in construct_paths(stack_json, resource_type).items():
                assert name == readable(path), f"{stack_file.parent.name}: {resource_type}.{name} at {path}"


def test_two_paths_spelling_one_name_fail_the_synth_naming_both(tmp_path: Path) -> None:
    from modules.cdk import AddressCollision, Construct, aws

    app, stack = small_app(tmp_path)
    aws.s3_bucket.S3Bucket(Construct(stack, "a-b"), "c", bucket="first")
    aws.s3_bucket.S3Bucket(Construct(stack, "a"), "b-c", bucket="second")
    with pytest.raises(AddressCollision) as raised:
        synthesized(app, tmp_path)
    message = str(raised.value)
    assert "a-b/c" in message and "a/b-c" in message
    assert '"a_b_c"' in message and "in stack test" in message
    assert "\n" not in message
    assert not (tmp_path / "out" / "stacks" / "test" / "cdk.tf.json").exists()


def test_one_name_for_two_element_types_is_no_collision(tmp_path: Path) -> None:
    """Terraform names are unique per type: service "web-lifecycle"'s repository and service
    "web"'s lifecycle policy both spell repositories_web_lifecycle, under different types."""
    from modules.cdk import Construct, aws

    app, stack = small_app(tmp_path)
    scope = Construct(stack, "repositories")
    aws.ecr_repository.EcrRepository(scope, "web-lifecycle", name="r")
    aws.ecr_lifecycle_policy.EcrLifecyclePolicy(
        Construct(scope, "web"), "lifecycle", repository="r", policy="{}"
    )
    stack_json = synthesized(app, tmp_path)
    assert list(stack_json["resource"]["aws_ecr_repository"]) == ["repositories_web_lifecycle"]
    assert list(stack_json["resource"]["aws_ecr_lifecycle_policy"]) == ["repositories_web_lifecycle"]


def test_other_synth_errors_are_not_collisions(tmp_path: Path) -> None:
    from modules.cdk import AddressCollision, App, TerraformStack, aws, synth_app

    app = App(outdir=str(tmp_path / "out"))
    aws.s3_bucket.S3Bucket(TerraformStack(app, "test"), "bucket", bucket="b")  # no provider
    with pytest.raises(Exception, match="without a matching provider") as raised:
        synth_app(app)
    assert not isinstance(raised.value, AddressCollision)
