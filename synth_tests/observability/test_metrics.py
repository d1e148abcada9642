"""modules/observability/metrics.py and resources.py: the watches, built from what an environment has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from watch_fixtures import AURORA, BILLING, LEDGER, REPLICATED_CACHE, WEB, environment

from modules.observability import Metric, MetricMath, NotifierWatch, WatchedResources, watches
from modules.observability.metrics import shown

SUFFIXES = {"web": "targetgroup/w/1", "billing": "targetgroup/b/2", "ledger": "targetgroup/l/3"}


def resources_of(env, **changes) -> WatchedResources:
    arguments = {
        "public_alb_arn_suffix": "app/public/1",
        "internal_alb_arn_suffix": "app/internal/2",
        "nlb_arn_suffix": "net/nlb/3",
        "target_group_arn_suffixes": SUFFIXES,
        "cluster_name": "acme-test-cluster",
        "database_instance_ids": ("acme-test-db-1", "acme-test-db-2", "acme-test-db-3")
        if env.config.database
        else (),
        "cache_member_ids": ("acme-test-cache-001", "acme-test-cache-002", "acme-test-cache-003")
        if env.config.cache
        else (),
        "nat_gateway_ids": {"b": "nat-2", "a": "nat-1"},
        "notifier": NotifierWatch("acme-test-discord-notifier", "acme-test-discord-notifier-dlq"),
    }
    return WatchedResources.of(env, **(arguments | changes))


@pytest.fixture
def everything(tmp_path: Path):
    env = environment(tmp_path, WEB, BILLING, LEDGER, AURORA, REPLICATED_CACHE, nat="per_az", insights=True)
    return env, watches(resources_of(env))


def test_keys_are_unique_and_read_as_names(everything) -> None:
    _, found = everything
    keys = [w.key for w in found]
    assert len(keys) == len(set(keys))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key) for key in keys)


def test_statistics_and_math_are_well_formed(everything) -> None:
    _, found = everything
    for watch in found:
        for metric in watch.metrics:
            assert re.fullmatch(r"Average|Sum|Minimum|Maximum|p\d{2}(\.\d+)?", metric.statistic), watch.key
            assert metric.namespace and metric.name and metric.dimensions, watch.key
        if isinstance(watch.signal, MetricMath):
            ids = [query_id for query_id, _ in watch.signal.inputs]
            assert all(re.fullmatch(r"[a-z][a-zA-Z0-9_]*", i) for i in ids), watch.key
            named = set(re.findall(r"[a-z][a-zA-Z0-9_]*", watch.signal.expression)) - {"FILL"}
            assert named == set(ids), watch.key  # the expression reads every input, and nothing else


def test_missing_data_follows_what_the_signal_is(everything) -> None:
    _, found = everything
    for watch in found:
        if watch.comparison == "LessThanThreshold":  # headroom: a gap says nothing
            assert watch.treat_missing_data == "missing", watch.key
        elif watch.key.endswith("running-tasks"):  # reported every minute while the service exists
            assert watch.treat_missing_data == "breaching"
        else:  # load and events: nothing published is nothing happening
            assert watch.treat_missing_data == "notBreaching", watch.key


def test_discrete_events_alarm_on_one_period_and_the_rest_on_all(everything) -> None:
    env, found = everything
    periods = env.config.alarms.evaluation_periods
    events = {w.key for w in found if w.datapoints_to_alarm == 1}
    assert events == {
        "nat-a-port-allocation-errors",
        "nat-b-port-allocation-errors",
        "notifier-errors",
        "notifier-throttles",
        "notifier-dead-letters",
    }
    assert all(w.datapoints_to_alarm == periods for w in found if w.key not in events)
    assert all(w.evaluation_periods == periods for w in found)


def test_each_description_names_the_setting_of_its_threshold(everything) -> None:
    _, found = everything
    fixed = {"running-tasks", "dead-letters"}  # "fewer than desired", "any message": nothing to set
    for watch in found:
        if any(watch.key.endswith(f) for f in fixed):
            continue
        assert re.search(r"\[alarms\] [a-z_0-9]+", watch.description), watch.key


def test_nat_gateways_are_watched_in_zone_order(everything) -> None:
    env, _ = everything
    found = watches(resources_of(env, nat_gateway_ids={"b": "nat-2", "a": "nat-1"}))
    nat = [w for w in found if w.key.startswith("nat-")]
    assert [(w.key, w.metrics[0].dimensions) for w in nat] == [
        ("nat-a-port-allocation-errors", (("NatGatewayId", "nat-1"),)),
        ("nat-b-port-allocation-errors", (("NatGatewayId", "nat-2"),)),
    ]


def test_target_group_dimensions_pair_the_group_with_its_load_balancer(everything) -> None:
    _, found = everything
    by_key = {w.key: w for w in found}
    web = by_key["service-web-unhealthy-hosts"].signal
    ledger = by_key["service-ledger-unhealthy-hosts"].signal
    assert isinstance(web, Metric) and isinstance(ledger, Metric)
    assert web.dimensions == (("TargetGroup", "targetgroup/w/1"), ("LoadBalancer", "app/public/1"))
    assert (ledger.namespace, ledger.dimensions) == (
        "AWS/NetworkELB",
        (("TargetGroup", "targetgroup/l/3"), ("LoadBalancer", "net/nlb/3")),
    )


def test_without_a_cluster_no_service_is_watched(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB)
    found = watches(
        resources_of(
            env,
            internal_alb_arn_suffix=None,
            nlb_arn_suffix=None,
            cluster_name=None,
            nat_gateway_ids={},
            notifier=None,
        )
    )
    assert [w.key for w in found] == ["public-alb-5xx-rate", "public-alb-response-time-p99"]


def test_a_service_without_its_load_balancer_is_a_wiring_mistake(tmp_path: Path) -> None:
    env = environment(tmp_path, LEDGER)
    with pytest.raises(ValueError, match="ledger sits behind the internal-nlb"):
        resources_of(env, nlb_arn_suffix=None)


def test_store_names_are_required_exactly_when_the_store_exists(tmp_path: Path) -> None:
    env = environment(tmp_path, AURORA)
    with pytest.raises(ValueError, match="database_instance_ids"):
        resources_of(env, database_instance_ids=())
    with pytest.raises(ValueError, match="cache_member_ids"):
        resources_of(env, cache_member_ids=("acme-test-cache-001",))


@pytest.mark.parametrize(("value", "text"), [(90, "90"), (90.0, "90"), (2.5, "2.5"), (0.05, "0.05")])
def test_thresholds_are_shown_as_written(value: float, text: str) -> None:
    assert shown(value) == text
