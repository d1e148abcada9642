"""modules/security/secrets.py and its wiring: secrets and parameters in the environment stack, the
services' `secret:` / `parameter:` references resolved to them, and no value anywhere in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, by_path, env_toml, environment_json, load, ref, resources, write_config

from modules.compute.service.permissions import resolve_secret

KEY_ARN = "${aws_kms_key.key_key.arn}"

BODY = """
[edge]
http_only = true

[[services]]
name = "api"
port = 8080
paths = ["/*"]
priority = 10
secrets = { STRIPE = "secret:stripe", DB = "secret:database-url", SIGNING = "parameter:signing-key", FLAGS = "parameter:flags", PLAIN = "parameter:plain", OTHER = "ssm:/shared/other" }

[[services]]
name = "web"
port = 8081
paths = ["/web/*"]
priority = 20
secrets = { DB = "secret:database-url" }

[[secrets]]
name = "stripe"
description = "Stripe API key"
write_only = true
value_version = 3

[[secrets]]
name = "database-url"
description = "Database connection string"

[[parameters]]
name = "signing-key"
description = "Webhook signing key"
write_only = true

[[parameters]]
name = "plain"
type = "String"
description = "Not secret, written by Terraform"
write_only = true

[[parameters]]
name = "flags"
type = "String"
description = "Feature flags, set out of band"
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> dict:
    directory = write_config(tmp_path_factory.mktemp("secrets"), {"dev": env_toml() + BODY})
    return environment_json(load(directory), "dev")


def by_name(stack: dict, resource_type: str) -> dict[str, dict]:
    """{AWS name: resource} of a type."""
    return {r["name"]: r for r in resources(stack, resource_type).values()}


def container_secrets(stack: dict, service: str) -> dict[str, str]:
    (definition,) = [
        d for d in resources(stack, "aws_ecs_task_definition").values() if d["family"].endswith(f"-{service}")
    ]
    # The app container: its name is the service's (a traced service has the X-Ray daemon beside it).
    (container,) = [c for c in json.loads(definition["container_definitions"]) if c["name"] == service]
    return {s["name"]: s["valueFrom"] for s in container["secrets"]}


def execution_statements(stack: dict, service: str) -> dict[str, dict]:
    (policy,) = [
        p
        for name, p in resources(stack, "aws_iam_role_policy").items()
        if name == f"services_{service}_execution_role_policy"
    ]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


# --- the resources ---------------------------------------------------------------------------


def test_one_secret_per_entry_with_the_environment_key_and_the_profile_recovery_window(stack: dict) -> None:
    assert by_name(stack, "aws_secretsmanager_secret") == {
        "acme/dev/stripe": {
            "name": "acme/dev/stripe",
            "description": "Stripe API key",
            "kms_key_id": KEY_ARN,
            "recovery_window_in_days": 7,
        },
        "acme/dev/database-url": {
            "name": "acme/dev/database-url",
            "description": "Database connection string",
            "kms_key_id": KEY_ARN,
            "recovery_window_in_days": 7,
        },
    }


def test_addresses_are_the_entry_names(stack: dict) -> None:
    assert sorted(resources(stack, "aws_secretsmanager_secret")) == ["secrets_database_url", "secrets_stripe"]
    assert sorted(resources(stack, "aws_secretsmanager_secret_version")) == ["secrets_stripe_value"]
    assert sorted(resources(stack, "aws_ssm_parameter")) == ["secrets_plain", "secrets_signing_key"]


def test_a_write_only_secret_value_comes_from_its_ephemeral_variable_at_its_version(stack: dict) -> None:
    (version,) = resources(stack, "aws_secretsmanager_secret_version").values()
    assert version == {
        "secret_id": ref(stack, "aws_secretsmanager_secret", "secrets/stripe", "id"),
        "secret_string_wo": "${var.stripe_value}",
        "secret_string_wo_version": 3,
    }


def test_write_only_parameters_are_created_with_their_value_write_only(stack: dict) -> None:
    assert by_name(stack, "aws_ssm_parameter") == {
        "/acme/dev/signing-key": {
            "name": "/acme/dev/signing-key",
            "type": "SecureString",
            "description": "Webhook signing key",
            "key_id": KEY_ARN,
            "value_wo": "${var.signing_key_value}",
            "value_wo_version": 1,
        },
        # a String is not encrypted: no key
        "/acme/dev/plain": {
            "name": "/acme/dev/plain",
            "type": "String",
            "description": "Not secret, written by Terraform",
            "value_wo": "${var.plain_value}",
            "value_wo_version": 1,
        },
    }


def test_each_write_only_value_has_an_ephemeral_sensitive_variable_never_null(stack: dict) -> None:
    variables = stack["variable"]
    assert sorted(variables) == ["plain_value", "signing_key_value", "stripe_value"]
    for name, variable in variables.items():
        description = variable["description"]
        assert {k: v for k, v in variable.items() if k != "description"} == {
            "type": "string",
            "ephemeral": True,
            "sensitive": True,
            "nullable": False,
            # "" rather than null: the provider refuses a null write-only value beside its version
            "default": "",
        }, name
        assert "left alone" in description and "never kept in state" in description
    assert "/acme/dev/signing-key" in variables["signing_key_value"]["description"]


def test_no_value_is_anywhere_in_the_json(stack: dict) -> None:
    """Values only through write-only arguments: no secret_string, secret_binary, value or
    insecure_value, and nothing but variable references in the write-only ones."""
    for resource_type in (
        "aws_secretsmanager_secret",
        "aws_secretsmanager_secret_version",
        "aws_ssm_parameter",
    ):
        for resource in resources(stack, resource_type).values():
            assert not {"secret_string", "secret_binary", "value", "insecure_value"} & set(resource)
            for attribute in ("secret_string_wo", "value_wo"):
                if attribute in resource:
                    assert resource[attribute].startswith("${var.") and resource[attribute].endswith(
                        "_value}"
                    )
    assert all(v["default"] == "" for v in stack["variable"].values())


# --- references: resolution and the execution role -----------------------------------------------


def test_references_resolve_to_the_resources_of_the_stack(stack: dict) -> None:
    assert container_secrets(stack, "api") == {
        "DB": ref(stack, "aws_secretsmanager_secret", "secrets/database-url", "arn"),
        "FLAGS": "arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/flags",  # created out of band
        "OTHER": "arn:aws:ssm:eu-west-1:111111111111:parameter/shared/other",
        "PLAIN": ref(stack, "aws_ssm_parameter", "secrets/plain", "arn"),
        "SIGNING": ref(stack, "aws_ssm_parameter", "secrets/signing-key", "arn"),
        "STRIPE": ref(stack, "aws_secretsmanager_secret", "secrets/stripe", "arn"),
    }


def test_the_execution_role_reads_exactly_what_its_service_references(stack: dict) -> None:
    api = execution_statements(stack, "api")
    assert sorted(api["ReadReferencedSecrets"]["Resource"]) == sorted(
        [
            ref(stack, "aws_secretsmanager_secret", "secrets/database-url", "arn"),
            ref(stack, "aws_secretsmanager_secret", "secrets/stripe", "arn"),
        ]
    )
    assert sorted(api["ReadReferencedParameters"]["Resource"]) == sorted(
        [
            "arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/flags",
            "arn:aws:ssm:eu-west-1:111111111111:parameter/shared/other",
            ref(stack, "aws_ssm_parameter", "secrets/plain", "arn"),
            ref(stack, "aws_ssm_parameter", "secrets/signing-key", "arn"),
        ]
    )
    assert api["DecryptReferencedSecrets"] == {
        "Sid": "DecryptReferencedSecrets",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": KEY_ARN,
        "Condition": {
            "StringEquals": {
                "kms:ViaService": ["secretsmanager.eu-west-1.amazonaws.com", "ssm.eu-west-1.amazonaws.com"]
            }
        },
    }
    web = execution_statements(stack, "web")
    assert web["ReadReferencedSecrets"]["Resource"] == [
        ref(stack, "aws_secretsmanager_secret", "secrets/database-url", "arn")
    ]
    assert "ReadReferencedParameters" not in web
    assert web["DecryptReferencedSecrets"]["Condition"] == {
        "StringEquals": {"kms:ViaService": ["secretsmanager.eu-west-1.amazonaws.com"]}
    }


def test_resolve_secret_reads_declared_names_from_the_maps() -> None:
    secrets = {"stripe": "${aws_secretsmanager_secret.s.arn}"}
    parameters = {"flag": "arn:aws:ssm:eu-west-1:1:parameter/a/flag"}
    stripe = resolve_secret("secret:stripe", "eu-west-1", "1", secrets, parameters)
    assert (stripe.kind, stripe.value_from, stripe.resource_arn) == (
        "secretsmanager",
        secrets["stripe"],
        secrets["stripe"],
    )
    flag = resolve_secret("parameter:flag", "eu-west-1", "1", secrets, parameters)
    assert (flag.kind, flag.value_from) == ("ssm", parameters["flag"])
    # the other forms are unchanged
    external = resolve_secret("secretsmanager:a/b", "eu-west-1", "111111111111", secrets, parameters)
    assert external.resource_arn == "arn:aws:secretsmanager:eu-west-1:111111111111:secret:a/b-??????"
    with pytest.raises(ValueError, match=r"secret:nope is not declared in this environment \(stripe\)"):
        resolve_secret("secret:nope", "eu-west-1", "1", secrets, parameters)
    with pytest.raises(ValueError, match=r"parameter:stripe is not declared in this environment \(flag\)"):
        resolve_secret("parameter:stripe", "eu-west-1", "1", secrets, parameters)


def test_an_environment_without_entries_gets_no_secret_resources_or_variables(tmp_path: Path) -> None:
    stack = environment_json(load(write_config(tmp_path, {"dev": env_toml()})), "dev")
    assert "variable" not in stack
    for resource_type in (
        "aws_secretsmanager_secret",
        "aws_secretsmanager_secret_version",
        "aws_ssm_parameter",
    ):
        assert resource_type not in stack["resource"]


# --- the shipped environments ----------------------------------------------------------------


def test_dev_declares_stripe_with_its_value_set_out_of_band(committed_platform) -> None:
    stack = environment_json(committed_platform, "dev")
    secret = by_path(stack, "aws_secretsmanager_secret")["secrets/stripe"]
    assert (secret["name"], secret["recovery_window_in_days"]) == ("acme/dev/stripe", 7)
    assert "aws_secretsmanager_secret_version" not in stack["resource"] and "variable" not in stack
    api = container_secrets(stack, "api")
    assert api["STRIPE_KEY"] == ref(stack, "aws_secretsmanager_secret", "secrets/stripe", "arn")
    assert api["FEATURE_FLAGS"] == "arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/api/feature-flags"


def test_prod_writes_stripe_write_only(committed_platform) -> None:
    stack = environment_json(committed_platform, "prod")
    (secret,) = resources(stack, "aws_secretsmanager_secret").values()
    assert (secret["name"], secret["recovery_window_in_days"]) == ("acme/prod/stripe", 30)
    (version,) = resources(stack, "aws_secretsmanager_secret_version").values()
    assert version["secret_string_wo"] == "${var.stripe_value}"
    assert stack["variable"]["stripe_value"]["ephemeral"] is True
    assert container_secrets(stack, "api")["STRIPE_KEY"] == ref(
        stack, "aws_secretsmanager_secret", "secrets/stripe", "arn"
    )


def test_the_readme_documents_both_ways_of_setting_a_value() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Secrets and parameters" in readme
    for command in ("aws secretsmanager put-secret-value", "aws ssm put-parameter", "-var 'stripe_value="):
        assert command in readme, command
