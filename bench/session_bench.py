"""What a session costs: the time to make one with the default scenario, and the memory 200 add.

In process, the bundled specs and fixtures (what `make run` serves). The issue's bar: < 20 ms
to make one, < 100 MB for 200 live ones. `.venv/bin/python bench/session_bench.py [--sessions 200]`
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path

from mocksrv import create_app
from mocksrv.config import Options

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """Resident memory of this process (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    count = parser.parse_args().sessions
    app = create_app(Options(specs=[ROOT / "specs"], fixtures=ROOT / "fixtures", max_sessions=count + 1))
    sessions = app.extensions["mocksrv"].sessions
    sessions.create("warm-up")  # first use fills per-scenario caches every later session shares
    sessions.delete("warm-up")
    gc.collect()
    before = rss_mb()
    made = []
    for number in range(count):
        started = time.perf_counter()
        sessions.create(f"s{number}")
        made.append((time.perf_counter() - started) * 1000)
    gc.collect()
    after = rss_mb()
    print(f"sessions: {count}; make one: median {statistics.median(made):.2f} ms, "
          f"p95 {sorted(made)[int(count * 0.95) - 1]:.2f} ms; RSS +{after - before:.1f} MB "
          f"({(after - before) * 1024 / count:.0f} KB a session)")


if __name__ == "__main__":
    main()
