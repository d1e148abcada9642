"""The environment network: VPC, per-zone subnets, internet and NAT gateways, routes, flow logs, endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from modules.cdk import Construct, aws
from modules.config import Environment, NatMode
from modules.core import iam
from modules.core.naming import partition
from modules.network.security_group import security_group, tcp_rule


@dataclass(frozen=True)
class Zone:
    """One availability zone and the two subnets the network places in it."""

    letter: str  # "a": the stable part of every per-zone construct ID
    name: str  # "eu-west-1a"
    private_cidr: IPv4Network
    public_cidr: IPv4Network


@dataclass(frozen=True)
class NetworkProps:
    """What the network needs; defaults live in the config schema, not here."""

    name: str  # "<project>-<env>", prefixes every resource name
    cidr: IPv4Network
    zones: tuple[Zone, ...]  # at least two
    nat: NatMode  # none | single | per_az
    flow_log_group_name: str
    flow_log_retention_days: int
    kms_key_arn: str  # encrypts the flow log group
    region: str
    account_id: str
    interface_endpoints: tuple[str, ...]  # service short names, e.g. "ecr.api"

    @classmethod
    def of(cls, env: Environment, kms_key_arn: str) -> NetworkProps:
        net = env.network
        layout = net.subnets
        zones = tuple(
            Zone(letter=letter, name=f"{env.region}{letter}", private_cidr=private, public_cidr=public)
            for letter, private, public in zip(net.zone_letters, layout.private, layout.public, strict=True)
        )
        return cls(
            name=env.prefix,
            cidr=net.cidr,
            zones=zones,
            nat=net.nat,
            flow_log_group_name=f"{env.log_group_prefix}/vpc-flow-logs",
            flow_log_retention_days=net.flow_log_retention_days,
            kms_key_arn=kms_key_arn,
            region=env.region,
            account_id=env.account_id,
            interface_endpoints=tuple(net.interface_endpoints),
        )


class Network(Construct):
    """VPC with DNS, a public and a private subnet per zone, IGW, NAT, route tables, flow logs, endpoints.

    Public subnets route to the internet gateway and never assign public IPs themselves (only
    load balancers and NAT gateways live there). Private subnets route to NAT according to
    `nat`: none (no default route), single (one NAT, one private route table) or per_az (one NAT
    and one private route table per zone, so losing a zone never cuts egress in the others).

    Exposes `vpc_id`, `vpc_cidr`, `public_subnet_ids`, `private_subnet_ids`,
    `private_route_table_ids`, `nat_gateway_ids` (and `nat_gateway_ids_by_zone`, by zone letter) and
    `endpoint_security_group_id` (or None).
    """

    def __init__(self, scope: Construct, id: str, props: NetworkProps) -> None:
        super().__init__(scope, id)
        vpc = aws.vpc.Vpc(
            self,
            "vpc",
            cidr_block=str(props.cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": props.name},
        )
        # Adopt the default security group and strip its rules: nothing should rely on it.
        aws.default_security_group.DefaultSecurityGroup(
            self,
            "default-security-group",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{props.name}-default-unused"},
        )
        igw = aws.internet_gateway.InternetGateway(self, "igw", vpc_id=vpc.id, tags={"Name": props.name})

        public_subnets = {
            zone.letter: aws.subnet.Subnet(
                self,
                f"public-{zone.letter}",
                vpc_id=vpc.id,
                cidr_block=str(zone.public_cidr),
                availability_zone=zone.name,
                map_public_ip_on_launch=False,
                tags={"Name": f"{props.name}-public-{zone.letter}", "Tier": "public"},
            )
            for zone in props.zones
        }
        private_subnets = {
            zone.letter: aws.subnet.Subnet(
                self,
                f"private-{zone.letter}",
                vpc_id=vpc.id,
                cidr_block=str(zone.private_cidr),
                availability_zone=zone.name,
                map_public_ip_on_launch=False,
                tags={"Name": f"{props.name}-private-{zone.letter}", "Tier": "private"},
            )
            for zone in props.zones
        }

        public_route_table = aws.route_table.RouteTable(
            self, "public-route-table", vpc_id=vpc.id, tags={"Name": f"{props.name}-public"}
        )
        aws.route.Route(
            self,
            "public-route-table-default-route",
            route_table_id=public_route_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
        )
        for letter, subnet in public_subnets.items():
            aws.route_table_association.RouteTableAssociation(
                self,
                f"public-{letter}-route-association",
                subnet_id=subnet.id,
                route_table_id=public_route_table.id,
            )

        nat_zones = {"none": (), "single": props.zones[:1], "per_az": props.zones}[props.nat]
        nat_gateways = {}
        for zone in nat_zones:
            eip = aws.eip.Eip(
                self, f"nat-{zone.letter}-ip", domain="vpc", tags={"Name": f"{props.name}-nat-{zone.letter}"}
            )
            nat_gateways[zone.letter] = aws.nat_gateway.NatGateway(
                self,
                f"nat-{zone.letter}",
                allocation_id=eip.id,
                subnet_id=public_subnets[zone.letter].id,
                tags={"Name": f"{props.name}-nat-{zone.letter}"},
                depends_on=[igw],
            )

        # One private route table per NAT gateway (per_az), or one shared table (single, none).
        if props.nat == "per_az":
            tables = [
                self._private_route_table(
                    f"private-{zone.letter}-route-table",
                    f"{props.name}-private-{zone.letter}",
                    vpc.id,
                    nat_gateways[zone.letter].id,
                )
                for zone in props.zones
            ]
            table_of_zone = {zone.letter: table for zone, table in zip(props.zones, tables, strict=True)}
        else:
            shared_nat = next(iter(nat_gateways.values())).id if nat_gateways else None
            tables = [
                self._private_route_table("private-route-table", f"{props.name}-private", vpc.id, shared_nat)
            ]
            table_of_zone = {zone.letter: tables[0] for zone in props.zones}
        for letter, subnet in private_subnets.items():
            aws.route_table_association.RouteTableAssociation(
                self,
                f"private-{letter}-route-association",
                subnet_id=subnet.id,
                route_table_id=table_of_zone[letter].id,
            )
        private_table_ids = [table.id for table in tables]

        self._flow_logs(props, vpc.id)

        # Gateway endpoints are free and keep S3/DynamoDB traffic off the NAT gateways.
        for service in ("s3", "dynamodb"):
            aws.vpc_endpoint.VpcEndpoint(
                self,
                f"{service}-gateway-endpoint",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{props.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=private_table_ids,
                tags={"Name": f"{props.name}-{service}"},
            )

        self.endpoint_security_group_id: str | None = None
        if props.interface_endpoints:
            self.endpoint_security_group_id = self._interface_endpoints(
                props, vpc.id, [private_subnets[z.letter].id for z in props.zones]
            )

        self.vpc_id: str = vpc.id
        self.vpc_cidr: str = str(props.cidr)
        self.public_subnet_ids: list[str] = [public_subnets[z.letter].id for z in props.zones]
        self.private_subnet_ids: list[str] = [private_subnets[z.letter].id for z in props.zones]
        self.private_route_table_ids: list[str] = private_table_ids
        self.nat_gateway_ids: list[str] = [nat.id for nat in nat_gateways.values()]
        self.nat_gateway_ids_by_zone: dict[str, str] = {
            letter: nat.id for letter, nat in nat_gateways.items()
        }

    def _private_route_table(self, id: str, name: str, vpc_id: str, nat_gateway_id: str | None):
        table = aws.route_table.RouteTable(self, id, vpc_id=vpc_id, tags={"Name": name})
        if nat_gateway_id is not None:
            aws.route.Route(
                self,
                f"{id}-default-route",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat_gateway_id,
            )
        return table

    def _flow_logs(self, props: NetworkProps, vpc_id: str) -> None:
        """All VPC traffic metadata to a KMS-encrypted log group, through a role limited to that group."""
        log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "flow-log-group",
            name=props.flow_log_group_name,
            retention_in_days=props.flow_log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        role = aws.iam_role.IamRole(
            self,
            "flow-log-role",
            name=f"{props.name}-vpc-flow-logs",
            assume_role_policy=iam.service_trust(
                "vpc-flow-logs.amazonaws.com", source_account=props.account_id, sid="FlowLogsAssumeRole"
            ),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "flow-log-role-policy",
            name="write-flow-logs",
            role=role.id,
            policy=iam.document(
                {
                    "Sid": "WriteFlowLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    "Resource": [log_group.arn, f"{log_group.arn}:*"],
                },
                {
                    # DescribeLogGroups is in the role policy AWS documents for flow logs, but AWS
                    # authorizes it against the account-level arn:...:log-group::log-stream:, never
                    # a group's ARN: granted on the group it matched nothing. Every log group of
                    # this account and region covers it (as for the ECS exec audit log).
                    "Sid": "FlowLogsFindLogGroup",
                    "Effect": "Allow",
                    "Action": "logs:DescribeLogGroups",
                    "Resource": f"arn:{partition(props.region)}:logs:{props.region}:{props.account_id}:log-group:*",
                },
            ),
        )
        aws.flow_log.FlowLog(
            self,
            "flow-log",
            vpc_id=vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{props.name}-vpc"},
        )

    def _interface_endpoints(self, props: NetworkProps, vpc_id: str, subnet_ids: list[str]) -> str:
        """Interface endpoints in the private subnets, reachable on 443 from inside the VPC only."""
        group_id = security_group(
            self,
            "endpoint-security-group",
            name=f"{props.name}-endpoints",
            description="Interface VPC endpoints: HTTPS from inside the VPC",
            vpc_id=vpc_id,
        )
        tcp_rule(
            self,
            "endpoint-https-from-vpc",
            direction="ingress",
            group_id=group_id,
            port=443,
            description="HTTPS from the VPC to the interface endpoints",
            cidr_ipv4=str(props.cidr),
        )
        for service in props.interface_endpoints:
            aws.vpc_endpoint.VpcEndpoint(
                self,
                f"{service.replace('.', '-')}-interface-endpoint",
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{props.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=subnet_ids,
                security_group_ids=[group_id],
                tags={"Name": f"{props.name}-{service}"},
            )
        return group_id
