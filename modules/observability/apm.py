"""External APM hooks (`[apm]`): what Datadog, New Relic or Sentry add to one service's task.

Plain typed data (`TaskAdditions`): the service's container module renders it. The provider's key
(Datadog API key, New Relic license key, Sentry DSN) is a declared `[[secrets]]` entry and reaches
a container only through the task definition's `secrets` (valueFrom: the secret's ARN), which the
execution role may read (and decrypt with the environment key, through Secrets Manager only):
nothing but that ARN is ever in the generated JSON or in Terraform state.

- datadog: an agent sidecar (`datadog-agent`) receiving traces on 127.0.0.1:8126 and DogStatsD on
  127.0.0.1:8125. With `DD_APM_NON_LOCAL_TRAFFIC` / `DD_DOGSTATSD_NON_LOCAL_TRAFFIC` false the
  agent listens on loopback only, and the sidecar maps no ports: in awsvpc mode the app container
  shares the task's localhost, and nothing outside the task can reach either port. Unified service
  tagging: `DD_ENV` / `DD_SERVICE` / `DD_VERSION` on the app container and the
  `com.datadoghq.tags.*` docker labels on both containers.
- newrelic: the license key, app name and labels for the agent inside the app container; with
  `newrelic_infrastructure`, the infrastructure agent as a sidecar (`newrelic-infra`).
- sentry: the DSN, environment and release for the SDK inside the app container.

The release / version is the image's: `image_version`. With `deploy_owner = "pipeline"` the
pipeline registers new task definitions with other images: it should set `DD_VERSION` /
`SENTRY_RELEASE` too (a service may also set them in its own `environment`, which wins).
"""

from __future__ import annotations

import json

from modules.config.observability import ApmConfig
from modules.observability.sidecar import Sidecar, TaskAdditions

# Pinned defaults; `[apm] agent_image` replaces them.
DATADOG_AGENT_IMAGE = "public.ecr.aws/datadog/agent:7.63.3"
NEWRELIC_INFRASTRUCTURE_IMAGE = "newrelic/nri-ecs:1.13.4"

DATADOG_AGENT = "datadog-agent"
NEWRELIC_INFRASTRUCTURE = "newrelic-infra"
# Reservations sized so that the smallest Fargate task (512 MiB, 256 units) keeps most of itself
# for the app even with the X-Ray daemon beside the agent. memoryReservation is a soft limit.
DATADOG_AGENT_CPU = 64
DATADOG_AGENT_MEMORY_RESERVATION = 256  # the agent's resident set on Fargate is ~150-250 MiB
NEWRELIC_INFRASTRUCTURE_CPU = 32
NEWRELIC_INFRASTRUCTURE_MEMORY_RESERVATION = 128


def image_version(image: str | None, image_tag: str) -> str:
    """What the APM calls the running release: the ECR tag deployed (`image` unset); for a full
    reference its tag, or its digest when pinned by digest (`sha256:...`); "unknown" for a
    reference with neither, which floats (Sentry refuses "latest" as a release name)."""
    if image is None:
        return image_tag
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]  # a registry's ":port" is in an earlier segment
    if ":" in last:
        return last.split(":", 1)[1]
    return "unknown"


def apm_additions(
    apm: ApmConfig,
    *,
    project: str,
    environment: str,
    service: str,
    version: str,
    secret_arn: str,
) -> TaskAdditions:
    """What `apm`'s provider adds to `service`'s task (`secret_arn`: the ARN of the `[[secrets]]`
    entry `apm.key_secret` names; `version`: `image_version` of the service's image)."""
    if apm.provider == "datadog":
        return _datadog(
            apm,
            project=project,
            environment=environment,
            service=service,
            version=version,
            secret_arn=secret_arn,
        )
    if apm.provider == "newrelic":
        return _newrelic(
            apm, project=project, environment=environment, service=service, secret_arn=secret_arn
        )
    return TaskAdditions(
        purpose="sentry",
        environment={"SENTRY_ENVIRONMENT": environment, "SENTRY_RELEASE": version},
        secrets={"SENTRY_DSN": secret_arn},
        execution_secret_arns=(secret_arn,),
    )


def _datadog(
    apm: ApmConfig, *, project: str, environment: str, service: str, version: str, secret_arn: str
) -> TaskAdditions:
    labels = {
        "com.datadoghq.tags.env": environment,
        "com.datadoghq.tags.service": service,
        "com.datadoghq.tags.version": version,
    }
    agent = Sidecar(
        name=DATADOG_AGENT,
        image=apm.agent_image or DATADOG_AGENT_IMAGE,
        cpu=DATADOG_AGENT_CPU,
        memory_reservation=DATADOG_AGENT_MEMORY_RESERVATION,
        # The agent writes its runtime configuration under /etc/datadog-agent, /opt/datadog-agent/run
        # and /var/run/datadog at start. A read-only root needs those as volumes pre-filled by an
        # init container copying the image's defaults (Datadog's "read-only root filesystem" guide),
        # which this sidecar does not run: the agent's root stays writable (checkov CKV_AWS_336).
        readonly_root_filesystem=False,
        log_stream_prefix=DATADOG_AGENT,
        environment={
            # The agent reads the task metadata endpoint (it cannot reach a Docker socket in a task).
            "ECS_FARGATE": "true",
            "DD_SITE": apm.datadog_site,
            "DD_APM_ENABLED": "true",
            # Loopback only: the app shares the task's localhost; nothing else may send to the agent.
            "DD_APM_NON_LOCAL_TRAFFIC": "false",
            "DD_DOGSTATSD_NON_LOCAL_TRAFFIC": "false",
            # Environments of several projects may report to one Datadog organisation.
            "DD_TAGS": f"project:{project}",
        },
        secrets={"DD_API_KEY": secret_arn},
        docker_labels=labels,
    )
    return TaskAdditions(
        purpose="datadog",
        sidecars=(agent,),
        environment={"DD_ENV": environment, "DD_SERVICE": service, "DD_VERSION": version},
        docker_labels=labels,
        execution_secret_arns=(secret_arn,),
    )


def _newrelic(
    apm: ApmConfig, *, project: str, environment: str, service: str, secret_arn: str
) -> TaskAdditions:
    sidecars: tuple[Sidecar, ...] = ()
    if apm.newrelic_infrastructure:
        infrastructure = Sidecar(
            name=NEWRELIC_INFRASTRUCTURE,
            image=apm.agent_image or NEWRELIC_INFRASTRUCTURE_IMAGE,
            cpu=NEWRELIC_INFRASTRUCTURE_CPU,
            memory_reservation=NEWRELIC_INFRASTRUCTURE_MEMORY_RESERVATION,
            # The infrastructure agent keeps its state and inventory under /var/db/newrelic-infra
            # and writes temporary files at run time: its root stays writable (checkov CKV_AWS_336).
            readonly_root_filesystem=False,
            log_stream_prefix=NEWRELIC_INFRASTRUCTURE,
            environment={
                "FARGATE": "true",
                "NRIA_IS_FORWARD_ONLY": "true",
                # The image points the agent at a host root mounted under /host, which a task has
                # not; New Relic's Fargate definition clears it with "", but ECS drops empty values
                # and the task definition would then re-plan forever
                # (hashicorp/terraform-provider-aws#39533). "/" resolves every host path to the
                # container's own, as "" does.
                "NRIA_OVERRIDE_HOST_ROOT": "/",
                "NRIA_PASSTHROUGH_ENVIRONMENT": "ECS_CONTAINER_METADATA_URI,ECS_CONTAINER_METADATA_URI_V4,FARGATE",
                "NRIA_CUSTOM_ATTRIBUTES": json.dumps(
                    {"environment": environment, "project": project, "service": service}, sort_keys=True
                ),
            },
            secrets={"NRIA_LICENSE_KEY": secret_arn},
        )
        sidecars = (infrastructure,)
    return TaskAdditions(
        purpose="newrelic",
        sidecars=sidecars,
        environment={
            "NEW_RELIC_APP_NAME": f"{project}-{environment}-{service}",
            "NEW_RELIC_LABELS": f"Environment:{environment};Service:{service}",
        },
        secrets={"NEW_RELIC_LICENSE_KEY": secret_arn},
        execution_secret_arns=(secret_arn,),
    )
