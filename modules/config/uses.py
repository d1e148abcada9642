"""`uses`: what a service declares it needs, one `kind:name[:option]` string per need.

The one declaration opens exactly the network paths and grants the need implies, and nothing
else. Kinds today: `service:<name>` (call another internal service of the environment). The data
concern adds `database`, `cache`, `bucket:<name>:<access>` and `filesystem:<name>:<path>`; each
new kind is one entry in USE_KINDS plus its rule in `services.uses_rules`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# kind -> (what its name names, the options it takes; an empty tuple means no option)
USE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "service": ("an internal service (public = false) of this environment", ()),
}
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Use:
    """One parsed `uses` entry."""

    kind: str
    name: str
    option: str | None

    def __str__(self) -> str:
        return ":".join(p for p in (self.kind, self.name, self.option) if p is not None)


def parse_use(text: str) -> Use:
    """`kind:name[:option]` -> Use; ValueError with a message a person can act on."""
    kind, _, rest = text.partition(":")
    if kind not in USE_KINDS:
        known = ", ".join(f"{k}:<name>" for k in USE_KINDS)
        raise ValueError(f"unknown kind {kind!r} in {text!r}; known: {known}")
    name, _, option = rest.partition(":")
    if not _NAME.match(name):
        raise ValueError(f"{text!r} needs a name after '{kind}:' ({USE_KINDS[kind][0]})")
    options = USE_KINDS[kind][1]
    if option and not options:
        raise ValueError(f"{text!r}: '{kind}:' takes no option")
    if options and option not in options:
        raise ValueError(f"{text!r}: the option must be one of {', '.join(options)}")
    return Use(kind, name, option or None)


def check_use(text: str) -> str:
    """Field validator: the string parses; kept as written so the reference shows what users type."""
    parse_use(text)
    return text
