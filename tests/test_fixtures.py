"""Fixture files: every problem named with the file, the path inside it and the reason."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FIXTURES
from conftest import ROOT
from conftest import SPECS
from mocksrv.errors import FixtureError
from mocksrv.openapi.specs import load_specs
from mocksrv.state.fixtures import FixtureSet

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
    ("maxcare:\n  records:\n    emails: [3]\n", "maxcare.records.emails[0]: Not a valid mapping type."),
    ("maxcare:\n  records:\n    emails: [{id: a}, {1: x}]\n", "maxcare.records.emails[1][1].key: Not a valid string."),
    ("maxcare:\n  records:\n    emails: [{id: a, sent: {at: 2026-03-25}}]\n",
     "maxcare.records.emails[0].sent.at: YAML read 2026-03-25 as a date or time, which JSON has not: quote it"),
    ("maxcare:\n  records:\n    emails: [{id: a, score: .nan}]\n",
     "maxcare.records.emails[0].score: NaN and infinity are not JSON numbers"),
    ("maxcare:\n  records:\n    emails: [{id: a, tags: !!set {x: null}}]\n",
     "maxcare.records.emails[0].tags: a set is not a JSON value"),
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


def bomb(nested: str) -> str:
    """Nine levels of ten aliases each: 10**9 nodes once expanded, a few hundred bytes on disk."""
    if nested == "list":
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    else:
        lines = ["a0: &a0 {" + ", ".join(f"k{k}: x" for k in range(10)) + "}"]
        lines += [f"a{i}: &a{i} {{" + ", ".join(f"k{k}: *a{i - 1}" for k in range(10)) + "}" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("nested", ["list", "mapping"])
def test_yaml_bomb_in_a_fixture_is_refused_within_a_bound(tmp_path: Path, nested: str) -> None:
    started = time.monotonic()
    with pytest.raises(FixtureError) as caught:
        FixtureSet(folder_with(tmp_path, bomb=bomb(nested)))
    assert time.monotonic() - started < 5
    assert str(caught.value).startswith(f"{tmp_path / 'bomb.yaml'}: not valid YAML: the document expands to more than")
    assert "YAML bomb" in str(caught.value) and "\n" not in str(caught.value)


def test_yaml_alias_cycle_is_refused_with_the_file(tmp_path: Path) -> None:
    folder_with(tmp_path, default="maxcare:\n  records:\n    emails:\n      - &a {id: x, self: [*a]}\n")
    result = run("check", "--specs", str(SPECS), "--fixtures", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (f"error: {tmp_path / 'default.yaml'}: a YAML alias refers to a node that contains it (a cycle); "
            "fixtures must be trees of data") in result.stderr.splitlines()


@pytest.mark.parametrize("suffix, depth, problem", [
    (".json", 100_000, "nested deeper than 100 levels"),
    (".json", 500, "nested deeper than 100 levels"),  # parses; would break whatever recurses on it later
    (".yaml", 150, "nested deeper than 100 levels"),
    (".yaml", 5_000, "not valid YAML: the document is nested too deeply"),
])
def test_deeply_nested_fixture_is_refused_with_the_file(tmp_path: Path, suffix: str, depth: int, problem: str) -> None:
    deep = "[" * depth + "]" * depth
    (tmp_path / f"deep{suffix}").write_text(f'{{"maxcare": {{"records": {{"emails": [{{"id": "x", "d": {deep}}}]}}}}}}')
    with pytest.raises(FixtureError) as caught:
        FixtureSet(tmp_path)
    assert str(caught.value) == f"{tmp_path / f'deep{suffix}'}: {problem}"


def test_extends_may_name_a_scenario_file_of_the_folder(tmp_path: Path) -> None:
    fixtures = FixtureSet(folder_with(tmp_path, base="maxcare:\n  api_keys: [{key: k}]\n",
                                      by_file="scenario: {extends: base.yaml}\n",
                                      by_path="scenario: {extends: ./base.yaml}\n"))
    for name in ("by_file", "by_path"):
        assert fixtures.scenario(name).api("maxcare").key("k") is not None
    absolute = tmp_path / "absolute.yaml"
    absolute.write_text(f"scenario: {{extends: {json.dumps(str(tmp_path / 'base.yaml'))}}}\n")
    assert FixtureSet(tmp_path).scenario("absolute").api("maxcare").key("k") is not None


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A fixtures folder next to a scenario file it must never read (and a symlink leading to it)."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.yaml").write_text("maxcare:\n  api_keys: [{key: stolen}]\n")
    folder = tmp_path / "fixtures"
    folder.mkdir()
    (folder / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    return folder


@pytest.mark.parametrize("extends", ["../elsewhere/secret.yaml", "../elsewhere/secret", "..",
                                     "./../elsewhere/secret.yaml", "link/secret.yaml", "ABSOLUTE"])
def test_extends_outside_the_fixtures_folder_is_refused(outside: Path, extends: str) -> None:
    if extends == "ABSOLUTE":
        extends = str(outside.parent / "elsewhere" / "secret.yaml")
    (outside / "evil.yaml").write_text(f"scenario: {{extends: {json.dumps(extends)}}}\n")
    with pytest.raises(FixtureError) as caught:
        FixtureSet(outside)
    assert str(caught.value) == (f"{outside / 'evil.yaml'}: scenario.extends: {extends!r} points outside the "
                                 f"fixtures folder {outside.resolve()}")


def test_extends_of_something_else_in_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.yaml").write_text("maxcare: {}\n")
    folder_with(tmp_path, nested="scenario: {extends: sub/base.yaml}\n")
    with pytest.raises(FixtureError, match=r"nested.yaml: scenario.extends: 'sub/base.yaml' is not a scenario file "
                                           r"of the fixtures folder .* \(name a scenario, e.g. extends: default\)$"):
        FixtureSet(tmp_path)


def test_inline_scenario_extends_is_confined_too(outside: Path) -> None:
    fixtures = FixtureSet(outside)
    with pytest.raises(FixtureError) as caught:
        fixtures.add("mine", {"scenario": {"extends": "../elsewhere/secret.yaml"}})
    assert str(caught.value) == ("<inline scenario mine>: scenario.extends: '../elsewhere/secret.yaml' points "
                                 f"outside the fixtures folder {outside.resolve()}")
    assert "mine" not in fixtures.names


def test_check_names_the_file_and_the_escaping_path(outside: Path) -> None:
    (outside / "evil.yaml").write_text("scenario: {extends: ../elsewhere/secret.yaml}\n")
    result = run("check", "--specs", str(SPECS), "--fixtures", str(outside))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (f"error: {outside / 'evil.yaml'}: scenario.extends: '../elsewhere/secret.yaml' points outside the "
            f"fixtures folder {outside.resolve()}") in result.stderr.splitlines()


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


def test_check_names_a_yaml_date_in_a_record_without_a_traceback(tmp_path: Path) -> None:
    folder_with(tmp_path, default="maxcare:\n  records:\n    emails:\n      - {id: eml_1, createdAt: 2026-03-25}\n")
    result = run("check", "--specs", str(SPECS), "--fixtures", str(tmp_path))
    assert result.returncode == 1
    assert (f"error: {tmp_path / 'default.yaml'}: maxcare.records.emails[0].createdAt: YAML read 2026-03-25 "
            "as a date or time") in result.stderr
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
