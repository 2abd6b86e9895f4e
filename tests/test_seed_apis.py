"""Each seed API over real HTTP: valid calls answered with spec-valid bodies, bad calls
answered in that API's own error format."""

from __future__ import annotations

import json
import uuid

import requests

from conftest import MockServer
from conftest import SpecChecker

BEARER = {"Authorization": "Bearer test-key"}
MAXCARE = {**BEARER, "X-Organization-Id": "org_demo"}
MAXCARE_SEND = {"from": "notifications", "subject": "Reminder", "html": "<p>Hi</p>",
                "emailType": "appointment_reminder", "patientIds": ["pat_1"]}
MAILDIVER_SEND = {"from": "Team <team@example.com>", "to": "user@example.com", "subject": "Hello",
                  "html": "<p>Hello</p>"}
SEND_SERVICE = {"to": "user@example.com", "subject": "Welcome", "html": "<p>Hi</p>"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def post_json(server: MockServer, path: str, body: object, headers: dict[str, str]) -> requests.Response:
    return requests.post(server.url(path), json=body, headers=headers, timeout=10)


# --- valid calls: every operation of the four seed APIs --------------------------------------

def test_maxcare_send(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = post_json(server, "/maxcare/v3/emails/send", MAXCARE_SEND, MAXCARE)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] and set(body["data"]) >= {"sent", "errors"}
    checkers["maxcare"].assert_valid(response)


def test_maxcare_get(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(server.url("/maxcare/v3/emails/eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"),
                            headers=MAXCARE, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"]
    checkers["maxcare"].assert_valid(response)


def test_maildiver_send(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = post_json(server, "/maildiver/v1/emails", MAILDIVER_SEND, BEARER)
    assert response.status_code == 201, response.text
    assert "id" in response.json()
    checkers["maildiver"].assert_valid(response)


def test_maildiver_accepts_array_recipients(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    body = {**MAILDIVER_SEND, "to": ["a@example.com", "b@example.com"], "cc": "c@example.com"}
    response = post_json(server, "/maildiver/v1/emails", body, BEARER)
    assert response.status_code == 201, response.text
    checkers["maildiver"].assert_valid(response)


def test_settings_mailer_send_multipart_with_images(server: MockServer,
                                                    checkers: dict[str, SpecChecker]) -> None:
    files = [("attachments", ("a.png", PNG, "image/png")), ("attachments", ("b.png", PNG, "image/png"))]
    data = {"to": json.dumps(["user@example.com"]), "subject": "Service Update", "body": "Done.",
            "ctaUrl": "https://example.com/request/123", "ctaText": "View Request"}
    response = requests.post(server.url("/settings-mailer/api/settings/sendmail"), data=data, files=files,
                             headers=BEARER, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    checkers["settings-mailer"].assert_valid(response)


def test_settings_mailer_history(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(server.url("/settings-mailer/api/settings/mail-history"),
                            params={"limit": 20, "offset": 0, "status": "sent", "search": "update"},
                            headers=BEARER, timeout=10)
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["mails"], list)
    checkers["settings-mailer"].assert_valid(response)


def test_settings_mailer_history_item(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(server.url("/settings-mailer/api/settings/mail-history/456"), headers=BEARER,
                            timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["mail"]["mail_id"]
    checkers["settings-mailer"].assert_valid(response)


def test_send_service_send(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = post_json(server, "/send-service/api/v1/send", SEND_SERVICE, {"X-API-Key": "key"})
    assert response.status_code == 200, response.text
    assert response.json().get("status", "queued") == "queued"
    checkers["send-service"].assert_valid(response)


# --- bad calls: the API's own error format ---------------------------------------------------

def test_maxcare_missing_field_uses_its_bad_request_schema(server: MockServer) -> None:
    body = {k: v for k, v in MAXCARE_SEND.items() if k != "subject"}
    response = post_json(server, "/maxcare/v3/emails/send", body, MAXCARE)
    # POST /emails/send declares no 400: the API's PublicApiBadRequestResponse (GET /emails/{id}) is used
    assert response.status_code == 400
    payload = response.json()
    assert set(payload) == {"code", "message", "trace_id"}
    assert payload["message"] == "subject field is required"
    assert payload["code"] == "bad_request"
    uuid.UUID(payload["trace_id"])


def test_maxcare_wrong_type(server: MockServer) -> None:
    response = post_json(server, "/maxcare/v3/emails/send", {**MAXCARE_SEND, "patientIds": "pat_1"}, MAXCARE)
    assert response.status_code == 400
    assert response.json()["message"] == "patientIds must be of type array, got string"


def test_maxcare_missing_required_header(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(server.url("/maxcare/v3/emails/eml_1"), headers=BEARER, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"] == "X-Organization-Id header is required"
    checkers["maxcare"].assert_valid(response)  # GET /emails/{id} declares this 400


def test_maxcare_missing_key_is_401_in_its_schema(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = post_json(server, "/maxcare/v3/emails/send", MAXCARE_SEND, {"X-Organization-Id": "org"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"code", "message", "trace_id"}
    checkers["maxcare"].assert_valid(response)


def test_maxcare_wrong_content_type(server: MockServer) -> None:
    response = requests.post(server.url("/maxcare/v3/emails/send"), data="from=x", timeout=10,
                             headers={**MAXCARE, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_maildiver_missing_field_message(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    body = {k: v for k, v in MAILDIVER_SEND.items() if k != "to"}
    response = post_json(server, "/maildiver/v1/emails", body, BEARER)
    assert response.status_code == 400
    assert response.json() == {"message": "to field is required"}
    checkers["maildiver"].assert_valid(response)


def test_maildiver_wrong_type_and_length(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = post_json(server, "/maildiver/v1/emails", {**MAILDIVER_SEND, "subject": "x" * 101}, BEARER)
    assert response.status_code == 400
    assert response.json()["message"] == "subject must be at most 100 characters long"
    checkers["maildiver"].assert_valid(response)


def test_maildiver_missing_key_is_its_403(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    # MailDiver documents 403 (and no 401) for a missing or invalid API key
    response = post_json(server, "/maildiver/v1/emails", MAILDIVER_SEND, {})
    assert response.status_code == 403
    assert "message" in response.json()
    checkers["maildiver"].assert_valid(response)


def test_maildiver_malformed_json(server: MockServer) -> None:
    response = requests.post(server.url("/maildiver/v1/emails"), data=b'{"to": ', timeout=10,
                             headers={**BEARER, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid" in response.json()["message"]


def test_settings_mailer_missing_subject(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    data = {"to": json.dumps(["user@example.com"]), "body": "Done."}
    response = requests.post(server.url("/settings-mailer/api/settings/sendmail"), data=data,
                             files=[("attachments", ("a.png", PNG, "image/png"))], headers=BEARER, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "subject field is required"}
    checkers["settings-mailer"].assert_valid(response)


def test_settings_mailer_rejects_non_image_attachment(server: MockServer) -> None:
    data = {"to": json.dumps(["user@example.com"]), "subject": "s", "body": "b"}
    response = requests.post(server.url("/settings-mailer/api/settings/sendmail"), data=data,
                             files=[("attachments", ("a.pdf", b"%PDF", "application/pdf"))], headers=BEARER,
                             timeout=10)
    assert response.status_code == 400
    assert "attachments[0] has content type application/pdf" in response.json()["error"]


def test_settings_mailer_too_many_attachments(server: MockServer) -> None:
    data = {"to": json.dumps(["user@example.com"]), "subject": "s", "body": "b"}
    files = [("attachments", (f"{i}.png", PNG, "image/png")) for i in range(6)]
    response = requests.post(server.url("/settings-mailer/api/settings/sendmail"), data=data, files=files,
                             headers=BEARER, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "attachments must have at most 5 items"


def test_settings_mailer_wrong_query_type(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(server.url("/settings-mailer/api/settings/mail-history"), params={"limit": "lots"},
                            headers=BEARER, timeout=10)
    assert response.status_code == 400
    assert "limit" in response.json()["error"]
    checkers["settings-mailer"].assert_valid(response)


def test_settings_mailer_limit_above_max(server: MockServer) -> None:
    response = requests.get(server.url("/settings-mailer/api/settings/mail-history"), params={"limit": 101},
                            headers=BEARER, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "limit must be at most 100"


def test_settings_mailer_integer_path_id(server: MockServer) -> None:
    response = requests.get(server.url("/settings-mailer/api/settings/mail-history/abc"), headers=BEARER,
                            timeout=10)
    assert response.status_code == 400
    assert "id" in response.json()["error"]


def test_send_service_missing_field_and_enum(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = post_json(server, "/send-service/api/v1/send", {"to": "u@example.com", "stream_type": "bulk"},
                         {"X-API-Key": "key"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "message"}
    assert "subject field is required" in body["message"]
    checkers["send-service"].assert_valid(response)


def test_send_service_missing_key(server: MockServer, checkers: dict[str, SpecChecker]) -> None:
    response = post_json(server, "/send-service/api/v1/send", SEND_SERVICE, {})
    assert response.status_code == 403  # the API documents 403 and no 401
    assert "X-API-Key" in response.json()["message"]
    checkers["send-service"].assert_valid(response)
