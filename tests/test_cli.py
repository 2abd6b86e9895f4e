"""The command line: --skip-invalid, a port in use, the per-request log line."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import ROOT
from conftest import SPECS
from conftest import MockServer


def test_skip_invalid_serves_the_others(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("openapi: 3.0.3\ninfo: {title: T}\npaths: {}\n")
    (tmp_path / "maildiver.yaml").write_text((SPECS / "maildiver.yaml").read_text())
    mock = MockServer("--specs", str(tmp_path), "--skip-invalid")
    try:
        apis = requests.get(mock.url("/__mocksrv/apis"), timeout=10).json()["apis"]
        assert [api["id"] for api in apis] == ["maildiver"]
    finally:
        mock.stop()
    assert any("skipped" in line and "broken.yaml" in line for line in mock.lines)


def test_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--port", str(port), "--specs", str(SPECS)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == f"mocksrv: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert "Traceback" not in run.stderr


def test_one_log_line_per_request(server: MockServer) -> None:
    requests.get(server.url("/maildiver/v1/emails?probe=1"), timeout=10)
    line = server.log_line("probe=1")
    assert line.split("mocksrv.requests: ")[1].startswith("GET /maildiver/v1/emails?probe=1 405 ")
    assert line.endswith("ms")


def test_quiet_drops_the_request_lines_but_not_the_journal() -> None:
    quiet = MockServer("--specs", str(SPECS), "--quiet")
    try:
        requests.get(quiet.url("/maildiver/v1/emails?probe=quiet"), timeout=10)
        journal = requests.get(quiet.url("/__mocksrv/requests"), timeout=10).json()
        assert [entry["path"] for entry in journal["requests"]] == ["/maildiver/v1/emails"]
    finally:
        quiet.stop()
    assert any("serving 4 APIs on" in line for line in quiet.lines)
    assert not [line for line in quiet.lines if "mocksrv.requests" in line or "probe=quiet" in line]


def mocksrv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mocksrv", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def one_line(run: subprocess.CompletedProcess[str]) -> str:
    """The only line of stderr, which is where every refusal goes."""
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_a_port_out_of_range_is_one_clear_line(port: str) -> None:
    run = mocksrv("serve", "--port", port)
    assert run.returncode == 2
    assert one_line(run) == f"mocksrv: --port must be between 0 and 65535 (0 picks a free port); got {port}"


def test_a_db_in_a_folder_that_does_not_exist_names_that_folder(tmp_path: Path) -> None:
    db = tmp_path / "nowhere" / "state.db"
    run = mocksrv("serve", "--port", "0", "--db", str(db))
    assert run.returncode == 2
    assert one_line(run) == (f"mocksrv: cannot serve {db}: the folder {db.parent} does not exist "
                             "(mocksrv creates the file, not folders)")


@pytest.mark.parametrize("command, prefix, code", [("serve", "mocksrv: cannot serve ", 2), ("check", "error: ", 1)])
def test_an_empty_specs_folder_is_refused(tmp_path: Path, command: str, prefix: str, code: int) -> None:
    run = mocksrv(command, "--specs", str(tmp_path))
    assert run.returncode == code
    assert one_line(run) == f"{prefix}{tmp_path}: no spec files in this folder (*.yaml, *.yml, *.json)"


REF_SPEC = """\
openapi: 3.0.3
info: {title: R, version: "1"}
paths:
  /a:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "%s"}}}}
"""


def test_an_unresolvable_ref_is_named_not_the_whole_spec(tmp_path: Path) -> None:
    (tmp_path / "local.yaml").write_text(REF_SPEC % "#/components/schemas/Nope")
    run = mocksrv("check", "--specs", str(tmp_path / "local.yaml"))
    assert run.returncode == 1
    assert one_line(run) == (f"error: {tmp_path / 'local.yaml'}: unresolvable $ref: nothing at "
                             "#/components/schemas/Nope in the document")
    (tmp_path / "remote.yaml").write_text(REF_SPEC % "other.yaml#/Thing")
    run = mocksrv("check", "--specs", str(tmp_path / "remote.yaml"))
    assert one_line(run) == (f"error: {tmp_path / 'remote.yaml'}: unresolvable $ref other.yaml#/Thing: "
                             "cannot read file: No such file or directory")


def test_yaml_errors_name_the_file_and_the_place(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "y.yaml").write_text("openapi: 3.0.3\ninfo: {title: [\n")
    run = mocksrv("check", "--specs", str(tmp_path / "specs"))
    assert one_line(run) == (f"error: {tmp_path / 'specs' / 'y.yaml'}: not valid YAML: while parsing a flow node "
                             "did not find expected node content (line 3, column 1)")
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "broken.yaml").write_text("maildiver:\n  api_keys: [\n")
    run = mocksrv("check", "--specs", str(SPECS), "--fixtures", str(tmp_path / "fixtures"))
    assert run.returncode == 1 and "<unicode string>" not in run.stderr
    assert f"error: {tmp_path / 'fixtures' / 'broken.yaml'}: not valid YAML: " in run.stderr
    assert "(line 3, column 1)" in run.stderr


def test_version() -> None:
    run = mocksrv("--version")
    assert (run.returncode, run.stdout.strip()) == (0, "mocksrv 0.1.0")


def test_the_start_up_line_shows_the_console(server: MockServer) -> None:
    assert f"mocksrv: serving 4 APIs on {server.base_url} (console: {server.base_url}/__mocksrv/ui/)" in server.lines


def test_check_counts_in_words(tmp_path: Path) -> None:
    run = mocksrv("check", "--specs", str(SPECS / "maildiver.yaml"))
    assert f"ok: {SPECS / 'maildiver.yaml'} (maildiver, OpenAPI 3.1.0, 1 operation)" in run.stdout


def test_without_specs_outside_a_checkout_says_what_to_pass(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--port", "0"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2
    assert one_line(run) == "mocksrv: no ./specs folder here; pass --specs with your OpenAPI file or folder"


# -- mocksrv requests, mocksrv sessions, serve --open --------------------------------------------------------

MAIL = {"from": "a@example.com", "to": "b@example.com", "subject": "s", "html": "<p>x</p>"}
KEY = {"Authorization": "Bearer md_demo"}


def test_requests_prints_the_journal_one_line_each(bundled: MockServer) -> None:
    requests.delete(bundled.url("/__mocksrv/requests"), timeout=10)
    assert requests.post(bundled.url("/maildiver/v1/emails"), json=MAIL, headers=KEY, timeout=10).status_code == 201
    bad = {k: v for k, v in MAIL.items() if k != "to"}
    assert requests.post(bundled.url("/maildiver/v1/emails"), json=bad, headers=KEY, timeout=10).status_code == 400
    run = mocksrv("requests", "--url", bundled.base_url)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2 and "\x1b[" not in run.stdout  # oldest first; no colour when not a terminal
    assert lines[0].endswith(" 201 maildiver sendEmail POST /maildiver/v1/emails")
    assert lines[1].endswith(" 400 maildiver sendEmail POST /maildiver/v1/emails  (to: to field is required)")
    invalid = mocksrv("requests", "--url", bundled.base_url, "--invalid")
    assert len(invalid.stdout.splitlines()) == 1


def test_requests_follow_prints_new_requests_as_they_come(bundled: MockServer) -> None:
    command = [sys.executable, "-m", "mocksrv", "requests", "--url", bundled.base_url, "--follow", "--limit", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as follower:
        try:
            assert follower.stdout is not None
            # a request each second until the follower (started, then polling every 0.5 s) prints
            # one: on a loaded machine its start-up alone can take seconds. Bounded: 20 tries.
            for _ in range(20):
                requests.get(bundled.url("/maildiver/v1/nothing-here"), timeout=10)
                ready, _, _ = select.select([follower.stdout], [], [], 1.0)
                if ready:
                    break
            assert ready, "mocksrv requests --follow printed nothing within 20 s"
            assert " 404 maildiver - GET /maildiver/v1/nothing-here" in follower.stdout.readline()
        finally:
            follower.terminate()  # our own child, by its PID
            follower.wait(10)


def test_sessions_lists_each_with_its_base_urls(bundled: MockServer) -> None:
    requests.post(bundled.url("/__mocksrv/sessions"), json={"id": "cli-listed"}, timeout=10)
    run = mocksrv("sessions", "--url", bundled.base_url)
    assert run.returncode == 0, run.stderr
    assert "cli-listed  scenario default" in run.stdout
    assert f"maildiver            {bundled.base_url}/@cli-listed/maildiver/v1" in run.stdout
    requests.delete(bundled.url("/__mocksrv/sessions/cli-listed"), timeout=10)


def test_requests_against_no_server_is_one_clear_line() -> None:
    run = mocksrv("requests", "--url", "http://127.0.0.1:9")
    assert run.returncode == 1 and "failed" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_serve_open_opens_the_console_in_the_browser(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    browser.chmod(0o755)
    os.environ["BROWSER"] = str(browser)  # webbrowser's choice of browser, inherited by the server
    try:
        server = MockServer("--specs", str(SPECS), "--open")
    finally:
        del os.environ["BROWSER"]
    try:
        for _ in range(50):  # bounded: the browser is started in the background
            if opened.exists() and opened.read_text().strip():
                break
            time.sleep(0.1)
        assert opened.read_text().strip() == f"{server.base_url}/__mocksrv/ui/"
    finally:
        server.stop()
