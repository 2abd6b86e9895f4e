"""Build response bodies and headers from the spec: success answers and the API's own errors.

Negotiation follows Prism so users can switch: a forced code (``Prefer: code=``), else the
lowest 2xx, else ``default``, else the first declared; the media type from ``Accept``
(406 when nothing fits). The body is a named example, the media-type example(s), or a
value generated from the schema. Errors use the status and schema the operation declares
(``build_error``), else the one the API uses elsewhere, else ``application/problem+json``.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import random
import re
import typing as t
import uuid
from dataclasses import dataclass
from http import HTTPStatus

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from mocksrv.engine.error_bodies import ErrorBody
from mocksrv.engine.generator import SchemaGenerator
from mocksrv.engine.generator import jsonable
from mocksrv.engine.json_paths import JsonPath
from mocksrv.engine.json_paths import paths_to
from mocksrv.engine.json_paths import with_value_at
from mocksrv.engine.media_bodies import binary_body
from mocksrv.engine.media_bodies import is_binary
from mocksrv.engine.media_bodies import xml_body
from mocksrv.engine.prefer import Preferences
from mocksrv.errors import ApiError
from mocksrv.errors import MockControlError
from mocksrv.errors import MockError
from mocksrv.errors import NotAcceptable
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.wire.media import is_json
from mocksrv.wire.media import is_json_sequence
from mocksrv.wire.media import is_xml
from mocksrv.wire.media import media_type_of

log = logging.getLogger(__name__)
Json = t.Any

# statuses an error may be answered with, in order, when the spec declares them
ERROR_STATUSES: dict[int, tuple[int, ...]] = {
    HTTPStatus.BAD_REQUEST: (400, 422),
    HTTPStatus.UNAUTHORIZED: (401, 403),  # an API that documents only 403 uses it for bad keys
}
SKIPPED_HEADERS = {"content-type", "content-length", "transfer-encoding", "connection"}


BodyShaper = t.Callable[[Json, Json, t.Any], Json]


@dataclass(frozen=True)
class ChosenResponse:
    """A response picked from the spec: its status key, status and the Response Object."""

    key: str
    status: int
    response: dict[str, Json]
    resolver: t.Any
    operation: Operation


@dataclass
class RenderedResponse:
    status: int
    media_type: str | None
    body: bytes
    headers: list[tuple[str, str]]
    from_example: bool = False
    generic: bool = False  # mocksrv's own problem+json, not a response of the spec
    impossible: bool = False  # the body's schema admits no value mocksrv could find: the closest one went out


def _json_body(media_type: str) -> bool:
    """Whether a body of this response media type is written as JSON: the JSON types, and ``*/*``."""
    return is_json(media_type) or media_type_of(media_type) == "*/*"


def _responses(operation: Operation) -> dict[str, Json]:
    return {str(k).upper(): v for k, v in (operation.spec.get("responses") or {}).items()}


def _choose_response(api: ApiSpec, operation: Operation, forced: int | None) -> ChosenResponse:
    responses = _responses(operation)
    if forced is not None:
        for key in (str(forced), f"{forced // 100}XX", "DEFAULT"):
            if key in responses:
                return _chosen(api, operation, key, forced, responses[key])
        raise MockControlError(f"Prefer: code={forced}: {operation.key} declares no such response "
                               f"(declared: {', '.join(responses) or 'none'})")
    codes = sorted((int(k.replace("XX", "00")), k) for k in responses if k[:1].isdigit())
    for status, key in codes:
        if 200 <= status < 300:
            return _chosen(api, operation, key, status, responses[key])
    if "DEFAULT" in responses:
        return _chosen(api, operation, "DEFAULT", 200, responses["DEFAULT"])
    if codes:
        status, key = codes[0]
        return _chosen(api, operation, key, status, responses[key])
    return ChosenResponse("", 204, {}, api.resolver, operation)


def _chosen(api: ApiSpec, operation: Operation, key: str, status: int, node: Json) -> ChosenResponse:
    response, resolver = api.deref(node)
    original = next(k for k in (operation.spec.get("responses") or {}) if str(k).upper() == key)
    return ChosenResponse(str(original), status, response if isinstance(response, dict) else {}, resolver, operation)


_MEDIA_RANGE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def negotiate(content: dict[str, Json], accept: str | None) -> str:
    """The response media type for this ``Accept`` header.

    :raise 406: the client accepts none of the declared media types.
    """
    keys = list(content)
    if not accept or accept.strip() in ("*/*", ""):
        return next((k for k in keys if is_json(k)), keys[0])
    accepted = parse_accept_header(accept, MIMEAccept)
    if not any(_MEDIA_RANGE.match(value) for value, _ in accepted):
        # no media range in it (``Accept: )``): RFC 9110 lets a server disregard the field, as servers do
        return next((k for k in keys if is_json(k)), keys[0])
    best = accepted.best_match(keys)
    if best is None:
        raise NotAcceptable(f"none of the media types this operation returns ({', '.join(keys)}) "
                            f"is acceptable for Accept: {accept}")
    return str(best)


class Synthesizer:
    """Makes bodies and headers for one API; holds its generators (built once)."""

    def __init__(self, api: ApiSpec, seed: int) -> None:
        self.api = api
        self.seed = seed
        self._generators = {
            flag: SchemaGenerator(api.resolver, openapi_version=api.version, use_examples=flag)
            for flag in (True, False)
        }
        self._bad_examples_logged: set[str] = set()
        # (operation, response, media type, example name ("" for `example`)) -> the example when it validates,
        # else _NOTHING; checked on first use
        self._examples: dict[tuple[str, str, str, str], Json] = {}
        # generation is seeded by operation, response and media type, so its result never changes:
        # made once, kept serialised (each request gets its own copy back with json.loads)
        self._generated: dict[tuple[str, str, str], str] = {}  # seeded, so each key always gives the same value
        self._headers: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._chosen: dict[tuple[str, int | None], ChosenResponse] = {}
        # error -> (answer, the value its body serialises, where its trace ids are)
        self._error_bodies: dict[tuple[t.Any, ...], tuple[RenderedResponse | None, Json, list[JsonPath]]] = {}
        self._error_responses: dict[tuple[str, int], ChosenResponse | None] = {}

    def choose(self, operation: Operation, forced: int | None) -> ChosenResponse:
        """Pick the response to mock (the same every time for the same operation and code).

        :raise 400: ``Prefer: code=N`` names a status the operation does not declare.
        """
        key = (operation.key, forced)
        chosen = self._chosen.get(key)
        if chosen is None:
            chosen = self._chosen[key] = _choose_response(self.api, operation, forced)
        return chosen

    def rng(self, *parts: object) -> random.Random:
        return random.Random("|".join(str(p) for p in (self.seed, self.api.id, *parts)))

    def build(self, chosen: ChosenResponse, prefer: Preferences, accept: str | None, *, use_example: bool = True,
              shape: BodyShaper | None = None) -> RenderedResponse:
        """Body and headers for a chosen response; ``use_example=False`` forces generation.

        :param shape: puts stored state into the body (JSON bodies only): called with the
            example or generated value, the media type's schema and its resolver.
        """
        content, resolver = self.api.deref(chosen.response.get("content") or {}, chosen.resolver)
        headers = self.headers(chosen)
        if not content:
            if prefer.example:
                raise MockControlError(f"Prefer: example={prefer.example}: response {chosen.key} has no body")
            if shape is not None:  # no body to shape, but the state change still happens (a bodiless 201)
                shape(None, {}, chosen.resolver)
            return RenderedResponse(chosen.status, None, b"", headers)
        media_type = negotiate(content, accept)
        media, media_resolver = self.api.deref(content[media_type], resolver)
        media = media if isinstance(media, dict) else {}
        value, from_example = _NOTHING, False
        schema, schema_resolver = self.api.deref(media.get("schema", {}), media_resolver)
        place = (chosen.operation.key, chosen.key, media_type)
        if prefer.example:
            examples, _ = self.api.deref(media.get("examples") or {}, media_resolver)
            if prefer.example not in examples:
                raise MockControlError(f"Prefer: example={prefer.example}: response {chosen.key} ({media_type}) "
                                       f"has no such example (has: {', '.join(examples) or 'none'})")
            value = self._example_value(examples[prefer.example], media_resolver)
            value, from_example = self._fitting((*place, prefer.example), value, schema, schema_resolver), True
            if value is _NOTHING:
                raise MockControlError(f"Prefer: example={prefer.example}: that example of response {chosen.key} "
                                       f"({media_type}) does not validate against its schema, so it is never served")
        elif use_example and not prefer.dynamic:
            value = self._media_example(place, media, media_resolver, schema, schema_resolver)
            from_example = value is not _NOTHING
        rng = functools.partial(self.rng, chosen.operation.key, chosen.key, media_type)
        if value is _NOTHING and prefer.dynamic:
            value = _generate(self._generators[False], schema, rng(), schema_resolver)
        elif value is _NOTHING:
            value = self._generated_once((chosen.operation.key, chosen.key, media_type), schema, rng, schema_resolver)
        if shape is not None and _json_body(media_type):
            value = shape(value, schema, schema_resolver)
        concrete = "application/json" if media_type == "*/*" else media_type
        if not from_example and is_binary(concrete, schema):
            body = binary_body(concrete, rng())
        elif is_xml(concrete) and not isinstance(value, str | bytes):
            body = xml_body(value, schema, lambda node: self.api.deref(node, schema_resolver)[0])
        else:
            body = serialize(value, concrete)
        impossible = not from_example and any(made.cannot_satisfy(schema) for made in self._generators.values())
        return RenderedResponse(chosen.status, concrete, body, headers, from_example, impossible=impossible)

    def _generated_once(self, key: tuple[str, str, str], schema: Json, rng: t.Callable[[], random.Random],
                        resolver: t.Any) -> Json:
        """A seeded generated value: the same every time, so made once; a fresh copy on each call (callers shape it)."""
        if key not in self._generated:
            self._generated[key] = json.dumps(_generate(self._generators[True], schema, rng(), resolver))
        return json.loads(self._generated[key])

    def media_type(self, chosen: ChosenResponse, accept: str | None) -> str | None:
        """The media type this response will have; None when it has no body.

        :raise 406: the client accepts none of them.
        """
        content, _ = self.api.deref(chosen.response.get("content") or {}, chosen.resolver)
        return negotiate(content, accept) if content else None

    def note_bad_example(self, chosen: ChosenResponse, problems: list[str]) -> None:
        """Specs ship examples that break their own schema; say so once, then generate."""
        key = f"{chosen.operation.key} {chosen.key}"
        if key not in self._bad_examples_logged:
            self._bad_examples_logged.add(key)
            log.warning("%s: example for %s response %s does not validate (%s); generating instead",
                        self.api.id, chosen.operation.key, chosen.key, "; ".join(problems[:3]))

    def _media_example(self, place: tuple[str, str, str], media: dict[str, Json], resolver: t.Any,
                       schema: Json, schema_resolver: t.Any) -> Json:
        """The media type's ``example``, else the first of its ``examples`` that validates; else nothing."""
        if "example" in media:
            value = self._fitting((*place, ""), media["example"], schema, schema_resolver)
            if value is not _NOTHING:
                return value
        examples, _ = self.api.deref(media.get("examples") or {}, resolver)
        for name, example in (examples or {}).items():
            value = self._example_value(example, resolver)
            if value is not _NOTHING:
                value = self._fitting((*place, str(name)), value, schema, schema_resolver)
            if value is not _NOTHING:
                return value
        return _NOTHING

    def _fitting(self, key: tuple[str, str, str, str], value: Json, schema: Json, resolver: t.Any) -> Json:
        """A JSON body example as JSON (YAML dates as their text) when it validates against its schema, else
        nothing: checked once per example, a misfit logged once.

        Examples of other media types are the body's own text, judged by the response check as sent.
        """
        if key not in self._examples:
            fitted = jsonable(value) if _json_body(key[2]) else value
            if _json_body(key[2]) and not self.is_valid(schema, resolver, fitted):
                log.warning("%s: example %s of %s response %s (%s) does not validate against its schema; "
                            "it is never served", self.api.id, key[3] or "(example)", key[0], key[1], key[2])
                fitted = _NOTHING
            self._examples[key] = fitted
        return self._examples[key]

    def _example_value(self, node: Json, resolver: t.Any) -> Json:
        example, _ = self.api.deref(node, resolver)
        if isinstance(example, dict) and "value" in example:
            return example["value"]
        return _NOTHING  # externalValue is never fetched

    def headers(self, chosen: ChosenResponse) -> list[tuple[str, str]]:
        """Every declared response header, serialised by its schema (simple style); made once per response."""
        key = (chosen.operation.key, chosen.key)
        if key not in self._headers:
            self._headers[key] = self._make_headers(chosen)
        return list(self._headers[key])

    def _make_headers(self, chosen: ChosenResponse) -> list[tuple[str, str]]:
        declared, resolver = self.api.deref(chosen.response.get("headers") or {}, chosen.resolver)
        produced: list[tuple[str, str]] = []
        for name, node in (declared or {}).items():
            if str(name).lower() in SKIPPED_HEADERS:
                continue
            header, header_resolver = self.api.deref(node, resolver)
            if not isinstance(header, dict):
                continue
            rng = self.rng(chosen.operation.key, chosen.key, "header", name)
            if "content" in header:
                first: Json = next(iter(header["content"].values()), {})
                media, media_resolver = self.api.deref(first, header_resolver)
                schema, schema_resolver = self.api.deref(media.get("schema", {}), media_resolver)
            else:
                schema, schema_resolver = self.api.deref(header.get("schema", {}), header_resolver)
            # the header's own example when it fits its schema (made once per response, so checked once)
            candidates = [jsonable(header["example"])] if "example" in header else [
                jsonable(self._example_value(example, header_resolver))
                for example in (header.get("examples") or {}).values()]
            value = next((v for v in candidates if v is not _NOTHING and self.is_valid(schema, schema_resolver, v)),
                         _NOTHING)
            if value is _NOTHING:
                value = _generate(self._generators[True], schema, rng, schema_resolver)
            if "content" in header:
                produced.append((str(name), json.dumps(value)))
                continue
            produced.append((str(name), header_value(value, explode=bool(header.get("explode")))))
        return produced

    def build_error(self, operation: Operation | None, error: MockError, accept: str | None) -> RenderedResponse:
        """The API's own error response for ``error``, else ``application/problem+json``."""
        headers = list(error.headers.items())
        own_format = error.status < 500 or isinstance(error, ApiError)
        if operation is not None and not isinstance(error, MockControlError) and own_format:
            chosen = self._error_response(operation, error)
            if chosen is not None:
                built = self._error_body(chosen, error, accept)
                if built is not None:
                    built.headers = [*built.headers, *headers]
                    return built
        return problem(error)

    def _error_response(self, operation: Operation, error: MockError) -> ChosenResponse | None:
        """The response of the spec that answers ``error`` (the spec never changes: chosen once per status)."""
        key = (operation.key, error.status)
        if key not in self._error_responses:
            self._error_responses[key] = self._choose_error_response(operation, error.status)
        return self._error_responses[key]

    def _choose_error_response(self, operation: Operation, error_status: int) -> ChosenResponse | None:
        statuses = ERROR_STATUSES.get(error_status, (error_status,))
        responses = _responses(operation)
        for status in statuses:
            for key in (str(status), f"{status // 100}XX"):
                if key in responses:
                    return _chosen(self.api, operation, key, status, responses[key])
        if "DEFAULT" in responses:
            return _chosen(self.api, operation, "DEFAULT", statuses[0], responses["DEFAULT"])
        for status in statuses:  # the error format the API uses on its other operations
            for other in self.api.operations:
                if str(status) in _responses(other):
                    return _chosen(self.api, other, str(status), status, _responses(other)[str(status)])
        # no response for this status anywhere: the operation's own client-error body, with our status
        client_errors = sorted(k for k in responses if k.startswith("4") and k[1:].isdigit())
        if client_errors:
            return _chosen(self.api, operation, client_errors[0], statuses[0], responses[client_errors[0]])
        return None

    def _error_body(self, chosen: ChosenResponse, error: MockError, accept: str | None) -> RenderedResponse | None:
        """The error body, made once per response and error: a client repeating a mistake (a missing key,
        the same invalid field) gets the same body, and filling it validates candidates several times.
        A body with trace ids gets fresh ones each time, in the places the first filling put them."""
        key = (chosen.operation.key, chosen.key, chosen.status, accept, *_error_facts(error))
        entry = self._error_bodies.get(key)  # read once: a proxied request's thread may clear the dict
        if entry is None:
            built, value, trace_ids = self._fill_error_body(chosen, error, accept)
            traces = paths_to(value, set(trace_ids)) if trace_ids else []
            if len(traces) != len(trace_ids):  # an id the body did not take: made anew every time
                return built
            if len(self._error_bodies) >= ERROR_BODIES_KEPT:
                self._error_bodies.clear()
            entry = self._error_bodies[key] = (built, value, traces)
        kept, value, traces = entry
        if kept is None:
            return None
        for path in traces:
            value = with_value_at(value, path, str(uuid.uuid4()))
        body = serialize(value, t.cast(str, kept.media_type)) if traces else kept.body
        reply = copy.copy(kept)  # a copy: the caller adds the error's own headers to it (replace() is 3x slower)
        reply.body, reply.headers = body, list(kept.headers)
        return reply

    def _fill_error_body(self, chosen: ChosenResponse, error: MockError,
                         accept: str | None) -> tuple[RenderedResponse | None, Json, list[str]]:
        """The error body, the value it serialises and the trace ids made for it."""
        if chosen.status != error.status:  # e.g. 401 answered as the 403 the API documents
            error = copy.copy(error)
            error.status = chosen.status
        content, resolver = self.api.deref(chosen.response.get("content") or {}, chosen.resolver)
        headers = self.headers(chosen)
        if not content:
            return RenderedResponse(chosen.status, None, b"", headers), None, []
        try:
            media_type = negotiate(content, accept)
        except NotAcceptable:
            media_type = next(iter(content))
        if is_xml(media_type):
            return None, None, []
        media, media_resolver = self.api.deref(content[media_type], resolver)
        schema, schema_resolver = self.api.deref((media or {}).get("schema", {}), media_resolver)
        rng = functools.partial(self.rng, chosen.operation.key, chosen.key, "error")
        base = self._generated_once((chosen.operation.key, chosen.key, "error"), schema, rng, schema_resolver)
        if media_type_of(media_type).startswith("text/") and isinstance(base, str):
            # an error page of text (Box's OAuth pages answer text/html): the reason, where the schema takes it
            text = error.detail if self.is_valid(schema, schema_resolver, error.detail) else base
            return RenderedResponse(chosen.status, media_type, text.encode(), headers), text, []
        if not _json_body(media_type) and not isinstance(base, dict):
            return None, None, []  # an error of another kind than JSON text (an image): ours instead
        documented = (self.api.document.get("x-mocksrv-errors") or {}).get(error.kind) or {}
        filler = ErrorBody(self.api, error, lambda candidate: self.is_valid(schema, schema_resolver, candidate),
                           detail=documented.get("message"))
        body = filler.fill(base, schema, schema_resolver, extra={**(documented.get("fields") or {}), **error.fields})
        concrete = "application/json" if media_type == "*/*" else media_type
        return RenderedResponse(chosen.status, concrete, serialize(body, concrete), headers), body, filler.trace_ids

    def generate(self, schema: Json, resolver: t.Any, *parts: object, branch: int | None = None,
                 examples: bool = True) -> Json:
        """A value for ``schema``, seeded by ``parts``; ``branch`` tried first in a oneOf; ``examples``:
        the schema's examples may be the value (not for ids, which must differ every time)."""
        return self._generators[examples].generate(schema if isinstance(schema, (dict, bool)) else {},
                                                   self.rng(*parts), resolver=resolver, branch=branch)

    def is_valid(self, schema: Json, resolver: t.Any, value: Json) -> bool:
        return self._generators[True].is_valid(schema, value, resolver)


_NOTHING: t.Any = object()
ERROR_BODIES_KEPT = 1024  # distinct error bodies kept per API; past that the cache starts again


def _error_facts(error: MockError) -> tuple[t.Any, ...]:
    """Everything of ``error`` its body is made from (ErrorBody reads no more)."""
    return (type(error), error.status, error.code, error.kind, error.detail, repr(error.fields),
            tuple((v.location, v.field, v.message, v.rule) for v in error.violations))

# compact, as the servers behind real APIs send it; built once (json.dumps with options builds an encoder per call)
json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def problem(error: MockError) -> RenderedResponse:
    """``application/problem+json`` for errors the spec has no format for (and mocksrv's own)."""
    body = json_text(error.to_problem()).encode()
    return RenderedResponse(error.status, "application/problem+json", body, list(error.headers.items()), generic=True)


def _generate(generator: SchemaGenerator, schema: Json, rng: random.Random, resolver: t.Any) -> Json:
    return generator.generate(schema if isinstance(schema, (dict, bool)) else {}, rng, resolver=resolver)


def serialize(value: Json, media_type: str) -> bytes:
    if _json_body(media_type):
        return json_text(value).encode()
    if is_json_sequence(media_type):  # one value of the stream the schema describes
        record = json_text(value) + "\n"
        return (("\x1e" + record) if media_type_of(media_type) == "application/json-seq" else record).encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json_text(value).encode()


def header_value(value: Json, *, explode: bool = False) -> str:
    """Serialise a header value in the ``simple`` style (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(header_value(v) for v in value)
    if isinstance(value, dict):
        pairs = [f"{k}={header_value(v)}" if explode else f"{k},{header_value(v)}" for k, v in value.items()]
        return ",".join(pairs)
    return str(value)


