"""Config problems: each one line `<file>: <key.path>: <problem>`, all collected into one error."""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from modules.config.types import PATTERN_WORDS


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.problem}"


class ConfigError(Exception):
    """Every problem found in the config, each one line."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def key_path(loc: Iterable[int | str], raw: Any = None) -> str:
    """`services[0] (api).port`: the loc as a key path; a table in a list is named by its `name`."""
    path = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str) and name.isprintable() and 0 < len(name) <= 64:
                path += f" ({name})"
        elif part.startswith(("literal[", "function-")) or part == "[key]":
            continue  # pydantic's own union/validator labels, not config keys
        else:
            shown = part if part.isprintable() and part else repr(part)  # one line, whatever the key
            path += f".{shown}" if path else shown
            node = node.get(part) if isinstance(node, dict) else None
    return path or "(file)"


def labelled(key: str, raw: Any) -> str:
    """A rule's key path (`services[1].priority`) with its tables named as `key_path` names them."""
    parts = re.findall(r"\[(\d+)\]|([^.\[\]]+)", key)
    if key.startswith("(") or "".join(f"[{i}]" if i else f".{n}" for i, n in parts).lstrip(".") != key:
        return key  # not a plain key path: "(file)", a key with odd characters
    return key_path([int(i) if i else n for i, n in parts], raw)


def message_of(error: ErrorDetails | dict[str, Any], model: type[BaseModel] | None = None) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key" + _suggestion(model, tuple(error["loc"]))
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    if kind == "string_pattern_mismatch":
        message = PATTERN_WORDS.get(str(error.get("ctx", {}).get("pattern")), message)
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if tuple(error["loc"])[-1:] == ("[key]",):
        message = f"key {message}" if message.startswith(("must", "may")) else f"key: {message}"
    # Echo what was given when it is a value, not a whole table (model-level rules say enough).
    given = error.get("input")
    if isinstance(given, str | int | float | bool | list) and len(repr(given)) <= 80:
        message += f" (got {given!r})"
    return message


def problems_of(
    file: str, errors: Iterable[ErrorDetails], model: type[BaseModel] | None = None, raw: Any = None
) -> list[ConfigProblem]:
    """One problem per pydantic error of validating `raw` as `model` (both only sharpen messages)."""
    return [ConfigProblem(file, key_path(e["loc"], raw), message_of(e, model)) for e in errors]


def _suggestion(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> str:
    """`; did you mean health_check_path?` for a key close to one the table knows."""
    table = _model_at(model, loc[:-1]) if model is not None else None
    if table is None or not loc or not isinstance(loc[-1], str):
        return ""
    close = difflib.get_close_matches(loc[-1], list(table.model_fields), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model of the table at `loc` below `model`, following fields, list items and table values."""
    hint: Any = model
    for part in loc:
        hint = _unwrap(hint)
        if isinstance(part, int) and get_origin(hint) is list:
            (hint,) = get_args(hint)
        elif isinstance(part, str) and get_origin(hint) is dict:
            hint = get_args(hint)[1]
        elif isinstance(part, str) and isinstance(hint, type) and issubclass(hint, BaseModel):
            field = hint.model_fields.get(part)
            if field is None:
                return None
            hint = field.annotation
        else:
            return None
    hint = _unwrap(hint)
    return hint if isinstance(hint, type) and issubclass(hint, BaseModel) else None


def _unwrap(hint: Any) -> Any:
    """`Annotated[X, ...]` -> X; `X | None` -> X."""
    while True:
        if get_origin(hint) is Annotated:
            hint = get_args(hint)[0]
        elif get_origin(hint) in (Union, types.UnionType):
            present = [arg for arg in get_args(hint) if arg is not type(None)]
            if len(present) != 1:
                return hint
            hint = present[0]
        else:
            return hint
