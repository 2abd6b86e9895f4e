"""Form bodies read by the Encoding Object (mocksrv/wire/form_encoding.py), for 3.0 and 3.1 documents.

tests/data/forms/encodings30.yaml and encodings31.yaml are one document in both versions: arrays
as repeated keys (of enums, integers, numbers, booleans, an enum of numbers with no type, an
array behind ``allOf``), delimited arrays, ``deepObject``, exploded and delimited objects and a
JSON part. A valid body is stored as the JSON its schema describes (what a later read gives
back); an invalid one is refused with one specific line per field.
"""

from __future__ import annotations

import io
import typing as t
from pathlib import Path

import pytest
import requests
from werkzeug.datastructures import MultiDict

from conftest import DATA
from conftest import MockServer
from mocksrv import Options
from mocksrv import create_app
from mocksrv.openapi.specs import load_spec

FORMS = DATA / "forms"
VERSIONS = ["encodings30", "encodings31"]
URLENCODED = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def forms() -> t.Any:
    """Both documents served in this process, strict (a response the schema refuses is a 500)."""
    specs = [FORMS / f"{name}.yaml" for name in VERSIONS]
    return create_app(Options(specs=specs, strict=True), apis=[load_spec(spec) for spec in specs]).test_client()


def post(forms: t.Any, api: str, body: str) -> t.Any:
    return forms.post(f"/{api}/orders", data=body, content_type=URLENCODED)


def stored(response: t.Any) -> dict[str, t.Any]:
    """What the create stored and echoed, without the id it was given."""
    assert response.status_code == 201, response.text
    return {key: value for key, value in response.json.items() if key != "id"}


def errors(response: t.Any) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.text
    return [(e["field"], e["message"]) for e in response.json["errors"]]


@pytest.mark.parametrize("api", VERSIONS)
@pytest.mark.parametrize("body, kept", [
    # repeated keys (style form, explode true: the default), each item read by the items' schema
    ("tags=red&tags=blue", {"tags": ["red", "blue"]}),
    ("tags=red", {"tags": ["red"]}),  # one key is a one-item array
    ("tags=red&sizes=1&sizes=20", {"tags": ["red"], "sizes": [1, 20]}),
    ("tags=red&ratios=0.5&ratios=2", {"tags": ["red"], "ratios": [0.5, 2]}),
    ("tags=red&flags=true&flags=false", {"tags": ["red"], "flags": [True, False]}),
    ("tags=red&levels=1&levels=3", {"tags": ["red"], "levels": [1, 3]}),  # an enum of numbers, no type
    ("tags=red&wrapped=2&wrapped=3", {"tags": ["red"], "wrapped": [2, 3]}),  # an array behind allOf
    # not exploded: one value, split by the style's separator
    ("tags=red&codes=1,2,3", {"tags": ["red"], "codes": [1, 2, 3]}),
    ("tags=red&codes=", {"tags": ["red"], "codes": []}),
    ("tags=red&words=a%20b", {"tags": ["red"], "words": ["a", "b"]}),
    ("tags=red&pipes=a|b|c", {"tags": ["red"], "pipes": ["a", "b", "c"]}),
    # deepObject, with a nested array (a repeated key) and a nested object (another bracket)
    ("tags=red&filter[status]=open&filter[size]=3", {"tags": ["red"], "filter": {"status": "open", "size": 3}}),
    ("tags=red&filter%5Bids%5D=4&filter%5Bids%5D=5&filter[range][min]=1",
     {"tags": ["red"], "filter": {"ids": [4, 5], "range": {"min": 1}}}),
    # an object exploded into top-level keys, and one written as key,value pairs
    ("tags=red&x=1&y=2", {"tags": ["red"], "point": {"x": 1, "y": 2}}),
    ("tags=red&pair=a,5,b,true", {"tags": ["red"], "pair": {"a": 5, "b": True}}),
    # a part whose encoding says application/json
    ("tags=red&meta=%7B%22note%22%3A%22hi%22%7D", {"tags": ["red"], "meta": {"note": "hi"}}),
    # objects in an array: one JSON object per key, or (no item being a list) the whole array at once
    ('tags=red&lines={"sku":"a","qty":1}&lines={"sku":"b"}', {"tags": ["red"], "lines": [{"sku": "a", "qty": 1},
                                                                                       {"sku": "b"}]}),
    ('tags=red&lines=[{"sku":"a"},{"sku":"b"}]', {"tags": ["red"], "lines": [{"sku": "a"}, {"sku": "b"}]}),
])
def test_a_valid_urlencoded_form_is_stored_as_its_schema_reads_it(forms: t.Any, api: str, body: str,
                                                                   kept: dict[str, t.Any]) -> None:
    response = post(forms, api, body)
    assert stored(response) == kept
    record = forms.get(f"/__mocksrv/apis/{api}/records/orders/{response.json['id']}").json
    assert {key: value for key, value in record.items() if key != "id"} == kept


@pytest.mark.parametrize("api", VERSIONS)
@pytest.mark.parametrize("body, refused", [
    ("sizes=1", [("tags", "tags field is required")]),  # a required array of at least one, sent zero times
    ("tags=red&tags=pink", [("tags[1]", 'tags[1] must be one of: "red", "green", "blue"')]),
    ("tags=red&levels=1&levels=4", [("levels[1]", "levels[1] must be one of: 1, 2, 3")]),
    ("tags=red&sizes=1&sizes=x", [("sizes[1]", "sizes[1] must be of type integer, got string")]),
    ("tags=red&flags=yes", [("flags[0]", "flags[0] must be of type boolean, got string")]),
    ("tags=red&wrapped=0", [("wrapped[0]", "wrapped[0] must be at least 1")]),
    ("tags=red&codes=1,x", [("codes[1]", "codes[1] must be of type integer, got string")]),
    ("tags=red&filter[status]=lost", [("filter.status", 'filter.status must be one of: "open", "closed"')]),
    ("tags=red&filter[size]=big", [("filter.size", "filter.size must be of type integer, got string")]),
    ("tags=red&filter[colour]=red", [("filter", "filter has unknown field(s): colour")]),
    ("tags=red&filter[size]=1&filter[size]=2", [("filter.size", "filter.size field was sent 2 times; "
                                                                "it takes one value")]),
    ("tags=red&filter=open", [("filter", "filter is written as filter[key]=value (style deepObject)")]),
    ("tags=red&x=one", [("point.x", "point.x must be of type integer, got string")]),
    ("tags=red&pair=a,5,b", [("pair", "pair must be written as key,value pairs, got 3 values")]),
    ("tags=red&meta=%7Bnote", [("meta", "meta is not valid JSON: Expecting property name enclosed in double "
                                        "quotes: line 1 column 2 (char 1)")]),
    ("tags=red&other=1", [("", "request body has unknown field(s): other")]),
    ('tags=red&lines={"qty":1}', [("lines[0].sku", "lines[0].sku field is required")]),
    # numbers as JSON writes them: not Python's NaN, infinity or 1_000 (a NaN stored was a 500)
    ("tags=red&ratios=nan&ratios=1e999", [("ratios[0]", "ratios[0] must be of type number, got string"),
                                          ("ratios[1]", "ratios[1] must be of type number, got string")]),
    ("tags=red&sizes=1_000", [("sizes[0]", "sizes[0] must be of type integer, got string")]),
    ("tags=red&filter" + "[a]" * 3000 + "=1", [("filter", "filter is nested more than 32 levels deep")]),
])
def test_an_invalid_urlencoded_form_is_refused_naming_the_field(forms: t.Any, api: str, body: str,
                                                                 refused: list[tuple[str, str]]) -> None:
    assert errors(post(forms, api, body)) == refused


def multipart(forms: t.Any, api: str, fields: list[tuple[str, t.Any]]) -> t.Any:
    return forms.post(f"/{api}/orders", data=MultiDict(fields), content_type="multipart/form-data")


@pytest.mark.parametrize("api", VERSIONS)
def test_multipart_parts_are_read_as_the_encoding_says(forms: t.Any, api: str) -> None:
    fields = [("tags", "red"), ("tags", "green"), ("levels", "2"), ("flags", "false"), ("sizes", "7"),
              ("meta", '{"note": "a part"}')]
    assert stored(multipart(forms, api, fields)) == {
        "tags": ["red", "green"], "levels": [2], "flags": [False], "sizes": [7], "meta": {"note": "a part"}}
    # a JSON part sent as a file (curl -F 'meta=@m.json;type=application/json') is its JSON too
    as_file = (io.BytesIO(b'{"note": "from a file"}'), "m.json", "application/json")
    assert stored(multipart(forms, api, [("tags", "blue"), ("meta", as_file)]))["meta"] == {"note": "from a file"}


def test_a_style_applies_to_multipart_in_31_only(forms: t.Any) -> None:
    fields = [("tags", "red"), ("codes", "1,2")]
    assert stored(multipart(forms, "encodings31", fields))["codes"] == [1, 2]
    # 3.0 gives style and explode meaning for urlencoded bodies only: each part is one item
    assert errors(multipart(forms, "encodings30", fields)) == [
        ("codes[0]", "codes[0] must be of type integer, got string")]
    assert stored(multipart(forms, "encodings30", [*fields[:1], ("codes", "1"), ("codes", "2")]))["codes"] == [1, 2]


# -- over real HTTP: what HTTP clients write reaches the decoder the same way --------------------

@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(FORMS), "--strict")
    yield server
    server.stop()


@pytest.mark.parametrize("api", VERSIONS)
def test_over_http_repeated_keys_deep_objects_and_json_parts_are_accepted(mock: MockServer, api: str) -> None:
    data = [("tags", "red"), ("tags", "green"), ("sizes", "1"), ("sizes", "2"), ("filter[status]", "closed"),
            ("filter[size]", "3"), ("codes", "4,5"), ("meta", '{"note": "n"}')]
    response = requests.post(mock.url(f"/{api}/orders"), data=data, timeout=10)
    assert response.status_code == 201, response.text
    assert {key: value for key, value in response.json().items() if key != "id"} == {
        "tags": ["red", "green"], "sizes": [1, 2], "filter": {"status": "closed", "size": 3}, "codes": [4, 5],
        "meta": {"note": "n"}}
    multipart_response = requests.post(mock.url(f"/{api}/orders"), files=[("meta", (None, '{"note": "m"}'))],
                                       data=[("tags", "blue"), ("tags", "red"), ("levels", "3")], timeout=10)
    assert multipart_response.status_code == 201, multipart_response.text
    assert multipart_response.json()["tags"] == ["blue", "red"] and multipart_response.json()["levels"] == [3]


@pytest.mark.parametrize("api", VERSIONS)
def test_over_http_an_enum_item_and_a_missing_array_are_named(mock: MockServer, api: str) -> None:
    wrong = requests.post(mock.url(f"/{api}/orders"), data=[("tags", "red"), ("tags", "mauve")], timeout=10)
    assert wrong.status_code == 400
    assert wrong.json()["detail"] == 'tags[1] must be one of: "red", "green", "blue"'
    missing = requests.post(mock.url(f"/{api}/orders"), data=[("filter[size]", "2")], timeout=10)
    assert missing.status_code == 400
    assert missing.json()["detail"] == "tags field is required"


def test_a_property_schema_in_another_file_reads_its_refs_from_that_file() -> None:
    spec = FORMS / "split" / "openapi.yaml"  # levels' items are `#/Level` of parts.yaml, not of openapi.yaml
    client = create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()
    assert client.post("/openapi/things", data="levels=1&levels=2", content_type=URLENCODED).status_code == 204
    assert errors(client.post("/openapi/things", data="levels=3", content_type=URLENCODED)) == [
        ("levels[0]", "levels[0] must be one of: 1, 2")]


EMPTY_LIST = """
openapi: 3.0.3
info: {title: Samples, version: "1"}
paths:
  /campaigns:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [Name, Samples, Codes]
              properties:
                Name: {type: string}
                Samples: {type: array, items: {type: string}}
                Codes: {type: array, minItems: 1, items: {type: integer}}
      responses:
        "201": {description: made, content: {application/json: {schema: {type: object}}}}
"""


def test_a_required_array_that_may_be_empty_is_the_empty_list_when_no_key_is_sent(tmp_path: Path) -> None:
    """A form writes [] as no key at all (schemathesis on the public Twilio spec sends it so)."""
    spec = tmp_path / "samples.yaml"
    spec.write_text(EMPTY_LIST)
    client = create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()
    made = client.post("/samples/campaigns", data="Name=spring&Codes=1", content_type=URLENCODED)
    assert made.status_code == 201, made.text
    refused = client.post("/samples/campaigns", data="Name=spring", content_type=URLENCODED)
    assert refused.status_code == 400 and refused.json["detail"] == "Codes field is required"  # minItems: 1


NULLABLE_FIELDS = """
openapi: 3.0.3
info: {title: Verify, version: "1"}
paths:
  /verifications:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                Categories: {type: array, nullable: true, items: {type: string, enum: [MARKETING, ALERTS]}}
                Limit: {type: integer, nullable: true}
                Note: {type: string, nullable: true}
                Codes: {type: array, items: {type: string}}
                Strategy:   # OpenAI's chunking_strategy: "auto", an object, or null
                  nullable: true
                  anyOf: [{type: string, enum: [auto]}, {type: object}]
      responses:
        "201": {description: made, content: {application/json: {schema: {type: object}}}}
        "400": {description: bad, content: {application/json: {schema: {type: object}}}}
"""


@pytest.mark.parametrize("body, status, kept", [
    # the text `null` is null where null is allowed: no list, not the one-item list ["null"]
    ("Categories=null&Limit=null&Note=null", 201, {"Categories": None, "Limit": None, "Note": "null"}),
    ("Categories=MARKETING&Categories=ALERTS", 201, {"Categories": ["MARKETING", "ALERTS"]}),
    ("Codes=null", 201, {"Codes": ["null"]}),  # where null is not allowed (or text is), the text it is
    # a string is allowed, but only "auto": no string takes the text `null`, so it is null
    ("Strategy=null", 201, {"Strategy": None}),
    ("Strategy=auto", 201, {"Strategy": "auto"}),
    ("Limit=nothing", 400, None),
])
def test_the_text_null_is_null_where_the_schema_allows_null(tmp_path: Path, body: str, status: int,
                                                           kept: dict[str, t.Any] | None) -> None:
    spec = tmp_path / "verify.yaml"
    spec.write_text(NULLABLE_FIELDS)
    client = create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()
    response = client.post("/verify/verifications", data=body, content_type=URLENCODED)
    assert response.status_code == status, response.text
    if kept is not None:
        (record,) = client.get("/__mocksrv/apis/verify/records/verifications").json["records"]
        assert {key: value for key, value in record.items() if key != "id"} == kept


PAYMENTS = """
openapi: 3.0.3
info: {title: Payments, version: "1"}
paths:
  /sessions:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            encoding:
              metadata: {style: deepObject, explode: true}
              shipping: {style: deepObject, explode: true}
              options: {style: deepObject, explode: true}
              cart: {style: deepObject, explode: true}
              profile: {style: deepObject, explode: true}
            schema:
              type: object
              required: [profile]
              properties:
                metadata:   # Stripe's maps: a name may be empty
                  anyOf: [{type: object, additionalProperties: {type: string}}, {type: string, enum: [""]}]
                shipping:   # its object alternative requires an address that may be empty
                  anyOf:
                    - type: object
                      required: [address, name]
                      properties:
                        address: {type: object, properties: {city: {type: string}}}
                        name: {type: string}
                    - {type: string, enum: [""]}
                options:
                  type: object
                  properties:
                    types: {type: array, items: {type: string, enum: [passport, id_card]}}
                cart:
                  type: object
                  required: [total, lines]
                  properties:
                    total: {type: integer}
                    lines: {type: array, items: {type: object, required: [amount], properties: {amount: {type: integer}}}}
                profile: {type: object, properties: {url: {type: string}}}
      responses:
        "201": {description: made, content: {application/json: {schema: {type: object}}}}
        "400": {description: bad, content: {application/json: {schema: {type: object}}}}
"""


@pytest.mark.parametrize("body, kept", [
    # `metadata[]=x`: the key "" (an empty name is a name; `[]` is not read as an array push)
    ("metadata[]=x&metadata[a]=y", {"metadata": {"": "x", "a": "y"}, "profile": {}}),
    # the object alternative's required address that may be empty has no key to write: {}
    ("shipping[name]=Ann", {"shipping": {"name": "Ann", "address": {}}, "profile": {}}),
    # a key with no value where a list goes that no item can be written as: the empty list
    ("options[types]=", {"options": {"types": []}, "profile": {}}),
    # a required list that may be empty has no key either; nor has a required deepObject that may be empty
    ("cart[total]=0", {"cart": {"total": 0, "lines": []}, "profile": {}}),
])
def test_deep_objects_as_payment_apis_read_them(tmp_path: Path, body: str, kept: dict[str, t.Any]) -> None:
    """schemathesis on Stripe's document: each of these was refused (an unknown field `metadata[]`,
    "address is required", "'' is not one of", "line_items field is required", "profile field is required")."""
    spec = tmp_path / "payments.yaml"
    spec.write_text(PAYMENTS)
    client = create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()
    response = client.post("/payments/sessions", data=body, content_type=URLENCODED)
    assert response.status_code == 201, response.text
    (record,) = client.get("/__mocksrv/apis/payments/records/sessions").json["records"]
    assert {key: value for key, value in record.items() if key != "id"} == kept
