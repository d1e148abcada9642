"""Tier 4, dynamic provider credentials: examples/terraform-cloud/'s bootstrap stack applied to moto,
the OIDC providers and run roles read back in each account, re-planned clean, destroyed.

The example runs dev in the project's account and prod in another, so the bootstrap creates the
OIDC provider and dev's roles through its default provider, and prod's through the aliased provider
that assumes prod's `assume_role_arn`. moto switches accounts on sts:AssumeRole (credentials of an
assumed role act in the role's account, moto/sts/models.py), so this proves each account's resources
land in that account, and the account guard (allowed_account_ids) of both providers passes. moto
does not evaluate the trust policies (no web identity token is ever exchanged here): what they
admit is proven by the unit tests; this proves IAM (as moto models it) takes them and Terraform
reads them back without a diff. One small apply and destroy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, synth_config
from emulator import (
    EmulatorStack,
    MotoServer,
    generated_addresses,
    load_profile,
    moto_server,
    provider_aliases,
    write_json,
)

from modules.config import Environment, Platform, load_platform
from modules.config.cloud import TFC_AUDIENCE, run_phase_subject, run_role_name

EXAMPLE = ROOT / "examples" / "terraform-cloud"
emulator = pytest.mark.emulator


@dataclass(frozen=True)
class Applied:
    stack: EmulatorStack
    platform: Platform
    outputs: dict[str, Any]
    generated: dict[str, Any]  # the stack JSON as synthesized
    operator: Operator


@dataclass(frozen=True)
class Operator:
    """The credentials of an IAM user in the project's account: what applies the bootstrap."""

    access_key: str
    secret_key: str


def operator_in(server: MotoServer, account_id: str) -> Operator:
    """An IAM user with an access key in `account_id`, created there (moto's account header)."""
    iam = server.boto3_client("iam")
    iam.meta.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account_id)
    )
    iam.create_user(UserName="operator")
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    return Operator(key["AccessKeyId"], key["SecretAccessKey"])


def client(server: MotoServer, service: str, operator: Operator, session_token: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        region_name="eu-west-1",
        endpoint_url=server.url,
        aws_access_key_id=operator.access_key,
        aws_secret_access_key=operator.secret_key,
        aws_session_token=session_token,
        config=Config(proxies={}),
    )


@pytest.fixture(scope="module")
def bootstrap(terraform_cli_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    """The example's bootstrap stack, synthesized and applied to one moto server emulating every
    account: unpinned, moto acts in the account of each request's credentials, so the operator's
    user acts in the project's account and the aliased provider's assumed role in the other."""
    platform = load_platform(EXAMPLE)
    tmp = tmp_path_factory.mktemp("emulator-terraform-cloud")
    out = tmp / "generated"
    synth_config(EXAMPLE, out)
    with moto_server(tmp / "logs", account_id=platform.project.account_id, pin_account=False) as server:
        operator = operator_in(server, platform.project.account_id)
        # local_backend: the harness's override replaces the stack's `cloud` block with local state
        stack = EmulatorStack(
            out / "stacks" / "bootstrap", tmp / "stacks", terraform_cli_config, server, load_profile()
        )
        # after the harness's override (lexical order): every provider signs as the operator
        keys = {"access_key": operator.access_key, "secret_key": operator.secret_key}
        write_json(
            stack.workdir / "operator_override.tf.json",
            {
                "provider": {
                    "aws": [
                        keys if a is None else {"alias": a, **keys} for a in provider_aliases(stack.config)
                    ]
                }
            },
        )
        stack.init()
        stack.apply()
        outputs = {k: v["value"] for k, v in json.loads(stack.run("output", "-json").stdout).items()}
        generated = json.loads((out / "stacks" / "bootstrap" / "cdk.tf.json").read_text())
        yield Applied(stack, platform, outputs, generated, operator)


def cloud_environments(platform: Platform) -> dict[str, list[Environment]]:
    by_account: dict[str, list[Environment]] = {}
    for env in sorted(platform.all_environments, key=lambda e: e.name):
        if env.backend == "cloud":
            by_account.setdefault(env.account_id, []).append(env)
    return by_account


def iam_in(applied: Applied, account_id: str, environments: list[Environment]) -> Any:
    """An IAM client acting in `account_id`: the operator in the project's account, else the role
    the bootstrap's aliased provider assumes there."""
    server, operator = applied.stack.server, applied.operator
    if account_id == applied.platform.project.account_id:
        iam = client(server, "iam", operator)
        assert client(server, "sts", operator).get_caller_identity()["Account"] == account_id
        return iam
    role_arn = environments[0].config.assume_role_arn
    assumed = client(server, "sts", operator).assume_role(RoleArn=role_arn, RoleSessionName="read-back")
    credentials = assumed["Credentials"]
    role = Operator(credentials["AccessKeyId"], credentials["SecretAccessKey"])
    token = credentials["SessionToken"]
    assert client(server, "sts", role, token).get_caller_identity()["Account"] == account_id
    return client(server, "iam", role, token)


@emulator
class TestDynamicProviderCredentials:
    """In order: the last test destroys what the fixture applied."""

    def test_applies_everything_through_both_providers(self, bootstrap: Applied) -> None:
        stack = bootstrap.stack
        generated = generated_addresses(bootstrap.generated)
        assert not stack.removed, f"the emulator profile took out {stack.removed}"
        assert sorted(stack.state_addresses()) == sorted(generated)
        aliases = [p.get("alias") for p in bootstrap.generated["provider"]["aws"]]
        assert len(cloud_environments(bootstrap.platform)) == 2 and len(aliases) == 2 and aliases[1]

    def test_each_account_holds_its_oidc_provider_and_its_environments_roles(
        self, bootstrap: Applied
    ) -> None:
        platform, outputs = bootstrap.platform, bootstrap.outputs
        cloud = platform.project.cloud
        assert cloud is not None
        host = cloud.hostname
        for account_id, environments in cloud_environments(platform).items():
            iam = iam_in(bootstrap, account_id, environments)
            (provider,) = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
            provider_arn = provider["Arn"]
            assert provider_arn == f"arn:aws:iam::{account_id}:oidc-provider/{host}"
            assert outputs["terraform_cloud_oidc_provider_arns"][account_id] == provider_arn
            described = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
            assert described["Url"] == host and described["ClientIDList"] == [TFC_AUDIENCE]

            roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
            for env in sorted(platform.all_environments, key=lambda e: e.name):
                for phase in ("plan", "apply"):
                    name = run_role_name(platform.project.name, env.name, phase)
                    if env not in environments:
                        assert name not in roles, f"{name} in account {account_id}"
                        continue
                    role = iam.get_role(RoleName=name)["Role"]
                    assert role["Arn"] == outputs["terraform_cloud_role_arns"][env.name][phase]
                    assert role["Arn"].startswith(f"arn:aws:iam::{account_id}:role/")
                    assert role["MaxSessionDuration"] == 3600
                    document = role["AssumeRolePolicyDocument"]
                    trust = json.loads(document) if isinstance(document, str) else document
                    (statement,) = trust["Statement"]
                    assert statement["Principal"] == {"Federated": provider_arn}
                    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
                    assert statement["Condition"] == {
                        "StringEquals": {
                            f"{host}:aud": TFC_AUDIENCE,
                            f"{host}:sub": run_phase_subject(cloud, env.workspace, phase),
                        }
                    }
                    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
                    managed = "ReadOnlyAccess" if phase == "plan" else "AdministratorAccess"
                    assert [p["PolicyArn"] for p in attached] == [f"arn:aws:iam::aws:policy/{managed}"]

    def test_replans_clean_then_destroys(self, bootstrap: Applied) -> None:
        stack = bootstrap.stack
        replan = stack.replan()
        assert replan.clean, "re-plan after apply is not clean:\n  " + "\n  ".join(
            str(c) for c in replan.unexpected
        )
        stack.destroy()
        assert stack.state_addresses() == []
