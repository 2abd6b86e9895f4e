"""Load from wrk: one run of ``wrk -t2 -cN -dNs`` with a Lua script of bench/wrk/, read back as a :class:`Load`.

The scripts count every status in wrk's ``response()`` hook and print one ``BENCH-REPORT {json}`` line when
the run is over (bench/wrk/count.lua); whether a status was the expected one is decided here, from that count.
"""

from __future__ import annotations

import json
import subprocess
import typing as t
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "wrk"
REPORT = "BENCH-REPORT "
THREADS = 2
# a request slower than this counts as a timeout error (wrk's default is 2 s)
TIMEOUT_S = 5


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int
    unexpected: int

    @property
    def rate(self) -> float:
        """Answers per second, expected or not."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        """Answers with a status outside the expected set, plus connect/read/write errors and timeouts."""
        return self.unexpected + self.socket_errors


def run(url: str, script: str, args: t.Sequence[str], expected: t.Collection[int], connections: int,
        seconds: int, wrk: str = "wrk") -> Load:
    """Drive ``url`` for ``seconds`` with ``connections`` keep-alive connections over two threads.

    :param script: a file name in bench/wrk/, e.g. ``request.lua``
    :param args: passed to the script's ``init(args)`` (after ``--``)
    :param expected: the statuses that count as right answers
    :raise RuntimeError: wrk failed or printed no report
    """
    command = [wrk, f"-t{min(THREADS, connections)}", f"-c{connections}", f"-d{seconds}s",
               f"--timeout={TIMEOUT_S}s", "-s", str(SCRIPTS / script), url, "--", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    report = next((line[len(REPORT):] for line in done.stdout.splitlines() if line.startswith(REPORT)), None)
    if done.returncode != 0 or report is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {' '.join(command)}\n{done.stdout}{done.stderr}")
    return parse(json.loads(report), expected)


def parse(report: dict[str, t.Any], expected: t.Collection[int]) -> Load:
    """A :class:`Load` from the JSON that bench/wrk/count.lua prints."""
    statuses = {int(status): int(count) for status, count in report["statuses"].items()}
    return Load(requests=int(report["requests"]), seconds=report["duration_us"] / 1e6,
                p50_ms=report["p50_us"] / 1000, p99_ms=report["p99_us"] / 1000, statuses=statuses,
                socket_errors=sum(int(report[kind]) for kind in ("connect", "read", "write", "timeout")),
                unexpected=sum(count for status, count in statuses.items() if status not in expected))
