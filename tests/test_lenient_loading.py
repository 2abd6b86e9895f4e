"""Lenient loading (docs/decisions.md): a mistake whose meaning is clear is repaired at load with
one warning line naming the file and place, served as the author meant it; ``--strict-specs``
refuses the document instead, in one line. Each spec here carries one kind of mistake."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

from conftest import ROOT
from mocksrv import Options
from mocksrv import create_app
from mocksrv.errors import SpecError
from mocksrv.openapi.document_repairs import meant_media_types
from mocksrv.openapi.patterns import escape_stray_brackets
from mocksrv.openapi.patterns import spec_validator_reads
from mocksrv.openapi.specs import load_spec

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

HEAD = 'openapi: {version}\ninfo: {{title: T, version: "1"}}\n'
OK = '"200": {description: ok, content: {application/json: {schema: {type: object}}}}'
BAD = ('"400": {description: bad, content: {application/json: {schema: {type: object, '
       'properties: {message: {type: string}}}}}}')
ERRORS = f"        {OK}\n        {BAD}\n"


def write(tmp_path: Path, text: str, *, version: str = "3.0.3", name: str = "api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD.format(version=version) + textwrap.dedent(text))
    return path


def client(path: Path) -> FlaskClient:
    api = load_spec(path)
    return create_app(Options(specs=[path], fixtures=None, strict=True), apis=[api]).test_client()


def repaired(path: Path, told: str) -> list[str]:
    """Loads with exactly one warning containing ``told``; every warning one line naming the file and
    place; under --strict-specs refused in one line naming the first."""
    api = load_spec(path)
    assert len([warning for warning in api.warnings if told in warning]) == 1, api.warnings
    assert all(warning.startswith(f"{path}: /") and "\n" not in warning for warning in api.warnings)
    with pytest.raises(SpecError) as refused:
        load_spec(path, strict=True)
    more = len(api.warnings) - 1
    assert str(refused.value) == f"{api.warnings[0]} (refused by --strict-specs{f'; {more} more' if more else ''})"
    return api.warnings


# --- 1. security written as one requirement object ---------------------------------------

SECURITY = """\
components:
  securitySchemes:
    api_key: {type: apiKey, in: header, name: X-Key}
paths:
  /things:
    get:
      security: {api_key: []}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "401": {description: no key, content: {application/json: {schema: {type: object}}}}
"""


def test_security_object_is_read_as_a_list_of_that_requirement(tmp_path: Path) -> None:
    path = write(tmp_path, SECURITY)
    repaired(path, "/paths//things/get: 'security' is one requirement object, not a list of them; "
                   "read as a list of that one")
    mock = client(path)
    assert mock.get("/api/things").status_code == 401  # the requirement holds
    assert mock.get("/api/things", headers={"X-Key": "k"}).status_code == 200


# --- 2. content keys that are no media type ----------------------------------------------

FORMS = """\
paths:
  /uploads:
    post:
      requestBody:
        required: true
        content:
          application/form-data:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses:
        "201": {description: made, content: {none: {}}}
        "400": {description: bad, content: {json: {schema: {type: object}}}}
"""


def test_content_keys_that_are_no_media_type_are_read_as_meant(tmp_path: Path) -> None:
    path = write(tmp_path, FORMS)
    warnings = repaired(path, "/paths//uploads/post/requestBody: content key 'application/form-data' is no "
                              "media type; read as multipart/form-data")
    assert f"{path}: /paths//uploads/post/responses/201: content key 'none' is no media type and names none; " \
           "dropped" in warnings
    assert f"{path}: /paths//uploads/post/responses/400: content key 'json' is no media type; read as " \
           "application/json" in warnings
    mock = client(path)
    made = mock.post("/api/uploads", data={"name": "a"}, content_type="multipart/form-data")
    assert made.status_code == 201 and made.data == b""  # 'none': no body
    refused = mock.post("/api/uploads", data={"other": "a"}, content_type="multipart/form-data")
    assert refused.status_code == 400 and refused.is_json  # 'json' is application/json


@pytest.mark.parametrize("key, meant", [
    ("application/json", None), ("application/json; charset=utf-8", None), ("*/*", None),
    ("application/vnd.acme+json", None), ("image/x-acme", None),  # a vendor's own, as written
    ("application/form-data", ["multipart/form-data"]), ("form-data", ["multipart/form-data"]),
    ("x-www-form-urlencoded", ["application/x-www-form-urlencoded"]), ("application/csv", ["text/csv"]),
    ("none", []), ("", []), ("xml", []),  # 'xml' is application/ or text/: it names none for sure
    ("application/json, text/plain", ["application/json", "text/plain"]),
    # media types are case-insensitive; openapi-core's lookup is not, so the key is read in lower case
    ("Text/Plain", ["text/plain"]), ("APPLICATION/JSON; charset=utf-8", ["application/json; charset=utf-8"]),
    ("Application/Vnd.Acme+JSON", ["application/vnd.acme+json"]), ("TEXT/*", ["text/*"]),
])
def test_which_content_keys_are_media_types(key: str, meant: list[str] | None) -> None:
    assert meant_media_types(key) == meant


def test_a_content_key_in_capitals_takes_the_body_it_names(tmp_path: Path) -> None:
    text = ("paths:\n  /notes:\n    post:\n      requestBody:\n        required: true\n        content:\n"
            "          Text/Plain: {schema: {type: string, minLength: 2}}\n"
            f"      responses:\n{ERRORS}")
    path = write(tmp_path, text)
    repaired(path, "/paths//notes/post/requestBody: content key 'Text/Plain' read in lower case, as text/plain")
    mock = client(path)
    assert mock.post("/api/notes", data=b"hi", content_type="text/plain").status_code == 200  # was a 415
    assert mock.post("/api/notes", data=b"h", content_type="text/plain").status_code == 400


# --- 3. server URLs: every form gives the mount path -------------------------------------

@pytest.mark.parametrize("url, mount", [
    ("https://api.example.com/v1", "/api/v1"),
    ("https://api.example.com/v1/?lang=en#top", "/api/v1"),
    ("//api.example.com/v1", "/api/v1"),
    ("/v1", "/api/v1"),
    ("/v1?lang=en", "/api/v1"),
    ("v1", "/api/v1"),
    ("./v1/", "/api/v1"),
    ("/", "/api"),
    ("https://api.example.com", "/api"),
    ("{scheme}://api.example.com/{version}", "/api/v2"),
])
def test_server_url_forms_give_the_mount_path(tmp_path: Path, url: str, mount: str) -> None:
    text = (f'servers: [{{url: "{url}", variables: {{scheme: {{default: https}}, version: {{default: v2}}}}}}]\n'
            f"paths:\n  /things:\n    get:\n      responses:\n{ERRORS}")
    path = write(tmp_path, text)
    api = load_spec(path, strict=True)  # all are URLs as the specification allows them
    assert api.mount == mount and api.warnings == []
    assert client(path).get(f"{mount}/things").status_code == 200


@pytest.mark.parametrize("url", ["api.example.com/v1", "localhost:8080/v1"])
def test_server_url_without_its_scheme_is_read_as_one(tmp_path: Path, url: str) -> None:
    path = write(tmp_path, f'servers: [{{url: "{url}"}}]\npaths:\n  /things:\n    get:\n      responses:\n{ERRORS}')
    repaired(path, f"/servers/0: url {url!r} names a host without a scheme; read as '//{url}'")
    assert load_spec(path).mount == "/api/v1"


# --- 4. defaults that break their own schema ---------------------------------------------

DEFAULTS = """\
paths:
  /things:
    get:
      parameters:
        - {name: since, in: query, schema: {type: string, format: date, default: ""}}
        - {name: size, in: query, schema: {type: integer, default: 20}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  options: {type: object, default: null}
                  modes: {type: array, items: {type: string, default: [text, audio]}}
"""


def test_defaults_that_break_their_schema_are_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS)
    warnings = repaired(path, "/paths//things/get/parameters/0/schema: default '' breaks its own schema "
                              "('' is not a 'date'); dropped")
    where = f"{path}: /paths//things/get/responses/200/content/application/json/schema/properties"
    assert f"{where}/options: default None breaks its own schema (None for not nullable); dropped" in warnings
    assert f"{where}/modes/items: default ['text', 'audio'] breaks its own schema " \
           "(['text', 'audio'] is not of type 'string'); dropped" in warnings
    assert len(warnings) == 3  # the valid default stays, without a word
    api = load_spec(path)
    parameters = api.document["paths"]["/things"]["get"]["parameters"]
    assert "default" not in parameters[0]["schema"] and parameters[1]["schema"]["default"] == 20
    assert client(path).get("/api/things").status_code == 200


# --- 5. patterns -------------------------------------------------------------------------

PATTERNS = """\
paths:
  /people:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                email: {{type: string, pattern: '{email}'}}
                code: {{type: string, pattern: '{code}'}}
      responses:
        "201": {{description: made, content: {{application/json: {{schema: {{type: object}}}}}}}}
{bad}
"""
# an email pattern as PayPal's spec has it: '\[' then a class's contents then a bare ']',
# which Python reads as literal brackets and ECMA 262 (unicode mode) refuses
EMAIL = r"^[a-z]+(?:\[\x01-\x09\x0b])?@[a-z]+\.[a-z]{2,}$"


def patterns_spec(tmp_path: Path, code: str, version: str = "3.0.3") -> Path:
    return write(tmp_path, PATTERNS.format(email=EMAIL, code=code, bad=f"        {BAD}"),
                 version=version)


def test_a_pattern_only_python_reads_is_escaped_and_still_enforced(tmp_path: Path) -> None:
    assert not spec_validator_reads(EMAIL) and spec_validator_reads(escape_stray_brackets(EMAIL))
    path = patterns_spec(tmp_path, "^[A-Z]{3}$")
    warnings = repaired(path, "/properties/email: pattern '^[a-z]+(?:")
    assert warnings[0].endswith("has a ']', '{' or '}' outside a character class, which the spec validator's "
                                "regex engine refuses; escaped (Python's re reads it as before)")
    mock = client(path)
    assert mock.post("/api/people", json={"email": "ann@example.com", "code": "ABC"}).status_code == 201
    assert mock.post("/api/people", json={"email": "ann[\x01-\t\x0b]@example.com"}).status_code == 201  # as re reads it
    assert mock.post("/api/people", json={"email": "not an email"}).status_code == 400
    assert mock.post("/api/people", json={"code": "abc"}).status_code == 400


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_a_pattern_nothing_compiles_is_dropped(tmp_path: Path, version: str) -> None:
    path = patterns_spec(tmp_path, "^(?<code>[A-Z]+$", version)
    repaired(path, "/properties/code: pattern '^(?<code>[A-Z]+$' cannot be compiled by Python's re")
    assert client(path).post("/api/people", json={"code": "anything"}).status_code == 201


def test_a_pattern_only_ecma_reads_is_dropped(tmp_path: Path) -> None:
    path = patterns_spec(tmp_path, r"^\p{Lu}+$")
    repaired(path, "/properties/code: pattern '^\\\\p{Lu}+$' cannot be compiled by Python's re (bad escape \\p")


@pytest.mark.parametrize("pattern", [r"a]b{x}c{2,3}[]d]", r"[^]x]\]\{[a-z{}]", r"x{1}y{2,}z", EMAIL])
def test_escaping_keeps_what_python_reads(pattern: str) -> None:
    escaped = escape_stray_brackets(pattern)
    assert spec_validator_reads(escaped)
    samples = ["a]b{x}cc[d]", "a]b{x}ccc]", "]x]{a", "}]{z", "xyyz", "xyyyyz", "ann[\x01\x0b]@ex.com", "b@x.io"]
    assert [bool(re.search(pattern, s)) for s in samples] == [bool(re.search(escaped, s)) for s in samples]


# --- 6. schema keywords the version does not have ----------------------------------------

KEYWORDS = """\
paths:
  /domains:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                name: {type: string, Description: the domain, maxlength: 3}
                link_id: {type: integer, desc: the link, const: 7}
      responses:
        "201": {description: made, content: {application/json: {schema: {type: object}}}}
        "400": {description: bad, content: {application/json: {schema: {errors: [{message: x}]}}}}
"""


def test_schema_keywords_30_does_not_have_are_renamed_or_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, KEYWORDS)
    where = f"{path}: /paths//domains/post/requestBody/content/application/json/schema/properties"
    warnings = repaired(path, "/properties/link_id: 'desc' is no OpenAPI 3.0 schema keyword; dropped")
    assert f"{where}/name: 'Description' is no OpenAPI 3.0 schema keyword; read as 'description'" in warnings
    assert f"{where}/name: 'maxlength' is no OpenAPI 3.0 schema keyword; read as 'maxLength'" in warnings
    assert f"{where}/link_id: 3.1's 'const' in a 3.0 document; read as a one-value 'enum'" in warnings
    assert f"{path}: /paths//domains/post/responses/400/content/application/json/schema: 'errors' is no " \
           "OpenAPI 3.0 schema keyword; dropped" in warnings
    mock = client(path)
    assert mock.post("/api/domains", json={"name": "abc", "link_id": 7}).status_code == 201
    assert mock.post("/api/domains", json={"name": "abcd"}).status_code == 400  # maxLength holds
    assert mock.post("/api/domains", json={"link_id": 8}).status_code == 400  # so does const


RECURSIVE = """\
paths:
  /search:
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/Filter"}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400": {description: bad, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Filter:
      $recursiveAnchor: true
      type: object
      additionalProperties: false
      required: [op]
      properties:
        op: {type: string, enum: [and, or]}
        filters: {type: array, items: {$recursiveRef: "#"}}
"""


def test_2019_09_recursion_in_a_31_document_is_a_plain_ref(tmp_path: Path) -> None:
    path = write(tmp_path, RECURSIVE, version="3.1.0")
    warnings = repaired(path, "/components/schemas/Filter/properties/filters/items: JSON Schema 2019-09's "
                              "'$recursiveRef' in a 3.1 document; read as '$ref: #/components/schemas/Filter'")
    assert f"{path}: /components/schemas/Filter: JSON Schema 2019-09's '$recursiveAnchor' in a 3.1 document; " \
           "dropped, and its '$recursiveRef's read as '$ref's to this schema" in warnings
    mock = client(path)
    assert mock.post("/api/search", json={"op": "and", "filters": [{"op": "or"}]}).status_code == 200
    assert mock.post("/api/search", json={"op": "and", "filters": [{"op": "xor"}]}).status_code == 400


# --- and the repairs that were there before obey --strict-specs too ----------------------

DUPLICATES = """\
paths:
  /a/{id}:
    get:
      operationId: fetch
      parameters: [{name: id, in: path, required: false, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [x, x]}}}}
  /b:
    get:
      operationId: fetch
      responses:
        "200": {description: ok}
"""


def test_duplicate_operation_id_goes_by_method_and_path(tmp_path: Path) -> None:
    path = write(tmp_path, DUPLICATES)
    warnings = repaired(path, "/paths//b/get: operationId 'fetch' is also /paths//a/{id}/get's; dropped here")
    assert any("path parameter 'id' marked required" in warning for warning in warnings)
    api = load_spec(path)
    assert [operation.key for operation in api.operations] == ["fetch", "GET /b"]


def test_strict_specs_on_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path, DUPLICATES.replace("required: false", "required: true").replace("x, x", "x"))
    checked = subprocess.run([sys.executable, "-m", "mocksrv", "check", "--strict-specs", "--specs", str(path)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 1 and checked.stdout == ""
    assert checked.stderr.strip().splitlines() == [
        f"error: {path}: /paths//b/get: operationId 'fetch' is also /paths//a/{{id}}/get's; dropped here "
        "(refused by --strict-specs)"]
    served = subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--port", "0", "--strict-specs",
                             "--specs", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert served.returncode == 2
    assert served.stderr.strip().splitlines() == [
        f"mocksrv: cannot serve {path}: /paths//b/get: operationId 'fetch' is also /paths//a/{{id}}/get's; "
        "dropped here (refused by --strict-specs)"]
    lenient = subprocess.run([sys.executable, "-m", "mocksrv", "check", "--specs", str(path)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert lenient.returncode == 0
    assert f"warning: {path}: /paths//b/get: operationId 'fetch'" in lenient.stdout


# --- nullable where 3.0 lets no null through -----------------------------------------------

NULLABLE_COMPOSED = """\
paths:
  /files/{id}:
    put:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                shared_link:   # Box: "set this to null to remove the shared link"
                  description: The link, or null to remove it.
                  nullable: true
                  allOf: [{$ref: "#/components/schemas/Link"}]
                owner: {$ref: "#/components/schemas/Link", nullable: true}
      responses:
""" + ERRORS + """\
components:
  schemas:
    Link: {type: object, required: [url], properties: {url: {type: string}}}
"""


def test_nullable_beside_all_of_or_a_ref_is_the_schema_or_null(tmp_path: Path) -> None:
    """3.0.3: ``nullable`` reaches only a ``type`` written beside it, so an allOf's object refused
    null; authors (and schemathesis, Prism) read it as "this, or null"."""
    path = write(tmp_path, NULLABLE_COMPOSED)
    warnings = repaired(path, "/properties/shared_link: 'nullable' beside allOf/anyOf/oneOf without a type")
    assert any("/properties/owner: 'nullable' beside $ref without a type" in warning for warning in warnings)
    mock = client(path)
    assert mock.put("/api/files/1", json={"shared_link": None, "owner": None}).status_code == 200
    assert mock.put("/api/files/1", json={"shared_link": {"url": "https://x"}}).status_code == 200
    refused = mock.put("/api/files/1", json={"shared_link": {}})
    assert refused.status_code == 400  # the referenced schema still holds


# --- a discriminator whose values are not its schemas' names ---------------------------------

DISCRIMINATOR = """\
paths:
  /chat:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [messages]
              properties:
                messages: {type: array, items: {$ref: "#/components/schemas/Message"}}
      responses:
""" + ERRORS + """\
components:
  schemas:
    Message:
      oneOf: [{$ref: "#/components/schemas/DeveloperMessage"}, {$ref: "#/components/schemas/ToolMessage"}]
      discriminator: {propertyName: role}
    DeveloperMessage:
      type: object
      required: [role, content]
      properties: {role: {type: string, enum: [developer]}, content: {type: string}}
    ToolMessage:
      allOf:
        - {$ref: "#/components/schemas/Base"}
        - {type: object, required: [role], properties: {role: {type: string, enum: [tool]}}}
    Base: {type: object, required: [tool_call_id], properties: {tool_call_id: {type: string}}}
"""


def test_a_discriminator_maps_the_values_its_branches_fix(tmp_path: Path) -> None:
    """OpenAI's messages: ``role`` is fixed per branch (``developer``, ``tool``) and no mapping is
    written, so OpenAPI reads ``developer`` as a schema name and every message was refused."""
    path = write(tmp_path, DISCRIMINATOR, version="3.1.0")
    repaired(path, "discriminator 'role' has no mapping for the values its branches fix (developer, tool)")
    mock = client(path)
    sent = {"messages": [{"role": "developer", "content": ""}, {"role": "tool", "tool_call_id": "t1"}]}
    assert mock.post("/api/chat", json=sent).status_code == 200
    wrong = mock.post("/api/chat", json={"messages": [{"role": "tool", "content": "no call id"}]})
    assert wrong.status_code == 400  # the branch the value names still holds


# --- an allOf part closed to the other parts' properties -------------------------------------

CLOSED_PART = """\
paths:
  /betas:
    get:
      responses:
        "200":
          description: a page of betas
          content:
            application/json:
              schema:
                allOf:
                  - {$ref: "#/components/schemas/Page"}
                  - type: object
                    properties:
                      data: {type: array, items: {type: object, required: [id], properties: {id: {type: string}}}}
  /pages:
    get:
      responses:
        "200": {description: the envelope alone, content: {application/json: {schema: {$ref: "#/components/schemas/Page"}}}}
components:
  schemas:
    Page:
      type: object
      additionalProperties: false
      properties: {page: {type: integer}, pages: {type: integer}}
"""


def test_an_all_of_part_closed_to_the_others_is_read_open(tmp_path: Path) -> None:
    """Linode's lists: no answer with ``data`` could pass the closed envelope (a 500 in strict)."""
    path = write(tmp_path, CLOSED_PART)
    repaired(path, "allOf part 0 has additionalProperties false, which refuses the other parts' properties")
    mock = client(path)
    betas = mock.get("/api/betas")
    assert betas.status_code == 200, betas.text
    assert "data" in betas.json
    assert load_spec(path).document["components"]["schemas"]["Page"]["additionalProperties"] is False  # its own uses


REQUIRED_UNDECLARED = """\
paths:
  /firewalls:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                rules:   # Linode: the policies are declared in another allOf part of the same field
                  additionalProperties: false
                  properties: {inbound: {type: array}, outbound: {type: array}}
                  required: [inbound_policy, outbound_policy]
      responses:
""" + ERRORS


def test_a_closed_object_that_requires_what_it_does_not_declare_is_read_open(tmp_path: Path) -> None:
    path = write(tmp_path, REQUIRED_UNDECLARED)
    repaired(path, "additionalProperties false, yet inbound_policy, outbound_policy required and not declared")
    mock = client(path)
    sent = {"rules": {"inbound_policy": "DROP", "outbound_policy": "ACCEPT"}}
    assert mock.post("/api/firewalls", json=sent).status_code == 200
    assert mock.post("/api/firewalls", json={"rules": {"inbound_policy": "DROP"}}).status_code == 400  # still required


# --- 3.0's nullable beside a composition in a 3.1 document ------------------------------------

NULLABLE_COMPOSED_31 = """\
paths:
  /chat:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                prediction:   # OpenAI: a 3.0 spelling in its 3.1 document, with no type to add "null" to
                  nullable: true
                  description: Predicted output, or null.
                  oneOf: [{$ref: "#/components/schemas/Prediction"}]
      responses:
""" + ERRORS + """\
components:
  schemas:
    Prediction: {type: object, required: [content], properties: {content: {type: string}}}
"""


def test_nullable_beside_a_composition_in_31_is_the_schema_or_null(tmp_path: Path) -> None:
    """The 3.1 repair added ``"null"`` to a ``type``; with no type it dropped ``nullable`` and null was refused."""
    path = write(tmp_path, NULLABLE_COMPOSED_31, version="3.1.0")
    repaired(path, "/properties/prediction: 3.0's 'nullable' in a 3.1 document")
    mock = client(path)
    assert mock.post("/api/chat", json={"prediction": None}).status_code == 200
    assert mock.post("/api/chat", json={"prediction": {"content": "x"}}).status_code == 200
    assert mock.post("/api/chat", json={"prediction": {}}).status_code == 400  # the branch still holds


# --- discriminator branches that are unions, inline, or take several values -------------------

DISCRIMINATED_KINDS = """\
paths:
  /items:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                items: {type: array, items: {$ref: "#/components/schemas/InputItem"}}
                detection:   # OpenAI's turn detection: branches written inline
                  oneOf:
                    - {type: object, required: [type], properties: {type: {type: string, const: server_vad}}}
                    - type: object
                      required: [type, eagerness]
                      properties: {type: {type: string, const: semantic_vad}, eagerness: {type: string}}
                  discriminator: {propertyName: type}
      responses:
""" + ERRORS + """\
components:
  schemas:
    InputItem:   # OpenAI's input items: a message, any of the item types `Item` unites, or a reference
      oneOf: [{$ref: "#/components/schemas/Message"}, {$ref: "#/components/schemas/Item"},
              {$ref: "#/components/schemas/Reference"}]
      discriminator: {propertyName: type}
    Reference:   # `type` may be left out
      type: object
      required: [id]
      properties: {id: {type: string}, type: {anyOf: [{type: string, enum: [item_reference]}, {type: "null"}]}}
    Item:
      oneOf: [{$ref: "#/components/schemas/Call"}, {$ref: "#/components/schemas/Search"},
              {$ref: "#/components/schemas/Reply"}]
    Message:
      type: object
      additionalProperties: false
      required: [type]
      properties: {type: {type: string, enum: [message]}}
    Reply:   # a second branch taking `message` (OpenAI's output message, inside Item)
      type: object
      required: [type, text]
      properties: {type: {type: string, enum: [message]}, text: {type: string}}
    Call:
      type: object
      required: [type, call_id]
      properties: {type: {type: string, enum: [call]}, call_id: {type: string}}
    Search:   # one branch for two values, as OpenAI's web search tool
      type: object
      required: [type]
      properties: {type: {type: string, enum: [web_search, web_search_2025]}}
"""


def test_a_discriminator_maps_values_of_unions_inline_branches_and_enums(tmp_path: Path) -> None:
    """Values a branch fixes through a union of its own (``Item``), values of several members, and
    values of inline branches (mapped to the branch's place) were all read as schema names and refused."""
    path = write(tmp_path, DISCRIMINATED_KINDS, version="3.1.0")
    warnings = repaired(path, "discriminator 'type' has no mapping for the values its branches fix "
                              "(call, item_reference, message, web_search, web_search_2025)")
    assert any("discriminator 'type' is not required by Reference; a value without it is judged by the branches "
               "alone" in warning for warning in warnings)
    assert any("discriminator 'type' values message are taken by several branches" in warning for warning in warnings)
    assert any("(semantic_vad, server_vad)" in warning for warning in warnings)
    mapping = load_spec(path).document["paths"]["/items"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]["properties"]["detection"]["discriminator"]["mapping"]
    assert mapping["semantic_vad"] == "#/paths/~1items/post/requestBody/content/application~1json/schema/properties/" \
                                      "detection/oneOf/1"
    mock = client(path)
    sent = {"items": [{"type": "message"}, {"type": "call", "call_id": "c1"}, {"type": "web_search_2025"}],
            "detection": {"type": "semantic_vad", "eagerness": "low"}}
    assert mock.post("/api/items", json=sent).status_code == 200
    assert mock.post("/api/items", json={"items": [{"type": "call"}]}).status_code == 400  # Call still holds
    # without `type`: the branches alone judge it (the reference takes it; nothing takes an empty object)
    assert mock.post("/api/items", json={"items": [{"id": "r1"}, {"type": "item_reference", "id": "r2"}]}
                     ).status_code == 200
    assert mock.post("/api/items", json={"items": [{}]}).status_code == 400
    # `message` names two branches: the branches alone judge it (the reply takes this one)
    assert mock.post("/api/items", json={"items": [{"type": "message", "text": "hi"}]}).status_code == 200
    assert mock.post("/api/items", json={"detection": {"type": "semantic_vad"}}).status_code == 400


# --- additionalProperties false over parts, and 3.0 access flags outside properties -----------

CLOSED_OVER_PARTS = """\
paths:
  /ips:
    get:
      responses:
        "200":
          description: a page of addresses (Linode's get-vpcs-ips)
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                allOf:
                  - {type: object, properties: {page: {type: integer}}}
                  - $ref: "#/components/schemas/Data"
  /order:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [ids]
              properties:
                ids: {type: array, items: {type: integer, readOnly: true}}   # Linode's interface order
                label: {type: string, readOnly: true}
      responses:
""" + ERRORS + """\
components:
  schemas:
    Data:
      type: object
      properties: {data: {type: array, items: {type: object, required: [id], properties: {id: {type: integer}}}}}
"""


def test_additional_properties_false_over_parts_is_closed_to_what_they_declare(tmp_path: Path) -> None:
    """The keyword sees only its own schema's properties: every answer broke it (a 500 in strict)."""
    path = write(tmp_path, CLOSED_OVER_PARTS)
    repaired(path, "additionalProperties false declares no property of its own and refused its parts' (page, data)")
    mock = client(path)
    answer = mock.get("/api/ips")
    assert answer.status_code == 200, answer.text
    assert set(answer.json) <= {"page", "data"}
    schema = load_spec(path).document["paths"]["/ips"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False  # still closed to other names


def test_30_read_only_outside_a_property_says_nothing(tmp_path: Path) -> None:
    """3.0.3: readOnly is "relevant only for Schema properties definitions"; an array's items marked
    so refused every list of ids. A property marked read-only is still refused."""
    path = write(tmp_path, CLOSED_OVER_PARTS)
    repaired(path, "/properties/ids/items: readOnly on a schema that is no property's, which 3.0 gives no meaning")
    mock = client(path)
    assert mock.post("/api/order", json={"ids": [101, 102]}).status_code == 200
    refused = mock.post("/api/order", json={"ids": [], "label": "x"})
    assert refused.status_code == 400 and "read-only" in refused.text
