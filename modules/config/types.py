"""Constrained value types shared by every section of the schema, and the strict base model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, StringConstraints, model_validator

from modules.config.rules import validate_with_rules

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")]
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")]
RoleArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]+$")
]
ZoneLetter = Annotated[str, StringConstraints(pattern=r"^[a-z]$")]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w .:/=+@-]+$")]
TagValue = Annotated[str, StringConstraints(max_length=256, pattern=r"^[\w .:/=+@-]*$")]
NatMode = Literal["none", "single", "per_az"]
LockMode = Literal["dynamodb", "lockfile", "both"]
HostName = Annotated[
    str,
    StringConstraints(max_length=253, pattern=r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
]
PathPattern = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^/[A-Za-z0-9_\-./*?~%]*$")
]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")]
CertificateArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[a-f0-9-]+$")
]
HostedZoneId = Annotated[str, StringConstraints(pattern=r"^Z[A-Z0-9]{1,31}$")]
SecretRef = Annotated[
    str,
    StringConstraints(
        pattern=(
            r"^(arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:[0-9]{12}:(secret:|parameter/)[A-Za-z0-9/_+=.@-]+"
            r"|ssm:/?[A-Za-z0-9/_.-]+|secretsmanager:[A-Za-z0-9/_+=.@-]+)$"
        )
    ),
]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored. Values are never coerced.

    Every field carries its description as the attribute docstring under it: that text is the
    field's `description` and the "meaning" column of the README's config reference.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """The model's `@rule` checks, also over the fields that validated when others failed."""
        return validate_with_rules(cls, data, handler)
