"""Security groups and their rules as standalone resources, the way every group here is built.

A group is created empty; each rule is its own `aws_vpc_security_group_*_rule` for one TCP port
and one peer, with a description, so adding a peer adds a rule without rewriting a group.
"""

from __future__ import annotations

from typing import Literal

from modules.cdk import Construct, aws


def security_group(scope: Construct, id: str, *, name: str, description: str, vpc_id: str) -> str:
    """An empty security group named (and Name-tagged) `name`; rules are added as separate resources."""
    group = aws.security_group.SecurityGroup(
        scope, id, name=name, description=description, vpc_id=vpc_id, tags={"Name": name}
    )
    return group.id


def tcp_rule(
    scope: Construct,
    id: str,
    *,
    direction: Literal["ingress", "egress"],
    group_id: str,
    port: int,
    description: str,
    cidr_ipv4: str | None = None,
    cidr_ipv6: str | None = None,
    peer_group_id: str | None = None,
) -> None:
    """One standalone rule for one TCP port and one peer (a CIDR or another group), with a description."""
    rule = (
        aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule
        if direction == "ingress"
        else aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule
    )
    rule(
        scope,
        id,
        security_group_id=group_id,
        description=description,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        cidr_ipv4=cidr_ipv4,
        cidr_ipv6=cidr_ipv6,
        referenced_security_group_id=peer_group_id,
    )
