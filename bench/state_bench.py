"""GET-by-id and POST latency over HTTP with 0, 10k and 100k stored records.

Starts a real mocksrv process per size (loopback only, stopped by its PID), seeded from a
generated JSON scenario, and times sequential keep-alive requests from one client:
MaxCare ``GET /emails/{id}`` of stored records and ``POST /emails/send``. Prints median
and p99 per size and the growth against the empty store.

    .venv/bin/python bench/state_bench.py [--sizes 0,10000,100000] [--requests 1000] [--db]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import typing as t
from pathlib import Path

import requests

from mocksrv.client import MockServerProcess

ROOT = Path(__file__).resolve().parent.parent
KEY = "mk_bench"
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Organization-Id": "org_bench"}
SEND = {"from": "bench", "subject": "Bench", "html": "<p>x</p>", "emailType": "bench", "patientIds": ["pat_bench"]}


def email(index: int) -> dict[str, object]:
    return {"id": f"eml_{index:032x}", "recipientEmail": f"p{index}@example.com", "recipientType": "patient",
            "recipientId": f"pat_{index:032x}", "emailType": "bench", "subject": f"Subject {index}",
            "fromAddress": "bench@accounts.maxcare.ai", "status": "sent", "scheduledAt": None,
            "sentAt": "2026-03-25 10:00:01.234+00", "deliveredAt": None, "openedAt": None, "bouncedAt": None,
            "createdAt": "2026-03-25 09:59:58.891+00"}


def write_scenario(folder: Path, size: int) -> None:
    scenario = {"maxcare": {"api_keys": [{"key": KEY, "owner": "app_bench", "scopes": []}],
                            "records": {"emails": [email(i) for i in range(size)]}}}
    (folder / "bench.json").write_text(json.dumps(scenario))


def start_server(fixtures: Path, db: Path | None) -> tuple[MockServerProcess, float]:
    """A real mocksrv on a free loopback port, seeded with the bench scenario; and its start-up time."""
    args = ["--threads", "4", *(["--db", str(db)] if db is not None else [])]
    server = MockServerProcess([ROOT / "specs" / "maxcare.yaml"], fixtures, "bench", args, cwd=ROOT, timeout=300)
    started = time.perf_counter()
    server.start()
    return server, time.perf_counter() - started


def timed(count: int, call: t.Callable[[int], requests.Response]) -> list[float]:
    samples = []
    for index in range(count):
        started = time.perf_counter()
        response = call(index)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return samples


def measure(base: str, size: int, count: int) -> tuple[list[float], list[float]]:
    """Latencies of ``count`` GETs of stored records and ``count`` POSTs, one keep-alive client."""
    session = requests.Session()
    url = f"{base}/maxcare/v3/emails"
    for _ in range(50):  # warm-up
        session.post(f"{url}/send", json=SEND, headers=HEADERS, timeout=10)
    rng = random.Random(size)
    ids = [f"eml_{rng.randrange(size):032x}" for _ in range(count)] if size else []
    if not ids:
        created = session.post(f"{url}/send", json=SEND, headers=HEADERS, timeout=10).json()
        ids = [created["data"]["sent"][0]["id"]] * count
    gets = timed(count, lambda i: session.get(f"{url}/{ids[i]}", headers=HEADERS, timeout=10))
    posts = timed(count, lambda i: session.post(f"{url}/send", json=SEND, headers=HEADERS, timeout=10))
    return gets, posts


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--db", action="store_true", help="persist state in a file (fsync on every write)")
    options = parser.parse_args()
    rows = []
    for size in [int(s) for s in options.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            write_scenario(folder, size)
            server, startup = start_server(folder, folder / "state.jsonl" if options.db else None)
            try:
                gets, posts = measure(server.base_url, size, options.requests)
                rows.append((size, startup, gets, posts))
            finally:
                server.stop()
    base_get, base_post = statistics.median(rows[0][2]), statistics.median(rows[0][3])
    backend = "file (--db)" if options.db else "memory"
    print(f"mocksrv state benchmark, {backend}, {options.requests} sequential requests per op, one client")
    print(f"{'records':>8} {'start s':>8} {'GET med ms':>11} {'GET p99':>8} {'x0':>5} "
          f"{'POST med ms':>12} {'POST p99':>9} {'x0':>5}")
    for size, startup, gets, posts in rows:
        get_median, post_median = statistics.median(gets), statistics.median(posts)
        print(f"{size:>8} {startup:>8.1f} {get_median:>11.2f} {p99(gets):>8.2f} {get_median / base_get:>5.2f} "
              f"{post_median:>12.2f} {p99(posts):>9.2f} {post_median / base_post:>5.2f}")


if __name__ == "__main__":
    main()
