"""bench/compare.py, the side-by-side benchmark against Prism: its bookkeeping, and a tiny real run where wrk is
installed (a smoke test, not a timing test; `make bench` installs wrk and Prism, the test suite does not)."""

from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from conftest import ROOT


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    return importlib.import_module("compare")


def report(statuses: dict[str, int], **errors: int) -> dict[str, object]:
    return {"requests": sum(statuses.values()), "duration_us": 2_000_000, "p50_us": 1500, "p99_us": 9000,
            "connect": 0, "read": 0, "write": 0, "timeout": 0, "statuses": statuses, **errors}


def test_a_wrong_status_is_an_error_either_way(bench: ModuleType) -> None:
    loadgen = importlib.import_module("loadgen")
    valid = loadgen.parse(report({"201": 90, "400": 10}, timeout=2), {201})
    assert (valid.rate, valid.p50_ms, valid.p99_ms) == (50.0, 1.5, 9.0)
    assert (valid.unexpected, valid.socket_errors, valid.errors) == (10, 2, 12)
    invalid = loadgen.parse(report({"201": 5, "422": 95}), {400, 422})
    assert invalid.errors == 5
    assert bench.status_text(invalid.statuses) == "422 ×95, 201 ×5"
    assert bench.status_text({400: 7}) == "400"


def test_the_table_is_markdown_with_padded_columns(bench: ModuleType) -> None:
    table = bench.markdown(["a", "server"], [["md-send", "x"], ["b", "prism -v silent"]]).splitlines()
    assert table[0] == "| a       | server          |"
    assert table[1] == "|---------|-----------------|"
    assert {len(line) for line in table} == {len(table[0])}


def test_a_spec_prism_refuses_is_reported_not_fatal(bench: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    refusing = tmp_path / "prism.py"
    refusing.write_text("import sys\nprint('cannot parse', sys.argv[2])\nsys.exit(1)\n")
    monkeypatch.setattr(bench.tools, "prism", lambda: (sys.executable, refusing))
    options = argparse.Namespace(connections=[32, 64], starts=1)
    result = bench.Report()
    scenarios = [s for s in bench.SCENARIOS if s.name == "md-send"]
    bench.run_prism(bench.Server("prism", prism=True), scenarios, options, tmp_path, result)
    assert len(result.notes) == len(bench.SPEC_NAMES)
    assert "prism refused specs/maildiver.yaml: exited with status 1: cannot parse" in result.notes[0]
    assert [(row.scenario.name, row.connections, row.note) for row in result.rows] == \
        [("md-send", 32, "refused the spec"), ("md-send", 64, "refused the spec")]
    assert "| md-send  | 32    | prism  | refused the spec |" in bench.render(result, argparse.Namespace(
        connections=[32, 64], duration=1, warmup=0, repeat=1), {})


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")
def test_a_short_run_against_mocksrv(tmp_path: Path) -> None:
    output = tmp_path / "table.md"
    run = subprocess.run([sys.executable, "bench/compare.py", "--only", "mocksrv", "--scenarios",
                          "md-invalid,sm-send", "--duration", "1", "--connections", "4", "--starts", "1",
                          "--warmup", "0", "--output", str(output)], cwd=ROOT, capture_output=True, text=True,
                         timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line.split("|")[1:-1] for line in output.read_text().splitlines() if line.startswith("| md-")
            or line.startswith("| sm-")]
    assert [(cells[0].strip(), cells[2].strip(), cells[3].strip()) for cells in rows] == \
        [("md-invalid", "mocksrv", "400"), ("sm-send", "mocksrv", "200")]
    assert all(cells[7].strip().startswith("0 / ") for cells in rows), textwrap.indent(output.read_text(), "  ")
