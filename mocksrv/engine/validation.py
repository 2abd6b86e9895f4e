"""Check requests and responses against the spec with openapi-core, and word what is wrong.

openapi-core is the source of truth for what the spec means: parameters (style/explode,
casting, schemas), JSON and other bodies, and response bodies and headers all go through
its unmarshallers and schema validators. Two things are ours:

- Content-Type negotiation (415) and the required-body check, so the answer is specific.
- Form bodies (``multipart/form-data``, ``application/x-www-form-urlencoded``): openapi-core
  0.23 leaves integer/boolean parts as strings in 3.0, passes file parts as bytes that
  fail ``type: string`` in 3.1, raises ``TypeError`` on 3.1 type arrays and reads no body
  styles. Werkzeug parses the form, `mocksrv.wire.form_encoding` reads it into the object the
  schema and the Encoding Object describe (repeated keys, delimited values, deepObject, JSON
  parts; each value coerced by its schema), then openapi-core's own schema validator for that
  spec version validates the object.

Every library error is turned into `Violation`s with a field path and a plain sentence
(``to field is required``); no library exception escapes as a 500.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import functools
import json
import logging
import re
import typing as t
import uuid
from dataclasses import dataclass
from dataclasses import field
from xml.etree import ElementTree

from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.exceptions import DeserializeError
from openapi_core.exceptions import OpenAPIError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.unmarshalling.request.unmarshallers import V30RequestBodyUnmarshaller
from openapi_core.unmarshalling.request.unmarshallers import V30RequestParametersUnmarshaller
from openapi_core.unmarshalling.request.unmarshallers import V31RequestBodyUnmarshaller
from openapi_core.unmarshalling.request.unmarshallers import V31RequestParametersUnmarshaller
from openapi_core.unmarshalling.response.unmarshallers import V30ResponseUnmarshaller
from openapi_core.unmarshalling.response.unmarshallers import V31ResponseUnmarshaller
from openapi_core.unmarshalling.schemas import oas30_format_unmarshallers
from openapi_core.unmarshalling.schemas import oas31_format_unmarshallers
from openapi_core.validation.request.exceptions import MissingRequiredParameter
from openapi_core.validation.request.exceptions import MissingRequiredRequestBody
from openapi_core.validation.request.exceptions import ParameterValidationError
from openapi_core.validation.response.exceptions import DataValidationError
from openapi_core.validation.schemas import oas30_write_schema_validators_factory
from openapi_core.validation.schemas import oas31_schema_validators_factory
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import OAS31Validator
from werkzeug.datastructures import Headers
from werkzeug.datastructures import MultiDict

from mocksrv.engine.fastpath.checks import ApiChecks
from mocksrv.engine.fastpath.checks import JsonCheck
from mocksrv.engine.fastpath.checks import response_key_for
from mocksrv.errors import InvalidRequest
from mocksrv.errors import UnsupportedMediaType
from mocksrv.errors import Violation
from mocksrv.exchange import Match
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.openapi.specs import is_deep_array
from mocksrv.openapi.specs import is_deep_object
from mocksrv.wire.form_encoding import FormLayout
from mocksrv.wire.form_encoding import decode_deep_object
from mocksrv.wire.form_encoding import decode_form
from mocksrv.wire.form_encoding import deep_object_layout
from mocksrv.wire.form_encoding import form_layout
from mocksrv.wire.form_encoding import schema_kinds
from mocksrv.wire.media import URLENCODED
from mocksrv.wire.media import carries_text
from mocksrv.wire.media import is_form
from mocksrv.wire.media import is_json
from mocksrv.wire.media import is_json_sequence
from mocksrv.wire.media import is_xml
from mocksrv.wire.media import media_type_of

log = logging.getLogger(__name__)

TOO_DEEP = "request body is nested too deeply"
REQUIRED_MESSAGE = re.compile(r"^'(.*)' is a required property$", re.S)
Json = t.Any


@dataclass
class CheckedRequest:
    """What validation learned: typed parameters and body (files as name/type/size)."""

    parameters: dict[str, dict[str, Json]] = field(default_factory=dict)
    body: Json = None


@dataclass
class _CoreRequest:
    """The request as openapi-core's ``Request`` protocol wants it."""

    method: str
    path: str
    path_pattern: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters
    host_url: str = "http://mocksrv.invalid"


@dataclass
class _CoreResponse:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes | None


@dataclass
class _Unmarshallers:
    parameters: t.Any
    body: t.Any
    response: t.Any
    schema_validators: t.Any


class ApiValidators:
    """openapi-core's unmarshallers and the fast-path checks of one API, made once (openapi-core
    objects are costly to create) and owned by the `engine.catalog.ApiCatalog` that serves it."""

    def __init__(self, api: ApiSpec) -> None:
        self.api = api
        self._nullable: dict[str, tuple[tuple[str, str], ...]] = {}
        self._forms: dict[tuple[str, str], FormLayout] = {}
        self._queries: dict[str, QueryLayout] = {}
        self._json_text: dict[tuple[str, str], bool] = {}

    @functools.cached_property
    def unmarshallers(self) -> _Unmarshallers:
        spec = self.api.openapi.spec
        # openapi-core 0.23 reads only a fixed list of JSON and text types; `application/problem+json`,
        # `application/hal+json` … would fail as "invalid data", and `text/csv` reach the schema as bytes
        named, formats_named = _media_types_and_formats(self.api.document)
        extra: dict[str, t.Callable[[t.Any], t.Any]] = {
            **{media: _text_loads for media in named if media.startswith("text/") and not is_xml(media)},
            **{media: _json_loads for media in named if media.endswith("+json")},
            **{media: _first_json_record for media in named if is_json_sequence(media)}}
        # a binary body (request or response) reaches its schema as text, byte for byte: openapi-core
        # hands it over as bytes, which a plain `type: string` (how many specs write an image) refuses
        answers = {**{media: _bytes_as_text for media in named if _is_binary_type(media)}, **extra}
        # openapi-core refuses a schema whose own format it does not know ("Formatter not found for
        # html format", openapi-core#515); JSON Schema calls an unknown format an annotation
        v30 = self.api.version == "3.0"
        formats: dict[str, t.Callable[[t.Any], t.Any]] = dict.fromkeys(_unknown(formats_named, v30), _as_is)
        def body(kind: t.Any) -> t.Any:
            return kind(spec, extra_media_type_deserializers=answers, extra_format_unmarshallers=formats)

        if v30:
            return _Unmarshallers(V30RequestParametersUnmarshaller(spec, extra_format_unmarshallers=formats),
                                  body(V30RequestBodyUnmarshaller), body(V30ResponseUnmarshaller),
                                  oas30_write_schema_validators_factory)
        return _Unmarshallers(V31RequestParametersUnmarshaller(spec, extra_format_unmarshallers=formats),
                              body(V31RequestBodyUnmarshaller), body(V31ResponseUnmarshaller),
                              oas31_schema_validators_factory)

    def query_layout(self, operation: Operation) -> QueryLayout:
        """How the operation's query reaches openapi-core, made once."""
        found = self._queries.get(operation.key)
        if found is None:
            found = self._queries[operation.key] = QueryLayout.of(self.api, operation)
        return found

    def form_layout(self, operation: Operation, media_key: str) -> FormLayout:
        """How the operation's form body of ``media_key`` is read (its schema and encoding), made once."""
        found = self._forms.get((operation.key, media_key))
        if found is None:
            found = self._forms[(operation.key, media_key)] = form_layout(self.api, *self._body_media(operation,
                                                                                                        media_key))
        return found

    def holds_json_text(self, operation: Operation, media_key: str) -> bool:
        """A request body type that is not JSON, XML or a form, with an object or array schema."""
        found = self._json_text.get((operation.key, media_key))
        if found is None:
            found = False
            if not (is_json(media_key) or is_xml(media_key) or is_form(media_key)):
                media, resolver = self._body_media(operation, media_key)
                kinds = schema_kinds(self.api, media.get("schema"), resolver) if isinstance(media, dict) else []
                found = bool(kinds) and set(kinds) <= {"object", "array", "null"}
            self._json_text[(operation.key, media_key)] = found
        return found

    def _body_media(self, operation: Operation, media_key: str) -> tuple[Json, t.Any]:
        """The request body's Media Type Object for ``media_key`` (dereferenced) and its resolver."""
        api = self.api
        return api.deref(api.deref(operation.spec["requestBody"])[0]["content"][media_key])

    def nullable_parameters(self, operation: Operation) -> tuple[tuple[str, str], ...]:
        """(in, name) of the operation's query, header and cookie parameters whose schema allows null."""
        found = self._nullable.get(operation.key)
        if found is None:
            found = self._nullable[operation.key] = tuple(
                (str(parameter.get("in")), str(parameter.get("name", "")))
                for parameter, resolver in self.api.parameters(operation)
                if parameter.get("in") in ("query", "header", "cookie")
                and _allows_null(self.api.deref(parameter.get("schema") or {}, resolver)[0]))
        return found

    @functools.cached_property
    def checks(self) -> ApiChecks:
        """The per-operation fast-path checks (each built on first use)."""
        return ApiChecks(self.api, self.unmarshallers)


def _as_is(value: t.Any) -> t.Any:
    return value


def _unknown(formats: set[str], v30: bool) -> set[str]:
    """The formats neither openapi-core nor its validator knows."""
    checker = (OAS30Validator if v30 else OAS31Validator).FORMAT_CHECKER
    return formats - set(checker.checkers) - set(oas30_format_unmarshallers if v30 else oas31_format_unmarshallers)


def _json_loads(value: t.Any, **parameters: t.Any) -> Json:
    return json.loads(value)


def _first_json_record(value: t.Any, **parameters: t.Any) -> Json:
    """A JSON Lines / NDJSON / json-seq body's first value: what the schema (one record) describes."""
    text = value.decode("utf-8") if isinstance(value, bytes | bytearray) else str(value)
    first = next((line.strip("\x1e \t\r") for line in text.split("\n") if line.strip("\x1e \t\r")), "")
    return json.loads(first)


def _is_binary_type(media_type: str) -> bool:
    return not carries_text(media_type)


def _bytes_as_text(value: t.Any, **parameters: t.Any) -> str:
    return bytes(value).decode("latin-1")


def _text_loads(value: t.Any, **parameters: t.Any) -> str:
    return bytes(value).decode(parameters.get("charset", "utf-8"), errors="replace")


def _media_types_and_formats(node: Json) -> tuple[set[str], set[str]]:
    """Every media type named in a document's ``content`` maps (without parameters), and every
    ``format`` its schemas name: one walk of the document."""
    media_types: set[str] = set()
    formats: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            content = current.get("content")
            if isinstance(content, dict):
                media_types.update(media_type_of(str(k)) for k in content)
            if isinstance(current.get("format"), str):
                formats.add(current["format"])
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return media_types, formats


def _core_request(match: Match, request: MockRequest, *, body: bytes | None, query: t.Any = None) -> _CoreRequest:
    """``query``: as `_ReadQuery` gives it to openapi-core (only the parameters' check reads it)."""
    return _CoreRequest(
        method=request.method.lower(),
        path=request.path,
        path_pattern=match.api.mount + match.operation.template,
        body=body,
        content_type=request.content_type or "application/octet-stream",
        parameters=RequestParameters(
            query=request.query if query is None else query, header=request.headers,
            cookie=request.cookies, path=_styled(match.path_params)
        ),
    )


@dataclass(frozen=True)
class QueryLayout:
    """What openapi-core needs told about an operation's query parameters."""

    unexploded: dict[str, str]  # arrays that are not exploded: name -> style
    non_empty: frozenset[str]  # those of them that must hold an item: ``?ids=`` is [""] (its items judge it)
    bracketed: frozenset[str]  # deepObject arrays, sent as name[]=… or name[0]=… (`openapi.specs.is_deep_array`)
    deep_objects: tuple[FormLayout, ...] = ()  # the other deepObject parameters (`openapi.specs.is_deep_object`)

    @classmethod
    def of(cls, api: ApiSpec, operation: Operation) -> QueryLayout:
        styles: dict[str, str] = {}
        non_empty: set[str] = set()
        bracketed: set[str] = set()
        deep_objects: list[FormLayout] = []
        for parameter, resolver in api.parameters(operation):
            schema, _ = api.deref(parameter.get("schema") or {}, resolver)
            style = parameter.get("style", "form")
            if is_deep_array(parameter):
                bracketed.add(str(parameter.get("name")))
            elif is_deep_object(parameter):
                deep_objects.append(deep_object_layout(api, str(parameter.get("name")), parameter["schema"], resolver))
            elif (parameter.get("in") == "query" and isinstance(schema, dict) and schema.get("type") == "array"
                    and not parameter.get("explode", style == "form")):
                styles[str(parameter.get("name"))] = str(style)
                if isinstance(schema.get("minItems"), int) and schema["minItems"] > 0:
                    non_empty.add(str(parameter.get("name")))
        return cls(styles, frozenset(non_empty), frozenset(bracketed), tuple(deep_objects))


@dataclass
class _ReadQuery:
    """A request's query as openapi-core reads it, and what mocksrv read from it first: the
    deepObject parameters' values (JSON) and what could not be read."""

    for_core: t.Any
    deep_values: dict[str, Json] = field(default_factory=dict)
    empty_lists: frozenset[str] = frozenset()  # arrays sent as ``?ids=``: present, and empty
    violations: list[Violation] = field(default_factory=list)

    @classmethod
    def of(cls, layout: QueryLayout, query: MultiDict[str, str]) -> _ReadQuery:
        read = cls(_query_for_core(layout, query))
        if layout.unexploded:
            read.empty_lists = frozenset(name for name in layout.unexploded
                                         if name not in layout.non_empty and query.getlist(name) == [""])
        if not layout.deep_objects:
            return read
        taken: set[str] = set()
        for deep in layout.deep_objects:
            decoded = decode_deep_object(deep, query)
            (name,) = deep.encoding
            taken.add(name)
            read.violations.extend(decoded.violations)
            if name in decoded.value:
                read.deep_values[name] = decoded.value[name]
        # each deepObject parameter reaches openapi-core as one JSON value under its name
        kept = [(key, value) for key, value in read.for_core.items(multi=True)
                if key.partition("[")[0] not in taken]
        read.for_core = MultiDict(kept + [(name, json.dumps(value)) for name, value in read.deep_values.items()])
        return read


def _query_for_core(layout: QueryLayout, query: t.Any) -> t.Any:
    """The query as openapi-core reads it (docs/decisions.md, "Parameters as clients send them").

    ``?ids=`` for an array that is not exploded (``form`` with ``explode: false``,
    ``spaceDelimited``, ``pipeDelimited``) is the empty list; openapi-core would read it as
    ``[""]`` and refuse an integer array, so it reaches openapi-core as absent (`_ReadQuery`
    knows it was sent). Where the array must hold an item, it is ``[""]``, as openapi-core reads it. A
    ``spaceDelimited`` value reaches it with its spaces written ``%20``: openapi-core 0.23
    splits the decoded value on the text ``%20``, so ``?ids=1%202`` would be one item ``"1 2"``.
    A deepObject array's ``expand[]=a`` / ``expand[0]=a`` keys become the repeated ``expand=a``
    its copy of the spec reads."""
    styles, bracketed = layout.unexploded, layout.bracketed
    empty = {name for name in styles if name not in layout.non_empty}
    if not (styles or bracketed) or not any(
            (name in empty and value == "") or styles.get(name) == "spaceDelimited" or (bracketed and "[" in name)
            for name, value in query.items(multi=True)):
        return query
    return MultiDict([(_unbracketed(name, bracketed),
                       value.replace(" ", "%20") if styles.get(name) == "spaceDelimited" else value)
                      for name, value in query.items(multi=True) if not (name in empty and value == "")])


def _unbracketed(name: str, bracketed: frozenset[str]) -> str:
    """``expand[]`` and ``expand[3]`` → ``expand`` for a deepObject array; any other name as it is."""
    base, bracket, rest = name.partition("[")
    if bracket and base in bracketed and rest.endswith("]") and (rest == "]" or rest[:-1].isdigit()):
        return base
    return name


def _styled(path_params: dict[str, str]) -> dict[str, str]:
    """Path parameters under every key openapi-core's style readers look for: ``name`` (simple),
    ``.name`` and ``.name*`` (label), ``;name`` and ``;name*`` (matrix); the values stay as sent
    (``.blue``, ``;color=blue``), which is what those readers take apart."""
    styled = dict(path_params)
    for name, value in path_params.items():
        for prefix in ".;":
            styled[f"{prefix}{name}"] = styled[f"{prefix}{name}*"] = value
    return styled


def find_media_type(content: dict[str, Json], mimetype: str) -> str | None:
    """The key of ``content`` that accepts ``mimetype``: exact, then ``type/*``, then ``*/*``."""
    lowered = {media_type_of(key): key for key in content}
    major = mimetype.split("/")[0]
    for candidate in (mimetype, f"{major}/*", "*/*"):
        if candidate in lowered:
            return lowered[candidate]
    return None


def _literal_nulls(match: Match, request: MockRequest, validators: ApiValidators
                   ) -> tuple[MockRequest, list[tuple[str, str]]]:
    """A query, header or cookie parameter sent as the text ``null`` where its schema allows null
    (3.0 ``nullable``, a 3.1 type list with ``"null"``) is null: left out of the checks, typed None.
    Clients write a null parameter that way (``?after=null``), and no cast accepts it."""
    # a repeated query key is a list (`_sent`), never the null literal, even when one of its values is "null"
    sent = {"query": lambda name: request.query.getlist(name) == ["null"],
            "header": lambda name: request.headers.get(name) == "null",
            "cookie": lambda name: request.cookies.get(name) == "null"}
    nulls = [(where, name) for where, name in validators.nullable_parameters(match.operation) if sent[where](name)]
    if not nulls:  # the usual request
        return request, []
    query, headers, cookies = MultiDict(request.query), Headers(request.headers), MultiDict(request.cookies)
    for where, name in nulls:
        if where == "header":
            headers.remove(name)
        else:
            (query if where == "query" else cookies).poplist(name)
    return dataclasses.replace(request, query=query, headers=headers, cookies=cookies), nulls


# what openapi-core makes of a value with a format (a date, a UUID, bytes, a Decimal): not JSON
_NOT_JSON = (datetime.date, datetime.time, uuid.UUID, bytes, decimal.Decimal)


def _sent(match: Match, request: MockRequest, where: str, name: str) -> Json:
    """The parameter's value as the client sent it: text, or every value of a repeated query key."""
    if where == "path":
        return match.path_params.get(name)
    if where == "query":
        values = request.query.getlist(name)
        return values if len(values) > 1 else (values[0] if values else None)
    return (request.headers if where == "header" else request.cookies).get(name)


def _as_sent(value: Json, sent: Json) -> Json:
    """A typed parameter, with any value openapi-core made a Python object (a ``format: date``
    becomes a ``date``) given back as the client wrote it: what reaches filters, behaviours and the
    store is JSON, and ``?day=2024-05-01`` matches a stored ``"2024-05-01"``."""
    if isinstance(value, _NOT_JSON):
        return sent if isinstance(sent, str) else str(value)
    if isinstance(value, list) and any(isinstance(item, _NOT_JSON) for item in value):
        parts = sent if isinstance(sent, list) else str(sent or "").split(",")
        if len(parts) != len(value):  # another style (pipes, spaces …): the objects' own text
            parts = [str(item) for item in value]
        return [part if isinstance(item, _NOT_JSON) else item for item, part in zip(value, parts, strict=True)]
    return value


def _allows_null(schema: Json) -> bool:
    if not isinstance(schema, dict):
        return False
    types = schema.get("type")
    return schema.get("nullable") is True or (isinstance(types, list) and "null" in types)


def check_request(match: Match, request: MockRequest, validators: ApiValidators, *, fast: bool = True
                  ) -> CheckedRequest:
    """Validate parameters and body; collect every violation before raising.

    ``fast=False`` takes openapi-core's own path for everything (the reference the fast one is tested against).

    :raise 415: the body's Content-Type is not one the operation accepts.
    :raise 400: parameters or body break the contract (``InvalidRequest``, all violations).
    """
    operation = match.operation
    units = validators.unmarshallers
    violations: list[Violation] = []
    checked = CheckedRequest()
    request, nulls = _literal_nulls(match, request, validators)

    quick = validators.checks.parameters(operation, match.path_params, request.query, request.headers,
                                         request.cookies) if fast else None
    if quick is not None:
        checked.parameters = quick
    else:
        query = _ReadQuery.of(validators.query_layout(operation), request.query)
        violations.extend(query.violations)
        core = _core_request(match, request, body=None, query=query.for_core)
        try:
            result = units.parameters.unmarshal(core)
        except Exception as exc:  # openapi-core bugs on odd input must not become a 500
            violations.append(Violation("parameters", "", f"parameters could not be read: {_one_line(exc)}"))
        else:
            # a field the query reader could not read is said once, in its words
            unread = tuple(v.field for v in query.violations)
            violations.extend(v for v in _parameter_violations(result.errors) if not _under(v.field, unread)
                              and not (v.rule == "required" and v.field in query.empty_lists))
            if result.parameters is not None:
                checked.parameters = {where: {name: _as_sent(value, _sent(match, request, where, name))
                                              for name, value in getattr(result.parameters, where).items()}
                                      for where in ("path", "query", "header", "cookie")}
                checked.parameters["query"].update(
                    (name, value) for name, value in query.deep_values.items() if name in checked.parameters["query"])
                checked.parameters["query"].update((name, []) for name in query.empty_lists)
    for where, name in nulls:
        checked.parameters.setdefault(where, {})[name] = None

    body_spec, _ = match.api.deref(operation.spec.get("requestBody"))
    if isinstance(body_spec, dict):
        content = body_spec.get("content") or {}
        key = find_media_type(content, request.mimetype) if request.mimetype else None
        # an empty body sent as application/x-www-form-urlencoded is the empty form, not "no body"
        if not request.body and not request.files and not request.form and request.mimetype != URLENCODED:
            if key is not None and not (is_json(key) or is_form(key) or is_xml(key)):
                # zero bytes of a declared type of bytes or text are the empty string, not a missing body
                checked.body = _check_empty_body(match, key, validators, violations)
            elif body_spec.get("required"):
                violations.append(Violation("body", "", "request body is required"))
        else:
            if key is None:
                accepted = ", ".join(content) or "no body"
                got = request.mimetype or "no Content-Type header"
                raise UnsupportedMediaType(f"Content-Type {got} is not accepted here; send one of: {accepted}")
            if is_form(key):
                checked.body = _check_form(match, request, key, validators, violations)
            elif is_xml(key):
                checked.body = _check_xml(request.body, key, violations)
            elif validators.holds_json_text(operation, key):
                checked.body = _check_json_text(match, request, key, validators, violations)
            else:
                validator = validators.checks.body_validator(operation, key) if fast else None
                if validator is not None:
                    checked.body = _check_json_body(request.body, validator, violations)
                else:
                    checked.body = _check_body(match, request, validators, violations)
    if violations:
        raise InvalidRequest(summary(violations), violations=violations)
    return checked


def _check_xml(body: bytes, key: str, violations: list[Violation]) -> str | None:
    """An XML body is checked for being XML, as responses are: openapi-core reads XML into an Element that no
    schema accepts (every well-formed body was refused). The body handed on is its text."""
    try:
        ElementTree.fromstring(body)  # noqa: S314 (expat >= 2.4 refuses entity bombs, no external entities)
    except ElementTree.ParseError as exc:
        violations.append(Violation("body", "", f"request body is not valid {key}: {exc}"))
        return None
    return body.decode("utf-8", "replace")


def _check_body(match: Match, request: MockRequest, validators: ApiValidators, violations: list[Violation]) -> Json:
    units = validators.unmarshallers
    core = _core_request(match, request, body=request.body)
    try:
        result = units.body.unmarshal(core)
    except RecursionError:
        violations.append(Violation("body", "", TOO_DEEP))
        return None
    except Exception as exc:  # see above: report, never crash
        violations.append(Violation("body", "", f"request body could not be read: {_one_line(exc)}"))
        return None
    for error in result.errors:
        violations.extend(_body_violations(error))
    return result.body


def _decoded_check(match: Match, key: str, validators: ApiValidators) -> JsonCheck | None:
    return validators.checks.decoded_body_validator(match.operation, key, validators.unmarshallers.schema_validators)


def _check_json_text(match: Match, request: MockRequest, key: str, validators: ApiValidators,
                     violations: list[Violation]) -> Json:
    """A body of a type that is not JSON (``text/plain``, ``application/octet-stream``) whose schema
    is an object or array: the only way to write one in such a type is its JSON text."""
    try:
        value = json.loads(request.body)
    except RecursionError:
        violations.append(Violation("body", "", TOO_DEEP))
        return None
    except ValueError as exc:
        violations.append(_unparsable(exc, "JSON"))
        return None
    _validate_decoded(match, key, validators, value, violations)
    return value


def _check_empty_body(match: Match, key: str, validators: ApiValidators, violations: list[Violation]) -> str:
    """An empty body of media type ``key`` (not JSON, XML or a form): ``""`` against its schema."""
    _validate_decoded(match, key, validators, "", violations)
    return ""


def _validate_decoded(match: Match, key: str, validators: ApiValidators, value: Json,
                      violations: list[Violation]) -> None:
    """A body mocksrv read itself (not a form: `_check_form` words its own) against its media type's schema."""
    check = _decoded_check(match, key, validators)
    if check is None:
        return
    try:
        check.validator.validate(value)
    except InvalidSchemaValue as exc:
        violations.extend(_schema_violation("body", error) for error in exc.schema_errors)
    except RecursionError:
        violations.append(Violation("body", "", TOO_DEEP))


def _check_json_body(raw: bytes, validator: JsonCheck, violations: list[Violation]) -> Json:
    """Parse and validate a JSON body; the value is kept as sent (openapi-core would turn formats into objects)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        violations.append(Violation("body", "", TOO_DEEP))
        return None
    except ValueError as exc:  # UnicodeDecodeError included
        violations.append(_unparsable(exc, "JSON"))
        return None
    try:
        errors = validator.errors(value)
    except RecursionError:
        violations.append(Violation("body", "", TOO_DEEP))
        return None
    violations.extend(_schema_violation("body", error) for error in errors)
    return value


def _check_form(match: Match, request: MockRequest, key: str, validators: ApiValidators,
                violations: list[Violation]) -> Json:
    """Decode a form by its schema and encoding (wire/form_encoding.py), then validate the object."""
    decoded = decode_form(validators.form_layout(match.operation, key), key, request.form, request.files)
    violations.extend(decoded.violations)
    check = _decoded_check(match, key, validators)
    if check is not None and (request.files or not check.surely_valid(decoded.value)):
        try:
            check.validator.validate(decoded.value)
        except InvalidSchemaValue as exc:
            # a field the decoder could not read is said once, in its words (not "must be of type object")
            unread = tuple(v.field for v in decoded.violations)
            violations.extend(v for v in (_schema_violation("body", error) for error in exc.schema_errors)
                              if not _under(v.field, unread))
        except RecursionError:
            violations.append(Violation("body", "", TOO_DEEP))
        except Exception as exc:
            violations.append(Violation("body", "", f"form body could not be checked: {_one_line(exc)}"))
    return decoded.shown


def _under(path: str, fields: tuple[str, ...]) -> bool:
    """``meta.note`` or ``meta[0]`` is under ``meta``."""
    return any(path == f or path.startswith((f"{f}.", f"{f}[")) for f in fields if f)


def _parameter_violations(errors: t.Iterable[Exception]) -> list[Violation]:
    found: list[Violation] = []
    for error in errors:
        if isinstance(error, MissingRequiredParameter):
            found.append(Violation(error.location, error.name, f"{error.name} {_place(error.location)} is required",
                                   "required"))
        elif isinstance(error, ParameterValidationError):
            found.extend(_cause_violations(error.location, error.name, error))
        else:
            found.append(Violation("parameters", "", _one_line(error)))
    return found


def _place(location: str) -> str:
    return {"header": "header", "query": "query parameter", "path": "path parameter",
            "cookie": "cookie"}.get(location, location)


def _cause_violations(location: str, name: str, error: Exception) -> list[Violation]:
    cause = error.__cause__ or error
    if isinstance(cause, InvalidSchemaValue):
        return [_schema_violation(location, e, prefix=name) for e in cause.schema_errors]
    if isinstance(cause, DeserializeError):
        # a media type's error (a `content` parameter that is not JSON) cannot be printed: its
        # __str__ decodes text as bytes; the parser's own error says what is wrong
        reason = (cause.__cause__ or cause.__context__ or "not valid JSON") if hasattr(cause, "mimetype") else cause
        return [Violation(location, name, f"{name} {_place(location)} has a value that cannot be read: "
                                          f"{_one_line(reason)}")]
    return [Violation(location, name, f"{name} {_place(location)} is invalid: {_one_line(cause)}")]


def _body_violations(error: Exception) -> list[Violation]:
    if isinstance(error, MissingRequiredRequestBody):
        return [Violation("body", "", "request body is required")]
    cause = error.__cause__ or error
    if isinstance(cause, InvalidSchemaValue):
        return [_schema_violation("body", e) for e in cause.schema_errors]
    if isinstance(cause, MediaTypeNotFound):
        raise UnsupportedMediaType(f"Content-Type {cause.mimetype} is not accepted here; send one of: "
                                   f"{', '.join(cause.availableMimetypes)}")
    if isinstance(cause, DeserializeError):
        reason = cause.__cause__ or cause.__context__  # the parser's own error, e.g. JSONDecodeError
        return [_unparsable(reason, _media_name(str(getattr(cause, "mimetype", "its Content-Type"))))]
    return [Violation("body", "", f"request body is invalid: {_one_line(cause)}")]


def _unparsable(reason: BaseException | None, kind: str) -> Violation:
    """A body its media type's parser refused: not UTF-8, or not valid JSON (or ``kind``)."""
    if isinstance(reason, UnicodeDecodeError):
        return Violation("body", "", f"request body is not valid UTF-8 ({reason.reason} at byte {reason.start})")
    detail = f": {_one_line(reason)}" if reason is not None else ""
    return Violation("body", "", f"request body is not valid {kind}{detail}")


def _media_name(mimetype: str) -> str:
    return "JSON" if is_json(mimetype) else mimetype


def field_path(parts: t.Iterable[t.Any], prefix: str = "") -> str:
    """``["attachments", 0, "filename"]`` → ``attachments[0].filename``."""
    text = prefix
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _schema_violation(location: str, error: Exception, prefix: str = "") -> Violation:
    if not isinstance(error, SchemaError):
        return Violation(location, prefix, _one_line(error))
    where = field_path(error.absolute_path, prefix)
    subject = where or ("request body" if location == "body" else prefix or location)
    kind, expected = error.validator, error.validator_value
    if kind == "required":
        # jsonschema reports each missing property as its own error: take the name from it
        named = REQUIRED_MESSAGE.match(error.message)
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = named.group(1) if named else next((n for n in expected if n not in present), "?")
        name = field_path([missing], where)
        return Violation(location, name, f"{name} field is required", "required", None)
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        return Violation(location, where, f"{subject} must be of type {wanted}, got {_json_type(error.instance)}",
                         "type", error.instance)
    if kind == "additionalProperties" or kind == "unevaluatedProperties":
        extra = _unexpected(error)
        return Violation(location, where, f"{subject} has unknown field(s): {', '.join(extra)}", str(kind), extra)
    if kind == "oneOf" and not error.context:  # jsonschema's "is valid under each of": several branches fit
        return Violation(location, where, f"{subject} matches more than one allowed form (oneOf allows exactly one)",
                         "oneOf", error.instance)
    if kind in ("oneOf", "anyOf"):
        # a branch of another type says nothing useful ("must be of type integer, got object"):
        # the reason is in the branches of the value's own type, however deep
        # nor does a `not: {required: [p]}` guard (a discriminator whose property may be absent, schema_repairs.py)
        fitting = [e for e in error.context or [] if not (e.validator in ("type", "not") and not e.relative_path)]
        inner = best_match(fitting or error.context) if error.context else None
        why = f" ({_schema_violation(location, inner, prefix).message})" if inner is not None else ""
        return Violation(location, where, f"{subject} does not match any allowed form{why}", str(kind), error.instance)
    messages = {
        "enum": lambda: f"{subject} must be one of: {', '.join(json.dumps(v) for v in expected)}",
        "const": lambda: f"{subject} must be {json.dumps(expected)}",
        "maxLength": lambda: f"{subject} must be at most {expected} characters long",
        "minLength": lambda: f"{subject} must be at least {expected} characters long",
        "maxItems": lambda: f"{subject} must have at most {expected} items",
        "minItems": lambda: f"{subject} must have at least {expected} items",
        "uniqueItems": lambda: f"{subject} must not contain duplicate items",
        "maxProperties": lambda: f"{subject} must have at most {expected} properties",
        "minProperties": lambda: f"{subject} must have at least {expected} properties",
        # 3.0's exclusiveMaximum: true is checked by `maximum` (draft 4); 3.1's exclusiveMaximum is a number
        "maximum": lambda: f"{subject} must be {'less than' if _exclusive(error) else 'at most'} {expected}",
        "minimum": lambda: f"{subject} must be {'greater than' if _exclusive(error) else 'at least'} {expected}",
        "exclusiveMaximum": lambda: f"{subject} must be less than {expected}",
        "exclusiveMinimum": lambda: f"{subject} must be greater than {expected}",
        "multipleOf": lambda: f"{subject} must be a multiple of {expected}",
        "pattern": lambda: f"{subject} must match the pattern {expected}",
        "format": lambda: f"{subject} is not a valid {expected}",
        "readOnly": lambda: f"{subject} is read-only and cannot be sent",
        "writeOnly": lambda: f"{subject} is write-only",
    }
    text = messages[kind]() if kind in messages else f"{subject}: {_one_line(error.message)}"
    return Violation(location, where, text, str(kind), error.instance)


def _exclusive(error: SchemaError) -> bool:
    """A 3.0 bound made exclusive by ``exclusiveMinimum``/``exclusiveMaximum: true`` beside it."""
    keyword = "exclusiveMinimum" if error.validator == "minimum" else "exclusiveMaximum"
    return isinstance(error.schema, dict) and error.schema.get(keyword) is True


def _unexpected(error: SchemaError) -> list[str]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = set(schema.get("properties") or {})
    extra = [str(k) for k in instance if k not in known]
    return extra or [error.message]


def _json_type(value: Json) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def summary(violations: list[Violation]) -> str:
    """The error's one message: the first violation's, as an API that checks in order answers.

    Messages are never joined (a client matching an API's exact texts must find one of them);
    every violation still goes where the error schema has room for a list, and into the journal.
    """
    return violations[0].message if violations else "the request breaks the operation's contract"


def check_response(match: Match, request: MockRequest, response: MockResponse, validators: ApiValidators, *,
                   fast: bool = True) -> list[str]:
    """Validate a response we are about to send; return what is wrong (empty when valid)."""
    headers = Headers(response.headers)
    if fast and validators.checks.response_is_valid(match.operation, response.status, headers, response.body):
        return []
    units = validators.unmarshallers
    core_request = _core_request(match, request, body=None)
    content_type = headers.get("Content-Type", "")
    xml = is_xml(content_type) and bool(response.body)
    if xml:
        # openapi-core reads XML into an Element that no schema accepts: the body is checked for
        # being XML, and the rest of the response (status, headers) as usual
        try:
            ElementTree.fromstring(response.body)  # noqa: S314 (expat >= 2.4 refuses entity bombs, no external entities)
        except ElementTree.ParseError as exc:
            return [f"body: not well-formed XML ({exc})"]
    core_response = _CoreResponse(response.status, content_type, headers, response.body or None)
    try:
        result = units.response.unmarshal(core_request, core_response)
    except (OpenAPIError, ValueError, TypeError, KeyError) as exc:
        return [f"response could not be checked: {_one_line(exc)}"]
    problems: list[str] = []
    json_text = _json_text_problems(match, response, content_type, validators) if any(
        isinstance(error, DataValidationError) for error in result.errors) and not xml else None
    if json_text is not None:
        problems.extend(json_text)
    for error in result.errors:
        if (xml or json_text is not None) and isinstance(error, DataValidationError):
            continue
        cause = error.__cause__ or error
        if isinstance(cause, InvalidSchemaValue):
            problems.extend(_response_problem(e)
                            if isinstance(e, SchemaError) else _one_line(e) for e in cause.schema_errors)
        else:
            problems.append(_one_line(f"{type(error).__name__}: {cause}"))
    return problems


def _json_text_problems(match: Match, response: MockResponse, content_type: str,
                        validators: ApiValidators) -> list[str] | None:
    """A body of a type that is not JSON (a stream type, ``text/plain``) holding a JSON object or
    array, checked as one: what an object schema under such a type can only mean (as for
    requests). None when the body is no such thing (openapi-core's verdict stands)."""
    mimetype = media_type_of(content_type)
    if not response.body or is_json(mimetype) or is_json_sequence(mimetype) or response.body[:1] not in (b"{", b"["):
        return None
    key = response_key_for(match.operation, response.status)
    content = match.api.deref((match.operation.spec.get("responses") or {}).get(key) or {})[0].get("content")
    media_key = find_media_type(content, mimetype) if key is not None and isinstance(content, dict) else None
    check = validators.checks.response_check(match.operation, str(key), media_key) if media_key else None
    if check is None:
        return None
    try:
        value = json.loads(response.body)
    except (ValueError, RecursionError):
        return None
    return [_response_problem(e) if isinstance(e, SchemaError) else _one_line(e) for e in check.errors(value)]


def _response_problem(error: SchemaError) -> str:
    """``path: reason``; a reason that starts with the whole value (jsonschema's ``[…] has non-unique
    elements``) names it "the value", so the reason survives the one-line cut."""
    message, shown = error.message, repr(error.instance)
    if len(shown) > 60 and message.startswith(shown):
        message = "the value" + message[len(shown):]
    return f"{field_path(error.absolute_path) or 'body'}: {_one_line(message)}"


def _one_line(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
