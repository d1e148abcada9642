"""modules/observability/dashboard.py: one dashboard per environment, drawn from the alarms' watches."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import only, ref, resources
from watch_fixtures import (
    AURORA,
    BILLING,
    CACHE,
    LEDGER,
    REPLICATED_CACHE,
    WEB,
    alarm_metrics,
    dashboard_body,
    environment,
    metric_alarms,
    watched_stack,
)


def graphs(body: dict) -> list[dict]:
    return [w["properties"] for w in body["widgets"] if w["type"] == "metric"]


def row_titles(body: dict) -> list[str]:
    return [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"][1:]


def graphed_metrics(body: dict) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions) of every metric line of every graph (expressions aside)."""
    found = set()
    for graph in graphs(body):
        for line in graph["metrics"]:
            if isinstance(line[0], dict):  # an expression
                continue
            namespace, metric, *rest = line
            pairs = rest[:-1] if isinstance(rest[-1], dict) else rest
            found.add((namespace, metric, tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True)))))
    return found


def test_one_dashboard_named_after_the_environment_whose_body_is_sorted_json(tmp_path: Path) -> None:
    stack, _ = watched_stack(environment(tmp_path, WEB, CACHE))
    dashboard = only(stack, "aws_cloudwatch_dashboard")
    assert dashboard["dashboard_name"] == "acme-test"
    body = json.loads(dashboard["dashboard_body"])
    assert dashboard["dashboard_body"] == json.dumps(body, sort_keys=True)
    header = body["widgets"][0]
    assert header["type"] == "text" and header["properties"]["markdown"].startswith("# acme-test")


def test_a_row_per_load_balancer_service_and_store(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB, BILLING, LEDGER, AURORA, CACHE, nat="single")
    body = dashboard_body(watched_stack(env, notifier=True)[0])
    assert row_titles(body) == [
        "## Public ALB",
        "## Internal ALB",
        "## Service web",
        "## Service billing",
        "## Service ledger",
        "## Database",
        "## Cache",
        "## NAT gateways",
        "## Discord notifier",
    ]


def test_every_metric_an_alarm_reads_is_on_the_dashboard_with_its_threshold(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB, LEDGER, AURORA, REPLICATED_CACHE, nat="per_az", insights=True)
    stack, _ = watched_stack(env, notifier=True)
    body = dashboard_body(stack)
    alarms = metric_alarms(stack)
    drawn = graphed_metrics(body)
    for key, alarm in alarms.items():
        assert set(alarm_metrics(alarm)) <= drawn, key
    # One graph per alarm, reading the same metrics, with the alarm's threshold drawn across it.
    by_metrics = {}
    for graph in graphs(body):
        by_metrics.setdefault(
            frozenset(graphed_metrics({"widgets": [{"type": "metric", "properties": graph}]})), []
        ).append(graph)
    assert len(graphs(body)) == len(alarms)
    for key, alarm in alarms.items():
        (graph,) = by_metrics[frozenset(alarm_metrics(alarm))]
        (line,) = graph["annotations"]["horizontal"]
        assert line["value"] == alarm["threshold"], key
        periods = {alarm.get("period")} | {
            q["metric"]["period"] for q in alarm.get("metric_query", []) if "metric" in q
        }
        assert {graph["period"]} == periods - {None}, key


def test_the_dashboard_names_only_metrics_the_environment_has(tmp_path: Path) -> None:
    body = dashboard_body(watched_stack(environment(tmp_path, BILLING, nat="none"))[0])
    namespaces = {ns for ns, _, _ in graphed_metrics(body)}
    assert namespaces == {"AWS/ApplicationELB", "AWS/ECS"}
    assert not any("## Database" in t or "## Cache" in t or "NAT" in t for t in row_titles(body))


def test_references_in_the_body_are_terraform_expressions_inside_strings(tmp_path: Path) -> None:
    stack, _ = watched_stack(environment(tmp_path, nat="per_az"))
    body = dashboard_body(stack)
    ids = {
        dict(zip(line[2::2], line[3::2], strict=False))["NatGatewayId"]
        for g in graphs(body)
        for line in g["metrics"]
    }
    assert ids == {ref(stack, "aws_nat_gateway", f"network/nat-{zone}", "id") for zone in "abc"}


def test_graphs_fit_the_grid_without_overlapping(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB, BILLING, AURORA, REPLICATED_CACHE, nat="per_az", insights=True)
    body = dashboard_body(watched_stack(env, notifier=True)[0])
    cells: set[tuple[int, int]] = set()
    for widget in body["widgets"]:
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= 24
        area = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not area & cells, widget
        cells |= area
    assert all(g["region"] == "eu-west-1" for g in graphs(body))


def test_the_dashboard_stays_when_alarms_are_off(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB, CACHE, nat="none", alarms="enabled = false\n")
    stack, _ = watched_stack(env)
    assert not resources(stack, "aws_cloudwatch_metric_alarm")
    body = dashboard_body(stack)
    assert len(graphs(body)) == 8  # the ALB's two, web's three, the cache node's three
    assert "alarms are off" in body["widgets"][0]["properties"]["markdown"]


def test_the_same_environment_gives_the_same_body(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB, LEDGER, AURORA, CACHE, insights=True)
    first = only(watched_stack(env, notifier=True)[0], "aws_cloudwatch_dashboard")["dashboard_body"]
    second = only(watched_stack(env, notifier=True)[0], "aws_cloudwatch_dashboard")["dashboard_body"]
    assert first == second
