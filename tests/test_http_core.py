"""Routing, negotiation, Prefer and the APIs listing, over real HTTP."""

from __future__ import annotations

import pytest
import requests

from conftest import SPECS
from conftest import MockServer
from conftest import SpecChecker

MAXCARE = {"Authorization": "Bearer k", "X-Organization-Id": "org"}


def test_apis_listing(server: MockServer) -> None:
    listing = requests.get(server.url("/__mocksrv/apis"), timeout=10).json()["apis"]
    by_id = {api["id"]: api for api in listing}
    assert set(by_id) == {"maxcare", "maildiver", "settings-mailer", "send-service"}
    maxcare = by_id["maxcare"]
    assert maxcare["title"] == "Max AI Public API" and maxcare["version"] == "3.0"
    assert maxcare["base_url"] == server.url("/maxcare/v3")
    assert {"method": "POST", "path": "/emails/send", "operationId": "EmailsPublicController_sendEmails"} \
        in maxcare["operations"]


def test_unknown_api_is_404_json(server: MockServer) -> None:
    response = requests.get(server.url("/nosuchapi/x"), timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "maxcare" in response.json()["detail"]


def test_unknown_path_is_404_json(server: MockServer) -> None:
    response = requests.get(server.url("/maxcare/v3/nothing/here"), headers=MAXCARE, timeout=10)
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_literal_segment_wins_over_template(server: MockServer) -> None:
    # POST /emails/send exists; POST /emails/{id} does not: the literal route must be chosen
    response = requests.post(server.url("/maxcare/v3/emails/send"), json={}, headers=MAXCARE, timeout=10)
    assert response.status_code == 400  # validated against sendEmails' body, so it was routed there


def test_get_on_literal_path_falls_back_to_template(server: MockServer) -> None:
    response = requests.get(server.url("/maxcare/v3/emails/send"), headers=MAXCARE, timeout=10)
    # GET /emails/{id} with id "send": MaxCare's behaviour refuses the malformed id
    assert response.status_code == 400
    assert response.json()["message"] == "'id' must be a valid UUID"


def test_wrong_method_is_405_with_allow(server: MockServer) -> None:
    response = requests.delete(server.url("/maildiver/v1/emails"), timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["status"] == 405


HISTORY = "/settings-mailer/api/settings/mail-history"
SETTINGS = {"Authorization": "Bearer k"}


def test_not_acceptable_is_406(server: MockServer) -> None:
    response = requests.get(server.url(HISTORY), headers={**SETTINGS, "Accept": "text/csv"}, timeout=10)
    assert response.status_code == 406
    # the API declares no 406: its own client-error body (ErrorResponse) carries the reason
    assert response.json()["success"] is False
    assert "application/json" in response.json()["error"]


def test_accept_json_is_fine(server: MockServer) -> None:
    response = requests.get(server.url(HISTORY), headers={**SETTINGS, "Accept": "application/json;q=0.9, text/html"},
                            timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("accept", [")", "json", ";q=1"])
def test_an_accept_header_with_no_media_range_is_disregarded(server: MockServer, accept: str) -> None:
    """RFC 9110 lets a server disregard Accept; a value that names no type/subtype is noise, not a 406."""
    response = requests.get(server.url(HISTORY), headers={**SETTINGS, "Accept": accept}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"


def test_prefer_code_picks_declared_response(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(server.url("/maxcare/v3/emails/eml_1"), headers={**MAXCARE, "Prefer": "code=404"},
                            timeout=10)
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "trace_id"}
    checkers["maxcare"].assert_valid(response)


def test_prefer_undeclared_code_is_a_clear_400(server: MockServer) -> None:
    response = requests.get(server.url("/maxcare/v3/emails/eml_1"), headers={**MAXCARE, "Prefer": "code=418"},
                            timeout=10)
    assert response.status_code == 400
    assert "declares no such response" in response.json()["detail"]


def test_prefer_named_example(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    headers = {"Authorization": "Bearer k", "Prefer": "example=bulk"}
    data = {"to": '["a@example.com"]', "subject": "s", "body": "b"}
    response = requests.post(server.url("/settings-mailer/api/settings/sendmail"), data=data, headers=headers,
                             files=[("attachments", ("a.png", b"png", "image/png"))], timeout=10)
    assert response.status_code == 200
    assert response.json()["bulk_mode"] is True and response.json()["mail_id"] == 457
    checkers["settings-mailer"].assert_valid(response)


def test_prefer_unknown_example_lists_the_names(server: MockServer) -> None:
    headers = {"Authorization": "Bearer k", "Prefer": "example=nope"}
    data = {"to": '["a@example.com"]', "subject": "s", "body": "b"}
    response = requests.post(server.url("/settings-mailer/api/settings/sendmail"), data=data, headers=headers,
                             files=[("attachments", ("a.png", b"png", "image/png"))], timeout=10)
    assert response.status_code == 400
    assert "normal, bulk" in response.json()["detail"]


def test_prefer_dynamic_generates_from_schema(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    url = server.url(f"{HISTORY}/456")
    static = requests.get(url, headers={**SETTINGS, "Prefer": "code=200"}, timeout=10)
    dynamic = requests.get(url, headers={**SETTINGS, "Prefer": "code=200, dynamic=true"}, timeout=10)
    assert static.status_code == dynamic.status_code == 200
    assert static.json()["mail"]["subject"] == "Service Update"  # the spec's example
    assert dynamic.json() != static.json()
    checkers["settings-mailer"].assert_valid(dynamic)


def test_responses_are_deterministic_for_a_seed() -> None:
    def first_answer(seed: str) -> bytes:
        mock = MockServer("--specs", str(SPECS / "maildiver.yaml"), "--seed", seed)
        try:
            # ids carry the time (UUIDv7): the same instant on a frozen clock, the same bytes
            requests.post(mock.url("/__mocksrv/clock"), json={"set": "2026-03-25T10:00:00Z", "frozen": True},
                          timeout=10)
            body = {"from": "a@b.c", "to": "d@e.f", "subject": "s", "html": "<p>x</p>"}
            return requests.post(mock.url("/maildiver/v1/emails"), json=body, timeout=10,
                                 headers={"Authorization": "Bearer k", "Prefer": "dynamic=true"}).content
        finally:
            mock.stop()

    assert first_answer("7") == first_answer("7")
    assert first_answer("7") != first_answer("8")


def test_health(server: MockServer) -> None:
    assert requests.get(server.url("/__mocksrv/health"), timeout=10).json() == {"status": "ok", "apis": 4}
