"""One ECS service per `[[services]]` entry: task definition, roles and permissions, autoscaling."""

from modules.compute.service.service import Service, ServiceProps

__all__ = ["Service", "ServiceProps"]
