"""Rules that pick the answer from the request itself: from fixtures and from the admin API."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
import requests

from conftest import SPECS
from conftest import MockServer
from conftest import SpecChecker
from conftest import restore
from mocksrv.state.rules import holds
from mocksrv.state.rules import pointer

KEY = {"Authorization": "Bearer md_demo"}
SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "html": "<p>x</p>"}


@pytest.fixture()
def mock(module_server: MockServer) -> MockServer:
    restore(module_server)
    return module_server


def send(mock: MockServer, timeout: float = 10, **fields: t.Any) -> requests.Response:
    return requests.post(mock.url("/maildiver/v1/emails"), json={**SEND, **fields}, headers=KEY, timeout=timeout)


def add_rule(mock: MockServer, **rule: t.Any) -> requests.Response:
    return requests.post(mock.url("/__mocksrv/rules"), json=rule, timeout=10)


def test_the_default_scenario_invents_no_rules(mock: MockServer) -> None:
    assert send(mock, to=["ok@example.com", "bounce@example.com"]).status_code == 201
    assert send(mock, timeout=1.5, subject="Report [slow]").status_code == 201


def test_fixture_rule_refuses_a_bouncing_address(mock: MockServer) -> None:
    restore(mock, "maildiver_suppression")
    response = send(mock, to=["ok@example.com", "bounce@example.com"])
    assert response.status_code == 400
    assert response.json() == {"message": "Recipient bounce@example.com is on the suppression list"}
    SpecChecker(SPECS / "maildiver.yaml", mock.base_url).assert_valid(response)
    assert send(mock).status_code == 201  # other recipients are fine


def test_fixture_rule_adds_latency(mock: MockServer) -> None:
    restore(mock, "maildiver_suppression")
    with pytest.raises(requests.exceptions.ReadTimeout):
        send(mock, timeout=0.3, subject="Report [slow]")


def test_admin_rule_with_header_condition_and_times(mock: MockServer) -> None:
    created = add_rule(mock, api="maildiver", operation="sendEmail", times=1,
                       match=[{"in": "header", "name": "X-Scenario", "equals": "quota"}],
                       then={"status": 403, "body": {"message": "Quota exhausted"}})
    assert created.status_code == 201, created.text
    headers = {**KEY, "X-Scenario": "quota"}
    first = requests.post(mock.url("/maildiver/v1/emails"), json=SEND, headers=headers, timeout=10)
    assert (first.status_code, first.json()["message"]) == (403, "Quota exhausted")
    assert requests.post(mock.url("/maildiver/v1/emails"), json=SEND, headers=headers, timeout=10).status_code == 201


def test_rule_with_regex_and_one_of_and_drop(mock: MockServer) -> None:
    add_rule(mock, api="maildiver", match=[{"in": "body", "path": "/from", "regex": "^ops@"},
                                           {"in": "body", "path": "/subject", "one_of": ["Down", "Outage"]}],
             then={"drop": True})
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        send(mock, **{"from": "ops@example.com", "subject": "Outage"})
    assert send(mock, **{"from": "ops@example.com", "subject": "Fine"}).status_code == 201


def test_rules_go_with_a_reset(mock: MockServer) -> None:
    rule = add_rule(mock, api="maildiver", match=[], then={"status": 404}).json()
    assert send(mock).status_code == 404
    listed = requests.get(mock.url("/__mocksrv/rules"), timeout=10).json()["rules"]
    assert rule["id"] in [r["id"] for r in listed]
    requests.post(mock.url("/__mocksrv/reset"), timeout=10)
    assert send(mock).status_code == 201
    assert requests.delete(mock.url(f"/__mocksrv/rules/{rule['id']}"), timeout=10).status_code == 404


@pytest.mark.parametrize("rule, text", [
    ({"api": "maildiver", "then": {}}, "a rule's `then` needs status, latency_ms or drop"),
    ({"api": "maildiver", "match": [{"in": "body", "equals": 1}], "then": {"drop": True}},
     "match[0].path: a body condition needs a JSON pointer path"),
    ({"api": "maildiver", "match": [{"in": "query", "name": "x"}], "then": {"drop": True}}, "give exactly one of"),
    ({"api": "maildiver", "match": [{"in": "query", "name": "x", "regex": "("}], "then": {"drop": True}},
     "not a valid regular expression"),
    ({"api": "maildiver", "operation": "sendEmail", "then": {"status": 500}}, "sendEmail declares no 500 response"),
    ({"api": "maildiver", "operation": "nope", "then": {"status": 400}}, "no operation 'nope'"),
    ({"api": "maildiver", "then": {"latency_ms": 1, "body": {"a": 1}}}, "body overrides need a status"),
])
def test_bad_rules_are_400_naming_the_problem(mock: MockServer, rule: dict[str, t.Any], text: str) -> None:
    response = add_rule(mock, **rule)
    assert response.status_code == 400
    assert text in response.text, response.text


def test_broken_rule_in_a_fixture_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text(
        "maildiver:\n  rules:\n    - match: [{in: body, path: /to, contains: x}]\n      then: {status: 9}\n")
    server = None
    with pytest.raises(RuntimeError) as caught:
        server = MockServer("--specs", str(SPECS), "--fixtures", str(tmp_path))
    assert server is None
    assert "maildiver.rules[0].then.status: Must be greater than or equal to 100" in str(caught.value)


def test_pointer_and_conditions() -> None:
    body = {"to": ["a@x.com", "b@x.com"], "a/b": {"~k": 5}}
    assert pointer(body, "/to/1") == "b@x.com"
    assert pointer(body, "/a~1b/~0k") == 5
    assert holds({"exists": False}, pointer(body, "/nope"))
    assert holds({"contains": "a@x.com"}, body["to"]) and not holds({"contains": "c@"}, body["to"])
    assert holds({"equals": "5"}, 5) and holds({"one_of": [1, 5]}, 5)
    assert holds({"regex": "^b@"}, "b@x.com") and not holds({"equals": 1}, pointer(body, "/missing"))
