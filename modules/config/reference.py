"""The README's generated parts: the config reference from the schema, the layout from the packages.

`python main.py docs` (`make docs`) renders them with the jinja2 templates beside this file and
writes them between their markers in README.md; `--check` only reports whether they are current.
Every row comes from the schema: the key and its type from the field, the default from the field
or from `PROFILES`, the meaning from the field's attribute docstring. Nothing here is imported by a
synth: the config schema stays free of jinja2.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import textwrap
import types
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from jinja2 import Environment as Jinja
from pydantic import BaseModel, StringConstraints

from modules.config.environment import EnvironmentConfig
from modules.config.profiles import PROFILES
from modules.config.project import PROJECT_FILE, ProjectConfig
from modules.config.types import DESCRIBED_TYPES
from modules.core.markdown import table_cell, templates

TEMPLATES = Path(__file__).resolve().parent
MODULES = TEMPLATES.parent
ROOT = MODULES.parent
README = ROOT / "README.md"


@dataclass(frozen=True)
class Section:
    """One table: a TOML table of a config file, found by its key path from the file's root."""

    file: Literal["project", "environment"]
    path: tuple[str, ...]  # () is the file's top level
    title: str
    intro: str = ""  # a file's top level only; a nested section's is its field's description


# One table per section, in README order. A field whose path is a section is that section's
# table, not a row of its parent's.
SECTIONS: tuple[Section, ...] = (
    Section(
        "project",
        (),
        f"`environments/{PROJECT_FILE}`",
        "The project: its name, and the account and region that hold the Terraform state.",
    ),
    Section("project", ("state",), "`[state]`"),
    Section("project", ("cloud",), "`[cloud]`"),
    Section("project", ("delivery",), "`[delivery]`"),
    Section("project", ("tags",), "`[tags]`"),
    Section(
        "environment",
        (),
        "`environments/<env>.toml`",
        "One file per environment; the file name is the environment's name (a slug, not `bootstrap`).",
    ),
    Section("environment", ("account",), "`[account]`"),
    Section("environment", ("network",), "`[network]`"),
    Section("environment", ("cluster",), "`[cluster]`"),
    Section("environment", ("edge",), "`[edge]`"),
    Section("environment", ("domain",), "`[domain]`"),
    Section("environment", ("services",), "`[[services]]`"),
    Section("environment", ("services", "autoscaling"), "`services.autoscaling`"),
    Section("environment", ("services", "alarms"), "`services.alarms`"),
    Section("environment", ("secrets",), "`[[secrets]]`"),
    Section("environment", ("parameters",), "`[[parameters]]`"),
    Section("environment", ("database",), "`[database]`"),
    Section("environment", ("cache",), "`[cache]`"),
    Section("environment", ("buckets",), "`[[buckets]]`"),
    Section("environment", ("filesystems",), "`[[filesystems]]`"),
    Section("environment", ("access",), "`[access]`"),
    Section("environment", ("alarms",), "`[alarms]`"),
    Section("environment", ("notifications",), "`[notifications]`"),
    Section("environment", ("tracing",), "`[tracing]`"),
    Section("environment", ("apm",), "`[apm]`"),
    Section("environment", ("delivery",), "`[delivery]` (environment)"),
)
ROOTS: dict[str, type[BaseModel]] = {"project": ProjectConfig, "environment": EnvironmentConfig}


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    meaning: str


@dataclass(frozen=True)
class Table:
    title: str
    intro: str  # the section field's description; "" at a file's top level
    rows: tuple[Row, ...]


def _unwrap(hint: Any) -> Any:
    """`X | None` -> X; list[X] -> X: what a section's field holds."""
    if get_origin(hint) in (Union, types.UnionType):
        (hint,) = [arg for arg in get_args(hint) if arg is not type(None)]
    if get_origin(hint) is list:
        (hint,) = get_args(hint)
    return hint


@functools.cache
def _attribute_docstrings(cls: type) -> dict[str, str]:
    """{field: the string literal right under its annotated assignment} in `cls`'s own body."""
    try:
        (tree,) = ast.parse(textwrap.dedent(inspect.getsource(cls))).body
    except (OSError, TypeError, ValueError):  # no source (a class made at runtime): no docstrings
        return {}
    found: dict[str, str] = {}
    body = tree.body if isinstance(tree, ast.ClassDef) else []
    for statement, following in zip(body, body[1:], strict=False):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[statement.target.id] = inspect.cleandoc(following.value.value)
    return found


def field_description(model: type[BaseModel], key: str) -> str:
    """A field's meaning: its attribute docstring, from the class that declares the field.

    Read here rather than by pydantic (`use_attribute_docstrings`), which would parse every model's
    source each time the config loads, synth included, for text only the reference shows.
    """
    field = model.model_fields[key]
    if field.description:
        return field.description
    for cls in model.__mro__:
        if key in getattr(cls, "__annotations__", {}):
            return _attribute_docstrings(cls).get(key, "")
    return ""


def section_target(section: Section) -> tuple[Any, str]:
    """(the model or dict type a section holds, the description of the field that holds it)."""
    hint: Any = ROOTS[section.file]
    meaning = ""
    for key in section.path:
        hint, meaning = _unwrap(hint.model_fields[key].annotation), field_description(hint, key)
    return hint, meaning


def models() -> list[type[BaseModel]]:
    """Every model of the schema reachable from the two file roots, parents first."""
    found: list[type[BaseModel]] = []

    def visit(hint: Any) -> None:
        if isinstance(hint, type) and issubclass(hint, BaseModel) and hint not in found:
            found.append(hint)
            for field in hint.model_fields.values():
                visit(field.annotation)
        for arg in get_args(hint):
            visit(arg)

    for root in ROOTS.values():
        visit(root)
    return found


def _code(value: str) -> str:
    return f"`{value}`"


def _literal(value: Any) -> str:
    """A value as it is written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_literal(v)}" for k, v in value.items()) + " }" if value else "{}"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def type_text(hint: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> str:
    """A readable type: `"none" | "single"`, `int (1-1000)`, `list of host name`, ..."""
    if get_origin(hint) is Annotated:
        hint, metadata = get_args(hint)[0], (*hint.__metadata__, *metadata)
    if any(isinstance(m, StringConstraints) for m in metadata):
        constrained = Annotated[(hint, *metadata)]
        for named, name, _ in DESCRIBED_TYPES:
            if constrained == named:
                return name
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        present = [arg for arg in get_args(hint) if arg is not type(None)]
        return " | ".join(type_text(arg, metadata) for arg in present)
    if origin is Literal:
        return " | ".join(_code(_literal(value)) for value in get_args(hint))
    if origin is list:
        return f"list of {type_text(get_args(hint)[0])}"
    if origin is dict:
        key, value = get_args(hint)
        return f"table of {type_text(key)} = {type_text(value)}"
    if hint is bool:
        return "bool"
    if hint in (int, float):
        # A float's lower bound may be exclusive (gt): "above 0" reads better than a range.
        name = hint.__name__
        low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
        above = next((m.gt for m in metadata if isinstance(m, annotated_types.Gt)), None)
        high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
        if low is not None and high is not None:
            return f"{name} ({low}-{high})"
        if above is not None and high is not None:
            return f"{name} (above {above}, at most {high})"
        if low is not None:
            return f"{name} ({low} or more)"
        return name
    if hint is str:
        return "string"
    if hint is IPv4Network:
        return "IPv4 CIDR"
    raise TypeError(f"the reference has no readable name for {hint!r}: add it to type_text")


def _leaves(settings: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """A profile's values by key path: {("network", "nat"): "single", ...}."""
    leaves: dict[tuple[str, ...], Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            leaves.update(_leaves(value, (*prefix, key)))
        else:
            leaves[(*prefix, key)] = value
    return leaves


def profile_values(section: Section, key: str) -> dict[str, Any]:
    """What each profile sets `key` of this section to (only the profiles that set it)."""
    if section.file != "environment":
        return {}
    path = (*section.path, key)
    return {
        name: leaves[path] for name, settings in PROFILES.items() if path in (leaves := _leaves(settings))
    }


def default_text(section: Section, key: str, field: Any) -> str:
    by_profile = profile_values(section, key)
    if by_profile:
        shown = []
        for profile in PROFILES:
            if profile in by_profile:
                shown.append(f"{profile}: {_code(_literal(by_profile[profile]))}")
            else:
                shown.append(f"{profile}: {_schema_default(field)}")
        return "; ".join(shown)
    return _schema_default(field)


def _schema_default(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default is None:
        return "unset"
    return _code(_literal(field.default))


def _meaning(description: str | None) -> str:
    return " ".join((description or "").split())


def table(section: Section) -> Table:
    target, description = section_target(section)
    if get_origin(target) is dict:
        # A free-form table ([tags]): one row for any key.
        key, value = get_args(target)
        field = ROOTS[section.file].model_fields[section.path[-1]]
        row = Row(
            key=f"`<{type_text(key)}>`",
            type=type_text(value),
            default=_schema_default(field),
            meaning=_meaning(description),
        )
        return Table(section.title, "", (row,))
    subsections = {
        s.path[-1] for s in SECTIONS if s.file == section.file and s.path and s.path[:-1] == section.path
    }
    rows = tuple(
        Row(
            key=_code(key),
            type=type_text(field.annotation, field.metadata),
            default=default_text(section, key, field),
            meaning=_meaning(field_description(target, key)),
        )
        for key, field in target.model_fields.items()
        if key not in subsections
    )
    return Table(section.title, _meaning(description) or section.intro, rows)


def tables() -> list[Table]:
    return [table(section) for section in SECTIONS]


def profile_rows() -> list[tuple[str, list[str]]]:
    """`section.key` and its value under each profile (in PROFILES order), for every value set."""
    leaves = [_leaves(settings) for settings in PROFILES.values()]
    paths = dict.fromkeys(path for values in leaves for path in values)
    return [
        (
            _code(".".join(path)),
            [_code(_literal(values[path])) if path in values else "" for values in leaves],
        )
        for path in paths
    ]


def _jinja() -> Jinja:
    return templates(TEMPLATES, {"cell": table_cell})


def render_reference() -> str:
    """The config reference: one table per section, then the profiles."""
    return (
        _jinja()
        .get_template("reference.md.j2")
        .render(tables=tables(), profiles=list(PROFILES), profile_rows=profile_rows())
    )


def packages() -> list[tuple[str, str]]:
    """(path under modules/, summary line of its docstring) for every package and top-level module."""
    found = []
    for init in sorted(MODULES.rglob("__init__.py")):
        if init.parent != MODULES:
            found.append((f"{init.parent.relative_to(MODULES).as_posix()}/", summary(init)))
    for module in sorted(MODULES.glob("*.py")):
        if module.name != "__init__.py":
            found.append((module.name, summary(module)))
    return sorted(found)


def summary(path: Path) -> str:
    """The first line of a module's docstring: its one-line summary."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    if not docstring:
        raise ValueError(f"{path}: no docstring to list in the README's layout")
    return docstring.splitlines()[0]


def render_layout() -> str:
    """The repository layout: fixed top-level entries, and modules/ from the package docstrings."""
    return _jinja().get_template("layout.md.j2").render(packages=packages())


# Marker name -> renderer. Each block is written between `<!-- BEGIN name -->` and `<!-- END name -->`.
BLOCKS = {"CONFIG REFERENCE": render_reference, "LAYOUT": render_layout}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN {name} -->\n", f"<!-- END {name} -->"


def block(text: str, name: str) -> str:
    """What stands between a block's markers in `text`."""
    begin, end = markers(name)
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"README.md needs exactly one {begin.strip()} ... {end} pair")
    return text[text.index(begin) + len(begin) : text.index(end)]


def updated(text: str) -> str:
    """`text` with every block rendered afresh between its markers."""
    for name, render in BLOCKS.items():
        begin, _ = markers(name)
        start = text.index(begin) + len(begin)
        text = text[:start] + render() + text[start + len(block(text, name)) :]
    return text


def update_readme(path: Path = README, write: bool = True) -> bool:
    """Render the blocks into README.md; True when it was (or, with write=False, would be) changed."""
    current = path.read_text(encoding="utf-8")
    fresh = updated(current)
    if fresh != current and write:
        path.write_text(fresh, encoding="utf-8")
    return fresh != current
