"""Who may use the state bucket from another account: each cross-account environment's Terraform role.

The state bucket, its key and the lock table live in the project's account. An environment in
another account runs Terraform as the role it names in `assume_role_arn` (in its own account): the
provider assumes it, and so does that environment's S3 backend. The bootstrap stack grants each such
role exactly its own state object and lock entries, and nothing else in the state account. An
environment in the state account needs no grant: its principals are that account's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ASSUME_ROLE_KEY = "assume_role_arn"


@dataclass(frozen=True)
class StatePrincipal:
    """One environment's Terraform identity in another account, and the state it may touch."""

    environment: str
    account_id: str
    role_arn: str


def role_account(role_arn: str) -> str:
    """The account of a (schema-checked) role ARN: `arn:<partition>:iam::<account>:role/<name>`."""
    return role_arn.split(":")[4]


def state_access_rules(
    *, account_id: Any, project_account: Any, assume_role_arn: Any
) -> list[tuple[str, str]]:
    """(key, problem) pairs: a cross-account environment must name a role in its own account.

    Values that failed their own types are passed as None and checked no further.
    """
    if not isinstance(account_id, str) or not isinstance(project_account, str):
        return []
    problems: list[tuple[str, str]] = []
    if account_id != project_account and assume_role_arn is None:
        problems.append(
            (
                ASSUME_ROLE_KEY,
                f"account {account_id} is not the state account {project_account}: name the role Terraform "
                "uses in this account (the bootstrap stack reaches the account through it; with S3 state "
                "the provider and the backend assume it, and the bootstrap stack grants it this "
                "environment's state)",
            )
        )
    if isinstance(assume_role_arn, str) and role_account(assume_role_arn) != account_id:
        problems.append(
            (
                ASSUME_ROLE_KEY,
                f"the role is in account {role_account(assume_role_arn)}, the environment in {account_id}: "
                "the provider refuses any account but the environment's",
            )
        )
    return problems


def state_principals(
    project_account: str, environments: Iterable[tuple[str, str, str | None]]
) -> tuple[StatePrincipal, ...]:
    """The principals the state account grants, by environment name, from (name, account, role)."""
    return tuple(
        StatePrincipal(environment=name, account_id=account, role_arn=role)
        for name, account, role in sorted(environments)
        if account != project_account and role is not None
    )
