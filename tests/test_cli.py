"""The command line: --skip-invalid, a port in use, the per-request log line."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

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
