"""Does anything on the request path let go of the GIL? Per bench scenario, in-process.

Under load mocksrv's event loop shares the GIL with granian's Rust thread and the log
writer. A call that releases it (zlib, file I/O, some C extensions) hands it to one of them,
and getting it back costs a context switch: in-process timings do not show it, wrk does
(zlib cost 12 % of the GETs, docs/performance.md step 18). This makes it visible without
wrk: each scenario's requests run through the same entry the server uses (`reply_from_scope`,
the request read from an RSGI scope), alone and then next to a thread that only wants the GIL. Without a
release the busy thread gets the GIL once per switch interval (5 ms), so a request costs
at most about twice as much; a request that releases it waits for the busy thread to give
it back, about a switch interval per release, milliseconds instead of microseconds.

    .venv/bin/python bench/gil_check.py [--requests 200]
"""

from __future__ import annotations

import argparse
import functools
import logging
import statistics
import sys
import threading
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import compare  # noqa: E402

from mocksrv import create_app  # noqa: E402
from mocksrv.config import Options  # noqa: E402
from mocksrv.openapi.specs import load_specs  # noqa: E402
from mocksrv.serving.rsgi import reply_from_scope  # noqa: E402
from mocksrv.serving.wsgi import ApiDispatcher  # noqa: E402

# a request path that releases the GIL at least once takes this many times a switch interval
RELEASE_SUSPECT = 0.5


class _Headers(dict[str, str]):
    """RSGI's header mapping (``get`` and ``items``)."""


class _Scope:
    """The RSGI scope granian would hand over for one bench scenario."""

    def __init__(self, scenario: compare.Scenario, mount: str) -> None:
        self.method = scenario.method
        self.path = mount + (scenario.path % 0 if scenario.records else scenario.path)
        self.query_string, self.scheme, self.http_version = "", "http", "1.1"
        self.server, self.client = "127.0.0.1:4010", "127.0.0.1:50000"
        self.headers = _Headers({k.lower(): v for k, v in scenario.headers.items()},
                                host="127.0.0.1:4010", **{"content-length": str(len(scenario.body))})


def build() -> ApiDispatcher:
    """All four specs and the default scenario without its rate limits, as the bench serves them."""
    specs = sorted((ROOT / "specs").glob("*.yaml"))
    apis, _ = load_specs(specs)
    app = create_app(Options(specs=specs, fixtures=ROOT / "fixtures"), apis=apis)
    mock = app.wsgi_app
    assert isinstance(mock, ApiDispatcher)
    fixture, _ = compare.default_without_rate_limits(ROOT / "fixtures")
    state = mock.pipeline.state
    state.fixtures.add("gil-check", fixture)
    state.load("gil-check")
    return mock


def per_request_us(mock: ApiDispatcher, scope: _Scope, body: bytes, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        reply_from_scope(mock, scope, body, None)
    return (time.perf_counter() - started) / count * 1e6


def with_a_busy_thread(work: t.Callable[[], float]) -> float:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    try:
        return work()
    finally:
        stop.set()
        spinner.join(timeout=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per scenario and run")
    options = parser.parse_args()
    logging.disable(logging.INFO)  # one log line per request would measure the queue, not the path
    mock = build()
    mounts = {api.id: api.mount for api in mock.pipeline.apis}
    switch_us = sys.getswitchinterval() * 1e6
    suspects = []
    print(f"{'scenario':<14} {'alone µs':>9} {'busy µs':>9}  (switch interval {switch_us:.0f} µs)")
    for scenario in (s for s in compare.SCENARIOS if not s.records):
        scope = _Scope(scenario, mounts[scenario.spec])
        per_request_us(mock, scope, scenario.body, 20)  # warm the per-operation caches
        alone = statistics.median(per_request_us(mock, scope, scenario.body, options.requests) for _ in range(3))
        busy = with_a_busy_thread(functools.partial(per_request_us, mock, scope, scenario.body, options.requests))
        flag = busy > RELEASE_SUSPECT * switch_us
        suspects += [scenario.name] if flag else []
        print(f"{scenario.name:<14} {alone:>9.0f} {busy:>9.0f}  {'releases the GIL' if flag else ''}")
    if suspects:
        print(f"gil_check: the request path of {', '.join(suspects)} lets go of the GIL; find the call "
              "(py-spy dump, or bisect) before measuring under wrk")
    return 1 if suspects else 0


if __name__ == "__main__":
    sys.exit(main())
