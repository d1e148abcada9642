"""Config problems: each one line `<file>: <key.path>: <problem>`, all collected into one error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


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


def key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith("literal[") or part.startswith("function-"):
            continue  # pydantic's own union/validator labels, not config keys
        else:
            path += f".{part}" if path else part
    return path or "(file)"


def message_of(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    # Echo what was given when it is a value, not a whole table (model-level rules say enough).
    given = error.get("input")
    if isinstance(given, str | int | float | bool | list) and len(repr(given)) <= 80:
        message += f" (got {given!r})"
    return message


def problems_of(file: str, exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[ConfigProblem]:
    return [ConfigProblem(file, key_path(prefix + tuple(e["loc"])), message_of(e)) for e in exc.errors()]
