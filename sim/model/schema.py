"""JSON Schemas (draft-07) of the file formats, for editors: completion and checking.

Generated from the models, so they cannot drift from what cancelsim accepts; a test
keeps the copies in schemas/ in sync. Every bundled YAML file names its schema in a
first-line comment `# yaml-language-server: $schema=...`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from sim.model.units import CLOCK_DURATION_PATTERN, DURATION_PATTERN

DATE_KEY = r"^\d{4}-\d{2}-\d{2}$"


class Draft7(GenerateJsonSchema):
    """Pydantic's generator, draft-07 flavoured (see `_draft7`)."""


def _datable(schema: dict[str, Any]) -> dict[str, Any]:
    """Every value of a policy's rules may also be written as a history: a mapping from
    effective date (YYYY-MM-DD) to the value in force from that date. The keys that say
    what a policy is (`FIXED`) and its sources are not dated."""
    from sim.model.policy import FIXED

    def dated(value: dict[str, Any]) -> dict[str, Any]:
        history = {
            "type": "object",
            "patternProperties": {DATE_KEY: value},
            "additionalProperties": False,
            "minProperties": 1,
            "description": "a mapping from effective date (YYYY-MM-DD) to the value in "
            "force from that date",
        }
        return {"anyOf": [value, history]}

    def walk(node: dict[str, Any], top: bool) -> dict[str, Any]:
        properties = node.get("properties")
        if not isinstance(properties, dict):
            return node
        return {
            **node,
            "properties": {k: v if top and k in FIXED else dated(v) for k, v in properties.items()},
        }

    out = walk(schema, True)
    out["$defs"] = {
        name: walk(d, False) if name not in ("Source",) else d
        for name, d in schema.get("$defs", {}).items()
    }
    return out


def _extendable(schema: dict[str, Any]) -> dict[str, Any]:
    """A scenario with `extends:` writes only what differs from its base, at any depth:
    it is checked against the same schema with no key required (`*Partial` definitions),
    and a scenario without it against the whole."""
    import copy

    def partial(node: Any) -> Any:
        if isinstance(node, list):
            return [partial(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {k: partial(v) for k, v in node.items() if k != "required"}
        if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#/definitions/"):
            out["$ref"] += "Partial"
        return out

    definitions = schema.pop("$defs", {})
    whole = {k: v for k, v in schema.items() if k not in ("title", "description")}
    part = partial(copy.deepcopy(whole))
    for name in ("type", "properties", "required", "additionalProperties"):
        schema.pop(name, None)
    schema["$defs"] = {
        **definitions,
        **{f"{name}Partial": partial(copy.deepcopy(d)) for name, d in definitions.items()},
    }
    schema["if"] = {"required": ["extends"]}
    schema["then"] = part
    schema["else"] = whole
    return schema


def json_schema(kind: str) -> dict[str, Any]:
    """The schema of `policy`, `scenario` or `test` files."""
    from sim.checks.expectations import ExpectationFile
    from sim.model.policy import Rules
    from sim.model.scenario import Scenario

    models: dict[str, type[BaseModel]] = {
        "policy": Rules,
        "scenario": Scenario,
        "test": ExpectationFile,
    }
    schema = models[kind].model_json_schema(
        schema_generator=Draft7, ref_template="#/definitions/{model}"
    )
    if kind == "policy":
        schema = _datable(schema)
    if kind == "scenario":
        schema = _extendable(schema)
    schema = _draft7(schema)
    schema["definitions"] = schema.pop("$defs", {})
    if kind in ("policy", "scenario"):
        schema = _declarable(schema)
        schema["definitions"]["DeclaredRange"] = DECLARED_RANGE
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"https://cancelsim.invalid/schemas/{kind}.schema.json",
        **schema,
    }


_QUANTITY = {"anyOf": [{"type": "number"}, {"type": "string"}]}
DECLARED_RANGE = {
    "type": "object",
    "description": "an uncertain number or duration: `value` for ordinary runs, `range` "
    "for sensitivity analysis and uncertainty bands (sim.model.uncertain)",
    "properties": {
        "value": _QUANTITY,
        "range": {"type": "array", "items": _QUANTITY, "minItems": 2, "maxItems": 2},
        "dist": {"enum": ["uniform", "loguniform", "triangular"]},
        "why": {"type": "string"},
    },
    "required": ["value", "range"],
    "additionalProperties": False,
}


def _declarable(node: Any) -> Any:
    """Every number and duration of the schema may also be a declared range."""
    if isinstance(node, list):
        return [_declarable(n) for n in node]
    if not isinstance(node, dict):
        return node
    number = node.get("type") in ("number", "integer")
    duration = any(
        isinstance(a, dict) and a.get("pattern") in (DURATION_PATTERN, CLOCK_DURATION_PATTERN)
        for a in node.get("anyOf", [])
    )
    if number or duration:
        return {"anyOf": [node, {"$ref": "#/definitions/DeclaredRange"}]}
    return {k: _declarable(v) for k, v in node.items()}


def _draft7(node: Any) -> Any:
    """Draft 2020-12 constructs that draft-07 spells differently."""
    if isinstance(node, list):
        return [_draft7(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _draft7(v) for k, v in node.items() if k != "prefixItems"}
    if "prefixItems" in node:
        out["items"] = _draft7(node["prefixItems"])
        out.setdefault("additionalItems", False)
    if "$defs" in node:
        out["$defs"] = _draft7(node["$defs"])
    return out
