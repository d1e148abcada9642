"""The environment stack: one per environments/<env>.toml, the same module pattern at different sizes."""

from __future__ import annotations

from modules.cdk import Construct, TerraformOutput, TerraformStack
from modules.config import Environment
from modules.network import Network, NetworkProps
from modules.providers import aws_provider, s3_backend
from modules.security import EnvironmentKey, EnvironmentKeyProps


class EnvironmentStack(TerraformStack):
    """Provider and backend for one environment, then its constructs, composed here and only here."""

    def __init__(self, scope: Construct, env: Environment) -> None:
        super().__init__(scope, env.name)
        aws_provider(
            self,
            region=env.region,
            account_id=env.account_id,
            tags=env.tags,
            assume_role_arn=env.config.assume_role_arn,
            session_name=f"{env.prefix}-terraform",
        )
        s3_backend(self, env.project, env.name)

        key = EnvironmentKey(self, "key", EnvironmentKeyProps.of(env))
        network = Network(self, "network", NetworkProps.of(env, key.arn))

        TerraformOutput(self, "vpc_id", value=network.vpc_id, description="The environment's VPC")
        TerraformOutput(
            self, "public_subnet_ids", value=network.public_subnet_ids, description="One per zone"
        )
        TerraformOutput(
            self, "private_subnet_ids", value=network.private_subnet_ids, description="One per zone"
        )
        TerraformOutput(self, "kms_key_arn", value=key.arn, description="The environment's KMS key")
