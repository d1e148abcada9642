"""`[access]` of an environment file: who may assume the environment's roles for people.

Three levels, each an IAM role `<project>-<env>-<level>` when principals are listed for it:
readonly (see, not read data), operator (run the services: restart, scale, stop tasks, ECS exec,
read the environment's logs) and admin (everything but IAM, in this environment). Every principal
must present MFA, except the roles listed in `mfa_exempt` (a CI role cannot).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from modules.config.rules import rule
from modules.config.types import Strict

Level = Literal["readonly", "operator", "admin"]
LEVELS: tuple[Level, ...] = ("readonly", "operator", "admin")

_ACCOUNT = re.compile(r"^[0-9]{12}$")
_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>[0-9]{12}):root$")
# IAM names and paths: letters, digits and + = , . @ _ - (paths add /); no wildcard: a trust
# policy names exactly who may assume the role.
_USER_OR_ROLE = re.compile(
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:(user|role)/[A-Za-z0-9+=,.@_-]+(/[A-Za-z0-9+=,.@_-]+)*$"
)
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_-]+(/[A-Za-z0-9+=,.@_-]+)*$")

PRINCIPAL_WORDS = (
    "must be an AWS account id (12 digits, e.g. an identity account), an account root "
    "(arn:aws:iam::<account id>:root), or an IAM user or role ARN "
    "(arn:aws:iam::<account id>:user/<name> or arn:aws:iam::<account id>:role/<name>), without wildcards"
)
EXEMPT_WORDS = (
    "only a role may be exempt from MFA (people sign in with MFA; a role such as CI cannot present it): "
    "must be an IAM role ARN, arn:aws:iam::<account id>:role/<name>"
)


def check_principal(text: str) -> str:
    """Field validator: an account id, account root, or IAM user or role ARN; kept as written."""
    if not (_ACCOUNT.match(text) or _ROOT.match(text) or _USER_OR_ROLE.match(text)):
        raise ValueError(PRINCIPAL_WORDS)
    return text


def check_exempt(text: str) -> str:
    """Field validator: an IAM role ARN; kept as written."""
    if not _ROLE.match(text):
        raise ValueError(EXEMPT_WORDS)
    return text


def principal_key(text: str) -> str:
    """What makes two principals the same: an account id and its root ARN are one principal."""
    root = _ROOT.match(text)
    return root["account"] if root else text


def _unique(entries: list[str]) -> list[str]:
    """List validator: no principal twice (an account id and its root ARN count as the same)."""
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        key = principal_key(entry)
        if key in seen:
            first = entries[seen[key]]
            same = "" if first == entry else ", the same account"
            raise ValueError(f"[{index}] {entry!r} repeats [{seen[key]}] {first!r}{same}")
        seen[key] = index
    return entries


Principal = Annotated[str, AfterValidator(check_principal)]
Principals = Annotated[list[Principal], AfterValidator(_unique)]
ExemptRoles = Annotated[list[Annotated[str, AfterValidator(check_exempt)]], AfterValidator(_unique)]


class AccessConfig(Strict):
    """`[access]`: the environment's roles for people, each created when principals are listed."""

    readonly: Principals = []
    """Principals that may assume `<project>-<env>-readonly`: see every resource's configuration
    (AWS ViewOnlyAccess), read no data (no objects, log events, secret or parameter values). Each
    an account id, an account root, or an IAM user or role ARN."""
    operator: Principals = []
    """Principals that may assume `<project>-<env>-operator`: what readonly sees, plus on this
    environment only: restart and scale its ECS services, stop their tasks, ECS exec into them
    (when `cluster.exec_enabled`), read its log groups."""
    admin: Principals = []
    """Principals that may assume `<project>-<env>-admin`: every AWS service but IAM (AWS
    PowerUserAccess), IAM read of this environment's roles and passing them to services; never on
    resources tagged as another environment."""
    mfa_exempt: ExemptRoles = []
    """Roles listed above that assume without MFA, because they cannot present it (a CI role, an
    identity account's SSO role); every other principal must have signed in with MFA."""
    max_session_hours: int = Field(default=1, ge=1, le=12)
    """Longest session of the roles (hours); MFA must also be no older than this when a role is
    assumed. Chained role sessions are held to 1 hour by AWS whatever this says."""

    @rule("readonly", "operator", "admin", "mfa_exempt")
    def _exempt_roles_are_listed(self) -> None:
        listed = {principal_key(p) for level in LEVELS for p in getattr(self, level)}
        strays = [
            f"mfa_exempt[{index}] ({role})"
            for index, role in enumerate(self.mfa_exempt)
            if principal_key(role) not in listed
        ]
        if strays:
            raise ValueError(
                f"{', '.join(strays)}: not listed under readonly, operator or admin; "
                "an exemption applies only to a principal that may assume a role"
            )

    def principals(self, level: Level) -> tuple[str, ...]:
        return tuple(getattr(self, level))

    @property
    def levels(self) -> tuple[Level, ...]:
        """The levels with principals: one role each."""
        return tuple(level for level in LEVELS if getattr(self, level))
