"""A quick "surely valid" answer for JSON values, from jsonschema-rs, in front of openapi-core's validator.

openapi-core's validators (jsonschema, pure Python) cost 50–60 µs for a small body and more for
a stored record: the largest single cost of a request once the server moved to Rust I/O.
jsonschema-rs checks the same value in a few microseconds, but it does not speak OpenAPI's
dialect. So a schema is translated only when every keyword in it has a plain JSON Schema
equivalent (``nullable`` → a ``null`` type, checked as draft 4 for 3.0 and 2020-12 for 3.1,
``readOnly``/``writeOnly`` → what openapi-core's read and write validators do with them,
``int32``/``int64`` → bounds on integers, every other format → openapi-core's own format
function), and ``$ref``s are inlined. Anything else (discriminators, cycles, patterns with
Unicode-dependent classes, keywords not listed here, references to other files) gets no
quick check.

The quick check may only say "valid". A value it refuses goes to openapi-core, which decides
and words every error, so a too-strict translation costs time, never a different answer;
tests/test_quickaccept.py checks that no value it accepts is one openapi-core refuses.
"""

from __future__ import annotations

import re
import typing as t

import jsonschema_rs

if t.TYPE_CHECKING:
    from openapi_core.validation.schemas.validators import SchemaValidator

    from mocksrv.openapi.specs import ApiSpec

Json = t.Any
Check = t.Callable[[Json], bool]

# keywords whose meaning is the same in both validators (3.0 and 3.1), copied as they are
SAME = {"enum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
        "minProperties", "maxProperties", "required"}
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
# keywords no validator checks: dropped
ANNOTATIONS = {"title", "description", "example", "examples", "default", "deprecated", "externalDocs", "xml",
               "$comment", "summary", "contentMediaType", "contentEncoding"}
INTEGER_FORMATS = {"int32": 31, "int64": 63}  # openapi-core: integers only, within ±2^bits
NO_OP_FORMATS = {"float", "double", "password"}  # true for every JSON value
# Rust's \w, \b and \s classes are wider or narrower than Python's in Unicode; inline flags fold case differently
RISKY_PATTERN = re.compile(r"\\[wWbBsS]|\(\?[a-zA-Z]")
MAX_DEPTH = 64


class _Untranslatable(Exception):
    pass


def quick_acceptor(validator: SchemaValidator, api: ApiSpec, *, strict_options: bool) -> Check | None:
    """A function answering True only for values ``validator`` accepts; None when the schema does not translate.

    :param strict_options: openapi-core's extra strictness is on (no unspecified additional
        properties, every property required): no quick check then.
    """
    if strict_options or api.has_external_refs:
        return None
    inner = validator.validator
    checker = inner.format_checker
    try:
        refuses, skips = _read_write_rules(inner)
        translated = _Translator(api, refuses=refuses, skips=skips,
                                 known_formats=set(checker.checkers) if checker else set()).schema(inner.schema)
        formats = {name: _format_function(checker, name) for name in (checker.checkers if checker else {})
                   if name not in INTEGER_FORMATS and name not in NO_OP_FORMATS}
        # 3.0 is draft 4's dialect: 1.0 is no integer there, and exclusive bounds are booleans
        draft = jsonschema_rs.Draft202012Validator if api.version == "3.1" else jsonschema_rs.Draft4Validator
        fast = draft(translated, formats=formats, validate_formats=True, ignore_unknown_formats=True)
    except Exception:  # untranslatable, or jsonschema-rs refusing the schema (a pattern it cannot compile …)
        return None

    def accepts(value: Json) -> bool:
        try:
            return bool(fast.is_valid(value))
        except Exception:  # a value it cannot take (an integer beyond 64 bits …): let openapi-core decide
            return False

    return accepts


def _read_write_rules(inner: t.Any) -> tuple[set[str], set[str]]:
    """What the validator does with readOnly/writeOnly: the flags whose properties it refuses, and the
    flags whose properties it does not require (openapi-schema-validator's read, write and plain
    validators differ; jsonschema's own ``required``, used for 3.1, knows neither)."""
    required = inner.VALIDATORS.get("required")
    module, name = getattr(required, "__module__", ""), getattr(required, "__name__", "")
    if module.startswith("jsonschema."):
        rules: tuple[set[str], set[str]] = (set(), set())
    elif module.startswith("openapi_schema_validator.") and name in ("read_required", "write_required", "required"):
        rules = {"read_required": ({"writeOnly"}, {"writeOnly"}), "write_required": ({"readOnly"}, {"readOnly"}),
                 "required": (set(), {"readOnly", "writeOnly"})}[name]
    else:
        raise _Untranslatable(f"unknown required keyword {module}.{name}")
    for flag in ("readOnly", "writeOnly"):  # a refusal comes from the flag's own keyword function
        function = inner.VALIDATORS.get(flag)
        refuses = getattr(function, "__name__", "not_implemented") != "not_implemented"
        if refuses != (flag in rules[0]):
            raise _Untranslatable(f"unexpected {flag} keyword")
    return rules


def _format_function(checker: t.Any, name: str) -> t.Callable[[str], bool]:
    return lambda value: bool(checker.conforms(value, name))


class _Translator:
    def __init__(self, api: ApiSpec, *, refuses: set[str], skips: set[str], known_formats: set[str]) -> None:
        self.api = api
        self.version = api.version
        self.refuses = refuses  # readOnly on requests, writeOnly on responses: any value there is refused
        self.skips = skips  # … and such properties are not required
        self.known_formats = known_formats
        self._stack: list[int] = []

    def schema(self, node: Json, resolver: t.Any = None) -> Json:
        if isinstance(node, bool):
            if self.version != "3.1":
                raise _Untranslatable("a boolean schema in 3.0")
            return node
        if not isinstance(node, dict):
            raise _Untranslatable("not a schema")
        if id(node) in self._stack or len(self._stack) > MAX_DEPTH:
            raise _Untranslatable("recursive schema")
        self._stack.append(id(node))
        try:
            return self._object(node, resolver)
        finally:
            self._stack.pop()

    def _object(self, node: dict[str, Json], resolver: t.Any) -> Json:
        parts: list[Json] = []
        out: dict[str, Json] = {}
        if "$ref" in node:
            target, target_resolver = self.api.deref({"$ref": node["$ref"]}, resolver)
            parts.append(self.schema(target, target_resolver))
        if any(node.get(flag) is True for flag in self.refuses):
            return {"not": {}}  # openapi-core refuses any value here, wherever it is
        for key, value in node.items():
            if key == "$ref" or key in ANNOTATIONS or key.startswith("x-") or key in ("readOnly", "writeOnly"):
                continue
            if key in SAME:
                out[key] = value
            elif key == "type":
                out["type"] = self._type(node)
            elif key == "nullable":
                if self.version == "3.1":
                    continue  # not a keyword in 3.1
                if not isinstance(value, bool):
                    raise _Untranslatable("nullable")
            elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                out.update(self._bound(node, key))
            elif key == "multipleOf":  # jsonschema divides floats (0.3 is no multiple of 0.1): integers only
                if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                    raise _Untranslatable("multipleOf")
                out[key] = value
            elif key == "const" and self.version == "3.1":
                out["const"] = value
            elif key == "pattern":
                if not isinstance(value, str) or RISKY_PATTERN.search(value):
                    raise _Untranslatable("pattern")
                re.compile(value)  # openapi-core would call it an invalid schema; let it say so
                out["pattern"] = value
            elif key == "format":
                parts.extend(self._format(value))
            elif key == "properties":
                if not isinstance(value, dict):
                    raise _Untranslatable("properties")
                out["properties"] = {name: self.schema(sub, resolver) for name, sub in value.items()}
            elif key == "additionalProperties":
                out[key] = value if isinstance(value, bool) else self.schema(value, resolver)
            elif key == "items":
                if not isinstance(value, dict):
                    raise _Untranslatable("items as a list")
                out["items"] = self.schema(value, resolver)
            elif key in SUBSCHEMA_LISTS:
                if "discriminator" in node or not isinstance(value, list):
                    raise _Untranslatable("discriminator")
                out[key] = [self.schema(sub, resolver) for sub in value]
            elif key == "not":
                out["not"] = self.schema(value, resolver)
            elif key == "discriminator":
                continue  # only meaningful beside allOf/anyOf/oneOf, which refuse it above
            else:
                raise _Untranslatable(key)
        if "required" in out:
            out["required"] = self._required(node, out["required"])
        return {"allOf": [out, *parts]} if parts else out

    def _type(self, node: dict[str, Json]) -> Json:
        kind = node["type"]
        if self.version == "3.1":
            if isinstance(kind, str) or (isinstance(kind, list) and all(isinstance(k, str) for k in kind)):
                return kind
            raise _Untranslatable("type")
        if not isinstance(kind, str):
            raise _Untranslatable("a type list in 3.0")
        return [kind, "null"] if node.get("nullable") is True else kind

    def _bound(self, node: dict[str, Json], key: str) -> dict[str, Json]:
        """Bounds as they are: 3.0 is checked as draft 4, whose exclusive bounds are booleans like 3.0's."""
        value = node[key]
        boolean_form = self.version != "3.1" and key.startswith("exclusive")
        if isinstance(value, bool) != boolean_form or not isinstance(value, (int, float)):
            raise _Untranslatable(key)
        return {key: value}

    def _format(self, name: Json) -> list[Json]:
        if not isinstance(name, str):
            raise _Untranslatable("format")
        if name in INTEGER_FORMATS:
            bits = INTEGER_FORMATS[name]
            return [{"anyOf": [{"not": {"type": "integer"}}, {"minimum": -(2 ** bits), "maximum": 2 ** bits - 1}]}]
        if name in NO_OP_FORMATS or name not in self.known_formats:
            return []  # openapi-core checks nothing here (jsonschema-rs may check more: only ever stricter)
        return [{"format": name}]

    def _required(self, node: dict[str, Json], names: Json) -> Json:
        """openapi-core does not require a property that its validator would refuse (readOnly on writes …)."""
        if not isinstance(names, list):
            raise _Untranslatable("required")
        properties = node.get("properties") or {}
        kept = []
        for name in names:
            prop = properties.get(name) if isinstance(properties, dict) else None
            if isinstance(prop, dict) and any(prop.get(flag) for flag in self.skips):
                continue
            kept.append(name)
        return kept
