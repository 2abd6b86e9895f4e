"""The benchmarks still run (tiny sizes): a smoke test, not a timing test."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_state_bench_runs() -> None:
    run = subprocess.run([sys.executable, "bench/state_bench.py", "--sizes", "0,50", "--requests", "5"], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line.split() for line in run.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["0", "50"]


def test_store_bench_runs() -> None:
    run = subprocess.run([sys.executable, "bench/store_bench.py", "--sizes", "0,50"], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "create" in run.stdout and "get" in run.stdout


def test_gil_check_runs_every_shared_scenario() -> None:
    # the verdict is a timing (it would make this a timed test), so only the run and its table are checked
    run = subprocess.run([sys.executable, "bench/gil_check.py", "--requests", "5"], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    scenarios = [line.split()[0] for line in run.stdout.splitlines()[1:] if line and not line.startswith("gil_check")]
    assert scenarios == ["md-send", "md-invalid", "md-noauth", "mx-get", "sm-send", "sm-send-file"]
