"""modules/network/security_group.py: readable CIDR labels for rule IDs."""

from __future__ import annotations

import pytest

from modules.network.security_group import cidr_label


@pytest.mark.parametrize(
    ("cidr", "label"),
    [
        ("0.0.0.0/0", "ipv4-any"),
        ("::/0", "ipv6-any"),
        ("10.0.0.0/8", "ipv4-10-0-0-0-8"),
        ("203.0.113.0/24", "ipv4-203-0-113-0-24"),
        ("2001:db8::/32", "ipv6-2001-db8-32"),
    ],
)
def test_cidr_labels(cidr: str, label: str) -> None:
    assert cidr_label(cidr) == label
