"""Model rules: checks across a model's fields that run whenever their own fields validated.

pydantic runs a model's `after` validators only when every field of the model validated, so one
bad value would hide an unrelated rule's problem until the next run. A method marked
`@rule("cpu", "memory")` runs after validation like such a validator, and also when other fields
failed, as long as `cpu` and `memory` validated; a rule raises ValueError to report a problem,
and every rule's problem is reported, not only the first. `Strict` runs them (types.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails

Method = TypeVar("Method", bound=Callable[..., Any])
_FIELDS = "__rule_fields__"
_RULES: dict[type[BaseModel], tuple[tuple[frozenset[str], Callable[[Any], Any]], ...]] = {}


def rule(*fields: str) -> Callable[[Method], Method]:
    """Mark a method as a rule over `fields`: it runs whenever those fields validated."""

    def mark(method: Method) -> Method:
        setattr(method, _FIELDS, frozenset(fields))
        return method

    return mark


def rules_of(model: type[BaseModel]) -> tuple[tuple[frozenset[str], Callable[[Any], Any]], ...]:
    """The model's rules, base classes' first, each in definition order."""
    if model not in _RULES:
        found = []
        for klass in reversed(model.__mro__):
            for attribute in vars(klass).values():
                fields = getattr(attribute, _FIELDS, None)
                if fields is not None:
                    unknown = fields - set(model.model_fields)
                    if unknown:
                        raise TypeError(
                            f"rule {attribute.__qualname__} names unknown fields {sorted(unknown)}"
                        )
                    found.append((fields, attribute))
        _RULES[model] = tuple(found)
    return _RULES[model]


def validate_with_rules(model: type[BaseModel], data: Any, handler: Callable[[Any], Any]) -> Any:
    """A wrap model validator: the fields through `handler`, then every rule that can run."""
    rules = rules_of(model)
    if not rules:
        return handler(data)
    try:
        validated = handler(data)
    except ValidationError as exc:
        partial = _partial(model, data, exc)
        if partial is None:
            raise
        instance, failed = partial
        problems = [p for fields, check in rules if not fields & failed for p in _run(check, instance)]
        if not problems:
            raise
        raise _combined(model, _details(exc) + _value_errors(data, problems)) from None
    problems = [p for _, check in rules for p in _run(check, validated)]
    if problems:
        raise _combined(model, _value_errors(data, problems))
    return validated


def _run(check: Callable[[Any], Any], instance: BaseModel) -> list[str]:
    try:
        check(instance)
    except ValueError as exc:
        return [str(exc)]
    return []


def _partial(model: type[BaseModel], data: Any, exc: ValidationError) -> tuple[BaseModel, set[str]] | None:
    """The model built from the fields that validated (None: the table itself failed), and the rest.

    Values are not coerced (strict), so a field that validated holds its input as it was given;
    the model's `before` validators are applied as validation applied them.
    """
    if not isinstance(data, dict):
        return None
    failed: set[str] = set()
    for error in exc.errors():
        if not error["loc"]:
            return None
        failed.add(str(error["loc"][0]))
    decorators = model.__pydantic_decorators__
    for decorator in decorators.model_validators.values():
        if decorator.info.mode == "before":
            data = decorator.func(data)
    values = {k: v for k, v in data.items() if k in model.model_fields and k not in failed}
    for decorator in decorators.field_validators.values():
        if decorator.info.mode == "before":
            for name in decorator.info.fields:
                if name in values:
                    values[name] = decorator.func(values[name])
    return model.model_construct(**values), failed


def _details(exc: ValidationError) -> list[InitErrorDetails]:
    details = []
    for error in exc.errors():
        detail = InitErrorDetails(type=error["type"], loc=error["loc"], input=error["input"])
        if "ctx" in error:
            detail["ctx"] = error["ctx"]
        details.append(detail)
    return details


def _value_errors(data: Any, problems: list[str]) -> list[InitErrorDetails]:
    return [
        InitErrorDetails(type="value_error", loc=(), input=data, ctx={"error": ValueError(p)})
        for p in problems
    ]


def _combined(model: type[BaseModel], details: list[InitErrorDetails]) -> ValidationError:
    return ValidationError.from_exception_data(model.__name__, details)
