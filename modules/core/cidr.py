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


# Subnet sizes when the config sets none: these wherever they fit (every shipped environment)...
PREFERRED_PRIVATE_PREFIX = 20
PREFERRED_PUBLIC_PREFIX = 24
# ... and never smaller than this: an ALB needs a /27 with 8 free addresses in each of its subnets
# (the public ALB sits in the public subnets; the internal ALB and the NLB in the private ones).
SMALLEST_DEFAULT_PREFIX = 27


def fits(cidr: IPv4Network, zone_count: int, private_prefix: int, public_prefix: int) -> bool:
    """Whether `allocate` can place these subnets in `cidr` (blocks of powers of two, larger first,
    pack without gaps, so the sum of their sizes decides)."""
    if min(private_prefix, public_prefix) < cidr.prefixlen:
        return False
    return zone_count * ((1 << (32 - private_prefix)) + (1 << (32 - public_prefix))) <= cidr.num_addresses


def default_prefixes(
    cidr: IPv4Network, zone_count: int, private_prefix: int | None = None, public_prefix: int | None = None
) -> tuple[int, int]:
    """(private, public) subnet prefixes, each the given one or a default that fits beside the other.

    The defaults are /20 private and /24 public wherever they fit. Where they do not, the private
    subnets are the largest that leave room for public subnets of /27, and the public ones the
    largest up to /24 that fit beside them; neither is ever smaller than /27. When nothing fits,
    /27 is returned, and `allocate` says by how much the CIDR is too small.
    """
    if private_prefix is None:
        beside = SMALLEST_DEFAULT_PREFIX if public_prefix is None else public_prefix
        candidates = range(PREFERRED_PRIVATE_PREFIX, SMALLEST_DEFAULT_PREFIX + 1)
        private_prefix = next(
            (p for p in candidates if fits(cidr, zone_count, p, beside)), SMALLEST_DEFAULT_PREFIX
        )
    if public_prefix is None:
        candidates = range(PREFERRED_PUBLIC_PREFIX, SMALLEST_DEFAULT_PREFIX + 1)
        public_prefix = next(
            (p for p in candidates if fits(cidr, zone_count, private_prefix, p)), SMALLEST_DEFAULT_PREFIX
        )
    return private_prefix, public_prefix


def largest_vpc_prefix(zone_count: int) -> int:
    """The longest VPC prefix (the smallest CIDR) that holds `zone_count` zones of /27 subnets."""
    smallest = zone_count * 2 * (1 << (32 - SMALLEST_DEFAULT_PREFIX))
    return 32 - (smallest - 1).bit_length()


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
