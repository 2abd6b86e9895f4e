"""The settings-mailer behaviour over real HTTP: one Spanish message per error in the seed's
order of checks, Spanish everywhere else it answers, synchronous normal sends and background
bulk sends on the virtual clock, failing recipients, the SMTP-down scenario, the rendered
e-mail, attachment metadata and the mail history."""

from __future__ import annotations

import html
import re
import typing as t
from datetime import UTC
from datetime import datetime

import pytest
import requests

from conftest import SPECS
from conftest import MockServer
from conftest import SpecChecker

API = "/settings-mailer/api/settings"
SEND = f"{API}/sendmail"
HISTORY = f"{API}/mail-history"
AUTH = {"Authorization": "Bearer sm_demo"}
RECORDS = "/__mocksrv/apis/settings-mailer/records/mail-history"
UI = "/__mocksrv/ui"
MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56  # 64 bytes; only the declared type matters
SIGNED_URL = re.compile(r"^https://s3\.amazonaws\.com/bucket/(?P<key>[^?]+)\?.*X-Amz-Signature=[0-9a-f]{64}$")
Part = tuple[str, tuple[str | None, t.Any] | tuple[str, bytes, str]]


@pytest.fixture(scope="module")
def mock(module_server: MockServer) -> MockServer:
    return module_server


@pytest.fixture(scope="module")
def checker(mock: MockServer) -> SpecChecker:
    return SpecChecker(SPECS / "settings-mailer.yaml", mock.base_url)


@pytest.fixture(autouse=True)
def fresh(mock: MockServer) -> None:
    """Every test starts from the default scenario with the clock frozen."""
    use_scenario(mock, "default")
    assert requests.post(mock.url("/__mocksrv/reset"), timeout=10).status_code == 200
    assert requests.post(mock.url("/__mocksrv/clock"), json={"frozen": True}, timeout=10).status_code == 200


def use_scenario(mock: MockServer, name: str, fixture: dict[str, t.Any] | None = None) -> requests.Response:
    body: dict[str, t.Any] = {"name": name} if fixture is None else {"name": name, "fixture": fixture}
    return requests.put(mock.url("/__mocksrv/scenario"), json=body, timeout=10)


def advance(mock: MockServer, seconds: float) -> None:
    response = requests.post(mock.url("/__mocksrv/clock"), json={"advance_seconds": seconds}, timeout=10)
    assert response.status_code == 200, response.text


def now_epoch(mock: MockServer) -> float:
    return float(requests.get(mock.url("/__mocksrv/clock"), timeout=10).json()["epoch"])


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def send(mock: MockServer, checker: SpecChecker, to: str | None = '["user@example.com"]',
         subject: str | None = "Service Update", body: str | None = "Your request is done.",
         files: t.Sequence[tuple[str, bytes, str]] = (), **extra: str) -> requests.Response:
    """POST a multipart send (None leaves a field out); the answer must match the spec."""
    parts: list[Part] = [(name, (None, value)) for name, value in
                         (("to", to), ("subject", subject), ("body", body), *extra.items()) if value is not None]
    parts.extend(("attachments", file) for file in files)
    response = requests.post(mock.url(SEND), files=parts, headers=AUTH, timeout=60)
    checker.assert_valid(response)
    return response


def recipients(count: int, *failing: str) -> str:
    addresses = [f"user{n}@example.com" for n in range(1, count - len(failing) + 1)] + list(failing)
    return "[" + ",".join(f'"{a}"' for a in addresses) + "]"


def detail(mock: MockServer, checker: SpecChecker, mail_id: int) -> dict[str, t.Any]:
    response = requests.get(mock.url(f"{HISTORY}/{mail_id}"), headers=AUTH, timeout=10)
    checker.assert_valid(response)
    assert response.status_code == 200, response.text
    return t.cast(dict[str, t.Any], response.json()["mail"])


def stored(mock: MockServer, mail_id: int) -> dict[str, t.Any]:
    """The admin view of a mail: the API's fields plus the schedule (``batches_sent`` …)."""
    response = requests.get(mock.url(f"{RECORDS}/{mail_id}"), timeout=10)
    assert response.status_code == 200, response.text
    return t.cast(dict[str, t.Any], response.json())


def history(mock: MockServer, checker: SpecChecker, **query: t.Any) -> requests.Response:
    response = requests.get(mock.url(HISTORY), params=query, headers=AUTH, timeout=10)
    checker.assert_valid(response)
    return response


def error_of(response: requests.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    return t.cast(str, body["error"])


# -- one message per error, in the seed's order (issue 18.1) -------------------------------------


@pytest.mark.parametrize("to", [None, "", "not json", "[]", '[""]', "[1]", '{"to": "user@example.com"}',
                                '"user@example.com"', "user@example.com"])
def test_recipients_must_be_a_non_empty_json_array_of_strings(mock: MockServer, checker: SpecChecker,
                                                              to: str | None) -> None:
    assert error_of(send(mock, checker, to=to)) == "Se requiere al menos un destinatario"


def test_an_entry_that_is_not_an_address_is_named(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker, to='["user@example.com", "not-an-address"]')
    assert error_of(response) == "Dirección de correo no válida: not-an-address"


@pytest.mark.parametrize("subject", [None, "", "   "])
def test_subject_is_required(mock: MockServer, checker: SpecChecker, subject: str | None) -> None:
    assert error_of(send(mock, checker, subject=subject)) == "El asunto es requerido"


@pytest.mark.parametrize("body", [None, "", " \n "])
def test_body_is_required(mock: MockServer, checker: SpecChecker, body: str | None) -> None:
    assert error_of(send(mock, checker, body=body)) == "El cuerpo del correo es requerido"


SIX_IMAGES = [(f"p{n}.png", PNG, "image/png") for n in range(6)]


@pytest.mark.parametrize("fields, files, message", [
    # everything missing: the engine finds three required fields, the answer is the first
    ({"to": None, "subject": None, "body": None}, [], "Se requiere al menos un destinatario"),
    # the engine finds the subject missing; the recipients (this module's check) come first
    ({"to": "[]", "subject": None, "body": None}, [], "Se requiere al menos un destinatario"),
    ({"to": '["not-an-address"]', "subject": None}, SIX_IMAGES, "Dirección de correo no válida: not-an-address"),
    ({"subject": None, "body": None}, SIX_IMAGES, "El asunto es requerido"),
    ({"subject": " ", "body": None}, [], "El asunto es requerido"),
    ({"body": None}, SIX_IMAGES, "El cuerpo del correo es requerido"),
    ({"body": ""}, [("invoice.pdf", b"%PDF", "application/pdf")], "El cuerpo del correo es requerido"),
    ({}, [*SIX_IMAGES[:5], ("invoice.pdf", b"%PDF", "application/pdf")], "Se permiten como máximo 5 archivos adjuntos"),
], ids=["all-missing", "empty-to-and-no-subject", "bad-address-first", "subject-before-body",
        "blank-subject-before-body", "body-before-attachments", "blank-body-before-type", "count-before-type"])
def test_one_message_the_first_failing_check_in_the_seeds_order(mock: MockServer, checker: SpecChecker,
                                                                fields: dict[str, str | None],
                                                                files: list[tuple[str, bytes, str]],
                                                                message: str) -> None:
    response = send(mock, checker, files=files, **{"to": '["user@example.com"]', "subject": "Hola", "body": "Hola",
                                                   **fields})  # type: ignore[arg-type]
    assert response.json() == {"success": False, "error": message}
    assert response.status_code == 400


def test_client_text_in_a_message_stays_on_one_line(mock: MockServer, checker: SpecChecker) -> None:
    address = send(mock, checker, to='["user@example.com", "not\\nan\\u2028address"]')
    assert error_of(address) == "Dirección de correo no válida: not\\nan\\u2028address"
    status = history(mock, checker, status="sent\r\nX-Injected: 1")
    assert error_of(status) == ("Estado no válido: sent\\r\\nX-Injected: 1. "
                                "Valores permitidos: pending, sending, sent, failed, partial")


def test_a_text_field_sent_twice(mock: MockServer, checker: SpecChecker) -> None:
    response = requests.post(mock.url(SEND), headers=AUTH, timeout=10, files=[
        ("to", (None, '["user@example.com"]')), ("subject", (None, "Hola")), ("subject", (None, "Otra vez"))])
    checker.assert_valid(response)
    assert response.json() == {"success": False, "error": "El campo subject se envió 2 veces; solo admite un valor"}


def test_at_most_five_attachments(mock: MockServer, checker: SpecChecker) -> None:
    assert error_of(send(mock, checker, files=SIX_IMAGES)) == "Se permiten como máximo 5 archivos adjuntos"
    assert send(mock, checker, files=SIX_IMAGES[:5]).json()["attachments_count"] == 5


def test_attachments_must_be_images(mock: MockServer, checker: SpecChecker) -> None:
    files = [("a.png", PNG, "image/png"), ("invoice.pdf", b"%PDF-1.4", "application/pdf")]
    assert error_of(send(mock, checker, files=files)) == \
        "Solo se permiten imágenes como adjuntos: invoice.pdf es application/pdf"


def test_text_parts_named_attachments_are_ignored(mock: MockServer, checker: SpecChecker) -> None:
    response = requests.post(mock.url(SEND), headers=AUTH, timeout=10, files=[
        ("to", (None, '["user@example.com"]')), ("subject", (None, "Hi")), ("body", (None, "Hello")),
        ("attachments", (None, "not a file")), ("attachments", ("a.png", PNG, "image/png"))])
    checker.assert_valid(response)
    assert response.json()["attachments_count"] == 1
    assert [a["filename"] for a in detail(mock, checker, response.json()["mail_id"])["attachments"]] == ["a.png"]


def test_attachments_are_at_most_10_mb_each(mock: MockServer, checker: SpecChecker) -> None:
    too_big = [("small.png", PNG, "image/png"), ("huge.png", b"\x00" * (10 * MB + 1), "image/png")]
    assert error_of(send(mock, checker, files=too_big)) == \
        "El adjunto huge.png supera el máximo de 10MB (10485761 bytes)"
    assert requests.get(mock.url(RECORDS), timeout=10).json()["total"] == 1  # nothing stored
    at_limit = send(mock, checker, files=[("big.png", b"\x00" * (10 * MB), "image/png")])
    assert at_limit.status_code == 200, at_limit.text
    assert stored(mock, at_limit.json()["mail_id"])["attachments"][0]["size"] == 10 * MB


@pytest.mark.parametrize("query, message", [
    ({"limit": 0}, "El parámetro limit debe ser un número entero mayor que 0"),
    ({"limit": "lots"}, "El parámetro limit debe ser un número entero mayor que 0"),
    ({"offset": -1}, "El parámetro offset debe ser un número entero mayor o igual que 0"),
    ({"status": "bogus"}, "Estado no válido: bogus. Valores permitidos: pending, sending, sent, failed, partial"),
    ({"status": "bogus", "offset": -1, "limit": 0}, "El parámetro limit debe ser un número entero mayor que 0"),
    ({"status": "bogus", "offset": "x"}, "El parámetro offset debe ser un número entero mayor o igual que 0"),
])
def test_history_parameters_one_spanish_message(mock: MockServer, checker: SpecChecker, query: dict[str, t.Any],
                                                message: str) -> None:
    assert history(mock, checker, **query).json() == {"success": False, "error": message}


def test_unknown_mail_is_404(mock: MockServer, checker: SpecChecker) -> None:
    response = requests.get(mock.url(f"{HISTORY}/999"), headers=AUTH, timeout=10)
    checker.assert_valid(response)
    assert error_of(response, 404) == "Correo no encontrado"
    not_a_number = requests.get(mock.url(f"{HISTORY}/abc"), headers=AUTH, timeout=10)
    checker.assert_valid(not_a_number)
    assert error_of(not_a_number) == "El ID del correo debe ser un número entero"


# -- Spanish everywhere it answers (issue 18.2) --------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic c206ZGVtbw=="}],
                         ids=["missing", "unknown", "other-scheme"])
def test_a_missing_or_invalid_token_is_no_autorizado(mock: MockServer, checker: SpecChecker,
                                                     headers: dict[str, str]) -> None:
    for response in (requests.get(mock.url(HISTORY), headers=headers, timeout=10),
                     requests.post(mock.url(SEND), headers=headers, files={"to": (None, "[]")}, timeout=10)):
        checker.assert_valid(response)
        assert (response.status_code, response.json()) == (401, {"success": False, "error": "No autorizado"})


def test_a_revoked_token_is_no_autorizado(mock: MockServer, checker: SpecChecker) -> None:
    assert use_scenario(mock, "revoked_key").status_code == 200
    response = requests.get(mock.url(HISTORY), headers=AUTH, timeout=10)
    checker.assert_valid(response)
    assert (response.status_code, response.json()) == (401, {"success": False, "error": "No autorizado"})


def test_a_key_without_the_scope_is_refused_in_spanish(mock: MockServer) -> None:
    response = send_as(mock, "sm_readonly")
    assert (response.status_code, response.json()) == (403, {"success": False, "error": "Permisos insuficientes"})


def test_too_many_requests_in_spanish(mock: MockServer) -> None:
    assert use_scenario(mock, "rate_limited").status_code == 200
    answers = [requests.get(mock.url(HISTORY), headers=AUTH, timeout=10) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json() == {"success": False, "error": "Demasiadas solicitudes. Intente de nuevo más tarde."}
    assert answers[3].headers["Retry-After"]


def test_media_types_in_spanish(mock: MockServer) -> None:
    json_body = requests.post(mock.url(SEND), headers=AUTH, json={"to": ["user@example.com"]}, timeout=10)
    assert (json_body.status_code, json_body.json()) == (
        415, {"success": False, "error": "Tipo de contenido no admitido: envíe multipart/form-data"})
    as_html = requests.get(mock.url(HISTORY), headers={**AUTH, "Accept": "text/html"}, timeout=10)
    assert (as_html.status_code, as_html.json()) == (
        406, {"success": False, "error": "Formato de respuesta no disponible: solo application/json"})


def send_as(mock: MockServer, key: str) -> requests.Response:
    return requests.post(mock.url(SEND), headers={"Authorization": f"Bearer {key}"}, timeout=10, files={
        "to": (None, '["user@example.com"]'), "subject": (None, "Hola"), "body": (None, "Hola")})


# -- history paging -------------------------------------------------------------------------------


def test_history_limit_above_100_is_capped(mock: MockServer, checker: SpecChecker) -> None:
    mails = [{"mail_id": n, "recipients": [f"user{n}@example.com"], "subject": f"Aviso {n}", "body": "Hola",
              "status": "sent", "created_at": "2026-03-03T10:30:00Z"} for n in range(1, 106)]
    fixture = {"scenario": {"extends": "default"}, "settings-mailer": {"records": {"mail-history": mails}}}
    assert use_scenario(mock, "mailer_many", fixture).status_code == 200
    page = history(mock, checker, limit=101).json()
    assert (page["total"], page["limit"], page["offset"], len(page["mails"])) == (105, 100, 0, 100)
    assert [m["mail_id"] for m in page["mails"][:2]] == [105, 104]
    assert len(history(mock, checker, limit=1000, offset=100).json()["mails"]) == 5
    assert history(mock, checker).json()["limit"] == 50


# -- normal send: synchronous (issue 18.3) ----------------------------------------------------------


def test_normal_send_is_sent_when_answered(mock: MockServer, checker: SpecChecker) -> None:
    created = now_epoch(mock)
    response = send(mock, checker, to='["user1@example.com", "user2@example.com"]',
                    ctaUrl="https://example.com/request/123")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Correo enviado a 2 destinatario(s)",
                               "recipients": ["user1@example.com", "user2@example.com"], "mail_id": 457,
                               "attachments_count": 0}
    mail = detail(mock, checker, 457)  # right after the answer, the clock not moved
    assert (mail["status"], mail["error_message"]) == ("sent", None)
    assert mail["cta_url"] == "https://example.com/request/123"
    assert mail["cta_text"] == "Learn More"  # the documented default
    assert (mail["sent_by"], mail["sent_by_name"]) == (1, "Admin User")
    assert mail["created_at"] == mail["updated_at"] == iso(created)
    assert [m["mail_id"] for m in history(mock, checker, status="sent").json()["mails"]] == [457, 456]
    assert history(mock, checker, status="pending").json()["total"] == 0
    assert send(mock, checker).json()["mail_id"] == 458  # the sequence goes on


def test_cta_text_defaults_to_learn_more(mock: MockServer, checker: SpecChecker) -> None:
    with_text = send(mock, checker, ctaUrl="https://example.com/x", ctaText="View Request").json()["mail_id"]
    without = send(mock, checker).json()["mail_id"]
    assert detail(mock, checker, with_text)["cta_text"] == "View Request"
    mail = detail(mock, checker, without)
    assert (mail["cta_url"], mail["cta_text"]) == (None, "Learn More")


def test_normal_send_to_failing_recipients(mock: MockServer, checker: SpecChecker) -> None:
    all_fail = send(mock, checker, to='["fail@example.com"]')
    assert all_fail.status_code == 500
    assert all_fail.json() == {"success": False, "error": "Error al enviar el correo",
                               "details": "No se pudo enviar a ningún destinatario: fail@example.com", "mail_id": 457}
    failed = detail(mock, checker, 457)
    assert (failed["status"], failed["error_message"]) == (
        "failed", "No se pudo enviar a ningún destinatario: fail@example.com")
    # a normal send is pending → sent | failed: a partly failed one is sent, and says who failed
    some_fail = send(mock, checker, to='["user@example.com", "FAIL@example.com"]')
    assert some_fail.status_code == 200
    partly = detail(mock, checker, some_fail.json()["mail_id"])
    assert (partly["status"], partly["error_message"]) == (
        "sent", "Falló el envío a 1 de 2 destinatario(s): FAIL@example.com")


def test_the_sender_without_a_user_record_is_unknown(mock: MockServer, checker: SpecChecker) -> None:
    fixture = {"scenario": {"extends": "default"},
               "settings-mailer": {"api_keys": [{"key": "sm_demo", "owner": "7", "scopes": ["mail:send", "mail:read"]}]}}
    assert use_scenario(mock, "mailer_stranger", fixture).status_code == 200
    mail = detail(mock, checker, send(mock, checker).json()["mail_id"])
    assert (mail["sent_by"], mail["sent_by_name"]) == (7, "Unknown")


# -- bulk send: in the background (issue 18.3) --------------------------------------------------------


def test_bulk_send_goes_out_in_batches_and_ends_with_the_last(mock: MockServer, checker: SpecChecker) -> None:
    created = now_epoch(mock)
    response = send(mock, checker, to=recipients(5))
    body = response.json()
    assert body["message"] == ("Envío masivo iniciado para 5 destinatario(s). "
                               "Los correos se enviarán de forma gradual.")
    assert body["bulk_mode"] is True
    assert len(body["recipients"]) == 5
    # ceil(5 / 2) = 3 batches × 5 s: the documented example's 15 s for the 5 addresses it lists
    assert body["estimated_time_seconds"] == 15
    mail_id = body["mail_id"]
    seen = []
    for step in (0, 5, 4.5, 0.5):  # batches at +0, +5, +10; the outcome with the last one
        advance(mock, step)
        record = stored(mock, mail_id)
        seen.append((record["status"], record["batches_sent"]))
        assert detail(mock, checker, mail_id)["status"] == record["status"]
    assert seen == [("sending", 1), ("sending", 2), ("sending", 2), ("sent", 3)]
    mail = detail(mock, checker, mail_id)
    assert (mail["status"], mail["error_message"]) == ("sent", None)
    assert mail["updated_at"] == iso(created + 10)
    assert [len(batch["recipients"]) for batch in stored(mock, mail_id)["batches"]] == [2, 2, 1]


def test_bulk_estimate_is_batches_times_interval(mock: MockServer, checker: SpecChecker) -> None:
    assert send(mock, checker, to=recipients(4)).json()["estimated_time_seconds"] == 10
    assert send(mock, checker, to=recipients(10)).json()["estimated_time_seconds"] == 25
    normal = send(mock, checker, to=recipients(3)).json()
    assert "bulk_mode" not in normal and "estimated_time_seconds" not in normal
    fixture = {"scenario": {"extends": "default"},
               "settings-mailer": {"options": {"batch_size": 3, "batch_interval_seconds": 2.5}}}
    assert use_scenario(mock, "mailer_fractional", fixture).status_code == 200
    body = send(mock, checker, to=recipients(7)).json()
    assert body["estimated_time_seconds"] == 8  # 3 batches × 2.5 s, rounded up to whole seconds
    advance(mock, 4.9)
    assert detail(mock, checker, body["mail_id"])["status"] == "sending"
    advance(mock, 0.1)  # the third batch, at +5
    assert detail(mock, checker, body["mail_id"])["status"] == "sent"


def test_bulk_send_with_some_failing_recipients_is_partial(mock: MockServer, checker: SpecChecker) -> None:
    mail_id = send(mock, checker, to=recipients(4, "fail@example.com")).json()["mail_id"]
    advance(mock, 4.5)
    assert detail(mock, checker, mail_id)["status"] == "sending"
    advance(mock, 0.5)
    mail = detail(mock, checker, mail_id)
    assert mail["status"] == "partial"
    assert mail["error_message"] == "Falló el envío a 1 de 4 destinatario(s): fail@example.com"


def test_bulk_send_where_every_recipient_fails_is_failed(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker, to=recipients(4, *["fail@example.com"] * 4))
    assert response.status_code == 200
    mail_id = response.json()["mail_id"]
    assert detail(mock, checker, mail_id)["status"] == "sending"
    advance(mock, 5)
    mail = detail(mock, checker, mail_id)
    assert (mail["status"], mail["error_message"]) == (
        "failed", "No se pudo enviar a ningún destinatario: " + ", ".join(["fail@example.com"] * 4))


# -- SMTP down ------------------------------------------------------------------------------------


def test_smtp_down_a_normal_send_answers_the_documented_500(mock: MockServer, checker: SpecChecker) -> None:
    assert use_scenario(mock, "settings_mailer_smtp_down").status_code == 200
    response = send(mock, checker, to=recipients(3))
    assert response.status_code == 500
    assert response.json() == {"success": False, "error": "Error al enviar el correo",
                               "details": "SMTP connection failed", "mail_id": 457}
    mail = detail(mock, checker, 457)
    assert (mail["status"], mail["error_message"]) == ("failed", "SMTP connection failed")
    assert mail["updated_at"] == mail["created_at"]


def test_smtp_down_a_bulk_send_fails_in_the_history_only(mock: MockServer, checker: SpecChecker) -> None:
    assert use_scenario(mock, "settings_mailer_smtp_down").status_code == 200
    created = now_epoch(mock)
    response = send(mock, checker, to=recipients(6))
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Envío masivo iniciado para 6 destinatario(s). "
                                                           "Los correos se enviarán de forma gradual.",
                               "recipients": [f"user{n}@example.com" for n in range(1, 7)], "mail_id": 457,
                               "attachments_count": 0, "bulk_mode": True, "estimated_time_seconds": 30}
    assert detail(mock, checker, 457)["status"] == "sending"
    advance(mock, 19.5)  # batches of 2, 10 s apart: +0, +10, +20
    assert detail(mock, checker, 457)["status"] == "sending"
    advance(mock, 0.5)
    mail = detail(mock, checker, 457)
    assert (mail["status"], mail["error_message"], mail["updated_at"]) == (
        "failed", "SMTP connection failed", iso(created + 20))


def test_smtp_down_scenario_without_the_smtp_error(mock: MockServer, checker: SpecChecker) -> None:
    """The scenario's other failures: more failing recipients, slower batches."""
    fixture = {"scenario": {"extends": "settings_mailer_smtp_down"},
               "settings-mailer": {"options": {"batch_size": 2, "batch_interval_seconds": 10,
                                               "failing_recipients": ["bounce@example.com", "blocked@example.com"],
                                               "smtp_error": None}}}
    assert use_scenario(mock, "mailer_recipients_fail", fixture).status_code == 200
    body = send(mock, checker, to=recipients(5, "bounce@example.com", "blocked@example.com")).json()
    assert body["estimated_time_seconds"] == 30
    advance(mock, 19)
    assert detail(mock, checker, body["mail_id"])["status"] == "sending"
    advance(mock, 1)
    assert detail(mock, checker, body["mail_id"])["status"] == "partial"


@pytest.mark.parametrize("options", [{"bogus": 1}, {"smtp_error": 5}, {"batch_size": 0},
                                     {"failing_recipients": "fail@example.com"}, {"send_seconds": 1}])
def test_bad_options_are_refused(mock: MockServer, options: dict[str, t.Any]) -> None:
    fixture = {"scenario": {"extends": "default"}, "settings-mailer": {"options": options}}
    response = use_scenario(mock, "mailer_bad_options", fixture)
    assert response.status_code == 400, response.text
    assert any("settings-mailer.options" in line for line in response.json()["errors"])


# -- the e-mail (issue 18.4) ------------------------------------------------------------------------


EMAIL = """<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>Service &lt;Update&gt; &amp; more</title>
</head>
<body>
  <h1>Service &lt;Update&gt; &amp; more</h1>
  <div class="message">
    <p>Your request is <b>done</b>.</p>
  </div>

  <a href="https://example.com/request/123?a=1&amp;b=2" class="cta-button">
    View &quot;Request&quot;
  </a>

  <footer>
    Ambiotec - Professional Services
  </footer>
</body>
</html>
"""


def test_the_email_is_the_seeds_template(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker, subject="Service <Update> & more", body="<p>Your request is <b>done</b>.</p>",
                    ctaUrl="https://example.com/request/123?a=1&b=2", ctaText='View "Request"',
                    files=[("logo.png", PNG, "image/png")])
    mail_id = response.json()["mail_id"]
    assert stored(mock, mail_id)["html"] == EMAIL
    assert "html" not in detail(mock, checker, mail_id)  # the API's answers keep the seed's fields


def test_without_a_cta_url_there_is_no_button(mock: MockServer, checker: SpecChecker) -> None:
    mail_id = send(mock, checker, subject="Aviso", body="Hola", ctaText="Ver").json()["mail_id"]
    email = stored(mock, mail_id)["html"]
    assert "<h1>Aviso</h1>" in email and "    Hola\n" in email
    assert "cta-button" not in email and "Ver" not in email
    assert "Ambiotec - Professional Services" in email


def test_the_outbox_shows_the_email_the_recipient_gets(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker, subject="Service <Update> & more", body="<p>Your request is <b>done</b>.</p>",
                    ctaUrl="https://example.com/request/123?a=1&b=2", ctaText='View "Request"',
                    files=[("logo.png", PNG, "image/png")])
    page = requests.get(mock.url(f"{UI}/outbox/settings-mailer/{response.json()['mail_id']}"), timeout=10).text
    src = re.search(r'<iframe[^>]* src="([^"]+)"', page)
    assert src is not None
    preview = requests.get(mock.url(html.unescape(src.group(1))), timeout=10)
    assert preview.text == EMAIL
    raw = html.unescape(page)
    assert 'Content-Disposition: inline; filename="logo.png"' in raw  # the image goes inline


def test_a_seeded_mail_has_its_email_too(mock: MockServer, checker: SpecChecker) -> None:
    email = stored(mock, 456)["html"]
    assert "<title>Service Update</title>" in email
    assert '<a href="https://example.com/request/123" class="cta-button">\n    View Request\n  </a>' in email


# -- attachments ----------------------------------------------------------------------------------


def test_attachment_metadata_and_s3_keys(mock: MockServer, checker: SpecChecker) -> None:
    milliseconds = int(now_epoch(mock) * 1000)
    files = [("service-report.png", PNG, "image/png"), ("photos/site.jpg", b"\xff\xd8\xff" * 100, "image/jpeg")]
    response = send(mock, checker, files=files)
    assert response.json()["attachments_count"] == 2
    attachments = detail(mock, checker, response.json()["mail_id"])["attachments"]
    assert [(a["filename"], a["size"], a["content_type"], a["s3_key"]) for a in attachments] == [
        ("service-report.png", len(PNG), "image/png", f"mail-attachments/{milliseconds}_service-report.png"),
        ("site.jpg", 300, "image/jpeg", f"mail-attachments/{milliseconds}_site.jpg"),
    ]
    for attachment in attachments:
        found = SIGNED_URL.match(attachment["url"])
        assert found is not None, attachment["url"]
        assert found["key"] == attachment["s3_key"]


# -- history ----------------------------------------------------------------------------------------


def test_history_filters_searches_and_pages(mock: MockServer, checker: SpecChecker) -> None:
    send(mock, checker, to='["alice@example.com"]', subject="Invoice ready", body="See attached.")  # 457
    send(mock, checker, to='["bob@example.com"]', subject="Welcome", body="Your invoice is below.")  # 458
    send(mock, checker, to=recipients(4), subject="Reminder", body="Tomorrow.")  # 459, bulk: sending

    everything = history(mock, checker).json()
    assert (everything["total"], everything["limit"], everything["offset"]) == (4, 50, 0)
    assert [m["mail_id"] for m in everything["mails"]] == [459, 458, 457, 456]  # newest first
    assert {m["total_count"] for m in everything["mails"]} == {4}

    sent = history(mock, checker, status="sent").json()
    assert [m["mail_id"] for m in sent["mails"]] == [458, 457, 456]
    assert [m["mail_id"] for m in history(mock, checker, status="sending").json()["mails"]] == [459]
    assert history(mock, checker, status="partial").json()["total"] == 0

    def found(term: str) -> list[int]:
        return [m["mail_id"] for m in history(mock, checker, search=term).json()["mails"]]

    assert found("INVOICE") == [458, 457]  # subject of one, body of the other, any case
    assert found("bob@") == [458]  # recipients
    assert found("Admin User") == []  # only recipients, subject and body are searched
    assert found("sent") == []

    page = history(mock, checker, limit=2, offset=1).json()
    assert [m["mail_id"] for m in page["mails"]] == [458, 457]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert {m["total_count"] for m in page["mails"]} == {4}
    filtered_page = history(mock, checker, status="sent", limit=1, offset=2).json()
    assert [m["mail_id"] for m in filtered_page["mails"]] == [456]
    assert filtered_page["total"] == 3
    assert history(mock, checker, offset=10).json()["mails"] == []


def test_seeded_mail_reads_as_stored(mock: MockServer, checker: SpecChecker) -> None:
    mail = detail(mock, checker, 456)
    assert (mail["status"], mail["updated_at"], mail["sent_by_name"]) == ("sent", "2026-03-03T10:30:15Z", "Admin User")
