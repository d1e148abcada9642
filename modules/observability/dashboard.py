"""The environment's CloudWatch dashboard, drawn from the same watches as its alarms."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.observability.alarms import EXPRESSION_ID
from modules.observability.metrics import Metric, Watch, shown, watches
from modules.observability.resources import WatchedResources

GRID_WIDTH = 24  # CloudWatch dashboards are 24 units wide
GRAPH_WIDTH = 6  # four graphs side by side
GRAPH_HEIGHT = 6
HEADER_HEIGHT = 2
ROW_TITLE_HEIGHT = 1
_SIGNS = {"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">", "LessThanThreshold": "<"}


@dataclass(frozen=True)
class DashboardProps:
    """The dashboard `<project>-<env>`: one row per load balancer, service and store."""

    name: str  # "<project>-<env>": the dashboard's name
    region: str  # every graph reads this region's metrics
    alarms_enabled: bool  # said in the header: the red lines are thresholds, alarmed or not
    watches: tuple[Watch, ...]

    @classmethod
    def of(cls, env: Environment, resources: WatchedResources) -> DashboardProps:
        return cls(
            name=env.prefix,
            region=env.region,
            alarms_enabled=env.config.alarms.enabled,
            watches=watches(resources),
        )


def _metric_line(metric: Metric, options: dict[str, Any]) -> list[Any]:
    """A metric in the dashboard's array form: namespace, name, each dimension's name and value,
    then the rendering options."""
    dimensions = [part for pair in metric.dimensions for part in pair]
    return [metric.namespace, metric.name, *dimensions, {"stat": metric.statistic, **options}]


def graph(watch: Watch, region: str) -> dict[str, Any]:
    """The properties of one watch's graph: its metric (or its expression over hidden inputs) and
    the alarm's threshold as a horizontal line."""
    signal = watch.signal
    if isinstance(signal, Metric):
        lines = [_metric_line(signal, {"label": watch.title})]
    else:
        lines = [
            [{"expression": signal.expression, "id": EXPRESSION_ID, "label": signal.label}],
            *(_metric_line(metric, {"id": query_id, "visible": False}) for query_id, metric in signal.inputs),
        ]
    below = watch.comparison == "LessThanThreshold"
    return {
        "title": watch.title,
        "region": region,
        "view": "timeSeries",
        "stacked": False,
        "period": watch.period_seconds,
        "metrics": lines,
        "annotations": {
            "horizontal": [
                {
                    "label": f"threshold {_SIGNS[watch.comparison]} {shown(watch.threshold)}",
                    "value": watch.threshold,
                    "fill": "below" if below else "above",
                }
            ]
        },
        "yAxis": {"left": {"min": 0}},
    }


def dashboard_body(props: DashboardProps) -> str:
    """The dashboard JSON: a header, then per row its title and its graphs, four to a line; keys
    sorted, so the same watches always give the same text."""
    state = "alarm thresholds" if props.alarms_enabled else "thresholds (alarms are off: `[alarms] enabled`)"
    widgets: list[dict[str, Any]] = [
        {
            "type": "text",
            "x": 0,
            "y": 0,
            "width": GRID_WIDTH,
            "height": HEADER_HEIGHT,
            "properties": {
                "markdown": f"# {props.name}\nOne row per load balancer, service and store; the lines "
                f"across the graphs are the {state} of `[alarms]` in the environment's file."
            },
        }
    ]
    rows: dict[str, list[Watch]] = {}
    for watch in props.watches:
        rows.setdefault(watch.row, []).append(watch)
    y = HEADER_HEIGHT
    per_line = GRID_WIDTH // GRAPH_WIDTH
    for row, row_watches in rows.items():
        widgets.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": GRID_WIDTH,
                "height": ROW_TITLE_HEIGHT,
                "properties": {"markdown": f"## {row}"},
            }
        )
        y += ROW_TITLE_HEIGHT
        for index, watch in enumerate(row_watches):
            widgets.append(
                {
                    "type": "metric",
                    "x": (index % per_line) * GRAPH_WIDTH,
                    "y": y + (index // per_line) * GRAPH_HEIGHT,
                    "width": GRAPH_WIDTH,
                    "height": GRAPH_HEIGHT,
                    "properties": graph(watch, props.region),
                }
            )
        y += -(-len(row_watches) // per_line) * GRAPH_HEIGHT
    return json.dumps({"widgets": widgets}, sort_keys=True)


class Dashboard(Construct):
    """A CloudWatch dashboard `<name>` whose graphs are the environment's watches, row by row, with
    each alarm's threshold drawn on its graph. It stays when alarms are switched off.

    Exposes `name` and `arn`.
    """

    def __init__(self, scope: Construct, id: str, props: DashboardProps) -> None:
        super().__init__(scope, id)
        dashboard = aws.cloudwatch_dashboard.CloudwatchDashboard(
            self, "dashboard", dashboard_name=props.name, dashboard_body=dashboard_body(props)
        )
        self.name: str = props.name
        self.arn: str = dashboard.dashboard_arn
