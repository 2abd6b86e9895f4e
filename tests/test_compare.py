"""bench/compare.py, the side-by-side benchmark against Prism: its bookkeeping, and a tiny real run where wrk is
installed (a smoke test, not a timing test; `make bench` installs wrk and Prism, the test suite does not)."""

from __future__ import annotations

import argparse
import importlib
import os
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


def test_tree_memory_reads_the_resident_set_now_and_its_peak(bench: ModuleType) -> None:
    alone = bench.tree_memory(os.getpid())
    assert alone.processes >= 1
    assert alone.pss_mib is not None and alone.pss_mib > 0
    assert alone.rss_mib is not None and alone.peak_rss_mib is not None
    assert 0 < alone.rss_mib <= alone.peak_rss_mib
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        family = bench.tree_memory(os.getpid())
        own = bench.tree_memory(child.pid)
    finally:
        child.communicate(timeout=10)
    assert family.processes == alone.processes + 1  # the descendants count too
    assert own.processes == 1 and own.rss_mib is not None and own.peak_rss_mib is not None
    assert 0 < own.rss_mib <= own.peak_rss_mib
    assert bench.tree_memory(child.pid) == bench.Memory(0, None, None, None)  # gone: nothing to read


def test_the_memory_table_shows_rss_now_next_to_pss_and_the_peak_apart(bench: ModuleType) -> None:
    mocksrv = bench.Footprint("mocksrv", "all four, bundled fixtures", startups=[0.5], loaded=True)
    mocksrv.add(bench.Memory(1, 90.0, 120.0, 300.0))
    mocksrv.add(bench.Memory(1, 95.0, 110.0, None))  # --repeat: the highest of each figure over the passes
    assert (mocksrv.pss_mib, mocksrv.rss_mib, mocksrv.peak_rss_mib) == (95.0, 120.0, 300.0)
    prism = [bench.Footprint("prism", f"specs/{name}.yaml", startups=[1.0], loaded=True)
             for name in bench.SPEC_NAMES]
    for footprint in prism:
        footprint.add(bench.Memory(2, 50.0, 60.0, 80.0))
    text = bench.render(bench.Report(footprints=[mocksrv, *prism]), argparse.Namespace(
        connections=[32], duration=1, warmup=0, repeat=1), {})
    table = [[cell.strip() for cell in line.split("|")[1:-1]] for line in text.splitlines()
             if line.startswith(("| server ", "| mocksrv ", "| prism "))]
    header = table[0]
    assert header[4:] == ["processes", "PSS MiB", "RSS MiB (now)", "peak RSS MiB (VmHWM, includes loading)",
                          "memory read"]
    rows = {(cells[0], cells[1]): cells[4:] for cells in table[1:]}
    assert rows[("mocksrv", "all four, bundled fixtures")] == ["1", "95", "120", "300", "after load"]
    assert rows[("prism", "specs/maxcare.yaml")] == ["2", "50", "60", "80", "after load"]
    assert rows[("prism", "all four, one server each")] == ["8", "200", "240", "320", "after load"]
    assert bench.MEMORY_NOTE in text
    assert "supervisor" not in text and "worker" not in text


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
    memory = [[cell.strip() for cell in line.split("|")[1:-1]] for line in output.read_text().splitlines()
              if line.startswith("| mocksrv ")]
    assert memory, textwrap.indent(output.read_text(), "  ")
    for cells in memory:  # processes, PSS, RSS now, peak RSS: one process, resident now at most its peak
        assert cells[4] == "1", cells
        assert 0 < int(cells[5]) and 0 < int(cells[6]) <= int(cells[7]), cells
