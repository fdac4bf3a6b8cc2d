"""The fields of a JSON Schema in the OpenAPI document, flattened for the
/docs cards: one ``Field`` per property, nested objects and arrays of objects
following their parent as ``limits.max_queued`` and ``history[].state``.

Pure: it reads the document it is given and nothing else, so a card shows
exactly what ``/api/v1/openapi.json`` says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

_NO_DEFAULT: Final = object()
_DEPTH_LIMIT: Final = 4  # a self-referencing schema stops here instead of looping


@dataclass(frozen=True)
class Limit:
    """One constraint, as a key of ``reference.limits`` in text.toml and its values."""

    key: str
    values: Mapping[str, str]
    each: bool = False  # it applies to every item of an array


@dataclass(frozen=True)
class Field:
    name: str  # dotted path from the body's top: "limits.max_queued", "history[].state"
    depth: int
    type: str  # "string", "integer | null", "string[]", "string (date-time)"
    required: bool
    description: str = ""
    limits: tuple[Limit, ...] = ()
    default: str | None = None  # as JSON, when the schema gives one
    allowed: tuple[str, ...] = ()  # enum values, as JSON


def resolve(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with a local ``$ref`` followed (once per level)."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part]
    return resolve(spec, node)


def fields(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Field]:
    """Every property of ``schema`` (an object schema or a ``$ref`` to one)."""
    return list(_walk(spec, resolve(spec, schema), "", 0))


def describe(spec: Mapping[str, Any], name: str, schema: Mapping[str, Any], required: bool,
             description: str = "", depth: int = 0) -> Field:  # fmt: skip
    """One field: ``schema`` is its (unresolved) schema in the document."""
    variants = _variants(spec, schema)
    default = schema.get("default", _NO_DEFAULT)
    return Field(
        name=name,
        depth=depth,
        type=" | ".join(dict.fromkeys(_type(spec, v) for v in variants)),
        required=required,
        description=str(schema.get("description", description)),
        limits=tuple(limit for v in variants for limit in _limits(spec, v)),
        default=None if default is _NO_DEFAULT else _literal(default),
        allowed=tuple(_literal(value) for v in variants for value in _enum(v)),
    )


def _walk(spec: Mapping[str, Any], schema: Mapping[str, Any], prefix: str,
          depth: int) -> Iterator[Field]:  # fmt: skip
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        yield describe(spec, prefix + name, prop, name in required, depth=depth)
        if depth >= _DEPTH_LIMIT:
            continue
        for variant in _variants(spec, prop):
            if variant.get("properties"):
                yield from _walk(spec, variant, f"{prefix}{name}.", depth + 1)
            items = resolve(spec, variant.get("items", {}))
            if variant.get("type") == "array" and items.get("properties"):
                yield from _walk(spec, items, f"{prefix}{name}[].", depth + 1)


def _variants(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The alternatives of ``anyOf``/``oneOf`` (or the schema itself), resolved."""
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return [resolve(spec, option) for option in options]


def _type(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    if "enum" in schema or "const" in schema:
        values = _enum(schema)
        kinds = {_json_type(v) for v in values}
        return kinds.pop() if len(kinds) == 1 else "any"
    kind = schema.get("type")
    if kind == "array":
        return _type(spec, resolve(spec, schema.get("items", {}))) + "[]"
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind is None:
        return "object" if "properties" in schema else "any"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "null" if value is None else "string"


def _enum(schema: Mapping[str, Any]) -> list[Any]:
    if "const" in schema:
        return [schema["const"]]
    return list(schema.get("enum", ()))


def _literal(value: Any) -> str:
    """A value as it is written in a JSON body (``"uz"``, ``null``, ``[]``)."""
    return json.dumps(value, ensure_ascii=False)


_RANGES: Final = (
    # (low keyword, high keyword, key for both, key for low only, key for high only)
    ("minLength", "maxLength", "length", "min_length", "max_length"),
    ("minimum", "maximum", "range", "minimum", "maximum"),
    ("minItems", "maxItems", "items", "min_items", "max_items"),
    ("minProperties", "maxProperties", "keys", "min_keys", "max_keys"),
)


def _limits(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Iterator[Limit]:
    for low_key, high_key, both, low_only, high_only in _RANGES:
        low, high = schema.get(low_key), schema.get(high_key)
        if low is not None and high is not None:
            yield Limit(both, {"min": str(low), "max": str(high)})
        elif low is not None and not (low_key == "minLength" and low == 0):
            yield Limit(low_only, {"min": str(low)})
        elif high is not None:
            yield Limit(high_only, {"max": str(high)})
    if "pattern" in schema:
        yield Limit("pattern", {"pattern": schema["pattern"]})
    if schema.get("type") == "array":
        items = resolve(spec, schema.get("items", {}))
        if not items.get("properties"):  # an object's own fields follow as rows
            yield from (Limit(limit.key, limit.values, each=True) for limit in _limits(spec, items))
    names = schema.get("propertyNames", {})
    if "pattern" in names:
        yield Limit("key_pattern", {"pattern": names["pattern"]})
    values = schema.get("additionalProperties")
    if isinstance(values, Mapping) and values:
        kinds = " | ".join(_type(spec, v) for v in _variants(spec, values))
        yield Limit("values", {"type": kinds})
