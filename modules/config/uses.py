"""`uses`: what a service declares it needs, one `kind[:name][:option]` string per need.

The one declaration opens exactly the network paths, grants and connection settings the need
implies, and nothing else. Each kind is one entry in USE_KINDS plus its rule in
`services.uses_rules` (stores: `data.store_use_rules`):

- `service:<name>`: call an internal service of the environment;
- `database` or `database:iam`: the `[database]`, with the managed master secret, or (iam) IAM
  database authentication as a database user named after the service;
- `cache`: the `[cache]`;
- `bucket:<name>:<read|write|read-write>`: one `[[buckets]]` entry;
- `filesystem:<name>:<path>[:ro]`: one `[[filesystems]]` entry, mounted at `<path>`.

The environment variables each use sets are named here too (`use_variables`), so the schema can
refuse a service whose own `environment` or `secrets` would collide with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BUCKET_ACCESS = ("read", "write", "read-write")


@dataclass(frozen=True)
class UseKind:
    """The shape of one kind of `uses` entry."""

    names: str | None  # what its name names; None: the kind has no name (one per environment)
    options: tuple[str, ...]  # the options it takes; () with `path` False: none
    option_required: bool
    path: bool = False  # the option is an absolute container path, optionally followed by ":ro"

    def grammar(self, kind: str) -> str:
        parts = [kind]
        if self.names is not None:
            parts.append("<name>")
        if self.path:
            parts.append("<path>[:ro]")
        elif self.options:
            shown = "|".join(self.options)
            parts.append(f"<{shown}>" if self.option_required else f"[{shown}]")
        return ":".join(parts).replace(":[", "[:")


USE_KINDS: dict[str, UseKind] = {
    "service": UseKind("an internal service (public = false) of this environment", (), False),
    "database": UseKind(None, ("iam",), False),
    "cache": UseKind(None, (), False),
    "bucket": UseKind("a [[buckets]] entry of this environment", BUCKET_ACCESS, True),
    "filesystem": UseKind("a [[filesystems]] entry of this environment", (), True, path=True),
}
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
# An absolute container path: no '..', no '//', no spaces or ':'.
_PATH = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
READ_ONLY = "ro"


@dataclass(frozen=True)
class Use:
    """One parsed `uses` entry."""

    kind: str
    name: str | None  # None for the kinds without a name (database, cache)
    option: str | None  # the access mode, "iam", or a filesystem's container path
    read_only: bool = False  # filesystem only: mounted read-only (":ro")

    def __str__(self) -> str:
        parts = [p for p in (self.kind, self.name, self.option) if p is not None]
        return ":".join(parts + ([READ_ONLY] if self.read_only else []))


def parse_use(text: str) -> Use:
    """`kind[:name][:option]` -> Use; ValueError with a message a person can act on."""
    kind, _, rest = text.partition(":")
    shape = USE_KINDS.get(kind)
    if shape is None:
        known = ", ".join(s.grammar(k) for k, s in USE_KINDS.items())
        raise ValueError(f"unknown kind {kind!r} in {text!r}; known: {known}")
    name: str | None = None
    if shape.names is not None:
        name, _, rest = rest.partition(":")
        if not _NAME.match(name):
            raise ValueError(f"{text!r} needs a name after '{kind}:' ({shape.names})")
    read_only = False
    if shape.path:
        if rest.endswith(f":{READ_ONLY}"):
            rest, read_only = rest.removesuffix(f":{READ_ONLY}"), True
        if not _PATH.match(rest) or "/../" in f"{rest}/" or "/./" in f"{rest}/":
            raise ValueError(
                f"{text!r}: give the absolute container path to mount at, such as "
                f"{kind}:{name}:/mnt/{name} (add ':ro' to mount it read-only)"
            )
        return Use(kind, name, rest, read_only)
    if rest and not shape.options:
        raise ValueError(f"{text!r}: '{shape.grammar(kind)}' takes no option")
    if (rest or shape.option_required) and rest not in shape.options:
        raise ValueError(
            f"{text!r}: the option must be one of {', '.join(shape.options)} ({shape.grammar(kind)})"
        )
    return Use(kind, name, rest or None)


def check_use(text: str) -> str:
    """Field validator: the string parses; kept as written so the reference shows what users type."""
    parse_use(text)
    return text


def variable_part(name: str) -> str:
    """A store's name as part of an environment variable: upper case, '-' as '_'."""
    return name.upper().replace("-", "_")


# The environment variables (plain and secret) a use sets in the service's container.
DATABASE_VARIABLES = ("DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER")
DATABASE_PASSWORD_VARIABLE = "DATABASE_PASSWORD"  # a secret; not set with database:iam
CACHE_VARIABLES = ("CACHE_HOST", "CACHE_PORT", "CACHE_TLS")
CACHE_USER_VARIABLE = "CACHE_USER"  # with IAM authentication only


def bucket_variable(name: str) -> str:
    return f"BUCKET_{variable_part(name)}"


def filesystem_variable(name: str) -> str:
    return f"FILESYSTEM_{variable_part(name)}_PATH"


def use_variables(use: Use) -> tuple[str, ...]:
    """Every environment variable the use may set (a service's own may not take these names)."""
    if use.kind == "database":
        return (*DATABASE_VARIABLES, DATABASE_PASSWORD_VARIABLE)
    if use.kind == "cache":
        return (*CACHE_VARIABLES, CACHE_USER_VARIABLE)
    if use.kind == "bucket":
        assert use.name is not None
        return (bucket_variable(use.name),)
    if use.kind == "filesystem":
        assert use.name is not None
        return (filesystem_variable(use.name),)
    return ()
