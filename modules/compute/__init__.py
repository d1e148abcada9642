"""Where services run: ECR repositories, the ECS cluster and its capacity, and the services."""

from modules.compute.cluster import Cluster, ClusterProps
from modules.compute.registry import Repositories, RepositoriesProps
from modules.compute.service import Service, ServiceProps

__all__ = ["Cluster", "ClusterProps", "Repositories", "RepositoriesProps", "Service", "ServiceProps"]
