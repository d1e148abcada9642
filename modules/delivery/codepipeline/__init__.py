"""CodePipeline + CodeBuild: a CodeConnections connection per environment, a pipeline per service.

Each pipeline (V2) builds, pushes and deploys its service's image, by digest.
"""

from modules.delivery.codepipeline.connection import CodeConnection, CodeConnectionProps
from modules.delivery.codepipeline.pipeline import (
    ServicePipeline,
    ServicePipelineProps,
    artifact_bucket_name,
)

__all__ = [
    "CodeConnection",
    "CodeConnectionProps",
    "ServicePipeline",
    "ServicePipelineProps",
    "artifact_bucket_name",
]
