"""modules/observability/alarms.py: the default alarm set per environment shape, and its composite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import only, ref, resources
from watch_fixtures import (
    API,
    AURORA,
    BILLING,
    CACHE,
    INTERNAL_ALB,
    LEDGER,
    NLB,
    PUBLIC_ALB,
    RDS,
    REPLICATED_CACHE,
    TOPIC,
    WEB,
    alarm_metrics,
    composite_children,
    environment,
    metric_alarms,
    watched_stack,
)

GIB = 1024**3


def keys(tmp_path: Path, *blocks: str, **options) -> set[str]:
    notifier = options.pop("notifier", False)
    return set(metric_alarms(watched_stack(environment(tmp_path, *blocks, **options), notifier=notifier)[0]))


def test_a_small_environment_gets_exactly_the_alarms_of_what_it_has(tmp_path: Path) -> None:
    assert keys(tmp_path, WEB, API, RDS, CACHE) == {
        "public-alb-5xx-rate",
        "public-alb-response-time-p99",
        *(f"service-{s}-{what}" for s in ("web", "api") for what in ("unhealthy-hosts", "cpu", "memory")),
        *(f"database-{what}" for what in ("cpu", "freeable-memory", "connections", "free-storage")),
        *(f"cache-001-{what}" for what in ("engine-cpu", "memory", "evictions")),
        "nat-a-port-allocation-errors",
    }


def test_an_environment_with_nothing_has_no_alarm_and_no_composite(tmp_path: Path) -> None:
    stack, _ = watched_stack(environment(tmp_path, nat="none"))
    assert not resources(stack, "aws_cloudwatch_metric_alarm")
    assert not resources(stack, "aws_cloudwatch_composite_alarm")


def test_internal_services_are_watched_on_their_own_load_balancers(tmp_path: Path) -> None:
    alarms = metric_alarms(watched_stack(environment(tmp_path, BILLING, LEDGER, nat="none"))[0])
    assert not any(key.startswith("public-alb") for key in alarms)
    assert {k for k in alarms if "alb" in k} == {"internal-alb-5xx-rate", "internal-alb-response-time-p99"}
    billing, ledger = alarms["service-billing-unhealthy-hosts"], alarms["service-ledger-unhealthy-hosts"]
    assert (billing["namespace"], billing["dimensions"]) == (
        "AWS/ApplicationELB",
        {"TargetGroup": "targetgroup/acme-test-billing/9999", "LoadBalancer": INTERNAL_ALB},
    )
    # The NLB has unhealthy hosts per target group, and no 5xx rate or latency of its own.
    assert (ledger["namespace"], ledger["dimensions"]) == (
        "AWS/NetworkELB",
        {"TargetGroup": "targetgroup/acme-test-ledger/9999", "LoadBalancer": NLB},
    )
    assert not any(NLB in json.dumps(a) for k, a in alarms.items() if k != "service-ledger-unhealthy-hosts")


def test_the_5xx_rate_is_metric_math_over_both_5xx_counts_and_the_requests(tmp_path: Path) -> None:
    alarm = metric_alarms(watched_stack(environment(tmp_path, WEB, nat="none"))[0])["public-alb-5xx-rate"]
    queries = {q["id"]: q for q in alarm["metric_query"]}
    assert {q["metric"]["metric_name"] for q in queries.values() if "metric" in q} == {
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_Target_5XX_Count",
        "RequestCount",
    }
    assert all(
        q["metric"]["dimensions"] == {"LoadBalancer": PUBLIC_ALB} and q["metric"]["stat"] == "Sum"
        for q in queries.values()
        if "metric" in q
    )
    returned = [q for q in queries.values() if q["return_data"]]
    assert len(returned) == 1 and "metric" not in returned[0]
    expression = returned[0]["expression"]
    assert all(query_id in expression for query_id in queries if query_id != returned[0]["id"])
    assert "metric_name" not in alarm and "statistic" not in alarm


def test_latency_is_the_targets_p99_as_an_extended_statistic(tmp_path: Path) -> None:
    alarm = metric_alarms(watched_stack(environment(tmp_path, WEB, nat="none"))[0])[
        "public-alb-response-time-p99"
    ]
    assert (alarm["metric_name"], alarm["extended_statistic"], alarm["threshold"]) == (
        "TargetResponseTime",
        "p99",
        2,
    )
    assert "statistic" not in alarm


@pytest.mark.parametrize("insights", [True, False])
def test_running_tasks_below_desired_only_with_container_insights(tmp_path: Path, insights: bool) -> None:
    alarms = metric_alarms(watched_stack(environment(tmp_path, WEB, insights=insights, nat="none"))[0])
    if not insights:
        assert "service-web-running-tasks" not in alarms
        return
    alarm = alarms["service-web-running-tasks"]
    metrics = {q["metric"]["metric_name"]: q["metric"] for q in alarm["metric_query"] if "metric" in q}
    assert set(metrics) == {"RunningTaskCount", "DesiredTaskCount"}
    assert all(m["namespace"] == "ECS/ContainerInsights" for m in metrics.values())
    assert all(
        m["dimensions"] == {"ClusterName": "acme-test-cluster", "ServiceName": "acme-test-web"}
        for m in metrics.values()
    )
    assert alarm["treat_missing_data"] == "breaching"


def test_a_service_s_own_thresholds_win_over_the_environment_s(tmp_path: Path) -> None:
    web = WEB + "alarms = { cpu_percent = 95 }\n"
    env = environment(tmp_path, web, API, nat="none", alarms="service_memory_percent = 70\n")
    alarms = metric_alarms(watched_stack(env)[0])
    assert alarms["service-web-cpu"]["threshold"] == 95
    assert alarms["service-api-cpu"]["threshold"] == 90  # the schema's default
    assert alarms["service-web-memory"]["threshold"] == alarms["service-api-memory"]["threshold"] == 70
    assert alarms["service-web-cpu"]["dimensions"] == {
        "ClusterName": "acme-test-cluster",
        "ServiceName": "acme-test-web",
    }


def test_rds_is_watched_on_its_instance_with_free_storage(tmp_path: Path) -> None:
    env = environment(tmp_path, RDS, nat="none", alarms="database_free_storage_gib = 7\n")
    stack, _ = watched_stack(env)
    alarms = metric_alarms(stack)
    assert {k for k in alarms if k.startswith("database")} == {
        "database-cpu",
        "database-freeable-memory",
        "database-connections",
        "database-free-storage",
    }
    instance = only(stack, "aws_db_instance")["identifier"]
    assert all(a["dimensions"] == {"DBInstanceIdentifier": instance} for a in alarms.values())
    storage = alarms["database-free-storage"]
    assert (storage["comparison_operator"], storage["threshold"]) == ("LessThanThreshold", 7 * GIB)
    assert alarms["database-freeable-memory"]["threshold"] == 256 * 1024**2


def test_aurora_is_watched_per_member_without_free_storage(tmp_path: Path) -> None:
    stack, _ = watched_stack(environment(tmp_path, AURORA, nat="none"))
    alarms = metric_alarms(stack)
    members = sorted(i["identifier"] for i in resources(stack, "aws_rds_cluster_instance").values())
    assert len(members) == 3
    watched = {a["dimensions"]["DBInstanceIdentifier"] for a in alarms.values()}
    assert sorted(watched) == members  # the writer and both readers, by the names they are created with
    assert not any("free-storage" in key for key in alarms)
    assert {k for k in alarms if k.startswith("database-1")} == {
        "database-1-cpu",
        "database-1-freeable-memory",
        "database-1-connections",
    }


@pytest.mark.parametrize(("cache", "members"), [(CACHE, 1), (REPLICATED_CACHE, 3)])
def test_the_cache_is_watched_per_member_with_replication_lag_when_replicated(
    tmp_path: Path, cache: str, members: int
) -> None:
    stack, _ = watched_stack(environment(tmp_path, cache, nat="none"))
    group = only(stack, "aws_elasticache_replication_group")
    assert group["num_cache_clusters"] == members
    alarms = metric_alarms(stack)
    ids = {a["dimensions"]["CacheClusterId"] for a in alarms.values()}
    # ElastiCache names the group's member clusters <group id>-001, -002, ...
    assert ids == {f"{group['replication_group_id']}-{n:03d}" for n in range(1, members + 1)}
    lag = {k for k in alarms if k.endswith("replication-lag")}
    assert len(lag) == (members if members > 1 else 0)
    assert {alarms[k]["namespace"] for k in alarms} == {"AWS/ElastiCache"}


@pytest.mark.parametrize(("nat", "zones"), [("none", ""), ("single", "a"), ("per_az", "abc")])
def test_each_nat_gateway_has_its_port_allocation_alarm(tmp_path: Path, nat: str, zones: str) -> None:
    stack, _ = watched_stack(environment(tmp_path, nat=nat))
    alarms = metric_alarms(stack)
    assert set(alarms) == {f"nat-{zone}-port-allocation-errors" for zone in zones}
    for zone in zones:
        alarm = alarms[f"nat-{zone}-port-allocation-errors"]
        assert alarm["dimensions"] == {
            "NatGatewayId": ref(stack, "aws_nat_gateway", f"network/nat-{zone}", "id")
        }
        assert (alarm["metric_name"], alarm["statistic"]) == ("ErrorPortAllocation", "Sum")


@pytest.mark.parametrize("notifier", [True, False])
def test_the_notifier_and_its_dead_letter_queue_are_watched_when_present(
    tmp_path: Path, notifier: bool
) -> None:
    alarms = metric_alarms(watched_stack(environment(tmp_path, nat="none"), notifier=notifier)[0])
    if not notifier:
        assert not alarms
        return
    assert set(alarms) == {"notifier-errors", "notifier-throttles", "notifier-dead-letters"}
    assert alarms["notifier-errors"]["dimensions"] == {"FunctionName": "acme-test-discord-notifier"}
    dlq = alarms["notifier-dead-letters"]
    assert (dlq["namespace"], dlq["metric_name"], dlq["comparison_operator"], dlq["threshold"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "GreaterThanThreshold",
        0,
    )
    assert dlq["period"] >= 300  # SQS publishes every five minutes


def test_alarms_disabled_make_no_alarm(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB, RDS, CACHE, alarms="enabled = false\n")
    stack, _ = watched_stack(env, notifier=True)
    assert not resources(stack, "aws_cloudwatch_metric_alarm")
    assert not resources(stack, "aws_cloudwatch_composite_alarm")


def test_every_alarm_notifies_the_alerts_topic_and_treats_missing_data_on_purpose(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB, BILLING, LEDGER, AURORA, REPLICATED_CACHE, nat="per_az", insights=True)
    alarms = metric_alarms(watched_stack(env, notifier=True)[0])
    assert len(alarms) > 40
    for key, alarm in alarms.items():
        assert alarm["alarm_actions"] == alarm["ok_actions"] == [TOPIC], key
        assert alarm["treat_missing_data"] in ("breaching", "notBreaching", "missing"), key
        assert alarm["alarm_name"] == f"acme-test-{key}" and len(alarm["alarm_name"]) <= 255
        assert 40 < len(alarm["alarm_description"]) <= 1024, key


def test_the_window_and_thresholds_come_from_config(tmp_path: Path) -> None:
    settings = (
        "period_seconds = 300\nevaluation_periods = 4\nunhealthy_hosts = 2\nnat_port_allocation_errors = 9\n"
    )
    env = environment(tmp_path, WEB, alarms=settings, profile="production")
    alarms = metric_alarms(watched_stack(env, notifier=True)[0])
    for key, alarm in alarms.items():
        periods = [alarm.get("period")] + [
            q["metric"]["period"] for q in alarm.get("metric_query", []) if "metric" in q
        ]
        assert {p for p in periods if p is not None} == {300}, key
        assert alarm["evaluation_periods"] == 4
    # Sustained signals breach every period; discrete events alarm on one.
    assert alarms["service-web-cpu"]["datapoints_to_alarm"] == 4
    assert alarms["nat-a-port-allocation-errors"]["datapoints_to_alarm"] == 1
    assert alarms["notifier-errors"]["datapoints_to_alarm"] == 1
    assert alarms["service-web-unhealthy-hosts"]["threshold"] == 2
    assert alarms["nat-a-port-allocation-errors"]["threshold"] == 9


def test_the_profile_s_window_applies_without_an_alarms_table_value(tmp_path: Path) -> None:
    development = metric_alarms(watched_stack(environment(tmp_path / "dev", WEB))[0])
    production = metric_alarms(watched_stack(environment(tmp_path / "prod", WEB, profile="production"))[0])
    assert {a["evaluation_periods"] for a in development.values()} == {5}
    assert {a["evaluation_periods"] for a in production.values()} == {3}
    assert {a["period"] for a in production.values() if "period" in a} == {60}


def test_the_composite_names_exactly_the_alarms_made(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB, LEDGER, RDS, CACHE, nat="per_az", insights=True)
    stack, _ = watched_stack(env, notifier=True)
    composite = only(stack, "aws_cloudwatch_composite_alarm")
    names = {a["alarm_name"] for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}
    children = composite_children(composite["alarm_rule"])
    assert sorted(children) == sorted(names)
    assert composite["alarm_rule"] == " OR ".join(f'ALARM("{name}")' for name in children)
    assert composite["alarm_name"] == "acme-test-environment-unhealthy"
    assert composite["alarm_actions"] == [TOPIC]
    # It names its children by name: created after them.
    assert len(composite["depends_on"]) == len(names)
    assert all(d.startswith("aws_cloudwatch_metric_alarm.") for d in composite["depends_on"])


def test_a_composite_past_cloudwatch_s_limits_is_split_by_row(tmp_path: Path) -> None:
    services = "".join(
        f'[[services]]\nname = "svc{n:02d}"\nport = 8080\npaths = ["/s{n}/*"]\npriority = {n + 1}\n'
        for n in range(40)
    )
    stack, _ = watched_stack(environment(tmp_path, services, nat="none"))
    names = {a["alarm_name"] for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}
    assert len(names) > 100  # one composite may name at most 100 alarms
    composites = {c["alarm_name"]: c for c in resources(stack, "aws_cloudwatch_composite_alarm").values()}
    top = composites.pop("acme-test-environment-unhealthy")
    assert sorted(composite_children(top["alarm_rule"])) == sorted(composites)
    assert top["alarm_actions"] == [TOPIC]
    named = [child for c in composites.values() for child in composite_children(c["alarm_rule"])]
    assert sorted(named) == sorted(names)  # every alarm in exactly one row
    assert all("alarm_actions" not in c for c in composites.values())  # only the top one notifies
    assert all(len(c["alarm_rule"]) <= 10240 for c in [top, *composites.values()])
    assert "acme-test-unhealthy-service-svc07" in composites


def test_more_rows_than_one_rule_may_name_are_grouped_in_parts(tmp_path: Path) -> None:
    services = "".join(
        f'[[services]]\nname = "svc{n:03d}"\nport = 8080\npaths = ["/s{n}/*"]\npriority = {n + 1}\n'
        for n in range(105)
    )
    stack, _ = watched_stack(environment(tmp_path, services, nat="none"))
    composites = {c["alarm_name"]: c for c in resources(stack, "aws_cloudwatch_composite_alarm").values()}
    top = composites.pop("acme-test-environment-unhealthy")
    parts = sorted(composite_children(top["alarm_rule"]))
    assert parts == ["acme-test-unhealthy-part-1", "acme-test-unhealthy-part-2"]
    rows = [row for part in parts for row in composite_children(composites.pop(part)["alarm_rule"])]
    # every row composite in exactly one part, every alarm in exactly one row
    assert sorted(rows) == sorted(composites)
    named = [child for c in composites.values() for child in composite_children(c["alarm_rule"])]
    names = {a["alarm_name"] for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}
    assert sorted(named) == sorted(names)
    assert all(len(composite_children(c["alarm_rule"])) <= 100 for c in composites.values())


def test_alarms_watch_the_metrics_they_name(tmp_path: Path) -> None:
    env = environment(tmp_path, WEB, LEDGER, RDS, CACHE, insights=True)
    for key, alarm in metric_alarms(watched_stack(env, notifier=True)[0]).items():
        for namespace, metric, dimensions in alarm_metrics(alarm):
            assert namespace.startswith(("AWS/", "ECS/ContainerInsights")), key
            assert metric and dimensions, key


@pytest.mark.validate
def test_every_observability_resource_validates_with_the_real_provider(
    tmp_path: Path, terraform_cli_config: Path
) -> None:
    """Alarms (plain and metric math), composites, the dashboard and the audit filters and alarms in
    one stack, through `terraform validate`: argument names and types as provider 5.100 has them."""
    from modules.core.terraform_cli import Terraform

    account = "[account]\nowner = true\n"
    env = environment(
        tmp_path / "config",
        WEB,
        BILLING,
        LEDGER,
        AURORA,
        REPLICATED_CACHE,
        account,
        nat="per_az",
        insights=True,
        profile="production",
    )
    stack, _ = watched_stack(env, notifier=True, complete=True)
    assert resources(stack, "aws_cloudwatch_log_metric_filter") and resources(
        stack, "aws_cloudwatch_composite_alarm"
    )
    workdir = tmp_path / "stack"
    workdir.mkdir()
    (workdir / "cdk.tf.json").write_text(json.dumps(dict(stack)))
    terraform = Terraform(workdir, terraform_cli_config)
    init = terraform.run("init", "-backend=false", "-no-color")
    assert init.ok, init.stdout + init.stderr
    result = terraform.run("validate", "-no-color")
    assert result.ok and "Success! The configuration is valid." in result.stdout, (
        result.stdout + result.stderr
    )
