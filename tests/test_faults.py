"""Injected faults (latency, forced status, dropped connection, times) and the admin token."""

from __future__ import annotations

import time
import typing as t

import pytest
import requests

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from conftest import SpecChecker
from conftest import restore

KEY = {"Authorization": "Bearer md_demo"}
SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "html": "<p>x</p>"}
MAXCARE = {"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"}
EMAIL = "/maxcare/v3/emails/eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"


@pytest.fixture()
def mock(module_server: MockServer) -> MockServer:
    restore(module_server)
    return module_server


def fault(mock: MockServer, **spec: t.Any) -> requests.Response:
    return requests.post(mock.url("/__mocksrv/faults"), json=spec, timeout=10)


def send(mock: MockServer, timeout: float = 10) -> requests.Response:
    return requests.post(mock.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=timeout)


def test_forced_status_in_the_apis_format_for_n_calls(mock: MockServer) -> None:
    created = fault(mock, api="maxcare", operationId="EmailsPublicController_getEmail", status=429, times=2)
    assert created.status_code == 201 and created.json()["remaining"] == 2
    checker = SpecChecker(SPECS / "maxcare.yaml", mock.base_url)
    answers = [requests.get(mock.url(EMAIL), headers=MAXCARE, timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].json()["code"] == "rate_limit_exceeded"  # MaxCare's own 429 body
    checker.assert_valid(answers[0])
    assert requests.get(mock.url("/__mocksrv/faults"), timeout=10).json()["faults"] == []


def test_api_wide_5xx_fault_uses_the_apis_error_body(mock: MockServer) -> None:
    assert fault(mock, api="settings-mailer", status=500).status_code == 201
    response = requests.get(mock.url("/settings-mailer/api/settings/mail-history"),
                            headers={"Authorization": "Bearer sm_demo"}, timeout=10)
    assert response.status_code == 500
    assert response.json()["success"] is False
    SpecChecker(SPECS / "settings-mailer.yaml", mock.base_url).assert_valid(response)


def test_latency_makes_a_client_time_out(mock: MockServer) -> None:
    assert fault(mock, api="maildiver", latency_ms=600, times=1).status_code == 201
    with pytest.raises(requests.exceptions.ReadTimeout):
        send(mock, timeout=0.2)
    started = time.perf_counter()
    assert send(mock).status_code == 201  # the fault was used up
    assert time.perf_counter() - started < 0.5


def test_latency_range(mock: MockServer) -> None:
    fault(mock, api="maildiver", latency_ms={"min": 100, "max": 150})
    started = time.perf_counter()
    assert send(mock).status_code == 201
    assert 0.1 <= time.perf_counter() - started < 1.0


def test_dropped_connection(mock: MockServer) -> None:
    fault(mock, api="maildiver", drop=True, times=1)
    # the answer breaks off: a status line, a promised body, then the connection closes
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        send(mock)
    assert send(mock).status_code == 201


def test_clearing_faults(mock: MockServer) -> None:
    first = fault(mock, api="maildiver", status=403).json()["id"]
    fault(mock, status=500)
    assert requests.delete(mock.url(f"/__mocksrv/faults/{first}"), timeout=10).status_code == 204
    assert send(mock).status_code == 500  # the API-wide one still applies
    assert requests.delete(mock.url("/__mocksrv/faults"), timeout=10).status_code == 204
    assert send(mock).status_code == 201
    assert requests.delete(mock.url(f"/__mocksrv/faults/{first}"), timeout=10).status_code == 404


@pytest.mark.parametrize("spec, text", [
    ({}, "a fault needs latency_ms, status or drop"),
    ({"api": "maildiver", "status": 200}, "status: Must be greater than or equal to 400"),
    ({"api": "maildiver", "latency_ms": -5}, "latency_ms: must be between 0 and 60000 ms"),
    ({"api": "maildiver", "latency_ms": {"min": 5, "max": 1}}, "min must not be greater than max"),
    ({"api": "maildiver", "status": 500, "drop": True}, "status and drop exclude each other"),
    ({"operationId": "sendEmail", "status": 500}, "api: required when operationId is given"),
    ({"api": "maildiver", "colour": "red", "status": 500}, "colour: Unknown field."),
    ({"api": "nope", "status": 500}, "no API 'nope'"),
    ({"api": "maildiver", "operationId": "nope", "status": 500}, "has no operation 'nope'"),
    ({"api": "maildiver", "operationId": "sendEmail", "status": 503}, "sendEmail declares no 503 response"),
])
def test_bad_faults_are_400_with_the_problem(mock: MockServer, spec: dict[str, t.Any], text: str) -> None:
    response = fault(mock, **spec)
    assert response.status_code == 400
    assert text in response.text
    assert requests.get(mock.url("/__mocksrv/faults"), timeout=10).json()["faults"] == []


def test_admin_token_is_required_when_set() -> None:
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--admin-token", "s3cret-admin")
    try:
        clock = server.url("/__mocksrv/clock")
        assert requests.get(clock, timeout=10).status_code == 401
        assert requests.get(clock, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
        assert requests.get(clock, headers={"Authorization": "Bearer s3cret-admin"}, timeout=10).status_code == 200
        assert requests.get(server.url("/__mocksrv/health"), timeout=10).status_code == 200  # probes hold no token
        # the mocked APIs themselves do not need it
        assert requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code == 201
    finally:
        server.stop()
