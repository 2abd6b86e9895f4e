"""The MailDiver behaviour over real HTTP: UUIDv7 ids, every documented check with its own
text, templates and variable defaults, the stored message, and the missing-template scenario."""

from __future__ import annotations

import base64
import typing as t
import uuid

import pytest
import requests

from conftest import SPECS
from conftest import MockServer
from conftest import SpecChecker
from conftest import restore

SEND = "/maildiver/v1/emails"
KEY = {"Authorization": "Bearer md_demo"}
EMAILS = "/__mocksrv/apis/maildiver/records/emails"
TEMPLATES = "/__mocksrv/apis/maildiver/records/templates"
MB = 1024 * 1024
DROP = object()  # a field left out of the request
BASE = {"from": "Team <team@example.com>", "to": "user@example.com", "subject": "Hi"}


@pytest.fixture(scope="module")
def mock(module_server: MockServer) -> MockServer:
    return module_server


@pytest.fixture(scope="module")
def checker(mock: MockServer) -> SpecChecker:
    return SpecChecker(SPECS / "maildiver.yaml", mock.base_url)


@pytest.fixture(autouse=True)
def fresh(mock: MockServer) -> None:
    """Every test starts from the default scenario: its records, counters and clock."""
    restore(mock)


def send(mock: MockServer, checker: SpecChecker, **body: t.Any) -> requests.Response:
    """POST a send with ``from``, ``to`` and ``subject`` filled in; the answer must match the spec."""
    response = requests.post(mock.url(SEND), json={**BASE, **body}, headers=KEY, timeout=60)
    checker.assert_valid(response)
    return response


def sent(mock: MockServer, checker: SpecChecker, **body: t.Any) -> dict[str, t.Any]:
    """Send (201 expected) and return the stored message, read back through the admin API."""
    response = send(mock, checker, **body)
    assert response.status_code == 201, response.text
    record = requests.get(mock.url(f"{EMAILS}/{response.json()['id']}"), timeout=10)
    assert record.status_code == 200, record.text
    return t.cast(dict[str, t.Any], record.json())


def refused(mock: MockServer, checker: SpecChecker, status: int = 400, **body: t.Any) -> str:
    """Send (``status`` expected) and return the error message."""
    response = send(mock, checker, **body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"message"}
    return t.cast(str, response.json()["message"])


def set_clock(mock: MockServer, instant: str) -> float:
    response = requests.post(mock.url("/__mocksrv/clock"), json={"frozen": True, "set": instant}, timeout=10)
    assert response.status_code == 200, response.text
    return float(response.json()["epoch"])


def b64(size: int) -> str:
    return base64.b64encode(b"\0" * size).decode()


# -- ids ---------------------------------------------------------------------------------


def test_id_is_a_uuid7_from_the_virtual_clock(mock: MockServer, checker: SpecChecker) -> None:
    epoch = set_clock(mock, "2026-03-25T10:00:00.123Z")
    response = send(mock, checker, html="<p>Hi</p>")
    assert response.status_code == 201
    assert set(response.json()) == {"id"}
    email_id = uuid.UUID(response.json()["id"])
    assert str(email_id) == response.json()["id"]  # canonical lower-case form
    assert email_id.version == 7
    assert email_id.variant == uuid.RFC_4122
    assert email_id.int >> 80 == round(epoch * 1000)


def test_ids_are_unique_time_ordered_and_deterministic(mock: MockServer, checker: SpecChecker) -> None:
    set_clock(mock, "2026-03-25T10:00:00Z")

    def five() -> list[str]:
        ids = []
        for _ in range(5):
            response = send(mock, checker, html="x")
            assert response.status_code == 201
            ids.append(response.json()["id"])
        return ids

    first = five()
    assert len(set(first)) == 5
    assert first == sorted(first)  # same millisecond: the counter keeps them in order
    requests.post(mock.url("/__mocksrv/clock"), json={"advance_seconds": 1}, timeout=10)
    later = send(mock, checker, html="x").json()["id"]
    assert later > first[-1]
    assert uuid.UUID(later).int >> 80 == (uuid.UUID(first[0]).int >> 80) + 1000

    # the same seed, clock and calls give the same ids
    assert requests.post(mock.url("/__mocksrv/reset"), timeout=10).status_code == 200
    set_clock(mock, "2026-03-25T10:00:00Z")
    assert five() == first


# -- stored message ----------------------------------------------------------------------


def test_stored_message_has_everything_sent(mock: MockServer, checker: SpecChecker) -> None:
    set_clock(mock, "2026-03-25T10:00:00.5Z")
    record = sent(mock, checker, html="<p>Hello {{name}}</p>", text="Hello {{name}}", variables={"name": "Ann"},
                  cc="cc@example.com", bcc=["b1@example.com", "b2@example.com"], reply_to="reply@example.com",
                  attachments=[
                      {"filename": "a.pdf", "content": b64(1000), "content_type": "application/pdf"},
                      {"filename": "b.bin", "content": b64(24)},
                      {"filename": "c.jpg", "path": "https://example.com/files/c.jpg", "content_type": "image/jpeg"},
                  ])
    assert record["from"] == "Team <team@example.com>"
    assert record["to"] == ["user@example.com"]
    assert record["cc"] == ["cc@example.com"]
    assert record["bcc"] == ["b1@example.com", "b2@example.com"]
    assert record["reply_to"] == ["reply@example.com"]
    assert record["subject"] == "Hi"
    assert record["html"] == "<p>Hello Ann</p>"
    assert record["text"] == "Hello Ann"
    assert record["template_id"] is None
    assert record["variables"] == {"name": "Ann"}
    assert record["attachments"] == [
        {"filename": "a.pdf", "content_type": "application/pdf", "size": 1000, "source": "content", "path": None},
        {"filename": "b.bin", "content_type": "application/octet-stream", "size": 24, "source": "content",
         "path": None},
        {"filename": "c.jpg", "content_type": "image/jpeg", "size": None, "source": "path",
         "path": "https://example.com/files/c.jpg"},
    ]
    assert record["created_at"] == "2026-03-25T10:00:00.500Z"
    assert record["status"] == "queued"
    assert record["owner"] == "acct_demo"


@pytest.mark.parametrize(("field", "value", "stored"), [
    ("to", "one@example.com", ["one@example.com"]),
    ("to", ["one@example.com", "two@example.com"], ["one@example.com", "two@example.com"]),
    ("cc", "cc@example.com", ["cc@example.com"]),
    ("cc", ["c1@example.com", "c2@example.com"], ["c1@example.com", "c2@example.com"]),
    ("bcc", "bcc@example.com", ["bcc@example.com"]),
    ("bcc", ["b1@example.com"], ["b1@example.com"]),
    ("reply_to", ["r1@example.com", "r2@example.com"], ["r1@example.com", "r2@example.com"]),
])
def test_recipients_are_a_string_or_an_array(mock: MockServer, checker: SpecChecker, field: str, value: t.Any,
                                             stored: list[str]) -> None:
    record = sent(mock, checker, html="x", **{field: value})
    assert record[field] == stored


def test_fifty_recipients_per_field_are_fine(mock: MockServer, checker: SpecChecker) -> None:
    fifty = [f"u{i}@example.com" for i in range(50)]
    record = sent(mock, checker, html="x", to=fifty, cc=fifty, bcc=fifty, reply_to=fifty)
    assert len(record["to"]) == len(record["cc"]) == len(record["bcc"]) == len(record["reply_to"]) == 50


@pytest.mark.parametrize("sender", ['"Your Name" <sender@yourdomain.com>', "Your Name <sender@yourdomain.com>",
                                    "sender@yourdomain.com", '"" <a@b.c>'])
def test_documented_from_formats_are_accepted(mock: MockServer, checker: SpecChecker, sender: str) -> None:
    assert send(mock, checker, html="x", **{"from": sender}).status_code == 201


# -- documented checks -------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"from": DROP}, "from field is required"),
    ({"to": DROP}, "to field is required"),
    ({"subject": DROP}, "subject field is required"),
    ({"from": ""}, "from field is required"),
    ({"to": []}, "to field is required"),
    ({"subject": ""}, "subject field is required"),
    ({"from": "not an address"}, "Invalid email format in from field"),
    ({"from": "Name sender@yourdomain.com"}, "Invalid email format in from field"),
    ({"from": "<sender@yourdomain.com>"}, "Invalid email format in from field"),
    ({"from": "sender@localhost"}, "Invalid email format in from field"),
    ({"from": "Name <sender@yourdomain.com"}, "Invalid email format in from field"),
    ({"to": [f"u{i}@example.com" for i in range(51)]}, "Too many recipients: 51. Maximum allowed is 50"),
    ({"cc": [f"u{i}@example.com" for i in range(51)]}, "Too many recipients: 51. Maximum allowed is 50"),
    ({"bcc": [f"u{i}@example.com" for i in range(60)]}, "Too many recipients: 60. Maximum allowed is 50"),
    ({"reply_to": [f"u{i}@example.com" for i in range(51)]}, "Too many recipients: 51. Maximum allowed is 50"),
    ({"html": "<p>x</p>", "template_id": "welcome-template"}, "template_id cannot be used together with html"),
    ({"html": DROP}, "html or template_id is required"),
    ({"html": "", "text": "plain only"}, "html or template_id is required"),
    ({"variables": {f"v{i}": i for i in range(101)}}, "Too many variables: 101. Maximum allowed is 100"),
    ({"attachments": [{"filename": f"{i}.txt", "content": "aGk="} for i in range(11)]},
     "Too many attachments: 11. Max is 10"),
    ({"attachments": [{"content": "aGk="}]}, "attachments[0].filename is required"),
    ({"attachments": [{"filename": "a", "content": "aGk="}, {"filename": "", "content": "aGk="}]},
     "attachments[1].filename is required"),
    ({"attachments": [{"filename": "a.txt"}]}, "attachments[0] must have either path or content"),
    ({"attachments": [{"filename": "a.txt", "path": "https://example.com/a.txt", "content": "aGk="}]},
     "attachments[0] must have either path or content, not both"),
    ({"attachments": [{"filename": "a.txt", "path": "not a url"}]}, "attachments[0].path must be a valid URL"),
    ({"attachments": [{"filename": "a.txt", "path": "ftp://example.com/a.txt"}]},
     "attachments[0].path must be a valid URL"),
    ({"attachments": [{"filename": "a.txt", "path": "https://"}]}, "attachments[0].path must be a valid URL"),
    ({"attachments": [{"filename": "a.txt", "content": "not base64!"}]},
     "attachments[0].content must be a valid base64 encoded string"),
    ({"attachments": [{"filename": "a.txt", "content": "aGk"}]},
     "attachments[0].content must be a valid base64 encoded string"),
])
def test_documented_messages(mock: MockServer, checker: SpecChecker, changes: dict[str, t.Any], message: str) -> None:
    body = {**BASE, "html": "<p>x</p>", **changes}
    payload = {name: value for name, value in body.items() if value is not DROP}
    response = requests.post(mock.url(SEND), json=payload, headers=KEY, timeout=30)
    checker.assert_valid(response)
    assert response.status_code == 400, response.text
    assert response.json() == {"message": message}
    assert requests.get(mock.url(EMAILS), timeout=10).json()["total"] == 0


def test_html_over_40mb(mock: MockServer, checker: SpecChecker) -> None:
    assert refused(mock, checker, html="x" * (41 * MB + 1)) == "html content size (42MB) exceeds maximum of 40MB"
    assert send(mock, checker, html="x" * (40 * MB)).status_code == 201


def test_text_over_10mb(mock: MockServer, checker: SpecChecker) -> None:
    assert refused(mock, checker, html="x", text="é" * (5 * MB + 1)) == \
        "text content size (11MB) exceeds maximum of 10MB"  # é is two bytes in UTF-8
    assert send(mock, checker, html="x", text="x" * (10 * MB)).status_code == 201


def test_total_attachments_over_40mb(mock: MockServer, checker: SpecChecker) -> None:
    parts = [{"filename": f"{i}.bin", "content": b64(10 * MB)} for i in range(4)]
    record = sent(mock, checker, html="x", attachments=parts)
    assert sum(a["size"] for a in record["attachments"]) == 40 * MB
    parts.append({"filename": "one-more.bin", "content": b64(1)})
    assert refused(mock, checker, html="x", attachments=parts) == "Total attachments size exceeds maximum of 40MB"


# -- templates and variables ---------------------------------------------------------------


def test_template_with_every_default_rule(mock: MockServer, checker: SpecChecker) -> None:
    template = {"id": "rules", "html": "<p>{{given}}|{{number}}|{{object}}|{{object_null}}|{{object_bare}}|"
                                       "{{null}}|{{missing}}|{{ spaced }}|{{nothing}}</p>",
                "text": "{{given}} {{nothing}}.",
                "variables": {"object_null": "tpl-object", "object_bare": "tpl-bare", "null": "tpl-null",
                              "missing": "tpl-missing", "spaced": "tpl-spaced", "given": "tpl-given"}}
    assert requests.post(mock.url(TEMPLATES), json=template, timeout=10).status_code == 201
    record = sent(mock, checker, template_id="rules", variables={
        "given": "Ann",                                        # a string overrides the template default
        "number": 42,                                          # a number
        "object": {"value": "Pro Plan", "default": "Free Plan"},  # object: the value
        "object_null": {"value": None, "default": "our company"},  # object, null value: its default
        "object_bare": {"value": None},                        # object, no default: the template's
        "null": None,                                          # explicitly null: the template's
        "extra": "unused",                                     # not in the template: kept, not rendered
    })
    assert record["html"] == "<p>Ann|42|Pro Plan|our company|tpl-bare|tpl-null|tpl-missing|tpl-spaced|</p>"
    assert record["text"] == "Ann ."
    assert record["template_id"] == "rules"
    assert record["variables"] == {
        "given": "Ann", "number": "42", "object": "Pro Plan", "object_null": "our company",
        "object_bare": "tpl-bare", "null": "tpl-null", "missing": "tpl-missing", "spaced": "tpl-spaced",
        "nothing": "", "extra": "unused",
    }


def test_bundled_template_defaults(mock: MockServer, checker: SpecChecker) -> None:
    record = sent(mock, checker, template_id="welcome-template")
    assert record["html"] == "<h1>Welcome, valued customer!</h1><p>You are on the Free Plan since today.</p>"
    assert record["text"] == "Welcome, valued customer! You are on the Free Plan since today."
    record = sent(mock, checker, template_id="welcome-template", text="Hi {{name}}",
                  variables={"name": "Ann", "plan": {"value": "Pro Plan", "default": "Free Plan"}, "date": None})
    assert record["html"] == "<h1>Welcome, Ann!</h1><p>You are on the Pro Plan since today.</p>"
    assert record["text"] == "Hi Ann"  # the request's text replaces the template's


def test_variables_render_into_raw_html(mock: MockServer, checker: SpecChecker) -> None:
    record = sent(mock, checker, html="<p>{{a}} {{b}} {{c}} {{d}}</p>", text="{{a}}",
                  variables={"a": "A", "b": 1.5, "c": {"value": None, "default": 7}, "d": None})
    assert record["html"] == "<p>A 1.5 7 </p>"
    assert record["text"] == "A"


def test_unknown_template_is_404(mock: MockServer, checker: SpecChecker) -> None:
    assert refused(mock, checker, 404, template_id="welcome-email") == "Template 'welcome-email' not found"
    assert requests.get(mock.url(EMAILS), timeout=10).json()["total"] == 0


def test_another_owners_template_is_404(mock: MockServer, checker: SpecChecker) -> None:
    theirs = {"id": "theirs", "html": "<p>x</p>", "owner": "acct_other"}
    mine = {"id": "mine", "html": "<p>x</p>", "owner": "acct_demo"}
    for record in (theirs, mine):
        assert requests.post(mock.url(TEMPLATES), json=record, timeout=10).status_code == 201
    assert refused(mock, checker, 404, template_id="theirs") == "Template 'theirs' not found"
    assert send(mock, checker, template_id="mine").status_code == 201


def test_template_without_html_is_400(mock: MockServer, checker: SpecChecker) -> None:
    assert requests.post(mock.url(TEMPLATES), json={"id": "blank", "text": "x"}, timeout=10).status_code == 201
    assert refused(mock, checker, template_id="blank") == "Template 'blank' has no HTML content"


def test_missing_template_scenario(mock: MockServer, checker: SpecChecker) -> None:
    response = requests.put(mock.url("/__mocksrv/scenario"), json={"name": "maildiver_missing_template"}, timeout=10)
    assert response.status_code == 200, response.text
    assert refused(mock, checker, 404, template_id="welcome-template") == "Template 'welcome-template' not found"
    assert send(mock, checker, html="<p>still fine</p>").status_code == 201


def test_engine_checks_come_first(mock: MockServer, checker: SpecChecker) -> None:
    # the schema's own limits, in the engine's words where the API documents none
    assert refused(mock, checker, html="x", subject="s" * 101) == "subject must be at most 100 characters long"
    response = requests.post(mock.url(SEND), json={**BASE, "html": "x"}, headers={"Authorization": "Bearer nope"},
                             timeout=10)
    checker.assert_valid(response)
    assert response.status_code == 403
    assert response.json()["message"] == "Invalid API key"
