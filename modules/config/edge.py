"""`[edge]` and `[domain]` of an environment file: the load balancers and HTTPS."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from pydantic import Field, ValidationInfo, field_validator

from modules.config.rules import rule
from modules.config.types import CertificateArn, HostedZoneId, HostName, Strict


class EdgeConfig(Strict):
    """`[edge]`: the load balancers in front of the services."""

    http_only: bool = False
    """Serve public services over plain HTTP on the ALB's DNS name (no domain). Refused by the
    production profile."""
    ingress_ipv4: list[str] = ["0.0.0.0/0"]
    """IPv4 CIDRs that may reach the public ALB."""
    ingress_ipv6: list[str] = ["::/0"]
    """IPv6 CIDRs that may reach the public ALB."""
    idle_timeout_seconds: int = Field(default=60, ge=1, le=4000)
    """Seconds an idle connection is kept open by the ALBs."""
    deletion_protection: bool
    """Deletion protection on the load balancers: Terraform cannot destroy them while it is on."""
    deregistration_delay_seconds: int = Field(default=30, ge=0, le=3600)
    """Seconds a target being removed keeps serving its in-flight requests (connection draining)."""
    access_log_days: int = Field(default=90, ge=1, le=3650)
    """Days the load balancers' access logs are kept."""

    @field_validator("ingress_ipv4", "ingress_ipv6")
    @classmethod
    def _cidrs(cls, cidrs: list[str], info: ValidationInfo) -> list[str]:
        network, family = (
            (IPv4Network, "IPv4") if info.field_name == "ingress_ipv4" else (IPv6Network, "IPv6")
        )
        for cidr in cidrs:
            try:
                network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not an {family} CIDR ({exc})") from None
        # Each CIDR becomes one rule per listener, named after it: a repeat would be the same rule.
        repeated = sorted({cidr for cidr in cidrs if cidrs.count(cidr) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return cidrs


class DomainConfig(Strict):
    """`[domain]`: HTTPS for the public load balancer."""

    name: HostName
    """The environment's domain; service hosts must be this name or below it."""
    hosted_zone_id: HostedZoneId | None = None
    """Route 53 zone of `name`: DNS-validated certificate and alias records are created."""
    certificate_arn: CertificateArn | None = None
    """An existing ACM certificate to use instead of requesting one."""

    @rule("hosted_zone_id", "certificate_arn")
    def _certificate_source(self) -> None:
        if self.hosted_zone_id is None and self.certificate_arn is None:
            raise ValueError(
                "set hosted_zone_id (a DNS-validated certificate is requested) or certificate_arn"
            )
