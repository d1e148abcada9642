"""The architecture diagram of one environment: nodes, edges, and their Mermaid flowchart.

Built from the config alone, like the stack: every node names the Terraform resource addresses it
stands for (`aws_ecs_service.services_web_service`), spelled as readable_addresses.js spells them
from construct IDs, and the page tests check each one against the synthesized stack. A node's ID
comes from what it is and its config name (`service_web`, `bucket_uploads`), never from a position
in a list, so a diagram's diff shows what changed in the environment.

Drawn left to right: the internet, the public load balancer, the services, the stores; inside the
VPC the internal load balancers, NAT gateways and endpoints. Concerns that have not landed yet
(pipelines, notifications) have a hook each below that draws nothing until they do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from modules.config import Environment, ServiceConfig

Shape = Literal["box", "round", "circle", "cylinder", "group"]

# What a shape looks like in Mermaid: the text before and after the quoted label.
_SHAPES: dict[str, tuple[str, str]] = {
    "box": ("[", "]"),
    "round": ("(", ")"),
    "circle": ("((", "))"),
    "cylinder": ("[(", ")]"),
}
# Mermaid entity codes for the characters that would end or confuse a quoted label.
_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;"}
_NOT_A_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9]+")
# The gateway endpoints every network has (modules/network/vpc.py).
GATEWAY_ENDPOINTS = ("s3", "dynamodb")


def address(resource_type: str, *construct_ids: str) -> str:
    """`resource_type.name` of the resource at construct path `construct_ids` below the stack, named
    as modules/readable_addresses.js names it: each ID's runs of other characters than letters and
    digits as one "_", trimmed, the IDs joined by "_"."""
    parts = (_NOT_A_NAME_CHARACTER.sub("_", part).strip("_") for part in construct_ids)
    return f"{resource_type}.{'_'.join(p for p in parts if p)}"


def node_id(kind: str, name: str = "") -> str:
    """A Mermaid node ID from a kind and a config name (`service_web`); slugs hold no "_", so two
    names never share an ID, and the kind prefix keeps Mermaid's keywords (`end`) out."""
    return f"{kind}_{name.replace('-', '_')}" if name else kind


@dataclass(frozen=True)
class Node:
    """A box of the diagram, or a group (a Mermaid subgraph) that other nodes are drawn in."""

    id: str
    label: str  # plain text; lines separated by "\n"
    addresses: tuple[str, ...]  # the Terraform resources it stands for, at least one
    shape: Shape = "box"
    parent: str | None = None  # the group it is drawn in

    @property
    def title(self) -> str:
        """The label's first line."""
        return self.label.split("\n", 1)[0]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    dotted: bool = False  # outbound paths of the network (to NAT, endpoints, the internet)


@dataclass(frozen=True)
class Diagram:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def mermaid(self) -> str:
        """The flowchart, one statement a line; labels quoted and escaped."""
        lines = ["flowchart LR"]
        lines += self._nodes_in(None, "  ")
        for edge in self.edges:
            arrow = "-.->" if edge.dotted else "-->"
            label = f'|"{_escape(edge.label)}"|' if edge.label else ""
            lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
        return "\n".join(lines) + "\n"

    def _nodes_in(self, parent: str | None, indent: str) -> Iterator[str]:
        for node in self.nodes:
            if node.parent != parent:
                continue
            label = _escape(node.label)
            if node.shape == "group":
                yield f'{indent}subgraph {node.id}["{label}"]'
                yield from self._nodes_in(node.id, indent + "  ")
                yield f"{indent}end"
            else:
                start, end = _SHAPES[node.shape]
                yield f'{indent}{node.id}{start}"{label}"{end}'


def _escape(text: str) -> str:
    escaped = "".join(_ESCAPES.get(character, character) for character in text)
    return escaped.replace("\n", "<br/>")


@dataclass
class _Builder:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def add(self, node: Node) -> str:
        self.nodes.append(node)
        return node.id

    def connect(self, source: str, target: str, label: str = "", *, dotted: bool = False) -> None:
        self.edges.append(Edge(source, target, label, dotted))


def architecture(env: Environment) -> Diagram:
    """What `env` runs, as the stack builds it from the same config."""
    diagram = _Builder()
    _network(diagram, env)
    _services(diagram, env)
    _stores(diagram, env)
    # Hook: the CI/CD concern has not landed and draws nothing yet.
    _pipelines(diagram, env)
    _notifications(diagram, env)
    return Diagram(tuple(diagram.nodes), tuple(diagram.edges))


# --- the parts, one per concern ------------------------------------------------------------------

INTERNET = "internet"
VPC = "vpc"
PUBLIC_SUBNETS = "public_subnets"
PRIVATE_SUBNETS = "private_subnets"
PUBLIC_ALB = "public_alb"
INTERNAL_ALB = "internal_alb"
INTERNAL_NLB = "internal_nlb"


def _network(diagram: _Builder, env: Environment) -> None:
    """The internet (through the VPC's internet gateway), the VPC and its subnets, NAT, endpoints."""
    network = env.network
    letters = network.zone_letters
    zones = ", ".join(letters)
    diagram.add(Node(INTERNET, "Internet", (address("aws_internet_gateway", "network", "igw"),), "circle"))
    vpc = diagram.add(Node(VPC, f"VPC {network.cidr}", (address("aws_vpc", "network", "vpc"),), "group"))
    diagram.add(
        Node(
            PUBLIC_SUBNETS,
            f"Public subnets, zones {zones}",
            tuple(address("aws_subnet", "network", f"public-{z}") for z in letters),
            "group",
            vpc,
        )
    )
    diagram.add(
        Node(
            PRIVATE_SUBNETS,
            f"Private subnets, zones {zones}",
            tuple(address("aws_subnet", "network", f"private-{z}") for z in letters),
            "group",
            vpc,
        )
    )
    nat_zones = {"none": (), "single": letters[:1], "per_az": letters}[network.nat]
    if nat_zones:
        shown = (
            f"NAT gateway, zone {nat_zones[0]}"
            if len(nat_zones) == 1
            else f"NAT gateways, zones {', '.join(nat_zones)}"
        )
        nat = diagram.add(
            Node(
                "nat",
                shown,
                tuple(address("aws_nat_gateway", "network", f"nat-{z}") for z in nat_zones),
                "round",
                PUBLIC_SUBNETS,
            )
        )
        diagram.connect(PRIVATE_SUBNETS, nat, "outbound", dotted=True)
        diagram.connect(nat, INTERNET, dotted=True)
    gateway = diagram.add(
        Node(
            "gateway_endpoints",
            f"Gateway endpoints\n{', '.join(GATEWAY_ENDPOINTS)}",
            tuple(address("aws_vpc_endpoint", "network", f"{s}-gateway-endpoint") for s in GATEWAY_ENDPOINTS),
            "round",
            vpc,
        )
    )
    diagram.connect(PRIVATE_SUBNETS, gateway, dotted=True)
    if network.interface_endpoints:
        interface = diagram.add(
            Node(
                "interface_endpoints",
                f"Interface endpoints\n{', '.join(network.interface_endpoints)}",
                tuple(
                    address("aws_vpc_endpoint", "network", f"{s}-interface-endpoint")
                    for s in network.interface_endpoints
                ),
                "round",
                PRIVATE_SUBNETS,
            )
        )
        diagram.connect(PRIVATE_SUBNETS, interface, "AWS APIs", dotted=True)


def _routes(service: ServiceConfig) -> str:
    """What the listener rule matches: hosts, then paths."""
    return ", ".join([*service.hosts, *service.paths])


def _services(diagram: _Builder, env: Environment) -> None:
    """The public ALB (and its DNS names), the ECS services, the internal ALB and NLB, the calls."""
    services = env.services
    if not services:
        return
    public = [s for s in services if s.public]
    http_only = env.config.edge.http_only
    if public:
        listeners = ("http",) if http_only else ("https", "http-redirect")
        diagram.add(
            Node(
                PUBLIC_ALB,
                "Public load balancer\n" + ("HTTP :80" if http_only else "HTTPS :443, :80 redirects"),
                (
                    address("aws_lb", "public-alb", "alb"),
                    *(address("aws_lb_listener", "public-alb", listener) for listener in listeners),
                ),
                parent=PUBLIC_SUBNETS,
            )
        )
        diagram.connect(INTERNET, PUBLIC_ALB, "HTTP" if http_only else "HTTPS")
        domain = env.config.domain
        hosts = sorted({host for s in public for host in s.hosts})
        if domain is not None and domain.hosted_zone_id is not None and hosts:
            diagram.add(
                Node(
                    "dns",
                    "Route 53\n" + ", ".join(hosts),
                    tuple(
                        address("aws_route53_record", "public-alb", f"alias-{h.replace('*', 'wildcard')}")
                        for h in hosts
                    ),
                    "round",
                )
            )
            diagram.connect("dns", PUBLIC_ALB, "alias")
    internal = [s for s in services if not s.public]
    if any(s.protocol == "http" for s in internal):
        diagram.add(
            Node(
                INTERNAL_ALB,
                "Internal load balancer\nHTTP :80",
                (
                    address("aws_lb", "internal-lb", "alb"),
                    address("aws_lb_listener", "internal-lb", "alb-http"),
                ),
                parent=PRIVATE_SUBNETS,
            )
        )
    tcp = [s for s in internal if s.protocol == "tcp"]
    if tcp:
        diagram.add(
            Node(
                INTERNAL_NLB,
                "Internal network load balancer\nTCP "
                + ", ".join(f":{port}" for port in sorted(s.port for s in tcp)),
                (
                    address("aws_lb", "internal-lb", "nlb"),
                    *(address("aws_lb_listener", "internal-lb", f"{s.name}-tcp") for s in tcp),
                ),
                parent=PRIVATE_SUBNETS,
            )
        )

    capacity = (
        "EC2" if env.config.compute == "ec2" else ("Fargate Spot" if env.config.cluster.spot else "Fargate")
    )
    for service in services:
        tasks = f"{service.desired_count} task" + ("" if service.desired_count == 1 else "s")
        diagram.add(
            Node(
                node_id("service", service.name),
                f"{service.name}\nECS service, {tasks}, {capacity}",
                (
                    address("aws_ecs_service", "services", service.name, "service"),
                    address("aws_ecs_task_definition", "services", service.name, "task-definition"),
                ),
                parent=PRIVATE_SUBNETS,
            )
        )
    for service in services:
        target = node_id("service", service.name)
        if service.public:
            diagram.connect(PUBLIC_ALB, target, _routes(service))
        elif service.protocol == "http":
            diagram.connect(INTERNAL_ALB, target, _routes(service))
        else:
            diagram.connect(INTERNAL_NLB, target, f"TCP :{service.port}")
    # A caller reaches the internal services it uses through their load balancer: one edge per
    # load balancer, labelled with the services it calls there.
    protocol = {s.name: s.protocol for s in services}
    for caller in services:
        calls: dict[str, list[str]] = {}
        for callee in caller.called_services:
            front = INTERNAL_ALB if protocol[callee] == "http" else INTERNAL_NLB
            calls.setdefault(front, []).append(callee)
        for front, callees in calls.items():
            diagram.connect(node_id("service", caller.name), front, ", ".join(callees))


def _stores(diagram: _Builder, env: Environment) -> None:
    """The database, the cache, the file systems (in the private subnets) and the buckets, and which
    service uses each, how."""
    config = env.config
    if config.database is not None:
        database = config.database
        if database.aurora:
            addresses = (
                address("aws_rds_cluster", "database", "cluster"),
                *(
                    address("aws_rds_cluster_instance", "database", f"instance-{n}")
                    for n in range(1, database.instance_count + 1)
                ),
            )
            count = database.instance_count
            what = f"Aurora cluster, {count} instance" + ("" if count == 1 else "s")
        else:
            addresses = (address("aws_db_instance", "database", "instance"),)
            what = "RDS instance" + (", Multi-AZ" if database.multi_az else "")
        diagram.add(
            Node(
                "database",
                f"Database\n{database.engine} {database.version}, {what}",
                addresses,
                "cylinder",
                PRIVATE_SUBNETS,
            )
        )
    if config.cache is not None:
        cache = config.cache
        nodes = cache.node_count(env.network.az_count)
        diagram.add(
            Node(
                "cache",
                f"Cache\n{cache.engine} {cache.version}, {nodes} node" + ("" if nodes == 1 else "s"),
                (address("aws_elasticache_replication_group", "cache", "replication-group"),),
                "cylinder",
                PRIVATE_SUBNETS,
            )
        )
    for filesystem in config.filesystems:
        diagram.add(
            Node(
                node_id("filesystem", filesystem.name),
                f"EFS {filesystem.name}",
                (address("aws_efs_file_system", "filesystems", filesystem.name, "file-system"),),
                "cylinder",
                PRIVATE_SUBNETS,
            )
        )
    for bucket in config.buckets:
        diagram.add(
            Node(
                node_id("bucket", bucket.name),
                f"S3 {bucket.name}" + ("" if bucket.purpose == bucket.name else f"\n{bucket.purpose}"),
                (address("aws_s3_bucket", "buckets", bucket.name, "bucket"),),
                "cylinder",
            )
        )
    for service in env.services:
        source = node_id("service", service.name)
        for use in service.parsed_uses:
            if use.kind == "database":
                diagram.connect(source, "database", "IAM auth" if use.option == "iam" else "master user")
            elif use.kind == "cache":
                diagram.connect(source, "cache")
            elif use.kind == "bucket" and use.name is not None:
                diagram.connect(source, node_id("bucket", use.name), use.option or "")
            elif use.kind == "filesystem" and use.name is not None:
                mounted = f"{use.option}" + (" read-only" if use.read_only else "")
                diagram.connect(source, node_id("filesystem", use.name), mounted)


def _pipelines(diagram: _Builder, env: Environment) -> None:
    """Hook for the CI/CD concern (DESIGN.md section 2, cicd): its pipelines and deploy roles, and
    an edge from each to the services it deploys. Nothing yet: the environment has none."""


def has_alarms(env: Environment) -> bool:
    """Whether the default alarm set has anything to watch (modules/observability/resources.py): a
    load balancer or service, a store, a NAT gateway or the notifier; with none, no alarm at all."""
    config = env.config
    watched = (
        env.services,
        config.database,
        config.cache,
        env.network.nat != "none",
        config.notifications.discord_webhook_secret,
    )
    return config.alarms.enabled and any(watched)


def _notifications(diagram: _Builder, env: Environment) -> None:
    """The alerts and deployments topics (modules/notifications/topics.py), what publishes to them
    (the alarms, the EventBridge rules), and the Discord notifier that both deliver to."""
    alerts = diagram.add(
        Node(node_id("topic", "alerts"), "SNS alerts", (address("aws_sns_topic", "topics", "alerts"),), "box")
    )
    deployments = diagram.add(
        Node(
            node_id("topic", "deployments"),
            "SNS deployments",
            (address("aws_sns_topic", "topics", "deployments"),),
            "box",
        )
    )
    if has_alarms(env):
        alarms = diagram.add(
            Node(
                "alarms",
                "CloudWatch alarms",
                (address("aws_cloudwatch_composite_alarm", "alarms", "environment-unhealthy"),),
                "box",
            )
        )
        diagram.connect(alarms, alerts)
    if env.config.notifications.discord_webhook_secret is not None:
        discord = diagram.add(
            Node(
                "discord",
                "Discord notifier\nLambda",
                (address("aws_lambda_function", "discord-notifier", "function"),),
                "box",
            )
        )
        diagram.connect(alerts, discord)
        diagram.connect(deployments, discord)
