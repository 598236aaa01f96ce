"""The frozen pydantic base model and the translation of its errors into `Problem`s."""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from sim.errors import InputError, Problem
from sim.model.dated import ALWAYS
from sim.model.units import bound_text
from sim.model.yamlfile import Document


class Model(BaseModel):
    """Configuration: frozen, typed, and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def validate(model: type[Model], doc: Document, context: dict[str, Any] | None = None) -> Any:
    """Validate a YAML document into `model`, or raise every problem at once."""
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        misspelt = _misspelt_keys(model, errors)
        raise InputError(
            [
                to_problem(model, doc, err)
                for err in errors
                if not (err["type"] == "missing" and tuple(err["loc"]) in misspelt)
            ]
        ) from None


def _misspelt_keys(model: type[BaseModel], errors: list[Any]) -> set[tuple[Any, ...]]:
    """Required keys that an unknown key is a near miss of: its problem says it all."""
    found = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc = tuple(err["loc"])
            hint = difflib.get_close_matches(
                str(loc[-1]), _allowed_keys(model, loc[:-1]), n=1, cutoff=0.6
            )
            found |= {(*loc[:-1], h) for h in hint}
    return found


def to_problem(model: type[BaseModel], doc: Document, err: Any) -> Problem:
    """One pydantic error as a `file:line:col: key.path: message` problem."""
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return doc.problem(_data_loc(doc, loc), _unknown_key(model, loc), key=True)
    if kind == "missing":
        return doc.problem(_data_loc(doc, loc), "a required key is missing")
    if kind == "union_tag_invalid":  # point at the `dist:` value, not the whole mapping
        loc = (*loc, str(err["ctx"]["discriminator"]).strip("'"))
    return doc.problem(_data_loc(doc, loc), _message(err), key=loc[-1:] == ("[key]",))


def _data_loc(doc: Document, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The error location as written in the file.

    Keeps the parts found in the data, and key names that are not there (a missing or
    unknown key); leaves out union tags, wrapper names and the date that `Dated` gives a
    value written without dates.
    """
    out: list[Any] = []
    node = doc.data
    for part in loc:
        if isinstance(node, dict) and part not in node:  # pydantic gives date keys as repr
            part = next((k for k in node if repr(k) == part), part)
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif isinstance(part, str) and not _is_wrapper(part):
            node = None
        else:
            continue
        out.append(part)
    return tuple(out)


def _is_wrapper(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in _DIST_TAGS or part == repr(ALWAYS))


_DIST_TAGS = {"fixed", "exponential", "lognormal", "uniform", "gamma", "empirical"}

_AWARE = "2026-03-02T00:00:00+08:00"
_MESSAGES = {
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected text",
    "dict_type": "expected a mapping of keys",
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "list_type": "expected a list",
    "date_type": "expected a date YYYY-MM-DD",
    "date_parsing": "expected a date YYYY-MM-DD",
    "date_from_datetime_parsing": "expected a date YYYY-MM-DD",
    "datetime_type": f"expected a date and time with its UTC offset, e.g. {_AWARE}",
    "datetime_parsing": f"expected a date and time with its UTC offset, e.g. {_AWARE}",
    "timezone_aware": f"the time needs its UTC offset, e.g. {_AWARE}",
    "finite_number": "must be a finite number",
}


_PATTERNS = {
    r"^[A-Z]{3}$": "a three-letter currency code in capitals, e.g. USD",
    "^(packing|pickup)$": "packing or pickup",
}


def _shown(value: Any) -> str:
    """A value as the user wrote it in YAML."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = repr(value)
    if len(text) <= 60:
        return text
    if type(value) is int:
        return f"a {len(text.lstrip('-'))}-digit number"
    return text[:55] + ("...'" if isinstance(value, str) else "...")


def _message(err: Any) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if type(value) is bool and kind in ("int_type", "float_type"):
        number = "a whole number" if kind == "int_type" else "a number"
        return f"{_shown(value)} is wrong; expected {number}, not true or false"
    shown = _shown(value)
    if kind == "bool_type" and isinstance(value, str):
        return (
            f"{shown} is text here (YAML 1.2 reads only true/false as booleans); "
            "write true or false"
        )
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        limits = {
            "greater_than_equal": ">=",
            "less_than_equal": "<=",
            "greater_than": ">",
            "less_than": "<",
        }
        bound = next(iter(ctx.values()))
        return f"{shown} is out of range; expected a value {limits[kind]} {bound_text(bound)}"
    if kind == "union_tag_invalid":
        expected = ctx.get("expected_tags", "")
        tags = [t.strip(" '") for t in str(expected).split(",")]
        hint = difflib.get_close_matches(str(ctx.get("tag")), tags, n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        discriminator = str(ctx.get("discriminator", "kind")).strip("'")
        return f"unknown {discriminator} {ctx.get('tag')!r}; expected one of {expected}{tip}"
    if kind == "union_tag_not_found":
        return (
            "no dist key; every distribution names its dist: "
            "fixed, exponential, lognormal, uniform, gamma or empirical"
        )
    if kind in ("literal_error", "enum"):
        from sim.metrics import RENAMED

        if str(value) in RENAMED:
            new, why = RENAMED[str(value)]
            return f"{shown} is now {new!r}: {why}"
        expected = ctx.get("expected", "")
        options = [t.strip(" '") for t in str(expected).replace(" or ", ",").split(",")]
        hint = difflib.get_close_matches(str(value), options, n=1)
        tip = f"did you mean {hint[0]!r}? " if hint else ""
        return f"{shown} is not allowed; {tip}expected {expected}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return f"{shown} is wrong; expected {_PATTERNS.get(pattern, f'text matching {pattern}')}"
    if kind == "string_too_short":
        return f"{shown} is empty; expected text"
    if kind == "too_short":
        return f"has {ctx.get('actual_length')} entries; expected at least {ctx.get('min_length')}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"])).removeprefix("Value error, ")
    if kind in _MESSAGES:
        return (
            f"{shown} is wrong; {_MESSAGES[kind]}"
            if value is not None
            else f"no value given; {_MESSAGES[kind]}"
        )
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
    models = [t for t in _plain_types(current) if isinstance(t, type) and issubclass(t, BaseModel)]
    if len(models) == 1:  # a model, or an optional one
        return [f.alias or name for name, f in models[0].model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def _plain_types(tp: Any) -> set[Any]:
    """`float | None` -> {float}; `Annotated[int, ...]` -> {int}."""
    tp = _unwrap(tp)
    if get_origin(tp) in (typing.Union, types.UnionType):
        return {_unwrap(a) for a in get_args(tp)} - {type(None)}
    return {tp}


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
