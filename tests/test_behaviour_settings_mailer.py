"""The settings-mailer behaviour over real HTTP: the form rules and their Spanish messages,
normal and bulk sends on the virtual clock, failing recipients, the SMTP-down scenario,
attachment metadata and the mail history."""

from __future__ import annotations

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


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("to", [None, "", "not json", "[]", '[""]', "[1]", '{"to": "user@example.com"}',
                                '"user@example.com"', "user@example.com"])
def test_recipients_must_be_a_non_empty_json_array_of_strings(mock: MockServer, checker: SpecChecker,
                                                              to: str | None) -> None:
    assert error_of(send(mock, checker, to=to)) == "Se requiere al menos un destinatario"


def test_an_entry_that_is_not_an_address_is_named(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker, to='["user@example.com", "not-an-address"]')
    assert error_of(response) == "to has an invalid email address: not-an-address"


@pytest.mark.parametrize("subject", [None, "", "   "])
def test_subject_is_required(mock: MockServer, checker: SpecChecker, subject: str | None) -> None:
    assert error_of(send(mock, checker, subject=subject)) == "El asunto es requerido"


def test_body_is_required(mock: MockServer, checker: SpecChecker) -> None:
    # undocumented texts: the engine's wording, and the handler's in the same style
    assert error_of(send(mock, checker, body=None)) == "body field is required"
    assert error_of(send(mock, checker, body="")) == "body must not be blank"
    assert error_of(send(mock, checker, body=" \n ")) == "body must not be blank"


def test_recipients_are_checked_before_the_subject(mock: MockServer, checker: SpecChecker) -> None:
    assert error_of(send(mock, checker, to="[]", subject="")) == "Se requiere al menos un destinatario"
    # both missing: the engine reports every violation in one message, recipients first
    assert error_of(send(mock, checker, to=None, subject=None)).startswith("Se requiere al menos un destinatario")


def test_at_most_five_attachments(mock: MockServer, checker: SpecChecker) -> None:
    files = [(f"p{n}.png", PNG, "image/png") for n in range(6)]
    assert error_of(send(mock, checker, files=files)) == "attachments must have at most 5 items"
    assert send(mock, checker, files=files[:5]).json()["attachments_count"] == 5


def test_attachments_must_be_images(mock: MockServer, checker: SpecChecker) -> None:
    files = [("a.png", PNG, "image/png"), ("invoice.pdf", b"%PDF-1.4", "application/pdf")]
    assert error_of(send(mock, checker, files=files)) == \
        "attachments[1] has content type application/pdf; allowed: image/*"


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
        "attachments[1] (huge.png) is larger than 10 MB: 10485761 bytes"
    assert requests.get(mock.url(RECORDS), timeout=10).json()["total"] == 1  # nothing stored
    at_limit = send(mock, checker, files=[("big.png", b"\x00" * (10 * MB), "image/png")])
    assert at_limit.status_code == 200, at_limit.text
    assert stored(mock, at_limit.json()["mail_id"])["attachments"][0]["size"] == 10 * MB


def test_history_limit_over_100_is_refused(mock: MockServer, checker: SpecChecker) -> None:
    assert history(mock, checker, limit=101).status_code == 400
    assert history(mock, checker, limit=0).status_code == 400
    assert history(mock, checker, limit=100).status_code == 200


def test_unknown_mail_is_404(mock: MockServer, checker: SpecChecker) -> None:
    response = requests.get(mock.url(f"{HISTORY}/999"), headers=AUTH, timeout=10)
    checker.assert_valid(response)
    assert error_of(response, 404) == "Correo no encontrado"
    not_a_number = requests.get(mock.url(f"{HISTORY}/abc"), headers=AUTH, timeout=10)
    checker.assert_valid(not_a_number)
    assert not_a_number.status_code == 400


# -- normal send --------------------------------------------------------------------------------


def test_normal_send_is_pending_then_sent(mock: MockServer, checker: SpecChecker) -> None:
    created = now_epoch(mock)
    response = send(mock, checker, to='["user1@example.com", "user2@example.com"]',
                    ctaUrl="https://example.com/request/123")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Correo enviado a 2 destinatario(s)",
                               "recipients": ["user1@example.com", "user2@example.com"], "mail_id": 457,
                               "attachments_count": 0}
    mail = detail(mock, checker, 457)
    assert mail["status"] == "pending"
    assert mail["cta_url"] == "https://example.com/request/123"
    assert mail["cta_text"] == "Learn More"  # the documented default when ctaUrl is given
    assert (mail["sent_by"], mail["sent_by_name"]) == (1, "Admin User")
    assert mail["created_at"] == mail["updated_at"] == iso(created)
    advance(mock, 0.5)
    assert detail(mock, checker, 457)["status"] == "pending"
    advance(mock, 0.5)  # send_seconds: 1
    mail = detail(mock, checker, 457)
    assert (mail["status"], mail["error_message"], mail["updated_at"]) == ("sent", None, iso(created + 1))
    assert send(mock, checker).json()["mail_id"] == 458  # the sequence goes on


def test_cta_text_is_kept_and_no_cta_means_nulls(mock: MockServer, checker: SpecChecker) -> None:
    with_text = send(mock, checker, ctaUrl="https://example.com/x", ctaText="View Request").json()["mail_id"]
    without = send(mock, checker).json()["mail_id"]
    assert detail(mock, checker, with_text)["cta_text"] == "View Request"
    mail = detail(mock, checker, without)
    assert (mail["cta_url"], mail["cta_text"]) == (None, None)


def test_normal_send_to_failing_recipients(mock: MockServer, checker: SpecChecker) -> None:
    all_fail = send(mock, checker, to='["fail@example.com"]').json()["mail_id"]
    some_fail = send(mock, checker, to='["user@example.com", "FAIL@example.com"]').json()["mail_id"]
    assert detail(mock, checker, all_fail)["status"] == "pending"
    advance(mock, 1)
    failed = detail(mock, checker, all_fail)
    assert failed["status"] == "failed"
    assert "fail@example.com" in failed["error_message"]
    # a normal send is pending → sent | failed: a partly failed one is sent, and says who failed
    partly = detail(mock, checker, some_fail)
    assert partly["status"] == "sent"
    assert partly["error_message"] == "Falló el envío a 1 de 2 destinatario(s): FAIL@example.com"


def test_the_sender_without_a_user_record_is_unknown(mock: MockServer, checker: SpecChecker) -> None:
    fixture = {"scenario": {"extends": "default"},
               "settings-mailer": {"api_keys": [{"key": "sm_demo", "owner": "7", "scopes": ["mail:send", "mail:read"]}]}}
    assert use_scenario(mock, "mailer_stranger", fixture).status_code == 200
    mail = detail(mock, checker, send(mock, checker).json()["mail_id"])
    assert (mail["sent_by"], mail["sent_by_name"]) == (7, "Unknown")


# -- bulk send ------------------------------------------------------------------------------------


def test_bulk_send_goes_out_in_batches(mock: MockServer, checker: SpecChecker) -> None:
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
    for _ in range(4):  # batches at +0, +5, +10; the outcome at +15
        record = stored(mock, mail_id)
        seen.append((record["status"], record["batches_sent"]))
        assert detail(mock, checker, mail_id)["status"] == record["status"]
        advance(mock, 5)
    assert seen == [("sending", 1), ("sending", 2), ("sending", 3), ("sent", 3)]
    mail = detail(mock, checker, mail_id)
    assert (mail["status"], mail["error_message"]) == ("sent", None)
    assert mail["updated_at"] == iso(created + 15)
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
    advance(mock, 7.5)
    assert detail(mock, checker, body["mail_id"])["status"] == "sent"


def test_bulk_send_with_some_failing_recipients_is_partial(mock: MockServer, checker: SpecChecker) -> None:
    mail_id = send(mock, checker, to=recipients(4, "fail@example.com")).json()["mail_id"]
    advance(mock, 9.5)
    assert detail(mock, checker, mail_id)["status"] == "sending"
    advance(mock, 0.5)
    mail = detail(mock, checker, mail_id)
    assert mail["status"] == "partial"
    assert mail["error_message"] == "Falló el envío a 1 de 4 destinatario(s): fail@example.com"


def test_bulk_send_where_every_recipient_fails_is_failed(mock: MockServer, checker: SpecChecker) -> None:
    mail_id = send(mock, checker, to=recipients(4, *["fail@example.com"] * 4)).json()["mail_id"]
    assert detail(mock, checker, mail_id)["status"] == "sending"
    advance(mock, 10)
    mail = detail(mock, checker, mail_id)
    assert mail["status"] == "failed"
    assert mail["error_message"].startswith("No se pudo enviar a ningún destinatario")


# -- SMTP down ------------------------------------------------------------------------------------


def test_smtp_down_scenario_answers_500_and_stores_a_failed_mail(mock: MockServer, checker: SpecChecker) -> None:
    assert use_scenario(mock, "settings_mailer_smtp_down").status_code == 200
    for to, mail_id in ((recipients(1), 457), (recipients(6), 458)):  # normal and bulk alike
        response = send(mock, checker, to=to)
        assert response.status_code == 500
        assert response.json() == {"success": False, "error": "Error al enviar el correo",
                                   "details": "SMTP connection failed", "mail_id": mail_id}
        mail = detail(mock, checker, mail_id)
        assert (mail["status"], mail["error_message"]) == ("failed", "SMTP connection failed")
        assert mail["updated_at"] == mail["created_at"]
    advance(mock, 60)
    assert detail(mock, checker, 458)["status"] == "failed"


def test_smtp_down_scenario_without_the_smtp_error(mock: MockServer, checker: SpecChecker) -> None:
    """The scenario's other failures: more failing recipients, slower batches."""
    fixture = {"scenario": {"extends": "settings_mailer_smtp_down"},
               "settings-mailer": {"options": {"batch_size": 2, "batch_interval_seconds": 10, "send_seconds": 3,
                                               "failing_recipients": ["bounce@example.com", "blocked@example.com"],
                                               "smtp_error": None}}}
    assert use_scenario(mock, "mailer_recipients_fail", fixture).status_code == 200
    body = send(mock, checker, to=recipients(5, "bounce@example.com", "blocked@example.com")).json()
    assert body["estimated_time_seconds"] == 30
    advance(mock, 29)
    assert detail(mock, checker, body["mail_id"])["status"] == "sending"
    advance(mock, 1)
    assert detail(mock, checker, body["mail_id"])["status"] == "partial"


@pytest.mark.parametrize("options", [{"bogus": 1}, {"smtp_error": 5}, {"batch_size": 0},
                                     {"failing_recipients": "fail@example.com"}])
def test_bad_options_are_refused(mock: MockServer, options: dict[str, t.Any]) -> None:
    fixture = {"scenario": {"extends": "default"}, "settings-mailer": {"options": options}}
    response = use_scenario(mock, "mailer_bad_options", fixture)
    assert response.status_code == 400, response.text
    assert any("settings-mailer.options" in line for line in response.json()["errors"])


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
    advance(mock, 1)  # both sent
    send(mock, checker, to='["carol@example.com"]', subject="Reminder", body="Tomorrow.")  # 459, pending

    everything = history(mock, checker).json()
    assert (everything["total"], everything["limit"], everything["offset"]) == (4, 50, 0)
    assert [m["mail_id"] for m in everything["mails"]] == [459, 458, 457, 456]  # newest first
    assert {m["total_count"] for m in everything["mails"]} == {4}

    sent = history(mock, checker, status="sent").json()
    assert [m["mail_id"] for m in sent["mails"]] == [458, 457, 456]
    assert [m["mail_id"] for m in history(mock, checker, status="pending").json()["mails"]] == [459]
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
