"""modules/data/cache.py: the replication group, its groups and logs, the IAM-authenticated users,
`allow_from` and `grant`, asserted on the JSON of caches built from config."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import by_path, keys, load, only, ref, resources, synth_stack, write_config

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]

SERVICES = """
[[services]]
name = "api"
port = 8080
public = false
hosts = ["api.internal"]
priority = 10
uses = ["cache"]

[[services]]
name = "worker"
port = 8081
public = false
hosts = ["worker.internal"]
priority = 20
uses = ["cache"]

[[services]]
name = "report"
port = 8082
public = false
hosts = ["report.internal"]
priority = 30
"""


def environment(profile: str, cache: str, cidr: str) -> str:
    return f'profile = "{profile}"\n\n[network]\ncidr = "{cidr}"\naz_count = 3\n{SERVICES}\n[cache]\n{cache}'


CONFIGS = {
    # Development defaults: one Valkey node, IAM auth.
    "dev": environment("development", 'engine = "valkey"\n', "10.10.0.0/16"),
    # Production defaults over three zones: Redis OSS, a replica in each extra zone.
    "prod": environment("production", 'engine = "redis"\n', "10.20.0.0/16"),
    # Replicas without failover, and no authentication (development only).
    "open": environment("development", 'engine = "valkey"\nauth = "none"\nreplicas = 1\n', "10.30.0.0/16"),
}


def build(env) -> tuple[dict, dict[str, Any]]:
    """The cache of `env` (clients: the services that use it), admitting api's tasks, with the
    grants of its clients as outputs so their references come out resolved."""
    from modules.cdk import TerraformOutput, TerraformStack, Testing
    from modules.config.uses import parse_use
    from modules.data.cache import Cache, CacheProps

    stack = TerraformStack(Testing.app(), "test")
    clients = sorted(s.name for s in env.services if s.uses_of("cache"))
    cache = Cache(
        stack,
        "cache",
        CacheProps.of(env, kms_key_arn=KEY, vpc_id="vpc-1", subnet_ids=SUBNETS, clients=clients),
    )
    cache.allow_from("api-tasks", "sg-api")
    for client in clients:
        grant = cache.grant(client, parse_use("cache"))
        TerraformOutput(
            stack,
            f"grant-{client}",
            value={"environment": dict(grant.environment), "task_statements": list(grant.task_statements)},
        )
    return synth_stack(stack), {"cache": cache}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    platform = load(write_config(tmp_path_factory.mktemp("cache"), CONFIGS))
    return {env.name: build(env)[0] for env in platform.environments}


def group(stack: dict) -> dict:
    return only(stack, "aws_elasticache_replication_group")


def grant(stack: dict, client: str) -> dict:
    return stack["output"][f"grant_{client}"]["value"]


# --- the replication group -------------------------------------------------------------------


def test_development_is_one_valkey_node_without_failover(stacks: dict) -> None:
    stack = stacks["dev"]
    assert group(stack) == {
        "replication_group_id": "acme-dev-cache",
        "description": "Cache of acme-dev (valkey 8.0)",
        "engine": "valkey",
        "engine_version": "8.0",
        "node_type": "cache.t4g.micro",
        "num_cache_clusters": 1,
        "automatic_failover_enabled": False,
        "multi_az_enabled": False,
        "port": 6379,
        "subnet_group_name": ref(stack, "aws_elasticache_subnet_group", "cache/subnet-group", "name"),
        "security_group_ids": [ref(stack, "aws_security_group", "cache/security-group", "id")],
        "parameter_group_name": ref(
            stack, "aws_elasticache_parameter_group", "cache/parameter-group", "name"
        ),
        "at_rest_encryption_enabled": "true",
        "kms_key_id": KEY,
        "transit_encryption_enabled": True,
        "transit_encryption_mode": "required",
        "user_group_ids": [ref(stack, "aws_elasticache_user_group", "cache/user-group", "user_group_id")],
        "snapshot_retention_limit": 1,
        "snapshot_window": "02:00-03:00",
        "maintenance_window": "sun:04:00-sun:05:00",
        "auto_minor_version_upgrade": "true",
        "apply_immediately": False,
        "log_delivery_configuration": [
            {
                "destination": ref(stack, "aws_cloudwatch_log_group", f"cache/{log_type}", "name"),
                "destination_type": "cloudwatch-logs",
                "log_format": "json",
                "log_type": log_type,
            }
            for log_type in ("slow-log", "engine-log")
        ],
    }


def test_production_fails_over_across_zones_with_a_replica_per_extra_zone(stacks: dict) -> None:
    cache = group(stacks["prod"])
    assert (cache["num_cache_clusters"], cache["automatic_failover_enabled"], cache["multi_az_enabled"]) == (
        3,
        True,
        True,
    )
    assert (cache["engine"], cache["engine_version"], cache["node_type"]) == (
        "redis",
        "7.1",
        "cache.m7g.large",
    )
    assert cache["snapshot_retention_limit"] == 7


def test_replicas_without_multi_az_do_not_fail_over(stacks: dict) -> None:
    cache = group(stacks["open"])
    assert (cache["num_cache_clusters"], cache["automatic_failover_enabled"], cache["multi_az_enabled"]) == (
        2,
        False,
        False,
    )


@pytest.mark.parametrize(("name", "family"), [("dev", "valkey8"), ("prod", "redis7")])
def test_the_parameter_group_has_the_engine_family_in_its_name_and_is_replaced_first(
    stacks: dict, name: str, family: str
) -> None:
    assert only(stacks[name], "aws_elasticache_parameter_group") == {
        "name": f"acme-{name}-cache-{family}",
        "family": family,
        "description": f"Cache parameters of acme-{name} ({family})",
        "lifecycle": {"create_before_destroy": True},
    }


def test_its_own_subnet_group_on_the_private_subnets(stacks: dict) -> None:
    assert only(stacks["dev"], "aws_elasticache_subnet_group") == {
        "name": "acme-dev-cache",
        "description": "Private subnets of the cache of acme-dev",
        "subnet_ids": SUBNETS,
    }


def test_slow_and_engine_logs_are_encrypted_with_the_environment_key_and_kept_per_profile(
    stacks: dict,
) -> None:
    for name, days in (("dev", 30), ("prod", 365)):
        assert by_path(stacks[name], "aws_cloudwatch_log_group") == {
            f"cache/{log_type}": {
                "name": f"/acme/{name}/cache/{log_type}",
                "kms_key_id": KEY,
                "retention_in_days": days,
            }
            for log_type in ("slow-log", "engine-log")
        }


# --- network ---------------------------------------------------------------------------------


def test_its_security_group_admits_only_what_allow_from_names(stacks: dict) -> None:
    stack = stacks["dev"]
    own = ref(stack, "aws_security_group", "cache/security-group", "id")
    assert only(stack, "aws_security_group")["name"] == "acme-dev-cache"
    assert by_path(stack, "aws_vpc_security_group_ingress_rule") == {
        "cache/allow-api-tasks-ingress": {
            "security_group_id": own,
            "referenced_security_group_id": "sg-api",
            "ip_protocol": "tcp",
            "from_port": 6379,
            "to_port": 6379,
            "description": "From api-tasks on 6379",
        }
    }
    assert by_path(stack, "aws_vpc_security_group_egress_rule") == {
        "cache/allow-api-tasks-egress": {
            "security_group_id": "sg-api",
            "referenced_security_group_id": own,
            "ip_protocol": "tcp",
            "from_port": 6379,
            "to_port": 6379,
            "description": "To cache acme-dev-cache on 6379",
        }
    }


# --- users -----------------------------------------------------------------------------------


def test_each_client_has_an_iam_user_whose_id_is_its_name(stacks: dict) -> None:
    users = by_path(stacks["dev"], "aws_elasticache_user")
    assert {path: user for path, user in users.items() if path.startswith("cache/users/")} == {
        f"cache/users/{client}": {
            "user_id": f"acme-dev-cache-{client}",
            "user_name": f"acme-dev-cache-{client}",
            "engine": "valkey",
            "access_string": "on ~* &* +@all -@admin",
            "authentication_mode": {"type": "iam"},
        }
        for client in ("api", "worker")
    }
    assert {
        u["engine"] for p, u in by_path(stacks["prod"], "aws_elasticache_user").items() if "/users/" in p
    } == {"redis"}


def test_the_default_user_is_disabled_and_passwordless(stacks: dict) -> None:
    assert by_path(stacks["dev"], "aws_elasticache_user")["cache/default-user"] == {
        "user_id": "acme-dev-cache",
        "user_name": "default",
        "engine": "redis",
        "access_string": "off -@all",
        "no_password_required": True,
    }


def test_the_user_group_holds_the_default_user_and_the_clients_only(stacks: dict) -> None:
    stack = stacks["dev"]
    assert only(stack, "aws_elasticache_user_group") == {
        "user_group_id": "acme-dev-cache",
        "engine": "redis",
        "user_ids": [
            ref(stack, "aws_elasticache_user", "cache/default-user", "user_id"),
            ref(stack, "aws_elasticache_user", "cache/users/api", "user_id"),
            ref(stack, "aws_elasticache_user", "cache/users/worker", "user_id"),
        ],
    }


def test_without_authentication_there_are_no_users_and_no_user_group(stacks: dict) -> None:
    stack = stacks["open"]
    assert resources(stack, "aws_elasticache_user") == {}
    assert resources(stack, "aws_elasticache_user_group") == {}
    assert "user_group_ids" not in group(stack)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_no_token_or_password_anywhere(stacks: dict, name: str) -> None:
    found = set(keys(stacks[name]))
    assert not found & {"auth_token", "auth_token_update_strategy", "passwords", "password"}
    modes = [u.get("authentication_mode") for u in resources(stacks[name], "aws_elasticache_user").values()]
    assert all(mode in (None, {"type": "iam"}) for mode in modes)


# --- grants ----------------------------------------------------------------------------------


def test_a_client_gets_the_endpoint_its_user_and_connect_on_exactly_the_cache_and_that_user(
    stacks: dict,
) -> None:
    stack = stacks["dev"]
    cache = "aws_elasticache_replication_group"
    for client in ("api", "worker"):
        assert grant(stack, client) == {
            "environment": {
                "CACHE_HOST": ref(stack, cache, "cache/replication-group", "primary_endpoint_address"),
                "CACHE_PORT": "6379",
                "CACHE_TLS": "true",
                "CACHE_USER": f"acme-dev-cache-{client}",
            },
            "task_statements": [
                {
                    "Sid": "ConnectToCache",
                    "Effect": "Allow",
                    "Action": "elasticache:Connect",
                    "Resource": [
                        ref(stack, cache, "cache/replication-group", "arn"),
                        ref(stack, "aws_elasticache_user", f"cache/users/{client}", "arn"),
                    ],
                }
            ],
        }


def test_without_authentication_a_client_gets_the_endpoint_and_no_permission(stacks: dict) -> None:
    stack = stacks["open"]
    assert grant(stack, "api") == {
        "environment": {
            "CACHE_HOST": ref(
                stack,
                "aws_elasticache_replication_group",
                "cache/replication-group",
                "primary_endpoint_address",
            ),
            "CACHE_PORT": "6379",
            "CACHE_TLS": "true",
        },
        "task_statements": [],
    }


def test_a_service_that_does_not_use_the_cache_has_no_user_and_no_grant(tmp_path) -> None:
    from modules.config.uses import parse_use

    (env,) = load(write_config(tmp_path, {"dev": CONFIGS["dev"]})).environments
    stack_json, built = build(env)
    assert "cache/users/report" not in by_path(stack_json, "aws_elasticache_user")
    assert "grant_report" not in stack_json["output"]
    with pytest.raises(ValueError, match="report is not a client of the cache"):
        built["cache"].grant("report", parse_use("cache"))
    with pytest.raises(ValueError, match="not a use of the cache"):
        built["cache"].grant("api", parse_use("database"))


def test_attributes(tmp_path) -> None:
    (env,) = load(write_config(tmp_path, {"dev": CONFIGS["dev"]})).environments
    _, built = build(env)
    cache = built["cache"]
    assert cache.port == 6379
    assert sorted(cache.user_ids) == ["api", "worker"]
    for value in (
        cache.endpoint,
        cache.reader_endpoint,
        cache.arn,
        cache.replication_group_id,
        cache.security_group_id,
    ):
        # references, resolved by Terraform (modules/cdk.py answers plain string attributes itself)
        assert re.fullmatch(r"\$\{aws_[a-z0-9_]+\.cache_[a-z0-9_]+\.[a-z_]+\}", value), value


def test_long_names_stay_within_the_elasticache_limit(tmp_path) -> None:
    from modules.data.cache import CACHE_ID_LIMIT, CacheProps

    project = 'name = "a-very-long-project"\nregion = "eu-west-1"\naccount_id = "111111111111"\n'
    long_env = "an-environment-named"
    (env,) = load(write_config(tmp_path, {long_env: CONFIGS["dev"]}, project=project)).environments
    props = CacheProps.of(
        env, kms_key_arn=KEY, vpc_id="vpc-1", subnet_ids=SUBNETS, clients=["a-twenty-char-name-x", "api"]
    )
    names = [props.replication_group_id, props.default_user_id, *(props.user_name(c) for c in props.clients)]
    assert all(len(n) <= CACHE_ID_LIMIT for n in names)
    assert len(set(names[1:])) == len(names) - 1  # the users stay distinct
    assert props.clients == ("a-twenty-char-name-x", "api")
    json.dumps(names)  # plain strings, known at synth time
