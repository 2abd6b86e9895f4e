"""The pytest plugin and the admin client: the example project's suite passes, contract mode fails a test that
sends a request the spec rejects (unless it opts out), the server starts only when a test needs it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import typing as t
from pathlib import Path

import pytest

from conftest import FIXTURES
from conftest import ROOT
from conftest import SPECS
from conftest import MockServer
from mocksrv.client import MocksrvClient
from mocksrv.client import MocksrvError


def run_pytest(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    # -p no:cacheprovider: nothing written next to the example or into tmp folders' parents
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def write_project(folder: Path, tests: str, specs: Path = SPECS) -> None:
    (folder / "pytest.ini").write_text(textwrap.dedent(f"""\
        [pytest]
        addopts = --strict-markers
        mocksrv_specs = {specs}
        mocksrv_fixtures = {FIXTURES}
        mocksrv_args = --strict
        """))
    (folder / "test_inner.py").write_text(textwrap.dedent(tests))


def test_example_suite_passes() -> None:
    result = run_pytest("examples/notify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


CONTRACT_TESTS = """\
    import pytest
    import requests

    BAD = {"from": "team@example.com", "subject": "no recipient"}  # `to` is required by the spec


    def send(mocksrv):
        return requests.post(mocksrv.base_url("maildiver") + "/emails", json=BAD, timeout=10,
                             headers={"Authorization": "Bearer md_demo"})


    def test_breaks_the_contract(mocksrv):
        assert send(mocksrv).status_code == 400  # the test itself passes


    def test_calls_a_path_the_spec_does_not_have(mocksrv):
        assert requests.get(mocksrv.base_url("maildiver") + "/emails/e1/opens", timeout=10).status_code == 404


    def test_calls_a_method_the_spec_does_not_have(mocksrv):
        assert requests.delete(mocksrv.base_url("maildiver") + "/emails", timeout=10).status_code == 405


    @pytest.mark.mocksrv(contract=False)
    def test_sends_a_bad_request_on_purpose(mocksrv):
        assert send(mocksrv).status_code == 400


    @pytest.mark.mocksrv(scenario="rate_limited")
    def test_scenario_marker(mocksrv):
        assert mocksrv.client.scenarios()["current"] == "rate_limited"


    def test_back_to_the_default_scenario(mocksrv):
        assert mocksrv.client.scenarios()["current"] == "default"
        assert mocksrv.requests() == []  # the journal starts empty for each test
"""


def test_contract_mode_fails_a_test_that_sent_an_invalid_request(tmp_path: Path) -> None:
    write_project(tmp_path, CONTRACT_TESTS)
    result = run_pytest("-rA", cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "3 failed, 3 passed" in out
    assert "FAILED test_inner.py::test_breaks_the_contract" in out
    assert "FAILED test_inner.py::test_calls_a_path_the_spec_does_not_have" in out
    assert "FAILED test_inner.py::test_calls_a_method_the_spec_does_not_have" in out
    assert "GET /maildiver/v1/emails/e1/opens -> 404" in out
    assert "no operation of API 'maildiver' matches the path /emails/e1/opens" in out
    assert "DELETE /maildiver/v1/emails -> 405" in out
    assert "mocksrv contract: 1 request(s) broke the spec" in out
    assert "POST /maildiver/v1/emails -> 400" in out
    assert "to (body): to field is required" in out
    assert "PASSED test_inner.py::test_sends_a_bad_request_on_purpose" in out


def test_no_server_without_the_fixture(tmp_path: Path) -> None:
    # a spec path that cannot be served: starting the server would fail the session
    write_project(tmp_path, "def test_plain():\n    assert True\n", specs=tmp_path / "missing")
    result = run_pytest(cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.fixture(scope="module")
def admin() -> t.Iterator[MocksrvClient]:
    mock = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--strict")
    yield MocksrvClient(mock.base_url)
    mock.stop()


def test_client_round_trip(admin: MocksrvClient) -> None:
    assert admin.health()["apis"] == 4
    assert admin.base_url_of("maildiver").endswith("/maildiver/v1")
    fault_id = admin.fault(api="maildiver", operation_id="sendEmail", status=404, times=1)
    assert [f["id"] for f in admin.faults()] == [fault_id]
    admin.clear_faults()
    assert admin.faults() == []
    admin.clock.freeze()
    before = admin.clock.now()
    assert (admin.clock.advance(90) - before).total_seconds() == 90
    admin.put_record("maildiver", "templates", {"id": "tpl-x", "html": "<p>x</p>"})
    assert any(r["id"] == "tpl-x" for r in admin.records("maildiver", "templates"))
    assert admin.reset() == "default"
    assert not admin.clock.state()["frozen"]
    assert all(r["id"] != "tpl-x" for r in admin.records("maildiver", "templates"))


def test_client_errors_carry_the_problem(admin: MocksrvClient) -> None:
    with pytest.raises(MocksrvError) as raised:
        admin.fault(api="maildiver", status=200)
    assert raised.value.status == 400 and raised.value.detail == "the fault is invalid"
    assert any(e.startswith("status:") for e in raised.value.errors)
    with pytest.raises(MocksrvError) as raised:
        admin.scenario({"maildiver": {"api_keys": [{"key": 1}]}})
    assert "maildiver.api_keys[0].key: Not a valid string." in str(raised.value)
    with pytest.raises(MocksrvError) as raised:
        admin.base_url_of("nope")
    assert raised.value.status == 404
    with pytest.raises(TypeError):
        admin.requests(bogus=1)
    with pytest.raises(MocksrvError) as raised:
        MocksrvClient("http://127.0.0.1:9", timeout=2).health()
    assert raised.value.status == 0


def test_the_parallel_example_runs_under_xdist_with_a_server_per_worker() -> None:
    started = time.monotonic()
    result = run_pytest("-n", "4", "examples/parallel")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "200 passed" in result.stdout
    print(f"\nexamples/parallel, -n 4, a server per worker: {time.monotonic() - started:.1f} s")


@pytest.mark.parametrize("sessions", [True, False])
def test_workers_sharing_one_server_are_isolated_by_sessions_only(sessions: bool) -> None:
    shared = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--strict")  # started outside pytest
    try:
        started = time.monotonic()
        result = run_pytest("-n", "4", "--mocksrv-url", shared.base_url, "-o", f"mocksrv_sessions={sessions}",
                            "examples/parallel")
        elapsed = time.monotonic() - started
    finally:
        shared.stop()
    if sessions:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "200 passed" in result.stdout
        print(f"\nexamples/parallel, -n 4, one shared server: {elapsed:.1f} s")
    else:  # one world for four workers: tests see each other's emails (and resets)
        assert result.returncode == 1 and " failed" in result.stdout, result.stdout[-3000:]


def test_attaching_to_nothing_is_one_clear_error(tmp_path: Path) -> None:
    write_project(tmp_path, "def test_uses_it(mocksrv):\n    pass\n")
    result = run_pytest("--mocksrv-url", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode != 0
    assert "mocksrv_url http://127.0.0.1:9: no mocksrv answers there" in result.stdout + result.stderr


WEBHOOK_TESTS = """\
    import pytest
    import requests
    from mocksrv.receiver import BadSignature

    SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


    def test_an_email_is_delivered_to_my_handler(mocksrv, webhook_receiver):
        mocksrv.clock.freeze()
        mocksrv.subscribe("send-service", webhook_receiver, events=["delivered"], secret=SECRET)
        sent = requests.post(mocksrv.base_url("send-service") + "/api/v1/send", headers={"X-API-Key": "ss_demo"},
                             json={"to": "ann@example.com", "subject": "Hi", "text": "x",
                                   "metadata": {"order": "o-1"}}, timeout=10)
        assert sent.status_code == 200
        mocksrv.clock.advance(60)
        [delivered] = webhook_receiver.wait_for(1, event="delivered")
        assert delivered.verified(SECRET)["data"]["metadata"] == {"order": "o-1"}
        with pytest.raises(BadSignature):
            delivered.verified("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB")
        [listed] = mocksrv.deliveries(state="delivered", at_least=1)
        assert listed["webhook_id"] == delivered.headers["webhook-id"]
"""


def test_the_plugin_s_receiver_gets_a_session_s_webhooks(tmp_path: Path) -> None:
    """Each test runs in a session of its own: the courier delivers for sessions as for the server."""
    write_project(tmp_path, WEBHOOK_TESTS)
    result = run_pytest("-rA", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
