"""Webhooks and callbacks over real HTTP: mocksrv calls a receiver of the test's own, on loopback,
signed the Standard Webhooks way, when the virtual clock reaches each event (docs/webhooks.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import typing as t
from pathlib import Path

import jsonschema
import pytest
import requests
import yaml
from standardwebhooks.webhooks import Webhook

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from conftest import free_loopback_port
from mocksrv.receiver import Delivery
from mocksrv.receiver import WebhookReceiver as Receiver
from mocksrv.state.webhooks import target_refusal

SEND = "/send-service/api/v1/send"
KEY = {"X-API-Key": "ss_demo"}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WAIT = 10.0  # seconds a delivery may take to arrive; the loops stop by themselves


@pytest.fixture
def receiver() -> t.Iterator[Receiver]:
    with Receiver() as got:
        yield got


@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--scenario", "send_service_outcomes",
                        "--strict")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh(mock: MockServer) -> None:
    assert requests.post(mock.url("/__mocksrv/reset"), timeout=10).status_code == 200
    clock(mock, frozen=True)


def clock(mock: MockServer, **change: t.Any) -> None:
    assert requests.post(mock.url("/__mocksrv/clock"), json=change, timeout=10).status_code == 200


def subscribe(mock: MockServer, api: str, **subscription: t.Any) -> requests.Response:
    return requests.post(mock.url(f"/__mocksrv/apis/{api}/webhooks"), json=subscription, timeout=10)


def deliveries(mock: MockServer, **filters: str) -> list[dict[str, t.Any]]:
    answer = requests.get(mock.url("/__mocksrv/webhooks/deliveries"), params=filters, timeout=10)
    assert answer.status_code == 200
    return t.cast(list[dict[str, t.Any]], answer.json()["deliveries"])


def send(mock: MockServer, to: str, **extra: t.Any) -> str:
    answer = requests.post(mock.url(SEND), json={"to": to, "subject": "Hi", "text": "x", **extra}, headers=KEY,
                           timeout=10)
    assert answer.status_code == 200, answer.text
    return t.cast(str, answer.json()["email_id"])


def verified(delivery: Delivery, secret: str = SECRET) -> t.Any:
    """The payload, as an off-the-shelf Standard Webhooks verifier reads it (it raises on a bad signature)."""
    return Webhook(secret).verify(delivery.body, delivery.headers)


def test_an_email_s_events_reach_the_subscriber_when_the_clock_does(mock: MockServer, receiver: Receiver) -> None:
    made = subscribe(mock, "send-service", url=f"{receiver.url}/hooks/email", events=["delivered", "opened"],
                     secret=SECRET)
    assert made.status_code == 201 and made.json()["id"].startswith("wh_")
    email_id = send(mock, "ann@example.com", metadata={"order_id": "ord_789"}, headers={"X-Campaign-ID": "c-1"})
    time.sleep(0.3)
    assert receiver.received == []  # delivered is due 3 s after the send, on a frozen clock
    clock(mock, advance_seconds=3)
    first = receiver.wait_for(1)[0]
    assert first.path == "/hooks/email" and first.headers["content-type"] == "application/json"
    payload = verified(first)
    assert payload["type"] == "delivered" and payload["data"]["email_id"] == email_id
    assert payload["data"]["metadata"] == {"order_id": "ord_789"}
    assert payload["data"]["headers"] == {"X-Campaign-ID": "c-1"}
    clock(mock, advance_seconds=60)  # opened at +30 s; clicked at +40 s is not subscribed to
    second = receiver.wait_for(2)[1]
    assert verified(second)["type"] == "opened"
    assert second.headers["webhook-id"] != first.headers["webhook-id"]
    time.sleep(0.3)
    assert len(receiver.received) == 2
    assert [d["state"] for d in deliveries(mock, api="send-service")] == ["delivered", "delivered"]


def test_outcomes_come_from_the_scenario(mock: MockServer, receiver: Receiver) -> None:
    subscribe(mock, "send-service", url=receiver.url, secret=SECRET)  # every event
    send(mock, "x@bounce.example.com")
    send(mock, "complaint@example.com")
    clock(mock, advance_seconds=600)
    receiver.wait_for(3)
    time.sleep(0.3)
    kinds = sorted((verified(d)["data"]["to"], verified(d)["type"]) for d in receiver.received)
    assert kinds == [("complaint@example.com", "complained"), ("complaint@example.com", "delivered"),
                     ("x@bounce.example.com", "bounced")]


def test_a_failed_delivery_is_retried_with_back_off_then_given_up(mock: MockServer) -> None:
    failing = Receiver(statuses=(500,))
    try:
        subscribe(mock, "send-service", url=failing.url, events=["delivered"], secret=SECRET)
        fired = requests.post(mock.url("/__mocksrv/apis/send-service/webhooks/events"),
                              json={"event": "delivered", "payload": {"type": "delivered", "data": {}}}, timeout=10)
        assert fired.status_code == 202
        failing.wait_for(1)
        for waited, attempts in ((5, 2), (30, 3), (120, 4), (600, 5)):
            time.sleep(0.2)
            assert len(failing.received) == attempts - 1  # nothing before the back-off is over
            clock(mock, advance_seconds=waited)
            failing.wait_for(attempts)
        assert len({d.headers["webhook-id"] for d in failing.received}) == 1  # the same message each time
        deadline = time.monotonic() + WAIT
        while deliveries(mock, state="failed") == [] and time.monotonic() < deadline:
            time.sleep(0.05)
        [failed] = deliveries(mock, state="failed")
        assert [a["status"] for a in failed["attempts"]] == [500] * 5 and "secret" not in failed
        clock(mock, advance_seconds=3600)
        time.sleep(0.3)
        assert len(failing.received) == 5
    finally:
        failing.stop()


def test_a_receiver_that_recovers_gets_the_retry(mock: MockServer) -> None:
    flaky = Receiver(statuses=(500, 500, 200))
    try:
        subscribe(mock, "send-service", url=flaky.url, secret=SECRET)
        requests.post(mock.url("/__mocksrv/apis/send-service/webhooks/events"), json={"event": "opened"}, timeout=10)
        flaky.wait_for(1)
        clock(mock, advance_seconds=5)
        flaky.wait_for(2)
        clock(mock, advance_seconds=30)
        flaky.wait_for(3)
        deadline = time.monotonic() + WAIT
        while deliveries(mock, status="delivered") == [] and time.monotonic() < deadline:
            time.sleep(0.05)
        [done] = deliveries(mock, status="delivered")
        assert [a["status"] for a in done["attempts"]] == [500, 500, 200]
        starts = [a["at"] for a in done["attempts"]]
        assert [round(b - a) for a, b in itertools.pairwise(starts)] == [5, 30]  # the documented back-off
        assert len({d.headers["webhook-id"] for d in flaky.received}) == 1
        assert all(a["headers"]["webhook-id"] == done["webhook_id"] for a in done["attempts"])
        assert all(a["headers"]["webhook-signature"].startswith("v1,") for a in done["attempts"])
        assert verified(flaky.received[2])["type"] == "opened"  # the Standard Webhooks envelope
    finally:
        flaky.stop()


@pytest.mark.parametrize("subscription, reason", [
    ({"url": "http://example.com/hooks"}, "not a loopback address and not allowed with --webhook-allow"),
    ({"url": "ftp://127.0.0.1/x"}, "is not an http(s) URL with a host"),
    ({"url": "http://127.0.0.1:9/x", "events": ["delivred"]}, "unknown event 'delivred'"),
    ({"url": "http://127.0.0.1:9/x", "secret": "whsec_***"}, "a webhook secret is 'whsec_' followed by base64"),
    ({"url": "http://127.0.0.1:9/x", "retries": 3}, "retries: Unknown field."),
])
def test_a_subscription_that_cannot_be_is_refused_with_the_reason(mock: MockServer, subscription: dict[str, t.Any],
                                                                   reason: str) -> None:
    answer = subscribe(mock, "send-service", **subscription)
    assert answer.status_code == 400 and reason in answer.text
    assert requests.get(mock.url("/__mocksrv/apis/send-service/webhooks"), timeout=10).json()["webhooks"] == []


def test_a_scenario_can_delay_or_drop_events(mock: MockServer, receiver: Receiver) -> None:
    made = subscribe(mock, "send-service", url=receiver.url, secret=SECRET, events=["delivered", "opened"],
                     delay_seconds=100, drop=["opened"])
    assert made.status_code == 201 and made.json()["delay_seconds"] == 100
    send(mock, "ann@example.com")
    clock(mock, advance_seconds=60)  # delivered was due at +3 s: now +103 s
    time.sleep(0.3)
    assert receiver.received == []
    clock(mock, advance_seconds=45)
    assert verified(receiver.wait_for(1)[0])["type"] == "delivered"
    [dropped] = deliveries(mock, state="dropped")
    assert dropped["event"] == "opened" and dropped["attempts"] == []
    clock(mock, advance_seconds=3600)
    time.sleep(0.3)
    assert len(receiver.received) == 1
    assert subscribe(mock, "send-service", url=receiver.url, drop=["open"]).status_code == 400


def test_subscriptions_are_listed_removed_and_reset(mock: MockServer) -> None:
    made = subscribe(mock, "send-service", url="http://localhost:9/x").json()
    assert made["secret"].startswith("whsec_") and made["events"] is None
    listed = requests.get(mock.url("/__mocksrv/apis/send-service/webhooks"), timeout=10).json()
    assert listed["webhooks"] == [made] and "unsubscribed" in listed["events"]
    url = mock.url(f"/__mocksrv/apis/send-service/webhooks/{made['id']}")
    assert requests.delete(url, timeout=10).status_code == 204
    assert requests.delete(url, timeout=10).status_code == 404


def test_a_scenario_s_subscriptions_are_there_from_the_start(tmp_path: Path, receiver: Receiver) -> None:
    folder = tmp_path / "fixtures"
    folder.mkdir()
    (folder / "default.yaml").write_text((FIXTURES / "default.yaml").read_text())
    (folder / "hooks.yaml").write_text(yaml.safe_dump({
        "scenario": {"extends": "default"},
        "send-service": {"webhooks": [{"url": f"{receiver.url}/h", "events": ["delivered"], "secret": SECRET}]}}))
    (folder / "typo.yaml").write_text(yaml.safe_dump({"send-service": {"webhooks": [{"url": receiver.url,
                                                                                       "events": ["bounce"]}]}}))
    with pytest.raises(RuntimeError, match=r"typo.yaml: send-service.webhooks\[0\].events: unknown event 'bounce' "
                                           r"\(known: delivered, bounced,"):
        MockServer("--specs", str(SPECS), "--fixtures", str(folder), "--scenario", "typo")
    mock = MockServer("--specs", str(SPECS), "--fixtures", str(folder), "--scenario", "hooks")
    try:
        send(mock, "ann@example.com")
        clock(mock, advance_seconds=5)
        assert verified(receiver.wait_for(1)[0])["type"] == "delivered"
    finally:
        mock.stop()


CALLBACKS = """
openapi: 3.1.0
info: {title: Jobs, version: "1"}
paths:
  /jobs:
    post:
      operationId: startJob
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [callbackUrl]
              properties: {callbackUrl: {type: string, format: uri}, name: {type: string}}
      responses:
        "202": {description: started, content: {application/json: {schema: {$ref: "#/components/schemas/Job"}}}}
      callbacks:
        jobDone:
          "{$request.body#/callbackUrl}?job={$response.body#/id}":
            put:
              requestBody:
                content:
                  application/json: {schema: {$ref: "#/components/schemas/Finished"}}
              responses: {"200": {description: ok}}
webhooks:
  jobFailed:
    post:
      requestBody:
        content:
          application/json: {schema: {$ref: "#/components/schemas/Finished"}}
      responses: {"200": {description: ok}}
components:
  schemas:
    Job: {type: object, required: [id], properties: {id: {type: string, pattern: "^job_[a-z0-9]{6}$"}}}
    Finished:
      type: object
      required: [jobId, outcome, at]
      additionalProperties: false
      properties:
        jobId: {type: string, minLength: 3}
        outcome: {type: string, enum: [done, failed]}
        at: {type: string, format: date-time}
"""


@pytest.fixture
def jobs(tmp_path: Path) -> t.Iterator[MockServer]:
    spec = tmp_path / "jobs.yaml"
    spec.write_text(CALLBACKS)
    server = MockServer("--specs", str(spec), "--strict")
    yield server
    server.stop()


def finished_schema() -> dict[str, t.Any]:
    return t.cast(dict[str, t.Any], yaml.safe_load(CALLBACKS)["components"]["schemas"]["Finished"])


def test_a_callback_goes_to_the_url_its_expression_names(jobs: MockServer, receiver: Receiver) -> None:
    started = requests.post(jobs.url("/jobs/jobs"), json={"callbackUrl": f"{receiver.url}/done", "name": "x"},
                            timeout=10)
    assert started.status_code == 202
    [call] = receiver.wait_for(1)
    assert call.method == "PUT" and call.path == f"/done?job={started.json()['id']}"
    jsonschema.validate(json.loads(call.body), finished_schema(), format_checker=jsonschema.FormatChecker())
    assert "webhook-signature" not in call.headers and call.headers["webhook-id"].startswith("msg_")


def test_a_callback_to_an_address_nobody_allowed_is_never_called(jobs: MockServer) -> None:
    assert requests.post(jobs.url("/jobs/jobs"), json={"callbackUrl": "http://192.0.2.7/x"}, timeout=10).status_code \
        == 202
    deadline = time.monotonic() + WAIT
    while not (found := deliveries(jobs, state="failed")) and time.monotonic() < deadline:
        time.sleep(0.05)
    [refused] = found
    assert refused["attempts"][0]["error"] == "192.0.2.7 is not a loopback address and not allowed with --webhook-allow"


def test_a_documented_webhook_s_payload_is_made_from_its_schema_or_checked(jobs: MockServer,
                                                                           receiver: Receiver) -> None:
    assert subscribe(jobs, "jobs", url=receiver.url, events=["jobFailed"], secret=SECRET).status_code == 201
    events = jobs.url("/__mocksrv/apis/jobs/webhooks/events")
    bad = requests.post(events, json={"event": "jobFailed", "payload": {"jobId": "j"}}, timeout=10)
    assert bad.status_code == 400 and "does not match the schema of webhooks.jobFailed" in bad.text
    assert requests.post(events, json={"event": "jobDone"}, timeout=10).status_code == 400  # a callback, not a webhook
    assert requests.post(events, json={"event": "jobFailed"}, timeout=10).status_code == 202
    given = {"jobId": "job_1", "outcome": "failed", "at": "2026-12-04T10:00:00Z"}
    assert requests.post(events, json={"event": "jobFailed", "payload": given}, timeout=10).status_code == 202
    made, sent = (verified(d) for d in receiver.wait_for(2))
    jsonschema.validate(made, finished_schema(), format_checker=jsonschema.FormatChecker())
    assert sent == given



def test_a_pending_delivery_survives_a_restart_with_db(tmp_path: Path) -> None:
    port = free_loopback_port()  # nobody listens yet: the first attempt is refused
    db = tmp_path / "state.jsonl"
    first = MockServer("--specs", str(SPECS), "--db", str(db))
    try:
        subscribe(first, "send-service", url=f"http://127.0.0.1:{port}/h", secret=SECRET)
        requests.post(first.url("/__mocksrv/apis/send-service/webhooks/events"), json={"event": "bounced"}, timeout=10)
        deadline = time.monotonic() + WAIT
        while not any(d["attempts"] for d in deliveries(first)) and time.monotonic() < deadline:
            time.sleep(0.05)
        [pending] = deliveries(first)
        assert pending["state"] == "pending" and pending["attempts"][0]["error"] == "connection refused"
    finally:
        first.stop()
    receiver = Receiver(port=port)
    second = MockServer("--specs", str(SPECS), "--db", str(db))
    try:
        clock(second, advance_seconds=5)
        got = receiver.wait_for(1)[0]
        assert got.headers["webhook-id"] == pending["webhook_id"] and verified(got)["type"] == "bounced"
    finally:
        second.stop()
        receiver.stop()


@pytest.mark.parametrize("url, allowed, refused", [
    ("http://127.0.0.1:9000/h", [], False),
    ("http://127.8.0.1/h", [], False),
    ("http://[::1]:9000/h", [], False),
    ("https://LOCALHOST/h", [], False),
    ("http://10.0.0.5/h", [], True),  # private is not loopback: another machine
    ("http://hooks.test:8080/h", ["hooks.test"], False),
    ("http://hooks.test:8080/h", ["hooks.test:8080"], False),
    ("http://hooks.test:8081/h", ["hooks.test:8080"], True),
    ("https://hooks.test/h", ["hooks.test:443"], False),
    ("http://evil.test/h", ["hooks.test"], True),
])
def test_only_loopback_or_named_hosts_are_called(url: str, allowed: list[str], refused: bool) -> None:
    assert (target_refusal(url, allowed) is not None) == refused


MAXCARE = {"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"}
MAXCARE_MESSAGE = {"from": "notifications", "subject": "Reminder", "html": "<p>Hi</p>",
                   "emailType": "appointment_reminder"}
READER, BOUNCER = "pat_0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e", "pat_b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"


def test_maxcare_emails_tell_sent_delivered_opened_and_bounced(mock: MockServer, receiver: Receiver) -> None:
    """Its document lists the statuses; each event carries the email as GET /emails/{id} shows it then."""
    subscribe(mock, "maxcare", url=receiver.url, secret=SECRET)
    sent = requests.post(mock.url("/maxcare/v3/emails/send"), json={**MAXCARE_MESSAGE, "patientIds": [READER, BOUNCER]},
                         headers=MAXCARE, timeout=10)
    assert sent.status_code == 200, sent.text
    reader_id = next(e["id"] for e in sent.json()["data"]["sent"] if e["recipientId"] == READER)
    receiver.wait_for(2)  # both "sent" at once
    clock(mock, advance_seconds=120)  # delivered (or bounced) at +2 s, opened 60 s later
    got = [verified(d) for d in receiver.wait_for(5)]
    time.sleep(0.3)
    assert len(receiver.received) == 5
    life = {(p["data"]["recipientId"], p["type"]): p["data"] for p in got}
    assert set(life) == {(READER, "sent"), (READER, "delivered"), (READER, "opened"), (BOUNCER, "sent"),
                         (BOUNCER, "bounced")}
    assert life[(READER, "delivered")]["deliveredAt"] is not None and life[(READER, "delivered")]["openedAt"] is None
    now = requests.get(mock.url(f"/maxcare/v3/emails/{reader_id}"), headers=MAXCARE, timeout=10).json()["data"]
    assert life[(READER, "opened")] == now  # the last event shows the email as it is now


def test_a_bulk_mail_tells_each_batch_then_its_outcome(mock: MockServer, receiver: Receiver) -> None:
    subscribe(mock, "settings-mailer", url=receiver.url, events=["batch_sent", "sent"], secret=SECRET)
    to = "[" + ",".join(f'"u{n}@example.com"' for n in range(5)) + "]"
    answer = requests.post(mock.url("/settings-mailer/api/settings/sendmail"), headers={"Authorization": "Bearer sm_demo"},
                           files=[("to", (None, to)), ("subject", (None, "S")), ("body", (None, "B"))], timeout=10)
    assert answer.status_code == 200 and answer.json()["bulk_mode"] is True, answer.text
    clock(mock, advance_seconds=3600)
    got = [verified(d) for d in receiver.wait_for(4)]
    time.sleep(0.3)
    # the last batch and the outcome fall on one instant; senders work in parallel, so either may arrive first
    life = sorted((p["timestamp"], p["type"] == "sent") for p in got)
    assert [sent for _, sent in life] == [False, False, False, True] and life[2][0] == life[3][0]
    assert {p["data"]["mail_id"] for p in got} == {answer.json()["mail_id"]}
    assert sorted(p["data"]["status"] for p in got) == ["sending", "sending", "sent", "sent"]


VENDOR = """
openapi: 3.1.0
info: {title: Repo events, version: "1"}
x-mocksrv-webhook-signature: {header: X-Hub-Signature-256, value: "sha256={signature}"}
paths: {}
webhooks:
  push:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object, required: [ref], properties: {ref: {type: string, const: refs/heads/main}}}
      responses: {"200": {description: ok}}
"""


@pytest.mark.parametrize("scheme, expected", [
    ({"header": "X-Hub-Signature-256", "value": "sha256={signature}"},
     lambda body, stamp, key: "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()),
    ({"header": "Stripe-Signature", "value": "t={timestamp},v1={signature}", "signed": "{timestamp}.{body}"},
     lambda body, stamp, key: f"t={stamp},v1=" + hmac.new(key, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()),
    ({"header": "X-Shopify-Hmac-Sha256", "encoding": "base64"},
     lambda body, stamp, key: base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()),
])
def test_a_spec_may_declare_its_provider_s_own_signature(tmp_path: Path, receiver: Receiver,
                                                         scheme: dict[str, str],
                                                         expected: t.Callable[[bytes, str, bytes], str]) -> None:
    document = yaml.safe_load(VENDOR)
    document["x-mocksrv-webhook-signature"] = scheme
    spec = tmp_path / "repo.yaml"
    spec.write_text(yaml.safe_dump(document))
    server = MockServer("--specs", str(spec))
    try:
        assert subscribe(server, "repo", url=receiver.url, secret="it's a secret").status_code == 201  # any text
        fired = requests.post(server.url("/__mocksrv/apis/repo/webhooks/events"), json={"event": "push"}, timeout=10)
        assert fired.status_code == 202
        [got] = receiver.wait_for(1)
        stamp = str(int(got.headers["stripe-signature"].split(",")[0][2:])) if "stripe-signature" in got.headers else ""
        assert got.headers[scheme["header"].lower()] == expected(got.body, stamp, b"it's a secret")
        assert got.payload == {"ref": "refs/heads/main"} and "webhook-signature" not in got.headers
    finally:
        server.stop()


def test_a_malformed_signature_declaration_is_one_line_at_start(tmp_path: Path) -> None:
    document = yaml.safe_load(VENDOR)
    document["x-mocksrv-webhook-signature"] = {"header": "X-Sig", "algorithm": "md5"}
    spec = tmp_path / "repo.yaml"
    spec.write_text(yaml.safe_dump(document))
    with pytest.raises(RuntimeError, match=r"x-mocksrv-webhook-signature.algorithm: Must be one of: sha1, sha256"):
        MockServer("--specs", str(spec))


def test_a_3_0_document_s_callbacks_are_sent_too(tmp_path: Path, receiver: Receiver) -> None:
    document = yaml.safe_load(CALLBACKS)
    document["openapi"] = "3.0.3"
    del document["webhooks"]
    spec = tmp_path / "jobs.yaml"
    spec.write_text(yaml.safe_dump(document))
    server = MockServer("--specs", str(spec), "--strict")
    try:
        started = requests.post(server.url("/jobs/jobs"), json={"callbackUrl": f"{receiver.url}/v30"}, timeout=10)
        assert started.status_code == 202
        [call] = receiver.wait_for(1)
        assert call.method == "PUT" and call.path == f"/v30?job={started.json()['id']}"
        jsonschema.validate(call.payload, finished_schema(), format_checker=jsonschema.FormatChecker())
    finally:
        server.stop()
