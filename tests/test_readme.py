"""The README's curl calls work as written against the bundled specs and default scenario."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from conftest import ROOT
from conftest import MockServer

EXPECTED = [200, 200, 201, 200, 200, 200, 200, 400]  # the last call is the documented bad one


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curls(bundled: MockServer) -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.findall(r"```sh\n(.*?)```", readme, re.S)[1]
    script = "curl() { command curl -sS -w '\\n%{http_code}\\n' \"$@\"; }\n" + block.replace(
        "http://127.0.0.1:4010", bundled.base_url)
    run = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    statuses = [int(line) for line in run.stdout.splitlines() if re.fullmatch(r"\d{3}", line)]
    assert statuses == EXPECTED, run.stdout
    assert '{"message": "to field is required"}' in run.stdout
