"""Per-operation checks built once from openapi-core's own parts, for the hot path.

openapi-core's unmarshallers find the path, resolve ``$ref``s and build a fresh JSON Schema
validator on every call: about 1 ms per request and as much per response on the seed specs.
Here the same validators (the class, format checker and options of the version's factory)
are built the first time an operation is used, then kept; plain parameters are cast the way
openapi-core's casters cast them. openapi-core stays the source of truth for what the
spec means, and tests/test_compiled.py runs both on the same inputs.

A check here answers "valid" or ``None`` ("ask openapi-core"): unusual shapes (parameters
with ``content`` or ``allowEmptyValue: false``, bodies that are not JSON, undeclared statuses) and
every failing parameter or response go the slow way, so messages stay openapi-core's.
Request bodies are the exception: their violations come from the same validator's errors,
worded by validation.py as before.
"""

from __future__ import annotations

import json
import threading
import typing as t
from dataclasses import dataclass

from jsonschema_path import SchemaPath
from openapi_core.unmarshalling.schemas import oas30_format_unmarshallers
from openapi_core.unmarshalling.schemas import oas31_format_unmarshallers
from openapi_core.util import BOOLEAN_FALSE_VALUES
from openapi_core.util import BOOLEAN_TRUE_VALUES
from openapi_core.validation.schemas.validators import SchemaValidator
from werkzeug.datastructures import Headers

from mocksrv.engine.fastpath.quickaccept import quick_acceptor
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.wire.media import is_json

Json = t.Any
K = t.TypeVar("K")
V = t.TypeVar("V")
LOCATIONS = ("path", "query", "header", "cookie")
SIMPLE_TYPES = {"string", "integer", "number", "boolean"}
# openapi-core turns these formats into Python objects (dates, UUIDs, bytes); keep them on its path
UNMARSHALLED_FORMATS = set(oas30_format_unmarshallers) | set(oas31_format_unmarshallers)
DEFAULT_STYLES = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}


class _Missing(Exception):
    """A parameter or header that is absent."""


@dataclass
class _Value:
    """One plain parameter or header: where it is, how openapi-core casts it, the validator it uses."""

    name: str
    location: str
    required: bool
    default: Json
    has_default: bool
    kind: str  # string, integer, number or boolean
    validator: SchemaValidator

    def read(self, source: t.Any) -> Json:
        """The typed value; raises on anything openapi-core would report (the caller then asks it)."""
        try:
            value = _cast(self.kind, source[self.name])  # every style reads a primitive as location[name]
        except KeyError:
            if not self.has_default:
                raise _Missing(self.name) from None
            value = self.default
        if not self.validator.validator.is_valid(value):
            raise ValueError("invalid")
        return value  # plain formats: openapi-core's unmarshalling leaves the value as it is


def _cast(kind: str, text: t.Any) -> Json:
    """openapi-core 0.23's primitive casters: int(), float(), its truth words, strings as they are."""
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        lowered = str(text).lower()
        if lowered not in BOOLEAN_TRUE_VALUES + BOOLEAN_FALSE_VALUES:
            raise ValueError("not a boolean")
        return lowered in BOOLEAN_TRUE_VALUES
    return text


@dataclass
class JsonCheck:
    """openapi-core's validator for a JSON value, with jsonschema-rs in front when the schema translates."""

    validator: SchemaValidator
    quick: t.Callable[[Json], bool] | None

    def surely_valid(self, value: Json) -> bool:
        """The quick check's "valid"; False also means "not known": ask the validator."""
        return self.quick is not None and self.quick(value)

    def errors(self, value: Json) -> list[t.Any]:
        if self.surely_valid(value):
            return []
        try:
            return list(self.validator.validator.iter_errors(value))
        except TypeError as exc:  # openapi-schema-validator looks up a discriminator value that is no string
            return [ValueError(f"request body could not be read: {exc}")]  # as the slow path words it

    def is_valid(self, value: Json) -> bool:
        try:
            return self.surely_valid(value) or bool(self.validator.validator.is_valid(value))
        except TypeError:  # as in `errors`: the slow path says what is wrong
            return False


class ApiChecks:
    """The per-operation parts of one API, built on first use (thread-safe, idempotent)."""

    def __init__(self, api: ApiSpec, units: t.Any) -> None:
        self.api = api
        self.spec: SchemaPath = api.openapi.spec
        self.request_units = units.parameters  # carries the factories and options openapi-core uses
        self.response_units = units.response
        self._parameters: dict[str, list[_Value] | None] = {}
        self._validators: dict[tuple[str, ...], JsonCheck | None] = {}
        self._decoded_validators: dict[tuple[str, ...], JsonCheck | None] = {}
        self._headers: dict[tuple[str, str], list[_Value] | None] = {}
        self._contents: dict[tuple[str, str], frozenset[str]] = {}
        self._lock = threading.Lock()

    # -- requests ---------------------------------------------------------------------------

    def parameters(self, operation: Operation, path_params: t.Mapping[str, str], query: t.Any, headers: t.Any,
                   cookies: t.Any) -> dict[str, dict[str, Json]] | None:
        """Typed parameters by location, or ``None`` when openapi-core must decide (or word a failure)."""
        readers = self._cached(self._parameters, operation.key, lambda: self._parameter_readers(operation))
        if readers is None:
            return None
        return _read_all(readers, {"path": path_params, "query": query, "header": headers, "cookie": cookies})

    def body_validator(self, operation: Operation, media_key: str) -> JsonCheck | None:
        """The request body's validator for a JSON media type, or ``None`` when openapi-core must decide."""
        if not is_json(media_key):
            return None
        return self._cached(self._validators, ("request", operation.key, media_key),
                            lambda: self._media_validator(self.request_units, self._body_media(operation, media_key)))

    def decoded_body_validator(self, operation: Operation, media_key: str, factory: t.Any) -> JsonCheck | None:
        """The validator for a body validation.py reads itself (a form's parts, the JSON text of an
        object in a type that is not JSON, an empty body), made once.

        Its quick check applies only to forms without files: file parts decode to objects only
        openapi-core takes.
        """
        def make() -> JsonCheck | None:
            media = self._body_media(operation, media_key)
            if "schema" not in media:
                return None
            validator = factory.create(self.spec, media / "schema")
            return JsonCheck(validator, quick_acceptor(validator, self.api, strict_options=False))

        return self._cached(self._decoded_validators, (operation.key, media_key), make)

    # -- responses --------------------------------------------------------------------------

    def response_is_valid(self, operation: Operation, status: int, headers: Headers, body: bytes | None) -> bool:
        """True only when the response is surely valid; False means "ask openapi-core"."""
        response_key = response_key_for(operation, status)
        if response_key is None:
            return False
        readers = self._cached(self._headers, (operation.key, response_key),
                               lambda: self._header_readers(self._response(operation, response_key)))
        if readers is None or _read_all(readers, {"header": headers}) is None:
            return False
        content = self._cached(self._contents, (operation.key, response_key),
                               lambda: frozenset(self._response(operation, response_key).get("content", {}).keys()))
        if not content:
            return True  # openapi-core checks no body where none is described
        mimetype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if mimetype not in content or not is_json(mimetype) or not body:
            return False
        validator = self.response_check(operation, response_key, mimetype)
        if validator is None:
            return False
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return False
        return validator.is_valid(value)

    def response_check(self, operation: Operation, response_key: str, media_key: str) -> JsonCheck | None:
        """The check of one response body (``response_key`` as the spec writes it), made once."""
        return self._cached(
            self._validators, ("response", operation.key, response_key, media_key),
            lambda: self._media_validator(self.response_units,
                                          self._response(operation, response_key) / "content" / media_key))

    # -- building ---------------------------------------------------------------------------

    def _cached(self, cache: dict[K, V], key: K, make: t.Callable[[], V]) -> V:
        if key in cache:  # the common case: no lock on the hot path (dict reads are atomic)
            return cache[key]
        with self._lock:
            if key not in cache:
                cache[key] = make()
            return cache[key]

    def _validator(self, units: t.Any, schema: SchemaPath) -> SchemaValidator:
        return units.schema_validators_factory.create(  # type: ignore[no-any-return]
            self.spec, schema, format_validators=units.format_validators,
            extra_format_validators=units.extra_format_validators,
            forbid_unspecified_additional_properties=units.forbid_unspecified_additional_properties,
            enforce_properties_required=units.enforce_properties_required)

    def _body_media(self, operation: Operation, media_key: str) -> SchemaPath:
        return self.spec / "paths" / operation.template / operation.method / "requestBody" / "content" / media_key

    def _response(self, operation: Operation, response_key: str) -> SchemaPath:
        return self.spec / "paths" / operation.template / operation.method / "responses" / response_key

    def _media_validator(self, units: t.Any, media: SchemaPath) -> JsonCheck | None:
        if "schema" not in media:
            return None
        validator = self._validator(units, media / "schema")
        strict = bool(units.forbid_unspecified_additional_properties or units.enforce_properties_required)
        return JsonCheck(validator, quick_acceptor(validator, self.api, strict_options=strict))

    def _parameter_readers(self, operation: Operation) -> list[_Value] | None:
        path_item = self.spec / "paths" / operation.template
        nodes = [*(path_item / operation.method).get("parameters", []), *path_item.get("parameters", [])]
        readers: list[_Value] = []
        seen: set[tuple[str, str]] = set()
        for node in nodes:  # operation parameters first: they override the path item's
            with node.resolve() as resolved:
                name, location = str(resolved.contents.get("name")), str(resolved.contents.get("in"))
            if (name, location) in seen:
                continue
            seen.add((name, location))
            reader = self._reader(node, name, location)
            if reader is None:
                return None
            readers.append(reader)
        return readers

    def _header_readers(self, response: SchemaPath) -> list[_Value] | None:
        readers: list[_Value] = []
        for name, node in (response.get("headers") or {}).items():
            if str(name).lower() == "content-type":
                continue
            reader = self._reader(node, str(name), "header")
            if reader is None:
                return None
            readers.append(reader)
        return readers

    def _reader(self, node: SchemaPath, name: str, location: str) -> _Value | None:
        """A fast reader for a plain parameter or header, or ``None`` for anything openapi-core does specially."""
        with node.resolve() as resolved:
            raw = resolved.contents
        # allowEmptyValue is true in openapi-core's copy unless the spec says false (specs._accept_empty_query_value)
        if not isinstance(raw, dict) or "content" in raw or raw.get("allowEmptyValue", True) is not True \
                or raw.get("deprecated"):
            return None
        if raw.get("style", DEFAULT_STYLES[location]) != DEFAULT_STYLES[location] or "schema" not in raw:
            return None
        schema = node / "schema"
        with schema.resolve() as resolved:
            schema_raw = resolved.contents
        if not isinstance(schema_raw, dict) or str(schema_raw.get("type")) not in SIMPLE_TYPES:
            return None  # no type, a 3.1 type list, arrays and objects: openapi-core's styles apply
        if str(schema_raw.get("format")) in UNMARSHALLED_FORMATS or {"allOf", "anyOf", "oneOf"} & set(schema_raw):
            return None
        units = self.request_units if location != "header" or "in" in raw else self.response_units
        return _Value(name=name, location=location, required=bool(raw.get("required", False)),
                      default=schema_raw.get("default"), has_default="default" in schema_raw,
                      kind=str(schema_raw["type"]), validator=self._validator(units, schema))


def _read_all(readers: list[_Value], sources: t.Mapping[str, t.Any]) -> dict[str, dict[str, Json]] | None:
    """Each reader's value by location; ``None`` when any is missing but required, or fails in any way
    (openapi-core then says what is wrong, in its words)."""
    found: dict[str, dict[str, Json]] = {where: {} for where in LOCATIONS}
    for reader in readers:
        try:
            found[reader.location][reader.name] = reader.read(sources[reader.location])
        except _Missing:
            if reader.required:
                return None
        except Exception:
            return None
    return found


def response_key_for(operation: Operation, status: int) -> str | None:
    """The response openapi-core would pick: the exact status, its ``NXX`` range, then ``default``."""
    responses = operation.spec.get("responses") or {}
    if not all(isinstance(key, str) for key in responses):
        return None  # YAML integer keys: leave the lookup to openapi-core
    for key in (str(status), f"{str(status)[0]}XX"):
        if key in responses:
            return key
    return "default" if "default" in responses else None
