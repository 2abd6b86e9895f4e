"""MaxCare's behaviour over real HTTP: organizations (403), partial sends, scheduled sends,
delivery, bounces and opens on the virtual clock, and reads limited to the caller's emails."""

from __future__ import annotations

import contextlib
import re
import typing as t
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
import requests
from openapi_schema_validator import OAS30Validator

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from conftest import SpecChecker
from mocksrv.behaviours.maxcare import behaviour

API = "/maxcare/v3"
DEMO = {"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"}
MESSAGE = {"from": "notifications", "subject": "Reminder", "html": "<p>See you soon</p>",
           "emailType": "appointment_reminder"}
# the records of fixtures/default.yaml
JANE = "pat_8de030393a9e417ab2b3a8b8df183631"
JOHN = "pat_0c1e4b7a2f3d4e5f8a9b0c1d2e3f4a5b"  # email: null
BO = "pat_b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"  # bounces: true
REED = "pat_0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e"  # opens_after_seconds: 60
OTHER_ORG_PATIENT = "pat_77777777777777777777777777777777"
SAM = "usr_1231b6f32b4f4b8f8eeb4f7806bc45b0"
NO_MAIL_USER = "usr_00000000000000000000000000000000"
SEEDED_EMAIL = "eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"
EMAIL_FIELDS = {"id", "recipientEmail", "recipientType", "recipientId", "emailType", "subject", "fromAddress",
                "status", "scheduledAt", "sentAt", "deliveredAt", "openedAt", "bouncedAt", "createdAt"}
EMAIL_ID = re.compile(r"^eml_[0-9a-f]{32}$")
START = "2030-01-01T00:00:00.5Z"  # the frozen clock starts here; tests only move it forward


@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    folder = FIXTURES
    server = MockServer("--specs", str(SPECS), "--fixtures", str(folder), "--strict")
    try:
        admin(server, "POST", "/clock", json={"set": START, "frozen": True}).raise_for_status()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def checker(mock: MockServer) -> SpecChecker:
    return SpecChecker(SPECS / "maxcare.yaml", mock.base_url)


def admin(mock: MockServer, method: str, path: str, **kwargs: t.Any) -> requests.Response:
    return requests.request(method, mock.url("/__mocksrv" + path), timeout=10, **kwargs)


def send(mock: MockServer, body: dict[str, t.Any], headers: dict[str, str] = DEMO) -> requests.Response:
    return requests.post(mock.url(API + "/emails/send"), json={**MESSAGE, **body}, headers=headers, timeout=10)


def get_email(mock: MockServer, email_id: str, headers: dict[str, str] = DEMO) -> requests.Response:
    return requests.get(mock.url(f"{API}/emails/{email_id}"), headers=headers, timeout=10)


def sent_one(mock: MockServer, checker: SpecChecker, body: dict[str, t.Any]) -> dict[str, t.Any]:
    response = send(mock, body)
    assert response.status_code == 200, response.text
    checker.assert_valid(response)
    sent = response.json()["data"]["sent"]
    assert len(sent) == 1, response.text
    return t.cast(dict[str, t.Any], sent[0])


def read(mock: MockServer, checker: SpecChecker, email_id: str) -> dict[str, t.Any]:
    response = get_email(mock, email_id)
    assert response.status_code == 200, response.text
    checker.assert_valid(response)
    return t.cast(dict[str, t.Any], response.json()["data"])


def now(mock: MockServer) -> float:
    return float(admin(mock, "GET", "/clock").json()["epoch"])


def advance(mock: MockServer, seconds: float) -> None:
    admin(mock, "POST", "/clock", json={"advance_seconds": seconds}).raise_for_status()


def stamp(epoch: float) -> str:
    """MaxCare's documented timestamp form, ``2026-03-25 10:00:01.234+00``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00"


def assert_bad_request(checker: SpecChecker, response: requests.Response, message: str) -> None:
    """A 400 in PublicApiBadRequestResponse, valid under the spec (specs/maxcare.yaml declares it on both operations)."""
    assert response.status_code == 400, response.text
    checker.assert_valid(response)
    body = response.json()
    schema = {**checker.document["components"]["schemas"]["PublicApiBadRequestResponse"], "additionalProperties": False}
    OAS30Validator(schema).validate(body)
    assert body["code"] == "bad_request"
    assert body["message"] == message


@contextlib.contextmanager
def scenario(mock: MockServer, name: str, fixture: dict[str, t.Any] | None = None) -> t.Iterator[None]:
    """Switch the server to a scenario for one test, then back to the default one."""
    switch = {"name": name, **({"fixture": fixture} if fixture is not None else {})}
    response = admin(mock, "PUT", "/scenario", json=switch)
    assert response.status_code == 200, response.text
    try:
        yield
    finally:
        admin(mock, "PUT", "/scenario", json={"name": "default"}).raise_for_status()


# --- send: who gets an email, who gets an error ------------------------------------------------

def test_one_call_can_partly_fail(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, {"patientIds": [JANE, JOHN, "pat_unknown", OTHER_ORG_PATIENT], "userIds": [SAM]})
    assert response.status_code == 200, response.text
    checker.assert_valid(response)
    body = response.json()
    assert body["code"] == "success"
    sent, errors = body["data"]["sent"], body["data"]["errors"]
    assert [(s["recipientType"], s["recipientId"], s["recipientEmail"]) for s in sent] == [
        ("patient", JANE, "jane.doe@example.com"), ("user", SAM, "sam@clinic.example.com")]
    assert errors == [
        {"recipientId": JOHN, "recipientType": "patient", "error": "Patient has no email address on file"},
        {"recipientId": "pat_unknown", "recipientType": "patient", "error": "Patient not found"},
        {"recipientId": OTHER_ORG_PATIENT, "recipientType": "patient", "error": "Patient not found"},
    ]


def test_users_fail_in_their_own_words(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, {"userIds": [NO_MAIL_USER, "usr_unknown"]})
    assert response.status_code == 200, response.text
    checker.assert_valid(response)
    assert response.json()["data"] == {"sent": [], "errors": [
        {"recipientId": NO_MAIL_USER, "recipientType": "user", "error": "User has no email address on file"},
        {"recipientId": "usr_unknown", "recipientType": "user", "error": "User not found"},
    ]}


def test_sent_record_shape(mock: MockServer, checker: SpecChecker) -> None:
    clock = now(mock)
    record = sent_one(mock, checker, {"patientIds": [JANE], "from": "reminders"})
    assert set(record) == EMAIL_FIELDS  # the stored extras (appId, html …) are not shown
    assert EMAIL_ID.match(record["id"])
    assert record["fromAddress"] == "reminders@accounts.maxcare.ai"
    assert (record["emailType"], record["subject"]) == (MESSAGE["emailType"], MESSAGE["subject"])
    assert record["status"] == "sent"
    assert record["sentAt"] == record["createdAt"] == stamp(clock)
    assert record["scheduledAt"] is record["deliveredAt"] is record["openedAt"] is record["bouncedAt"] is None
    stored = admin(mock, "GET", f"/apis/maxcare/records/emails/{record['id']}").json()
    assert (stored["appId"], stored["organizationId"]) == ("app_demo", "org_demo")
    assert (stored["html"], stored["patientIds"]) == (MESSAGE["html"], [JANE])


def test_ids_are_unique(mock: MockServer) -> None:
    response = send(mock, {"patientIds": [JANE, REED], "userIds": [SAM]})
    again = send(mock, {"patientIds": [JANE]})
    ids = [s["id"] for r in (response, again) for s in r.json()["data"]["sent"]]
    assert len(ids) == len(set(ids)) == 4
    assert all(EMAIL_ID.match(i) for i in ids)


def test_a_repeated_id_is_sent_once(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, {"patientIds": [JANE, JANE]})
    checker.assert_valid(response)
    assert len(response.json()["data"]["sent"]) == 1


@pytest.mark.parametrize("ids", [{}, {"patientIds": [], "userIds": []}, {"patientIds": []}],
                         ids=["none", "both-empty", "one-empty"])
def test_no_recipient_ids_is_400(mock: MockServer, checker: SpecChecker, ids: dict[str, t.Any]) -> None:
    assert_bad_request(checker, send(mock, ids), "'patientIds' or 'userIds' must contain at least one id")


# --- organizations -------------------------------------------------------------------------------

@pytest.mark.parametrize("organization", ["org_other", "org_nope"])
def test_organization_not_allowed_is_403(mock: MockServer, checker: SpecChecker, organization: str) -> None:
    headers = {**DEMO, "X-Organization-Id": organization}
    for response in (send(mock, {"patientIds": [JANE]}, headers), get_email(mock, SEEDED_EMAIL, headers)):
        assert response.status_code == 403, response.text
        checker.assert_valid(response)
        body = response.json()
        assert body["code"] == "forbidden"
        assert body["message"] == "Insufficient scope"  # the seed's one 403 text
    # the reason is in the journal, where a developer looks
    entry = admin(mock, "GET", "/requests", params={"api": "maxcare", "limit": 1}).json()["requests"][0]
    assert entry["errors"][0]["message"] == f"application app_demo may not act for organization {organization!r}"


def test_open_mode_acts_for_any_existing_organization(mock: MockServer, checker: SpecChecker) -> None:
    # no keys: any bearer token; organizations modelled, patients not (any id, at <id>@example.com)
    fixture = {"maxcare": {"records": {"organizations": [{"id": "org_x", "apps": ["app_x"]}]}}}
    headers = {"Authorization": "Bearer anything", "X-Organization-Id": "org_x"}
    with scenario(mock, "maxcare_open", fixture):
        response = send(mock, {"patientIds": ["pat_1"]}, headers)
        assert response.status_code == 200, response.text
        checker.assert_valid(response)
        assert response.json()["data"]["sent"][0]["recipientEmail"] == "pat_1@example.com"
        refused = send(mock, {"patientIds": ["pat_1"]}, {**headers, "X-Organization-Id": "org_nope"})
        assert refused.status_code == 403
        checker.assert_valid(refused)


def test_open_mode_without_organizations_accepts_any_id(mock: MockServer, checker: SpecChecker) -> None:
    with scenario(mock, "maxcare_bare", {"maxcare": {}}):
        response = send(mock, {"userIds": ["usr_1"]}, {"Authorization": "Bearer x", "X-Organization-Id": "org_any"})
        assert response.status_code == 200, response.text
        checker.assert_valid(response)
        assert response.json()["data"]["sent"][0]["recipientId"] == "usr_1"


# --- reading an email ------------------------------------------------------------------------

def test_read_a_seeded_email(mock: MockServer, checker: SpecChecker) -> None:
    record = read(mock, checker, SEEDED_EMAIL)
    assert set(record) == EMAIL_FIELDS
    assert (record["status"], record["deliveredAt"]) == ("sent", "2026-03-25 10:00:03.567+00")


def test_read_back_what_was_sent(mock: MockServer, checker: SpecChecker) -> None:
    record = sent_one(mock, checker, {"userIds": [SAM]})
    assert read(mock, checker, record["id"]) == record


@pytest.mark.parametrize("email_id", ["eml_1", "send", "eml_A7C3F1E28B4D4A9EB5C6D7E8F9012345",
                                      "eml_a7c3f1e28b4d4a9eb5c6d7e8f90123456", "msg_a7c3f1e28b4d4a9eb5c6d7e8f9012345"])
def test_malformed_id_is_400(mock: MockServer, checker: SpecChecker, email_id: str) -> None:
    response = get_email(mock, email_id)
    assert response.status_code == 400, response.text
    checker.assert_valid(response)
    assert response.json()["message"] == "'id' must be a valid UUID"


def test_unknown_id_is_404(mock: MockServer, checker: SpecChecker) -> None:
    response = get_email(mock, "eml_" + "0" * 32)
    assert response.status_code == 404
    checker.assert_valid(response)
    assert response.json()["message"] == "Resource not found"


@pytest.mark.parametrize("owner", [{"appId": "app_other", "organizationId": "org_demo"},
                                   {"appId": "app_demo", "organizationId": "org_other"}],
                         ids=["other-app", "other-organization"])
def test_someone_elses_email_is_404(mock: MockServer, checker: SpecChecker, owner: dict[str, str]) -> None:
    record = {**read(mock, checker, SEEDED_EMAIL), "id": "eml_" + "f" * 32, **owner}
    assert admin(mock, "POST", "/apis/maxcare/records/emails", json=record).status_code == 201
    response = get_email(mock, record["id"])
    assert response.status_code == 404
    checker.assert_valid(response)
    assert response.json()["message"] == "Resource not found"


# --- time: scheduled sends, delivery, bounces, opens ----------------------------------------------

def test_scheduled_send_is_sent_when_the_clock_gets_there(mock: MockServer, checker: SpecChecker) -> None:
    due = float(int(now(mock)) + 60)  # a whole second: the expected strings are exact
    scheduled_at = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = sent_one(mock, checker, {"patientIds": [JANE], "scheduledAt": scheduled_at})
    assert record["status"] == "scheduled"
    assert record["scheduledAt"] == scheduled_at.replace("Z", ".000Z")
    assert record["sentAt"] == stamp(due)  # when it will be sent: the spec does not let sentAt be null
    assert record["deliveredAt"] is None
    assert read(mock, checker, record["id"])["status"] == "scheduled"
    advance(mock, due - now(mock))
    seen = read(mock, checker, record["id"])
    assert (seen["status"], seen["sentAt"], seen["deliveredAt"]) == ("sent", stamp(due), None)
    advance(mock, 2)  # delivery_seconds
    assert read(mock, checker, record["id"])["deliveredAt"] == stamp(due + 2)


def test_scheduled_time_with_an_offset_or_in_the_past(mock: MockServer, checker: SpecChecker) -> None:
    due = float(int(now(mock)) + 3600)
    local = datetime.fromtimestamp(due, timezone(timedelta(hours=2))).isoformat()  # ...T02:00:00+02:00
    ahead = sent_one(mock, checker, {"patientIds": [JANE], "scheduledAt": local})
    assert (ahead["status"], ahead["sentAt"]) == ("scheduled", stamp(due))
    past = sent_one(mock, checker, {"patientIds": [JANE], "scheduledAt": "2020-01-01T00:00:00Z"})
    assert (past["status"], past["sentAt"], past["scheduledAt"]) == ("sent", past["createdAt"],
                                                                     "2020-01-01T00:00:00.000Z")


@pytest.mark.parametrize("value", ["tomorrow", "2026-03-25", "2026-13-01T10:00:00Z", "2026-03-25T25:00:00Z", ""])
def test_invalid_scheduled_at_is_400(mock: MockServer, checker: SpecChecker, value: str) -> None:
    assert_bad_request(checker, send(mock, {"patientIds": [JANE], "scheduledAt": value}),
                       "'scheduledAt' must be a valid ISO 8601 date-time")


def test_delivery_after_delivery_seconds(mock: MockServer, checker: SpecChecker) -> None:
    start = now(mock)
    record = sent_one(mock, checker, {"userIds": [SAM]})
    advance(mock, 1.5)
    assert read(mock, checker, record["id"])["deliveredAt"] is None
    advance(mock, 0.5)
    seen = read(mock, checker, record["id"])
    assert (seen["deliveredAt"], seen["bouncedAt"], seen["openedAt"]) == (stamp(start + 2), None, None)


def test_bounce_instead_of_delivery(mock: MockServer, checker: SpecChecker) -> None:
    start = now(mock)
    record = sent_one(mock, checker, {"patientIds": [BO]})
    advance(mock, 2)
    seen = read(mock, checker, record["id"])
    assert (seen["status"], seen["bouncedAt"], seen["deliveredAt"]) == ("sent", stamp(start + 2), None)
    advance(mock, 3600)
    assert read(mock, checker, record["id"])["openedAt"] is None  # a bounced email is never opened


def test_open_after_delivery(mock: MockServer, checker: SpecChecker) -> None:
    start = now(mock)
    record = sent_one(mock, checker, {"patientIds": [REED]})
    advance(mock, 2 + 59)
    seen = read(mock, checker, record["id"])
    assert (seen["deliveredAt"], seen["openedAt"]) == (stamp(start + 2), None)
    advance(mock, 1)
    assert read(mock, checker, record["id"])["openedAt"] == stamp(start + 62)


def test_admin_listing_shows_emails_as_they_are_now(mock: MockServer, checker: SpecChecker) -> None:
    record = sent_one(mock, checker, {"userIds": [SAM]})
    advance(mock, 2)
    listed = admin(mock, "GET", "/apis/maxcare/records/emails").json()["records"]
    mine = next(r for r in listed if r["id"] == record["id"])
    assert mine["deliveredAt"] is not None and mine["appId"] == "app_demo"


# --- the maxcare_bounces scenario ------------------------------------------------------------------

def test_bounces_scenario(mock: MockServer, checker: SpecChecker) -> None:
    with scenario(mock, "maxcare_bounces"):
        seeded = read(mock, checker, "eml_b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0")
        assert (seeded["deliveredAt"], seeded["bouncedAt"]) == (None, "2026-03-25 10:00:06.234+00")
        start = now(mock)
        response = send(mock, {"patientIds": [JANE, JOHN]})
        checker.assert_valid(response)
        data = response.json()["data"]
        assert [e["error"] for e in data["errors"]] == ["Patient has no email address on file"]
        email_id = data["sent"][0]["id"]
        advance(mock, 4)
        assert read(mock, checker, email_id)["bouncedAt"] is None  # delivery_seconds is 5 here
        advance(mock, 1)
        seen = read(mock, checker, email_id)
        assert (seen["bouncedAt"], seen["deliveredAt"]) == (stamp(start + 5), None)
    with scenario(mock, "maxcare_bounces"):  # loading a scenario restarts the sequences: same seed, same ids
        assert send(mock, {"patientIds": [JANE]}).json()["data"]["sent"][0]["id"] == email_id


# --- options -----------------------------------------------------------------------------------

@pytest.mark.parametrize("options, problem", [
    ({"delivery_seconds": -1}, "maxcare.options.delivery_seconds: Must be greater than or equal to 0"),
    ({"delivery_seconds": "soon"}, "maxcare.options.delivery_seconds: Not a valid number."),
    ({"bounce_rate": 0.1}, "maxcare.options.bounce_rate: Unknown field."),
])
def test_options_are_checked(options: dict[str, t.Any], problem: str) -> None:
    _, problems = behaviour.load_options(options, "maxcare.options")
    assert any(p.startswith(problem) for p in problems), problems


def test_options_default() -> None:
    assert behaviour.load_options({}, "maxcare.options") == ({"delivery_seconds": 2.0}, [])


# --- MaxCare's own words -------------------------------------------------------------------------

@pytest.mark.parametrize("sender", ["", "me@gmail.com", "two words", "dot.", "@"])
def test_from_is_a_local_part_only(mock: MockServer, checker: SpecChecker, sender: str) -> None:
    response = send(mock, {**MESSAGE, "patientIds": [JANE], "from": sender})
    assert_bad_request(checker, response, "'from' must be a valid email prefix")


def test_a_dotted_prefix_is_a_valid_sender(mock: MockServer, checker: SpecChecker) -> None:
    record = sent_one(mock, checker, {"patientIds": [JANE], "from": "front.desk+reminders"})
    assert record["fromAddress"] == "front.desk+reminders@accounts.maxcare.ai"


@pytest.mark.parametrize("body, message", [
    ({"subject": None}, "'subject' is required"),
    ({"html": None}, "'html' is required"),
    ({"subject": 5}, "'subject' must be a string"),
    ({"patientIds": "pat_1"}, "'patientIds' must be an array"),
])
def test_schema_checks_speak_maxcare(mock: MockServer, checker: SpecChecker, body: dict[str, t.Any],
                                     message: str) -> None:
    sent = {k: v for k, v in {**MESSAGE, "patientIds": [JANE], **body}.items() if v is not None}
    response = requests.post(mock.url(API + "/emails/send"), json=sent, headers=DEMO, timeout=10)
    assert_bad_request(checker, response, message)


def test_a_missing_organization_header_speaks_maxcare(mock: MockServer, checker: SpecChecker) -> None:
    response = send(mock, {**MESSAGE, "patientIds": [JANE]}, {"Authorization": DEMO["Authorization"]})
    assert_bad_request(checker, response, "'X-Organization-Id' is required")
