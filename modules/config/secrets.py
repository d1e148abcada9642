"""`[[secrets]]` and `[[parameters]]` of an environment file, and the rules between them and the
services that reference them (`secret:<name>`, `parameter:<name>`).

No value is ever part of the config: a value is either written at apply time through an ephemeral
Terraform variable (`write_only = true`, never stored in state or plans) or set out of band.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from modules.config.rules import rule
from modules.config.services import ServiceConfig
from modules.config.types import SecretName, Strict

# The reference prefixes a service's `secrets` use for what this file declares.
SECRET_PREFIX = "secret:"
PARAMETER_PREFIX = "parameter:"


def value_variable(name: str) -> str:
    """The Terraform variable that carries a write-only value: `<name>_value`, '-' as '_' (so it
    can also be given as `TF_VAR_<name>_value`; names have no '_', so no two names share one)."""
    return f"{name.replace('-', '_')}_value"


class StoredValue(Strict):
    """What a secret and a parameter have in common: a name, what it is for, and who writes it."""

    name: SecretName
    """Its name in this environment, unique across `[[secrets]]` and `[[parameters]]`."""
    description: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    """What it holds and who sets its value (shown in the AWS console)."""
    write_only: bool = False
    """true: Terraform writes the value at apply time from the ephemeral variable `<name>_value`
    ('-' as '_'; `terraform apply -var 'stripe_value=...'`), never keeping it in state or a plan;
    false: Terraform never touches the value, you set it out of band (README: Secrets and
    parameters)."""
    value_version: int = Field(default=1, ge=1)
    """With `write_only`: raise it, and pass the new value, to replace the stored value; while it is
    unchanged an apply without the variable leaves the stored value alone."""

    @rule("write_only", "value_version")
    def _version_needs_write_only(self) -> None:
        if "value_version" in self.model_fields_set and not self.write_only:
            raise ValueError("value_version applies only with write_only = true")

    @property
    def variable(self) -> str:
        return value_variable(self.name)


class SecretConfig(StoredValue):
    """One `[[secrets]]` entry: a Secrets Manager secret `<project>/<env>/<name>`, encrypted with the
    environment key; a service reads it as `secret:<name>`."""


class ParameterConfig(StoredValue):
    """One `[[parameters]]` entry: an SSM parameter `/<project>/<env>/<name>`; a service reads it as
    `parameter:<name>`. With `write_only = false` Terraform does not create it (SSM has no parameter
    without a value, and a value Terraform manages lands in its state): create it with
    `aws ssm put-parameter`."""

    type: Literal["SecureString", "String"] = "SecureString"
    """SecureString: encrypted with the environment key; String: plain text, for values that are not
    secret (a feature flag)."""


def secret_rules(
    services: Sequence[ServiceConfig | None],
    secrets: Sequence[SecretConfig | None],
    parameters: Sequence[ParameterConfig | None],
) -> list[tuple[str, str]]:
    """Rules across `[[secrets]]`, `[[parameters]]` and the services: (key path, problem) each.

    None is an entry that did not validate (its own problems are reported). Names are unique across
    both lists (a name is one Terraform variable and one construct); a service's `secret:<name>` or
    `parameter:<name>` must name a declared entry, checked once every entry of that list validated.
    """
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for kind, entries in (("secrets", secrets), ("parameters", parameters)):
        for index, entry in enumerate(entries):
            if entry is None:
                continue
            where = f"{kind}[{index}]"
            if entry.name in seen:
                problems.append((f"{where}.name", f"'{entry.name}' is already {seen[entry.name]}"))
            seen.setdefault(entry.name, where)
    declared = {
        SECRET_PREFIX: ("[[secrets]]", secrets),
        PARAMETER_PREFIX: ("[[parameters]]", parameters),
    }
    for index, service in enumerate(services):
        if service is None:
            continue
        for variable, ref in service.secrets.items():
            prefix = next((p for p in declared if ref.startswith(p)), None)
            if prefix is None:
                continue
            table, entries = declared[prefix]
            if any(entry is None for entry in entries):
                continue  # waits until every entry validated
            names = sorted(entry.name for entry in entries if entry is not None)
            name = ref.removeprefix(prefix)
            if name not in names:
                problems.append(
                    (
                        f"services[{index}].secrets.{variable}",
                        f"no {table} entry named '{name}' (declared: {', '.join(names) or 'none'})",
                    )
                )
    return problems
