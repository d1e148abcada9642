"""`[network]` of an environment file: the VPC CIDR, zones, NAT mode, subnet sizes, endpoints."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from modules.config.types import LOG_RETENTION_DAYS, NatMode, Strict, ZoneLetter
from modules.core import cidr

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "kms", "sts")


class NetworkConfig(Strict):
    """`[network]` in an environment file."""

    cidr: IPv4Network
    az_count: int = Field(default=2, ge=2, le=6)
    zones: list[ZoneLetter] | None = None
    """Zone letters in the region (e.g. ["a", "c"]); default: the first az_count letters."""
    nat: NatMode
    public_subnet_prefix: int = Field(default=24, ge=16, le=28)
    private_subnet_prefix: int = Field(default=20, ge=16, le=28)
    flow_log_retention_days: int
    interface_endpoints: list[Literal[INTERFACE_ENDPOINTS]] = []  # type: ignore[valid-type]

    @field_validator("cidr", mode="before")
    @classmethod
    def _parse_cidr(cls, value: Any) -> IPv4Network:
        if not isinstance(value, str):
            raise ValueError('must be a string such as "10.10.0.0/16"')
        try:
            network = IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"not an IPv4 network CIDR ({exc})") from None
        if not 16 <= network.prefixlen <= 24:
            raise ValueError("a VPC CIDR must be between /16 and /24")
        return network

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs accepts {sorted(LOG_RETENTION_DAYS)}")
        return days

    @field_validator("interface_endpoints")
    @classmethod
    def _unique_endpoints(cls, endpoints: list[str]) -> list[str]:
        if len(set(endpoints)) != len(endpoints):
            raise ValueError("lists an endpoint twice")
        return endpoints

    @model_validator(mode="after")
    def _zones_and_sizing(self) -> NetworkConfig:
        if self.zones is not None:
            if len(self.zones) != self.az_count:
                raise ValueError(f"zones lists {len(self.zones)} zones but az_count is {self.az_count}")
            if len(set(self.zones)) != len(self.zones):
                raise ValueError("zones lists a zone twice")
        cidr.allocate(self.cidr, self.az_count, self.private_subnet_prefix, self.public_subnet_prefix)
        return self

    @property
    def zone_letters(self) -> tuple[str, ...]:
        return tuple(self.zones) if self.zones is not None else tuple("abcdef"[: self.az_count])

    @property
    def subnets(self) -> cidr.SubnetLayout:
        return cidr.allocate(self.cidr, self.az_count, self.private_subnet_prefix, self.public_subnet_prefix)
