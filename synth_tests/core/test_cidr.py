"""modules/core/cidr.py: subnet placement inside the VPC CIDR."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modules.core.cidr import allocate, default_prefixes, fits, largest_vpc_prefix


def test_default_layout_for_a_16() -> None:
    layout = allocate(IPv4Network("10.10.0.0/16"), 2, private_prefix=20, public_prefix=24)
    assert [str(n) for n in layout.private] == ["10.10.0.0/20", "10.10.16.0/20"]
    assert [str(n) for n in layout.public] == ["10.10.32.0/24", "10.10.33.0/24"]


def test_smaller_private_blocks_still_come_first_in_zone_order() -> None:
    layout = allocate(IPv4Network("10.0.0.0/22"), 2, private_prefix=25, public_prefix=24)
    # public blocks are larger here, so they are placed first, still in zone order
    assert [str(n) for n in layout.public] == ["10.0.0.0/24", "10.0.1.0/24"]
    assert [str(n) for n in layout.private] == ["10.0.2.0/25", "10.0.2.128/25"]


def test_too_small_cidr_is_refused_with_the_numbers() -> None:
    with pytest.raises(ValueError, match="need 8704 addresses; 10.0.0.0/20 has 4096"):
        allocate(IPv4Network("10.0.0.0/20"), 2, private_prefix=20, public_prefix=24)


def test_subnet_larger_than_vpc_is_refused() -> None:
    with pytest.raises(ValueError, match="larger than the VPC CIDR"):
        allocate(IPv4Network("10.0.0.0/24"), 2, private_prefix=20, public_prefix=26)


@given(
    prefix=st.integers(16, 24),
    zones=st.integers(2, 6),
    private=st.integers(16, 28),
    public=st.integers(16, 28),
)
def test_placed_subnets_are_inside_aligned_and_disjoint(
    prefix: int, zones: int, private: int, public: int
) -> None:
    vpc = IPv4Network(f"10.0.0.0/{prefix}")
    try:
        layout = allocate(vpc, zones, private, public)
    except ValueError:
        needed = zones * ((1 << (32 - private)) + (1 << (32 - public)))
        assert needed > vpc.num_addresses or min(private, public) < prefix
        return
    subnets = list(layout.private) + list(layout.public)
    assert len(layout.private) == len(layout.public) == zones
    for subnet in subnets:
        assert subnet.subnet_of(vpc)
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b)


@pytest.mark.parametrize("prefix", range(16, 25))
@pytest.mark.parametrize("zones", range(2, 7))
def test_default_prefixes_are_20_and_24_where_they_fit_and_never_below_27(prefix: int, zones: int) -> None:
    vpc = IPv4Network(f"10.0.0.0/{prefix}")
    private, public = default_prefixes(vpc, zones)
    if fits(vpc, zones, 20, 24):
        assert (private, public) == (20, 24)
    assert max(private, public) <= 27
    if prefix <= largest_vpc_prefix(zones):
        allocate(vpc, zones, private, public)
    else:  # only a /24 with 5 or 6 zones
        assert (prefix, zones) in {(24, 5), (24, 6)}
        with pytest.raises(ValueError, match="need"):
            allocate(vpc, zones, private, public)


def test_default_prefixes_take_the_largest_private_subnets_that_leave_room() -> None:
    # /19 with 2 zones: a /20 pair fills the CIDR; /21 private leaves room for the usual /24 public.
    assert default_prefixes(IPv4Network("10.0.0.0/19"), 2) == (21, 24)
    assert default_prefixes(IPv4Network("10.0.0.0/24"), 2) == (26, 26)
    # a given size is kept, the other fits beside it
    assert default_prefixes(IPv4Network("10.0.0.0/19"), 2, private_prefix=22) == (22, 24)
    assert default_prefixes(IPv4Network("10.0.0.0/19"), 2, public_prefix=22) == (21, 22)


def test_largest_vpc_prefix_for_the_smallest_default_subnets() -> None:
    assert [largest_vpc_prefix(zones) for zones in range(2, 7)] == [25, 24, 24, 23, 23]
