"""Scale-out on Redis (issue 22): CPU per request at a fixed rate, throughput with 1 and 2 workers, and the
throughput model checked against them. Run by ``compare.py --scale-out`` (``make bench ARGS=--scale-out``).

Servers: mocksrv with the embedded store, mocksrv on Redis with 1 and with 2 workers (``--workers 2``), and
Prism with logging off (one process per spec, as in the main table); mocksrv runs ``--quiet`` to match (no log
line per request; its journal still records every request). redis-server is started here on a free
loopback port with a scratch folder and no persistence, and stopped by its PID. All of them run for the whole
pass, and each scenario is run on every server back to back (who goes first taking turns), so the servers
compared on a scenario meet the same machine.

Two kinds of run per scenario and server:

- *paced*: ``PACED_CONNECTIONS`` connections, each waiting ``PACED_INTERVAL_MS`` before every request
  (bench/wrk/paced.lua), so every server gets about the same few hundred requests a second, far below its
  limit. CPU per request is the CPU seconds of the server's process tree (utime + stime from /proc/<pid>/stat of
  the process and its descendants, read before and after) over the requests answered; the event-loop thread's
  own share and redis-server's are read the same way. Latency here is service time, not queueing.
- *saturated*: plain wrk with the first ``--connections`` count, for throughput and p99; the load generator's
  own CPU per request (wrk is our child: ``RUSAGE_CHILDREN``) is read too, since it shares the machine's cores.

The model (docs/scale-out.md): a worker answers at most one request at a time on its event loop, the whole
machine has ``cores`` CPU seconds a second for the server, Redis and the load generator together, and Redis
runs commands on one thread::

    throughput(N) ≈ min(N / loop_cpu, cores / (server_cpu + redis_cpu + wrk_cpu), 1 / redis_cpu)

with the CPU per request of one process (embedded, or Redis with one worker) under the same saturating load: the
2-worker row is predicted from the 1-worker costs. (The paced costs are higher, each request paying its own
wake-ups; fed to the model they give a floor.)
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import resource
import socket
import statistics
import subprocess
import time
import typing as t
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import compare
import loadgen
import tools
import yaml

PACED_CONNECTIONS = 4
PACED_INTERVAL_MS = 10  # per connection: about 400 requests a second in all
REDIS_START_TIMEOUT_S = 10
TICKS = os.sysconf("SC_CLK_TCK")
EMBEDDED, REDIS_1, REDIS_2, PRISM = "embedded", "redis, 1 worker", "redis, 2 workers", "prism -v silent"
# quiet like Prism's rows (no line per request); mocksrv's journal still records every request
QUIET = ("--quiet",)
MOCKSRV_CONFIGS = ((EMBEDDED, QUIET), (REDIS_1, (*QUIET, "--workers", "1")), (REDIS_2, (*QUIET, "--workers", "2")))
MODEL_BASE = {EMBEDDED: (EMBEDDED, 1), REDIS_1: (REDIS_1, 1), REDIS_2: (REDIS_1, 2)}  # costs from, workers


@dataclass(frozen=True)
class Sample:
    """One wrk run and the CPU seconds it cost each party."""

    server: str
    scenario: compare.Scenario
    paced: bool
    load: loadgen.Load
    server_cpu: float  # the server's process tree
    loop_cpu: float  # the main (event-loop) thread of each serving process
    redis_cpu: float | None
    wrk_cpu: float

    def per_request_ms(self, seconds: float | None) -> float | None:
        return None if seconds is None or not self.load.requests else seconds * 1000 / self.load.requests


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its descendants, all their threads."""
    return sum(stat_seconds(Path(f"/proc/{member}/stat")) for member in compare.process_tree(pid))


def loop_seconds(pid: int) -> float:
    """utime + stime of ``pid``'s main thread alone: the one that runs mocksrv's event loop."""
    return stat_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))


def stat_seconds(path: Path) -> float:
    """utime + stime from a /proc stat file; 0 once the process is gone."""
    try:
        fields = path.read_text().rpartition(")")[2].split()  # the command name may hold spaces and ")"
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def serving_pids(pid: int) -> list[int]:
    """The processes that answer requests: the workers of a supervising parent, else the process itself."""
    workers = compare.process_tree(pid)[1:]
    return workers or [pid]


def wrk_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def sample(server: str, running: compare.Running, redis_pid: int | None, scenario: compare.Scenario,
           target: tuple[str, str, list[str]], connections: int, seconds: int, wrk: str, paced: bool) -> Sample:
    """One wrk run, with the CPU seconds the server tree, its loop threads, Redis and wrk spent meanwhile."""
    loops = serving_pids(running.process.pid)
    url, script, args = target
    if paced:
        script, args = "paced.lua", [str(PACED_INTERVAL_MS), *args]

    def reading() -> tuple[float, float, float, float]:
        return (cpu_seconds(running.process.pid), sum(loop_seconds(pid) for pid in loops),
                cpu_seconds(redis_pid) if redis_pid else 0.0, wrk_seconds())

    before = reading()
    load = loadgen.run(url, script, args, scenario.expected, connections, seconds, wrk)
    after = reading()
    used = [end - start for start, end in zip(before, after, strict=True)]
    made = Sample(server, scenario, paced, load, used[0], used[1], used[2] if redis_pid else None, used[3])
    kind = "paced" if paced else f"c={connections}"
    print(f"  {scenario.name:<13} {kind:<6} {server:<17} {load.rate:>7.0f} req/s, p50 {load.p50_ms:.2f} ms, "
          f"CPU {made.per_request_ms(made.server_cpu) or 0:.3f} ms/req, {load.errors} errors", flush=True)
    return made


# -- the processes


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """redis-server on a free loopback port, a scratch folder, nothing written to disk; and its URL."""
    server = tools.debian("redis-server", "redis-server")
    port = compare.free_port()
    folder = work / "redis"
    folder.mkdir(exist_ok=True)
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                                "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                compare.stop(process)
                raise SystemExit("bench: redis-server did not start") from None
            time.sleep(0.05)


def unthrottled_fixtures(work: Path) -> Path:
    """A fixtures folder whose default scenario is the bundled one without its rate limits.

    A file, not an uploaded scenario as in the main table: every server and worker starts in it, and nothing
    is switched while they run (a switch through one worker would be followed by the others per request).
    """
    folder = work / "unthrottled"
    folder.mkdir(exist_ok=True)
    fixture, _ = compare.default_without_rate_limits(compare.ROOT / "fixtures")
    (folder / "default.yaml").write_text(yaml.safe_dump(fixture, sort_keys=False))
    return folder


def start_mocksrv(work: Path, name: str, extra: t.Sequence[str]) -> compare.Running:
    port = compare.free_port()
    command = [*compare.mocksrv_command(port, unthrottled_fixtures(work)), *extra]
    log = work / f"mocksrv-{name.replace(' ', '').replace(',', '-')}.log"
    return compare.launch(command, port, "/__mocksrv/health", log, any_answer=False)


@dataclass(frozen=True)
class Contender:
    """A server process that runs for the whole pass, and the wrk target of each scenario it serves."""

    server: str
    running: compare.Running
    redis_pid: int | None
    targets: dict[str, tuple[str, str, list[str]]]
    reset: Callable[[], None] = lambda: None


def start_contenders(options: argparse.Namespace, work: Path, scenarios: list[compare.Scenario],
                     started: contextlib.ExitStack) -> list[Contender]:
    """Every selected server started at once (each stopped by its PID when ``started`` closes): mocksrv embedded,
    on Redis with 1 and 2 workers (each on a Redis database of its own), and Prism, one process per spec."""
    contenders = []
    if any(not server.prism for server in options.servers):
        redis, url = start_redis(work)
        started.callback(compare.stop, redis)
        for database, (server, extra) in enumerate(MOCKSRV_CONFIGS):
            store = [] if server == EMBEDDED else ["--store", f"{url.rpartition('/')[0]}/{database}"]
            running = start_mocksrv(work, server, [*store, *extra])
            started.callback(compare.stop, running.process)
            mounts = compare.mocksrv_mounts(running)
            contenders.append(Contender(
                server, running, None if server == EMBEDDED else redis.pid,
                {s.name: compare.wrk_target(running.base_url, mounts[s.spec], s, work) for s in scenarios},
                reset=functools.partial(compare.mocksrv_reset, running)))
    if any(server.silent for server in options.servers):
        prism = tools.prism()
        for spec in compare.SPEC_NAMES:
            own = [s for s in scenarios if s.spec == spec]
            if own:
                running = compare.start_prism(work, prism, spec, silent=True)
                started.callback(compare.stop, running.process)
                contenders.append(Contender(PRISM, running, None,
                                            {s.name: compare.wrk_target(running.base_url, "", s, work) for s in own}))
    return contenders


def runs(contender: Contender, scenario: compare.Scenario, options: argparse.Namespace) -> list[Sample]:
    """Warm up, then the paced run and the saturated one."""
    url, script, args = target = contender.targets[scenario.name]
    if options.warmup > 0:
        contender.reset()
        loadgen.run(url, script, args, scenario.expected, options.connections[0], options.warmup, options.wrk)
    made = []
    for paced, connections in ((True, PACED_CONNECTIONS), (False, options.connections[0])):
        contender.reset()
        made.append(sample(contender.server, contender.running, contender.redis_pid, scenario, target, connections,
                           options.duration, options.wrk, paced=paced))
    return made


def measure(options: argparse.Namespace, work: Path) -> list[Sample]:
    """The selected scenarios (``--scenarios``) on the selected servers (``--only mocksrv`` leaves Prism out).

    Every server runs for the whole pass and each scenario is run on all of them back to back, the first
    one taking turns: the machine's state drifts over minutes (other guests, frequency), and servers measured
    minutes apart were compared under different conditions (paced CPU per request moved ±30 % between runs)."""
    scenarios = [s for s in options.selected if not s.records]
    samples: list[Sample] = []
    with contextlib.ExitStack() as started:
        contenders = start_contenders(options, work, scenarios, started)
        for turn, scenario in enumerate(scenarios):
            serving = [c for c in contenders if scenario.name in c.targets]
            for contender in serving[turn % len(serving):] + serving[:turn % len(serving)]:
                print(f"bench: {contender.server}", flush=True)
                samples += runs(contender, scenario, options)
    order = [EMBEDDED, REDIS_1, REDIS_2, PRISM]
    return sorted(samples, key=lambda made: (order.index(made.server), scenarios.index(made.scenario)))


# -- the tables


def find(samples: list[Sample], server: str, scenario: str, paced: bool) -> Sample | None:
    return next((s for s in samples if (s.server, s.scenario.name, s.paced) == (server, scenario, paced)), None)


def ms(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def versus_prism(samples: list[Sample], made: Sample) -> float | None:
    """``made``'s CPU per request over Prism's (quiet) on the same scenario and kind of run."""
    prism = find(samples, PRISM, made.scenario.name, made.paced)
    own, theirs = made.per_request_ms(made.server_cpu), prism and prism.per_request_ms(prism.server_cpu)
    return own / theirs if own is not None and theirs else None


def prism_refused(samples: list[Sample], scenario: str) -> bool:
    """Prism answered this scenario wrongly (sm-send-file: it refuses the file): its CPU is that of a refusal."""
    return any(s.server == PRISM and s.scenario.name == scenario and s.load.errors for s in samples)


def predicted(samples: list[Sample], saturated: Sample, cores: int) -> float | None:
    """Requests a second the model predicts for ``saturated``'s server from one process's CPU per request under
    the same load (the 2-worker row from the 1-worker run; for one process the loop bound is its own reading)."""
    if saturated.server not in MODEL_BASE:
        return None
    base_server, workers = MODEL_BASE[saturated.server]
    base = find(samples, base_server, saturated.scenario.name, paced=False)
    if base is None:
        return None
    loop, own = base.per_request_ms(base.loop_cpu), base.per_request_ms(base.server_cpu)
    redis, wrk = base.per_request_ms(base.redis_cpu) or 0.0, base.per_request_ms(base.wrk_cpu) or 0.0
    if not loop or not own:
        return None
    bounds = [workers * 1000 / loop, cores * 1000 / (own + redis + wrk)]
    if redis:  # Redis runs commands on one thread, whatever the cores
        bounds.append(1000 / redis)
    return min(bounds)


def paced_table(samples: list[Sample]) -> str:
    lines = []
    for made in (s for s in samples if s.paced):
        lines.append([made.scenario.name, made.server, f"{made.load.rate:.0f}",
                      ms(made.per_request_ms(made.server_cpu)), ms(made.per_request_ms(made.redis_cpu)),
                      ms(made.per_request_ms(made.loop_cpu)),
                      ms(made.load.p50_ms, 2), ms(made.load.p99_ms, 2), f"{made.load.errors} / {made.load.requests}",
                      ms(versus_prism(samples, made), 2)])
    return compare.markdown(["scenario", "server", "req/s", "CPU ms/req (server)", "+ Redis ms/req",
                             "loop thread ms/req", "p50 ms", "p99 ms", "errors / requests", "CPU vs Prism"], lines)


def saturated_table(samples: list[Sample], cores: int) -> str:
    lines = []
    for made in (s for s in samples if not s.paced):
        model = predicted(samples, made, cores)
        one = find(samples, REDIS_1, made.scenario.name, paced=False)
        gain = f"{made.load.rate / one.load.rate:.2f}" if made.server == REDIS_2 and one and one.load.rate else ""
        lines.append([made.scenario.name, made.server, f"{made.load.rate:.0f}", ms(made.load.p50_ms, 1),
                      ms(made.load.p99_ms, 1), ms(made.per_request_ms(made.server_cpu)),
                      ms(made.per_request_ms(made.loop_cpu)), ms(made.per_request_ms(made.redis_cpu)),
                      ms(made.per_request_ms(made.wrk_cpu)),
                      f"{made.load.errors} / {made.load.requests}", ms(versus_prism(samples, made), 2),
                      f"{model:.0f}" if model else "", f"{made.load.rate / model:.2f}" if model else "", gain])
    return compare.markdown(["scenario", "server", "req/s", "p50 ms", "p99 ms", "CPU ms/req (server)",
                             "loop thread ms/req", "+ Redis ms/req", "wrk ms/req", "errors / requests",
                             "CPU vs Prism", "model req/s", "measured/model", "2 workers/1"], lines)


def findings(samples: list[Sample]) -> list[str]:
    """The issue's targets, each as one line: Redis's p50 overhead, CPU per request against Prism's."""
    lines = []
    for name in ("md-send", "mx-get"):
        embedded, redis = find(samples, EMBEDDED, name, True), find(samples, REDIS_1, name, True)
        if embedded and redis and embedded.load.p50_ms:
            lines.append(f"Redis (1 worker) against the embedded store, paced p50 on {name}: "
                         f"{redis.load.p50_ms:.2f} ms against {embedded.load.p50_ms:.2f} ms "
                         f"({(redis.load.p50_ms / embedded.load.p50_ms - 1) * 100:+.0f} %; target at most +30 %)")
    refused = sorted({s.scenario.name for s in samples if prism_refused(samples, s.scenario.name)})
    for server in (EMBEDDED, REDIS_1):
        for paced in (True, False):
            ratios = []
            for made in (s for s in samples if s.paced == paced and s.server == server):
                ratio = versus_prism(samples, made)
                if ratio is not None and not prism_refused(samples, made.scenario.name):
                    ratios.append(ratio)
            if ratios:
                lines.append(f"CPU per request of mocksrv ({server}) over Prism's (quiet), "
                             f"{'paced' if paced else 'saturated'}: {min(ratios):.2f} to {max(ratios):.2f} over "
                             f"{len(ratios)} scenarios (median {statistics.median(ratios):.2f}; target at most 1"
                             f"{'; leaving out ' + ', '.join(refused) + ', which Prism refuses' if refused else ''})")
    gains = []  # (2 workers over 1, measured over predicted) per scenario
    for two in (s for s in samples if s.server == REDIS_2 and not s.paced):
        one = find(samples, REDIS_1, two.scenario.name, False)
        model = predicted(samples, two, len(os.sched_getaffinity(0)))
        if one and one.load.rate and model:
            gains.append((two.load.rate / one.load.rate, two.load.rate / model))
    if gains:
        lines.append(f"2 workers over 1 on Redis, saturated: {min(g for g, _ in gains):.2f} to "
                     f"{max(g for g, _ in gains):.2f}× the throughput; measured over the model's prediction "
                     f"{min(m for _, m in gains):.2f} to {max(m for _, m in gains):.2f}")
    return lines


def render(samples: list[Sample], options: argparse.Namespace, versions: dict[str, str], load_before: float) -> str:
    cores = len(os.sched_getaffinity(0))
    facts = "\n".join(f"- {line}" for line in findings(samples)) or "- none"
    return (f"# Scale-out on Redis\n\n{compare.setting(versions, load_before)}\n\n"
            f"{_passes(options.repeat)}"
            f"Paced: {PACED_CONNECTIONS} connections, each waiting {PACED_INTERVAL_MS} ms before every request, "
            f"{options.duration} s per run. CPU is utime + stime of the server's process tree (/proc/<pid>/stat) "
            "over the requests answered; *+ Redis* is redis-server's, *loop thread* the event-loop thread's of "
            "every serving process; *CPU vs Prism* is the server column over Prism's (quiet) on the scenario. Every "
            "server runs without a log line per request (mocksrv `--quiet`, which still journals each; Prism "
            "`-v silent`).\n\n"
            f"{paced_table(samples)}\n\n"
            f"Saturated: `wrk -t2 -c{options.connections[0]}` for {options.duration} s. *wrk ms/req* is the load "
            f"generator's own CPU, on the same {cores} cores. *model req/s* is min(N / loop thread, "
            f"{cores} cores / (server + Redis + wrk), 1 / Redis) with one process's CPU per request under this load: "
            "the 2-worker row is predicted from the 1-worker run (a one-process row only says which bound it met).\n\n"
            f"{saturated_table(samples, cores)}\n\n{facts}\n")


def combined(passes: list[Sample]) -> Sample:
    """One sample for several passes of the same run: the rate, the latencies and each CPU per request are
    the medians over the passes; requests and errors are added up."""
    first = passes[0]
    requests = sum(made.load.requests for made in passes)

    def median_per_request(seconds: t.Callable[[Sample], float | None]) -> float | None:
        values = [seconds(made) for made in passes]
        if any(value is None for value in values):
            return None
        return statistics.median(t.cast(float, value) / max(made.load.requests, 1)
                                 for value, made in zip(values, passes, strict=True)) * requests

    rate = statistics.median(made.load.rate for made in passes)
    load = loadgen.Load(requests, requests / rate if rate else 0.0,
                        statistics.median(made.load.p50_ms for made in passes),
                        statistics.median(made.load.p99_ms for made in passes), {},
                        sum(made.load.socket_errors for made in passes), sum(made.load.unexpected for made in passes))
    return Sample(first.server, first.scenario, first.paced, load, t.cast(float, median_per_request(
        lambda made: made.server_cpu)), t.cast(float, median_per_request(lambda made: made.loop_cpu)),
        median_per_request(lambda made: made.redis_cpu), t.cast(float, median_per_request(lambda made: made.wrk_cpu)))


def _passes(repeat: int) -> str:
    if repeat == 1:
        return "One pass. "
    return (f"Medians of {repeat} passes, each on freshly started servers (rate, latencies and each CPU per "
            "request; requests and errors added up). ")


def run(options: argparse.Namespace, work: Path, versions: dict[str, str]) -> str:
    """Measure (``--repeat`` passes, each on freshly started servers), then the Markdown: both tables and the
    targets, one line each."""
    load_before = os.getloadavg()[0]
    passes = [measure(options, work) for _ in range(options.repeat)]
    samples = [combined([made for one in passes for made in one
                         if (made.server, made.scenario.name, made.paced) == key])
               for key in dict.fromkeys((made.server, made.scenario.name, made.paced) for made in passes[0])]
    return render(samples, options, versions, load_before)
