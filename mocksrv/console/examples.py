"""Example requests for the console's curl lines, tried on a scratch copy of the scenario first.

An example is built from the spec and the scenario in force: the scenario's key for the
operation's first security requirement, the required parameters (an id that names a
stored record where the parameter points at a collection), and a body made from the
schema's examples. A body that satisfies the schema can still break a rule the API
documents (MailDiver refuses ``html`` together with ``template_id``), so a few bodies
are tried in turn — every property, the required ones only, the required ones plus one
more — each on a fresh copy of the scenario (own store, the virtual clock frozen at its
current instant, no faults). The first one answered with a 2xx is the example; when none
is, the first one is shown with the answer it got. The copies are thrown away: the real
mock's records, counters and journal never see a try.
"""

from __future__ import annotations

import json
import random
import re
import typing as t
from dataclasses import dataclass
from urllib.parse import urlencode

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from mocksrv.engine.assembly import assemble
from mocksrv.engine.generator import SchemaGenerator
from mocksrv.engine.pipeline import Pipeline
from mocksrv.engine.responses import header_value
from mocksrv.engine.security import credential_place
from mocksrv.engine.security import place_credential
from mocksrv.exchange import MockRequest
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.state.clock import Clock
from mocksrv.state.fixtures import ApiFixture
from mocksrv.state.fixtures import ApiKey
from mocksrv.state.store import EmbeddedStore
from mocksrv.wire.media import is_form
from mocksrv.wire.reading import read_request

Json = t.Any
# "X-Organization-Id", "patient_id", "userId": a parameter naming a record of a collection
ID_PARAMETER = re.compile(r"^(?:x-)?(?P<noun>.+?)[-_ ]?id$", re.IGNORECASE)
OPEN_MODE_KEY = "any-key"  # an API whose scenario lists no keys accepts any credential


@dataclass(frozen=True)
class ExampleRequest:
    """One HTTP request, ready to be shown as curl or tried on a scratch copy."""

    method: str
    path: str  # mount prefix included, no query
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    media_type: str | None = None
    body: Json = None  # a JSON value, or form fields (name → string) for form media types

    @property
    def target(self) -> str:
        return self.path + (f"?{urlencode(self.query)}" if self.query else "")


@dataclass(frozen=True)
class Example:
    request: ExampleRequest
    status: int | None  # what a fresh copy of the scenario answered; None: the connection was dropped

    @property
    def works(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def build_examples(pipeline: Pipeline) -> dict[tuple[str, str], Example]:
    """An example per (API id, operation key) for the scenario in force."""
    return {(api.id, operation.key): _Builder(pipeline, api).example(operation)
            for api in pipeline.apis for operation in api.operations}


class _Builder:
    def __init__(self, pipeline: Pipeline, api: ApiSpec) -> None:
        self.pipeline = pipeline
        self.api = api
        self.fixture = pipeline.state.scenario.api(api.id)
        self.generator = SchemaGenerator(api.resolver, openapi_version=api.version)
        self.resources = pipeline.catalog.resources[api.id]
        self.seeded = fresh_copy(pipeline).state.store  # the scenario's own records, for ids

    def example(self, operation: Operation) -> Example:
        rng = random.Random(f"{self.api.id}|{operation.key}")
        path, query, headers = self._parameters(operation, rng)
        headers, query = self._credentials(operation, headers, query)
        media_type, bodies = self._bodies(operation, rng)
        if media_type is not None and not is_form(media_type):
            headers.append(("Content-Type", media_type))
        candidates = [ExampleRequest(operation.method.upper(), self.api.mount + path, tuple(query), tuple(headers),
                                     media_type, body) for body in bodies]
        first: Example | None = None
        for candidate in candidates:  # stop at the first that works: each try runs the whole pipeline
            tried = Example(candidate, try_on_copy(self.pipeline, candidate))
            if tried.works:
                return tried
            first = first or tried
        assert first is not None  # there is always at least one candidate
        return first

    def _parameters(self, operation: Operation, rng: random.Random
                    ) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
        path, query, headers = operation.template, [], []
        for parameter, resolver in self.api.parameters(operation):
            where, name = parameter.get("in", ""), parameter.get("name", "")
            if not parameter.get("required") and where != "path":
                continue  # optional parameters only make the line longer
            value = header_value(self._parameter_value(operation, parameter, resolver, rng))
            if where == "path":
                path = path.replace("{" + name + "}", value)
            elif where == "query":
                query.append((name, value))
            elif where == "header":
                headers.append((name, value))
            elif where == "cookie":
                headers.append(("Cookie", f"{name}={value}"))
        return path, query, headers

    def _parameter_value(self, operation: Operation, parameter: dict[str, Json], resolver: t.Any,
                         rng: random.Random) -> Json:
        if "example" in parameter:
            return parameter["example"]
        named = [e.get("value") for e in (parameter.get("examples") or {}).values() if isinstance(e, dict)]
        if named:
            return named[0]
        stored = self._stored_id(operation, str(parameter.get("name", "")), parameter.get("in") == "path")
        if stored is not None:
            return stored
        schema, schema_resolver = self.api.deref(parameter.get("schema") or {"type": "string"}, resolver)
        return self.generator.generate(schema, rng, direction="request", resolver=schema_resolver)

    def _stored_id(self, operation: Operation, name: str, in_path: bool) -> Json:
        """The id of a stored record the parameter points at: the operation's own item, or a collection
        the name refers to (``X-Organization-Id`` → ``organizations``)."""
        resource = self.resources.get(operation.key)
        collections: list[str] = []
        if in_path and resource is not None and resource.id_param == name:
            collections.append(resource.collection)
        found = ID_PARAMETER.match(name)
        if found:
            noun = found.group("noun").lower().replace("-", "_")
            collections += [c for c in self.seeded.collections(self.api.id)
                            if c.lower().replace("-", "_") in (noun, f"{noun}s", f"{noun}es")]
        for collection in collections:
            records, _ = self.seeded.list(self.api.id, collection, limit=1)
            if records:
                return records[0].get(self.pipeline.catalog.id_field(self.api.id, collection))
        return None

    def _credentials(self, operation: Operation, headers: list[tuple[str, str]], query: list[tuple[str, str]]
                     ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        if not operation.security or not operation.security[0]:
            return headers, query
        requirement = operation.security[0]
        key = choose_key(self.fixture, operation, requirement)
        value = key.key if key is not None else OPEN_MODE_KEY
        schemes = self.api.security_schemes
        for name in requirement:
            place = credential_place(schemes.get(name) or {})
            if place is None:
                continue
            # a basic scheme gets the key as both user and password, unless the key is already "user:password"
            credential = value if place.prefix != "basic" or ":" in value else f"{value}:{value}"
            where, field, text = place_credential(place, credential)
            if where == "query":
                query.append((field, text))
            elif where == "cookie":
                headers.append(("Cookie", f"{field}={text}"))
            else:
                headers.append((field, text))
        return headers, query

    def _bodies(self, operation: Operation, rng: random.Random) -> tuple[str | None, list[Json]]:
        """The media type and the candidate bodies, the most complete first."""
        request_body, resolver = self.api.deref(operation.spec.get("requestBody"))
        content = request_body.get("content") if isinstance(request_body, dict) else None
        if not content:
            return None, [None]
        media_type = "application/json" if "application/json" in content else next(iter(content))
        media, media_resolver = self.api.deref(content[media_type], resolver)
        schema, schema_resolver = self.api.deref(media.get("schema") or {}, media_resolver)
        full = media["example"] if "example" in media else self.generator.generate(
            schema, rng, direction="request", resolver=schema_resolver)
        required = set(schema.get("required") or []) if isinstance(schema, dict) else set()
        if is_form(media_type) and isinstance(full, dict):
            files = set(media.get("encoding") or {}) | _binary_properties(self.api, schema, schema_resolver)
            full = {name: _form_text(value) for name, value in full.items() if name not in files}
        return media_type, body_variants(full, required)


def body_variants(full: Json, required: set[str]) -> list[Json]:
    """``full``, then its required properties only, then those plus one more property each."""
    if not isinstance(full, dict):
        return [full]
    base = {name: value for name, value in full.items() if name in required}
    variants = [full, base, *({**base, name: value} for name, value in full.items() if name not in required)]
    unique: dict[str, Json] = {}
    for variant in variants:
        unique.setdefault(json.dumps(variant, sort_keys=True, default=str), variant)
    return list(unique.values())


def choose_key(fixture: ApiFixture, operation: Operation, requirement: dict[str, list[str]]) -> ApiKey | None:
    """An active key with the scopes the operation needs, else an active one, else any (it shows the refusal)."""
    needed = set(fixture.operation_scopes.get(operation.operation_id or "", []))
    needed.update(scope for scopes in requirement.values() for scope in scopes)
    active = [key for key in fixture.api_keys if key.status == "active"]
    return next((key for key in active if needed <= set(key.scopes)),
                next(iter(active), next(iter(fixture.api_keys), None)))


def fresh_copy(pipeline: Pipeline) -> Pipeline:
    """A pipeline over a fresh copy of the scenario in force: own store and counters, no faults,
    the clock frozen at the current virtual instant."""
    state = pipeline.state
    copy = assemble(pipeline.catalog, pipeline.options, state.fixtures, EmbeddedStore(),
                    Clock(state.clock.now_datetime(), frozen=True), journal_limit=1)
    copy.state.load(state.scenario.name)
    return copy


def try_on_copy(pipeline: Pipeline, example: ExampleRequest) -> int | None:
    """The status a fresh copy of the scenario answers ``example`` with (None: a dropped connection)."""
    outcome = fresh_copy(pipeline).handle(mock_request(example))
    return None if outcome.drop else int(outcome.response.status)


def mock_request(example: ExampleRequest) -> MockRequest:
    """The example as the server would read it off the wire (forms encoded and parsed again)."""
    if is_form(example.media_type):
        data: Json = dict(example.body or {})
    else:
        data = None if example.body is None else json.dumps(example.body).encode()
    builder = EnvironBuilder(path=example.path, method=example.method, query_string=urlencode(example.query),
                             headers=[h for h in example.headers if h[0].lower() != "content-type"],
                             data=data, content_type=example.media_type)
    try:
        return read_request(Request(builder.get_environ()))
    finally:
        builder.close()


def _form_text(value: Json) -> str:
    """A form field as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _binary_properties(api: ApiSpec, schema: Json, resolver: t.Any) -> set[str]:
    """Form properties that are files (``format: binary``, or arrays of them): a curl line cannot inline them."""
    found: set[str] = set()
    for name, node in ((schema or {}).get("properties") or {}).items():
        prop, prop_resolver = api.deref(node, resolver)
        items, _ = api.deref(prop.get("items") or {}, prop_resolver) if isinstance(prop, dict) else ({}, None)
        if any(isinstance(part, dict) and (part.get("format") in ("binary", "base64") or "contentMediaType" in part)
               for part in (prop, items)):
            found.add(name)
    return found
