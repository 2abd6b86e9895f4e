"""Error bodies carry the reason where each API's own error format keeps it (tests/data/features/errors.yaml).

The server runs in strict mode: an error body that broke its schema would be a 500.
"""

from __future__ import annotations

import json
import typing as t
import uuid
from pathlib import Path

import pytest

from conftest import DATA
from conftest import inline_client
from mocksrv import Options
from mocksrv import create_app

SPEC = DATA / "features" / "errors.yaml"
KEY = {"X-Key": "any"}
TOO_SMALL = "count must be at least 1"
NO_KEY = "missing credentials: send the API key 'X-Key' in the header"


@pytest.fixture(scope="module")
def client() -> t.Any:
    return create_app(Options(specs=[SPEC], fixtures=None, strict=True)).test_client()


def get(client: t.Any, style: str, query: str = "count=0", headers: dict[str, str] | None = None) -> t.Any:
    response = client.get(f"/errors/v1/{style}?{query}", headers=KEY if headers is None else headers)
    return response.status_code, response.get_json(force=True)


def test_google_style_nests_code_message_and_the_canonical_status(client: t.Any) -> None:
    assert get(client, "google") == (400, {"error": {"code": 400, "message": TOO_SMALL, "status": "INVALID_ARGUMENT"}})
    assert get(client, "google", headers={}) == (
        401, {"error": {"code": 401, "message": NO_KEY, "status": "UNAUTHENTICATED"}})


def test_an_injected_fault_is_worded_the_same_way(client: t.Any) -> None:
    added = client.post("/__mocksrv/faults", json={"api": "errors", "operationId": "googleStyle", "status": 503,
                                                   "times": 1})
    assert added.status_code == 201, added.get_data(as_text=True)
    status, body = get(client, "google", "count=2")
    assert status == 503
    assert body["error"]["code"] == 503 and body["error"]["status"] == "UNAVAILABLE"
    assert "503" in body["error"]["message"] and "googleStyle" in body["error"]["message"]


def test_microsoft_style_names_the_target_and_lists_details(client: t.Any) -> None:
    assert get(client, "microsoft") == (400, {"error": {
        "code": "invalid_request", "message": TOO_SMALL, "target": "count",
        "details": [{"code": "invalid_request", "message": TOO_SMALL, "target": "count"}]}})
    # no field to name: the optional targets are left out rather than filled with a made-up word
    assert get(client, "microsoft", headers={}) == (401, {"error": {
        "code": "unauthorized", "message": NO_KEY, "details": [{"code": "unauthorized", "message": NO_KEY}]}})


def test_json_api_errors_carry_status_as_text_and_the_source(client: t.Any) -> None:
    assert get(client, "jsonapi") == (400, {"errors": [{
        "status": "400", "code": "invalid_request", "title": "Bad Request", "detail": TOO_SMALL,
        "source": {"parameter": "count"}}]})
    created = client.post("/errors/v1/jsonapi", data=json.dumps({"data": {"attributes": {"title": "x"}}}),
                          headers={**KEY, "Content-Type": "application/vnd.api+json"})
    assert created.status_code == 422
    [error] = created.get_json(force=True)["errors"]
    assert error["source"] == {"pointer": "/data/attributes/title"}
    assert error["detail"] == "data.attributes.title must be at least 3 characters long"
    assert error["status"] == "422"


def test_every_violation_gets_its_own_item(client: t.Any) -> None:
    created = client.post("/errors/v1/jsonapi", data=json.dumps({"data": {}}),
                          headers={**KEY, "Content-Type": "application/vnd.api+json"})
    assert created.status_code == 422
    assert [e["source"] for e in created.get_json(force=True)["errors"]] == [{"pointer": "/data/attributes"}]
    status, body = get(client, "fields", "count=0&count=1")
    assert status == 400
    assert [item["field"] for item in body["errors"]] == ["count"] * len(body["errors"])


def test_stripe_style_takes_the_closest_error_type_from_its_enum(client: t.Any) -> None:
    assert get(client, "stripe") == (400, {"error": {
        "type": "invalid_request_error", "code": "invalid_request", "message": TOO_SMALL, "param": "count"}})
    status, body = get(client, "stripe", headers={})
    assert status == 401
    assert body == {"error": {"type": "invalid_request_error", "code": "unauthorized", "message": NO_KEY}}


def test_a_flat_message_with_a_list_of_field_errors(client: t.Any) -> None:
    assert get(client, "fields") == (400, {"message": TOO_SMALL, "errors": [{"field": "count", "message": TOO_SMALL}]})


def test_a_body_that_is_the_list_of_errors_itself(client: t.Any) -> None:
    status, body = get(client, "bare-list")
    assert status == 400
    assert [(item["message"], item["field"]) for item in body] == [(TOO_SMALL, "count")]  # no generated word


def test_an_unreadable_value_is_named_in_the_message(client: t.Any) -> None:
    status, body = get(client, "google", "count=many")
    assert status == 400
    assert body["error"]["message"].startswith("count query parameter has a value that cannot be read")


def test_a_rate_limit_takes_the_enum_value_that_names_it(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text("errors:\n  rate_limit: {limit: 1, window_seconds: 60}\n")
    limited = create_app(Options(specs=[SPEC], fixtures=tmp_path, strict=True)).test_client()
    assert get(limited, "stripe", "count=1")[0] == 200
    status, body = get(limited, "stripe", "count=1")
    assert status == 429
    assert body["error"]["type"] == "rate_limit_error" and body["error"]["code"] == "rate_limit_exceeded"
    assert "param" not in body["error"]


DOCUMENTED = """
openapi: 3.0.3
info: {title: Documented, version: "1"}
x-mocksrv-errors:
  invalid_request: {message: The request was not understood, fields: {type: bad_request, hint: see the docs}}
paths:
  /things:
    get:
      parameters: [{name: count, in: query, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400":
          description: refused
          content:
            application/json:
              schema:
                type: object
                required: [type, message, hint]
                properties:
                  type: {type: string, enum: [api_error, card_error, invalid_request_error, rate_limit_error]}
                  message: {type: string}
                  hint: {type: string}
"""


def test_a_documented_field_that_breaks_the_schema_gives_way_to_ours(tmp_path: Path) -> None:
    documented = inline_client(tmp_path, "documented", DOCUMENTED, strict=True)
    response = documented.get("/documented/things?count=many")
    assert response.status_code == 400
    body = response.get_json()
    assert body["hint"] == "see the docs" and body["message"] == "The request was not understood"
    assert body["type"] == "invalid_request_error"  # `bad_request` is not in the enum: the closest choice is


CARRIED = """
openapi: 3.0.3
info: {title: Carried, version: "1"}
paths:
  /charges:
    get:
      parameters: [{name: count, in: query, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400":
          description: refused, with the objects the error is about
          content:
            application/json:
              schema:
                type: object
                required: [error]
                properties:
                  error:
                    type: object
                    required: [type]
                    properties:
                      type: {type: string, enum: [card_error, invalid_request_error]}
                      message: {type: string}
                      charge:
                        type: object
                        required: [description, status]
                        properties: {description: {type: string}, status: {type: string}}
                      source:
                        type: object
                        required: [id, object]
                        properties: {id: {type: string}, object: {type: string}}
"""


def test_objects_an_error_carries_keep_their_own_fields(tmp_path: Path) -> None:
    carried = inline_client(tmp_path, "carried", CARRIED, strict=True)
    response = carried.get("/carried/charges?count=many")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["message"].startswith("count query parameter has a value that cannot be read")
    assert error["type"] == "invalid_request_error"
    # a charge and a card the error is about (their fields generated): data, not the error's
    # message, status or JSON:API source
    assert error["charge"]["description"] != error["message"] and error["charge"]["status"] != "400"
    assert set(error["source"]) == {"id", "object"}


def test_each_error_keeps_its_own_body_when_errors_repeat(tmp_path: Path) -> None:
    # error bodies are made once per response and error: a repeated mistake gets the same body back,
    # and a different mistake on the same response never gets the body of the one before
    fresh = create_app(Options(specs=[SPEC], fixtures=None, strict=True)).test_client()
    too_small = (400, {"error": {"code": 400, "message": TOO_SMALL, "status": "INVALID_ARGUMENT"}})
    assert get(fresh, "google", "count=0") == too_small
    status, unreadable = get(fresh, "google", "count=many")
    assert status == 400 and unreadable["error"]["message"].startswith("count query parameter has a value")
    assert get(fresh, "google", "count=0") == too_small
    assert get(fresh, "google", "count=0", headers={})[1]["error"]["message"] == NO_KEY
    assert get(fresh, "google", "count=many") == (400, unreadable)
    # a challenge header added to the error is sent once, however often the error repeats
    for _ in range(3):
        refused = fresh.get("/errors/v1/google?count=1")
        assert refused.status_code == 401
        assert refused.headers.getlist("WWW-Authenticate") == ['ApiKey realm="mocksrv", in="header", name="X-Key"']


THINGS = """
openapi: 3.0.3
info: {title: Things, version: "1"}
paths:
  /things:
    post:
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses:
        "201": {description: made, content: {application/json: {schema: {type: object}}}}
  /things/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "404":
          description: none
          content:
            application/json:
              schema: {type: object, required: [message], properties: {message: {type: string}}}
"""


def test_errors_that_differ_only_in_their_message_keep_their_own(tmp_path: Path) -> None:
    things = inline_client(tmp_path, "things", THINGS, strict=True)
    for name in ("a", "b", "a"):
        response = things.get(f"/things/things/{name}")
        assert (response.status_code, response.json) == (404, {"message": f"things '{name}' not found"})


TRACED = """
openapi: 3.0.3
info: {title: Traced, version: "1"}
paths:
  /things:
    get:
      parameters: [{name: count, in: query, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400":
          description: refused
          headers: {X-Kind: {schema: {type: string, enum: [refusal]}}}
          content:
            application/json:
              schema:
                type: object
                required: [message, request_id]
                properties:
                  message: {type: string}
                  request_id: {type: string, format: uuid}
                  errors:
                    type: array
                    items:
                      type: object
                      required: [message, trace_id]
                      properties: {message: {type: string}, trace_id: {type: string, format: uuid}}
"""


def test_an_error_with_a_trace_id_gets_a_fresh_one_every_time(tmp_path: Path) -> None:
    traced = inline_client(tmp_path, "traced", TRACED, strict=True)
    first, second = (traced.get("/traced/things?count=many") for _ in range(2))
    assert first.status_code == second.status_code == 400
    assert first.headers["X-Kind"] == second.headers["X-Kind"] == "refusal"
    assert first.json["message"] == second.json["message"]
    ids = [(answer.json["request_id"], answer.json["errors"][0]["trace_id"]) for answer in (first, second)]
    assert len({str(uuid.UUID(each)) for pair in ids for each in pair}) == 4  # four ids, each a fresh UUID
    for answer in (first, second):  # the rest of the body is the same every time
        assert answer.json["errors"][0]["message"] == answer.json["message"]
        assert set(answer.json) == {"message", "request_id", "errors"}


IMPOSSIBLE = """
openapi: 3.0.3
info: {title: Impossible, version: "1"}
paths:
  /things:
    get:
      parameters: [{name: count, in: query, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400":
          description: refused
          content:
            application/json:
              schema:
                type: object
                required: [code]
                properties: {code: {type: integer, minimum: 10, maximum: 5}}
"""


def test_an_error_answer_that_breaks_its_schema_is_refused_every_time_in_strict_mode(tmp_path: Path) -> None:
    # error answers and their checks are kept once made: the verdict must hold on every repeat
    strict = inline_client(tmp_path, "impossible", IMPOSSIBLE, strict=True)
    lenient = inline_client(tmp_path, "impossible", IMPOSSIBLE)
    for _ in range(3):
        refused = strict.get("/impossible/things?count=many")
        assert refused.status_code == 500
        assert refused.json["detail"] == ("mocksrv built a 400 response that does not validate against impossible "
                                          "GET /things: code: 10 is greater than the maximum of 5")
        assert lenient.get("/impossible/things?count=many").status_code == 400
