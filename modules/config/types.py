"""Constrained value types shared by every section of the schema, and the strict base model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, StringConstraints, model_validator

from modules.config.rules import validate_with_rules

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


def check_log_retention(days: int) -> int:
    """A field validator: `days` must be a retention CloudWatch Logs offers."""
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"CloudWatch Logs accepts {sorted(LOG_RETENTION_DAYS)}")
    return days


# No "--": RDS and ElastiCache identifiers built from slugs ("<project>-<env>-db") refuse two
# hyphens in a row.
Slug = Annotated[str, StringConstraints(pattern=r"^(?!.*--)[a-z][a-z0-9-]{0,18}[a-z0-9]$")]
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")]
RoleArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]+$")
]
ZoneLetter = Annotated[str, StringConstraints(pattern=r"^[a-z]$")]
# Terraform Cloud's own rules: organization names of letters, digits, '_' and '-'; workspace names
# of letters, digits, '_' and '-', at most 90; project names 3-40 of letters, digits, spaces, '_', '-'.
OrganizationName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
WorkspaceName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,90}$")]
ProjectName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 _-]{3,40}$")]
# A plain host name (no wildcard, no scheme, no port): the host of the OIDC issuer URL too.
CloudHost = Annotated[
    str, StringConstraints(max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
]
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
# A `[[secrets]]` / `[[parameters]]` name: valid in Secrets Manager and SSM names alike, and in a
# Terraform variable name once '-' is '_' (`<name>_value`).
SecretName = Annotated[str, StringConstraints(pattern=r"^[a-z]([a-z0-9-]{0,62}[a-z0-9])?$")]
DailyWindow = Annotated[
    str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")
]
WeeklyWindow = Annotated[
    str,
    StringConstraints(
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-"
        r"(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$"
    ),
]
DatabaseIdentifier = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z][a-zA-Z0-9_]{0,15}$")]
# `secret:<name>`: a `[[secrets]]` entry of the same file.
DeclaredSecret = Annotated[str, StringConstraints(pattern=r"^secret:[a-z]([a-z0-9-]{0,62}[a-z0-9])?$")]
Email = Annotated[
    str,
    StringConstraints(
        max_length=254, pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
    ),
]
HttpsUrl = Annotated[
    str, StringConstraints(max_length=2048, pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/\S*)?$")
]
# GitHub's rules: an owner (user or organization) of 1-39 letters, digits and single inner
# hyphens; a repository name of letters, digits, '.', '_' and '-', at most 100, not "." or "..".
GitHubRepository = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$"
    ),
]
# "create", or an existing CodeConnections (formerly CodeStar Connections) connection's ARN.
Connection = Annotated[
    str,
    StringConstraints(
        pattern=r"^(create|arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:"
        r"connection/[A-Za-z0-9-]+)$"
    ),
]
SourceDirectory = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^(?!/)(?!.*\.\.)[A-Za-z0-9._/-]+(?<!/)$")
]
SecretRef = Annotated[
    str,
    StringConstraints(
        pattern=(
            r"^(arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:[0-9]{12}:(secret:|parameter/)[A-Za-z0-9/_+=.@-]+"
            r"|ssm:/?[A-Za-z0-9/_.-]+|secretsmanager:[A-Za-z0-9/_+=.@-]+"
            r"|(secret|parameter):[a-z]([a-z0-9-]{0,62}[a-z0-9])?)$"
        )
    ),
]


def pattern_of(constrained: Any) -> str:
    """The regular expression of a constrained string type."""
    (pattern,) = [m.pattern for m in constrained.__metadata__ if isinstance(m, StringConstraints)]
    return str(pattern)


SLUG_WORDS = (
    "2-20 characters of a-z, 0-9 and '-', starting with a letter, not ending with '-' and without '--'"
)
_NAME_CHARACTERS = "letters, digits, spaces and _ . : / = + @ -"

# Each constrained type, described once: the name the config reference gives it, and what a value
# must be in words (error messages show that instead of the regular expression).
DESCRIBED_TYPES: tuple[tuple[Any, str, str], ...] = (
    (Slug, "slug", f"must be {SLUG_WORDS}"),
    (AccountId, "account id", "must be an AWS account id: 12 digits"),
    (Region, "region", "must be an AWS region such as eu-west-1 or us-gov-west-1"),
    (RoleArn, "IAM role ARN", "must be an IAM role ARN: arn:aws:iam::<12-digit account id>:role/<role name>"),
    (ZoneLetter, "zone letter", 'must be one zone letter a-z, such as "a"'),
    (TagKey, "tag key", f"may hold only {_NAME_CHARACTERS}"),
    (TagValue, "tag value", f"may hold only {_NAME_CHARACTERS}"),
    (
        HostName,
        "host name",
        (
            "must be a lower-case DNS name such as api.example.com (labels of a-z, 0-9 and '-', not "
            "starting or ending with '-'; '*.' in front for a wildcard)"
        ),
    ),
    (
        OrganizationName,
        "organization name",
        "must be a Terraform Cloud organization name: 1-40 letters, digits, '_' and '-'",
    ),
    (
        WorkspaceName,
        "workspace name",
        "must be a Terraform Cloud workspace name: 1-90 letters, digits, '_' and '-'",
    ),
    (
        ProjectName,
        "project name",
        "must be a Terraform Cloud project name: 3-40 letters, digits, spaces, '_' and '-'",
    ),
    (
        CloudHost,
        "host",
        "must be a lower-case host name such as app.terraform.io (no scheme, port or wildcard)",
    ),
    (PathPattern, "path pattern", "must be a path starting with '/', of letters, digits and _ - . / * ? ~ %"),
    (
        EnvName,
        "variable name",
        "must be an environment variable name: letters, digits and '_', not starting with a digit",
    ),
    (
        CertificateArn,
        "ACM certificate ARN",
        ("must be an ACM certificate ARN: arn:aws:acm:<region>:<12-digit account id>:certificate/<id>"),
    ),
    (
        HostedZoneId,
        "hosted zone id",
        "must be a Route 53 hosted zone id: 'Z' and then upper-case letters and digits",
    ),
    (
        SecretRef,
        "secret reference",
        (
            "must be a Secrets Manager or SSM parameter ARN, ssm:<parameter name>, secretsmanager:<secret "
            "name>, or secret:<name> / parameter:<name> of this file's [[secrets]] / [[parameters]]"
        ),
    ),
    (DailyWindow, "daily window", 'must be a UTC time range hh:mm-hh:mm, such as "02:00-03:00"'),
    (
        WeeklyWindow,
        "weekly window",
        'must be a UTC weekly range ddd:hh:mm-ddd:hh:mm, such as "sun:03:30-sun:04:30" (days mon-sun)',
    ),
    (
        DatabaseIdentifier,
        "database identifier",
        "must be 1-16 letters, digits and '_', starting with a letter",
    ),
    (DeclaredSecret, "declared secret", "must be secret:<name>, naming a [[secrets]] entry of this file"),
    (Email, "email address", "must be an email address such as ops@example.com"),
    (HttpsUrl, "HTTPS URL", "must be an https:// URL such as https://events.example.com/sns"),
    (
        GitHubRepository,
        "GitHub repository",
        "must be a GitHub repository <org>/<name>, such as acme/platform",
    ),
    (
        Connection,
        "connection",
        'must be "create" or a CodeConnections connection ARN: '
        "arn:aws:codeconnections:<region>:<12-digit account id>:connection/<id>",
    ),
    (
        SourceDirectory,
        "source directory",
        "must be a directory of the repository, relative to its root, such as services/api (no '..')",
    ),
    (
        SecretName,
        "secret name",
        "must be 1-64 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'",
    ),
)
# Patterns written in place in the sections, in words.
IN_PLACE_PATTERN_WORDS: dict[str, str] = {
    r"^[a-z][a-z0-9-]*\.[a-z0-9]+$": "must be an EC2 instance type such as t3.medium",
    r"^\S+$": "must be an image reference without spaces, such as public.ecr.aws/nginx/nginx:1.27",
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$": (
        "must be an image tag: 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
    ),
    r"^[0-9]+(:[0-9]+)?$": "must be a numeric uid or uid:gid, such as 1000 or 1000:1000",
    r"^[0-9][0-9a-z._]*$": "must be an engine version such as 16.6 or 8.0.mysql_aurora.3.08.0",
    r"^[0-9]+\.[0-9]+$": "must be a major.minor engine version such as 8.0",
    r"^https?://[a-z0-9.*-]+(:[0-9]+)?$": "must be an origin such as https://app.example.com (no path)",
    r"^[a-z0-9.-]+\.[a-z]{2,}$": "must be a lower-case host name such as datadoghq.eu",
}
# Every pattern of the schema -> its words (the project's owner shares the tag key's pattern).
PATTERN_WORDS: dict[str, str] = {
    **{pattern_of(typ): words for typ, _, words in DESCRIBED_TYPES},
    **IN_PLACE_PATTERN_WORDS,
}


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored. Values are never coerced.

    Every field carries its description as the attribute docstring under it: that text is the
    "meaning" column of the README's config reference (modules/config/reference.py reads it; pydantic's
    `use_attribute_docstrings` would parse every model's source on each config load, synth included).
    """

    # python-re: Python's regular expressions, for the look-ahead in Slug (pydantic's default engine
    # has none); config values are short, so its speed does not matter here.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, regex_engine="python-re")

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """The model's `@rule` checks, also over the fields that validated when others failed."""
        return validate_with_rules(cls, data, handler)
