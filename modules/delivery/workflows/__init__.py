"""GitHub Actions workflows: infrastructure plan and apply, per service build, promote and deploy.

Rendered from the jinja2 templates in templates/ by render.py."""

from modules.delivery.workflows.render import (
    ACTIONS,
    INFRASTRUCTURE,
    InfrastructureStage,
    Pin,
    ServiceStage,
    ServiceWorkflow,
    Workflows,
    render_workflows,
    service_workflow_name,
)

__all__ = [
    "ACTIONS",
    "INFRASTRUCTURE",
    "InfrastructureStage",
    "Pin",
    "ServiceStage",
    "ServiceWorkflow",
    "Workflows",
    "render_workflows",
    "service_workflow_name",
]
