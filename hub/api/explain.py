"""Validation refusals in the hub's own words, from a request type's declared constraints.

msgspec says *that* a value is wrong ("Expected `str` of length >= 1"); a
developer needs to read *what is allowed*: the values of an enum, a length or
range with its limits, a type in plain words, the field they probably meant.
``explain`` walks a field's type (``msgspec.inspect``) beside the JSON value
it was given and says the first thing wrong with it, at its JSON path
(``sims[1].slot``). It is only asked once msgspec has refused the value, so
msgspec stays the judge and this module only words the verdict.

A constraint is described by its ``Meta``: a ``description`` ("a string of 4
to 8 digits") and ``examples`` are shown in the message and in OpenAPI alike.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import msgspec
import msgspec.inspect as mi

Problem = dict[str, str]

# What a developer coming from another SMS API writes for the hub's fields.
# Used only when the field it points to belongs to the request at hand.
ALIASES: Final = {
    "phone": "to", "phone_number": "to", "number": "to", "msisdn": "to", "recipient": "to",
    "destination": "to", "mobile": "to",
    "message": "text", "body": "text", "content": "text", "msg": "text", "sms": "text",
    "ttl": "ttl_seconds", "expires_in": "ttl_seconds", "validity": "ttl_seconds",
    "device": "device_id", "sim": "sim_slot", "slot": "sim_slot",
    "lang": "locale", "language": "locale",
    "otp": "code", "pin": "code", "otp_code": "code", "id": "otp_id",
    "scope": "scopes", "event": "events", "webhook_url": "url", "endpoint": "url",
    "recipients": "recipient_ids", "members": "recipient_ids", "list": "list_id",
    "to": "phone", "title": "name",
}  # fmt: skip


def shown(value: Any) -> str:
    """A JSON value as a refusal quotes it: its kind, and a short excerpt."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"a number ({value})" if len(str(value)) <= 24 else "a number"
    if isinstance(value, str):
        if not value:
            return "an empty string"
        if value.isspace():
            return "only blank space"
        excerpt = value if len(value) <= 24 else value[:21] + "..."
        return f"the string {json.dumps(excerpt)}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _example(examples: Iterable[Any]) -> str:
    return ", ".join(json.dumps(e) for e in examples)


class _Words:
    """What a ``Meta`` adds to its type: a description and examples."""

    def __init__(self, extra: dict[str, Any] | None = None) -> None:
        extra = extra or {}
        self.description: str | None = extra.get("description")
        self.examples: list[Any] = list(extra.get("examples", ()))

    def must_be(self, plain: str) -> str:
        what = self.description or plain
        if self.examples:
            what += f", e.g. {_example(self.examples[:2])}"
        return f"must be {what}"


def explain(path: str, value: Any, typ: mi.Type, words: _Words | None = None) -> list[Problem]:
    """The problems of ``value`` against ``typ``; empty if it fits as far as this sees."""
    words = words or _Words()
    if isinstance(typ, mi.Metadata):
        return explain(path, value, typ.type, _Words(typ.extra_json_schema))
    if isinstance(typ, mi.UnionType):
        return _union(path, value, typ, words)
    if isinstance(typ, mi.StrType):
        return _string(path, value, typ, words)
    if isinstance(typ, (mi.IntType, mi.FloatType)):
        return _number(path, value, typ, words)
    if isinstance(typ, mi.BoolType):
        return _kind(path, value, bool, words.must_be("true or false"))
    if isinstance(typ, mi.LiteralType):
        return _literal(path, value, typ)
    if isinstance(typ, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return _array(path, value, typ, words)
    if isinstance(typ, mi.DictType):
        return _dict(path, value, typ, words)
    if isinstance(typ, mi.StructType):
        if not isinstance(value, dict):
            return [_at(path, f"{words.must_be('an object')}; got {shown(value)}")]
        return struct_problems(path, value, typ)
    if isinstance(typ, mi.DateTimeType):
        return _moment(path, value, typ)
    if isinstance(typ, mi.NoneType):
        return _kind(path, value, type(None), "must be null")
    return []


def _at(path: str, message: str) -> Problem:
    return {"field": path or "body", "message": message}


def _kind(path: str, value: Any, kind: type, message: str) -> list[Problem]:
    return [] if isinstance(value, kind) else [_at(path, f"{message}; got {shown(value)}")]


def _plain(typ: mi.Type) -> str:
    """A type in plain words, for a union or a list's items."""
    if isinstance(typ, mi.Metadata):
        description = (typ.extra_json_schema or {}).get("description")
        return str(description) if description else _plain(typ.type)
    words = {
        mi.StrType: "a string", mi.IntType: "a whole number", mi.FloatType: "a number",
        mi.BoolType: "true or false", mi.NoneType: "null", mi.DateTimeType: "an RFC 3339 time",
        mi.ListType: "a list", mi.DictType: "an object", mi.StructType: "an object",
    }  # fmt: skip
    if isinstance(typ, mi.LiteralType):
        return "one of " + ", ".join(json.dumps(v) for v in typ.values)
    return next((w for cls, w in words.items() if isinstance(typ, cls)), "a value")


def _fits_kind(value: Any, typ: mi.Type) -> bool:
    """Whether ``value`` is of the JSON kind ``typ`` takes (constraints aside)."""
    if isinstance(typ, mi.Metadata):
        return _fits_kind(value, typ.type)
    kinds: dict[type, tuple[type, ...]] = {
        mi.StrType: (str,), mi.DateTimeType: (str,), mi.LiteralType: (str, int),
        mi.IntType: (int,), mi.FloatType: (int, float), mi.BoolType: (bool,),
        mi.ListType: (list,), mi.SetType: (list,), mi.VarTupleType: (list,),
        mi.FrozenSetType: (list,), mi.DictType: (dict,), mi.StructType: (dict,),
        mi.NoneType: (type(None),),
    }  # fmt: skip
    wanted = next((k for cls, k in kinds.items() if isinstance(typ, cls)), ())
    if isinstance(value, bool) and bool not in wanted:
        return False
    return isinstance(value, wanted)


def _union(path: str, value: Any, typ: mi.UnionType, words: _Words) -> list[Problem]:
    members = typ.types  # inspect leaves UNSET out of a union
    if value is None and any(isinstance(t, mi.NoneType) for t in members):
        return []
    real = [t for t in members if not isinstance(t, mi.NoneType)]
    fitting = [t for t in real if _fits_kind(value, t)]
    if len(fitting) == 1 or len(real) == 1:
        return explain(path, value, (fitting or real)[0], words)
    if fitting:
        return []  # several kinds fit: leave the wording to msgspec's own message
    if any(isinstance(t, mi.FloatType) for t in real):  # "a number" covers whole numbers
        real = [t for t in real if not isinstance(t, mi.IntType)]
    plain = " or ".join(_plain(t) for t in real)
    return [_at(path, f"{words.must_be(plain)}; got {shown(value)}")]


def _string(path: str, value: Any, typ: mi.StrType, words: _Words) -> list[Problem]:
    if not isinstance(value, str):
        return [_at(path, f"{words.must_be('a string')}; got {shown(value)}")]
    lo, hi, size = typ.min_length, typ.max_length, len(value)
    if lo is not None and size < lo:
        if size == 0:
            need = "at least 1 character" if lo == 1 else f"at least {lo} characters"
            return [_at(path, f"must not be empty: write {need}")]
        return [_at(path, f"must be at least {lo} characters long; got {size}")]
    if hi is not None and size > hi:
        return [_at(path, f"must be at most {hi} characters long; got {size}")]
    if typ.pattern is None or re.search(typ.pattern, value):
        return []
    if words.description:
        return [_at(path, f"{words.must_be('')}; got {shown(value)}")]
    return [_at(path, f"must match the pattern {typ.pattern}; got {shown(value)}")]


def _number(path: str, value: Any, typ: mi.IntType | mi.FloatType, words: _Words) -> list[Problem]:
    whole = isinstance(typ, mi.IntType)
    plain = "a whole number" if whole else "a number"
    lo = typ.ge if typ.ge is not None else typ.gt
    hi = typ.le if typ.le is not None else typ.lt
    if lo is not None and hi is not None:
        plain += f" from {lo} to {hi}"
    elif lo is not None:
        plain += f" of at least {lo}" if typ.ge is not None else f" above {lo}"
    elif hi is not None:
        plain += f" of at most {hi}" if typ.le is not None else f" below {hi}"
    ok_kind = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_kind):
        return [_at(path, f"{words.must_be(plain)}; got {shown(value)}")]
    outside = (
        (typ.ge is not None and value < typ.ge)
        or (typ.gt is not None and value <= typ.gt)
        or (typ.le is not None and value > typ.le)
        or (typ.lt is not None and value >= typ.lt)
    )
    if outside:
        return [_at(path, f"must be {plain}; got {value}")]
    return []


def _literal(path: str, value: Any, typ: mi.LiteralType) -> list[Problem]:
    allowed = ", ".join(json.dumps(v) for v in typ.values)
    message = f"must be one of {allowed}; got {shown(value)}"
    if isinstance(value, str):
        close = [v for v in typ.values if isinstance(v, str) and v.lower() == value.lower()]
        close = close or difflib.get_close_matches(value, [str(v) for v in typ.values], n=1)
        if close:
            message += f" (did you mean {json.dumps(close[0])}?)"
    return [_at(path, message)]


def _array(path: str, value: Any, typ: Any, words: _Words) -> list[Problem]:
    items = _plain(typ.item_type)
    if not isinstance(value, list):
        plain = f"a list (each item {items})"
        return [_at(path, f"{words.must_be(plain)}; got {shown(value)}")]
    lo, hi = typ.min_length, typ.max_length
    if lo is not None and len(value) < lo:
        return [_at(path, f"must list at least {lo} item{'s' * (lo != 1)}; got {len(value)}")]
    if hi is not None and len(value) > hi:
        return [_at(path, f"must list at most {hi} items; got {len(value)}")]
    problems: list[Problem] = []
    for index, item in enumerate(value):
        problems += explain(f"{path}[{index}]", item, typ.item_type)
    return problems


def _dict(path: str, value: Any, typ: mi.DictType, words: _Words) -> list[Problem]:
    if not isinstance(value, dict):
        return [_at(path, f"{words.must_be('an object')}; got {shown(value)}")]
    lo, hi = typ.min_length, typ.max_length
    if lo is not None and len(value) < lo:
        return [_at(path, f"must have at least {lo} keys; got {len(value)}")]
    if hi is not None and len(value) > hi:
        return [_at(path, f"must have at most {hi} keys; got {len(value)}")]
    problems: list[Problem] = []
    for key, item in value.items():
        key_problems = explain(f"{path}.{key}", key, typ.key_type)
        for problem in key_problems:
            problem["message"] = "is not an allowed key: " + problem["message"]
        problems += key_problems or explain(f"{path}.{key}", item, typ.value_type)
    return problems


def _moment(path: str, value: Any, typ: mi.DateTimeType) -> list[Problem]:
    example = "2027-01-01T09:30:00Z"
    if not isinstance(value, str):
        return [_at(path, f"must be an RFC 3339 time, e.g. {example}; got {shown(value)}")]
    try:
        moment = msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        return [_at(path, f"must be an RFC 3339 time, e.g. {example}; got {shown(value)}")]
    if typ.tz and moment.tzinfo is None:
        return [_at(path, f"needs a time zone: end it with Z or an offset, e.g. {example}")]
    return []


def struct_problems(path: str, data: dict[str, Any], typ: mi.StructType) -> list[Problem]:
    """Every problem of an object: missing and unknown fields, then each field's value."""
    prefix = f"{path}." if path else ""
    names = [f.encode_name for f in typ.fields]
    problems: list[Problem] = []
    meant = guesses(data, names)
    for field in typ.fields:
        name = field.encode_name
        if name in data:
            problems += explain(prefix + name, data[name], field.type)
        elif field.required:
            problems.append(missing(prefix + name, field.type, meant))
    if typ.forbid_unknown_fields or problems:
        problems += unknown(prefix, meant, names)
    return problems


def guesses(data: dict[str, Any], names: list[str]) -> dict[str, str | None]:
    """Each unknown key of ``data`` → the field it probably meant (or None)."""
    return {key: suggest(key, names, data) for key in data if key not in names}


def missing(path: str, typ: mi.Type, meant: dict[str, str | None]) -> Problem:
    name = path.rpartition(".")[2]
    sent_as = [key for key, hint in meant.items() if hint == name]
    also = f" (you sent `{sent_as[0]}`: rename it `{name}`)" if sent_as else ""
    what = _plain(typ)
    if isinstance(typ, mi.Metadata) and (examples := (typ.extra_json_schema or {}).get("examples")):
        what += f", e.g. {_example(examples[:2])}"
    return _at(path, f"is required ({what}){also}")


def unknown(prefix: str, meant: dict[str, str | None], names: list[str]) -> list[Problem]:
    return [_at(prefix + key, unknown_message(hint, names)) for key, hint in meant.items()]


def suggest(key: str, names: list[str], data: dict[str, Any]) -> str | None:
    """The field probably meant by an unknown ``key``, if one stands out and was not sent."""
    target = ALIASES.get(key.lower())
    if target in names and target not in data:
        return target
    lowered = {n.lower(): n for n in names}
    if key.lower() in lowered:
        return lowered[key.lower()]
    close = difflib.get_close_matches(key.lower(), names, n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_message(meant: str | None, names: list[str]) -> str:
    guess = f"did you mean `{meant}`? " if meant else ""
    return f"is not a field of this request; {guess}the fields are: {', '.join(names)}"


@functools.cache
def struct_info(model: type[msgspec.Struct]) -> mi.StructType:
    """A request type's fields with their constraints (resolved once: it is slow)."""
    info = mi.type_info(model)
    assert isinstance(info, mi.StructType)
    return info
