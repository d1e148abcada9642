"""modules/notifications/events.py: the rules, their patterns against sample AWS events, and the notices
their input transformers make (rendered as EventBridge would, then read by the notifier)."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, by_path, env_toml, load, ref, resources, synth_stack, write_config

ALERTS = "arn:aws:sns:eu-west-1:111111111111:acme-qa-alerts"
DEPLOYMENTS = "arn:aws:sns:eu-west-1:111111111111:acme-qa-deployments"
ECS = "arn:aws:ecs:eu-west-1:111111111111"
SERVICES = """
[edge]
http_only = true

[[services]]
name = "api"
port = 8080
paths = ["/*"]
priority = 10

[[services]]
name = "proxy"
port = 8081
paths = ["/proxy/*"]
priority = 20
image = "public.ecr.aws/nginx/nginx:1.27"
"""
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")
NOTICE_KEYS = {"notice", "kind", "severity", "title", "resource", "reason", "region", "account", "time"}


def rules_json(
    tmp_path: Path, text: str = "", services: bool = True, cluster: str | None = "acme-qa-cluster"
):
    from modules.cdk import TerraformStack, Testing
    from modules.notifications.events import EventRules, EventRulesProps

    config = env_toml("10.40.0.0/16") + (SERVICES if services else "") + text
    (env,) = load(write_config(tmp_path, {"qa": config})).environments
    stack = TerraformStack(Testing.app(), "test")
    props = EventRulesProps.of(
        env, alerts_topic_arn=ALERTS, deployments_topic_arn=DEPLOYMENTS, cluster_name=cluster
    )
    EventRules(stack, "events", props)
    return synth_stack(stack)


def everything(tmp_path: Path):
    return rules_json(
        tmp_path,
        '\n[account]\nowner = true\n\n[database]\nengine = "aurora-postgresql"\n'
        "\n[notifications]\nguardduty_min_severity = 5.5\n",
    )


# --- what EventBridge does, for the sample events below -------------------------------------------


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """EventBridge's matching for the operators the rules use: values, prefix, wildcard, numeric,
    anything-but, $or; an array in the event matches when one element does."""
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(branch, event) for branch in rule):
                return False
            continue
        value = event.get(key) if isinstance(event, dict) else None
        values = value if isinstance(value, list) else [value]
        if isinstance(rule, dict):
            if not any(isinstance(v, dict) and matches(rule, v) for v in values):
                return False
        elif not any(v is not None and accepts(f, v) for f in rule for v in values):
            return False
    return True


def accepts(condition: Any, value: Any) -> bool:
    if not isinstance(condition, dict):
        return condition == value
    ((operator, operand),) = condition.items()
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if operator == "wildcard":
        return isinstance(value, str) and fnmatch.fnmatchcase(value, operand)
    if operator == "anything-but":
        return value != operand
    if operator == "numeric":
        checks = {">": float.__gt__, ">=": float.__ge__}
        pairs = zip(operand[::2], operand[1::2], strict=True)
        return isinstance(value, int | float) and all(checks[op](float(value), bound) for op, bound in pairs)
    raise AssertionError(f"the test does not know {operator}")


def path_value(event: dict[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.removeprefix("$.").split("."):
        name, _, index = part.partition("[")
        value = value[name]
        if index:
            value = value[int(index.rstrip("]"))]
    return value


def transform(target: dict[str, Any], event: dict[str, Any]) -> str:
    """The message EventBridge publishes: each <variable> replaced by its path's value, escaped
    inside a JSON string, raw outside one."""
    transformer = target["input_transformer"]
    template, paths = transformer["input_template"], transformer["input_paths"]
    out, last = [], 0
    for found in PLACEHOLDER.finditer(template):
        in_string = template[: found.start()].count('"') % 2 == 1  # the templates hold no \"
        value = path_value(event, paths[found.group(1)])
        out.append(template[last : found.start()])
        out.append(json.dumps(str(value))[1:-1] if in_string else json.dumps(value))
        last = found.end()
    return "".join(out) + template[last:]


def sample_notice(template: str) -> dict[str, Any]:
    """The template with every placeholder filled with a sample (a number where unquoted), parsed."""
    numbers = re.sub(r"(?<=: )<[A-Za-z0-9_.-]+>(?=[,}])", "7.5", template)
    return json.loads(PLACEHOLDER.sub(lambda m: f"sample-{m.group(1)}", numbers))


def event(detail_type: str, source: str, detail: dict[str, Any], resources_: list[str] | None = None):
    return {
        "version": "0",
        "id": "0d1a5b9c-0000-4000-8000-000000000000",
        "detail-type": detail_type,
        "source": source,
        "account": "111111111111",
        "time": "2025-05-23T12:31:14Z",
        "region": "eu-west-1",
        "resources": resources_ or [],
        "detail": detail,
    }


def deployment(name: str, reason: str, service: str = "acme-qa-cluster/api") -> dict[str, Any]:
    detail = {"eventType": "ERROR", "eventName": name, "deploymentId": "ecs-svc/1", "reason": reason}
    return event("ECS Deployment State Change", "aws.ecs", detail, [f"{ECS}:service/{service}"])


def task(exit_codes: list[int], cluster: str = "acme-qa-cluster", status: str = "STOPPED") -> dict[str, Any]:
    detail = {
        "clusterArn": f"{ECS}:cluster/{cluster}",
        "taskArn": f"{ECS}:task/{cluster}/0f1e2d3c4b5a",
        "group": "service:api",
        "lastStatus": status,
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "containers": [{"name": f"c{i}", "exitCode": code} for i, code in enumerate(exit_codes)],
    }
    return event("ECS Task State Change", "aws.ecs", detail)


def rds(kind: str, identifier: str, category: str, source: str = "db") -> dict[str, Any]:
    detail = {
        "EventCategories": [category],
        "SourceType": "CLUSTER" if source == "cluster" else "DB_INSTANCE",
        "SourceArn": f"arn:aws:rds:eu-west-1:111111111111:{source}:{identifier}",
        "Date": "2025-05-23T12:31:14.000Z",
        "Message": f'The free storage capacity for "{identifier}" is low',
        "SourceIdentifier": identifier,
        "EventID": "RDS-EVENT-0089",
    }
    return event(f"RDS DB {kind} Event", "aws.rds", detail)


def finding(severity: float) -> dict[str, Any]:
    detail = {
        "severity": severity,
        "title": 'Credentials for instance role "app" used from a remote AWS account',
        "description": "A line\nand another",
        "arn": "arn:aws:guardduty:eu-west-1:111111111111:detector/d1/finding/f00d",
        "type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
    }
    return event("GuardDuty Finding", "aws.guardduty", detail)


def scan(repository: str, critical: int | None) -> dict[str, Any]:
    counts = {"HIGH": 2} | ({"CRITICAL": critical} if critical is not None else {})
    detail = {
        "scan-status": "COMPLETE",
        "repository-name": repository,
        "finding-severity-counts": counts,
        "image-digest": "sha256:7b3c",
        "image-tags": ["1.4.2"],
    }
    arn = f"arn:aws:ecr:eu-west-1:111111111111:repository/{repository}"
    return event("ECR Image Scan", "aws.ecr", detail, [arn])


# (rule, events it must match, events it must not)
CASES = {
    "ecs-deployment": (
        [
            deployment("SERVICE_DEPLOYMENT_FAILED", "ECS deployment circuit breaker: task failed to start."),
            deployment(
                "SERVICE_DEPLOYMENT_IN_PROGRESS",
                "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/0.",
            ),
        ],
        [
            deployment("SERVICE_DEPLOYMENT_IN_PROGRESS", "ECS deployment ecs-svc/1 in progress."),
            deployment("SERVICE_DEPLOYMENT_COMPLETED", "ECS deployment ecs-svc/1 completed."),
            deployment("SERVICE_DEPLOYMENT_FAILED", "task failed to start", "acme-other-cluster/api"),
        ],
    ),
    "ecs-task-stopped": (
        [task([1]), task([0, 137])],
        [task([0]), task([0, 0]), task([1], cluster="acme-other-cluster"), task([1], status="RUNNING")],
    ),
    "rds-event": (
        [
            rds("Instance", "acme-qa-db-2", "failover"),
            rds("Cluster", "acme-qa-db", "failover", "cluster"),
            rds("Instance", "acme-qa-db", "low storage"),
        ],
        [
            rds("Instance", "acme-qa-db", "backup"),
            rds("Instance", "acme-qa-dbx", "failover"),
            rds("Instance", "acme-other-db", "low storage"),
        ],
    ),
    "guardduty-finding": ([finding(5.5), finding(8.9)], [finding(5.4), finding(2.0)]),
    "ecr-scan": (
        [scan("acme-qa/api", 3)],
        [scan("acme-qa/api", 0), scan("acme-qa/api", None), scan("acme-other/api", 5)],
    ),
}


@pytest.fixture(scope="module")
def all_rules(tmp_path_factory: pytest.TempPathFactory):
    return everything(tmp_path_factory.mktemp("rules"))


def test_one_rule_per_notice_named_after_the_environment_each_to_its_topic(all_rules) -> None:
    rules = by_path(all_rules, "aws_cloudwatch_event_rule")
    assert {path: rule["name"] for path, rule in rules.items()} == {
        "events/ecs-deployment": "acme-qa-ecs-deployment-failed",
        "events/ecs-task-stopped": "acme-qa-ecs-task-stopped",
        "events/rds-event": "acme-qa-database-events",
        "events/guardduty-finding": "acme-qa-guardduty-alerts",
        "events/ecr-scan": "acme-qa-ecr-critical-findings",
    }
    targets = by_path(all_rules, "aws_cloudwatch_event_target")
    assert {path: (t["arn"], t["target_id"]) for path, t in targets.items()} == {
        "events/ecs-deployment/to-deployments": (DEPLOYMENTS, "deployments"),
        "events/ecs-task-stopped/to-alerts": (ALERTS, "alerts"),
        "events/rds-event/to-alerts": (ALERTS, "alerts"),
        "events/guardduty-finding/to-alerts": (ALERTS, "alerts"),
        "events/ecr-scan/to-alerts": (ALERTS, "alerts"),
    }
    for path, target in targets.items():
        rule_path = path.rsplit("/", 1)[0]
        assert target["rule"] == ref(all_rules, "aws_cloudwatch_event_rule", rule_path, "name")


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_pattern_matches_this_environments_events_and_no_others(all_rules, kind: str) -> None:
    pattern = json.loads(by_path(all_rules, "aws_cloudwatch_event_rule")[f"events/{kind}"]["event_pattern"])
    accepted, refused = CASES[kind]
    assert [matches(pattern, e) for e in accepted] == [True] * len(accepted)
    assert [matches(pattern, e) for e in refused] == [False] * len(refused)


def test_the_patterns_exactly(all_rules) -> None:
    patterns = {
        path.removeprefix("events/"): json.loads(rule["event_pattern"])
        for path, rule in by_path(all_rules, "aws_cloudwatch_event_rule").items()
    }
    assert patterns["ecs-task-stopped"]["detail"] == {
        "clusterArn": [f"{ECS}:cluster/acme-qa-cluster"],
        "lastStatus": ["STOPPED"],
        "stopCode": ["EssentialContainerExited"],
        "containers": {"exitCode": [{"anything-but": 0}]},
    }
    assert patterns["ecs-deployment"]["resources"] == [{"prefix": f"{ECS}:service/acme-qa-cluster/"}]
    assert patterns["rds-event"]["detail"]["SourceIdentifier"] == ["acme-qa-db", {"prefix": "acme-qa-db-"}]
    assert patterns["rds-event"]["detail-type"] == ["RDS DB Instance Event", "RDS DB Cluster Event"]
    assert patterns["guardduty-finding"]["detail"] == {"severity": [{"numeric": [">=", 5.5]}]}
    # only repositories this environment creates (the proxy runs an external image)
    assert patterns["ecr-scan"]["detail"]["repository-name"] == [{"prefix": "acme-qa/"}]
    assert {kind: (p["source"], p["detail-type"]) for kind, p in patterns.items() if kind != "rds-event"} == {
        "ecs-deployment": (["aws.ecs"], ["ECS Deployment State Change"]),
        "ecs-task-stopped": (["aws.ecs"], ["ECS Task State Change"]),
        "guardduty-finding": (["aws.guardduty"], ["GuardDuty Finding"]),
        "ecr-scan": (["aws.ecr"], ["ECR Image Scan"]),
    }


@pytest.mark.parametrize("kind", sorted(CASES))
def test_templates_use_exactly_their_paths_and_parse_as_a_notice(all_rules, kind: str) -> None:
    target = next(
        t
        for p, t in by_path(all_rules, "aws_cloudwatch_event_target").items()
        if p.startswith(f"events/{kind}/")
    )
    template = target["input_transformer"]["input_template"]
    assert set(PLACEHOLDER.findall(template)) == set(target["input_transformer"]["input_paths"])
    notice = sample_notice(template)
    assert set(notice) == NOTICE_KEYS
    assert (notice["notice"], notice["kind"]) == (1, kind)
    assert notice["severity"] in ("critical", "warning") or notice["severity"] == 7.5


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_notifier_reads_each_notice_and_links_its_resource(all_rules, kind: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "notifier_runtime", ROOT / "modules/notifications/discord/runtime/notifier.py"
    )
    notifier = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notifier)
    target = next(
        t
        for p, t in by_path(all_rules, "aws_cloudwatch_event_target").items()
        if p.startswith(f"events/{kind}/")
    )
    sample = CASES[kind][0][0]
    message = transform(target, sample)
    notice = json.loads(message)  # valid JSON even where the event's texts hold quotes and newlines
    assert (notice["region"], notice["account"], notice["time"]) == (
        "eu-west-1",
        "111111111111",
        sample["time"],
    )
    embed = notifier.build_payload({"Message": message, "TopicArn": target["arn"]})["embeds"][0]
    assert embed["title"] == notice["title"]
    assert embed["url"].startswith("https://eu-west-1.console.aws.amazon.com/"), embed
    if kind == "guardduty-finding":
        assert notice["severity"] == 5.5 and notice["title"].startswith(
            'GuardDuty: Credentials for instance role "app"'
        )


def test_no_rule_for_what_the_environment_lacks(tmp_path: Path) -> None:
    # no services (no cluster, no repositories), no database, not the account's GuardDuty owner
    assert (
        resources(rules_json(tmp_path / "bare", services=False, cluster=None), "aws_cloudwatch_event_rule")
        == {}
    )
    services_only = by_path(rules_json(tmp_path / "svc"), "aws_cloudwatch_event_rule")
    assert sorted(services_only) == ["events/ecr-scan", "events/ecs-deployment", "events/ecs-task-stopped"]
    # the owner with GuardDuty off gets no GuardDuty rule; a database adds its rule
    owner = rules_json(
        tmp_path / "own", '\n[account]\nowner = true\nguardduty = false\n\n[database]\nengine = "postgres"\n'
    )
    assert "events/guardduty-finding" not in by_path(owner, "aws_cloudwatch_event_rule")
    assert "events/rds-event" in by_path(owner, "aws_cloudwatch_event_rule")


def test_only_external_images_means_no_image_scan_rule(tmp_path: Path) -> None:
    text = SERVICES.replace('name = "api"', 'name = "api"\nimage = "public.ecr.aws/acme/api:1"')
    stack = rules_json(tmp_path, services=False, text=text)
    assert sorted(by_path(stack, "aws_cloudwatch_event_rule")) == [
        "events/ecs-deployment",
        "events/ecs-task-stopped",
    ]


def test_a_cluster_name_given_as_a_reference_is_interpolated_into_the_patterns(tmp_path: Path) -> None:
    from modules.cdk import TerraformStack, Testing, aws
    from modules.notifications.events import EventRules, EventRulesProps

    (env,) = load(write_config(tmp_path, {"qa": env_toml("10.40.0.0/16") + SERVICES})).environments
    stack = TerraformStack(Testing.app(), "test")
    cluster = aws.ecs_cluster.EcsCluster(stack, "cluster", name="acme-qa-cluster")
    props = EventRulesProps.of(
        env, alerts_topic_arn=ALERTS, deployments_topic_arn=DEPLOYMENTS, cluster_name=cluster.name
    )
    EventRules(stack, "events", props)
    synthesized = synth_stack(stack)
    name = ref(synthesized, "aws_ecs_cluster", "cluster", "name")
    task_pattern = json.loads(
        by_path(synthesized, "aws_cloudwatch_event_rule")["events/ecs-task-stopped"]["event_pattern"]
    )
    assert task_pattern["detail"]["clusterArn"] == [f"{ECS}:cluster/{name}"]
