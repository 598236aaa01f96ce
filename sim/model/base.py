"""The frozen pydantic base model and the translation of its errors into `Problem`s."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from sim.errors import InputError, Problem
from sim.model.yamlfile import Document


class Model(BaseModel):
    """Configuration: frozen, typed, and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def validate(model: type[Model], doc: Document, context: dict[str, Any] | None = None) -> Any:
    """Validate a YAML document into `model`, or raise every problem at once."""
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        raise InputError([to_problem(model, doc, err) for err in exc.errors()]) from None


def to_problem(model: type[BaseModel], doc: Document, err: Any) -> Problem:
    """One pydantic error as a `file:line:col: key.path: message` problem."""
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return doc.problem(loc, _unknown_key(model, loc), key=True)
    if kind == "missing":
        return doc.problem(loc, "a required key is missing")
    return doc.problem(_data_loc(doc, loc), _message(err))


def _data_loc(doc: Document, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The error location with union tags and wrapper names left out."""
    _, _, found = doc.position(loc)
    tail = [p for p in loc[len(found):] if isinstance(p, int | str) and not _is_wrapper(p)]
    return (*found, *tail[-1:]) if tail and not found else found


def _is_wrapper(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in _DIST_TAGS)


_DIST_TAGS = {"fixed", "exponential", "lognormal", "uniform", "gamma", "empirical"}

_MESSAGES = {
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected text",
    "dict_type": "expected a mapping of keys",
    "list_type": "expected a list",
    "date_type": "expected a date YYYY-MM-DD",
    "date_parsing": "expected a date YYYY-MM-DD",
    "date_from_datetime_parsing": "expected a date YYYY-MM-DD",
    "datetime_type": "expected a date and time with its UTC offset, e.g. 2026-03-02T00:00:00+08:00",
    "datetime_parsing": "expected a date and time with its UTC offset, e.g. 2026-03-02T00:00:00+08:00",
    "timezone_aware": "the time needs its UTC offset, e.g. 2026-03-02T00:00:00+08:00",
    "finite_number": "must be a finite number",
}


def _message(err: Any) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    shown = f"{value!r}" if not isinstance(value, dict | list) else type(value).__name__
    if kind == "bool_type" and isinstance(value, str):
        return f"{shown} is text here (YAML 1.2 reads only true/false as booleans); " \
               "write true or false"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        limits = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">",
                  "less_than": "<"}
        bound = next(iter(ctx.values()))
        return f"{shown} is out of range; expected a value {limits[kind]} {bound}"
    if kind == "union_tag_invalid":
        expected = ctx.get("expected_tags", "")
        tags = [t.strip(" '") for t in str(expected).split(",")]
        hint = difflib.get_close_matches(str(ctx.get("tag")), tags, n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"unknown {ctx.get('discriminator', 'kind')} {ctx.get('tag')!r}; " \
               f"expected one of {expected}{tip}"
    if kind == "union_tag_not_found":
        return f"no {ctx.get('discriminator')} key; every distribution names its dist: " \
               "fixed, exponential, lognormal, uniform, gamma or empirical"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        options = [t.strip(" '") for t in str(expected).replace(" or ", ",").split(",")]
        hint = difflib.get_close_matches(str(value), options, n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"{shown} is not allowed; expected {expected}{tip}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"])).removeprefix("Value error, ")
    if kind in _MESSAGES:
        return f"{shown} is wrong; {_MESSAGES[kind]}" if value is not None else \
            f"no value given; {_MESSAGES[kind]}"
    return err["msg"]


def _unknown_key(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    key = loc[-1]
    allowed = _allowed_keys(model, loc[:-1])
    if not allowed:
        return f"unknown key {key!r}"
    hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    tip = f"did you mean {hint[0]!r}? " if hint else ""
    return f"unknown key {key!r}; {tip}allowed keys: {', '.join(allowed)}"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def _step(tp: Any, part: Any) -> Any:
    """The type found one step down `part` from `tp`, through models, dicts, lists, unions."""
    tp = _unwrap(tp)
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    if origin is dict:
        return get_args(tp)[1]
    if origin in (list, tuple):
        return get_args(tp)[0]
    if origin in (typing.Union, types.UnionType):
        members = [_unwrap(a) for a in get_args(tp) if a is not type(None)]
        for member in members:
            if isinstance(member, type) and issubclass(member, BaseModel):
                tag = member.model_fields.get("dist")
                if tag is not None and part in get_args(tag.annotation):
                    return member
        for member in members:
            found = _step(member, part)
            if found is not None:
                return found
        if len(members) == 1:
            return members[0]
    return None
