"""modules/data/buckets.py (and the baseline's options in modules/data/bucket.py): application
buckets by purpose, their access-log bucket, and the grants of each access mode."""

from __future__ import annotations

import json

import pytest
from conftest import by_path, env_toml, load, ref, resources, synth_stack, write_config

from modules.config.uses import parse_use

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"

BUCKETS = """
[[buckets]]
name = "uploads"
purpose = "uploads"
cors_origins = ["https://app.example.com", "http://localhost:3000"]

[[buckets]]
name = "assets"
purpose = "static"

[[buckets]]
name = "backups"
purpose = "backups"
object_lock_days = 30

[[buckets]]
name = "archive"
purpose = "backups"
glacier_after_days = 180

[[buckets]]
name = "app-logs"
purpose = "logs"
encryption = "sse-s3"

[[buckets]]
name = "audit"
purpose = "logs"
expire_after_days = 730
infrequent_access_after_days = 60

[[buckets]]
name = "media"
purpose = "uploads"
infrequent_access_after_days = 90
"""
NAMES = ("uploads", "assets", "backups", "archive", "app-logs", "audit", "media")
GRANTS = {
    "uploads_read": "bucket:uploads:read",
    "uploads_write": "bucket:uploads:write",
    "uploads_read_write": "bucket:uploads:read-write",
    "logs_write": "bucket:app-logs:write",
}


class Built:
    def __init__(self, stack: dict, buckets) -> None:
        self.stack = stack
        self.buckets = buckets

    def arn(self, name: str) -> str:
        return ref(self.stack, "aws_s3_bucket", f"buckets/{name}/bucket", "arn")

    def grant(self, output: str) -> dict:
        return json.loads(self.stack["output"][output]["value"])

    def of(self, resource_type: str) -> dict[str, dict]:
        """{configured name (or the access-log bucket's ID): resource} of a baseline resource type."""
        return {path.split("/")[1]: r for path, r in by_path(self.stack, resource_type).items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    from modules.cdk import TerraformOutput, TerraformStack, Testing
    from modules.data.buckets import ApplicationBuckets, ApplicationBucketsProps

    directory = write_config(tmp_path_factory.mktemp("buckets"), {"dev": env_toml() + BUCKETS})
    env = load(directory).environment("dev")
    stack = TerraformStack(Testing.app(), "test")
    buckets = ApplicationBuckets(stack, "buckets", ApplicationBucketsProps.of(env, kms_key_arn=KEY))
    for output, use in GRANTS.items():
        grant = buckets.grant("api", parse_use(use))
        assert not grant.secrets and not grant.execution_statements and not grant.mounts
        TerraformOutput(
            stack,
            output,
            value=json.dumps(
                {"environment": dict(grant.environment), "task_statements": list(grant.task_statements)}
            ),
        )
    return Built(synth_stack(stack), buckets)


def test_one_bucket_per_entry_named_by_the_rule_plus_one_access_log_bucket(built: Built) -> None:
    names = {name: b["bucket"] for name, b in built.of("aws_s3_bucket").items()}
    assert names == {
        **{name: f"acme-dev-{name}-111111111111" for name in NAMES},
        "s3-server-access-logs": "acme-dev-s3-access-logs-111111111111-eu-west-1",
    }
    assert set(built.buckets.names) == set(built.buckets.arns) == set(NAMES)


def test_every_bucket_is_versioned_private_and_owner_enforced(built: Built) -> None:
    assert {n: v["versioning_configuration"] for n, v in built.of("aws_s3_bucket_versioning").items()} == {
        n: {"status": "Enabled"} for n in (*NAMES, "s3-server-access-logs")
    }
    blocks = built.of("aws_s3_bucket_public_access_block")
    assert len(blocks) == len(NAMES) + 1
    for block in blocks.values():
        assert all(
            block[k] is True
            for k in (
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            )
        )
    # static assets stay private: no policy statement beyond the TLS deny
    policy = json.loads(built.of("aws_s3_bucket_policy")["assets"]["policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyInsecureTransport"]


def test_the_environment_key_except_sse_s3_for_the_logs_bucket_that_asks(built: Built) -> None:
    rules = {
        n: e["rule"][0] for n, e in built.of("aws_s3_bucket_server_side_encryption_configuration").items()
    }
    kms = {
        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY},
        "bucket_key_enabled": True,
    }
    sse_s3 = {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    assert rules == {
        **{n: kms for n in NAMES if n != "app-logs"},
        "app-logs": sse_s3,
        "s3-server-access-logs": sse_s3,  # S3 log delivery writes only to SSE-S3 buckets
    }


def test_lifecycle_by_purpose(built: Built) -> None:
    def summary(configuration: dict) -> dict:
        rules = {r["id"]: r for r in configuration["rule"]}
        base = rules["expire-old-versions-and-uploads"]
        assert base["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
        transitions = rules.get("transition-current-versions", {}).get("transition", [])
        return {
            "expire": base.get("expiration", [{}])[0].get("days"),
            "noncurrent": base["noncurrent_version_expiration"][0]["noncurrent_days"],
            "transitions": [(t["days"], t["storage_class"]) for t in transitions],
        }

    lifecycles = {n: summary(c) for n, c in built.of("aws_s3_bucket_lifecycle_configuration").items()}
    assert lifecycles == {
        "uploads": {"expire": None, "noncurrent": 30, "transitions": []},
        "media": {"expire": None, "noncurrent": 30, "transitions": [(90, "STANDARD_IA")]},
        "assets": {"expire": None, "noncurrent": 30, "transitions": []},
        "backups": {"expire": None, "noncurrent": 30, "transitions": [(30, "STANDARD_IA"), (90, "GLACIER")]},
        "archive": {"expire": None, "noncurrent": 30, "transitions": [(30, "STANDARD_IA"), (180, "GLACIER")]},
        "app-logs": {"expire": 365, "noncurrent": 30, "transitions": [(30, "STANDARD_IA")]},
        "audit": {"expire": 730, "noncurrent": 30, "transitions": [(60, "STANDARD_IA")]},
        "s3-server-access-logs": {"expire": 365, "noncurrent": 1, "transitions": []},
    }


def test_object_lock_in_governance_mode_only_for_the_backups_bucket_that_asks(built: Built) -> None:
    buckets = built.of("aws_s3_bucket")
    assert {n for n, b in buckets.items() if b.get("object_lock_enabled")} == {"backups"}
    locks = built.of("aws_s3_bucket_object_lock_configuration")
    assert locks == {
        "backups": {
            "bucket": ref(built.stack, "aws_s3_bucket", "buckets/backups/bucket", "id"),
            "rule": {"default_retention": {"mode": "GOVERNANCE", "days": 30}},
        }
    }


def test_cors_only_for_the_uploads_bucket_with_origins(built: Built) -> None:
    assert built.of("aws_s3_bucket_cors_configuration") == {
        "uploads": {
            "bucket": ref(built.stack, "aws_s3_bucket", "buckets/uploads/bucket", "id"),
            "cors_rule": [
                {
                    "id": "browser-access",
                    "allowed_origins": ["https://app.example.com", "http://localhost:3000"],
                    "allowed_methods": ["GET", "PUT", "POST", "HEAD"],
                    "allowed_headers": ["*"],
                    "expose_headers": ["ETag"],
                    "max_age_seconds": 3000,
                }
            ],
        }
    }


def test_server_access_logs_of_every_bucket_go_to_the_one_log_bucket(built: Built) -> None:
    target = ref(built.stack, "aws_s3_bucket_policy", "buckets/s3-server-access-logs/policy", "bucket")
    logging = built.of("aws_s3_bucket_logging")
    assert {n: (g["target_bucket"], g["target_prefix"]) for n, g in logging.items()} == {
        n: (target, f"{n}/") for n in NAMES
    }
    policy = json.loads(built.of("aws_s3_bucket_policy")["s3-server-access-logs"]["policy"])
    delivery = next(s for s in policy["Statement"] if s["Sid"] == "S3ServerAccessLogDelivery")
    assert delivery == {
        "Sid": "S3ServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::acme-dev-s3-access-logs-111111111111-eu-west-1/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::acme-dev-{n}-111111111111" for n in NAMES]},
            "StringEquals": {"aws:SourceAccount": "111111111111"},
        },
    }


def test_no_bucket_is_prevent_destroy_or_force_destroy(built: Built) -> None:
    for bucket in resources(built.stack, "aws_s3_bucket").values():
        assert "lifecycle" not in bucket and "force_destroy" not in bucket


def key_statement(built: Built, sid: str, bucket: str, actions: list[str]) -> dict:
    arn = built.arn(bucket)
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": KEY,
        "Condition": {
            "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": [arn, f"{arn}/*"]},
        },
    }


def test_read_grant(built: Built) -> None:
    arn = built.arn("uploads")
    assert built.grant("uploads_read") == {
        "environment": {
            "BUCKET_UPLOADS": ref(built.stack, "aws_s3_bucket", "buckets/uploads/bucket", "bucket")
        },
        "task_statements": [
            {"Sid": "BucketUploadsReadList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn},
            {
                "Sid": "BucketUploadsReadObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": f"{arn}/*",
            },
            key_statement(built, "BucketUploadsReadKey", "uploads", ["kms:Decrypt"]),
        ],
    }


def test_write_grant_adds_objects_and_never_deletes_or_lists(built: Built) -> None:
    arn = built.arn("uploads")
    assert built.grant("uploads_write")["task_statements"] == [
        {
            "Sid": "BucketUploadsWriteObjects",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
            "Resource": f"{arn}/*",
        },
        key_statement(built, "BucketUploadsWriteKey", "uploads", ["kms:Decrypt", "kms:GenerateDataKey"]),
    ]


def test_read_write_grant_also_deletes_but_never_a_version(built: Built) -> None:
    arn = built.arn("uploads")
    assert built.grant("uploads_read_write")["task_statements"] == [
        {"Sid": "BucketUploadsReadWriteList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn},
        {
            "Sid": "BucketUploadsReadWriteObjects",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": f"{arn}/*",
        },
        key_statement(built, "BucketUploadsReadWriteKey", "uploads", ["kms:Decrypt", "kms:GenerateDataKey"]),
    ]


def test_an_sse_s3_bucket_grants_no_key(built: Built) -> None:
    arn = built.arn("app-logs")
    assert built.grant("logs_write") == {
        "environment": {
            "BUCKET_APP_LOGS": ref(built.stack, "aws_s3_bucket", "buckets/app-logs/bucket", "bucket")
        },
        "task_statements": [
            {
                "Sid": "BucketAppLogsWriteObjects",
                "Effect": "Allow",
                "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
                "Resource": f"{arn}/*",
            }
        ],
    }


def test_sids_are_unique_across_buckets_and_modes(built: Built) -> None:
    sids = [s["Sid"] for output in GRANTS for s in built.grant(output)["task_statements"]]
    assert len(sids) == len(set(sids))


def test_a_use_of_an_unknown_bucket_is_refused(built: Built) -> None:
    with pytest.raises(ValueError, match="not a use of a configured bucket"):
        built.buckets.grant("api", parse_use("bucket:missing:read"))


def test_a_long_prefix_keeps_the_access_log_bucket_name_within_63_characters() -> None:
    from modules.data.buckets import access_log_bucket_name

    name = access_log_bucket_name(
        "a-very-long-project-name-x-a-long-environment", "111111111111", "ap-southeast-2"
    )
    assert len(name) == 63 and name.endswith("-s3-access-logs-111111111111-ap-southeast-2")
    assert (
        access_log_bucket_name("acme-dev", "111111111111", "eu-west-1")
        == "acme-dev-s3-access-logs-111111111111-eu-west-1"
    )
