"""The compiled checks (mocksrv/compiled.py) against openapi-core's own path, on the same inputs.

For every operation of every spec in the repository, requests built from its schemas (and
broken copies: a parameter of the wrong type, a required parameter or body field missing, a
field of the wrong type) go through `check_request` both ways, and must give the same typed
parameters and the same violations. Responses the server really sent (and broken copies) go
through `check_response` both ways: the fast path may only call valid what openapi-core
calls valid. Each test also proves the fast path was taken, so it cannot pass vacuously.
"""

from __future__ import annotations

import copy
import json
import typing as t
from pathlib import Path

import pytest
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from conftest import DATA
from conftest import SPECS
from mocksrv import Options
from mocksrv import create_app
from mocksrv.engine.router import Router
from mocksrv.engine.validation import ApiValidators
from mocksrv.engine.validation import check_request
from mocksrv.engine.validation import check_response
from mocksrv.errors import MockError
from mocksrv.exchange import Match
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import load_spec
from mocksrv.wire.media import is_json
from mocksrv.wire.reading import read_request
from spec_requests import build_request

SPEC_FILES = [*sorted(SPECS.glob("*.yaml")), *sorted(DATA.glob("*.yaml")), DATA / "split" / "openapi.yaml",
              *sorted((DATA / "features").glob("*.yaml")), *sorted((DATA / "forms").glob("*.yaml"))]
SEEDS = range(3)


@pytest.fixture(scope="module", params=SPEC_FILES, ids=lambda path: path.stem)
def api(request: pytest.FixtureRequest) -> ApiSpec:
    return load_spec(t.cast(Path, request.param))


@pytest.fixture(scope="module")
def validators(api: ApiSpec) -> ApiValidators:
    return ApiValidators(api)


def as_mock_request(api: ApiSpec, kwargs: dict[str, t.Any]) -> MockRequest:
    """What the server would read from this request (the same Werkzeug parsing)."""
    headers = dict(kwargs.get("headers") or {})
    cookies = "; ".join(f"{k}={v}" for k, v in (kwargs.get("cookies") or {}).items())
    if cookies:
        headers["Cookie"] = cookies
    data: t.Any = kwargs.get("data")
    if kwargs.get("files"):
        data = {name: value for name, (_, value) in kwargs["files"]}
    environ = EnvironBuilder(api.mount + kwargs["path"], method=kwargs["method"], headers=headers,
                             query_string=kwargs.get("params") or {}, data=data).get_environ()
    return read_request(Request(environ))


def outcome(match: Match, request: MockRequest, validators: ApiValidators, fast: bool) -> tuple[str, t.Any]:
    try:
        checked = check_request(match, request, validators, fast=fast)
    except MockError as error:
        return type(error).__name__, [v.message for v in getattr(error, "violations", [])] or error.detail
    return "valid", checked.parameters


def changed(kwargs: dict[str, t.Any], where: str, name: str, value: t.Any) -> dict[str, t.Any]:
    """A copy of the request with one parameter set to ``value`` (``DROP``: left out)."""
    copied = copy.deepcopy(kwargs)
    if value is DROP:
        del copied[where][name]
    else:
        copied[where][name] = value
    return copied


DROP = object()


def variants(api: ApiSpec, kwargs: dict[str, t.Any]) -> t.Iterator[dict[str, t.Any]]:
    """The request as built, then copies each changed in one way: every query, header and
    cookie parameter of the wrong type, absent, empty, and (query) sent twice."""
    yield kwargs
    for where in ("params", "headers", "cookies"):
        for name, value in list((kwargs.get(where) or {}).items()):
            if name.lower() in ("authorization", "content-type"):
                continue
            yield changed(kwargs, where, name, "not-a-number")
            yield changed(kwargs, where, name, DROP)
            yield changed(kwargs, where, name, "")
            if where == "params":
                once = value if isinstance(value, list) else [value]
                yield changed(kwargs, where, name, [*once, *once])
                yield changed(kwargs, where, name, ["", *once])
    body = kwargs.get("data")
    if isinstance(body, str):
        value = json.loads(body)
        if isinstance(value, dict):
            for name in list(value)[:4]:
                for broken in ({k: v for k, v in value.items() if k != name}, {**value, name: [{"x": 1}]}):
                    yield {**kwargs, "data": json.dumps(broken)}


def test_requests_get_the_same_answer_both_ways(api: ApiSpec, validators: ApiValidators) -> None:
    router = Router([api])
    fast_hits = compared = 0
    for operation in api.operations:
        for seed in SEEDS:
            for kwargs in variants(api, build_request(api, operation, seed)):
                request = as_mock_request(api, kwargs)
                match = router.match(request.method, request.path)
                checks = validators.checks
                taken = checks.parameters(match.operation, match.path_params, request.query, request.headers,
                                          request.cookies) is not None
                fast_hits += taken
                compared += 1
                assert outcome(match, request, validators, True) == outcome(match, request, validators, False), (operation.key, kwargs)
    assert compared > 0
    assert fast_hits > 0, "the fast parameter path was never taken"


@pytest.fixture(scope="module")
def served() -> t.Any:
    """An in-process app over every spec, open mode: real responses to check both ways."""
    apis = [load_spec(path) for path in SPEC_FILES]
    return create_app(Options(specs=SPEC_FILES, fixtures=None, seed=1), apis=apis), apis


def broken_responses(response: MockResponse) -> t.Iterator[MockResponse]:
    yield response
    if response.media_type and is_json(response.media_type) and response.body:
        value = json.loads(response.body)
        if isinstance(value, dict):
            for name in list(value)[:4]:
                for broken in ({k: v for k, v in value.items() if k != name}, {**value, name: [{"x": 1}]}):
                    yield MockResponse(response.status, response.headers, json.dumps(broken).encode(),
                                       response.media_type)
        yield MockResponse(response.status, [(k, v) for k, v in response.headers if k.lower() != "content-type"]
                           + [("Content-Type", "text/plain")], response.body, "text/plain")
        yield MockResponse(response.status, response.headers, b"", response.media_type)  # a body gone missing
        yield MockResponse(response.status, response.headers, b"{not json", response.media_type)
    for name in {k for k, _ in response.headers if k.lower() not in ("content-type", "content-length")}:
        others = [(k, v) for k, v in response.headers if k != name]
        for headers in (others, [*others, (name, "x")]):  # a header missing, or of the wrong type
            yield MockResponse(response.status, headers, response.body, response.media_type)


def test_responses_are_never_called_valid_when_openapi_core_disagrees(served: t.Any) -> None:
    app, apis = served
    client = app.test_client()
    router = Router(apis)
    fast_valid = compared = 0
    for api in apis:
        validators = ApiValidators(api)
        for operation in api.operations:
            kwargs = build_request(api, operation, 0)
            request = as_mock_request(api, kwargs)
            match = router.match(request.method, request.path)
            sent = client.open(api.mount + kwargs["path"], method=kwargs["method"], headers=kwargs["headers"],
                               query_string=kwargs["params"], data=kwargs.get("data"))
            headers = [(k, v) for k, v in Headers(sent.headers).items() if k.lower() != "content-length"]
            original = MockResponse(sent.status_code, headers, sent.data, sent.mimetype or None)
            for response in broken_responses(original):
                quick = validators.checks.response_is_valid(operation, response.status, Headers(response.headers),
                                                            response.body)
                slow = check_response(match, request, response, validators, fast=False)
                compared += 1
                fast_valid += quick
                assert not (quick and slow), (api.id, operation.key, response.status, response.body[:200], slow)
    assert compared > 50
    assert fast_valid > 20, "the fast response path was never taken"


# -- the fast path's own pieces, in isolation (a wrong answer there would hide behind the slow path) -----

class _Accepts:
    """A stand-in validator with the one method the fast path calls."""

    def __init__(self, answer: bool = True, raises: bool = False) -> None:
        self.validator = self
        self.answer, self.raises = answer, raises

    def is_valid(self, value: t.Any) -> bool:
        if self.raises:
            raise TypeError("unhashable type: 'list'")
        return self.answer

    def iter_errors(self, value: t.Any) -> t.Iterator[str]:
        if self.raises:
            raise TypeError("unhashable type: 'list'")
        return iter([] if self.answer else ["wrong"])


@pytest.mark.parametrize("kind, text, value", [
    ("integer", "42", 42), ("integer", "-7", -7), ("number", "1.5", 1.5), ("number", "3", 3.0),
    ("boolean", "true", True), ("boolean", "TRUE", True), ("boolean", "1", True), ("boolean", "yes", True),
    ("boolean", "false", False), ("boolean", "0", False), ("boolean", "No", False),
    ("string", "007", "007"), ("string", "", ""),
])
def test_the_fast_path_casts_as_openapi_core_does(kind: str, text: str, value: t.Any) -> None:
    from mocksrv.engine.fastpath.checks import _cast

    cast = _cast(kind, text)
    assert cast == value and type(cast) is type(value)


@pytest.mark.parametrize("kind, text", [("integer", "4.2"), ("integer", "x"), ("number", "one"), ("boolean", "maybe"),
                                        ("boolean", "")])
def test_the_fast_path_refuses_what_openapi_core_cannot_cast(kind: str, text: str) -> None:
    from mocksrv.engine.fastpath.checks import _cast

    with pytest.raises(ValueError):
        _cast(kind, text)


def test_a_fast_path_value_reads_defaults_missing_and_invalid() -> None:
    from mocksrv.engine.fastpath.checks import _Missing
    from mocksrv.engine.fastpath.checks import _Value

    limit = _Value("limit", "query", False, 10, True, "integer", _Accepts())  # type: ignore[arg-type]
    assert limit.read({"limit": "5"}) == 5
    assert limit.read({}) == 10  # absent: the default
    needed = _Value("id", "path", True, None, False, "integer", _Accepts())  # type: ignore[arg-type]
    with pytest.raises(_Missing):
        needed.read({})
    refused = _Value("n", "query", False, None, False, "integer", _Accepts(False))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        refused.read({"n": "3"})


def test_a_json_check_asks_the_validator_unless_the_quick_check_is_sure() -> None:
    from mocksrv.engine.fastpath.checks import JsonCheck

    sure = JsonCheck(_Accepts(False), lambda value: True)  # type: ignore[arg-type]
    assert sure.surely_valid(1) and sure.is_valid(1) and sure.errors(1) == []
    unsure = JsonCheck(_Accepts(False), lambda value: False)  # type: ignore[arg-type]
    assert not unsure.surely_valid(1) and not unsure.is_valid(1) and unsure.errors(1) == ["wrong"]
    no_quick = JsonCheck(_Accepts(True), None)  # type: ignore[arg-type]
    assert not no_quick.surely_valid(1) and no_quick.is_valid(1) and no_quick.errors(1) == []
    broken = JsonCheck(_Accepts(raises=True), None)  # type: ignore[arg-type]
    assert broken.is_valid([1]) is False
    assert [str(e) for e in broken.errors([1])] == ["request body could not be read: unhashable type: 'list'"]


# -- on plain operations the fast path gives openapi-core's verdict itself ---------------------------------

PLAIN_SPEC = """
openapi: 3.0.3
info: {title: Plain, version: "1"}
paths:
  /things/{id}:
    parameters:
      - {name: lang, in: query, schema: {type: string, enum: [en]}}  # the operation's own lang wins
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      parameters:
        - {name: lang, in: query, schema: {type: string, enum: [en, fr]}}
        - {name: verbose, in: query, schema: {type: boolean}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, default: 10}}
        - {name: ratio, in: query, schema: {type: number}}
        - {name: X-Trace, in: header, required: true, schema: {type: string, minLength: 2}}
        - {name: X-Secret, in: header, schema: {type: string, writeOnly: true}}  # written by clients
        - {name: session, in: cookie, schema: {type: string}}
      responses:
        "200":
          description: a thing, or null
          headers:
            X-Rate-Limit: {required: true, schema: {type: integer, minimum: 0}}
            X-Ratio: {schema: {type: number}}
            X-Cached: {schema: {type: boolean}}
            X-Version: {schema: {type: string, readOnly: true}}  # read by clients
            Content-Type: {schema: {type: integer}}  # OpenAPI: a declared Content-Type header is ignored
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
        "4XX":
          description: a client error
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
        default:
          description: anything else
          content: {application/problem+json: {schema: {$ref: "#/components/schemas/Error"}}}
    delete:
      responses:
        "204":
          description: gone
          headers: {X-Remaining: {schema: {type: integer}}}
    put:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
      responses:
        "200":
          description: stored, answered with any JSON, or the thing as XML
          content:
            application/json: {}
            application/xml: {schema: {$ref: "#/components/schemas/Thing"}}
  /blobs:
    get:
      parameters: [{name: blob, in: query, schema: {type: string, format: byte}}]
      responses:
        "204": {description: the blob was read}
components:
  schemas:
    Thing:
      type: object
      nullable: true
      required: [id, name]
      properties: {id: {type: integer}, name: {type: string, minLength: 1}}
    Error: {type: object, required: [message], properties: {message: {type: string}}}
"""
JSON_TYPE = ("Content-Type", "application/json")
GOOD_HEADERS = [JSON_TYPE, ("X-Rate-Limit", "5"), ("X-Ratio", "0.5"), ("X-Cached", "true"), ("X-Version", "v2")]
THING = b'{"id": 1, "name": "a"}'
PLAIN_RESPONSES: list[tuple[str, int, list[tuple[str, str]], bytes]] = [
    ("get", 200, GOOD_HEADERS, THING),
    ("get", 200, [("Content-Type", "application/json; charset=utf-8"), ("X-Rate-Limit", "0")], THING),
    ("get", 200, [JSON_TYPE, ("X-Rate-Limit", "5")], b"null"),  # the schema is nullable
    ("get", 200, [JSON_TYPE], THING),  # a required header missing
    ("get", 200, [JSON_TYPE, ("X-Rate-Limit", "x")], THING),
    ("get", 200, [JSON_TYPE, ("X-Rate-Limit", "-1")], THING),
    ("get", 200, [*GOOD_HEADERS[:2], ("X-Ratio", "half")], THING),
    ("get", 200, [*GOOD_HEADERS[:2], ("X-Cached", "perhaps")], THING),
    ("get", 200, GOOD_HEADERS, b'{"id": 1}'),  # a required field missing (nullable: null is no excuse)
    ("get", 200, GOOD_HEADERS, b'{"id": "one", "name": "a"}'),
    ("get", 200, GOOD_HEADERS, b'{"id": 1, "name": ""}'),
    ("get", 200, GOOD_HEADERS, b"{not json"),
    ("get", 200, GOOD_HEADERS, b""),
    ("get", 404, [JSON_TYPE], b'{"message": "no such thing"}'),  # the 4XX range
    ("get", 404, [JSON_TYPE], b'{"text": "no such thing"}'),
    ("get", 503, [("Content-Type", "application/problem+json")], b'{"message": "later"}'),  # default
    ("get", 503, [("Content-Type", "application/problem+json")], b'{"message": 5}'),
    ("delete", 204, [("X-Remaining", "3")], b""),  # no content described: only the headers count
    ("delete", 204, [], b""),
    ("delete", 204, [("X-Remaining", "many")], b""),
    ("put", 200, [JSON_TYPE], b"{not json"),  # no schema, but still JSON
    ("put", 200, [("Content-Type", "application/xml")], THING),  # JSON is no XML
]


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> ApiSpec:
    path = tmp_path_factory.mktemp("plain") / "plain.yaml"
    path.write_text(PLAIN_SPEC)
    return load_spec(path)


@pytest.mark.parametrize("method, status, headers, body", PLAIN_RESPONSES)
def test_on_plain_operations_the_fast_path_answers_as_openapi_core_does(
        plain: ApiSpec, method: str, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    validators = ApiValidators(plain)
    request = as_mock_request(plain, {"path": "/things/1", "method": method.upper()})
    match = Router([plain]).match(request.method, request.path)
    response = MockResponse(status, headers, body, Headers(headers).get("Content-Type"))
    slow_valid = not check_response(match, request, response, validators, fast=False)
    assert validators.checks.response_is_valid(match.operation, status, Headers(headers), body) == slow_valid


TRACE = {"X-Trace": "t1"}
PLAIN_REQUESTS: list[dict[str, t.Any]] = [
    {"path": "/things/7", "params": {"lang": "fr", "verbose": "true", "limit": "5", "ratio": "0.5"},
     "headers": {**TRACE, "X-Secret": "s3cr3t"}, "cookies": {"session": "s1"}},
    {"path": "/things/7", "headers": TRACE},  # the default limit
    {"path": "/things/7", "params": {"verbose": "0", "ratio": "3"}, "headers": TRACE},
    {"path": "/things/7"},  # a required header missing
    {"path": "/things/7", "headers": {"X-Trace": "t"}},
    {"path": "/things/x", "headers": TRACE},
    {"path": "/things/7", "params": {"lang": "de"}, "headers": TRACE},
    {"path": "/things/7", "params": {"limit": "0"}, "headers": TRACE},
    {"path": "/things/7", "params": {"limit": "many"}, "headers": TRACE},
    {"path": "/things/7", "params": {"ratio": "half"}, "headers": TRACE},
    {"path": "/things/7", "params": {"verbose": "perhaps"}, "headers": TRACE},
]


@pytest.mark.parametrize("kwargs", PLAIN_REQUESTS)
def test_on_plain_operations_the_fast_path_reads_parameters_as_openapi_core_does(
        plain: ApiSpec, kwargs: dict[str, t.Any]) -> None:
    """Valid: the same typed parameters, read without openapi-core; invalid: openapi-core words why."""
    validators = ApiValidators(plain)
    request = as_mock_request(plain, {"method": "GET", **kwargs})
    match = Router([plain]).match(request.method, request.path)
    verdict, slow = outcome(match, request, validators, fast=False)
    fast = validators.checks.parameters(match.operation, match.path_params, request.query, request.headers,
                                        request.cookies)
    assert fast == (slow if verdict == "valid" else None)
    assert outcome(match, request, validators, fast=True) == (verdict, slow)


@pytest.mark.parametrize("body", ['{"id": 1, "name": "a"}', "null", '{"id": 1}', '{"id": "one", "name": "a"}',
                                  '{"id": 1, "name": ""}'])
def test_a_nullable_request_body_is_judged_as_openapi_core_judges_it(plain: ApiSpec, body: str) -> None:
    """null is valid; an object missing a required field is not (the quick check is asked about the body)."""
    validators = ApiValidators(plain)
    request = as_mock_request(plain, {"path": "/things/7", "method": "PUT", "data": body,
                                      "headers": {"Content-Type": "application/json"}})
    match = Router([plain]).match(request.method, request.path)
    assert validators.checks.body_validator(match.operation, "application/json") is not None
    assert outcome(match, request, validators, fast=True) == outcome(match, request, validators, fast=False)


def test_a_byte_parameter_is_decoded_as_openapi_core_decodes_it(plain: ApiSpec) -> None:
    """openapi-core turns a `format: byte` value into its decoded text: the fast path must not hand on the base64."""
    validators = ApiValidators(plain)
    request = as_mock_request(plain, {"path": "/blobs", "method": "GET", "params": {"blob": "aGVsbG8="}})
    match = Router([plain]).match(request.method, request.path)
    assert outcome(match, request, validators, fast=True) == outcome(match, request, validators, fast=False) == (
        "valid", {"path": {}, "query": {"blob": "hello"}, "header": {}, "cookie": {}})
