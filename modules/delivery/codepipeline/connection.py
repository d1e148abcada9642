"""The environment's CodeConnections connection to GitHub, the source of its service pipelines.

Terraform creates the connection in the PENDING state: AWS cannot finish it alone, because GitHub
must be told to trust it (the AWS Connector for GitHub app, installed on the organization or the
account that owns the repositories). Someone with admin rights on that GitHub organization
completes the handshake once, in the AWS console under Developer Tools > Settings > Connections
(choose the connection, "Update pending connection"), before the first pipeline run; until then
every run fails in its Source stage, and each failure is reported on the deployments topic. The
connection stays AVAILABLE afterwards; Terraform never resets it.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, aws
from modules.core.naming import bounded

# CodeConnections limits a connection's name to 32 characters.
CONNECTION_NAME_LIMIT = 32
PROVIDER_TYPE = "GitHub"


@dataclass(frozen=True)
class CodeConnectionProps:
    """One environment's connection; its name is `<prefix>-github`."""

    prefix: str  # "<project>-<env>"

    @property
    def name(self) -> str:
        return bounded(f"{self.prefix}-github", CONNECTION_NAME_LIMIT)


class CodeConnection(Construct):
    """An `aws_codestarconnections_connection` to GitHub, created PENDING (see the module docstring
    for the one-time console handshake).

    Exposes `arn` (what a pipeline's source action and its role name) and `name`.
    """

    def __init__(self, scope: Construct, id: str, props: CodeConnectionProps) -> None:
        super().__init__(scope, id)
        connection = aws.codestarconnections_connection.CodestarconnectionsConnection(
            self, "connection", name=props.name, provider_type=PROVIDER_TYPE
        )
        self.arn: str = connection.arn
        self.name: str = connection.name
