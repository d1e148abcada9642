"""The environment's `[[secrets]]` (Secrets Manager) and `[[parameters]]` (SSM), encrypted with its key.

No value is ever in the generated JSON, in Terraform state or in a saved plan. A value reaches AWS
one of two ways:
- `write_only = true`: at apply time, through an ephemeral variable (`<name>_value`) into a
  write-only argument (hashicorp/aws 5.100: `secret_string_wo` of aws_secretsmanager_secret_version,
  `value_wo` of aws_ssm_parameter). Its `*_wo_version` is the entry's `value_version`: AWS is
  written only when that changes (or the resource is created), so an apply without the variable
  leaves the stored value alone.
- otherwise out of band (`aws secretsmanager put-secret-value`, `aws ssm put-parameter`), and
  Terraform never touches the value.

The provider refuses a null write-only value whose version is set (`RequiredWith`, and for SSM
`ExactlyOneOf` value / insecure_value / value_wo), so an unset variable is "" rather than null: the
checks pass and, the version being unchanged, nothing is written. Where a write does happen with ""
(the first apply, a raised `value_version`) AWS refuses it at apply time ("You must provide either
SecretString or SecretBinary"; SSM: value length at least 1), so a value is never silently emptied.
One more such write: the provider rewrites an SSM parameter on any change (a new description) and
then sends its stored value, which write-only leaves empty, unless `value_wo_version` changes too
(README, "Secrets and parameters": raise value_version and pass the value in the same apply).

An SSM parameter cannot exist without a value and the provider reads a value it manages back into
state unless it was written write-only, so a `[[parameters]]` entry without `write_only` creates
nothing here: it is created out of band under its name, and only referenced and granted.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, aws, ephemeral_variable
from modules.config import Environment
from modules.config.secrets import ParameterConfig, SecretConfig
from modules.core.naming import partition


@dataclass(frozen=True)
class SecretsProps:
    """What the environment's secrets and parameters need; the entries are the validated config."""

    secret_prefix: str  # "<project>/<env>": a secret is named "<it>/<name>"
    parameter_prefix: str  # "/<project>/<env>": a parameter is named "<it>/<name>"
    region: str
    account_id: str
    kms_key_arn: str  # the environment key: secrets and SecureString parameters are encrypted with it
    recovery_window_days: int  # days a deleted secret can be restored
    secrets: tuple[SecretConfig, ...]
    parameters: tuple[ParameterConfig, ...]

    @classmethod
    def of(cls, env: Environment, kms_key_arn: str) -> SecretsProps:
        return cls(
            secret_prefix=f"{env.project.name}/{env.name}",
            parameter_prefix=f"/{env.project.name}/{env.name}",
            region=env.region,
            account_id=env.account_id,
            kms_key_arn=kms_key_arn,
            recovery_window_days=env.config.secret_recovery_days,
            secrets=tuple(env.config.secrets),
            parameters=tuple(env.config.parameters),
        )

    def parameter_arn(self, name: str) -> str:
        """The ARN of the parameter `<parameter_prefix>/<name>`, whoever created it."""
        arn_prefix = f"arn:{partition(self.region)}:ssm:{self.region}:{self.account_id}:parameter"
        return f"{arn_prefix}{self.parameter_prefix}/{name}"


class Secrets(Construct):
    """One Secrets Manager secret per `[[secrets]]` entry (environment key, the profile's recovery
    window) and, for `write_only` entries, its value as a write-only secret version; one SSM
    parameter per `write_only` `[[parameters]]` entry (a SecureString with the environment key),
    its value write-only too. Each write-only value comes from its own ephemeral variable.

    Exposes `secret_arns` and `parameter_arns` ({config name: ARN}; a Terraform reference for what
    is created here, the ARN by name for a parameter created out of band) and `variables`
    ({config name: Terraform variable} of the write-only values).
    """

    def __init__(self, scope: Construct, id: str, props: SecretsProps) -> None:
        super().__init__(scope, id)
        self.secret_arns: dict[str, str] = {}
        self.parameter_arns: dict[str, str] = {}
        self.variables: dict[str, str] = {}
        for secret in props.secrets:
            name = f"{props.secret_prefix}/{secret.name}"
            resource = aws.secretsmanager_secret.SecretsmanagerSecret(
                self,
                secret.name,
                name=name,
                description=secret.description,
                kms_key_id=props.kms_key_arn,
                recovery_window_in_days=props.recovery_window_days,
            )
            self.secret_arns[secret.name] = resource.arn
            if secret.write_only:
                value = ephemeral_variable(self, secret.variable, _variable_description("secret", name))
                # secret_string_wo_version forces a new version: raising value_version stores the
                # new value as AWSCURRENT and keeps the old one as AWSPREVIOUS.
                aws.secretsmanager_secret_version.SecretsmanagerSecretVersion(
                    resource,
                    "value",
                    secret_id=resource.id,
                    secret_string_wo=value.string_value,
                    secret_string_wo_version=secret.value_version,
                )
                self.variables[secret.name] = secret.variable
        for parameter in props.parameters:
            if not parameter.write_only:
                self.parameter_arns[parameter.name] = props.parameter_arn(parameter.name)
                continue
            name = f"{props.parameter_prefix}/{parameter.name}"
            resource = aws.ssm_parameter.SsmParameter(
                self,
                parameter.name,
                name=name,
                type=parameter.type,
                description=parameter.description,
                key_id=props.kms_key_arn if parameter.type == "SecureString" else None,
                value_wo=ephemeral_variable(
                    self, parameter.variable, _variable_description("parameter", name)
                ).string_value,
                value_wo_version=parameter.value_version,
            )
            self.parameter_arns[parameter.name] = resource.arn
            self.variables[parameter.name] = parameter.variable


def _variable_description(kind: str, name: str) -> str:
    return (
        f"Value of the {kind} {name}, written when it is created or its value_version is raised; "
        "empty: the stored value is left alone. Ephemeral: never kept in state or a saved plan."
    )
