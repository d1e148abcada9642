"""modules/edge/shared.py and access_logs.py: names and pieces every load balancer shares."""

from __future__ import annotations

from pathlib import Path

from conftest import BASE_PROJECT, env_toml, load, only, synth_stack, write_config
from test_public import HTTP_ONLY


def test_long_names_are_shortened_deterministically() -> None:
    from modules.edge.access_logs import access_log_bucket_name
    from modules.edge.shared import lb_name

    assert lb_name("acme-dev", "web") == "acme-dev-web"
    long = lb_name("averyveryverylongprj-averylongenvname", "service-with-long-name")
    assert len(long) <= 32 and not long.endswith("-")
    assert long == lb_name("averyveryverylongprj-averylongenvname", "service-with-long-name")
    # Two long names sharing their first 25 characters stay apart.
    other = lb_name("averyveryverylongprj-averylongenvname", "service-with-long-name2")
    assert other != long and len(other) <= 32
    bucket = access_log_bucket_name(
        "averyveryverylongprj-averylongenvname", "alb-logs", "111111111111", "ap-southeast-4"
    )
    assert len(bucket) <= 63
    assert bucket.endswith("-alb-logs-111111111111-ap-southeast-4")
    assert bucket == access_log_bucket_name(
        "averyveryverylongprj-averylongenvname", "alb-logs", "111111111111", "ap-southeast-4"
    )


def test_target_group_names_fit_32_characters_and_stay_stable(tmp_path: Path) -> None:
    project = BASE_PROJECT.replace('name = "acme"', 'name = "averyveryverylongprj"')
    service = '[[services]]\nname = "a-long-service-name1"\nport = 80\npaths = ["/*"]\npriority = 1\n'
    config = write_config(
        tmp_path, {"averylongenvironment": env_toml() + "\n" + HTTP_ONLY + service}, project
    )
    from modules.cdk import TerraformStack, Testing
    from modules.edge import (
        LoadBalancerLogs,
        LoadBalancerLogsProps,
        PublicLoadBalancer,
        PublicLoadBalancerProps,
    )

    names = []
    for _ in range(2):
        (env,) = load(config).environments
        stack = TerraformStack(Testing.app(), "test")
        logs = LoadBalancerLogs(stack, "logs", LoadBalancerLogsProps.of(env, ("public-alb",)))
        PublicLoadBalancer(
            stack,
            "edge",
            PublicLoadBalancerProps.of(
                env, vpc_id="v", public_subnet_ids=["a"], access_log_bucket=logs.bucket_name
            ),
        )
        stack_json = synth_stack(stack)
        group = only(stack_json, "aws_lb_target_group")
        lb = only(stack_json, "aws_lb")
        assert len(group["name"]) <= 32 and len(lb["name"]) <= 32
        assert len(only(stack_json, "aws_s3_bucket")["bucket"]) <= 63
        names.append((group["name"], lb["name"]))
    assert names[0] == names[1]
    assert names[0][0].startswith("averyveryverylongprj-ave")
