"""Reading credentials the way each security scheme says (mocksrv/security.py), in process:
which requirement a request meets, what a 401 asks for, and which names are secrets."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from werkzeug.datastructures import Headers
from werkzeug.datastructures import MultiDict

from mocksrv.engine.security import CredentialPlace
from mocksrv.engine.security import authenticate
from mocksrv.engine.security import credential_names
from mocksrv.engine.security import credential_place
from mocksrv.engine.security import place_credential
from mocksrv.errors import Unauthorized
from mocksrv.exchange import MockRequest
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import load_spec

SPEC = """\
openapi: 3.0.3
info: {title: Locks, version: "1"}
components:
  securitySchemes:
    headerKey: {type: apiKey, in: header, name: X-Key}
    queryKey: {type: apiKey, in: query, name: Api_Key}
    cookieKey: {type: apiKey, in: cookie, name: sid}
    basic: {type: http, scheme: basic}
    bearer: {type: http, scheme: bearer}
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: /token, scopes: {}}}}
    oidc: {type: openIdConnect, openIdConnectUrl: https://id.example.com/.well-known/openid-configuration}
paths:
  /either:
    get:
      security: [{headerKey: []}, {queryKey: [], cookieKey: []}]
      responses: {"200": {description: ok}}
  /basic:
    get:
      security: [{basic: []}]
      responses: {"200": {description: ok}}
  /bearer:
    get:
      security: [{bearer: []}, {oauth: []}, {oidc: []}]
      responses: {"200": {description: ok}}
  /oauth:
    get:
      security: [{oauth: []}]
      responses: {"200": {description: ok}}
  /oidc:
    get:
      security: [{oidc: []}]
      responses: {"200": {description: ok}}
  /open:
    get:
      security: [{}, {bearer: []}]
      responses: {"200": {description: ok}}
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> ApiSpec:
    path: Path = tmp_path_factory.mktemp("locks") / "locks.yaml"
    path.write_text(SPEC)
    return load_spec(path)


def request(headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
            cookies: dict[str, str] | None = None) -> MockRequest:
    return MockRequest(method="GET", path="/", query=MultiDict(query or {}), headers=Headers(headers or {}),
                       cookies=MultiDict(cookies or {}), body=b"", mimetype="", content_type="")


def found(api: ApiSpec, template: str, sent: MockRequest) -> list[tuple[str, str, str]]:
    operation = next(op for op in api.operations if op.template == template)
    return [(c.scheme, c.kind, c.value) for c in authenticate(api, operation, sent)]


def refusal(api: ApiSpec, template: str, sent: MockRequest) -> Unauthorized:
    operation = next(op for op in api.operations if op.template == template)
    with pytest.raises(Unauthorized) as caught:
        authenticate(api, operation, sent)
    return caught.value


def test_an_api_key_in_a_header_meets_the_first_requirement(api: ApiSpec) -> None:
    assert found(api, "/either", request(headers={"X-Key": "k1"})) == [("headerKey", "apiKey", "k1")]


def test_a_requirement_of_two_schemes_needs_both(api: ApiSpec) -> None:
    both = request(query={"Api_Key": "q1"}, cookies={"sid": "c1"})
    assert found(api, "/either", both) == [("queryKey", "apiKey", "q1"), ("cookieKey", "apiKey", "c1")]
    error = refusal(api, "/either", request(query={"Api_Key": "q1"}))
    assert error.detail == ("missing credentials: send the API key 'X-Key' in the header or the API key "
                            "'Api_Key' in the query and the API key 'sid' in the cookie")
    assert error.headers["WWW-Authenticate"] == ('ApiKey realm="mocksrv", in="header", name="X-Key", '
                                                 'ApiKey realm="mocksrv", in="query", name="Api_Key", '
                                                 'ApiKey realm="mocksrv", in="cookie", name="sid"')
    assert error.kind == "missing_credentials" and error.status == 401


def test_an_empty_api_key_is_no_key(api: ApiSpec) -> None:
    refusal(api, "/either", request(headers={"X-Key": ""}))


def test_basic_credentials_are_decoded_and_must_hold_a_colon(api: ApiSpec) -> None:
    token = base64.b64encode(b"ada:secret").decode()
    assert found(api, "/basic", request(headers={"Authorization": f"Basic {token}"})) == \
        [("basic", "basic", "ada:secret")]
    assert found(api, "/basic", request(headers={"Authorization": f"basic {token}"})) == \
        [("basic", "basic", "ada:secret")]  # the scheme name is case-insensitive
    for broken in ("Basic !!!", "Basic YWRhOnNl!Y3JldA==",  # a character outside base64, however lenient
                   "Basic " + base64.b64encode(b"no-colon").decode(),
                   "Basic ", "Basic   ", "Bearer " + token):
        error = refusal(api, "/basic", request(headers={"Authorization": broken}))
        assert error.headers["WWW-Authenticate"] == 'Basic realm="mocksrv"'
        assert error.detail == "missing credentials: send an 'Authorization: Basic …' header"


def test_basic_credentials_in_another_charset_are_read_octet_by_octet(api: ApiSpec) -> None:
    """RFC 7617 leaves the charset open; schemathesis and old clients send Latin-1 octets."""
    latin = "Basic " + base64.b64encode(b"\xff:\xfe").decode()
    assert found(api, "/basic", request(headers={"Authorization": latin})) == [("basic", "basic", "\xff:\xfe")]
    utf8 = "Basic " + base64.b64encode("zoë:pässword".encode()).decode()
    assert found(api, "/basic", request(headers={"Authorization": utf8})) == [("basic", "basic", "zoë:pässword")]


def test_bearer_oauth2_and_openid_connect_tokens(api: ApiSpec) -> None:
    assert found(api, "/bearer", request(headers={"Authorization": "Bearer  t0k "})) == [("bearer", "bearer", "t0k")]
    refusal(api, "/bearer", request())  # no Authorization header at all
    error = refusal(api, "/bearer", request(headers={"Authorization": "Token t0k"}))
    assert error.headers["WWW-Authenticate"] == 'Bearer realm="mocksrv"'  # said once for all three
    assert error.detail == ("missing credentials: send an 'Authorization: Bearer …' header or an "
                            "'Authorization: Bearer …' header or an 'Authorization: Bearer …' header")


@pytest.mark.parametrize("template, scheme", [("/oauth", "oauth"), ("/oidc", "oidc")])
def test_oauth2_and_openid_connect_read_a_bearer_token(api: ApiSpec, template: str, scheme: str) -> None:
    assert found(api, template, request(headers={"Authorization": "Bearer abc"})) == [(scheme, "bearer", "abc")]
    error = refusal(api, template, request(headers={"Authorization": "Basic abc"}))
    assert error.headers["WWW-Authenticate"] == 'Bearer realm="mocksrv"'


def test_a_spec_without_security_schemes_has_only_the_usual_names_to_mask(tmp_path: Path) -> None:
    (tmp_path / "plain.yaml").write_text("openapi: 3.0.3\ninfo: {title: P, version: '1'}\npaths: {}\n")
    names = credential_names([load_spec(tmp_path / "plain.yaml")])
    assert (names.query, names.cookies) == (frozenset(), frozenset())
    assert names.headers == credential_names([]).headers


def test_an_empty_requirement_leaves_the_operation_open(api: ApiSpec) -> None:
    assert found(api, "/open", request()) == []


def test_the_names_to_mask(api: ApiSpec) -> None:
    names = credential_names([api])
    assert {"x-key", "authorization", "cookie", "proxy-authorization"} <= names.headers
    # query and cookie names are case-sensitive (only header names are folded)
    assert names.query == frozenset({"Api_Key"}) and names.cookies == frozenset({"sid"})
    assert credential_names([]).query == frozenset()


@pytest.mark.parametrize("scheme, place", [
    ({"type": "apiKey", "in": "header", "name": "X-Key"}, CredentialPlace("header", "X-Key")),
    ({"type": "APIKEY", "in": "query", "name": "k"}, CredentialPlace("query", "k")),
    ({"type": "apiKey", "in": "cookie", "name": "sid"}, CredentialPlace("cookie", "sid")),
    ({"type": "apiKey", "in": "body", "name": "k"}, None),  # not a place a key can travel
    ({"type": "apiKey", "in": "header"}, None),  # no name
    ({"type": "apiKey", "in": "header", "name": ""}, None),
    ({"type": "http", "scheme": "Bearer"}, CredentialPlace("header", "Authorization", "bearer")),
    ({"type": "http", "scheme": "basic"}, CredentialPlace("header", "Authorization", "basic")),
    ({"type": "http", "scheme": "Digest"}, CredentialPlace("header", "Authorization", "digest")),
    ({"type": "OAuth2", "flows": {}}, CredentialPlace("header", "Authorization", "bearer")),
    ({"type": "openIdConnect"}, CredentialPlace("header", "Authorization", "bearer")),
    ({"type": "mutualTLS"}, None),
    ({}, None),
])
def test_where_each_scheme_s_credential_travels(scheme: dict[str, str], place: CredentialPlace | None) -> None:
    assert credential_place(scheme) == place


def test_placing_a_credential_as_a_client_sends_it() -> None:
    assert place_credential(CredentialPlace("query", "k"), "abc") == ("query", "k", "abc")
    assert place_credential(CredentialPlace("header", "Authorization", "bearer"), "t0k") == \
        ("header", "Authorization", "Bearer t0k")
    assert place_credential(CredentialPlace("header", "Authorization", "basic"), "ada:pw") == \
        ("header", "Authorization", "Basic " + base64.b64encode(b"ada:pw").decode())


OTHER_SCHEMES = """\
openapi: 3.1.0
info: {title: Other, version: "1"}
components:
  securitySchemes:
    digest: {type: http, scheme: Digest}
    sameKey: {$ref: "#/components/securitySchemes/alsoKey"}
    alsoKey: {type: apiKey, in: header, name: X-Also}
    mtls: {type: mutualTLS}
paths:
  /digest:
    get:
      security: [{digest: []}]
      responses: {"200": {description: ok}}
  /plain:
    get:
      security: [{digest: []}, {sameKey: []}, {alsoKey: []}]
      responses: {"200": {description: ok}}
  /mtls:
    get:
      security: [{mtls: []}]
      responses: {"200": {description: ok}}
"""


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> ApiSpec:
    path: Path = tmp_path_factory.mktemp("other") / "other.yaml"
    path.write_text(OTHER_SCHEMES)
    return load_spec(path)


def test_other_http_schemes_keep_their_name(other: ApiSpec) -> None:
    assert found(other, "/digest", request(headers={"Authorization": "Digest username=ada"})) == \
        [("digest", "http", "username=ada")]
    error = refusal(other, "/digest", request(headers={"Authorization": "Bearer x"}))
    assert error.headers["WWW-Authenticate"] == 'Digest realm="mocksrv"'
    assert error.detail == "missing credentials: send an 'Authorization: Digest …' header"


def test_challenges_are_said_once_each_in_order(other: ApiSpec) -> None:
    error = refusal(other, "/plain", request())
    # the same key by $ref and by name is challenged once
    assert error.headers["WWW-Authenticate"] == \
        'Digest realm="mocksrv", ApiKey realm="mocksrv", in="header", name="X-Also"'
    assert error.detail == ("missing credentials: send an 'Authorization: Digest …' header or the API key "
                            "'X-Also' in the header or the API key 'X-Also' in the header")
    assert found(other, "/plain", request(headers={"X-Also": "k"})) == [("sameKey", "apiKey", "k")]


def test_a_scheme_with_no_place_in_the_request_is_never_met(other: ApiSpec) -> None:
    error = refusal(other, "/mtls", request(headers={"Authorization": "Bearer x"}))
    assert error.headers["WWW-Authenticate"] == ""
    assert set(other.security_schemes) == {"digest", "sameKey", "alsoKey", "mtls"}
    assert other.security_schemes["sameKey"] == {"type": "apiKey", "in": "header", "name": "X-Also"}
