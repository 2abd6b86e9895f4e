"""Engine edge cases over real HTTP: form coercion (3.0 and 3.1), big integers, typed
response headers, examples that break their schema, parameter styles, security combos."""

from __future__ import annotations

import base64
import io
import json
import typing as t

import pytest
import requests

from conftest import DATA
from conftest import MockServer
from conftest import SpecChecker
from mocksrv import Options
from mocksrv import create_app
from mocksrv.openapi.specs import load_spec

FEATURES = DATA / "features"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # binary, not valid UTF-8


@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(FEATURES), "--strict")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def v30(mock: MockServer) -> SpecChecker:
    return SpecChecker(FEATURES / "forms30.yaml", mock.base_url)


@pytest.fixture(scope="module")
def v31(mock: MockServer) -> SpecChecker:
    return SpecChecker(FEATURES / "forms31.yaml", mock.base_url)


def test_30_multipart_integer_boolean_and_file_parts_are_accepted(mock: MockServer, v30: SpecChecker) -> None:
    response = requests.post(mock.url("/forms30/v1/uploads"), timeout=10,
                             data={"count": "7", "flag": "true", "ratio": "0.5", "tags": ["a", "b"]},
                             files={"file": ("x.png", PNG, "image/png")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert "secret" not in body  # writeOnly never appears in a response
    v30.assert_valid(response)


@pytest.mark.parametrize("data, message", [
    ({"count": "seven", "flag": "true"}, "count must be of type integer, got string"),
    ({"count": "0", "flag": "true"}, "count must be at least 1"),
    ({"count": "1", "flag": "yes"}, "flag must be of type boolean, got string"),
    ({"count": "1", "flag": "true", "other": "x"}, "request body has unknown field(s): other"),
    ({"flag": "true"}, "count field is required"),
])
def test_30_multipart_bad_parts_are_named(mock: MockServer, data: dict[str, str], message: str) -> None:
    response = requests.post(mock.url("/forms30/v1/uploads"), data=data, timeout=10,
                             files={"file": ("x.png", PNG, "image/png")})
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_30_multipart_file_content_type_is_checked(mock: MockServer) -> None:
    response = requests.post(mock.url("/forms30/v1/uploads"), data={"count": "1", "flag": "false"}, timeout=10,
                             files={"file": ("x.gif", b"GIF89a", "image/gif")})
    assert response.status_code == 400
    assert "file[0] has content type image/gif; allowed: image/png, image/jpeg" in response.json()["detail"]


def test_multipart_without_boundary_is_400(mock: MockServer) -> None:
    response = requests.post(mock.url("/forms30/v1/uploads"), data=b"--x\r\n", timeout=10,
                             headers={"Content-Type": "multipart/form-data"})
    assert response.status_code == 400
    assert "boundary" in response.json()["detail"]


def test_urlencoded_form_is_coerced(mock: MockServer) -> None:
    assert requests.post(mock.url("/forms30/v1/forms"), data={"n": "12", "b": "false"}, timeout=10
                         ).status_code == 204
    bad = requests.post(mock.url("/forms30/v1/forms"), data={"n": "1.5"}, timeout=10)
    assert bad.status_code == 400
    assert "n must be of type integer" in bad.json()["detail"]


def test_31_multipart_file_and_type_arrays(mock: MockServer, v31: SpecChecker) -> None:
    response = requests.post(mock.url("/forms31/uploads"), data={"count": "3", "note": "hi"}, timeout=10,
                             files={"file": ("x.png", PNG, "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "upload" and 0 < body["size"] < 1  # const, 3.1 numeric exclusive bounds
    v31.assert_valid(response)


def test_31_type_array_violation_is_reported_not_crashed(mock: MockServer) -> None:
    response = requests.post(mock.url("/forms31/uploads"), data={"count": "x", "note": "too long"}, timeout=10,
                             files={"file": ("x.png", PNG, "image/png")})
    assert response.status_code == 422  # the operation declares 422, not 400
    assert response.headers["Content-Type"] == "application/problem+json"
    # the first problem only: this API's problem document has room for one message
    assert response.json()["detail"] == "count must be of type integer or null, got string"


def test_31_path_parameter_exclusive_minimum(mock: MockServer) -> None:
    # a valid id with nothing stored: the operation declares no 404, so it answers what the spec allows
    assert requests.get(mock.url("/forms31/items/1"), timeout=10).status_code == 200
    response = requests.get(mock.url("/forms31/items/0"), timeout=10)
    assert response.status_code == 422
    assert response.json()["detail"] == "id must be greater than 0"


def test_int64_above_2_53_is_exact(mock: MockServer, v30: SpecChecker) -> None:
    response = requests.get(mock.url("/forms30/v1/big"), timeout=10)
    assert response.status_code == 200
    assert response.text == '{"id":9007199254740993}'  # compact, and exact
    v30.assert_valid(response)


def test_response_headers_serialised_by_schema(mock: MockServer) -> None:
    response = requests.get(mock.url("/forms30/v1/big"), timeout=10)
    assert response.headers["X-Flag"] == "true"
    assert response.headers["X-Count"] == "3"
    assert response.headers["X-Tags"] == "a,b"


def test_example_that_breaks_its_schema_is_not_served(mock: MockServer, v30: SpecChecker) -> None:
    response = requests.get(mock.url("/forms30/v1/bad-example"), timeout=10)
    assert response.status_code == 200
    assert isinstance(response.json()["id"], int) and response.json()["id"] >= 10
    v30.assert_valid(response)
    assert "badExample" in mock.log_line("does not validate")


def test_query_array_style_and_cookie(mock: MockServer, v30: SpecChecker) -> None:
    response = requests.get(mock.url("/forms30/v1/search"), params={"ids": "1,2,3"}, cookies={"session": "s"},
                            timeout=10)
    assert response.status_code == 200, response.text
    v30.assert_valid(response)
    missing = requests.get(mock.url("/forms30/v1/search"), params={"ids": "1,x"}, timeout=10)
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {"session", "ids"}


def test_basic_auth(mock: MockServer) -> None:
    url = mock.url("/forms30/v1/secure/basic")
    assert requests.get(url, auth=("u", "p"), timeout=10).status_code == 200
    denied = requests.get(url, headers={"Authorization": "Basic !!notbase64"}, timeout=10)
    assert denied.status_code == 401
    assert denied.headers["WWW-Authenticate"] == 'Basic realm="mocksrv"'


def test_security_alternatives(mock: MockServer) -> None:
    url = mock.url("/forms30/v1/secure/either")
    assert requests.get(url, params={"api_key": "k"}, timeout=10).status_code == 200
    assert requests.get(url, headers={"Authorization": "Bearer t"}, timeout=10).status_code == 200
    assert requests.get(url, timeout=10).status_code == 401


def test_security_combination_needs_both(mock: MockServer, v30: SpecChecker) -> None:
    url = mock.url("/forms30/v1/secure/both")
    assert requests.get(url, headers={"X-Key": "k"}, cookies={"sid": "s"}, timeout=10).status_code == 200
    only_one = requests.get(url, headers={"X-Key": "k"}, timeout=10)
    assert only_one.status_code == 401
    assert only_one.json() == {"error": "missing credentials: send the API key 'X-Key' in the header and the API "
                                        "key 'sid' in the cookie", "status": 401}
    v30.assert_valid(only_one)


def test_basic_credentials_decode(mock: MockServer) -> None:
    token = base64.b64encode(b"no-colon").decode()
    response = requests.get(mock.url("/forms30/v1/secure/basic"), headers={"Authorization": f"Basic {token}"},
                            timeout=10)
    assert response.status_code == 401


def test_a_schema_no_value_satisfies_is_served_with_a_warning_even_in_strict_mode(mock: MockServer) -> None:
    response = requests.get(mock.url("/forms30/v1/impossible"), timeout=10)
    assert response.status_code == 200  # the spec admits no valid value: strict has nothing better to send
    mock.log_line("forms30 impossible: response 200 does not conform, and the spec admits no value that would")


def test_plus_json_media_types_are_validated_as_json(mock: MockServer, v31: SpecChecker) -> None:
    response = requests.get(mock.url("/forms31/links"), timeout=10)
    assert response.status_code == 200  # strict mode: a 500 if the body could not be checked
    assert response.headers["Content-Type"] == "application/hal+json"
    assert "href" in response.json()["_links"]["self"]
    v31.assert_valid(response)


# -- forms in this process (Flask's test client), so `make mutate` sees validation.py's form code --

@pytest.fixture()
def forms() -> t.Any:
    """forms30 and forms31 served in this process, strict."""
    specs = [FEATURES / "forms30.yaml", FEATURES / "forms31.yaml"]
    return create_app(Options(specs=specs, strict=True), apis=[load_spec(spec) for spec in specs]).test_client()


def upload(forms: t.Any, api: str = "forms30/v1", **fields: t.Any) -> t.Any:
    """A multipart POST; a tuple ``(bytes, filename[, content type])`` is a file part."""
    data = {name: (io.BytesIO(value[0]), *value[1:]) if isinstance(value, tuple) else value
            for name, value in fields.items()}
    return forms.post(f"/{api}/uploads", data=data, content_type="multipart/form-data")


def stored(forms: t.Any, api: str) -> list[dict[str, t.Any]]:
    """The records an API's creates stored (what a later read, or the admin API, shows)."""
    return t.cast(list[dict[str, t.Any]], forms.get(f"/__mocksrv/apis/{api}/records/uploads").json["records"])


def test_in_process_form_parts_are_stored_as_their_schema_types(forms: t.Any) -> None:
    response = upload(forms, count="7", flag="TRUE", ratio="0.5", tags=["a", "b"], file=(PNG, "x.png"),
                      meta='{"size": 3}', thumb=(b"GIF89a", "t.gif", "image/gif"))
    assert response.status_code == 201, response.text
    [record] = stored(forms, "forms30")
    assert {k: v for k, v in record.items() if k not in ("id", "createdAt")} == {
        "count": 7, "flag": True, "ratio": 0.5, "tags": ["a", "b"], "meta": {"size": 3},
        # a file is kept as what it was: its name, type (declared, else octet-stream) and size
        "file": {"filename": "x.png", "content_type": "image/png", "size": len(PNG)},
        "thumb": {"filename": "t.gif", "content_type": "image/gif", "size": 6}}


@pytest.mark.parametrize("ratio, kept", [("2", 2), ("2.0", 2.0), ("1e3", 1000.0), ("1E3", 1000.0), ("-3", -3)])
def test_in_process_a_number_part_keeps_the_way_it_was_written(forms: t.Any, ratio: str, kept: float) -> None:
    png = (PNG, "x.png", "image/png")
    assert upload(forms, count="1", flag="false", ratio=ratio, file=png).status_code == 201
    value = stored(forms, "forms30")[0]["ratio"]
    assert (value, type(value)) == (kept, type(kept))
    assert stored(forms, "forms30")[0]["flag"] is False


@pytest.mark.parametrize("fields, errors", [
    ({"count": "seven", "flag": "true"}, [("count", "count must be of type integer, got string")]),
    ({"count": "1", "flag": "yes"}, [("flag", "flag must be of type boolean, got string")]),
    ({"count": "1", "flag": "true", "ratio": "half"}, [("ratio", "ratio must be of type number, got string")]),
    ({"count": "1", "flag": "true", "meta": "{"}, [("meta", "meta must be of type object, got string")]),
    ({"count": ["1", "2"], "flag": "true"}, [("count", "count field was sent 2 times; it takes one value")]),
    ({"count": "1", "flag": "true", "file": (b"GIF89a", "x.gif", "image/gif")},
     [("file[0]", "file[0] has content type image/gif; allowed: image/png, image/jpeg")]),
    ({"count": "1", "flag": "true", "file": (b"?", "x")},
     [("file[0]", "file[0] has content type application/octet-stream; allowed: image/png, image/jpeg")]),
    ({"count": "1", "flag": "true", "thumb": (b"%PDF", "t.pdf", "application/pdf")},
     [("thumb[0]", "thumb[0] has content type application/pdf; allowed: image/*")]),
])
def test_in_process_bad_form_parts_are_named(forms: t.Any, fields: dict[str, t.Any],
                                             errors: list[tuple[str, str]]) -> None:
    response = upload(forms, **{"file": (PNG, "x.png", "image/png"), **fields})
    assert response.status_code == 400, response.text
    assert [(e["location"], e["field"], e["message"]) for e in response.json["errors"]] == \
        [("body", field, message) for field, message in errors]
    assert stored(forms, "forms30") == []


@pytest.mark.parametrize("query, errors", [
    ("n=12&b=false", []),
    ("n=1&extra=5", []),  # an undeclared field takes additionalProperties' type
    ("n=1&nums=1&nums=2", []),  # each item coerced by the array's items
    ("n=1&any=a&any=b", []),  # a declared field of no type sent twice is a list (not additionalProperties')
    ("n=1.5", [("n", "n must be of type integer, got string")]),
    ("n=1&n=2", [("n", "n field was sent 2 times; it takes one value")]),
    ("n=1&extra=x", [("extra", "extra must be of type integer, got string")]),
    ("n=1&nums=1&nums=x", [("nums[1]", "nums[1] must be of type integer, got string")]),
])
def test_in_process_an_urlencoded_form_is_coerced_by_its_schema(forms: t.Any, query: str,
                                                                errors: list[tuple[str, str]]) -> None:
    # another operation's form first: each operation's form is checked by its own schema
    assert upload(forms, count="1", flag="true", file=(PNG, "x.png", "image/png")).status_code == 201
    response = forms.post("/forms30/v1/forms", data=query, content_type="application/x-www-form-urlencoded")
    assert response.status_code == (400 if errors else 204), response.text
    if errors:
        assert [(e["location"], e["field"], e["message"]) for e in response.json["errors"]] == \
            [("body", field, message) for field, message in errors]


def test_in_process_a_form_schema_made_of_all_of_parts_coerces_their_fields(forms: t.Any) -> None:
    flags = "/forms30/v1/flags"  # b is declared in an allOf part ($ref), the only place it is
    assert forms.post(flags, data="b=false", content_type="application/x-www-form-urlencoded").status_code == 204
    refused = forms.post(flags, data="b=x", content_type="application/x-www-form-urlencoded")
    assert refused.json["errors"] == [{"location": "body", "field": "b", "message": "b must be of type boolean, got string"}]


def test_in_process_a_file_part_sent_without_a_content_type_is_application_octet_stream(forms: t.Any) -> None:
    def parts(file_field: str) -> bytes:
        return (b'--b\r\nContent-Disposition: form-data; name="count"\r\n\r\n1\r\n'
                b'--b\r\nContent-Disposition: form-data; name="flag"\r\n\r\ntrue\r\n'
                b'--b\r\nContent-Disposition: form-data; name="' + file_field.encode() + b'"; filename="x.png"\r\n'
                b"\r\nPNG\r\n--b--\r\n")  # no Content-Type line in the file part

    for field, allowed in (("file", "image/png, image/jpeg"), ("thumb", "image/*")):
        response = forms.post("/forms30/v1/uploads", data=parts(field), content_type="multipart/form-data; boundary=b")
        assert {"location": "body", "field": f"{field}[0]",
                "message": f"{field}[0] has content type application/octet-stream; allowed: {allowed}"} \
            in response.json["errors"]


def test_in_process_a_text_body_is_checked_by_its_schema(checks: t.Any) -> None:
    assert checks.post("/checks/v1/memos", data=b"hello", content_type="text/plain").status_code == 204
    refused = checks.post("/checks/v1/memos", data=b"toolong", content_type="text/plain")
    assert refused.json["errors"] == [
        {"location": "body", "field": "", "message": "request body must be at most 5 characters long"}]


def test_in_process_a_media_type_range_accepts_its_types(checks: t.Any) -> None:
    assert checks.post("/checks/v1/pictures", data=b"\x89PNG", content_type="image/png").status_code == 204
    refused = checks.post("/checks/v1/pictures", data=b"x", content_type="text/plain")
    assert (refused.status_code, refused.json["detail"]) == (
        415, "Content-Type text/plain is not accepted here; send one of: image/*")


def test_in_process_response_headers_are_written_and_checked_by_their_schemas(forms: t.Any) -> None:
    response = forms.get("/forms30/v1/big")  # strict: a header the check could not read would be a 500
    assert response.status_code == 200
    assert (response.headers["X-Flag"], response.headers["X-Count"], response.headers["X-Tags"]) == ("true", "3", "a,b")


def test_in_process_a_31_form_reads_null_and_type_arrays(forms: t.Any) -> None:
    sent = [{"count": "null", "note": ""}, {"count": "", "note": "null"}, {"count": "4", "note": "hi"}]
    kept = [{"count": None, "note": ""}, {"count": None, "note": "null"}, {"count": 4, "note": "hi"}]
    for fields, expected in zip(sent, kept, strict=True):
        response = upload(forms, "forms31", **fields, file=(PNG, "x.png", "image/png"))
        assert response.status_code == 200, response.text
        [record] = stored(forms, "forms31")
        assert {k: record[k] for k in expected} == expected, fields
        forms.delete(f"/__mocksrv/apis/forms31/records/uploads/{record['id']}")
    bad = upload(forms, "forms31", count="x", file=(PNG, "x.png", "image/png"))
    assert bad.status_code == 422
    assert bad.json["detail"] == "count must be of type integer or null, got string"  # the spec's own 422 shape


# -- request and response checks in this process: the messages a client reads --

@pytest.fixture()
def checks() -> t.Any:
    """checks.yaml (every keyword a 3.0 body can break) and forms31, served in this process, strict."""
    specs = [FEATURES / "checks.yaml", FEATURES / "forms31.yaml"]
    return create_app(Options(specs=specs, strict=True), apis=[load_spec(spec) for spec in specs]).test_client()


@pytest.mark.parametrize("body, errors", [
    ({"name": "x"}, [("name", "name must be at least 2 characters long")]),
    ({"name": "abcdef"}, [("name", "name must be at most 4 characters long")]),
    ({"name": "AB"}, [("name", "name must match the pattern ^[a-z]+$")]),
    ({"name": "ab", "kind": "c"}, [("kind", 'kind must be one of: "a", "b"')]),
    ({"name": "ab", "size": 0}, [("size", "size must be at least 1")]),
    ({"name": "ab", "size": 11}, [("size", "size must be at most 9"), ("size", "size must be a multiple of 2")]),
    # 3.0's exclusiveMinimum/exclusiveMaximum: true make the bound itself refused
    ({"name": "ab", "ratio": 0}, [("ratio", "ratio must be greater than 0")]),
    ({"name": "ab", "ratio": 1.5}, [("ratio", "ratio must be at most 1")]),
    ({"name": "ab", "share": 1}, [("share", "share must be less than 1")]),
    ({"name": "ab", "share": -1}, [("share", "share must be at least 0")]),
    ({"name": "ab", "tags": []}, [("tags", "tags must have at least 1 items")]),
    ({"name": "ab", "tags": ["a", "b", "c"]}, [("tags", "tags must have at most 2 items")]),
    ({"name": "ab", "tags": ["a", "a"]}, [("tags", "tags must not contain duplicate items")]),
    ({"name": "ab", "meta": {}}, [("meta", "meta must have at least 1 properties")]),
    ({"name": "ab", "meta": {"a": 1, "b": 2}}, [("meta", "meta must have at most 1 properties")]),
    ({"name": "ab", "when": "soon"}, [("when", "when is not a valid date")]),
    ({"name": "ab", "id": 1}, [("id", "id is read-only and cannot be sent")]),
    ({"name": "ab", "pick": "x"},
     [("pick", "pick does not match any allowed form (pick must be of type integer, got string)")]),
    ({"name": "ab", "parts": [{}]}, [("parts[0].n", "parts[0].n field is required")]),
    ({"name": "ab", "parts": [{"n": "x"}]}, [("parts[0].n", "parts[0].n must be of type integer, got string")]),
    ({"name": "ab", "other": 1, "more": 2}, [("", "request body has unknown field(s): other, more")]),
    ({}, [("name", "name field is required")]),
    ({"name": 1.5}, [("name", "name must be of type string, got number")]),
    ({"name": [1]}, [("name", "name must be of type string, got array")]),
    ({"name": {}}, [("name", "name must be of type string, got object")]),
    ({"name": True}, [("name", "name must be of type string, got boolean")]),
    ({"name": 3}, [("name", "name must be of type string, got integer")]),
    ([1], [("", "request body must be of type object, got array")]),
])
@pytest.mark.parametrize("media", ["application/json", "application/vnd.thing+json"])
def test_in_process_a_json_body_breaking_its_schema_is_told_where_and_why(
        checks: t.Any, media: str, body: t.Any, errors: list[tuple[str, str]]) -> None:
    response = checks.post("/checks/v1/things", data=json.dumps(body), content_type=media)
    assert response.status_code == 400
    assert [(e["location"], e["field"], e["message"]) for e in response.json["errors"]] == \
        [("body", field, message) for field, message in errors]
    assert response.json["detail"] == errors[0][1]  # one message: the first problem's


@pytest.mark.parametrize("raw, message", [
    (b'"\xff"', "request body is not valid UTF-8 (invalid start byte at byte 1)"),
    (b"{", "request body is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
           "(char 1)"),
    (b"[" * 100_000, "request body is nested too deeply"),
])
def test_in_process_a_body_that_is_not_json_is_told_so(checks: t.Any, raw: bytes, message: str) -> None:
    response = checks.post("/checks/v1/things", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json["errors"] == [{"location": "body", "field": "", "message": message}]


def test_in_process_every_violation_is_listed_and_the_detail_is_the_first(checks: t.Any) -> None:
    body = {"name": "x", "kind": "c", "size": 0, "share": 1, "tags": [], "meta": {}, "when": "soon"}
    response = checks.post("/checks/v1/things", json=body)
    assert len(response.json["errors"]) == 7
    assert response.json["detail"] == response.json["errors"][0]["message"] == \
        "name must be at least 2 characters long"


def test_in_process_31_bounds_and_const_are_told(checks: t.Any) -> None:
    assert checks.get("/forms31/items/0").json["detail"] == "id must be greater than 0"
    assert checks.get("/forms31/items/1", query_string={"mode": "slow"}).json["detail"] == 'mode must be "fast"'
    assert checks.get("/forms31/items/1", query_string={"mode": "fast"}).status_code == 200


def test_in_process_strict_mode_names_what_breaks_the_response(forms: t.Any) -> None:
    assert forms.get("/forms30/v1/impossible").status_code == 200  # no valid value exists: served, logged
    rule = {"api": "forms30", "operation": "badExample", "then": {"status": 200, "body": {"id": "abc"}}}
    assert forms.post("/__mocksrv/rules", json=rule).status_code == 201
    overridden = forms.get("/forms30/v1/bad-example")
    assert (overridden.status_code, overridden.json["detail"]) == (
        500, "mocksrv built a 200 response that does not validate against forms30 badExample: "
             "id: 'abc' is not of type 'integer'")
