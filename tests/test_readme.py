"""The README's curl calls work as written against the bundled specs and default scenario."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from conftest import FIXTURES
from conftest import ROOT
from conftest import SPECS
from conftest import MockServer

EXPECTED = [200, 200, 201, 200, 200, 200, 200, 400]  # the last call is the documented bad one
WALKTHROUGH = [200, 403, 201, 200, 400, 200, 200, 200, 400, 200, 403]


def run_block(index: int, base_url: str) -> tuple[list[int], str]:
    """Run the README's ``index``-th sh block against ``base_url``; the statuses of its curls."""
    readme = (ROOT / "README.md").read_text()
    block = re.findall(r"```sh\n(.*?)```", readme, re.S)[index]
    script = "curl() { command curl -sS -w '\\n%{http_code}\\n' \"$@\"; }\n" + block.replace(
        "http://127.0.0.1:4010", base_url)
    run = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return [int(line) for line in run.stdout.splitlines() if re.fullmatch(r"\d{3}", line)], run.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curls(bundled: MockServer) -> None:
    statuses, output = run_block(1, bundled.base_url)
    assert statuses == EXPECTED, output
    assert '{"message":"to field is required"}' in output


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_walkthroughs() -> None:
    fresh = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--strict")  # it moves the clock
    try:
        statuses, output = run_block(2, fresh.base_url)
    finally:
        fresh.stop()
    assert statuses == WALKTHROUGH, output
    for text in ("Patient has no email address on file", "Insufficient scope",
                 "Welcome, Ada!", "Pro Plan", "template_id cannot be used together with html",
                 "Se requiere al menos un destinatario", "@mail.yourdomain.com>", "domain_not_verified"):
        assert text in output, text


def test_every_bundled_scenario_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    listed = re.findall(r"^\| `([a-z0-9_]+)` \|", readme, re.M)
    assert sorted(listed) == sorted(path.stem for path in FIXTURES.glob("*.yaml"))
