"""mocksrv side by side with Stoplight Prism: throughput, latency, errors, start-up time and memory.

Each server runs alone, one after the other, on a free 127.0.0.1 port, started as a user would start it
(``mocksrv serve --specs specs --fixtures fixtures``; ``prism mock <spec>``, and again with logging off),
and is driven by ``wrk -t2 -cN`` with the Lua scripts of bench/wrk/. A wrong status is an error both ways:
a valid send must get its 2xx, an invalid one its 4xx. Memory is that of the started process and its
descendants (mocksrv: one process; Prism: node and any children). Prints one table
and writes it to bench/results/latest.md. Installs wrk (Debian) and Prism (npm, into bench/.scratch) when missing.

    .venv/bin/python bench/compare.py [--duration 10] [--connections 32,64] [--only mocksrv,prism]
                                      [--scenarios md-send,mx-get] [--repeat 1] [--starts 3]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path

import loadgen
import requests
import state_bench
import tools
import yaml

from mocksrv.client import MocksrvClient
from mocksrv.client import stop_process

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
RESULTS = ROOT / "bench" / "results" / "latest.md"
SCALE_OUT_RESULTS = ROOT / "bench" / "results" / "scale-out.md"
SPEC_NAMES = ("maildiver", "maxcare", "send-service", "settings-mailer")
START_TIMEOUT_S = 60
SEEDED_START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 15

JSON = {"Content-Type": "application/json"}
MD_AUTH = {"Authorization": "Bearer md_demo"}
MX_AUTH = {"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"}
SM_AUTH = {"Authorization": "Bearer sm_demo"}
MD_SEND = {"from": "Team <team@example.com>", "to": ["user@example.com"], "subject": "Hello", "html": "<p>Hello</p>"}
FIXTURE_EMAIL = "eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"  # a MaxCare record of fixtures/default.yaml
BOUNDARY = "mocksrvbenchboundary7MA4YWxkTrZu0gW"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)
RECORDS = 100_000


@dataclass(frozen=True)
class Scenario:
    """One kind of request; ``path`` is under the API's base path (Prism serves every spec at the root)."""

    name: str
    title: str
    spec: str
    method: str
    path: str
    expected: frozenset[int]
    headers: dict[str, str]
    body: bytes = b""
    # > 0: mocksrv only, seeded with this many MaxCare emails; ``path`` has an integer slot for the record
    records: int = 0


def json_body(value: object) -> bytes:
    return json.dumps(value).encode()


def multipart(fields: dict[str, str], png: bool) -> bytes:
    """A multipart/form-data body as curl -F sends it, optionally with one PNG in ``attachments``."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    if png:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; filename="logo.png"\r\n'
                     "Content-Type: image/png\r\n\r\n".encode() + PNG + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


SM_FORM = {"to": '["user@example.com"]', "subject": "Service Update", "body": "Done."}
SM_HEADERS = {**SM_AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
SCENARIOS = (
    Scenario("md-send", "MailDiver POST /emails, valid JSON", "maildiver", "POST", "/emails",
             frozenset({201}), {**MD_AUTH, **JSON}, json_body(MD_SEND)),
    Scenario("md-invalid", "MailDiver POST /emails without `to`", "maildiver", "POST", "/emails",
             frozenset({400, 422}), {**MD_AUTH, **JSON}, json_body({"from": "a@example.com", "subject": "Hi"})),
    Scenario("md-noauth", "MailDiver POST /emails without Authorization", "maildiver", "POST", "/emails",
             frozenset({401, 403}), JSON, json_body(MD_SEND)),
    Scenario("mx-get", "MaxCare GET /emails/{id} of the fixture's record", "maxcare", "GET",
             f"/emails/{FIXTURE_EMAIL}", frozenset({200}), MX_AUTH),
    Scenario("sm-send", "Settings mailer multipart send, text fields", "settings-mailer", "POST",
             "/api/settings/sendmail", frozenset({200}), SM_HEADERS, multipart(SM_FORM, png=False)),
    Scenario("sm-send-file", "Settings mailer multipart send with one PNG", "settings-mailer", "POST",
             "/api/settings/sendmail", frozenset({200}), SM_HEADERS, multipart(SM_FORM, png=True)),
    Scenario("mx-get-100k", f"MaxCare GET /emails/{{id}}, random one of {RECORDS // 1000}k stored records",
             "maxcare", "GET", "/emails/eml_%032x", frozenset({200}), state_bench.HEADERS, records=RECORDS),
)


@dataclass(frozen=True)
class Server:
    """A way of running a mock: mocksrv, or Prism with its default or silent logging."""

    name: str
    prism: bool = False
    silent: bool = False


SERVERS = (Server("mocksrv"), Server("prism", prism=True), Server("prism -v silent", prism=True, silent=True))


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    base_url: str
    startup_s: float
    log: Path


class StartError(Exception):
    """A server exited or did not answer in time; the message ends with its last log lines."""


@dataclass
class Row:
    """One line of the table: a scenario at a number of connections on one server."""

    scenario: Scenario
    connections: int
    server: str
    loads: list[loadgen.Load] = field(default_factory=list)
    note: str = ""

    def median(self, value: Callable[[loadgen.Load], float]) -> float:
        return statistics.median(value(load) for load in self.loads)

    @property
    def statuses(self) -> dict[int, int]:
        merged: dict[int, int] = {}
        for load in self.loads:
            for status, count in load.statuses.items():
                merged[status] = merged.get(status, 0) + count
        return merged


@dataclass(frozen=True)
class Memory:
    """The memory of a process tree (a process and its descendants), read at one moment."""

    processes: int  # the processes whose figures could be read
    pss_mib: float | None  # sum of Pss (shared pages divided between their sharers): the honest total
    rss_mib: float | None  # sum of VmRSS: the pages resident at the read
    peak_rss_mib: float | None  # sum of VmHWM: each process's highest resident set, start-up included


@dataclass
class Footprint:
    """Start-up times and memory of one server configuration (its whole process tree)."""

    server: str
    specs: str
    startups: list[float] = field(default_factory=list)
    processes: int = 0
    pss_mib: float | None = None
    rss_mib: float | None = None
    peak_rss_mib: float | None = None
    loaded: bool = False
    summed: int = 0  # > 0: the sum over this many servers (Prism's one per spec)

    def add(self, memory: Memory) -> None:
        """Keep the highest of each figure over the passes of ``--repeat``."""
        self.processes = max(self.processes, memory.processes)
        self.pss_mib = highest(self.pss_mib, memory.pss_mib)
        self.rss_mib = highest(self.rss_mib, memory.rss_mib)
        self.peak_rss_mib = highest(self.peak_rss_mib, memory.peak_rss_mib)


def highest(kept: float | None, new: float | None) -> float | None:
    return new if kept is None else kept if new is None else max(kept, new)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    footprints: list[Footprint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # the machine's 1-minute load average before the first server starts: other work skews the numbers
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])

    def row(self, scenario: Scenario, connections: int, server: str) -> Row:
        """The row for this scenario, connection count and server; a new one the first time (later passes
        of ``--repeat`` add their loads to it)."""
        for row in self.rows:
            if (row.scenario.name, row.connections, row.server) == (scenario.name, connections, server):
                return row
        self.rows.append(Row(scenario, connections, server))
        return self.rows[-1]

    def footprint(self, server: str, specs: str, loaded: bool) -> Footprint:
        for footprint in self.footprints:
            if (footprint.server, footprint.specs) == (server, specs):
                return footprint
        self.footprints.append(Footprint(server, specs, loaded=loaded))
        return self.footprints[-1]


# -- processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def launch(command: list[str], port: int, ready_path: str, log: Path, any_answer: bool,
           timeout: float = START_TIMEOUT_S) -> Running:
    """Start ``command`` and wait for its first HTTP answer on ``ready_path`` (a 2xx unless ``any_answer``).

    :raise StartError: the process exited, or did not answer within ``timeout`` seconds
    """
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise StartError(f"exited with status {process.returncode}: {tail(log)}")
        try:
            answer = requests.get(base + ready_path, timeout=2)
        except requests.RequestException:
            time.sleep(0.02)
            continue
        if any_answer or answer.ok:
            return Running(process, base, time.perf_counter() - started, log)
        time.sleep(0.02)
    stop(process)
    raise StartError(f"no answer within {timeout:g} s: {tail(log)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to this PID, SIGKILL if it is still there after a while."""
    stop_process(process, STOP_TIMEOUT_S)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, parents before children, from the parent PIDs in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ")"
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree = [pid]
    for parent in tree:  # grows while it is walked: breadth first
        tree.extend(sorted(children.get(parent, ())))
    return tree


def proc_kib(path: Path) -> dict[str, int]:
    """The kB figures of a /proc file (``VmRSS:  1234 kB`` gives ``{"VmRSS": 1234}``), read at one moment;
    empty if unreadable (the process is gone)."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    figures: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if value.endswith(" kB"):
            figures[key] = int(value.split()[0])
    return figures


def tree_memory(pid: int) -> Memory:
    """PSS now (from smaps_rollup), RSS now (VmRSS) and peak RSS (VmHWM), each summed over ``pid`` and its
    descendants."""
    pss: list[int] = []
    rss: list[int] = []
    peaks: list[int] = []
    for member in process_tree(pid):
        status = proc_kib(Path(f"/proc/{member}/status"))  # one read: VmRSS ≤ VmHWM holds within it
        if "VmHWM" not in status or "VmRSS" not in status:  # exited, or a zombie: nothing resident
            continue
        peaks.append(status["VmHWM"])
        rss.append(status["VmRSS"])
        share = proc_kib(Path(f"/proc/{member}/smaps_rollup")).get("Pss")
        if share is not None:
            pss.append(share)
    return Memory(len(peaks), kib_to_mib(pss), kib_to_mib(rss), kib_to_mib(peaks))


def kib_to_mib(values: list[int]) -> float | None:
    """The sum of kB figures in MiB; None when none could be read."""
    return sum(values) / 1024 if values else None


def tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def start_repeatedly(start: Callable[[], Running], footprint: Footprint, times: int) -> Running:
    """Start ``times`` times, recording each start-up time; every start but the last is stopped again."""
    for _ in range(times - 1):
        running = start()
        footprint.startups.append(running.startup_s)
        stop(running.process)
    running = start()
    footprint.startups.append(running.startup_s)
    return running


def finish(running: Running, footprint: Footprint) -> None:
    """Read the memory of the server's process tree (the highest over the passes of ``--repeat``), then stop.

    Stopping is by the started PID only: mocksrv is one process.
    """
    footprint.add(tree_memory(running.process.pid))
    stop(running.process)


def merge(kept: Footprint, new: Footprint) -> Footprint:
    """``kept`` with ``new``'s start-up times added."""
    kept.startups.extend(new.startups)
    return kept


# -- the two servers


def mocksrv_command(port: int, fixtures: Path, scenario: str = "default") -> list[str]:
    return [sys.executable, "-m", "mocksrv", "serve", "--specs", "specs", "--fixtures", str(fixtures),
            "--scenario", scenario, "--port", str(port)]


def start_mocksrv(work: Path, fixtures: Path, scenario: str = "default",
                  timeout: float = START_TIMEOUT_S) -> Running:
    port = free_port()
    return launch(mocksrv_command(port, fixtures, scenario), port, "/__mocksrv/health", work / "mocksrv.log",
                  any_answer=False, timeout=timeout)


def mocksrv_mounts(running: Running) -> dict[str, str]:
    """Where mocksrv mounted each API, as paths: ``{"maildiver": "/maildiver/v1", ...}``."""
    apis = requests.get(f"{running.base_url}/__mocksrv/apis", timeout=10).json()["apis"]
    return {api["id"]: api["base_url"].removeprefix(running.base_url) for api in apis}


def default_without_rate_limits(fixtures: Path) -> tuple[dict[str, t.Any], list[str]]:
    """The default scenario's document with every rate limit taken out, and the APIs that had one."""
    fixture = yaml.safe_load((fixtures / "default.yaml").read_text())
    limited = [api for api, section in fixture.items() if isinstance(section, dict) and "rate_limit" in section]
    for api in limited:
        del fixture[api]["rate_limit"]
    return fixture, limited


def unthrottle(running: Running, fixtures: Path) -> list[str]:
    """Put the default scenario in force again without its rate limits; the APIs whose limit was taken out.

    MaxCare documents 1000 requests per 60 s and mocksrv enforces it, so a load test of the bundled scenario
    would measure 429s after the first thousand requests; Prism has no limits to take out.
    """
    fixture, limited = default_without_rate_limits(fixtures)
    if limited:
        MocksrvClient(running.base_url).scenario(fixture, "default-without-rate-limits")
    return limited


def mocksrv_reset(running: Running) -> None:
    """Back to the scenario's records, so every POST run starts from the same store."""
    requests.post(f"{running.base_url}/__mocksrv/reset", timeout=60).raise_for_status()


def start_prism(work: Path, prism: tuple[str, Path], spec: str, silent: bool) -> Running:
    node, entry = prism
    port = free_port()
    command = [node, str(entry), "mock", str(SPECS / f"{spec}.yaml"), "--host", "127.0.0.1", "--port", str(port)]
    if silent:
        command += ["-v", "silent"]
    # Prism listens only once the spec is loaded; its 404 for an unknown path is an answer
    return launch(command, port, "/", work / f"prism-{spec}.log", any_answer=True)


# -- measuring


def body_file(work: Path, scenario: Scenario) -> str:
    if not scenario.body:
        return "-"
    path = work / f"{scenario.name}.body"
    path.write_bytes(scenario.body)
    return str(path)


def wrk_target(base: str, mount: str, scenario: Scenario, work: Path) -> tuple[str, str, list[str]]:
    """URL, Lua script and script arguments for one scenario on a server whose API sits at ``mount``."""
    headers = [f"{name}: {value}" for name, value in scenario.headers.items()]
    if scenario.records:
        return base + "/", "random_id.lua", [mount + scenario.path, str(scenario.records), *headers]
    return base + mount + scenario.path, "request.lua", [scenario.method, body_file(work, scenario), *headers]


def precheck(base: str, mount: str, scenario: Scenario) -> tuple[int, str]:
    """One request with ``requests`` before the load: its status and the start of its body."""
    path = mount + (scenario.path % 0 if scenario.records else scenario.path)
    answer = requests.request(scenario.method, base + path, headers=scenario.headers, data=scenario.body or None,
                              timeout=30)
    return answer.status_code, answer.text[:160]


def measure(server: str, running: Running, mount: str, scenario: Scenario, options: argparse.Namespace,
            work: Path, report: Report, before_run: Callable[[], None] = lambda: None) -> None:
    """Precheck, warm up, then one wrk run per connection count, each added to its row."""
    status, body = precheck(running.base_url, mount, scenario)
    if status not in scenario.expected:
        expected = "/".join(map(str, sorted(scenario.expected)))
        report.notes.append(f"{server}, {scenario.name}: answered {status} where {expected} is expected: {body}")
    url, script, args = wrk_target(running.base_url, mount, scenario, work)
    if options.warmup > 0:
        before_run()
        loadgen.run(url, script, args, scenario.expected, options.connections[0], options.warmup, options.wrk)
    for connections in options.connections:
        before_run()
        load = loadgen.run(url, script, args, scenario.expected, connections, options.duration, options.wrk)
        report.row(scenario, connections, server).loads.append(load)
        print(f"  {scenario.name:<13} c={connections:<3} {server:<16} {load.rate:>8.0f} req/s "
              f"p99 {load.p99_ms:.1f} ms, {load.errors} errors", flush=True)


def refused(server: str, scenarios: t.Iterable[Scenario], options: argparse.Namespace, why: str,
            report: Report) -> None:
    for scenario in scenarios:
        for connections in options.connections:
            report.row(scenario, connections, server).note = why


def run_mocksrv(scenarios: list[Scenario], options: argparse.Namespace, work: Path, report: Report) -> None:
    """mocksrv as a user starts it: all four specs, the bundled fixtures; reset before every run."""
    footprint = report.footprint("mocksrv", "all four, bundled fixtures", loaded=bool(scenarios))
    running = start_repeatedly(lambda: start_mocksrv(work, ROOT / "fixtures"), footprint, options.starts)
    try:
        limited = unthrottle(running, ROOT / "fixtures")
        if limited and scenarios:
            report.notes.append(f"mocksrv: the bundled default scenario without the rate limit of "
                                f"{', '.join(limited)}, which a load test would hit within seconds")
        mounts = mocksrv_mounts(running)
        for scenario in scenarios:
            measure("mocksrv", running, mounts[scenario.spec], scenario, options, work, report,
                    lambda: mocksrv_reset(running))
    finally:
        finish(running, footprint)


def run_seeded(scenario: Scenario, options: argparse.Namespace, work: Path, report: Report) -> None:
    """mocksrv with all four specs and a generated scenario of ``scenario.records`` MaxCare emails."""
    fixtures = work / "seeded"
    fixtures.mkdir(exist_ok=True)
    state_bench.write_scenario(fixtures, scenario.records)
    footprint = report.footprint("mocksrv", f"all four, {scenario.records // 1000}k MaxCare records", loaded=True)
    running = start_mocksrv(work, fixtures, "bench", timeout=SEEDED_START_TIMEOUT_S)
    footprint.startups.append(running.startup_s)
    try:
        measure("mocksrv", running, mocksrv_mounts(running)["maxcare"], scenario, options, work, report)
    finally:
        finish(running, footprint)


def run_prism(server: Server, scenarios: list[Scenario], options: argparse.Namespace, work: Path,
              report: Report) -> None:
    """One Prism process per spec (Prism mocks one document at a time), each started ``--starts`` times."""
    prism = tools.prism()
    for spec in SPEC_NAMES:
        own = [s for s in scenarios if s.spec == spec]
        footprint = Footprint(server.name, spec, loaded=bool(own))  # kept only once the spec is served
        try:
            start = functools.partial(start_prism, work, prism, spec, server.silent)
            running = start_repeatedly(start, footprint, options.starts)
        except StartError as error:
            report.notes.append(f"{server.name} refused specs/{spec}.yaml: {error}")
            refused(server.name, own, options, "refused the spec", report)
            continue
        footprint = merge(report.footprint(server.name, spec, bool(own)), footprint)
        try:
            for scenario in own:
                measure(server.name, running, "", scenario, options, work, report)
        finally:
            finish(running, footprint)


# -- the table


def ratio(row: Row, rows: list[Row]) -> str:
    """mocksrv's median req/s over this Prism row's, for the same scenario and connections."""
    if row.server == "mocksrv" or not row.loads:
        return ""
    mine = next((r for r in rows if r.server == "mocksrv" and r.scenario.name == row.scenario.name
                 and r.connections == row.connections and r.loads), None)
    theirs = row.median(lambda m: m.rate)
    return f"{mine.median(lambda m: m.rate) / theirs:.2f}" if mine and theirs else ""


def status_text(statuses: dict[int, int]) -> str:
    """The statuses seen, most frequent first: ``201`` alone, else ``400 ×51234, 500 ×3``."""
    ordered = sorted(statuses.items(), key=lambda item: -item[1])
    if len(ordered) == 1:
        return str(ordered[0][0])
    return ", ".join(f"{status} ×{count}" for status, count in ordered)


def load_cells(row: Row, rows: list[Row]) -> list[str]:
    if not row.loads:
        return [row.scenario.name, str(row.connections), row.server, row.note, "", "", "", "", ""]
    errors = sum(load.errors for load in row.loads)
    requests_ = sum(load.requests for load in row.loads)
    return [row.scenario.name, str(row.connections), row.server, status_text(row.statuses),
            f"{row.median(lambda m: m.rate):.0f}", f"{row.median(lambda m: m.p50_ms):.1f}",
            f"{row.median(lambda m: m.p99_ms):.1f}", f"{errors} / {requests_}", ratio(row, rows)]


def mib(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else ""


def footprint_cells(footprint: Footprint) -> list[str]:
    startup = f"{statistics.median(footprint.startups):.2f}" if footprint.startups else ""
    starts = f"sum of {footprint.summed} medians" if footprint.summed else str(len(footprint.startups))
    return [footprint.server, footprint.specs, startup, starts, str(footprint.processes or ""),
            mib(footprint.pss_mib), mib(footprint.rss_mib), mib(footprint.peak_rss_mib),
            "after load" if footprint.loaded else "idle"]


def added(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def prism_total(footprints: list[Footprint], server: str) -> Footprint | None:
    """Prism serving what one ``mocksrv serve`` serves: its four servers, start-up and memory added up."""
    own = [f for f in footprints if f.server == server]
    if len(own) != len(SPEC_NAMES) or not all(f.startups for f in own):
        return None
    total = Footprint(server, "all four, one server each", loaded=any(f.loaded for f in own), summed=len(own))
    total.startups = [sum(statistics.median(f.startups) for f in own)]
    total.processes = sum(f.processes for f in own)
    total.pss_mib = added([f.pss_mib for f in own])
    total.rss_mib = added([f.rss_mib for f in own])
    total.peak_rss_mib = added([f.peak_rss_mib for f in own])
    return total


def markdown(header: list[str], lines: list[list[str]]) -> str:
    """A pipe table with padded columns, readable in a terminal and as Markdown."""
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    padded = [" | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
              for cells in [header, *lines]]
    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([f"| {padded[0]} |", rule, *(f"| {line} |" for line in padded[1:])])


def render(report: Report, options: argparse.Namespace, versions: dict[str, str]) -> str:
    rows = report.rows
    loads = markdown(["scenario", "conns", "server", "status", "req/s", "p50 ms", "p99 ms", "errors / requests",
                      "mocksrv/this"], [load_cells(row, rows) for row in rows])
    footprints = list(report.footprints)
    for server in SERVERS:
        total = prism_total(footprints, server.name) if server.prism else None
        if total:
            footprints.append(total)
    memory = markdown(["server", "specs", "start-up s (median)", "starts", "processes", *MEMORY_COLUMNS,
                       "memory read"],
                      [footprint_cells(f) for f in footprints])
    scenarios = "\n".join(f"- `{s.name}`: {s.title}; expected {'/'.join(map(str, sorted(s.expected)))}"
                          for s in SCENARIOS if s.name in {row.scenario.name for row in rows})
    notes = "\n".join(f"- {note}" for note in dict.fromkeys(report.notes)) or "- none"  # once, not per pass
    return (f"# mocksrv vs Prism\n\n{context(options, versions, report.load_before)}\n\n{loads}\n\n{memory}\n\n"
            f"{MEMORY_NOTE}\n\n"
            f"Scenarios:\n\n{scenarios}\n\nNotes (set-up, unexpected answers, refused specs):\n\n{notes}\n")


MEMORY_COLUMNS = ("PSS MiB", "RSS MiB (now)", "peak RSS MiB (VmHWM, includes loading)")

MEMORY_NOTE = (
    "Memory is that of each server's process tree: the started process and its descendants (mocksrv: one "
    "process; Prism: node and any children), read after the load (or idle) just before the stop. "
    "PSS MiB sums each process's `Pss` (/proc/<pid>/smaps_rollup), which divides a page shared by several "
    "processes between them: the honest total when there are several. RSS MiB (now) sums each process's "
    "`VmRSS` (/proc/<pid>/status): the pages resident at the read. Peak RSS sums each process's `VmHWM`: the "
    "highest resident set over its life, so it includes the transient peak of loading the fixtures. Summed "
    "over several processes, both RSS figures count a shared page once for each sharer. With `--repeat`, each "
    "figure is the highest over the passes. A total row adds Prism's separate servers up.")


def setting(versions: dict[str, str], load_before: float) -> str:
    """When, on what machine (and how busy it was) and with which versions a run was made."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (f"{os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}, "
               f"load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after the run")
    tools_ = ", ".join(f"{name} {version}" for name, version in versions.items())
    return f"{when}; {machine}; {tools_}."


def context(options: argparse.Namespace, versions: dict[str, str], load_before: float) -> str:
    connections = " and ".join(map(str, options.connections))
    return (f"{setting(versions, load_before)}\n"
            f"`wrk -t2 -d{options.duration}s` with {connections} connections, {options.warmup} s warm-up per "
            f"scenario and server, median of {options.repeat} pass(es) on fresh processes; "
            "errors are wrong statuses plus socket errors and timeouts; mocksrv/this is mocksrv's req/s over "
            "the row's. Start-up: process start to first HTTP answer.")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def versions(options: argparse.Namespace, prism: tuple[str, Path] | None) -> dict[str, str]:
    git = shutil.which("git")
    revision = subprocess.run([git, "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip() if git else ""
    found = {"mocksrv": revision or "?", "Python": platform.python_version(),
             "wrk": tools.version([options.wrk, "--version"]).split(" [")[0].removeprefix("wrk ")}
    if prism:
        found["Prism"] = tools.version([prism[0], str(prism[1]), "--version"])
        found["Node"] = tools.version([prism[0], "--version"])
    return found


# -- command line


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", default="32,64", help="comma-separated connection counts")
    parser.add_argument("--only", default="", help="servers to run, comma-separated: mocksrv, prism "
                        "(both Prism rows), 'prism -v silent'; default all")
    parser.add_argument("--scenarios", default="", help=f"comma-separated, default all: "
                        f"{', '.join(s.name for s in SCENARIOS)}")
    parser.add_argument("--repeat", type=int, default=1, help="passes over all servers, each on freshly started "
                        "processes; the table shows medians")
    parser.add_argument("--starts", type=int, default=3, help="starts per server for the start-up median")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of load before each scenario (0: none)")
    parser.add_argument("--scale-out", action="store_true", help="instead: CPU per request at a fixed rate "
                        "(embedded, Redis, Prism quiet) and throughput with 1 and 2 workers on Redis "
                        "(bench/scale_out.py)")
    parser.add_argument("--output", type=Path, help=f"where the Markdown goes (default {RESULTS.relative_to(ROOT)}, "
                        f"with --scale-out {SCALE_OUT_RESULTS.relative_to(ROOT)})")
    options = parser.parse_args(argv)
    options.output = options.output or (SCALE_OUT_RESULTS if options.scale_out else RESULTS)
    options.connections = [int(c) for c in options.connections.split(",")]
    options.servers = select(SERVERS, options.only, lambda s, name: s.name == name or s.name.startswith(name + " "))
    options.selected = select(SCENARIOS, options.scenarios, lambda s, name: s.name == name)
    if min(options.repeat, options.starts, options.duration, *options.connections) < 1 or options.warmup < 0:
        parser.error("--duration, --repeat, --starts and --connections must be at least 1")
    return options


T = t.TypeVar("T", Server, Scenario)


def select(choices: tuple[T, ...], wanted: str, matches: Callable[[T, str], bool]) -> list[T]:
    """The choices named in a comma-separated list, in their own order; all of them for an empty list."""
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = [name for name in names if not any(matches(choice, name) for choice in choices)]
    if unknown:
        raise SystemExit(f"compare.py: unknown {', '.join(unknown)}")
    return [c for c in choices if not names or any(matches(c, name) for name in names)]


def run_pass(number: int, options: argparse.Namespace, work: Path, report: Report) -> None:
    """Every selected server in turn, each on fresh processes: a server's speed can differ from one process to
    the next, so repeated passes give medians over processes, not only over runs."""
    plain = [s for s in options.selected if not s.records]
    for server in options.servers:
        print(f"bench: {server.name}" + (f", pass {number} of {options.repeat}" if options.repeat > 1 else ""),
              flush=True)
        if server.prism:
            run_prism(server, plain, options, work, report)
            continue
        run_mocksrv(plain, options, work, report)
        for scenario in (s for s in options.selected if s.records):
            run_seeded(scenario, options, work, report)


def main() -> None:
    options = parse_options()
    options.wrk = tools.debian("wrk", "wrk")
    prism = tools.prism() if any(s.prism for s in options.servers) else None
    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mocksrv-compare-") as scratch:
        if options.scale_out:
            import scale_out  # it builds on this module, so it is imported only when asked for

            text = scale_out.run(options, Path(scratch), versions(options, prism))
        else:
            for number in range(1, options.repeat + 1):
                run_pass(number, options, Path(scratch), report)
            text = render(report, options, versions(options, prism))
    print("\n" + text)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(text)
    print(f"bench: table written to {options.output} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
