"""modules/pages/diagram.py: the architecture diagram of an environment, against its synthesized stack.

Every node the Mermaid text declares is a node of the model, every node of the model names
Terraform addresses that the environment's stack has, every edge joins declared nodes, and the
text is the flowchart subset the module writes (quoted labels, nothing unescaped in them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, ROOT, env_toml, environment_json, load, write_config

from modules.config import Environment, load_platform
from modules.pages.diagram import Diagram, Edge, Node, architecture

EXAMPLES = ROOT / "examples"
EXAMPLE_ENVIRONMENTS = [
    (example.name, env.name)
    for example in sorted(EXAMPLES.iterdir())
    if (example / "project.toml").is_file()
    for env in load_platform(example).environments
]
COMMITTED = [env.name for env in load_platform(CONFIG_DIR).environments]

_ID = r"[A-Za-z][A-Za-z0-9_]*"
_LABEL = r'"(?P<label>[^"]*)"'
_SHAPES = {"[": "]", "(": ")", "((": "))", "[(": ")]"}
NODE = re.compile(rf"^(?P<id>{_ID})(?P<open>\[\(|\(\(|\[|\(){_LABEL}(?P<close>\)\]|\)\)|\]|\))$")
SUBGRAPH = re.compile(rf"^subgraph (?P<id>{_ID})\[{_LABEL}\]$")
EDGE = re.compile(rf"^(?P<source>{_ID}) (?:-->|-\.->)(?:\|{_LABEL}\|)? (?P<target>{_ID})$")
# Mermaid keywords a node ID must not be.
KEYWORDS = {"end", "subgraph", "graph", "flowchart", "style", "class", "classDef", "click", "linkStyle"}


@dataclass(frozen=True)
class Parsed:
    declared: dict[str, str]  # node or subgraph ID -> label
    edges: list[tuple[str, str, str | None]]


def parse(text: str) -> Parsed:
    """The flowchart subset the module writes; any other line fails the test."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    declared: dict[str, str] = {}
    edges = []
    depth = 0
    for line in lines[1:]:
        statement = line.strip()
        match = SUBGRAPH.match(statement) or NODE.match(statement)
        if match:
            assert match["id"] not in declared, f"{match['id']} declared twice"
            assert match["id"] not in KEYWORDS
            if match.re is NODE:
                assert _SHAPES[match["open"]] == match["close"], statement
            else:
                depth += 1
            declared[match["id"]] = match["label"]
        elif statement == "end":
            depth -= 1
            assert depth >= 0, "end without subgraph"
        elif edge := EDGE.match(statement):
            edges.append((edge["source"], edge["target"], edge["label"]))
        else:
            pytest.fail(f"not a statement of the flowchart subset: {line!r}")
    assert depth == 0, "subgraph without end"
    return Parsed(declared, edges)


def stack_addresses(stack_json: dict) -> set[str]:
    return {f"{kind}.{name}" for kind, found in stack_json["resource"].items() for name in found}


def check_against_stack(env: Environment, stack_json: dict) -> Diagram:
    diagram = architecture(env)
    parsed = parse(diagram.mermaid())
    assert set(parsed.declared) == {node.id for node in diagram.nodes}
    existing = stack_addresses(stack_json)
    for node in diagram.nodes:
        assert node.addresses, f"{node.id} stands for no resource"
        missing = sorted(set(node.addresses) - existing)
        assert not missing, f"{env.name}: node {node.id} names {missing}, not in the stack"
    for source, target, _ in parsed.edges:
        assert source in parsed.declared and target in parsed.declared, (source, target)
    groups = {node.id for node in diagram.nodes if node.shape == "group"}
    assert all(node.parent is None or node.parent in groups for node in diagram.nodes)
    return diagram


@pytest.mark.parametrize("name", COMMITTED)
def test_every_node_of_the_committed_environments_exists_in_its_stack(committed_platform, name: str) -> None:
    env = committed_platform.environment(name)
    stack_json = environment_json(committed_platform, name)
    diagram = check_against_stack(env, stack_json)
    ids = {node.id for node in diagram.nodes}
    # What the stack runs is on the diagram: each service, each store, each NAT gateway.
    assert {f"service_{s.name}" for s in env.services} <= ids
    assert {f"bucket_{b.name}" for b in env.config.buckets} <= ids
    assert ("database" in ids) == (env.config.database is not None)
    assert ("cache" in ids) == (env.config.cache is not None)
    nat = next((n for n in diagram.nodes if n.id == "nat"), None)
    nat_gateways = {f"aws_nat_gateway.{k}" for k in stack_json["resource"].get("aws_nat_gateway", {})}
    assert set(nat.addresses if nat else ()) == nat_gateways
    endpoints = {f"aws_vpc_endpoint.{k}" for k in stack_json["resource"]["aws_vpc_endpoint"]}
    drawn = {a for n in diagram.nodes if n.id.endswith("_endpoints") for a in n.addresses}
    assert drawn == endpoints


@pytest.mark.parametrize(("example", "name"), EXAMPLE_ENVIRONMENTS)
def test_every_node_of_the_examples_exists_in_its_stack(example: str, name: str) -> None:
    platform = load_platform(EXAMPLES / example)
    check_against_stack(platform.environment(name), environment_json(platform, name))


def test_an_environment_without_services_or_stores_is_its_network(tmp_path: Path) -> None:
    platform = load(write_config(tmp_path, {"qa": env_toml(network='nat = "none"\n')}))
    diagram = check_against_stack(platform.environment("qa"), environment_json(platform, "qa"))
    assert {node.id for node in diagram.nodes} == {
        "internet",
        "vpc",
        "public_subnets",
        "private_subnets",
        "gateway_endpoints",
        "topic_alerts",
        "topic_deployments",
    }, "no alarm: nothing to watch"
    assert all(edge.dotted for edge in diagram.edges)


def test_calls_and_uses_are_edges_between_the_nodes_they_name(committed_platform) -> None:
    env = committed_platform.environment("dev")
    edges = {(e.source, e.target) for e in architecture(env).edges}
    for service in env.services:
        source = f"service_{service.name}"
        front = "public_alb" if service.public else "internal_alb"
        assert (front, source) in edges
        for callee in service.called_services:
            assert (source, "internal_alb") in edges, callee
        for use in service.parsed_uses:
            target = {"database": "database", "cache": "cache"}.get(use.kind) or f"{use.kind}_{use.name}"
            if use.kind != "service":
                assert (source, target) in edges


def test_node_ids_come_from_names_not_positions(committed_platform) -> None:
    """Reordering the services and buckets of a file moves lines, and changes no node or edge."""
    env = committed_platform.environment("prod")
    config = env.config.model_copy(
        update={"services": env.services[::-1], "buckets": env.config.buckets[::-1]}
    )
    moved = replace(env, config=config)
    assert [s.name for s in moved.services] != [s.name for s in env.services]

    def statements(env: Environment) -> set[str]:
        return {line.strip() for line in architecture(env).mermaid().splitlines()}

    assert statements(moved) == statements(env)


def test_labels_are_quoted_and_escaped() -> None:
    diagram = Diagram(
        (
            Node("box", 'say "hi" #1 <b>', ("aws_vpc.network_vpc",)),
            Node("group", "a group", ("aws_vpc.network_vpc",), "group"),
            Node("inner", "two\nlines", ("aws_vpc.network_vpc",), "cylinder", "group"),
        ),
        (Edge("box", "inner", 'to "inner"'), Edge("inner", "box", dotted=True)),
    )
    text = diagram.mermaid()
    parsed = parse(text)
    assert parsed.declared == {
        "box": "say #quot;hi#quot; #35;1 #lt;b#gt;",
        "group": "a group",
        "inner": "two<br/>lines",
    }
    assert parsed.edges == [("box", "inner", "to #quot;inner#quot;"), ("inner", "box", None)]
    assert "  group\n" not in text and "    inner[(" in text  # drawn inside its group
