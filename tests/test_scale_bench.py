"""bench/scale_out.py (``compare.py --scale-out``): CPU read from /proc, the throughput model, and a tiny real run
on mocksrv with the embedded store and with 1 and 2 workers on Redis (a smoke test, not a timing test)."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from conftest import REDIS_SERVER
from conftest import ROOT

BURN = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\ntime.sleep(60)\n"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    return importlib.import_module("scale_out")


def test_cpu_seconds_count_the_whole_tree_and_the_loop_thread_alone(bench: ModuleType) -> None:
    # a parent that burns half a second in a thread, with a child that burns another half second
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, threading\n"
        f"child = subprocess.Popen([sys.executable, '-c', {BURN!r}])\n"
        f"threading.Thread(target=exec, args=({BURN!r},), daemon=True).start()\n"
        "child.wait()\n")])
    try:
        deadline = time.monotonic() + 20
        while bench.cpu_seconds(parent.pid) < 0.95 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 0.95 <= bench.cpu_seconds(parent.pid) < 1.5  # both processes, all threads
        assert bench.loop_seconds(parent.pid) < 0.3  # the main thread only waited
        assert bench.serving_pids(parent.pid) != [parent.pid]  # a parent with a child: the child serves
    finally:
        for pid in bench.compare.process_tree(parent.pid)[::-1]:  # ours: the child, then the parent
            os.kill(pid, signal.SIGTERM)
        parent.wait(10)
    assert bench.cpu_seconds(parent.pid) == 0.0  # gone: nothing to read


def sample(bench: ModuleType, server: str, paced: bool, requests: int, server_ms: float, loop_ms: float,
           redis_ms: float = 0.0, wrk_ms: float = 0.0, scenario_name: str = "mx-get", refused: int = 0) -> object:
    scenario = next(s for s in bench.compare.SCENARIOS if s.name == scenario_name)
    load = bench.loadgen.Load(requests=requests, seconds=10.0, p50_ms=1.0, p99_ms=2.0, statuses={200: requests},
                              socket_errors=0, unexpected=refused)
    seconds = requests / 1000
    return bench.Sample(server, scenario, paced, load, server_ms * seconds, loop_ms * seconds,
                        redis_ms * seconds if server != bench.EMBEDDED else None, wrk_ms * seconds)


def test_the_model_takes_the_tighter_of_the_loop_and_the_cores_bound(bench: ModuleType) -> None:
    one = sample(bench, bench.REDIS_1, False, 10_000, server_ms=1.0, loop_ms=0.8, redis_ms=0.2, wrk_ms=0.05)
    two = sample(bench, bench.REDIS_2, False, 15_000, server_ms=1.0, loop_ms=0.8)
    samples = [one, two]
    # one worker: its loop thread allows 1250/s, two cores 2 / 1.25 ms = 1600/s
    assert bench.predicted(samples, one, cores=2) == pytest.approx(1250)
    # two workers, from the one-worker costs: the loops would allow 2500/s, the cores still 1600/s
    assert bench.predicted(samples, two, cores=2) == pytest.approx(1600)
    assert bench.predicted(samples, two, cores=4) == pytest.approx(2500)
    light = sample(bench, bench.REDIS_1, False, 10_000, server_ms=0.1, loop_ms=0.1, redis_ms=0.2)
    assert bench.predicted([light, two], two, cores=64) == pytest.approx(5000)  # then Redis is the limit
    assert bench.predicted([two], two, cores=2) is None  # no one-worker run to predict from
    table = bench.saturated_table(samples, 2)
    assert "| 1600 " in table and "| 0.94 " in table and "| 1.50 " in table  # prediction, measured/model, 2 over 1


def test_the_targets_are_stated_with_their_ratios(bench: ModuleType) -> None:
    samples = [sample(bench, bench.EMBEDDED, True, 3000, server_ms=0.8, loop_ms=0.6),
               sample(bench, bench.REDIS_1, True, 3000, server_ms=1.2, loop_ms=1.0, redis_ms=0.1),
               sample(bench, bench.PRISM, True, 3000, server_ms=1.0, loop_ms=0.9),
               # Prism refuses this one: its cheap refusals are no yardstick
               sample(bench, bench.EMBEDDED, True, 3000, server_ms=2.0, loop_ms=1.5, scenario_name="sm-send-file"),
               sample(bench, bench.PRISM, True, 3000, server_ms=0.5, loop_ms=0.5, scenario_name="sm-send-file",
                      refused=3000)]
    lines = bench.findings(samples)
    assert lines[0].startswith("Redis (1 worker) against the embedded store, paced p50 on mx-get")
    assert lines[1] == ("CPU per request of mocksrv (embedded) over Prism's (quiet), paced: 0.80 to 0.80 over 1 "
                        "scenarios (median 0.80; target at most 1; leaving out sm-send-file, which Prism refuses)")
    assert "(redis, 1 worker) over Prism's (quiet), paced: 1.20 to 1.20" in lines[2]
    assert "| 4.00 " in bench.paced_table(samples)  # the table still shows it


@pytest.mark.skipif(shutil.which("wrk") is None or not REDIS_SERVER.exists(),
                    reason="needs wrk and redis-server (make bench installs wrk; .ci/run installs redis-server)")
def test_a_short_scale_out_run(tmp_path: Path) -> None:
    output = tmp_path / "scale-out.md"
    run = subprocess.run([sys.executable, "bench/compare.py", "--scale-out", "--only", "mocksrv", "--scenarios",
                          "mx-get", "--duration", "1", "--connections", "4", "--warmup", "0", "--output",
                          str(output)], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in output.read_text().splitlines()
            if line.startswith("| mx-get ")]
    paced, saturated = rows[:3], rows[3:]
    assert [row[1] for row in paced] == ["embedded", "redis, 1 worker", "redis, 2 workers"]
    assert [row[1] for row in saturated] == ["embedded", "redis, 1 worker", "redis, 2 workers"]
    for row in paced:  # answered without errors, at a cost read from /proc
        assert row[8].startswith("0 / ") and float(row[3]) > 0, row
    assert float(paced[0][4] or 0) == 0 and float(paced[1][4]) >= 0  # Redis's own CPU only where Redis is used
    assert saturated[2][-1] and saturated[2][-3]  # 2 workers over 1, and the model's prediction for them


def test_passes_combine_into_medians_per_request_and_totals(bench: ModuleType) -> None:
    costs = [(1000, 0.9), (3000, 0.5), (2000, 0.6)]  # (requests in 10 s, server CPU ms per request)
    passes = [sample(bench, bench.REDIS_1, True, requests, server_ms=ms, loop_ms=ms / 2, redis_ms=0.1, refused=n)
              for n, (requests, ms) in enumerate(costs)]
    made = bench.combined(passes)
    assert made.load.requests == 6000 and made.load.errors == 0 + 1 + 2  # added up
    assert made.per_request_ms(made.server_cpu) == pytest.approx(0.6)  # the median pass's, not 2.7 s / 6000
    assert made.per_request_ms(made.loop_cpu) == pytest.approx(0.3)
    assert made.per_request_ms(made.redis_cpu) == pytest.approx(0.1)
    assert made.load.rate == pytest.approx(200)  # the median rate (100, 300, 200 a second)
    embedded = bench.combined([sample(bench, bench.EMBEDDED, True, 1000, server_ms=1.0, loop_ms=1.0)])
    assert embedded.redis_cpu is None
