"""Settings sections defined once, by the JSON schemas in ``fmrstrial/schemas/<section>.yaml``.

Each schema gives every key of its section with type, limits (enum, minimum, ...), default and
a one-sentence description. The package takes its defaults from it (`defaults`), validates
overrides with it (`resolve`); the workflow's config schema and config/README.md hold copies
generated from it (`python -m fmrstrial.config_docs`; a test fails when they differ), so no
key is written twice by hand. One check a JSON schema cannot express is read from the
extension keyword ``x-increasing: true`` on a list: its numbers must increase ([low, high]
ranges).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .errors import InputError, Problem

#: Sections whose schema the package ships (file name without .yaml).
SECTIONS = ("preprocess", "fit", "qc", "power")


#: libyaml's loader when PyYAML has it (every fit or preprocess job reads its schema at start).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _load(section: str) -> dict:
    """The shipped schema of `section` (checked against the JSON-schema meta-schema by the
    tests, not at every start-up)."""
    if section not in SECTIONS:
        raise ValueError(f"no settings schema '{section}' (known: {', '.join(SECTIONS)})")
    text = resources.files("fmrstrial").joinpath("schemas", f"{section}.yaml").read_text("utf-8")
    return yaml.load(text, Loader=_YAML_LOADER)


def section_schema(section: str) -> dict:
    """The schema of one section (a deep copy: callers may modify it)."""
    return copy.deepcopy(_load(section))


def _default(sub: dict) -> Any:
    """Default of one key; for a mapping with listed keys, the defaults of those keys."""
    if "properties" in sub:
        return {key: _default(child) for key, child in sub["properties"].items()}
    return copy.deepcopy(sub["default"])


def defaults(section: str) -> dict[str, Any]:
    """Every key of `section` with its default value (a fresh copy)."""
    return _default(_load(section))


def descriptions(section: str) -> dict[str, str]:
    """One sentence per key of `section`."""
    return {key: sub["description"] for key, sub in _load(section)["properties"].items()}


def resolve(
    section: str,
    overrides: Mapping[str, Any] | None,
    source: str,
    label: str | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """Defaults of `section` updated by `overrides`, validated; numbers typed as the schema says.

    A key whose schema lists its own keys (a mapping such as power's ``glx``) is updated key
    by key; any other value replaces the default. Raises InputError naming `source`, one
    problem per bad key: ``<label> '<prefix><key path>'``, what was expected, what was given.
    `label` defaults to '<section> setting'.
    """
    label = label or f"{section} setting"
    schema = _load(section)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InputError(f"{section} settings must be a mapping, got {overrides!r}", file=source)
    settings = defaults(section)
    for key, value in _lists(dict(overrides or {})).items():
        nested = "properties" in schema["properties"].get(key, {})
        if nested and isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key].update(value)
        else:
            settings[key] = value
    errors = sorted(
        Draft202012Validator(schema).iter_errors(settings), key=lambda e: _order(schema, e)
    )
    messages = {}  # one message per key: the whole expectation, however many rules failed
    for error in errors:
        messages.setdefault(str(list(error.absolute_path)), _message(label, prefix, schema, error))
    problems = [Problem(source, message) for message in messages.values()]
    if not problems:
        for path, value in _not_increasing(schema, settings):
            problems.append(
                Problem(source, f"{label} '{prefix}{path}': expected low < high, got {value!r}")
            )
    if problems:
        raise InputError(problems)
    return _typed(schema, settings)


def _lists(value: Any) -> Any:
    """A deep copy of `value` with tuples as lists (JSON arrays)."""
    if isinstance(value, Mapping):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return copy.deepcopy(value)


def _order(schema: dict, error: ValidationError) -> tuple[int, str]:
    keys = list(schema["properties"])
    path = list(error.absolute_path)
    top = path[0] if path else None
    return (keys.index(top) if top in keys else -1, str(path))


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _message(label: str, prefix: str, schema: dict, error: ValidationError) -> str:
    parts = list(error.absolute_path)
    known = error.schema.get("properties")
    if error.validator == "additionalProperties" and known and isinstance(error.instance, dict):
        unknown = sorted(str(k) for k in set(error.instance) - set(known))
        where = ", ".join(f"'{prefix}{_path([*parts, k])}'" for k in unknown)
        return f"{label} {where} is unknown (known: {', '.join(sorted(known))})"
    message = (
        f"{label} '{prefix}{_path(parts)}': expected {describe(error.schema)}, "
        f"got {error.instance!r}"
    )
    if parts and isinstance(parts[-1], int):  # an item: say what the whole list must be
        message += f" ('{prefix}{_path(parts[:-1])}' is {describe(_schema_at(schema, parts[:-1]))})"
    return message


def _schema_at(schema: dict, parts: list) -> dict:
    """The subschema that describes the value at `parts` (keys and list indices)."""
    for part in parts:
        if isinstance(part, int):
            prefix = schema.get("prefixItems", [])
            schema = prefix[part] if part < len(prefix) else schema.get("items", {})
        else:
            extra = schema.get("additionalProperties")
            schema = schema.get("properties", {}).get(
                part, extra if isinstance(extra, dict) else {}
            )
    return schema


def _number_words(kind: str, s: dict) -> str:
    word = "an integer" if kind == "integer" else "a number"
    lo, lo_open = s.get("minimum"), False
    if lo is None and s.get("exclusiveMinimum") is not None:
        lo, lo_open = s["exclusiveMinimum"], True
    hi, hi_open = s.get("maximum"), False
    if hi is None and s.get("exclusiveMaximum") is not None:
        hi, hi_open = s["exclusiveMaximum"], True
    if lo is not None and hi is not None:
        return f"{word} in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{word} {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"{word} {'<' if hi_open else '<='} {hi:g}"
    return word


_PLURAL = {"string": "names", "number": "numbers", "integer": "integers", "boolean": "booleans"}


def _array_words(s: dict) -> str:
    if "prefixItems" in s:
        return "a list [" + ", ".join(describe(p) for p in s["prefixItems"]) + "]"
    items = s.get("items", {})
    n_min, n_max = s.get("minItems"), s.get("maxItems")
    if s.get("x-increasing") and n_min == n_max == 2:
        return "a pair [low, high] of numbers with low < high"
    if not items:
        what = "items"
    elif set(items) == {"type"} and items["type"] in _PLURAL:
        what = _PLURAL[items["type"]]
    else:
        what = f"items, each {describe(items)},"
    if n_min is not None and n_min == n_max:
        out = f"a list of {n_min} {what}"
    elif n_min == 1:
        out = f"a non-empty list of {what}"
    elif n_min:
        out = f"a list of at least {n_min} {what}"
    else:
        out = f"a list of {what}"
    out += " without duplicates" if s.get("uniqueItems") else ""
    return out.rstrip(",")


def _object_words(s: dict) -> str:
    if "properties" in s:
        return "a mapping with keys " + ", ".join(s["properties"])
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        return f"a mapping name -> {describe(extra)}"
    return "a mapping"


def describe(s: dict) -> str:
    """What a (sub)schema accepts, in words ('a number > 0', 'one of 'a', 'b'', ...)."""
    if "const" in s:
        return repr(s["const"])
    if "enum" in s:
        return "one of " + ", ".join(repr(v) for v in s["enum"])
    if "anyOf" in s:
        return " or ".join(describe(sub) for sub in s["anyOf"])
    words = []
    for kind in _kinds(s):
        if kind in ("number", "integer"):
            words.append(_number_words(kind, s))
        elif kind == "boolean":
            words.append("true or false")
        elif kind == "null":
            words.append("null")
        elif kind == "string":
            words.append("a string")
        elif kind == "array":
            words.append(_array_words(s))
        elif kind == "object":
            words.append(_object_words(s))
    text = " or ".join(words) or "a value"
    return f"{text} ({s['title']})" if "title" in s and "properties" not in s else text


def _children(s: dict, value: Any) -> Iterator[tuple[Any, dict]]:
    """(key or index, subschema) of each item of `value` that `s` describes."""
    if isinstance(value, dict):
        props, extra = s.get("properties", {}), s.get("additionalProperties")
        for key in value:
            if key in props:
                yield key, props[key]
            elif isinstance(extra, dict):
                yield key, extra
    elif isinstance(value, list):
        prefix, items = s.get("prefixItems", []), s.get("items")
        for k in range(len(value)):
            if k < len(prefix):
                yield k, prefix[k]
            elif isinstance(items, dict):
                yield k, items


def _not_increasing(s: dict, value: Any, path: tuple = ()) -> Iterator[tuple[str, Any]]:
    if s.get("x-increasing") and isinstance(value, list):
        if any(not a < b for a, b in zip(value, value[1:], strict=False)):
            yield _path(path), value
    for key, sub in _children(s, value):
        yield from _not_increasing(sub, value[key], (*path, key))


def _typed(s: dict, value: Any) -> Any:
    """`value` with numbers as float and integers as int wherever the schema says so."""
    kinds = _kinds(s) + [k for sub in s.get("anyOf", []) for k in _kinds(sub)]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        if "number" in kinds:
            return float(value)
        if "integer" in kinds:
            return int(value)
        return value
    if isinstance(value, dict | list):
        for key, sub in _children(s, value):
            value[key] = _typed(sub, value[key])
    return value


def _kinds(s: dict) -> list[str]:
    kinds = s.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)
