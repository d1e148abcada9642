"""ECR: one private repository per service that runs an image from this environment's registry."""

from __future__ import annotations

import json
from dataclasses import dataclass

from modules.cdk import Construct, aws
from modules.config import Environment


def lifecycle_policy(untagged_expiry_days: int, keep_tagged_images: int) -> str:
    """ECR lifecycle policy JSON: expire untagged images after N days, keep the newest N tagged ones.

    "tagged" needs a tag filter; the single pattern "*" matches every tag. A "tagStatus": "any"
    rule would count untagged images too and must be the last rule, so it is not used.
    """
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {untagged_expiry_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_expiry_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the newest {keep_tagged_images} tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_tagged_images,
                    },
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class RepositoriesProps:
    """One private ECR repository per service that runs an image from this environment's registry."""

    name: str  # "<project>-<env>": repositories are named "<name>/<service>"
    services: tuple[str, ...]  # service names (config order); services with an external `image` need none
    kms_key_arn: str  # encrypts the images at rest
    untagged_expiry_days: int  # untagged images expire this many days after push
    keep_tagged_images: int  # tagged images beyond the newest N expire

    @classmethod
    def of(cls, env: Environment, kms_key_arn: str) -> RepositoriesProps:
        cluster = env.config.cluster
        return cls(
            name=env.prefix,
            services=tuple(s.name for s in env.services if s.image is None),
            kms_key_arn=kms_key_arn,
            untagged_expiry_days=cluster.ecr_untagged_expiry_days,
            keep_tagged_images=cluster.ecr_keep_tagged_images,
        )


class Repositories(Construct):
    """Per service: an ECR repository (immutable tags, scan on push, KMS) with a lifecycle policy.

    Construct IDs are the service names. Exposes `repository_urls`, `repository_arns` and
    `repository_names`, each a dict keyed by service name.
    """

    def __init__(self, scope: Construct, id: str, props: RepositoriesProps) -> None:
        super().__init__(scope, id)
        rules = lifecycle_policy(props.untagged_expiry_days, props.keep_tagged_images)
        self.repository_urls: dict[str, str] = {}
        self.repository_arns: dict[str, str] = {}
        self.repository_names: dict[str, str] = {}
        for service in props.services:
            repository = aws.ecr_repository.EcrRepository(
                self,
                service,
                name=f"{props.name}/{service}",
                # A tag always names the same image: a deploy or rollback by tag is reproducible.
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr_repository.EcrRepositoryImageScanningConfiguration(
                    scan_on_push=True
                ),
                encryption_configuration=[
                    aws.ecr_repository.EcrRepositoryEncryptionConfiguration(
                        encryption_type="KMS", kms_key=props.kms_key_arn
                    )
                ],
            )
            # A child of its repository ("<service>/lifecycle"), not a sibling named
            # "<service>-lifecycle", which a service named "<service>-lifecycle" would take.
            aws.ecr_lifecycle_policy.EcrLifecyclePolicy(
                repository, "lifecycle", repository=repository.name, policy=rules
            )
            self.repository_urls[service] = repository.repository_url
            self.repository_arns[service] = repository.arn
            self.repository_names[service] = repository.name
