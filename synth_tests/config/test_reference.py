"""modules/config/reference.py: the README's config reference and layout are rendered from the code."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest
from conftest import ROOT, run_main

from modules.config import reference
from modules.config.profiles import PROFILES
from modules.config.types import Strict

README = ROOT / "README.md"


def readme_block(name: str) -> str:
    return reference.block(README.read_text(encoding="utf-8"), name)


@pytest.mark.parametrize("name", sorted(reference.BLOCKS))
def test_readme_is_up_to_date(name: str) -> None:
    assert readme_block(name) == reference.BLOCKS[name](), (
        f"README.md's {name} is stale: run `make docs` (python main.py docs) and commit README.md"
    )


def test_rendering_is_deterministic() -> None:
    assert reference.render_reference() == reference.render_reference()
    assert reference.render_layout() == reference.render_layout()


def test_every_field_of_every_model_has_a_description() -> None:
    missing = [
        f"{model.__name__}.{key}"
        for model in reference.models()
        for key in model.model_fields
        if not reference.field_description(model, key).strip()
    ]
    assert not missing, f"give these fields a docstring under them: {missing}"


def test_a_description_is_the_docstring_under_the_field_in_the_class_that_declares_it() -> None:
    class Base(Strict):
        size: int = 1
        """How big.

        In units."""

        name: str = "x"
        plain: int = 0

    class Child(Base):
        colour: str = "red"
        """Which colour."""

    assert reference.field_description(Child, "size") == "How big.\n\nIn units."
    assert reference.field_description(Child, "colour") == "Which colour."
    assert reference.field_description(Child, "name") == ""  # the next statement is no string
    assert reference.field_description(Child, "plain") == ""
    assert not Strict.model_config.get("use_attribute_docstrings")  # a config load parses no source


def test_every_model_and_field_is_in_the_reference() -> None:
    shown = {reference.section_target(section)[0] for section in reference.SECTIONS}
    assert set(reference.models()) <= shown, "a new nested model needs a Section in reference.SECTIONS"
    for section in reference.SECTIONS:
        target, _ = reference.section_target(section)
        if not hasattr(target, "model_fields"):
            continue
        subsections = {
            s.path[-1]
            for s in reference.SECTIONS
            if s.file == section.file and s.path and s.path[:-1] == section.path
        }
        rows = {row.key.strip("`") for row in reference.table(section).rows}
        assert rows | subsections == set(target.model_fields), section.title


def test_descriptions_are_markdown_safe() -> None:
    """`<...>` outside a code span would vanish as an HTML tag on GitHub."""
    for model in reference.models():
        for key in model.model_fields:
            prose = re.sub(r"`[^`]*`", "", reference.field_description(model, key))
            assert "<" not in prose.replace("<=", "") and ">" not in prose.replace("->", ""), (
                f"{model.__name__}.{key}: put <...> in backticks"
            )


def profile_leaves() -> dict[tuple[str, ...], dict[str, Any]]:
    """{("cluster", "spot"): {"development": True, "production": False}, ...} from PROFILES."""
    leaves: dict[tuple[str, ...], dict[str, Any]] = {}

    def walk(profile: str, table: dict[str, Any], path: tuple[str, ...]) -> None:
        for key, value in table.items():
            if isinstance(value, dict):
                walk(profile, value, (*path, key))
            else:
                leaves.setdefault((*path, key), {})[profile] = value

    for profile, settings in PROFILES.items():
        walk(profile, settings, ())
    return leaves


def toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


def readme_rows() -> dict[tuple[str, str], list[str]]:
    """(section title, key) -> the cells of that row in README.md's config reference."""
    rows: dict[tuple[str, str], list[str]] = {}
    title = ""
    for line in readme_block("CONFIG REFERENCE").splitlines():
        if line.startswith("### "):
            title = line.removeprefix("### ")
        elif line.startswith("| `"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[(title, cells[0].strip("`"))] = cells
    return rows


def test_profile_values_shown_come_from_profiles() -> None:
    rows = readme_rows()
    leaves = profile_leaves()
    assert leaves, "PROFILES sets nothing?"
    for path, by_profile in leaves.items():
        *section_path, key = path
        (section,) = [
            s for s in reference.SECTIONS if s.file == "environment" and s.path == tuple(section_path)
        ]
        expected = "; ".join(f"{profile}: `{toml(by_profile[profile])}`" for profile in PROFILES)
        assert rows[(section.title, key)][2] == expected, path
        # and the profiles table, one column per profile
        assert rows[("Profiles", ".".join(path))][1:] == [f"`{toml(by_profile[p])}`" for p in PROFILES]


def test_profile_values_are_read_from_profiles_not_written_down(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = {
        name: {**settings, "network": {**settings["network"], "nat": "none"}}
        for name, settings in PROFILES.items()
    }
    monkeypatch.setattr(reference, "PROFILES", changed)
    (network,) = [t for t in reference.tables() if t.title == "`[network]`"]
    (nat,) = [row for row in network.rows if row.key == "`nat`"]
    assert nat.default == "; ".join(f'{name}: `"none"`' for name in PROFILES)


def test_defaults_and_types_are_read_from_the_schema() -> None:
    rows = readme_rows()
    assert rows[("`[network]`", "az_count")][1:3] == ["int (2-6)", "`2`"]
    assert rows[("`[network]`", "cidr")][2] == "required"
    assert rows[("`[network]`", "nat")][1] == '`"none"` \\| `"single"` \\| `"per_az"`'
    assert rows[("`[cluster]`", "instance_type")][2] == '`"t3.medium"`'
    assert rows[("`[domain]`", "hosted_zone_id")][2] == "unset"


def docstring_of(path: Any) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def test_layout_lists_every_package_with_its_summary_line() -> None:
    modules = ROOT / "modules"
    expected = {f"{p.parent.relative_to(modules).as_posix()}/" for p in modules.rglob("__init__.py")} - {"./"}
    expected |= {p.name for p in modules.glob("*.py") if p.name != "__init__.py"}
    listed = dict(reference.packages())
    assert set(listed) == expected
    assert {
        "core/",
        "config/",
        "cdk.py",
        "security/",
        "network/",
        "data/",
        "compute/",
        "compute/service/",
        "edge/",
        "stacks/",
    } <= set(listed)
    for name in listed:
        source = modules / name / "__init__.py" if name.endswith("/") else modules / name
        lines = docstring_of(source).splitlines()
        # PEP 257: a one-line summary, then a blank line before any more
        assert lines and (len(lines) == 1 or lines[1] == ""), f"modules/{name}: one-line docstring summary"
        assert f"- `{name}`: {lines[0]}" in readme_block("LAYOUT")


def test_layout_names_only_paths_that_exist() -> None:
    top_level = re.findall(r"^- `([^`]+)`", readme_block("LAYOUT"), flags=re.MULTILINE)
    assert "modules/" in top_level
    for path in top_level:
        assert (ROOT / path).exists(), f"README layout lists {path}, which does not exist"


def test_update_rewrites_a_stale_readme_and_keeps_the_prose(tmp_path: Any) -> None:
    stale = tmp_path / "README.md"
    current = README.read_text(encoding="utf-8")
    stale.write_text(current.replace(readme_block("CONFIG REFERENCE"), "| old | table |\n"), encoding="utf-8")
    assert reference.update_readme(stale, write=False) is True
    assert "| old | table |" in stale.read_text(encoding="utf-8")
    assert reference.update_readme(stale) is True
    assert stale.read_text(encoding="utf-8") == current
    assert reference.update_readme(stale) is False


def test_docs_check_passes_on_the_committed_readme() -> None:
    before = README.read_bytes()
    result = run_main("docs", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert README.read_bytes() == before
