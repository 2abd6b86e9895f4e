"""Each seed API over real HTTP: valid calls answered with spec-valid bodies, bad calls
answered in that API's own error format."""

from __future__ import annotations

import json
import uuid

import requests

from conftest import MockServer
from conftest import SpecChecker

# the demo keys of fixtures/default.yaml
MAXCARE = {"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"}
MAILDIVER = {"Authorization": "Bearer md_demo"}
SETTINGS = {"Authorization": "Bearer sm_demo"}
SEND_KEY = {"X-API-Key": "ss_demo"}
MAXCARE_SEND = {"from": "notifications", "subject": "Reminder", "html": "<p>Hi</p>",
                "emailType": "appointment_reminder", "patientIds": ["pat_1"]}
MAILDIVER_SEND = {"from": "Team <team@example.com>", "to": "user@example.com", "subject": "Hello",
                  "html": "<p>Hello</p>"}
SEND_SERVICE = {"to": "user@example.com", "subject": "Welcome", "html": "<p>Hi</p>"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def post_json(server: MockServer, path: str, body: object, headers: dict[str, str]) -> requests.Response:
    return requests.post(server.url(path), json=body, headers=headers, timeout=10)


# --- valid calls: every operation of the four seed APIs --------------------------------------

def test_maxcare_send(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = post_json(bundled, "/maxcare/v3/emails/send", MAXCARE_SEND, MAXCARE)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] and set(body["data"]) >= {"sent", "errors"}
    bundled_checkers["maxcare"].assert_valid(response)


def test_maxcare_get(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(bundled.url("/maxcare/v3/emails/eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"),
                            headers=MAXCARE, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"]
    bundled_checkers["maxcare"].assert_valid(response)


def test_maildiver_send(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = post_json(bundled, "/maildiver/v1/emails", MAILDIVER_SEND, MAILDIVER)
    assert response.status_code == 201, response.text
    assert "id" in response.json()
    bundled_checkers["maildiver"].assert_valid(response)


def test_maildiver_accepts_array_recipients(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    body = {**MAILDIVER_SEND, "to": ["a@example.com", "b@example.com"], "cc": "c@example.com"}
    response = post_json(bundled, "/maildiver/v1/emails", body, MAILDIVER)
    assert response.status_code == 201, response.text
    bundled_checkers["maildiver"].assert_valid(response)


def test_settings_mailer_send_multipart_with_images(bundled: MockServer,
                                                    bundled_checkers: dict[str, SpecChecker]) -> None:
    files = [("attachments", ("a.png", PNG, "image/png")), ("attachments", ("b.png", PNG, "image/png"))]
    data = {"to": json.dumps(["user@example.com"]), "subject": "Service Update", "body": "Done.",
            "ctaUrl": "https://example.com/request/123", "ctaText": "View Request"}
    response = requests.post(bundled.url("/settings-mailer/api/settings/sendmail"), data=data, files=files,
                             headers=SETTINGS, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    bundled_checkers["settings-mailer"].assert_valid(response)


def test_settings_mailer_history(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(bundled.url("/settings-mailer/api/settings/mail-history"),
                            params={"limit": 20, "offset": 0, "status": "sent", "search": "update"},
                            headers=SETTINGS, timeout=10)
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["mails"], list)
    bundled_checkers["settings-mailer"].assert_valid(response)


def test_settings_mailer_history_item(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(bundled.url("/settings-mailer/api/settings/mail-history/456"), headers=SETTINGS,
                            timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["mail"]["mail_id"]
    bundled_checkers["settings-mailer"].assert_valid(response)


def test_send_service_send(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = post_json(bundled, "/send-service/api/v1/send", SEND_SERVICE, SEND_KEY)
    assert response.status_code == 200, response.text
    assert response.json().get("status", "queued") == "queued"
    bundled_checkers["send-service"].assert_valid(response)


# --- bad calls: the API's own error format ---------------------------------------------------

def test_maxcare_missing_field_uses_its_bad_request_schema(bundled: MockServer) -> None:
    body = {k: v for k, v in MAXCARE_SEND.items() if k != "subject"}
    response = post_json(bundled, "/maxcare/v3/emails/send", body, MAXCARE)
    # POST /emails/send declares no 400: the API's PublicApiBadRequestResponse (GET /emails/{id}) is used
    assert response.status_code == 400
    payload = response.json()
    assert set(payload) == {"code", "message", "trace_id"}
    assert payload["message"] == "'subject' is required"  # MaxCare's wording, not MailDiver's
    assert payload["code"] == "bad_request"
    uuid.UUID(payload["trace_id"])


def test_maxcare_wrong_type(bundled: MockServer) -> None:
    response = post_json(bundled, "/maxcare/v3/emails/send", {**MAXCARE_SEND, "patientIds": "pat_1"}, MAXCARE)
    assert response.status_code == 400
    assert response.json()["message"] == "'patientIds' must be an array"


def test_maxcare_missing_required_header(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(bundled.url("/maxcare/v3/emails/eml_1"), headers={"Authorization": MAXCARE["Authorization"]}, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"] == "'X-Organization-Id' is required"
    bundled_checkers["maxcare"].assert_valid(response)  # GET /emails/{id} declares this 400


def test_maxcare_missing_key_is_401_in_its_schema(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = post_json(bundled, "/maxcare/v3/emails/send", MAXCARE_SEND, {"X-Organization-Id": "org"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"code", "message", "trace_id"}
    bundled_checkers["maxcare"].assert_valid(response)


def test_maxcare_wrong_content_type(bundled: MockServer) -> None:
    response = requests.post(bundled.url("/maxcare/v3/emails/send"), data="from=x", timeout=10,
                             headers={**MAXCARE, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    # no 415 is declared anywhere: MaxCare's error body (code, message, trace_id) carries the reason
    body = response.json()
    assert set(body) == {"code", "message", "trace_id"}
    assert "application/json" in body["message"]


def test_maildiver_missing_field_message(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    body = {k: v for k, v in MAILDIVER_SEND.items() if k != "to"}
    response = post_json(bundled, "/maildiver/v1/emails", body, MAILDIVER)
    assert response.status_code == 400
    assert response.json() == {"message": "to field is required"}
    bundled_checkers["maildiver"].assert_valid(response)


def test_maildiver_wrong_type_and_length(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = post_json(bundled, "/maildiver/v1/emails", {**MAILDIVER_SEND, "subject": "x" * 101}, MAILDIVER)
    assert response.status_code == 400
    assert response.json()["message"] == "subject must be at most 100 characters long"
    bundled_checkers["maildiver"].assert_valid(response)


def test_maildiver_missing_key_is_its_403(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    # MailDiver documents 403 (and no 401) for a missing or invalid API key
    response = post_json(bundled, "/maildiver/v1/emails", MAILDIVER_SEND, {})
    assert response.status_code == 403
    assert "message" in response.json()
    bundled_checkers["maildiver"].assert_valid(response)


def test_maildiver_malformed_json(bundled: MockServer) -> None:
    response = requests.post(bundled.url("/maildiver/v1/emails"), data=b'{"to": ', timeout=10,
                             headers={**MAILDIVER, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid" in response.json()["message"]


def test_settings_mailer_missing_subject(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    data = {"to": json.dumps(["user@example.com"]), "body": "Done."}
    response = requests.post(bundled.url("/settings-mailer/api/settings/sendmail"), data=data,
                             files=[("attachments", ("a.png", PNG, "image/png"))], headers=SETTINGS, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "El asunto es requerido"}  # the documented text
    bundled_checkers["settings-mailer"].assert_valid(response)


def test_settings_mailer_rejects_non_image_attachment(bundled: MockServer) -> None:
    data = {"to": json.dumps(["user@example.com"]), "subject": "s", "body": "b"}
    response = requests.post(bundled.url("/settings-mailer/api/settings/sendmail"), data=data,
                             files=[("attachments", ("a.pdf", b"%PDF", "application/pdf"))], headers=SETTINGS,
                             timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "Solo se permiten imágenes como adjuntos: a.pdf es application/pdf"


def test_settings_mailer_too_many_attachments(bundled: MockServer) -> None:
    data = {"to": json.dumps(["user@example.com"]), "subject": "s", "body": "b"}
    files = [("attachments", (f"{i}.png", PNG, "image/png")) for i in range(6)]
    response = requests.post(bundled.url("/settings-mailer/api/settings/sendmail"), data=data, files=files,
                             headers=SETTINGS, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "Se permiten como máximo 5 archivos adjuntos"


def test_settings_mailer_wrong_query_type(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(bundled.url("/settings-mailer/api/settings/mail-history"), params={"limit": "lots"},
                            headers=SETTINGS, timeout=10)
    assert response.status_code == 400
    assert "limit" in response.json()["error"]
    bundled_checkers["settings-mailer"].assert_valid(response)


def test_settings_mailer_limit_above_max_is_capped(bundled: MockServer,
                                                   bundled_checkers: dict[str, SpecChecker]) -> None:
    response = requests.get(bundled.url("/settings-mailer/api/settings/mail-history"), params={"limit": 101},
                            headers=SETTINGS, timeout=10)
    assert response.status_code == 200
    assert response.json()["limit"] == 100  # "max 100"
    bundled_checkers["settings-mailer"].assert_valid(response)


def test_settings_mailer_integer_path_id(bundled: MockServer) -> None:
    response = requests.get(bundled.url("/settings-mailer/api/settings/mail-history/abc"), headers=SETTINGS,
                            timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "El ID del correo debe ser un número entero"


def test_send_service_missing_field_and_enum(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = post_json(bundled, "/send-service/api/v1/send", {"to": "u@example.com", "stream_type": "bulk"},
                         SEND_KEY)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "message"}
    assert "subject field is required" in body["message"]
    bundled_checkers["send-service"].assert_valid(response)


def test_send_service_missing_key(bundled: MockServer, bundled_checkers: dict[str, SpecChecker]) -> None:
    response = post_json(bundled, "/send-service/api/v1/send", SEND_SERVICE, {})
    assert response.status_code == 403  # the API documents 403 and no 401
    assert "X-API-Key" in response.json()["message"]
    bundled_checkers["send-service"].assert_valid(response)


def test_one_message_per_error_the_first_documented_check(bundled: MockServer) -> None:
    """MailDiver lists from, to, subject in that order; its error has room for one message."""
    bundled.client.clear_requests()
    for body, expected in [({}, "from field is required"), ({"from": "a@example.com"}, "to field is required"),
                           ({"from": "a@example.com", "to": "b@example.com"}, "subject field is required")]:
        response = post_json(bundled, "/maildiver/v1/emails", {**body, "html": "<p>x</p>"}, MAILDIVER)
        assert (response.status_code, response.json()) == (400, {"message": expected})
    # the journal keeps every violation of the first request, not only the one the API names
    first = bundled.client.requests(api="maildiver")[-1]  # newest first
    assert [error["message"] for error in first["errors"]] == [
        "from field is required", "to field is required", "subject field is required"]
