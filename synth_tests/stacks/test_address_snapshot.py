"""Every Terraform address of the shipped stacks, snapshotted: a rename shows up in review.

A changed address destroys and recreates a live resource unless a `moved` block says otherwise.
When a change is intended, refresh the snapshot and commit it with the change:

    UPDATE_ADDRESS_SNAPSHOT=1 .venv/bin/python -m pytest synth_tests/stacks/test_address_snapshot.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("addresses.txt")


def addresses(out_dir: Path) -> list[str]:
    """`<stack>: <address>` for every resource and data source, sorted."""
    found = []
    for path in sorted((out_dir / "stacks").glob("*/cdk.tf.json")):
        stack = json.loads(path.read_text())
        for prefix, blocks in (("", stack.get("resource", {})), ("data.", stack.get("data", {}))):
            found += [
                f"{path.parent.name}: {prefix}{kind}.{name}"
                for kind, named in blocks.items()
                for name in named
            ]
    return sorted(found)


def test_addresses_match_the_snapshot(fresh_synth: Path) -> None:
    current = addresses(fresh_synth)
    if os.environ.get("UPDATE_ADDRESS_SNAPSHOT") == "1":
        SNAPSHOT.write_text("\n".join(current) + "\n")
    recorded = SNAPSHOT.read_text().splitlines()
    gone = sorted(set(recorded) - set(current))
    new = sorted(set(current) - set(recorded))
    assert not gone and not new, (
        f"Terraform addresses changed (a live resource would be replaced unless a moved block says so).\n"
        f"gone: {gone}\nnew: {new}\nIf intended: UPDATE_ADDRESS_SNAPSHOT=1 .venv/bin/python -m pytest {__file__}"
    )


def test_no_address_carries_a_hash_suffix(fresh_synth: Path) -> None:
    hashed = [a for a in addresses(fresh_synth) if re.search(r"_[0-9A-F]{8}$", a)]
    assert not hashed, hashed
