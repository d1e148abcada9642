"""`[network]` of an environment file: the VPC CIDR, zones, NAT mode, subnet sizes, endpoints."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from modules.config.rules import rule
from modules.config.types import NatMode, Strict, ZoneLetter, check_log_retention
from modules.core import cidr

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "kms", "sts")


def parse_vpc_cidr(value: Any) -> IPv4Network:
    """A VPC CIDR from its config value; ValueError says what is wrong with it."""
    if not isinstance(value, str):
        raise ValueError('must be a string such as "10.10.0.0/16"')
    try:
        network = IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 network CIDR ({exc})") from None
    if not 16 <= network.prefixlen <= 24:
        raise ValueError("a VPC CIDR must be between /16 and /24")
    return network


class NetworkConfig(Strict):
    """`[network]` in an environment file."""

    cidr: IPv4Network
    """The VPC CIDR, /16 to /24; it must not overlap another environment's."""
    az_count: int = Field(default=2, ge=2, le=6)
    """Availability zones: each gets a public and a private subnet."""
    zones: list[ZoneLetter] | None = None
    """Zone letters in the region (e.g. `["a", "c"]`), when a zone is unavailable to the account;
    unset: the first `az_count` letters."""
    nat: NatMode
    """NAT for the private subnets: none, a single gateway, or one gateway per zone."""
    public_subnet_prefix: int = Field(default=24, ge=16, le=28)
    """Prefix length of each public subnet. Unset: /24, or where that does not fit beside the private
    subnets the largest that does, down to /27 (an ALB needs a /27 with 8 free addresses)."""
    private_subnet_prefix: int = Field(default=20, ge=16, le=28)
    """Prefix length of each private subnet. Unset: /20 (with public /24s it always fits a /16), or
    where that does not fit the largest that leaves room for public /27s, down to /27; the defaults
    fit any /16 to /23 CIDR with 2-6 zones, and a /24 with up to 4. A size you set is kept and must
    fit."""
    flow_log_retention_days: int
    """Days VPC flow logs are kept: a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120,
    150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."""
    interface_endpoints: list[Literal[INTERFACE_ENDPOINTS]] = []  # type: ignore[valid-type]
    """Interface VPC endpoints to create, so that the private subnets reach these AWS APIs without NAT."""

    @model_validator(mode="before")
    @classmethod
    def _subnet_sizes_follow_the_cidr(cls, data: Any) -> Any:
        """Fill in unset subnet prefixes from the CIDR and zone count (cidr.default_prefixes)."""
        sizes = ("private_subnet_prefix", "public_subnet_prefix")
        if not isinstance(data, dict) or all(key in data for key in sizes):
            return data
        given = [data.get(key) for key in sizes]
        zones = data.get("az_count", cls.model_fields["az_count"].default)
        if any(v is not None and (type(v) is not int or not 0 <= v <= 32) for v in given):
            return data  # a bad size is reported as such; the other keeps its plain default
        if type(zones) is not int or zones < 1:
            return data
        try:
            network = parse_vpc_cidr(data.get("cidr"))
        except ValueError:
            return data
        private, public = cidr.default_prefixes(network, zones, *given)
        return {**data, "private_subnet_prefix": private, "public_subnet_prefix": public}

    @field_validator("cidr", mode="before")
    @classmethod
    def _parse_cidr(cls, value: Any) -> IPv4Network:
        return parse_vpc_cidr(value)

    _retention = field_validator("flow_log_retention_days")(check_log_retention)

    @field_validator("interface_endpoints")
    @classmethod
    def _unique_endpoints(cls, endpoints: list[str]) -> list[str]:
        if len(set(endpoints)) != len(endpoints):
            raise ValueError("lists an endpoint twice")
        return endpoints

    @rule("zones", "az_count")
    def _zone_count(self) -> None:
        if self.zones is not None and len(self.zones) != self.az_count:
            raise ValueError(f"zones lists {len(self.zones)} zones but az_count is {self.az_count}")

    @rule("zones")
    def _distinct_zones(self) -> None:
        if self.zones is not None and len(set(self.zones)) != len(self.zones):
            raise ValueError("zones lists a zone twice")

    @rule("cidr", "az_count", "private_subnet_prefix", "public_subnet_prefix")
    def _subnets_fit(self) -> None:
        try:
            cidr.allocate(self.cidr, self.az_count, self.private_subnet_prefix, self.public_subnet_prefix)
        except ValueError as exc:
            smallest = cidr.largest_vpc_prefix(self.az_count)
            if self.cidr.prefixlen > smallest:
                raise ValueError(
                    f"{exc}; with {self.az_count} zones the VPC CIDR must be /{smallest} or larger "
                    f"(a public and a private /{cidr.SMALLEST_DEFAULT_PREFIX} per zone at least: "
                    "load balancers need them)"
                ) from None
            raise

    @property
    def zone_letters(self) -> tuple[str, ...]:
        return tuple(self.zones) if self.zones is not None else tuple("abcdef"[: self.az_count])

    @property
    def subnets(self) -> cidr.SubnetLayout:
        return cidr.allocate(self.cidr, self.az_count, self.private_subnet_prefix, self.public_subnet_prefix)
