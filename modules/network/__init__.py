"""The environment network: VPC, subnets, gateways, routes, flow logs, endpoints; security group helpers."""

from modules.network.security_group import PeerAdmission, allow_tcp, cidr_label, security_group, tcp_rule
from modules.network.vpc import Network, NetworkProps, Zone

__all__ = [
    "Network",
    "NetworkProps",
    "PeerAdmission",
    "Zone",
    "allow_tcp",
    "cidr_label",
    "security_group",
    "tcp_rule",
]
