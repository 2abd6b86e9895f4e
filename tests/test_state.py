"""Fixture-driven state over real HTTP: keys (401/403), scopes (403), rate limits (429),
stored records (404, create → read), persistence with --db, exact counting under load."""

from __future__ import annotations

import json
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from conftest import SpecChecker

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


class Call(t.NamedTuple):
    """One valid call to a seed API, parametrised by the key it sends."""

    api: str
    method: str
    path: str
    auth: t.Callable[[str], dict[str, str]]
    kwargs: dict[str, t.Any]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


CALLS = {
    "maxcare": Call("maxcare", "POST", "/maxcare/v3/emails/send",
                    lambda k: {**bearer(k), "X-Organization-Id": "org_demo"},
                    {"json": {"from": "notifications", "subject": "Hi", "html": "<p>Hi</p>", "emailType": "t",
                              "patientIds": ["pat_8de030393a9e417ab2b3a8b8df183631"]}}),
    "maildiver": Call("maildiver", "POST", "/maildiver/v1/emails", bearer,
                      {"json": {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "html": "x"}}),
    "settings-mailer": Call("settings-mailer", "POST", "/settings-mailer/api/settings/sendmail", bearer,
                            {"files": {"to": (None, '["b@example.com"]'), "subject": (None, "Hola"),
                                       "body": (None, "Cuerpo")}}),
    "send-service": Call("send-service", "POST", "/send-service/api/v1/send",
                         lambda k: {"X-API-Key": k} if k else {},
                         {"json": {"to": "b@example.com", "subject": "Hi"}}),
}
GOOD = {"maxcare": "mk_live_demo", "maildiver": "md_demo", "settings-mailer": "sm_demo", "send-service": "ss_demo"}
NO_SCOPE = {"maxcare": "mk_live_readonly", "maildiver": "md_noscope", "settings-mailer": "sm_readonly",
            "send-service": "ss_noscope"}
# (status, a field and value the body must hold) per API, for a missing key and for a bad one
MISSING = {"maxcare": (401, "message", "Invalid or missing API key"),
           "maildiver": (403, "code", "invalid_authorization_header"),
           "settings-mailer": (401, "success", False),
           "send-service": (403, "error", "Forbidden")}
INVALID = {"maxcare": (401, "message", "Invalid or missing API key"),
           "maildiver": (403, "code", "invalid_api_key"),
           "settings-mailer": (401, "success", False),
           "send-service": (403, "error", "Forbidden")}


# an API that speaks another language says so in its own words
RATE_LIMITED = {"settings-mailer": '"error":"Demasiadas solicitudes. Intente de nuevo más tarde."'}


def send(server: MockServer, call: Call, key: str) -> requests.Response:
    return requests.request(call.method, server.url(call.path), headers=call.auth(key), timeout=10, **call.kwargs)


def clock(server: MockServer, change: dict[str, t.Any]) -> None:
    requests.post(server.url("/__mocksrv/clock"), json=change, timeout=10).raise_for_status()


def scenario_server(name: str, *extra: str) -> MockServer:
    return MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--scenario", name, "--strict", *extra)


@pytest.fixture(scope="module")
def checkers(bundled: MockServer) -> dict[str, SpecChecker]:
    return {path.stem: SpecChecker(path, bundled.base_url) for path in SPECS.glob("*.yaml")}


def body_of(response: requests.Response, checker: SpecChecker) -> dict[str, t.Any]:
    """The body, checked against the API's schema when the operation declares the status."""
    errors = checker.response_errors(response)
    assert not [e for e in errors if "ResponseNotFound" not in e], errors
    return t.cast(dict[str, t.Any], response.json())


@pytest.mark.parametrize("api", sorted(CALLS))
def test_good_key_is_accepted(bundled: MockServer, checkers: dict[str, SpecChecker], api: str) -> None:
    response = send(bundled, CALLS[api], GOOD[api])
    assert 200 <= response.status_code < 300, response.text
    checkers[api].assert_valid(response)


@pytest.mark.parametrize("key, expected", [("", MISSING), ("not_a_key", INVALID)], ids=["missing", "unknown"])
@pytest.mark.parametrize("api", sorted(CALLS))
def test_missing_or_unknown_key(bundled: MockServer, checkers: dict[str, SpecChecker], api: str, key: str,
                                expected: dict[str, tuple[int, str, t.Any]]) -> None:
    status, field, value = expected[api]
    response = send(bundled, CALLS[api], key)
    assert response.status_code == status
    assert body_of(response, checkers[api])[field] == value


@pytest.mark.parametrize("api", sorted(CALLS))
def test_insufficient_scope(bundled: MockServer, checkers: dict[str, SpecChecker], api: str) -> None:
    response = send(bundled, CALLS[api], NO_SCOPE[api])
    assert response.status_code == 403
    body = body_of(response, checkers[api])
    assert ("Permisos insuficientes" if api == "settings-mailer" else "Insufficient scope") in json.dumps(body)


def test_maxcare_insufficient_scope_is_its_documented_body(bundled: MockServer) -> None:
    response = send(bundled, CALLS["maxcare"], NO_SCOPE["maxcare"])
    body = response.json()
    assert (body["code"], body["message"]) == ("forbidden", "Insufficient scope")


@pytest.fixture(scope="module")
def revoked() -> t.Iterator[MockServer]:
    server = scenario_server("revoked_key")
    yield server
    server.stop()


@pytest.mark.parametrize("api", sorted(CALLS))
def test_revoked_or_expired_key(revoked: MockServer, checkers: dict[str, SpecChecker], api: str) -> None:
    status, field, value = INVALID[api]
    response = send(revoked, CALLS[api], GOOD[api])
    assert response.status_code == status
    body = response.json()
    assert body[field] == value
    if api == "settings-mailer":
        assert body["error"] == "No autorizado"  # the spec's one 401 text
    if api == "send-service":
        assert body["message"] == "API key has expired"


@pytest.mark.parametrize("api", sorted(CALLS))
def test_rate_limit_and_reset_when_the_window_passes(checkers: dict[str, SpecChecker], api: str) -> None:
    server = scenario_server("rate_limited")
    try:
        # a window starts on the minute: 3 calls at its start, the 4th half-way, the 5th at its end
        start = 1_774_432_800  # 2026-03-25T10:00:00Z
        clock(server, {"frozen": True, "set": "2026-03-25T10:00:00Z"})
        answers = [send(server, CALLS[api], GOOD[api]) for _ in range(3)]
        assert [a.status_code // 100 for a in answers] == [2, 2, 2]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
        assert {a.headers["X-RateLimit-Reset"] for a in answers} == {str(start + 60)}
        clock(server, {"advance_seconds": 30})
        limited = send(server, CALLS[api], GOOD[api])
        assert limited.status_code == 429
        assert limited.headers["X-RateLimit-Limit"] == "3"
        assert limited.headers["Retry-After"] == "30"
        assert limited.headers["X-RateLimit-Reset"] == str(start + 60)
        assert RATE_LIMITED.get(api, "Rate limit exceeded. Maximum 3 requests per 60 seconds.") in limited.text
        if api == "maxcare":  # MaxCare declares 429 with its own schema
            assert limited.json()["code"] == "rate_limit_exceeded"
            SpecChecker(SPECS / "maxcare.yaml", server.base_url).assert_valid(limited)
        clock(server, {"advance_seconds": 29})
        assert send(server, CALLS[api], GOOD[api]).status_code == 429  # 59 s: still the same window
        clock(server, {"advance_seconds": 1})
        renewed = send(server, CALLS[api], GOOD[api])
        assert renewed.status_code // 100 == 2
        assert renewed.headers["X-RateLimit-Remaining"] == "2"
    finally:
        server.stop()


def test_exactly_n_of_4n_concurrent_requests_pass() -> None:
    server = scenario_server("rate_limited")
    try:
        requests.post(server.url("/__mocksrv/clock"), json={"frozen": True}, timeout=10)
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda _: send(server, CALLS["maildiver"], GOOD["maildiver"]).status_code,
                                     range(12)))
        assert statuses.count(201) == 3 and statuses.count(429) == 9
    finally:
        server.stop()


def test_unknown_id_is_the_apis_404(bundled: MockServer, checkers: dict[str, SpecChecker]) -> None:
    maxcare = requests.get(bundled.url("/maxcare/v3/emails/eml_00000000000000000000000000000000"),
                           headers=CALLS["maxcare"].auth(GOOD["maxcare"]), timeout=10)
    assert maxcare.status_code == 404
    assert (maxcare.json()["code"], maxcare.json()["message"]) == ("not_found", "Resource not found")
    checkers["maxcare"].assert_valid(maxcare)
    mailer = requests.get(bundled.url("/settings-mailer/api/settings/mail-history/999999"),
                          headers=bearer(GOOD["settings-mailer"]), timeout=10)
    assert mailer.status_code == 404
    assert mailer.json() == {"success": False, "error": "Correo no encontrado"}
    checkers["settings-mailer"].assert_valid(mailer)


def test_fixture_record_is_served(bundled: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(bundled.url("/maxcare/v3/emails/eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"),
                            headers=CALLS["maxcare"].auth(GOOD["maxcare"]), timeout=10)
    assert response.status_code == 200
    assert response.json()["data"]["subject"] == "Your upcoming appointment on March 25"
    checkers["maxcare"].assert_valid(response)


def test_maxcare_created_email_is_read_back(bundled: MockServer, checkers: dict[str, SpecChecker]) -> None:
    created = send(bundled, CALLS["maxcare"], GOOD["maxcare"])
    email = created.json()["data"]["sent"][0]
    assert email["id"].startswith("eml_") and len(email["id"]) == 36
    assert email["subject"] == "Hi"
    fetched = requests.get(bundled.url(f"/maxcare/v3/emails/{email['id']}"),
                           headers=CALLS["maxcare"].auth(GOOD["maxcare"]), timeout=10)
    assert fetched.status_code == 200
    assert fetched.json()["data"] == email
    checkers["maxcare"].assert_valid(fetched)


def test_settings_mailer_sent_mail_is_in_the_history(bundled: MockServer,
                                                     checkers: dict[str, SpecChecker]) -> None:
    created = send(bundled, CALLS["settings-mailer"], GOOD["settings-mailer"])
    mail_id = created.json()["mail_id"]
    assert isinstance(mail_id, int) and mail_id > 456  # after the fixture's record
    detail = requests.get(bundled.url(f"/settings-mailer/api/settings/mail-history/{mail_id}"),
                          headers=bearer(GOOD["settings-mailer"]), timeout=10)
    assert detail.status_code == 200
    assert (detail.json()["mail"]["subject"], detail.json()["mail"]["body"]) == ("Hola", "Cuerpo")
    checkers["settings-mailer"].assert_valid(detail)
    history = requests.get(bundled.url("/settings-mailer/api/settings/mail-history"),
                           params={"search": "Cuerpo", "limit": 10}, headers=bearer(GOOD["settings-mailer"]),
                           timeout=10)
    assert mail_id in [mail["mail_id"] for mail in history.json()["mails"]]
    checkers["settings-mailer"].assert_valid(history)


def test_records_survive_a_restart_with_db(tmp_path: Path) -> None:
    db = tmp_path / "state.jsonl"
    first = scenario_server("default", "--db", str(db))
    try:
        created = send(first, CALLS["settings-mailer"], GOOD["settings-mailer"])
        mail_id = created.json()["mail_id"]
    finally:
        first.stop()
    second = scenario_server("default", "--db", str(db))
    try:
        again = requests.get(second.url(f"/settings-mailer/api/settings/mail-history/{mail_id}"),
                             headers=bearer(GOOD["settings-mailer"]), timeout=10)
        assert again.status_code == 200 and again.json()["mail"]["subject"] == "Hola"
    finally:
        second.stop()


def test_empty_scenario_is_open_mode_but_still_needs_a_credential() -> None:
    server = scenario_server("empty")
    try:
        assert send(server, CALLS["maildiver"], "anything").status_code == 201
        assert send(server, CALLS["maildiver"], "").status_code == 403
        gone = requests.get(server.url("/maxcare/v3/emails/eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"),
                            headers=CALLS["maxcare"].auth("k"), timeout=10)
        assert gone.status_code == 404  # no records in this scenario
    finally:
        server.stop()


def test_a_scenario_uploaded_again_and_again_is_held_once() -> None:
    # unit: a test suite's setup may upload the same inline scenario before every test
    import gc
    import tracemalloc

    from mocksrv.config import Options
    from mocksrv.engine.assembly import build_pipeline
    from mocksrv.openapi.specs import load_specs

    apis, _ = load_specs([SPECS])
    state = build_pipeline(apis, Options(specs=[SPECS], fixtures=FIXTURES)).state
    fixture = {"maxcare": {"records": {"emails": [{"id": f"eml_{n:032x}", "subject": "x" * 400}
                                                  for n in range(2000)]}}}

    def upload() -> None:
        state.fixtures.add("uploaded", fixture)
        state.load("uploaded")

    tracemalloc.start()  # before the first upload: memory freed later counts only if its allocation was traced
    try:
        upload()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(4):
            upload()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # one upload's records are ~1 MB; four earlier uploads kept alive would be ~4 MB
    assert grown < 300_000, f"{grown} bytes kept after four more uploads of the same scenario"
    assert state.store.count("maxcare", "emails") == 2000
