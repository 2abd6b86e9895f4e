"""The admin API a test uses: journal, reset, scenarios, records, clock."""

from __future__ import annotations

import json
import typing as t

import pytest
import requests
from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest
from openapi_core.contrib.requests import RequestsOpenAPIResponse
from openapi_spec_validator import OpenAPIV31SpecValidator

from conftest import FIXTURES
from conftest import JSON_TYPES
from conftest import SPECS
from conftest import MockServer
from mocksrv import Options
from mocksrv import create_app

KEY = {"Authorization": "Bearer md_demo"}
SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Journal", "html": "<p>x</p>"}


@pytest.fixture()
def mock() -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--strict")
    yield server
    server.stop()


def admin(mock: MockServer, method: str, path: str, **kwargs: t.Any) -> requests.Response:
    return requests.request(method, mock.url(f"/__mocksrv{path}"), timeout=10, **kwargs)


def test_journal_records_valid_and_invalid_requests(mock: MockServer) -> None:
    requests.post(mock.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10)
    requests.post(mock.url("/maildiver/v1/emails"), json={**SEND, "to": None}, headers=KEY, timeout=10)
    entries = admin(mock, "GET", "/requests", params={"api": "maildiver"}).json()["requests"]
    assert [e["response"]["status"] for e in entries] == [400, 201]  # newest first
    bad, good = entries
    assert good["valid"] and good["operationId"] == "sendEmail" and good["body"]["subject"] == "Journal"
    assert good["headers"]["Authorization"] == "Bearer …"  # credentials masked (short keys entirely)
    assert "md_demo" not in str(entries)
    assert not bad["valid"] and bad["errors"][0]["field"] == "to"
    only_invalid = admin(mock, "GET", "/requests", params={"valid": "false"}).json()
    assert only_invalid["count"] == 1
    assert admin(mock, "DELETE", "/requests").status_code == 204
    assert admin(mock, "GET", "/requests").json()["count"] == 0


def test_journal_shows_the_headers_as_sent(mock: MockServer) -> None:
    requests.get(mock.url("/settings-mailer/api/settings/mail-history"), timeout=10,
                 headers={"Authorization": "Bearer sm_demo", "X-Trace": "t-1"})
    requests.post(mock.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10)
    sent, got = admin(mock, "GET", "/requests").json()["requests"]
    assert got["headers"]["X-Trace"] == "t-1"
    assert "Content-Length" not in got["headers"]  # a GET without a body has none
    assert sent["headers"]["Content-Length"] == str(len(json.dumps(SEND)))


def test_journal_filters_are_checked(mock: MockServer) -> None:
    assert admin(mock, "GET", "/requests", params={"status": "abc"}).status_code == 400
    assert admin(mock, "GET", "/requests", params={"valid": "maybe"}).status_code == 400
    negative = admin(mock, "GET", "/requests", params={"limit": "-1"})
    assert negative.status_code == 400 and "limit must be 0 or more" in negative.text


def test_reset_restores_records_counters_journal_and_clock(mock: MockServer) -> None:
    history = "/settings-mailer/api/settings/mail-history"
    sm_key = {"Authorization": "Bearer sm_demo"}
    assert requests.delete  # the settings mailer has no DELETE: remove through the admin API
    assert admin(mock, "DELETE", "/apis/settings-mailer/records/mail-history/456").status_code == 204
    assert requests.get(mock.url(f"{history}/456"), headers=sm_key, timeout=10).status_code == 404
    admin(mock, "POST", "/clock", json={"frozen": True, "advance_seconds": 3600})
    assert admin(mock, "POST", "/reset").json() == {"scenario": "default"}
    assert requests.get(mock.url(f"{history}/456"), headers=sm_key, timeout=10).status_code == 200
    clock = admin(mock, "GET", "/clock").json()
    assert clock["frozen"] is False
    assert admin(mock, "GET", "/requests").json()["count"] == 1  # only the GET after the reset


def test_switch_scenario_by_name_and_inline(mock: MockServer) -> None:
    names = [s["name"] for s in admin(mock, "GET", "/scenarios").json()["scenarios"]]
    assert {"default", "empty", "rate_limited", "revoked_key"} <= set(names)
    assert admin(mock, "PUT", "/scenario", json={"name": "revoked_key"}).json() == {"scenario": "revoked_key"}
    assert requests.post(mock.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code == 403
    inline = {"name": "mine", "fixture": {"maildiver": {"api_keys": [{"key": "inline_key"}]}}}
    assert admin(mock, "PUT", "/scenario", json=inline).status_code == 200
    response = requests.post(mock.url("/maildiver/v1/emails"), json=SEND,
                             headers={"Authorization": "Bearer inline_key"}, timeout=10)
    assert response.status_code == 201


def test_invalid_inline_scenario_lists_each_error_path(mock: MockServer) -> None:
    bad = {"name": "bad", "fixture": {"maildiver": {"api_keys": [{"key": 5}]}, "nosuch": {}}}
    response = admin(mock, "PUT", "/scenario", json=bad)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any("maildiver.api_keys[0].key: Not a valid string." in e for e in errors)
    # the scenario in force did not change
    assert admin(mock, "GET", "/scenarios").json()["current"] == "default"


def test_records_api(mock: MockServer) -> None:
    record = {"id": "eml_11111111111111111111111111111111", "subject": "seeded"}
    assert admin(mock, "POST", "/apis/maxcare/records/emails", json=record).status_code == 201
    assert admin(mock, "GET", f"/apis/maxcare/records/emails/{record['id']}").json()["subject"] == "seeded"
    listed = admin(mock, "GET", "/apis/maxcare/records/emails", params={"limit": 1}).json()
    assert listed["total"] >= 2 and len(listed["records"]) == 1
    assert admin(mock, "POST", "/apis/maxcare/records/emails", json={"subject": "no id"}).status_code == 400
    assert admin(mock, "GET", "/apis/nosuch/records/x").status_code == 404
    assert admin(mock, "DELETE", "/apis/maxcare/records/emails").status_code == 204
    assert admin(mock, "GET", "/apis/maxcare/records/emails").json() == {"records": [], "total": 0}


def test_clock_input_is_checked(mock: MockServer) -> None:
    assert admin(mock, "POST", "/clock", json={"advance_seconds": -1}).status_code == 400
    assert admin(mock, "POST", "/clock", json={"set": "yesterday"}).status_code == 400
    assert admin(mock, "POST", "/clock", json={"speed": 2}).status_code == 400
    moved = admin(mock, "POST", "/clock", json={"set": "2030-01-01T00:00:00Z", "frozen": True}).json()
    assert moved["now"].startswith("2030-01-01T00:00:00") and moved["frozen"] is True


def test_every_admin_answer_matches_the_admin_openapi_document(mock: MockServer) -> None:
    document = admin(mock, "GET", "/openapi.json").json()
    OpenAPIV31SpecValidator(SchemaPath.from_dict(document)).validate()
    document["servers"] = [{"url": mock.url("/__mocksrv")}]
    spec = OpenAPI.from_dict(document, config=JSON_TYPES)
    calls = [
        ("GET", "/health", {}), ("GET", "/apis", {}), ("GET", "/scenarios", {}), ("GET", "/clock", {}),
        ("POST", "/clock", {"json": {"advance_seconds": 1}}), ("POST", "/clock", {"json": {"bogus": 1}}),
        ("POST", "/faults", {"json": {"api": "maildiver", "latency_ms": {"min": 1, "max": 2}, "times": 1}}),
        ("POST", "/faults", {"json": {"status": 200}}), ("GET", "/faults", {}),
        ("POST", "/rules", {"json": {"api": "maildiver", "then": {"latency_ms": 1}}}), ("GET", "/rules", {}),
        ("GET", "/apis/maxcare/records/emails", {"params": {"limit": 1}}),
        ("GET", "/apis/maxcare/records/emails/eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345", {}),
        ("GET", "/apis/maxcare/records/emails/nope", {}),
        ("PUT", "/scenario", {"json": {"name": "nope"}}), ("PUT", "/scenario", {"json": {"name": "default"}}),
        ("POST", "/reset", {}), ("GET", "/requests", {"params": {"valid": "true"}}), ("DELETE", "/requests", {}),
        ("DELETE", "/faults", {}), ("DELETE", "/faults/999", {}), ("DELETE", "/rules/999", {}),
        ("POST", "/apis/send-service/webhooks", {"json": {"url": "http://127.0.0.1:9/h", "events": ["bounced"]}}),
        ("POST", "/apis/send-service/webhooks", {"json": {"url": "http://192.0.2.1/h"}}),
        ("GET", "/apis/send-service/webhooks", {}), ("DELETE", "/apis/send-service/webhooks/wh_404", {}),
        ("POST", "/apis/send-service/webhooks/events", {"json": {"event": "bounced", "delay_seconds": 60}}),
        ("POST", "/apis/send-service/webhooks/events", {"json": {"event": "nope"}}),
        ("GET", "/webhooks/deliveries", {"params": {"state": "pending"}}), ("POST", "/reset", {}),
    ]
    requests.post(mock.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10)  # a journal entry
    for method, path, kwargs in calls:
        response = admin(mock, method, path, **kwargs)
        result = spec.unmarshal_response(RequestsOpenAPIRequest(response.request),  # type: ignore[arg-type]
                                         RequestsOpenAPIResponse(response))
        assert not result.errors, f"{method} {path} {response.status_code} {response.text[:300]}: {result.errors}"


def test_api_key_headers_are_masked_in_the_journal(mock: MockServer) -> None:
    requests.post(mock.url("/send-service/api/v1/send"), json={"to": "a@example.com", "subject": "s"},
                  headers={"X-API-Key": "ss_demo_secret_value"}, timeout=10)
    entry = admin(mock, "GET", "/requests", params={"api": "send-service"}).json()["requests"][0]
    assert entry["headers"]["X-Api-Key"] == "ss_d…"
    assert "ss_demo_secret_value" not in str(entry)


def test_remote_clients_are_refused_without_a_token() -> None:
    app = create_app(Options(specs=[SPECS], fixtures=FIXTURES))
    remote = app.test_client()
    refused = remote.get("/__mocksrv/apis", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert refused.status_code == 403
    assert "loopback clients only" in refused.get_json()["detail"]
    assert remote.get("/__mocksrv/apis", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    # the mocked APIs themselves answer anyone
    assert remote.post("/maildiver/v1/emails", json=SEND, headers=KEY,
                       environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 201
    guarded = create_app(Options(specs=[SPECS], fixtures=FIXTURES, admin_token="t0ken")).test_client()
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert guarded.get("/__mocksrv/apis", environ_base=outside).status_code == 401
    assert guarded.get("/__mocksrv/apis", environ_base=outside,
                       headers={"Authorization": "Bearer t0ken"}).status_code == 200


def test_health_answers_probes_from_anywhere_even_with_a_token() -> None:
    """Readiness probes (a kubelet, a compose health check) hold no token and may not be loopback."""
    guarded = create_app(Options(specs=[SPECS], fixtures=FIXTURES, admin_token="t0ken")).test_client()
    answer = guarded.get("/__mocksrv/health", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "ok"
    assert guarded.get("/__mocksrv/clock", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 401
