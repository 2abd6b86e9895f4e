"""Tests of notify.py against mocksrv through its pytest plugin: success paths, the APIs' documented errors
(401, 404, 429, a suppressed recipient), a slow API and the virtual clock. Contract mode (on in pytest.ini) also
fails any test whose requests the specs reject."""

from __future__ import annotations

import pytest
from notify import AuthError
from notify import NotFound
from notify import Notifier
from notify import NotifyTimeout
from notify import RateLimited
from notify import Rejected

from mocksrv.pytest_plugin import Mocksrv

JANE = "pat_8de030393a9e417ab2b3a8b8df183631"
JANES_EMAIL = "eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"  # stored by the default scenario


def notifier(mocksrv: Mocksrv, *, maxcare_key: str = "mk_live_demo", timeout: float = 5.0) -> Notifier:
    return Notifier(mocksrv.base_url("maxcare"), mocksrv.base_url("maildiver"), maxcare_key=maxcare_key,
                    organization_id="org_demo", maildiver_key="md_demo", timeout=timeout)


def test_reminder_is_sent_then_delivered(mocksrv: Mocksrv) -> None:
    client = notifier(mocksrv)
    [email_id] = client.remind_patients([JANE], "Your visit", "<p>See you</p>")
    assert client.email(email_id)["deliveredAt"] is None
    mocksrv.clock.advance(5)  # the default scenario delivers 2 s after sending
    assert client.email(email_id)["deliveredAt"] is not None
    [entry] = mocksrv.requests(api="maxcare", method="POST")
    assert entry["body"]["patientIds"] == [JANE]


def test_maildiver_send_is_stored(mocksrv: Mocksrv) -> None:
    email_id = notifier(mocksrv).send("Team <team@example.com>", ["user@example.com"], "Hello", "<p>Hello</p>")
    assert [record["id"] for record in mocksrv.records("maildiver", "emails")] == [email_id]


def test_bad_key_is_an_auth_error(mocksrv: Mocksrv) -> None:
    with pytest.raises(AuthError) as raised:
        notifier(mocksrv, maxcare_key="mk_live_wrong").remind_patients([JANE], "Hi", "<p>Hi</p>")
    assert raised.value.status == 401


def test_unknown_email_is_not_found(mocksrv: Mocksrv) -> None:
    assert notifier(mocksrv).email(JANES_EMAIL)["recipientId"] == JANE
    with pytest.raises(NotFound):
        notifier(mocksrv).email("eml_00000000000000000000000000000000")


def test_injected_429_is_rate_limited(mocksrv: Mocksrv) -> None:
    mocksrv.fault(api="maxcare", operationId="EmailsPublicController_sendEmails", status=429, times=1)
    client = notifier(mocksrv)
    with pytest.raises(RateLimited):
        client.remind_patients([JANE], "Hi", "<p>Hi</p>")
    assert client.remind_patients([JANE], "Hi", "<p>Hi</p>")  # the fault applied once


@pytest.mark.mocksrv(scenario="rate_limited")
def test_rate_limit_scenario_and_its_window(mocksrv: Mocksrv) -> None:
    client = notifier(mocksrv)
    for _ in range(3):  # the scenario allows 3 calls a minute per key
        client.send("team@example.com", ["user@example.com"], "Hi", "<p>Hi</p>")
    with pytest.raises(RateLimited) as raised:
        client.send("team@example.com", ["user@example.com"], "Hi", "<p>Hi</p>")
    assert raised.value.retry_after is not None
    mocksrv.clock.advance(61)  # the window passes without sleeping
    assert client.send("team@example.com", ["user@example.com"], "Hi", "<p>Hi</p>")


def test_slow_api_times_out(mocksrv: Mocksrv) -> None:
    mocksrv.fault(api="maildiver", latency_ms=600, times=1)
    with pytest.raises(NotifyTimeout):
        notifier(mocksrv, timeout=0.2).send("team@example.com", ["user@example.com"], "Hi", "<p>Hi</p>")


@pytest.mark.mocksrv(scenario="maildiver_suppression")
def test_suppressed_recipient_is_rejected(mocksrv: Mocksrv) -> None:
    # a rule of this scenario: mail to bounce@example.com is refused with 400
    with pytest.raises(Rejected, match="suppression list"):
        notifier(mocksrv).send("team@example.com", ["bounce@example.com"], "Hi", "<p>Hi</p>")


def test_rule_added_by_the_test(mocksrv: Mocksrv) -> None:
    mocksrv.rule(api="maildiver", operation="sendEmail", times=1,
                 match=[{"in": "body", "path": "/subject", "contains": "quota"}],
                 then={"status": 403, "body": {"message": "Monthly quota exceeded"}})
    with pytest.raises(AuthError, match="quota"):
        notifier(mocksrv).send("team@example.com", ["user@example.com"], "quota check", "<p>Hi</p>")


def test_scenario_given_inline(mocksrv: Mocksrv) -> None:
    mocksrv.scenario({"scenario": {"extends": "default"},
                      "maildiver": {"rate_limit": {"limit": 1, "window_seconds": 60}}})
    mocksrv.clock.freeze()  # windows are fixed minutes on the clock: a frozen clock keeps both sends in one
    client = notifier(mocksrv)
    client.send("team@example.com", ["user@example.com"], "Hi", "<p>Hi</p>")
    with pytest.raises(RateLimited):
        client.send("team@example.com", ["user@example.com"], "Hi", "<p>Hi</p>")
