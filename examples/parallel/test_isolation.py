"""Each test sends MailDiver emails, lists what is stored, and must find exactly its own.

Run in parallel (`pytest -n 4`) against one server (`--mocksrv-url`), a test would see the
emails of the tests running beside it if its world were not its own; the short pause between
sending and listing makes sure others are sending meanwhile.
"""

from __future__ import annotations

import time

import pytest
import requests

KEY = {"Authorization": "Bearer md_demo"}
TESTS = 200


@pytest.mark.parametrize("number", range(TESTS))
def test_sees_only_its_own_emails(mocksrv, number: int) -> None:
    subject = f"test {number}"
    for _ in range(2):
        sent = requests.post(mocksrv.base_url("maildiver") + "/emails", headers=KEY, timeout=10,
                             json={"from": "ci@example.com", "to": "qa@example.com", "subject": subject,
                                   "html": "<p>x</p>"})
        assert sent.status_code == 201, sent.text
    time.sleep(0.02)
    stored = mocksrv.records("maildiver", "emails")
    assert [email["subject"] for email in stored] == [subject, subject]
    assert mocksrv.clock.now().year == mocksrv.now().year  # the session's own clock answers too
