"""The environment's default alarm set and its composite "environment unhealthy" alarm."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.observability.metrics import Metric, Watch, watches
from modules.observability.resources import WatchedResources

# PutCompositeAlarm: an AlarmRule of at most 10240 characters naming at most 100 alarms.
COMPOSITE_RULE_LIMIT = 10240
COMPOSITE_CHILDREN_LIMIT = 100
EXPRESSION_ID = "result"  # the id of a metric math alarm's expression among its metric queries


@dataclass(frozen=True)
class AlarmsProps:
    """The alarm set; thresholds and the window are in the watches, from `[alarms]`."""

    name: str  # "<project>-<env>": every alarm is "<name>-<watch key>"
    enabled: bool  # `[alarms] enabled`; false: no alarm at all
    alerts_topic_arn: str  # the alerts SNS topic: alarm and OK actions
    watches: tuple[Watch, ...]

    @classmethod
    def of(cls, env: Environment, resources: WatchedResources, *, alerts_topic_arn: str) -> AlarmsProps:
        return cls(
            name=env.prefix,
            enabled=env.config.alarms.enabled,
            alerts_topic_arn=alerts_topic_arn,
            watches=watches(resources),
        )


def alarm_rule(alarm_names: list[str]) -> str:
    """A composite alarm rule in ALARM when any of the alarms is."""
    return " OR ".join(f'ALARM("{name}")' for name in alarm_names)


def _fits(alarm_names: list[str]) -> bool:
    return (
        len(alarm_names) <= COMPOSITE_CHILDREN_LIMIT and len(alarm_rule(alarm_names)) <= COMPOSITE_RULE_LIMIT
    )


def _parts(alarm_names: list[str]) -> list[list[str]]:
    """`alarm_names` cut, in order, into runs that each fit one composite rule."""
    parts: list[list[str]] = [[]]
    for name in alarm_names:
        if not _fits([*parts[-1], name]):
            parts.append([])
        parts[-1].append(name)
    return parts


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Alarms(Construct):
    """One CloudWatch metric alarm per watch, `<name>-<key>`, with alarm and OK actions to the alerts
    topic (an OK tells the reader of the alarm that it is over), and a composite alarm
    `<name>-environment-unhealthy`, in ALARM while any of them is, whose alarm action (only: every
    child already reports its own recovery) tells the alerts topic once that the environment went
    from healthy to unhealthy.

    The composite names its children in one rule; should that pass CloudWatch's limits (100 alarms,
    10240 characters), each dashboard row gets a composite `<name>-unhealthy-<row>` and the
    environment's names those, or, with more rows than that, runs of them
    (`<name>-unhealthy-part-<n>`). Nothing is created when `enabled` is false.

    Exposes `alarm_names` (by watch key), `composite_alarm_name` and `composite_alarm_arn` (None
    when disabled or when there is nothing to watch).
    """

    def __init__(self, scope: Construct, id: str, props: AlarmsProps) -> None:
        super().__init__(scope, id)
        self._props = props
        self.alarm_names: dict[str, str] = {}
        self.composite_alarm_name: str | None = None
        self.composite_alarm_arn: str | None = None
        if not props.enabled or not props.watches:
            return
        alarms = {watch.key: self._metric_alarm(watch) for watch in props.watches}
        self.alarm_names = {key: f"{props.name}-{key}" for key in alarms}

        children = list(self.alarm_names.values())
        depends: list[Any] = list(alarms.values())
        if not _fits(children):
            rows: dict[str, list[str]] = {}
            for watch in props.watches:
                rows.setdefault(watch.row, []).append(watch.key)
            children, depends = [], []
            for row, keys in rows.items():
                names = [self.alarm_names[key] for key in keys]
                row_name = f"{props.name}-unhealthy-{_slug(row)}"
                composite = self._composite(
                    f"unhealthy-{_slug(row)}",
                    row_name,
                    f"{row} of {props.name}: one of its alarms is in ALARM.",
                    names,
                    [alarms[key] for key in keys],
                    actions=False,  # the environment's composite reports; this one only groups
                )
                children.append(row_name)
                depends.append(composite)
        if not _fits(children):
            # More rows than one rule may name (about a hundred services): the row composites in
            # runs, in dashboard order. A new row shifts the runs' members, which updates their
            # rules in place: no alarm is replaced.
            grouped, depends_of = [], dict(zip(children, depends, strict=True))
            for number, names in enumerate(_parts(children), start=1):
                part_name = f"{props.name}-unhealthy-part-{number}"
                grouped.append(
                    (
                        part_name,
                        self._composite(
                            f"unhealthy-part-{number}",
                            part_name,
                            f"Part {number} of {props.name}'s alarms: one of them is in ALARM.",
                            names,
                            [depends_of[name] for name in names],
                            actions=False,
                        ),
                    )
                )
            children, depends = [name for name, _ in grouped], [c for _, c in grouped]
        composite = self._composite(
            "environment-unhealthy",
            f"{props.name}-environment-unhealthy",
            f"{props.name} is unhealthy: at least one of its alarms is in ALARM. The alarms that "
            "fired (each notified on its own) and the dashboard "
            f"{props.name} show which and why.",
            children,
            depends,
            actions=True,
        )
        self.composite_alarm_name = f"{props.name}-environment-unhealthy"
        self.composite_alarm_arn = composite.arn

    def _composite(
        self, id: str, name: str, description: str, children: list[str], depends: list[Any], *, actions: bool
    ) -> Any:
        if not _fits(children):
            raise ValueError(f"{name}: {len(children)} alarms do not fit one composite alarm rule")
        topic = [self._props.alerts_topic_arn] if actions else None
        return aws.cloudwatch_composite_alarm.CloudwatchCompositeAlarm(
            self,
            id,
            alarm_name=name,
            alarm_description=description,
            alarm_rule=alarm_rule(children),
            alarm_actions=topic,
            # The rule names its children by name: they must exist first.
            depends_on=depends,
        )

    def _metric_alarm(self, watch: Watch) -> Any:
        ma = aws.cloudwatch_metric_alarm
        props = self._props
        settings: dict[str, Any] = {
            "alarm_name": f"{props.name}-{watch.key}",
            "alarm_description": watch.description,
            "comparison_operator": watch.comparison,
            "threshold": watch.threshold,
            "evaluation_periods": watch.evaluation_periods,
            "datapoints_to_alarm": watch.datapoints_to_alarm,
            "treat_missing_data": watch.treat_missing_data,
            "alarm_actions": [props.alerts_topic_arn],
            "ok_actions": [props.alerts_topic_arn],
        }
        signal = watch.signal
        if isinstance(signal, Metric):
            statistic = "extended_statistic" if signal.percentile else "statistic"
            settings |= {
                "namespace": signal.namespace,
                "metric_name": signal.name,
                "dimensions": dict(signal.dimensions),
                "period": watch.period_seconds,
                statistic: signal.statistic,
            }
        else:
            settings["metric_query"] = [
                *(
                    ma.CloudwatchMetricAlarmMetricQuery(
                        id=query_id,
                        return_data=False,
                        metric=ma.CloudwatchMetricAlarmMetricQueryMetric(
                            namespace=metric.namespace,
                            metric_name=metric.name,
                            dimensions=dict(metric.dimensions),
                            period=watch.period_seconds,
                            stat=metric.statistic,
                        ),
                    )
                    for query_id, metric in signal.inputs
                ),
                ma.CloudwatchMetricAlarmMetricQuery(
                    id=EXPRESSION_ID, expression=signal.expression, label=signal.label, return_data=True
                ),
            ]
        return ma.CloudwatchMetricAlarm(self, watch.key, **settings)
