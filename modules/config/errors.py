"""Config problems: each one line `<file>: <key.path>: <problem>`, all collected into one error."""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, StringConstraints
from pydantic_core import ErrorDetails

from modules.config.types import (
    AccountId,
    CertificateArn,
    EnvName,
    HostedZoneId,
    HostName,
    PathPattern,
    Region,
    RoleArn,
    SecretRef,
    Slug,
    TagKey,
    TagValue,
    ZoneLetter,
)


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


def _pattern(constrained: Any) -> str:
    (pattern,) = [m.pattern for m in constrained.__metadata__ if isinstance(m, StringConstraints)]
    return str(pattern)


SLUG_WORDS = "2-20 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'"
_NAME_CHARACTERS = "letters, digits, spaces and _ . : / = + @ -"

# What each pattern of the schema asks for, in words: shown instead of the regular expression.
PATTERN_WORDS: dict[str, str] = {
    _pattern(Slug): f"must be {SLUG_WORDS}",
    _pattern(AccountId): "must be an AWS account id: 12 digits",
    _pattern(Region): "must be an AWS region such as eu-west-1 or us-gov-west-1",
    _pattern(RoleArn): "must be an IAM role ARN: arn:aws:iam::<12-digit account id>:role/<role name>",
    _pattern(ZoneLetter): 'must be one zone letter a-z, such as "a"',
    _pattern(TagKey): f"may hold only {_NAME_CHARACTERS}",  # also the project's owner
    _pattern(TagValue): f"may hold only {_NAME_CHARACTERS}",
    _pattern(HostName): (
        "must be a lower-case DNS name such as api.example.com (labels of a-z, 0-9 and '-', not "
        "starting or ending with '-'; '*.' in front for a wildcard)"
    ),
    _pattern(PathPattern): "must be a path starting with '/', of letters, digits and _ - . / * ? ~ %",
    _pattern(
        EnvName
    ): "must be an environment variable name: letters, digits and '_', not starting with a digit",
    _pattern(CertificateArn): (
        "must be an ACM certificate ARN: arn:aws:acm:<region>:<12-digit account id>:certificate/<id>"
    ),
    _pattern(HostedZoneId): "must be a Route 53 hosted zone id: 'Z' and then upper-case letters and digits",
    _pattern(SecretRef): (
        "must be a Secrets Manager or SSM parameter ARN, ssm:<parameter name> or secretsmanager:<secret name>"
    ),
    # Patterns written in place in the sections:
    r"^[a-z][a-z0-9-]*\.[a-z0-9]+$": "must be an EC2 instance type such as t3.medium",
    r"^\S+$": "must be an image reference without spaces, such as public.ecr.aws/nginx/nginx:1.27",
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$": (
        "must be an image tag: 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
    ),
    r"^[0-9]+(:[0-9]+)?$": "must be a numeric uid or uid:gid, such as 1000 or 1000:1000",
}


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
