"""Tier 4, secrets and parameters: examples/secrets/ applied against a moto server with its
write-only values passed as `-var`, and none of them in Terraform state or a saved plan.

In order, on one moto server: plan with the values to a file (no value in it), apply that plan
(the ephemeral values given again), the values are in moto and nowhere in state, re-plans are clean
with and without the variables, an out-of-band value is left alone, a raised value_version writes
the new value, destroy. Harness: emulator.py; moto's gaps: emulator_profile.toml.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, synth_config
from emulator import EmulatorStack, load_profile, moto_server, project_account_id, unexpected_changes

EXAMPLE = ROOT / "examples" / "secrets"
# Distinct strings that must never show up in state or plans (and would be found if they did).
STRIPE = "sk_test_emulator_stripe_value_one_3f9c"
SIGNING = "emulator_signing_key_value_one_b71d"
STRIPE_NEW = "sk_test_emulator_stripe_value_two_8e21"
OUT_OF_BAND = "postgres://emulator:out-of-band@db/api"
VALUES = {"stripe_value": STRIPE, "signing_key_value": SIGNING}


def var_args(values: dict[str, str]) -> list[str]:
    return [f"-var={name}={value}" for name, value in sorted(values.items())]


def leaked(text: str | bytes, values: tuple[str, ...] = (STRIPE, SIGNING, STRIPE_NEW)) -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    return [v for v in values if v.encode() in raw]


@pytest.fixture(scope="module")
def example_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("secrets-example") / "generated"
    synth_config(EXAMPLE, out)
    return out


@pytest.fixture(scope="module")
def stack(
    example_out: Path, terraform_cli_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorStack]:
    """The example's dev stack, initialized against its own moto server (stopped afterwards).

    The harness sets a placeholder `TF_VAR_<name>` for every variable, so that stacks applied
    without thought for their values still apply; this test passes its own values with `-var`
    and checks what happens without them, so the placeholders are taken out.
    """
    tmp = tmp_path_factory.mktemp("emulator-secrets")
    with moto_server(tmp / "logs", account_id=project_account_id(EXAMPLE)) as server:
        applied = EmulatorStack(
            example_out / "stacks" / "dev", tmp / "stacks", terraform_cli_config, server, load_profile()
        )
        assert not [a for a in applied.removed if "secret" in a or "ssm" in a], applied.removed
        for name in [n for n in applied.tf.env if n.startswith("TF_VAR_")]:
            del applied.tf.env[name]
        applied.init()
        yield applied


def secretsmanager(stack: EmulatorStack):
    return stack.server.boto3_client("secretsmanager")


def ssm(stack: EmulatorStack):
    return stack.server.boto3_client("ssm")


def stored_secret(stack: EmulatorStack, name: str) -> str:
    return str(secretsmanager(stack).get_secret_value(SecretId=name)["SecretString"])


def stored_parameter(stack: EmulatorStack, name: str) -> str:
    return str(ssm(stack).get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])


def state_texts(stack: EmulatorStack) -> dict[str, str]:
    """The state as Terraform stores it and as it shows it."""
    return {
        "terraform.tfstate": (stack.workdir / "terraform.tfstate").read_text(),
        "state pull": stack.run("state", "pull").stdout,
        "show -json": stack.run("show", "-json").stdout,
    }


def state_resources(stack: EmulatorStack) -> dict[str, dict]:
    state = json.loads(stack.run("state", "pull").stdout)
    return {f"{r['type']}.{r['name']}": r["instances"][0]["attributes"] for r in state["resources"]}


@pytest.mark.emulator
class TestSecretsExample:
    """In order: the last test destroys what the second applied."""

    def test_a_saved_plan_holds_no_value(self, stack: EmulatorStack) -> None:
        stack.run("plan", "-input=false", "-out=secrets.tfplan", *var_args(VALUES))
        plan_file = stack.workdir / "secrets.tfplan"
        with zipfile.ZipFile(plan_file) as archive:
            for member in archive.namelist():
                assert not leaked(archive.read(member)), f"value in the saved plan's {member}"
        shown = stack.run("show", "-json", "secrets.tfplan").stdout
        assert not leaked(shown), "value in `terraform show -json` of the plan"
        planned = {c["address"]: c["change"]["after"] for c in json.loads(shown)["resource_changes"]}
        version = planned["aws_secretsmanager_secret_version.secrets_stripe_value"]
        assert version["secret_string_wo"] is None and version["secret_string_wo_version"] == 1
        parameter = planned["aws_ssm_parameter.secrets_signing_key"]
        assert parameter["value_wo"] is None and parameter["value_wo_version"] == 2

    def test_the_saved_plan_applies_with_the_values_given_again(self, stack: EmulatorStack) -> None:
        # ephemeral values are not in the plan: apply refuses it without them
        refused = stack.tf.run("apply", "-input=false", "-no-color", "secrets.tfplan")
        assert refused.returncode == 1 and "must also be set during the apply phase" in refused.stderr
        stack.run("apply", "-input=false", *var_args(VALUES), "secrets.tfplan")
        assert stored_secret(stack, "example/dev/stripe") == STRIPE
        assert stored_parameter(stack, "/example/dev/signing-key") == SIGNING
        described = ssm(stack).describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": ["/example/dev/signing-key"]}]
        )["Parameters"][0]
        assert described["Type"] == "SecureString" and described["KeyId"].startswith("arn:aws:kms:")

    def test_the_state_holds_no_value(self, stack: EmulatorStack) -> None:
        for where, text in state_texts(stack).items():
            assert not leaked(text), f"value in {where}"
        found = state_resources(stack)
        version = found["aws_secretsmanager_secret_version.secrets_stripe_value"]
        assert version["has_secret_string_wo"] is True and not version["secret_string"]
        assert version["secret_string_wo"] is None
        parameter = found["aws_ssm_parameter.secrets_signing_key"]
        assert parameter["has_value_wo"] is True and not parameter["value"] and parameter["value_wo"] is None
        assert "aws_ssm_parameter.secrets_feature_flags" not in found, "out of band: not Terraform's"

    def test_the_execution_role_reads_the_applied_secrets(self, stack: EmulatorStack) -> None:
        arns = {
            name: secretsmanager(stack).describe_secret(SecretId=f"example/dev/{name}")["ARN"]
            for name in ("stripe", "database-url")
        }
        iam = stack.server.boto3_client("iam")
        document = iam.get_role_policy(
            RoleName="example-dev-api-execution", PolicyName="pull-log-read-secrets"
        )
        statements = {s["Sid"]: s for s in document["PolicyDocument"]["Statement"]}
        assert sorted(statements["ReadReferencedSecrets"]["Resource"]) == sorted(arns.values())
        assert (
            "arn:aws:ssm:eu-west-1:111111111111:parameter/example/dev/signing-key"
            in (statements["ReadReferencedParameters"]["Resource"])
        )

    def test_replans_are_clean_with_and_without_the_values(self, stack: EmulatorStack) -> None:
        replan = stack.replan()
        assert replan.clean, "\n".join(str(c) for c in replan.unexpected)
        # the same values again: a write-only argument never shows a difference, the versions decide
        changes = stack.plan_changes("again.tfplan", *var_args(VALUES))
        assert unexpected_changes(changes, stack.profile) == (), [str(c) for c in changes]
        with zipfile.ZipFile(stack.workdir / "again.tfplan") as archive:
            assert not [m for m in archive.namelist() if leaked(archive.read(m))]

    def test_an_apply_without_the_variables_leaves_every_value_alone(self, stack: EmulatorStack) -> None:
        # the out-of-band path: Terraform created the secret, its value is set beside it
        secretsmanager(stack).put_secret_value(SecretId="example/dev/database-url", SecretString=OUT_OF_BAND)
        stack.apply()
        assert stored_secret(stack, "example/dev/stripe") == STRIPE
        assert stored_parameter(stack, "/example/dev/signing-key") == SIGNING
        assert stored_secret(stack, "example/dev/database-url") == OUT_OF_BAND
        assert not leaked(state_texts(stack)["state pull"], (OUT_OF_BAND,)), (
            "out-of-band value read into state"
        )

    def test_a_raised_value_version_writes_the_new_value(self, stack: EmulatorStack) -> None:
        config_path = stack.workdir / "cdk.tf.json"
        config = json.loads(config_path.read_text())
        config["resource"]["aws_secretsmanager_secret_version"]["secrets_stripe_value"][
            "secret_string_wo_version"
        ] = 2
        config_path.write_text(json.dumps(config, indent=2))
        stack.run("apply", "-auto-approve", "-input=false", *var_args({"stripe_value": STRIPE_NEW}))
        assert stored_secret(stack, "example/dev/stripe") == STRIPE_NEW
        previous = secretsmanager(stack).get_secret_value(
            SecretId="example/dev/stripe", VersionStage="AWSPREVIOUS"
        )
        assert previous["SecretString"] == STRIPE
        assert stored_parameter(stack, "/example/dev/signing-key") == SIGNING
        for where, text in state_texts(stack).items():
            assert not leaked(text), f"value in {where}"
        assert stack.replan().clean

    def test_destroys(self, stack: EmulatorStack) -> None:
        stack.destroy()
        assert stack.state_addresses() == []
