"""What a service's task may do: its secrets resolved to ARNs, and the policy statements of its roles.

Each statement names exactly the resources the task needs; the one "*" (ecr:GetAuthorizationToken)
is an API without resource-level permissions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from modules.core import iam
from modules.core.naming import partition


@dataclass(frozen=True)
class SecretReference:
    """One `secrets` entry resolved: what the container references and what IAM must allow."""

    kind: Literal["secretsmanager", "ssm"]
    value_from: str  # the task definition's valueFrom
    resource_arn: str  # the IAM resource GetSecretValue / GetParameters is granted on


def resolve_secret(
    ref: str,
    region: str,
    account_id: str,
    secret_arns: Mapping[str, str],
    parameter_arns: Mapping[str, str],
) -> SecretReference:
    """`secret:<name>` / `parameter:<name>` to the ARN of that entry of the environment
    (`secret_arns`, `parameter_arns`: {name: ARN}, a Terraform reference for what the stack
    creates); an ARN as given; `ssm:<name>` or `secretsmanager:<name>` (this account and region)."""
    if ref.startswith(("secret:", "parameter:")):
        table, _, name = ref.partition(":")
        arns = secret_arns if table == "secret" else parameter_arns
        if name not in arns:  # the config refuses it before a synth starts
            raise ValueError(
                f"{ref} is not declared in this environment ({', '.join(sorted(arns)) or 'none'})"
            )
        declared_kind: Literal["secretsmanager", "ssm"] = "secretsmanager" if table == "secret" else "ssm"
        return SecretReference(declared_kind, arns[name], arns[name])
    part = partition(region)
    if ref.startswith("arn:"):
        kind: Literal["secretsmanager", "ssm"] = "ssm" if ref.split(":")[2] == "ssm" else "secretsmanager"
        return SecretReference(kind, ref, ref)
    if ref.startswith("ssm:"):
        name = ref.removeprefix("ssm:").lstrip("/")
        arn = f"arn:{part}:ssm:{region}:{account_id}:parameter/{name}"
        return SecretReference("ssm", arn, arn)
    name = ref.removeprefix("secretsmanager:")
    # A partial ARN (no random suffix) is what GetSecretValue accepts; IAM sees the full ARN,
    # whose suffix is "-" and six characters.
    arn = f"arn:{part}:secretsmanager:{region}:{account_id}:secret:{name}"
    return SecretReference("secretsmanager", arn, f"{arn}-??????")


def execution_statements(
    *,
    repository_arn: str | None,
    log_group_arn: str,
    secrets: Iterable[SecretReference],
    kms_key_arn: str,
    region: str,
) -> list[dict[str, Any]]:
    """The execution role's permissions: pull its image, write its log group, read its secrets.

    `repository_arn` is the service's own ECR repository, None for an external image (which needs
    no ECR access at all).
    """
    statements: list[dict[str, Any]] = []
    if repository_arn is not None:
        statements += [
            {
                # GetAuthorizationToken has no resource-level permissions: "*" is the only
                # resource it accepts. The token alone pulls nothing; the pull below is scoped.
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "PullOwnRepository",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": repository_arn,
            },
        ]
    statements.append(iam.write_log_group("WriteOwnLogGroup", log_group_arn))
    secrets = list(secrets)
    by_kind = {
        kind: sorted({s.resource_arn for s in secrets if s.kind == kind})
        for kind in ("secretsmanager", "ssm")
    }
    if by_kind["secretsmanager"]:
        statements.append(
            {
                "Sid": "ReadReferencedSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": by_kind["secretsmanager"],
            }
        )
    if by_kind["ssm"]:
        statements.append(
            {
                "Sid": "ReadReferencedParameters",
                "Effect": "Allow",
                "Action": "ssm:GetParameters",
                "Resource": by_kind["ssm"],
            }
        )
    if secrets:
        services = sorted(f"{kind}.{region}.amazonaws.com" for kind, arns in by_kind.items() if arns)
        statements.append(
            {
                # Secrets and SecureString parameters encrypted with the env key; only when the
                # decryption happens on behalf of those two services, never directly.
                "Sid": "DecryptReferencedSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": services}},
            }
        )
    return statements


def exec_statements(
    *, exec_log_group_arn: str, kms_key_arn: str, region: str, account_id: str
) -> list[dict[str, Any]]:
    """What ECS exec needs from the task role: the SSM session channels and the audit log."""
    part = partition(region)
    log_group_arn = exec_log_group_arn
    return [
        {
            # The SSM agent inside the task opens the session channels; ssmmessages has no
            # resource-level permissions, so "*" is the only resource it accepts.
            "Sid": "ExecSessionChannels",
            "Effect": "Allow",
            "Action": [
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            "Resource": "*",
        },
        {
            # The agent checks the audit log group before it writes; DescribeLogGroups is
            # authorized against every log group of the account and region, not one group.
            "Sid": "ExecAuditFindLogGroup",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": f"arn:{part}:logs:{region}:{account_id}:log-group:*",
        },
        iam.write_log_group("ExecAuditWriteLog", log_group_arn),
        {
            # Sessions are encrypted with the env key (the cluster's exec configuration); the
            # agent in the task only decrypts, the caller of execute-command generates the keys.
            "Sid": "ExecSessionKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
        },
    ]


def unique_sids(service_name: str, statements: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    """The statements, unchanged; raises when two share a Sid (IAM refuses the document, and the
    stores promise distinct ones)."""
    sids = [s.get("Sid") for s in statements]
    duplicated = sorted({sid for sid in sids if sid is not None and sids.count(sid) > 1})
    if duplicated:
        raise ValueError(f"{service_name}: statement Sids {', '.join(duplicated)} appear twice in one policy")
    return statements
