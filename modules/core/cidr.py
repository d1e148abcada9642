"""Subnet arithmetic: carve per-zone subnets out of one VPC CIDR, deterministically.

Pure functions on `ipaddress` values; imported by the config schema (to report sizing that does not
fit) and by the network construct (to place subnets), so both always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network


@dataclass(frozen=True)
class SubnetLayout:
    """The CIDR of each zone's private and public subnet, in zone order."""

    private: tuple[IPv4Network, ...]
    public: tuple[IPv4Network, ...]


def allocate(cidr: IPv4Network, zone_count: int, private_prefix: int, public_prefix: int) -> SubnetLayout:
    """Place `zone_count` private subnets, then `zone_count` public subnets, inside `cidr`.

    Larger blocks go first so every block stays aligned to its own size without gaps; the order
    is fixed (all private, then all public, each in zone order) so adding nothing to the config
    never moves a subnet. Raises ValueError when the blocks do not fit.
    """
    for label, prefix in (("private", private_prefix), ("public", public_prefix)):
        if prefix < cidr.prefixlen:
            raise ValueError(f"{label} subnet prefix /{prefix} is larger than the VPC CIDR /{cidr.prefixlen}")
    requests = [("private", private_prefix)] * zone_count + [("public", public_prefix)] * zone_count
    # Stable sort by size keeps zone order inside each kind and puts the larger blocks first.
    order = sorted(range(len(requests)), key=lambda i: requests[i][1])
    cursor = int(cidr.network_address)
    end = int(cidr.broadcast_address) + 1
    placed: dict[int, IPv4Network] = {}
    for index in order:
        prefix = requests[index][1]
        size = 1 << (32 - prefix)
        cursor = (cursor + size - 1) // size * size
        if cursor + size > end:
            needed = sum(1 << (32 - p) for _, p in requests)
            raise ValueError(
                f"{zone_count} private /{private_prefix} and {zone_count} public /{public_prefix} subnets "
                f"need {needed} addresses; {cidr} has {cidr.num_addresses}"
            )
        placed[index] = IPv4Network((cursor, prefix))
        cursor += size
    private = tuple(placed[i] for i in range(zone_count))
    public = tuple(placed[zone_count + i] for i in range(zone_count))
    return SubnetLayout(private=private, public=public)
