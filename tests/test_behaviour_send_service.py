"""The send-service behaviour over real HTTP: sending domains, the account state, `from`,
stored messages, tracking defaults, attachment decoding and size limits."""

from __future__ import annotations

import base64
import re
import time
import typing as t
import uuid

import pytest
import requests

from conftest import SPECS
from conftest import MockServer
from conftest import SpecChecker
from conftest import restore

SEND = "/send-service/api/v1/send"
KEY = {"X-API-Key": "ss_demo"}
MESSAGES = "/__mocksrv/apis/send-service/records/messages"
DOMAINS = "/__mocksrv/apis/send-service/records/domains"
MB = 1024 * 1024
MESSAGE_ID = re.compile(r"^<([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})@([a-z0-9.-]+)>$")


@pytest.fixture(scope="module")
def mock(module_server: MockServer) -> MockServer:
    return module_server


@pytest.fixture(scope="module")
def checker(mock: MockServer) -> SpecChecker:
    return SpecChecker(SPECS / "send-service.yaml", mock.base_url)


@pytest.fixture(autouse=True)
def fresh(mock: MockServer) -> None:
    """Every test starts from the default scenario: its records, counters and clock."""
    restore(mock)


def send(mock: MockServer, checker: SpecChecker, **body: t.Any) -> requests.Response:
    """POST a send with ``to`` and ``subject`` filled in; the answer must match the spec."""
    response = requests.post(mock.url(SEND), json={"to": "user@example.com", "subject": "Hi", **body},
                             headers=KEY, timeout=30)
    checker.assert_valid(response)
    return response


def stored(mock: MockServer, email_id: str) -> dict[str, t.Any]:
    response = requests.get(mock.url(f"{MESSAGES}/{email_id}"), timeout=10)
    assert response.status_code == 200, response.text
    return t.cast(dict[str, t.Any], response.json())


def load_inline(mock: MockServer, name: str, fixture: dict[str, t.Any]) -> requests.Response:
    return requests.put(mock.url("/__mocksrv/scenario"), json={"name": name, "fixture": fixture}, timeout=10)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- sending domain -------------------------------------------------------------------------

def test_no_domain_uses_the_first_verified_one(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["to"] == "user@example.com"
    assert body["status"] == "queued"
    assert body["message"] == "Email queued for delivery"
    assert body["message_id"] == f"<{body['email_id']}@mail.yourdomain.com>"
    record = stored(mock, body["email_id"])
    assert record["domain"] == "mail.yourdomain.com"
    assert record["from"] == "noreply@mail.yourdomain.com"  # from defaults to noreply@<domain>
    assert record["owner"] == "cust_demo"


def test_explicit_verified_domain(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker, domain="News.YourDomain.com")  # domain names compare case-insensitively
    assert response.status_code == 200, response.text
    assert response.json()["message_id"].endswith("@news.yourdomain.com>")
    assert stored(mock, response.json()["email_id"])["from"] == "noreply@news.yourdomain.com"


def test_no_domain_but_a_from_on_an_account_domain_sends_from_that_domain(mock: MockServer,
                                                                          checker: SpecChecker) -> None:
    response = send(mock, checker, **{"from": "Team <hello@news.yourdomain.com>"})
    assert response.status_code == 200, response.text
    record = stored(mock, response.json()["email_id"])
    assert (record["domain"], record["from"]) == ("news.yourdomain.com", "Team <hello@news.yourdomain.com>")


@pytest.mark.parametrize("body, reason, words", [
    ({"domain": "unverified.example.com"}, "domain_not_verified", "unverified.example.com is not verified"),
    ({"from": "hi@unverified.example.com"}, "domain_not_verified", "unverified.example.com is not verified"),
    ({"domain": "mail.yourdomain.com", "from": "me@gmail.com"}, "from_domain_mismatch",
     "me@gmail.com is not on the sending domain mail.yourdomain.com"),
    ({"from": "me@gmail.com"}, "from_domain_mismatch", "not on the sending domain mail.yourdomain.com"),
])
def test_domain_refusals_are_403_with_a_reason(mock: MockServer, checker: SpecChecker, body: dict[str, str],
                                               reason: str, words: str) -> None:
    response = send(mock, checker, **body)
    assert response.status_code == 403, response.text
    payload = response.json()
    assert set(payload) == {"error", "message", "reason"}
    assert payload["error"] == "Forbidden"
    assert payload["reason"] == reason
    assert words in payload["message"]


def test_a_domain_the_account_does_not_have_is_the_documented_404(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker, domain="nope.example.org")
    assert (response.status_code, response.json()) == (404, {"error": "Not Found",
                                                             "message": "Domain nope.example.org not found"})


def test_no_verified_domain_left_is_403(mock: MockServer, checker: SpecChecker) -> None:
    for name in ("mail.yourdomain.com", "news.yourdomain.com"):
        put = requests.post(mock.url(DOMAINS), json={"id": name, "verified": False}, timeout=10)
        assert put.status_code == 201
    response = send(mock, checker)
    assert response.status_code == 403
    assert response.json()["reason"] == "no_verified_domain"


def test_a_domain_of_another_account_is_unknown(mock: MockServer, checker: SpecChecker) -> None:
    other = {"id": "other.example.net", "verified": True, "owner": "cust_other"}
    assert requests.post(mock.url(DOMAINS), json=other, timeout=10).status_code == 201
    response = send(mock, checker, domain="other.example.net")
    assert response.status_code == 404
    assert response.json()["message"] == "Domain other.example.net not found"


def test_empty_domain_and_from_count_as_left_out(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker, domain="", **{"from": ""})
    assert response.status_code == 200, response.text
    record = stored(mock, response.json()["email_id"])
    assert (record["domain"], record["from"]) == ("mail.yourdomain.com", "noreply@mail.yourdomain.com")


def test_malformed_from_is_400(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker, **{"from": "not an address"})
    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "message": "Invalid from address: not an address"}


def test_inactive_account_scenario(mock: MockServer, checker: SpecChecker) -> None:
    assert requests.put(mock.url("/__mocksrv/scenario"), json={"name": "send_service_unverified"},
                        timeout=10).status_code == 200
    response = send(mock, checker)
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden", "message": "Customer account is not active",
                               "reason": "account_inactive"}
    # the same scenario with the account active: its domains are what refuses the send
    loaded = load_inline(mock, "unverified_active", {"scenario": {"extends": "send_service_unverified"},
                                                     "send-service": {"options": {"account_active": True}}})
    assert loaded.status_code == 200, loaded.text
    assert send(mock, checker).json()["reason"] == "no_verified_domain"
    assert send(mock, checker, domain="mail.yourdomain.com").json()["reason"] == "domain_not_verified"
    assert requests.get(mock.url(MESSAGES), timeout=10).json()["total"] == 0


# --- the queued message ---------------------------------------------------------------------

def test_ids_are_unique_uuids_and_message_ids_follow_rfc_5322(mock: MockServer, checker: SpecChecker) -> None:
    answers = [send(mock, checker).json() for _ in range(5)]
    ids = [a["email_id"] for a in answers]
    assert len(set(ids)) == 5
    for answer in answers:
        assert str(uuid.UUID(answer["email_id"])) == answer["email_id"]
        found = MESSAGE_ID.match(answer["message_id"])
        assert found is not None and found.groups() == (answer["email_id"], "mail.yourdomain.com")
    assert requests.get(mock.url(MESSAGES), timeout=10).json()["total"] == 5


def test_ids_are_deterministic_for_a_seed(mock: MockServer, checker: SpecChecker) -> None:
    first = [send(mock, checker).json()["email_id"] for _ in range(2)]
    requests.post(mock.url("/__mocksrv/reset"), timeout=10)
    assert [send(mock, checker).json()["email_id"] for _ in range(2)] == first


def test_submitted_at_comes_from_the_virtual_clock(mock: MockServer, checker: SpecChecker) -> None:
    requests.post(mock.url("/__mocksrv/clock"), json={"frozen": True, "set": "2026-03-25T10:00:00Z"}, timeout=10)
    body = send(mock, checker).json()
    assert body["submitted_at"] == "2026-03-25T10:00:00Z"
    assert stored(mock, body["email_id"])["submitted_at"] == "2026-03-25T10:00:00Z"


def test_tracking_defaults_come_from_the_account(mock: MockServer, checker: SpecChecker) -> None:
    defaults = stored(mock, send(mock, checker).json()["email_id"])
    assert (defaults["track_opens"], defaults["track_clicks"]) == (True, False)  # default.yaml's options
    explicit = stored(mock, send(mock, checker, track_opens=False, track_clicks=True).json()["email_id"])
    assert (explicit["track_opens"], explicit["track_clicks"]) == (False, True)


def test_everything_sent_is_stored(mock: MockServer, checker: SpecChecker) -> None:
    body = {
        "domain": "mail.yourdomain.com", "from": "hello@mail.yourdomain.com", "reply_to": "support@yourdomain.com",
        "cc": ["manager@example.com"], "bcc": ["archive@yourdomain.com"], "html": "<p>Hi</p>", "text": "Hi",
        "headers": {"X-Campaign-ID": "campaign-123"}, "tag": "welcome-series", "stream_type": "transactional",
        "metadata": {"user_id": "12345", "order_id": "ord_789"},
        "attachments": [{"filename": "a.txt", "content": b64(b"hello"), "contentType": "text/plain"}],
        "icalEvent": "BEGIN:VCALENDAR\nEND:VCALENDAR\n",
    }
    response = send(mock, checker, **body)
    assert response.status_code == 200, response.text
    record = stored(mock, response.json()["email_id"])
    for name in ("domain", "from", "reply_to", "cc", "bcc", "html", "text", "headers", "tag", "stream_type",
                 "metadata", "subject", "to"):
        assert record[name] == {**body, "to": "user@example.com", "subject": "Hi"}[name], name
    assert record["attachments"] == [{"filename": "a.txt", "contentType": "text/plain", "encoding": "base64",
                                      "size": 5}]
    assert record["has_ical_event"] is True
    assert "icalEvent" not in record  # "sent directly, not stored on server"
    assert record["status"] == "queued"
    assert record["id"] == record["email_id"] == response.json()["email_id"]
    assert record["message_id"] == response.json()["message_id"]


def test_optional_fields_get_their_defaults(mock: MockServer, checker: SpecChecker) -> None:
    record = stored(mock, send(mock, checker).json()["email_id"])
    assert record["stream_type"] == "shared"
    assert (record["cc"], record["bcc"], record["headers"], record["metadata"], record["attachments"]) == \
        ([], [], {}, {}, [])
    assert (record["reply_to"], record["html"], record["text"], record["tag"]) == (None, None, None, None)
    assert record["has_ical_event"] is False


# --- attachments ----------------------------------------------------------------------------

@pytest.fixture
def small_limits(mock: MockServer) -> None:
    """8 bytes per file, 20 in total: the limit checks without megabyte bodies."""
    options = {"account_active": True, "track_opens": True, "track_clicks": False,
               "max_attachment_bytes": 8, "max_total_bytes": 20}
    loaded = load_inline(mock, "small_limits", {"scenario": {"extends": "default"},
                                                "send-service": {"options": options}})
    assert loaded.status_code == 200, loaded.text


def attachment(content: bytes | str, name: str = "f.bin", **extra: str) -> dict[str, str]:
    text = b64(content) if isinstance(content, bytes) else content
    return {"filename": name, "content": text, "contentType": "application/octet-stream", **extra}


@pytest.mark.usefixtures("small_limits")
@pytest.mark.parametrize("body, words", [
    ({"attachments": [attachment(b"123456789", "big.bin")]},
     "Attachment 'big.bin' is too large: 9 bytes (9 bytes); the maximum per file is 8 bytes"),
    ({"attachments": [attachment(b"12345678")] * 3},
     "attachments and HTML total 24 bytes (24 bytes); the maximum is 20 bytes"),
    ({"html": "<p>1234567890</p>", "attachments": [attachment(b"1234")]},  # 17 bytes of HTML + 4
     "attachments and HTML total 21 bytes"),
    ({"attachments": [attachment("not base64!", "x.pdf")]}, "Attachment 'x.pdf': content is not valid base64"),
    ({"attachments": [attachment("QUI", "pad.bin")]}, "Attachment 'pad.bin': content is not valid base64 (Incorrect padding)"),
    # found by schemathesis: non-ASCII text made base64 decoding raise ValueError, a 500
    ({"attachments": [attachment("caf\u00e9", "u.bin")]}, "Attachment 'u.bin': content is not valid base64"),
    ({"attachments": [attachment("zz", "h.bin", encoding="hex")]}, "Attachment 'h.bin': content is not valid hex"),
    ({"attachments": [attachment("abc", "q.bin", encoding="quoted-printable")]},
     "unsupported encoding 'quoted-printable' (supported: base64, hex, utf-8, utf8)"),
])
def test_attachment_refusals_are_400(mock: MockServer, checker: SpecChecker, body: dict[str, t.Any],
                                     words: str) -> None:
    response = send(mock, checker, **body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["error"] == "Bad Request"
    assert words in payload["message"]
    assert requests.get(mock.url(MESSAGES), timeout=10).json()["total"] == 0


@pytest.mark.usefixtures("small_limits")
def test_attachments_at_the_limits_are_accepted(mock: MockServer, checker: SpecChecker) -> None:
    files = [attachment(b"12345678", "a.bin"),
             attachment("MTIz\r\nNDU2", "b.bin"),  # MIME line breaks: 6 bytes
             attachment("0a0b", "c.bin", encoding="HEX")]  # 2 bytes
    response = send(mock, checker, html="1234", attachments=files)  # 4 + 8 + 6 + 2 = 20
    assert response.status_code == 200, response.text
    sizes = [(a["filename"], a["size"], a["encoding"]) for a in stored(mock, response.json()["email_id"])["attachments"]]
    assert sizes == [("a.bin", 8, "base64"), ("b.bin", 6, "base64"), ("c.bin", 2, "hex")]


def test_the_documented_10_mb_per_file_limit(mock: MockServer, checker: SpecChecker) -> None:
    started = time.monotonic()
    over = send(mock, checker, attachments=[attachment(bytes(10 * MB + 1), "big.zip")])
    assert over.status_code == 400
    assert over.json()["message"] == ("Attachment 'big.zip' is too large: 10 MB (10485761 bytes); "
                                      "the maximum per file is 10 MB")
    at_limit = send(mock, checker, attachments=[attachment(bytes(10 * MB), "ok.zip")])
    assert at_limit.status_code == 200, at_limit.text[:300]
    assert time.monotonic() - started < 30


def test_unknown_options_are_refused(mock: MockServer) -> None:
    loaded = load_inline(mock, "typo", {"scenario": {"extends": "default"},
                                        "send-service": {"options": {"account_actve": False, "max_total_bytes": 0}}})
    assert loaded.status_code == 400
    errors = "\n".join(loaded.json()["errors"])
    assert "send-service.options.account_actve: Unknown field." in errors
    assert "send-service.options.max_total_bytes" in errors


# --- addresses and bodies ---------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ({"to": "not-an-email"}, "to is not a valid email"),
    ({"reply_to": "support"}, "reply_to is not a valid email"),
    ({"cc": ["manager@example.com", "nobody"]}, "cc[1] is not a valid email"),
])
def test_an_address_that_is_not_an_email_is_400(mock: MockServer, checker: SpecChecker, body: dict[str, t.Any],
                                                message: str) -> None:
    response = send(mock, checker, **body)
    assert (response.status_code, response.json()) == (400, {"error": "Bad Request", "message": message})


def test_a_send_with_neither_html_nor_text_is_accepted(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, checker)  # the seed requires only to and subject
    assert response.status_code == 200, response.text
    record = stored(mock, response.json()["email_id"])
    assert (record["html"], record["text"]) == (None, None)


# --- the message's life on the virtual clock --------------------------------------------------------

OUTCOMES = {"scenario": {"extends": "default"}, "send-service": {"options": {
    "sent_after_seconds": 1, "delivered_after_seconds": 2, "bouncing_recipients": ["*@bounce.example.com"],
    "complaining_recipients": ["grumpy@example.com"], "complains_after_seconds": 30,
    "opens_after_seconds": 60, "clicks_after_seconds": 5}}}


def advance(mock: MockServer, seconds: float) -> None:
    assert requests.post(mock.url("/__mocksrv/clock"), json={"advance_seconds": seconds}, timeout=10).ok


def life(mock: MockServer, email_id: str) -> tuple[str, list[str]]:
    record = stored(mock, email_id)
    return record["status"], [event["event"] for event in record["events"]]


def test_a_message_is_queued_sent_then_delivered(mock: MockServer, checker: SpecChecker) -> None:
    requests.post(mock.url("/__mocksrv/clock"), json={"frozen": True, "set": "2026-03-25T10:00:00Z"}, timeout=10)
    email_id = send(mock, checker).json()["email_id"]
    assert life(mock, email_id) == ("queued", ["queued"])
    advance(mock, 1)
    assert life(mock, email_id) == ("sent", ["queued", "sent"])
    advance(mock, 2)
    record = stored(mock, email_id)
    assert (record["status"], record["sent_at"], record["delivered_at"]) == (
        "delivered", "2026-03-25T10:00:01Z", "2026-03-25T10:00:03Z")
    advance(mock, 3600)  # the default scenario: nobody opens, clicks, bounces or complains
    assert life(mock, email_id) == ("delivered", ["queued", "sent", "delivered"])


def test_scenario_outcomes_bounce_complain_open_and_click(mock: MockServer, checker: SpecChecker) -> None:
    assert load_inline(mock, "outcomes", OUTCOMES).status_code == 200
    requests.post(mock.url("/__mocksrv/clock"), json={"frozen": True}, timeout=10)
    bounced = send(mock, checker, to="Someone@Bounce.Example.com").json()["email_id"]
    grumpy = send(mock, checker, to="grumpy@example.com").json()["email_id"]
    reader = send(mock, checker, track_clicks=True).json()["email_id"]
    untracked = send(mock, checker, track_opens=False).json()["email_id"]
    advance(mock, 3)
    assert life(mock, bounced) == ("bounced", ["queued", "sent", "bounced"])
    assert stored(mock, bounced)["delivered_at"] is None
    assert life(mock, grumpy)[0] == "delivered"
    advance(mock, 30)
    assert life(mock, grumpy) == ("complained", ["queued", "sent", "delivered", "complained"])
    advance(mock, 30)
    assert life(mock, reader) == ("opened", ["queued", "sent", "delivered", "opened"])
    advance(mock, 5)
    assert life(mock, reader) == ("clicked", ["queued", "sent", "delivered", "opened", "clicked"])
    assert life(mock, untracked) == ("delivered", ["queued", "sent", "delivered"])  # opens not tracked
