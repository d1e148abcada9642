"""modules/network/vpc.py: VPC, subnets, NAT modes, routes, flow logs and endpoints, asserted on the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import by_path, env_toml, load, only, resources, synth_stack, write_config


def network_json(tmp_path: Path, network: str = "", cidr: str = "10.10.0.0/16", profile: str = "development"):
    from modules.cdk import TerraformStack, Testing
    from modules.network import Network, NetworkProps

    (env,) = load(write_config(tmp_path, {"dev": env_toml(cidr, profile, network)})).environments
    stack = TerraformStack(Testing.app(), "test")
    network_construct = Network(
        stack, "network", NetworkProps.of(env, "arn:aws:kms:eu-west-1:111111111111:key/k")
    )
    return synth_stack(stack), network_construct


def by_name(stack_json: dict, resource_type: str) -> dict[str, dict]:
    return {r["tags"]["Name"]: r for r in resources(stack_json, resource_type).values()}


def test_vpc_has_dns_and_the_configured_cidr(tmp_path: Path) -> None:
    stack, _ = network_json(tmp_path)
    vpc = only(stack, "aws_vpc")
    assert vpc["cidr_block"] == "10.10.0.0/16"
    assert vpc["enable_dns_support"] is True and vpc["enable_dns_hostnames"] is True


def test_one_public_and_one_private_subnet_per_zone(tmp_path: Path) -> None:
    stack, network = network_json(tmp_path, network="az_count = 3\n")
    subnets = by_name(stack, "aws_subnet")
    assert {name: (s["cidr_block"], s["availability_zone"]) for name, s in subnets.items()} == {
        "acme-dev-private-a": ("10.10.0.0/20", "eu-west-1a"),
        "acme-dev-private-b": ("10.10.16.0/20", "eu-west-1b"),
        "acme-dev-private-c": ("10.10.32.0/20", "eu-west-1c"),
        "acme-dev-public-a": ("10.10.48.0/24", "eu-west-1a"),
        "acme-dev-public-b": ("10.10.49.0/24", "eu-west-1b"),
        "acme-dev-public-c": ("10.10.50.0/24", "eu-west-1c"),
    }
    assert all(s["map_public_ip_on_launch"] is False for s in subnets.values())
    assert len(network.public_subnet_ids) == len(network.private_subnet_ids) == 3


def test_configured_zone_letters_name_subnets_and_addresses(tmp_path: Path) -> None:
    stack, _ = network_json(tmp_path, network='zones = ["b", "c"]\n')
    subnets = by_name(stack, "aws_subnet")
    assert subnets["acme-dev-private-b"]["availability_zone"] == "eu-west-1b"
    assert set(by_path(stack, "aws_subnet")) == {
        "network/public-b",
        "network/public-c",
        "network/private-b",
        "network/private-c",
    }


def test_construct_ids_come_from_zone_letters(tmp_path: Path) -> None:
    stack, _ = network_json(tmp_path)
    paths = {"network/public-a", "network/public-b", "network/private-a", "network/private-b"}
    assert set(by_path(stack, "aws_subnet")) == paths
    # Terraform addresses spell the construct path, with no hash: stable while the IDs are.
    names = {"network_public_a", "network_public_b", "network_private_a", "network_private_b"}
    assert set(resources(stack, "aws_subnet")) == names


@pytest.mark.parametrize(
    ("nat", "gateways", "private_tables"), [("none", 0, 1), ("single", 1, 1), ("per_az", 3, 3)]
)
def test_nat_modes(tmp_path: Path, nat: str, gateways: int, private_tables: int) -> None:
    stack, _ = network_json(tmp_path, network=f'az_count = 3\nnat = "{nat}"\n')
    nats = resources(stack, "aws_nat_gateway")
    assert len(nats) == gateways
    assert len(resources(stack, "aws_eip")) == gateways
    assert all(e["domain"] == "vpc" for e in resources(stack, "aws_eip").values())
    tables = by_name(stack, "aws_route_table")
    assert len(tables) == private_tables + 1
    routes = list(resources(stack, "aws_route").values())
    nat_routes = [r for r in routes if "nat_gateway_id" in r]
    igw_routes = [r for r in routes if "gateway_id" in r]
    assert len(nat_routes) == gateways and len(igw_routes) == 1
    assert all(r["destination_cidr_block"] == "0.0.0.0/0" for r in routes)
    # NAT gateways sit in public subnets
    public_ids = {
        f"${{aws_subnet.{k}.id}}"
        for k, s in resources(stack, "aws_subnet").items()
        if s["tags"]["Tier"] == "public"
    }
    assert all(n["subnet_id"] in public_ids for n in nats.values())


def test_per_az_routes_each_private_subnet_through_its_own_zone(tmp_path: Path) -> None:
    stack, _ = network_json(tmp_path, network='nat = "per_az"\n')
    subnet_key = {s["tags"]["Name"]: k for k, s in resources(stack, "aws_subnet").items()}
    table_key = {t["tags"]["Name"]: k for k, t in resources(stack, "aws_route_table").items()}
    nat_key = {n["tags"]["Name"]: k for k, n in resources(stack, "aws_nat_gateway").items()}
    associations = {
        a["subnet_id"]: a["route_table_id"] for a in resources(stack, "aws_route_table_association").values()
    }
    routes = {r["route_table_id"]: r for r in resources(stack, "aws_route").values()}
    for zone in ("a", "b"):
        table_ref = associations[f"${{aws_subnet.{subnet_key[f'acme-dev-private-{zone}']}.id}}"]
        assert table_ref == f"${{aws_route_table.{table_key[f'acme-dev-private-{zone}']}.id}}"
        assert (
            routes[table_ref]["nat_gateway_id"]
            == f"${{aws_nat_gateway.{nat_key[f'acme-dev-nat-{zone}']}.id}}"
        )


def test_default_security_group_is_adopted_without_rules(tmp_path: Path) -> None:
    stack, _ = network_json(tmp_path)
    group = only(stack, "aws_default_security_group")
    assert group["ingress"] == [] and group["egress"] == []


def test_flow_logs_go_to_an_encrypted_group_through_a_scoped_role(tmp_path: Path) -> None:
    stack, _ = network_json(tmp_path)
    group_key, group = next(iter(resources(stack, "aws_cloudwatch_log_group").items()))
    assert group["name"] == "/acme/dev/vpc-flow-logs"
    assert group["retention_in_days"] == 30
    assert group["kms_key_id"] == "arn:aws:kms:eu-west-1:111111111111:key/k"
    flow = only(stack, "aws_flow_log")
    assert (
        flow["traffic_type"] == "ALL"
        and flow["log_destination"] == f"${{aws_cloudwatch_log_group.{group_key}.arn}}"
    )
    trust = json.loads(only(stack, "aws_iam_role")["assume_role_policy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    permissions = json.loads(only(stack, "aws_iam_role_policy")["policy"])
    write, find = permissions["Statement"]
    assert write["Resource"] == [
        f"${{aws_cloudwatch_log_group.{group_key}.arn}}",
        f"${{aws_cloudwatch_log_group.{group_key}.arn}}:*",
    ]
    assert all(action.startswith("logs:") for action in write["Action"])
    # DescribeLogGroups is authorized against the account-level ARN, never the group's.
    assert "logs:DescribeLogGroups" not in write["Action"]
    assert find["Action"] == "logs:DescribeLogGroups"
    assert find["Resource"] == "arn:aws:logs:eu-west-1:111111111111:log-group:*"


def test_gateway_endpoints_attach_to_private_route_tables_only(tmp_path: Path) -> None:
    stack, network = network_json(tmp_path, network='nat = "per_az"\n')
    endpoints = by_name(stack, "aws_vpc_endpoint")
    assert set(endpoints) == {"acme-dev-s3", "acme-dev-dynamodb"}
    private_tables = {
        f"${{aws_route_table.{k}.id}}"
        for k, t in resources(stack, "aws_route_table").items()
        if "private" in t["tags"]["Name"]
    }
    for endpoint in endpoints.values():
        assert endpoint["vpc_endpoint_type"] == "Gateway"
        assert set(endpoint["route_table_ids"]) == private_tables
    assert endpoints["acme-dev-s3"]["service_name"] == "com.amazonaws.eu-west-1.s3"
    assert network.endpoint_security_group_id is None


def test_interface_endpoints_are_private_and_reachable_only_from_the_vpc(tmp_path: Path) -> None:
    stack, network = network_json(tmp_path, network='interface_endpoints = ["ecr.api", "sts"]\n')
    interface = {
        n: e for n, e in by_name(stack, "aws_vpc_endpoint").items() if e["vpc_endpoint_type"] == "Interface"
    }
    assert set(interface) == {"acme-dev-ecr.api", "acme-dev-sts"}
    for endpoint in interface.values():
        assert endpoint["private_dns_enabled"] is True
        assert len(endpoint["subnet_ids"]) == 2
    rule = only(stack, "aws_vpc_security_group_ingress_rule")
    assert (rule["from_port"], rule["to_port"], rule["cidr_ipv4"]) == (443, 443, "10.10.0.0/16")
    assert rule["description"]
    assert "aws_vpc_security_group_egress_rule" not in stack.get("resource", {})
    assert network.endpoint_security_group_id is not None
