"""Sessions (issue 19): isolated worlds in one server, under /@<id> and /__mocksrv/sessions/<id>/."""

from __future__ import annotations

import typing as t

import pytest
import requests

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from mocksrv import Options
from mocksrv import create_app
from mocksrv.engine.sessions import Sessions
from mocksrv.engine.sessions import split_session

MAIL = {"from": "Team <team@example.com>", "to": "ada@example.com", "subject": "Hi", "html": "<p>Hi</p>"}
KEY = {"Authorization": "Bearer md_demo"}
ADMIN = "/__mocksrv"


@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--clock-start", "2026-03-25T10:00:00Z")
    yield server
    server.stop()


def new_session(mock: MockServer, **body: t.Any) -> dict[str, t.Any]:
    made = requests.post(mock.url(f"{ADMIN}/sessions"), json=body, timeout=10)
    assert made.status_code == 201, made.text
    return t.cast(dict[str, t.Any], made.json())


def admin(mock: MockServer, method: str, path: str, **kwargs: t.Any) -> requests.Response:
    return requests.request(method, mock.url(ADMIN + path), timeout=10, **kwargs)


def test_two_sessions_do_not_see_each_other(mock: MockServer) -> None:
    one = new_session(mock, scenario="rate_limited")
    other = new_session(mock, scenario="rate_limited")
    send_one = one["apis"]["maildiver"] + "/emails"
    assert send_one == mock.url(f"/@{one['id']}/maildiver/v1/emails")
    sent = [requests.post(send_one, json=MAIL, headers=KEY, timeout=10) for _ in range(4)]
    assert [answer.status_code for answer in sent] == [201, 201, 201, 429]  # 3 a minute in this scenario
    admin(mock, "POST", f"/sessions/{one['id']}/clock", json={"advance_seconds": 3600})

    # the other world: no records, its own counters, its own clock, its own journal
    records = "/sessions/{}/apis/maildiver/records/emails"
    assert admin(mock, "GET", records.format(one["id"])).json()["total"] == 3
    assert admin(mock, "GET", records.format(other["id"])).json()["total"] == 0
    assert requests.post(other["apis"]["maildiver"] + "/emails", json=MAIL, headers=KEY, timeout=10).status_code == 201
    clocks = [admin(mock, "GET", f"/sessions/{s['id']}/clock").json()["now"] for s in (one, other)]
    assert clocks[0] != clocks[1] and clocks[1].startswith("2026-03-25T10:0")
    journals = [admin(mock, "GET", f"/sessions/{s['id']}/requests").json()["count"] for s in (one, other)]
    assert journals == [4, 1]
    # and the server's own world saw none of it
    assert all("emails" not in e["path"] for e in admin(mock, "GET", "/requests").json()["requests"])
    assert admin(mock, "GET", "/apis/maildiver/records/emails").json()["total"] == 0


def test_a_session_s_admin_api_names_its_own_base_urls(mock: MockServer) -> None:
    made = new_session(mock, id="t-apis")
    apis = admin(mock, "GET", "/sessions/t-apis/apis").json()
    by_id = {api["id"]: api["base_url"] for api in apis["apis"]}
    assert by_id == made["apis"] and by_id["maxcare"] == mock.url("/@t-apis/maxcare/v3")
    listed = admin(mock, "GET", "/sessions").json()["sessions"]
    assert "t-apis" in [s["id"] for s in listed]
    assert admin(mock, "GET", "/sessions/t-apis").json()["scenario"] == "default"


def test_an_inline_scenario_is_the_session_s_alone(mock: MockServer) -> None:
    fixture = {"scenario": {"extends": "default"}, "maildiver": {"rate_limit": {"limit": 1, "window_seconds": 60}}}
    made = new_session(mock, id="t-inline", fixture=fixture)
    send = made["apis"]["maildiver"] + "/emails"
    assert [requests.post(send, json=MAIL, headers=KEY, timeout=10).status_code for _ in range(2)] == [201, 429]
    assert "session-t-inline" not in [s["name"] for s in admin(mock, "GET", "/scenarios").json()["scenarios"]]


def test_deleted_and_unknown_sessions_are_404(mock: MockServer) -> None:
    made = new_session(mock, id="t-gone")
    assert admin(mock, "DELETE", "/sessions/t-gone").status_code == 204
    for answer in (requests.post(made["apis"]["maildiver"] + "/emails", json=MAIL, headers=KEY, timeout=10),
                   admin(mock, "GET", "/sessions/t-gone/requests"), admin(mock, "DELETE", "/sessions/t-gone")):
        assert answer.status_code == 404
        assert answer.json()["detail"] == "no session 't-gone': it was never made, was deleted, or expired unused"


@pytest.mark.parametrize("body, status, detail", [
    ({"id": "bad id"}, 400, "session id 'bad id' must be 1-64 letters, digits, '.', '_' or '-', "
                            "starting with a letter or digit"),
    ({"scenario": "nope"}, 400, "the session's scenario is invalid"),
    ({"colour": "red"}, 400, 'send {}, or any of {"id": "<id>", "scenario": "<name>", '
                             '"fixture": {<fixture format>}}'),
])
def test_a_session_that_cannot_be_made_is_a_clear_400(mock: MockServer, body: dict[str, t.Any], status: int,
                                                     detail: str) -> None:
    answer = admin(mock, "POST", "/sessions", json=body)
    assert (answer.status_code, answer.json()["detail"]) == (status, detail)


def test_a_taken_id_is_409(mock: MockServer) -> None:
    new_session(mock, id="t-twice")
    assert admin(mock, "POST", "/sessions", json={"id": "t-twice"}).status_code == 409


# -- in process ---------------------------------------------------------------------------------------

def test_idle_sessions_expire_and_the_limit_holds() -> None:
    app = create_app(Options(specs=[SPECS], fixtures=FIXTURES, session_idle_seconds=60, max_sessions=2))
    now = [1000.0]
    sessions = Sessions(app.extensions["mocksrv"].pipeline, app.extensions["mocksrv"].options, clock=lambda: now[0])
    sessions.create("a")
    now[0] += 30
    sessions.create("b")
    with pytest.raises(Exception, match="the server holds 2 sessions, its limit"):
        sessions.create("c")
    now[0] += 45  # a: 75 s idle, b: 45 s
    assert [s.id for s in sessions.all()] == ["b"]
    assert sessions.get("a") is None
    sessions.create("c")
    assert sessions.get("b") is not None  # used now: its idle time starts again
    now[0] += 59
    assert [s.id for s in sessions.all()] == ["b", "c"]
    now[0] += 2
    assert sessions.all() == []


def test_split_session() -> None:
    assert split_session("/@t42/maildiver/v1/emails") == ("t42", "/maildiver/v1/emails")
    assert split_session("/@t42") == ("t42", "/")
    assert split_session("/maildiver/v1/emails") is None
