"""Fixture files: every problem named with the file, the path inside it and the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES
from conftest import ROOT
from conftest import SPECS
from mocksrv.errors import FixtureError
from mocksrv.fixtures import FixtureSet
from mocksrv.specs import load_specs

APIS, _ = load_specs([SPECS])


def folder_with(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("text, line", [
    ("maxcare:\n  api_keys:\n    - {key: k, scopes: emails:send}\n", "maxcare.api_keys[0].scopes: Not a valid list."),
    ("maxcare:\n  api_key: []\n", "maxcare.api_key: Unknown field."),
    ("maxcare:\n  api_keys:\n    - {key: k}\n    - {key: j}\n    - {key: k}\n",
     "maxcare.api_keys[2].key: duplicate key 'k' (also api_keys[0])"),
    ("maxcare:\n  api_keys:\n    - {key: k, status: paused}\n", "maxcare.api_keys[0].status: Must be one of"),
    ("maxcare:\n  rate_limit: {limit: 0, window_seconds: 60}\n", "maxcare.rate_limit.limit: Must be greater"),
    ("maxcare:\n  records:\n    emails: {id: 1}\n", "maxcare.records.emails: Not a valid list."),
    ("scenario:\n  extend: default\n", "scenario.extend: Unknown field."),
    ("- just a list\n", "the file must be a mapping"),
    ("maxcare: [unclosed\n", "not valid YAML"),
])
def test_invalid_file_is_refused_with_its_path(tmp_path: Path, text: str, line: str) -> None:
    with pytest.raises(FixtureError) as caught:
        FixtureSet(folder_with(tmp_path, broken=text))
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "broken.yaml") + ": ")
    assert line in message


def test_unknown_api_and_operation_are_refused(tmp_path: Path) -> None:
    fixtures = FixtureSet(folder_with(tmp_path, s="nosuch: {}\nmaxcare:\n  operation_scopes: {sendIt: [x]}\n"))
    problems = fixtures.check_against(APIS)
    assert any("s.yaml: nosuch: no API with this id is loaded" in p for p in problems)
    assert any("maxcare.operation_scopes.sendIt: no such operationId in maxcare.yaml" in p for p in problems)


def test_extends_cycle_and_unknown_base(tmp_path: Path) -> None:
    fixtures = FixtureSet(folder_with(tmp_path, a="scenario: {extends: b}\n", b="scenario: {extends: a}\n",
                                      c="scenario: {extends: nope}\n"))
    with pytest.raises(FixtureError, match="cycle a -> b -> a"):
        fixtures.scenario("a")
    with pytest.raises(FixtureError, match="no scenario named 'nope'"):
        fixtures.scenario("c")


def test_extends_overrides_only_what_it_states() -> None:
    scenario = FixtureSet(FIXTURES).scenario("rate_limited")
    maxcare = scenario.api("maxcare")
    assert maxcare.rate_limit is not None and maxcare.rate_limit.limit == 3
    assert maxcare.key("mk_live_demo") is not None  # inherited from default
    assert maxcare.records["emails"]


def test_yaml_bomb_in_a_fixture_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(FixtureError, match="YAML bomb"):
        FixtureSet(folder_with(tmp_path, bomb="\n".join(lines) + "\n"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mocksrv", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_check_reports_fixture_problems(tmp_path: Path) -> None:
    folder_with(tmp_path, broken="maxcare:\n  api_keys:\n    - {key: k, scopes: 5}\n",
                orphan="maxcare:\n  records:\n    emails:\n      - {subject: no id}\n")
    result = run("check", "--specs", str(SPECS), "--fixtures", str(tmp_path))
    assert result.returncode == 1
    assert f"error: {tmp_path / 'broken.yaml'}: maxcare.api_keys[0].scopes: Not a valid list." in result.stderr
    assert "Traceback" not in result.stderr


def test_check_finds_records_without_their_id(tmp_path: Path) -> None:
    folder_with(tmp_path, orphan="maxcare:\n  records:\n    emails:\n      - {subject: no id}\n")
    result = run("check", "--specs", str(SPECS), "--fixtures", str(tmp_path))
    assert result.returncode == 1
    assert "maxcare.records.emails[0]: missing the id field 'id'" in result.stderr


def test_serve_refuses_a_broken_fixture(tmp_path: Path) -> None:
    folder_with(tmp_path, default="maildiver:\n  api_keys:\n    - {key: k}\n    - {key: k}\n")
    result = run("serve", "--port", "0", "--specs", str(SPECS), "--fixtures", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"mocksrv: cannot serve {tmp_path / 'default.yaml'}: "
                                     "maildiver.api_keys[1].key: duplicate key 'k' (also api_keys[0])")


def test_bundled_fixtures_check_clean() -> None:
    result = run("check")
    assert result.returncode == 0, result.stderr
    assert "ok: scenario default" in result.stdout and "ok: scenario revoked_key" in result.stdout
