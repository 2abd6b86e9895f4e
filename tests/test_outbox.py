"""An outbox for any email API: a spec without a behaviour declares one (x-mocksrv-outbox).

tests/data/outbox/postbox.yaml is a SendGrid-like API mocksrv has no module for.
"""

from __future__ import annotations

import base64
import typing as t
from pathlib import Path

import pytest
import requests
import yaml

from conftest import DATA
from conftest import MockServer
from mocksrv.engine.outbox import DeclaredOutbox
from mocksrv.errors import SpecError
from mocksrv.openapi.specs import load_spec

SPEC = DATA / "outbox" / "postbox.yaml"
SEND = {
    "personalizations": [{"to": [{"email": "ann@example.com", "name": "Ann"}, {"email": "bob@example.com"}],
                          "cc": [{"email": "boss@example.com"}]},
                         {"to": [{"email": "cat@example.com"}]}],
    "from": {"email": "news@postbox.example", "name": "Postbox News"},
    "reply_to": {"email": "help@postbox.example"},
    "subject": "Spring sale",
    "content": {"html": "<h1>Sale</h1>", "text": "Sale"},
    "attachments": [{"content": base64.b64encode(b"%PDF-1.4 hello").decode(), "filename": "flyer.pdf",
                     "type": "application/pdf"}],
}


@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(SPEC), "--strict")
    yield server
    server.stop()


def test_a_declared_send_is_kept_with_every_part(mock: MockServer) -> None:
    assert requests.post(mock.url("/postbox/v3/mail/send"), json=SEND, timeout=10).status_code == 202
    assert requests.get(mock.url("/postbox/v3/stats"), timeout=10).status_code == 200  # not a send: nothing kept
    refused = requests.post(mock.url("/postbox/v3/mail/send"), json={"subject": "no recipients"}, timeout=10)
    assert refused.status_code == 400  # refused: nothing was sent, nothing kept
    kept = requests.get(mock.url("/__mocksrv/apis/postbox/records/mocksrv-outbox"), timeout=10).json()["records"]
    assert len(kept) == 1
    message = kept[0]
    assert message["from"] == "Postbox News <news@postbox.example>"
    assert message["to"] == ["Ann <ann@example.com>", "bob@example.com", "cat@example.com"]
    assert (message["cc"], message["reply_to"]) == (["boss@example.com"], ["help@postbox.example"])
    assert (message["subject"], message["html"], message["text"]) == ("Spring sale", "<h1>Sale</h1>", "Sale")
    assert message["attachments"] == [{"filename": "flyer.pdf", "content_type": "application/pdf", "size": 14}]


def test_the_console_outbox_shows_it(mock: MockServer) -> None:
    assert requests.post(mock.url("/postbox/v3/mail/send"), json={**SEND, "subject": "Console check"},
                         timeout=10).status_code == 202
    listing = requests.get(mock.url("/__mocksrv/ui/outbox"), params={"api": "postbox"}, timeout=10)
    assert listing.status_code == 200
    assert "Console check" in listing.text and "news@postbox.example" in listing.text


@pytest.mark.parametrize("declared, problem", [
    ({"operation": "sendMail", "to": "/to", "subject": "/subject"},
     "x-mocksrv-outbox: operation 'sendMail' is not in the spec (an operationId, or METHOD /path)"),
    ({"operation": "POST /mail/send", "to": "to", "subject": "/subject"},
     "x-mocksrv-outbox[0].to: must be a JSON pointer into the request body, e.g. /to"),
    ({"operation": "POST /mail/send", "subject": "/subject"}, "x-mocksrv-outbox[0].to: Missing data for required field."),
    ({"operation": "POST /mail/send", "to": "/to", "subject": "/s", "body": "/b"},
     "x-mocksrv-outbox[0].body: Unknown field."),
])
def test_a_malformed_declaration_is_one_line_naming_the_file(tmp_path: Path, declared: dict[str, str],
                                                             problem: str) -> None:
    spec = tmp_path / "postbox.yaml"
    text = SPEC.read_text()
    head, rest = text.split("x-mocksrv-outbox:\n", 1)
    rest = rest[rest.index("paths:"):]
    spec.write_text(head + yaml.safe_dump({"x-mocksrv-outbox": declared}) + rest)
    with pytest.raises(SpecError) as raised:
        DeclaredOutbox.declared_by(load_spec(spec))
    assert str(raised.value) == f"{spec}: {problem}"
