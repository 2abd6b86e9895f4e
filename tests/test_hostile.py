"""Hostile and broken input: a clear 4xx, never a 500 or a traceback, and nothing lost."""

from __future__ import annotations

import time

import pytest
import requests

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from conftest import raw_exchange

MAILDIVER = {"Authorization": "Bearer md_demo", "Content-Type": "application/json"}
VALID = b'{"from": "a@example.com", "to": "b@example.com", "subject": "s", "html": "x"}'


@pytest.mark.parametrize("body, text", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
    (b'{"from": "\xff\xfe", "to": "a@b.c", "subject": "s", "html": "x"}', "not valid UTF-8"),
    (b'{"to": ', "request body is not valid JSON"),
    (b"", "request body is required"),
])
def test_broken_json_bodies(bundled: MockServer, body: bytes, text: str) -> None:
    response = requests.post(bundled.url("/maildiver/v1/emails"), data=body, headers=MAILDIVER, timeout=30)
    assert response.status_code == 400
    assert text in response.json()["message"]


def test_a_huge_undeclared_header_is_carried_like_any_other(bundled: MockServer) -> None:
    # 60 KB fits the server's header limit; an undeclared header is no reason to refuse a send
    response = requests.post(bundled.url("/maildiver/v1/emails"), data=VALID,
                             headers={**MAILDIVER, "X-Big": "a" * 60_000}, timeout=30)
    assert response.status_code == 201, response.text
    email = response.json()["id"]
    stored = requests.get(bundled.url(f"/__mocksrv/apis/maildiver/records/emails/{email}"), timeout=10)
    assert stored.status_code == 200


def test_body_over_the_limit_is_413_and_nothing_is_lost() -> None:
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES))
    emails = server.url("/__mocksrv/apis/maildiver/records/emails")
    try:
        sent = requests.post(server.url("/maildiver/v1/emails"), data=VALID, headers=MAILDIVER, timeout=10)
        assert sent.status_code == 201
        before = requests.get(emails, timeout=10).json()
        assert sent.json()["id"] in [record["id"] for record in before["records"]]
        huge = b'{"html": "' + b"x" * (65 * 1024 * 1024) + b'"}'
        response = requests.post(server.url("/maildiver/v1/emails"), data=huge, headers=MAILDIVER, timeout=60)
        assert response.status_code == 413
        # the same body chunked (no Content-Length): reading stops at the limit, same answer
        chunks = (huge[i:i + 1024 * 1024] for i in range(0, len(huge), 1024 * 1024))
        try:
            response = requests.post(server.url("/maildiver/v1/emails"), data=chunks, headers=MAILDIVER, timeout=60)
            assert response.status_code == 413
        except requests.ConnectionError:
            pass  # the answer may come before the last chunk is sent; the journal below still has it
        journal = requests.get(server.url("/__mocksrv/requests"), params={"status": 413}, timeout=10).json()
        assert len(journal["requests"]) == 2
        assert requests.get(emails, timeout=10).json() == before  # nothing stored, nothing lost
        assert requests.get(server.url("/__mocksrv/health"), timeout=10).status_code == 200
    finally:
        server.stop()


def test_undecodable_query_values(bundled: MockServer) -> None:
    response = requests.get(bundled.url("/settings-mailer/api/settings/mail-history?limit=%ff&status=%00"),
                            headers={"Authorization": "Bearer sm_demo"}, timeout=10)
    assert response.status_code == 400
    assert "limit" in response.json()["error"]


def test_path_traversal_in_an_id_is_just_an_unknown_path(bundled: MockServer) -> None:
    response = requests.get(bundled.url("/maxcare/v3/emails/..%2F..%2Fetc%2Fpasswd"),
                            headers={"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"},
                            timeout=10)
    assert response.status_code == 404
    assert response.json()["detail"] == "no operation of API 'maxcare' matches the path /emails/../../etc/passwd"
    assert "root:" not in response.text


def test_an_encoded_newline_in_a_path_parameter_reaches_the_api(bundled: MockServer) -> None:
    """Found by schemathesis: Werkzeug's path converter stopped at %0A, giving a bare 404 of the wrong format."""
    response = requests.get(bundled.url("/maxcare/v3/emails/eml_%0A"),
                            headers={"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"},
                            timeout=10)
    assert response.status_code == 400
    assert "must be a valid UUID" in response.json()["message"]


MULTIPART = (b"--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n[\"a@example.com\"]\r\n"
             b"--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nHi\r\n"
             b"--XyZ\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nHello\r\n--XyZ--\r\n")


def _multipart_head(length: int) -> bytes:
    return (b"POST /settings-mailer/api/settings/sendmail HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer sm_demo\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
            b"Connection: close\r\nContent-Length: " + str(length).encode() + b"\r\n\r\n")


def test_multipart_whose_content_length_cuts_the_body_short_is_a_400(bundled: MockServer) -> None:
    """Content-Length smaller than the body: the part that arrives is a truncated multipart body."""
    count = len(requests.get(bundled.url("/__mocksrv/apis/settings-mailer/records/mail-history"),
                             timeout=10).json()["records"])
    answer = raw_exchange(bundled, _multipart_head(len(MULTIPART) - 20) + MULTIPART)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    after = requests.get(bundled.url("/__mocksrv/apis/settings-mailer/records/mail-history"), timeout=10).json()
    assert len(after["records"]) == count  # nothing stored from half a body


def test_multipart_that_promises_more_than_it_sends_is_dropped_without_harm(bundled: MockServer) -> None:
    """Content-Length larger than the body, then the client stops: no answer is owed, no worker is stuck."""
    history = bundled.url("/__mocksrv/apis/settings-mailer/records/mail-history")
    before = requests.get(history, timeout=10).json()
    answer = raw_exchange(bundled, _multipart_head(len(MULTIPART) + 500) + MULTIPART, close_write=True)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert (b"the request body ended before the " + str(len(MULTIPART) + 500).encode()
            + b" bytes its Content-Length promised") in answer
    assert requests.get(history, timeout=10).json() == before  # nothing stored from half a body
    started = time.monotonic()
    assert requests.get(bundled.url("/__mocksrv/health"), timeout=10).status_code == 200
    assert time.monotonic() - started < 2
