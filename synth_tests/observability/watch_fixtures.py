"""Shared by the observability tests: environment files of several shapes, and a stack holding the
network and stores of one (their real constructs, so the alarms watch the names those create) with
its alarms and dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import env_toml, load, resources, synth_stack, write_config

TOPIC = "arn:aws:sns:eu-west-1:111111111111:acme-test-alerts"
KEY = "arn:aws:kms:eu-west-1:111111111111:key/env"
PUBLIC_ALB = "app/acme-test-public/1111"
INTERNAL_ALB = "app/acme-test-internal/2222"
NLB = "net/acme-test-nlb/3333"

WEB = '[[services]]\nname = "web"\nport = 8080\npaths = ["/*"]\npriority = 100\n'
API = '[[services]]\nname = "api"\nport = 9000\npaths = ["/api/*"]\npriority = 10\n'
BILLING = '[[services]]\nname = "billing"\nport = 8081\npublic = false\nhosts = ["billing.internal"]\npriority = 10\n'
LEDGER = '[[services]]\nname = "ledger"\nport = 7000\nprotocol = "tcp"\n'
RDS = '[database]\nengine = "postgres"\n'
AURORA = '[database]\nengine = "aurora-postgresql"\ninstances = 3\n'
CACHE = '[cache]\nengine = "valkey"\n'
REPLICATED_CACHE = '[cache]\nengine = "valkey"\nmulti_az = true\nreplicas = 2\n'


def environment(
    tmp_path: Path,
    *blocks: str,
    nat: str = "single",
    insights: bool = False,
    alarms: str = "",
    profile: str = "development",
):
    """A one-environment config `test` of `blocks` (services and stores), three zones."""
    text = env_toml("10.40.0.0/16", profile, f'az_count = 3\nnat = "{nat}"\n')
    text += f"\n[cluster]\ncontainer_insights = {str(insights).lower()}\n"
    # Public services: plain HTTP in development, HTTPS (a domain) as production requires.
    text += (
        "\n[edge]\nhttp_only = true\n"
        if profile == "development"
        else '\n[domain]\nname = "example.com"\nhosted_zone_id = "Z1"\n'
    )
    text += f"\n[alarms]\n{alarms}\n"
    text += "\n".join(blocks)
    (env,) = load(write_config(tmp_path, {"test": text})).environments
    return env


def watched_stack(
    env, *, notifier: bool = False, alarms: bool = True, dashboard: bool = True, complete: bool = False
):
    """(stack JSON, WatchedResources): the environment's network and stores, and its alarms and
    dashboard over them; load balancers by fixed ARN suffixes. `complete`: also the provider, and
    the account services with the audit alarms (an owner environment), for `terraform validate`."""
    from modules.cdk import TerraformStack, Testing
    from modules.data import Cache, CacheProps, Database, DatabaseProps
    from modules.network import Network, NetworkProps
    from modules.observability import (
        Alarms,
        AlarmsProps,
        Dashboard,
        DashboardProps,
        NotifierWatch,
        WatchedResources,
    )

    stack = TerraformStack(Testing.app(), "test")
    if complete:
        from modules.observability import AuditAlarms, AuditAlarmsProps
        from modules.stacks.account import AccountServices
        from modules.stacks.providers import aws_provider

        aws_provider(
            stack,
            region=env.region,
            account_id=env.account_id,
            tags={},
            assume_role_arn=None,
            session_name="test",
        )
        account = AccountServices(stack, "account", env, KEY)
        assert account.trail_log_group_name is not None
        AuditAlarms(
            stack,
            "audit-alarms",
            AuditAlarmsProps.of(env, log_group_name=account.trail_log_group_name, alerts_topic_arn=TOPIC),
        )
    network = Network(stack, "network", NetworkProps.of(env, KEY))
    stores: dict[str, Any] = {"vpc_id": network.vpc_id, "subnet_ids": network.private_subnet_ids}
    database = (
        Database(stack, "database", DatabaseProps.of(env, kms_key_arn=KEY, **stores))
        if env.config.database
        else None
    )
    cache = (
        Cache(stack, "cache", CacheProps.of(env, kms_key_arn=KEY, clients=[], **stores))
        if env.config.cache
        else None
    )
    services = env.services
    watched = WatchedResources.of(
        env,
        public_alb_arn_suffix=PUBLIC_ALB if any(s.public for s in services) else None,
        internal_alb_arn_suffix=INTERNAL_ALB
        if any(not s.public and s.protocol == "http" for s in services)
        else None,
        nlb_arn_suffix=NLB if any(s.protocol == "tcp" for s in services) else None,
        target_group_arn_suffixes={s.name: f"targetgroup/acme-test-{s.name}/9999" for s in services},
        cluster_name="acme-test-cluster" if services else None,
        database_instance_ids=database.instance_identifiers if database else (),
        cache_member_ids=cache.member_cluster_ids if cache else (),
        nat_gateway_ids=network.nat_gateway_ids_by_zone,
        notifier=NotifierWatch("acme-test-discord-notifier", "acme-test-discord-notifier-dlq")
        if notifier
        else None,
    )
    if alarms:
        Alarms(stack, "alarms", AlarmsProps.of(env, watched, alerts_topic_arn=TOPIC))
    if dashboard:
        Dashboard(stack, "dashboard", DashboardProps.of(env, watched))
    return synth_stack(stack), watched


def metric_alarms(stack_json: dict) -> dict[str, dict]:
    """The default set's metric alarms by the end of their name (the watch key)."""
    return {
        alarm["alarm_name"].removeprefix("acme-test-"): alarm
        for alarm in resources(stack_json, "aws_cloudwatch_metric_alarm").values()
    }


def alarm_metrics(alarm: dict) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions) of every metric an alarm reads, directly or in its math."""
    if "metric_query" not in alarm:
        return [(alarm["namespace"], alarm["metric_name"], tuple(sorted(alarm["dimensions"].items())))]
    return [
        (
            q["metric"]["namespace"],
            q["metric"]["metric_name"],
            tuple(sorted(q["metric"]["dimensions"].items())),
        )
        for q in alarm["metric_query"]
        if "metric" in q
    ]


def dashboard_body(stack_json: dict) -> dict:
    """The dashboard body, parsed: Terraform references in it (`${...}`) sit inside JSON strings."""
    (dashboard,) = resources(stack_json, "aws_cloudwatch_dashboard").values()
    return json.loads(dashboard["dashboard_body"])


def composite_children(rule: str) -> list[str]:
    return re.findall(r'ALARM\("([^"]+)"\)', rule)
