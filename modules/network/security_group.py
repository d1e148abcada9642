"""Security groups and their rules as standalone resources, the way every group here is built.

A group is created empty; each rule is its own `aws_vpc_security_group_*_rule` for one TCP port
and one peer, with a description, so adding a peer adds a rule without rewriting a group.
"""

from __future__ import annotations

import re
from typing import Literal, cast

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


def allow_tcp(
    scope: Construct, id: str, *, group_id: str, name: str, peer_group_id: str, peer_name: str, port: int
) -> None:
    """Let the peer group reach this group on one TCP port: this group's ingress from the peer and
    the peer's egress to this group, both created in `scope` as "<id>-ingress" and "<id>-egress".

    Both rules live with the side being reached, so a resource that admits a peer owns the whole
    path and the peer's construct never learns who it talks to. `name` and `peer_name` are what
    the rule descriptions call the two sides.
    """
    tcp_rule(
        scope,
        f"{id}-ingress",
        direction="ingress",
        group_id=group_id,
        port=port,
        description=f"From {peer_name} on {port}",
        peer_group_id=peer_group_id,
    )
    tcp_rule(
        scope,
        f"{id}-egress",
        direction="egress",
        group_id=peer_group_id,
        port=port,
        description=f"To {name} on {port}",
        peer_group_id=group_id,
    )


class PeerAdmission:
    """Mixed into a construct that owns a security group: `allow_from` admits one peer group on the
    construct's port (`allow_tcp`: the ingress here and the peer's egress to here, both owned by
    the construct, so the peer never learns who it talks to). The construct sets
    `security_group_id`, `admitted_as` (what the rule descriptions call it) and `admitted_port`."""

    security_group_id: str
    admitted_as: str
    admitted_port: int

    def allow_from(self, label: str, peer_security_group_id: str) -> None:
        """Admit one peer group (a load balancer, a using service's tasks), named `label`."""
        allow_tcp(
            cast(Construct, self),
            f"allow-{label}",
            group_id=self.security_group_id,
            name=self.admitted_as,
            peer_group_id=peer_security_group_id,
            peer_name=label,
            port=self.admitted_port,
        )


def cidr_label(cidr: str) -> str:
    """A construct-ID spelling of a CIDR: "0.0.0.0/0" -> "ipv4-any", "::/0" -> "ipv6-any",
    "10.0.0.0/8" -> "ipv4-10-0-0-0-8"."""
    family = "ipv6" if ":" in cidr else "ipv4"
    if cidr in ("0.0.0.0/0", "::/0"):
        return f"{family}-any"
    return f"{family}-" + "-".join(part for part in re.split(r"[^0-9A-Fa-f]+", cidr) if part)
