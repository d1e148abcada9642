"""Markdown from jinja2 templates, set up one way for every document the generator writes: README's
config reference and layout, the environment pages, the plan review.

Templates are Markdown, not HTML: nothing is auto-escaped; values go through `table_cell` (or a
stricter filter of the caller's) where a table cell needs it. An undefined name fails the render
instead of printing nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemLoader, StrictUndefined


def table_cell(text: object) -> str:
    """Safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def templates(
    directory: Path,
    filters: Mapping[str, Callable[..., Any]],
    *,
    bytecode_cache: BytecodeCache | None = None,
    auto_reload: bool = True,
) -> Environment:
    """The jinja2 environment for the Markdown templates in `directory`, with these filters."""
    jinja = Environment(
        loader=FileSystemLoader(directory),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML
        auto_reload=auto_reload,
        bytecode_cache=bytecode_cache,
    )
    jinja.filters.update(filters)
    return jinja
