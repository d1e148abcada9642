"""modules/core/markdown.py: one jinja2 set-up for every Markdown document, and safe table cells."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError

from modules.core.markdown import table_cell, templates


def test_a_table_cell_is_one_line_with_pipes_escaped() -> None:
    assert table_cell("a | b\n  c\td") == "a \\| b c d"
    assert table_cell(3) == "3"


def test_templates_render_markdown_unescaped_with_the_given_filters(tmp_path: Path) -> None:
    (tmp_path / "page.md.j2").write_text(
        "{% if rows %}\n| {{ rows | join(' | ') }} |\n{% endif %}\n<{{ x | cell }}>\n"
    )
    page = templates(tmp_path, {"cell": table_cell}).get_template("page.md.j2")
    assert page.render(rows=["a", "b"], x="1 | 2") == "| a | b |\n<1 \\| 2>\n"


def test_an_undefined_name_fails_the_render(tmp_path: Path) -> None:
    (tmp_path / "page.md.j2").write_text("{{ missing }}\n")
    with pytest.raises(UndefinedError):
        templates(tmp_path, {}).get_template("page.md.j2").render()
