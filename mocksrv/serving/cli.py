"""The ``mocksrv`` command: ``serve`` runs the mock under granian (lifecycle.py),
``check`` validates specs and exits non-zero with one readable line per problem."""

from __future__ import annotations

import atexit
import functools
import logging
import logging.handlers
import os
import queue
import re
import shlex
import sys
import typing as t
import webbrowser
from datetime import UTC
from datetime import datetime
from pathlib import Path

import click

from mocksrv.client import MocksrvClient
from mocksrv.client import MocksrvError
from mocksrv.config import Options
from mocksrv.config import TlsOptions
from mocksrv.engine.upstream import Upstream
from mocksrv.engine.upstream import parse_upstreams
from mocksrv.errors import FixtureError
from mocksrv.errors import SpecError
from mocksrv.errors import StoreError
from mocksrv.errors import StoreUnavailable
from mocksrv.errors import TlsError
from mocksrv.openapi.specs import load_specs
from mocksrv.serving.journal_tail import show_requests
from mocksrv.serving.journal_tail import show_sessions
from mocksrv.state.fixtures import FixtureSet

if t.TYPE_CHECKING:
    from mocksrv.serving.tls import Certificate

SPECS_HELP = "spec file or folder (repeatable); default: ./specs"
STRICT_SPECS_HELP = "refuse a spec with a mistake lenient loading would repair (each repair is a warning otherwise)"
FIXTURES_HELP = ("folder of scenario files; default: ./fixtures when serving the default ./specs, "
                 "else every API in open mode")


def _fixtures_folder(given: Path | None, specs: tuple[Path, ...]) -> Path | None:
    """The bundled fixtures go with the bundled specs; other specs start in open mode."""
    if given is not None:
        return given
    default = Path("fixtures")
    return default if not specs and default.is_dir() else None


def _options(specs: tuple[Path, ...], **values: object) -> Options:
    options = Options(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]
    if specs:
        options.specs = list(specs)
    elif not all(path.exists() for path in options.specs):
        # installed outside a checkout: there is no bundled ./specs to fall back on
        shown = ", ".join(f"./{path}" for path in options.specs)
        click.echo(f"mocksrv: no {shown} folder here; pass --specs with your OpenAPI file or folder", err=True)
        sys.exit(2)
    return options


def plural(count: int, noun: str) -> str:
    """``1 operation``, ``4 operations``, ``1 API``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"

SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
WEBHOOK_GRACE = 5.0  # seconds shutdown waits for webhook attempts under way
SERVE_GRACE = 10.0  # seconds shutdown waits for requests already received
DEFAULTS = Options()  # the defaults live in config.Options, the flags show them


def _tls_options(command: t.Callable[..., None]) -> t.Callable[..., None]:
    """The HTTPS flags, handed to ``command`` as one ``tls`` (config.TlsOptions)."""

    @functools.wraps(command)
    def with_tls(*args: t.Any, tls_on: bool, tls_port: int | None, tls_cert: Path | None, tls_key: Path | None,
                 tls_dir: Path | None, **kwargs: t.Any) -> None:
        command(*args, tls=TlsOptions(tls_on, tls_port, tls_cert, tls_key, tls_dir), **kwargs)

    options = [
        click.option("--tls", "tls_on", is_flag=True,
                     help="serve HTTPS on --port, with a certificate from a local CA made on first use"),
        click.option("--tls-port", type=int, help="also serve HTTPS on this port (0 picks one); HTTP stays on --port"),
        click.option("--tls-cert", type=click.Path(path_type=Path), help="your own certificate (PEM) instead"),
        click.option("--tls-key", type=click.Path(path_type=Path), help="the key of --tls-cert (PEM, unencrypted)"),
        click.option("--tls-dir", type=click.Path(path_type=Path), envvar="MOCKSRV_TLS_DIR",
                     help="where the local CA is kept (env MOCKSRV_TLS_DIR); default: the user's data folder"),
    ]
    for option in reversed(options):
        with_tls = option(with_tls)
    return with_tls


def _certificate(tls: TlsOptions, host: str, port: int) -> Certificate | None:
    """The certificate HTTPS is served with (made or checked now, before anything loads), or None for HTTP only.

    Exits 2 with one line when the flags do not fit together or a file cannot be used.
    """
    from mocksrv.serving import tls as certificates

    if not tls.wanted:
        return None
    refusal = None
    if tls.port is not None and not 0 <= tls.port <= 65535:
        refusal = f"--tls-port must be between 0 and 65535 (0 picks a free port); got {tls.port}"
    elif tls.port is not None and tls.on:
        refusal = "--tls makes --port HTTPS; --tls-port adds HTTPS next to an HTTP --port: give one of them"
    elif tls.port is not None and tls.port == port != 0:
        refusal = f"--tls-port must differ from --port ({port})"
    elif (tls.cert is None) != (tls.key is None):
        refusal = "--tls-cert and --tls-key go together: give both"
    if refusal:
        click.echo(f"mocksrv: {refusal}", err=True)
        sys.exit(2)
    try:
        if tls.cert is not None and tls.key is not None:
            return certificates.own_certificate(tls.cert, tls.key)
        certificate = certificates.local_certificate(tls.folder or certificates.data_folder(), [host])
    except TlsError as error:
        click.echo(f"mocksrv: cannot serve HTTPS: {error}", err=True)
        sys.exit(2)
    for line in certificate.made:
        click.echo(f"mocksrv: {line}", err=True)
    return certificate


def _say_how_to_trust(certificate: Certificate) -> None:
    """The certificate in use, and for the local CA the file and the variables clients read to trust it."""
    from mocksrv.serving.tls import CA_VARIABLES

    names = ", ".join(certificate.names) or "no names"
    if certificate.ca_file is None:
        click.echo(f"mocksrv: HTTPS certificate {certificate.cert_file} (for {names}; your own)", err=True)
        return
    click.echo(f"mocksrv: HTTPS certificate for {names}, signed by the local CA {certificate.ca_file}", err=True)
    quoted = shlex.quote(str(certificate.ca_file))
    click.echo("mocksrv:   export " + " ".join(f"{variable}={quoted}" for variable in CA_VARIABLES), err=True)


@click.group()
@click.version_option(package_name="mocksrv", message="mocksrv %(version)s")
def main() -> None:
    """A validating, stateful mock server for OpenAPI 3.0/3.1 APIs."""


@main.command()
@click.option("--specs", "specs", multiple=True, type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option("--fixtures", type=click.Path(path_type=Path), help=FIXTURES_HELP)
@click.option("--scenario", default=DEFAULTS.scenario, show_default=True, help="the scenario to start with")
@click.option("--db", type=click.Path(path_type=Path), help="keep state in this file across restarts")
@click.option("--store", "store_url", metavar="redis://HOST:PORT/DB",
              help="keep state in Redis, shared by every mocksrv process on it; unix:///PATH?db=DB for a "
                   "Redis on this machine's socket (docs/scale-out.md)")
@click.option("--clock-start", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
              help="start the virtual clock at this instant (UTC unless an offset is given)")
@click.option("--host", default=DEFAULTS.host, show_default=True)
@click.option("--port", default=DEFAULTS.port, show_default=True, type=int, help="0 picks a free port")
@click.option("--seed", default=DEFAULTS.seed, show_default=True, type=int, help="seed for generated data")
@click.option("--strict", is_flag=True, help="answer 500 when a mocked response would not validate")
@click.option("--skip-invalid", is_flag=True, help="serve the valid specs when some are broken")
@click.option("--strict-specs", is_flag=True, help=STRICT_SPECS_HELP)
@click.option("--workers", default=DEFAULTS.workers, show_default=True, type=int,
              help="processes serving the same port (needs --store redis://…; docs/scale-out.md)")
@click.option("--threads", default=DEFAULTS.threads, show_default=True, type=click.IntRange(min=1),
              help="threads for the admin API and console (mocked APIs are answered on the event loop)")
@click.option("--journal-limit", default=DEFAULTS.journal_limit, show_default=True, type=click.IntRange(min=1),
              help="requests kept in the journal (the oldest go first)")
@click.option("--admin-token", envvar="MOCKSRV_ADMIN_TOKEN",
              help="require this bearer token on /__mocksrv/ and then allow remote clients (env MOCKSRV_ADMIN_TOKEN)")
@click.option("--session-idle", "session_idle_seconds", default=DEFAULTS.session_idle_seconds, show_default=True,
              type=click.FloatRange(min=1), help="seconds after which a session nobody used is deleted")
@click.option("--max-sessions", default=DEFAULTS.max_sessions, show_default=True, type=click.IntRange(min=0),
              help="sessions (isolated worlds for parallel tests) alive at once")
@click.option("--quiet", "-q", is_flag=True,
              help="no log line per request (the journal still records each); start-up, warnings and errors stay")
@click.option("--open", "open_console", is_flag=True, help="open the console in a browser once serving")
@click.option("--watch", is_flag=True,
              help="reload specs, $ref'd files and fixtures when they change (records and journal kept)")
@click.option("--no-cors", is_flag=True, help="no CORS: browsers on other origins cannot call the mocked APIs")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="allow only this origin, e.g. http://localhost:3000 (repeatable); default: any")
@click.option("--webhook-allow", "webhook_allow", multiple=True, metavar="HOST[:PORT]",
              help="let webhooks and callbacks go to this host too (repeatable); default: loopback only")
@click.option("--webhook-timeout", default=DEFAULTS.webhook_timeout, show_default=True,
              type=click.FloatRange(min=0.1), help="seconds one webhook delivery attempt may take")
@click.option("--upstream", "upstream_pairs", multiple=True, metavar="API=URL",
              help="proxy this API to its real server, validating both ways (repeatable; docs/proxy.md)")
@click.option("--upstream-mode", type=click.Choice(["forward", "enforce", "fallback"]), default=DEFAULTS.upstream_mode,
              show_default=True, help="forward every request; or answer an invalid one here with the API's 400; "
                                      "or mock, forwarding what the mock has no record for (docs/proxy.md)")
@click.option("--upstream-live", "upstream_live", multiple=True, metavar="OPERATION",
              help="in fallback mode, always forward this operation (operationId or METHOD /path; repeatable)")
@click.option("--upstream-insecure", is_flag=True, help="do not verify the upstreams' TLS certificates")
@click.option("--upstream-timeout", default=DEFAULTS.upstream_timeout, show_default=True,
              type=click.FloatRange(min=0.1), help="seconds an upstream may take to answer (then 504)")
@click.option("--record", "record", metavar="NAME",
              help="write what the proxy sees as the scenario NAME in the fixtures folder (with --upstream)")
@click.option("--record-redact", "record_redact", multiple=True, metavar="FIELD",
              help="write this field as [redacted] wherever it appears in a recording (repeatable)")
@_tls_options
def serve(specs: tuple[Path, ...], fixtures: Path | None, scenario: str, db: Path | None, store_url: str | None,
          clock_start: datetime | None, host: str, port: int, seed: int, strict: bool, skip_invalid: bool,
          strict_specs: bool, workers: int, threads: int, journal_limit: int, admin_token: str | None,
          session_idle_seconds: float, max_sessions: int, quiet: bool, open_console: bool, watch: bool, no_cors: bool,
          cors_origins: tuple[str, ...], webhook_allow: tuple[str, ...], webhook_timeout: float,
          upstream_pairs: tuple[str, ...], upstream_mode: str, upstream_live: tuple[str, ...], upstream_insecure: bool,
          upstream_timeout: float, record: str | None, record_redact: tuple[str, ...], tls: TlsOptions) -> None:
    """Serve every spec, each at /{api-id}{base path of its first server}."""
    from mocksrv.serving.app import create_app
    from mocksrv.serving.lifecycle import Listener
    from mocksrv.serving.lifecycle import free_ports
    from mocksrv.serving.lifecycle import release_freed_memory
    from mocksrv.serving.lifecycle import serve as serve_until_stopped
    from mocksrv.serving.reload import Reloader
    from mocksrv.serving.rsgi import RsgiApp
    from mocksrv.serving.workers import run_workers
    from mocksrv.serving.wsgi import REQUEST_LOG
    from mocksrv.serving.wsgi import ApiDispatcher

    if not 0 <= port <= 65535:
        click.echo(f"mocksrv: --port must be between 0 and 65535 (0 picks a free port); got {port}", err=True)
        sys.exit(2)
    try:
        upstreams = parse_upstreams(upstream_pairs)
        for url in upstreams.values():
            Upstream(url)  # its form: http(s) with a host
    except ValueError as error:
        click.echo(f"mocksrv: {error}", err=True)
        sys.exit(2)
    if store_url is not None and (db is not None or not store_url.startswith(("redis://", "rediss://", "unix://"))):
        click.echo("mocksrv: --store takes a redis:// URL (redis://HOST:PORT/DB, rediss:// for TLS, "
                   "unix:///PATH/redis.sock?db=DB for a Redis on this machine)"
                   if db is None else "mocksrv: --store and --db both say where the state is: give one", err=True)
        sys.exit(2)
    refusal = _workers_refusal(workers, store_url)
    if refusal:
        click.echo(f"mocksrv: {refusal}", err=True)
        sys.exit(2)
    if record is not None and (not upstreams or not SCENARIO_NAME.match(record)):
        click.echo("mocksrv: --record needs --upstream (it records what the proxy sees)" if not upstreams else
                   f"mocksrv: --record {record!r}: a scenario name is letters, digits, '.', '_' or '-'", err=True)
        sys.exit(2)
    certificate = _certificate(tls, host, port)
    logs = _log_from_a_queue()
    if quiet:  # a logger's level is kept by the forked workers too
        logging.getLogger(REQUEST_LOG).setLevel(logging.WARNING)
    options = _options(specs, host=host, port=port, seed=seed, strict=strict, skip_invalid=skip_invalid,
                       strict_specs=strict_specs, workers=workers,
                       threads=threads, journal_limit=journal_limit, admin_token=admin_token or None,
                       cors=not no_cors, cors_origins=list(cors_origins) or None,
                       session_idle_seconds=session_idle_seconds, max_sessions=max_sessions,
                       webhook_allow=list(webhook_allow), webhook_timeout=webhook_timeout, upstreams=upstreams,
                       upstream_mode=upstream_mode, upstream_live=list(upstream_live),
                       upstream_insecure=upstream_insecure,
                       upstream_timeout=upstream_timeout, record=record, record_redact=list(record_redact),
                       fixtures=_fixtures_folder(fixtures, specs), scenario=scenario, db=db, store_url=store_url,
                       clock_start=clock_start.replace(tzinfo=clock_start.tzinfo or UTC) if clock_start else None)
    try:
        apis, failures = load_specs(options.specs, skip_invalid=options.skip_invalid, strict=options.strict_specs)
    except SpecError as error:
        click.echo(f"mocksrv: cannot serve {error}", err=True)
        sys.exit(2)
    for failure in failures:
        click.echo(f"mocksrv: skipped {failure}", err=True)
    unknown = sorted(set(upstreams) - {api.id for api in apis})
    if unknown:
        click.echo(f"mocksrv: --upstream names no API served here: {', '.join(unknown)} "
                   f"(served: {', '.join(api.id for api in apis)})", err=True)
        sys.exit(2)
    if upstreams and upstream_insecure:
        click.echo("mocksrv: warning: --upstream-insecure: the upstreams' TLS certificates are not checked", err=True)
    for api in apis:
        for warning in api.warnings:
            click.echo(f"mocksrv: warning: {warning}", err=True)
    try:
        app = create_app(options, apis=apis)
    except StoreUnavailable as error:  # not the user's files: the shared store is down
        click.echo(f"mocksrv: cannot serve: {error}", err=True)
        sys.exit(1)
    except (FixtureError, StoreError, SpecError) as error:
        for line in str(error).splitlines():
            click.echo(f"mocksrv: cannot serve {line}", err=True)
        sys.exit(2)
    listeners = [Listener(host, port, None if tls.port is not None else certificate)]
    if tls.port is not None:
        listeners.append(Listener(host, tls.port, certificate))
    try:
        ports = free_ports(host, [listener.port for listener in listeners])
    except OSError as error:  # the address that failed is the error's filename
        click.echo(f"mocksrv: cannot listen on {error.filename}: {error.strerror or error}", err=True)
        sys.exit(2)
    listeners = [Listener(host, free, listener.tls) for listener, free in zip(listeners, ports, strict=True)]
    base = listeners[0].url
    also = "".join(f" and {listener.url}" for listener in listeners[1:])
    if certificate is not None:
        _say_how_to_trust(certificate)

    def on_listening() -> None:
        click.echo(f"mocksrv: serving {plural(len(apis), 'API')} on {base}{also} (console: {base}/__mocksrv/ui/)",
                   err=True)
        for api in apis:
            click.echo(f"mocksrv:   {api.id:<20} {base}{api.mount}  ({api.title} {api.api_version})", err=True)
        if open_console:  # the browser the user configured (BROWSER), as webbrowser finds it
            webbrowser.open(f"{base}/__mocksrv/ui/")

    watched = Reloader(app) if watch else None
    if watched is not None:
        click.echo(f"mocksrv: watching {', '.join(str(folder) for folder in watched.folders())}", err=True)
    release_freed_memory()
    mock = app.wsgi_app
    assert isinstance(mock, ApiDispatcher)  # create_app puts it in front of Flask
    courier = app.extensions["mocksrv"].courier

    def on_stop() -> None:  # after the drain: deliveries under way get a bounded wait, pending ones stay stored
        left = courier.stop(WEBHOOK_GRACE)
        if left:
            click.echo(f"mocksrv: {plural(left, 'webhook attempt')} cut short; sent again after a restart "
                       "with the same --db", err=True)
        mock.pipeline.state.store.close()

    def serve_here(on_listening: t.Callable[[], None]) -> None:
        """This process serves until a stop signal: the one process, or one worker of several."""
        if watched is not None:
            watched.start()  # a daemon thread: it ends with the process
        courier.start()
        front = RsgiApp(app, mock, admin_threads=threads, grace=SERVE_GRACE, on_listening=on_listening,
                        on_stop=on_stop, listeners=len(listeners))
        serve_until_stopped(front, listeners)

    if workers == 1:
        serve_here(on_listening)
        click.echo("mocksrv: stopped", err=True)
        return

    def worker(number: int, ready: t.Callable[[], None]) -> None:
        own_logs = _log_from_a_queue(f"worker {number}")
        try:
            serve_here(ready)
        finally:
            own_logs.stop()  # what is queued is written before the worker ends

    logs.stop()  # no thread may run while forking; each worker starts its own writer
    atexit.unregister(logs.stop)
    status = run_workers(workers, worker, on_listening, stop_within=SERVE_GRACE + WEBHOOK_GRACE + 5)
    click.echo("mocksrv: stopped", err=True)
    sys.exit(status)


def _workers_refusal(workers: int, store_url: str | None) -> str | None:
    """Why ``--workers`` cannot be served as given, or None."""
    if workers < 1:
        return f"--workers must be 1 or more; got {workers}"
    if workers > 1 and store_url is None:
        return (f"--workers {workers} needs --store redis://HOST:PORT/DB: each worker process would hold a world "
                "of its own (records, rate limits, clock), and a client would see whichever its connection reached")
    return None


def _log_from_a_queue(who: str = "") -> logging.handlers.QueueListener:
    """Log lines go through a queue to one writer thread (started here, returned so it can be stopped);
    ``who`` (``worker 2``) starts each line after the level, so the workers' lines can be told apart.

    A write to stderr can block (a full pipe) and holds the handler's lock across it; the
    event loop that answers every mocked request must never wait on either. The record is
    queued as it is (no copy) and formatted by the writer; records carry no caller, thread
    or process fields (the logging HOWTO's "Optimization" switches), which the format does
    not show anyway: 13 µs a request line becomes 5.
    """
    logging._srcfile = None  # documented in the logging HOWTO
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    writer = logging.StreamHandler()
    who = f"{who} " if who else ""
    writer.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {who}%(name)s: %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, writer)
    listener.start()
    atexit.register(listener.stop)  # flushes what is queued before the process ends
    logging.basicConfig(level=logging.INFO, handlers=[_Enqueue(records)], force=True)
    return listener


class _Enqueue(logging.handlers.QueueHandler):
    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # the queue stays in this process: no copy, and the writer formats (tracebacks included)
        record.msg, record.args = record.getMessage(), None
        return record


@main.command()
@click.option("--specs", "specs", multiple=True, type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option("--fixtures", type=click.Path(path_type=Path), help=FIXTURES_HELP)
@click.option("--strict-specs", is_flag=True, help=STRICT_SPECS_HELP)
def check(specs: tuple[Path, ...], fixtures: Path | None, strict_specs: bool) -> None:
    """Validate specs and fixtures; exit 1 and print one line per problem when any is broken."""
    options = _options(specs, strict_specs=strict_specs)
    try:
        apis, failures = load_specs(options.specs, skip_invalid=True, strict=options.strict_specs)
    except SpecError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    problems = [str(failure) for failure in failures]
    for api in apis:
        click.echo(f"ok: {api.source} ({api.id}, OpenAPI {api.document.get('openapi')}, "
                   f"{plural(len(api.operations), 'operation')})")
        for warning in api.warnings:
            click.echo(f"warning: {warning}")
    folder = _fixtures_folder(fixtures, specs)
    if folder is not None:
        try:
            fixture_set = FixtureSet(folder)
            problems.extend(fixture_set.check_against(apis))
            if not problems:
                from mocksrv.engine.assembly import build_pipeline

                for name in fixture_set.names:  # seeding checks each record's id field
                    options.fixtures, options.scenario = folder, name
                    build_pipeline(apis, options)
                    click.echo(f"ok: scenario {name} ({fixture_set.description(name) or 'no description'})")
        except FixtureError as error:
            problems.extend(error.lines())
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(1 if problems else 0)


URL_HELP = "the running server (default: $MOCKSRV_URL, else http://127.0.0.1:4010); its token from $MOCKSRV_ADMIN_TOKEN"


def _running(url: str | None, session: str | None = None) -> MocksrvClient:
    target = url or os.environ.get("MOCKSRV_URL") or f"http://{DEFAULTS.host}:{DEFAULTS.port}"
    try:
        return MocksrvClient(target, token=os.environ.get("MOCKSRV_ADMIN_TOKEN") or None, session=session)
    except ValueError as error:
        click.echo(f"mocksrv: {error}", err=True)
        sys.exit(2)


@main.command("requests")
@click.option("--url", help=URL_HELP)
@click.option("--session", help="the journal of this session instead of the server's own")
@click.option("--follow", "-f", is_flag=True, help="keep printing new requests as they come (Ctrl-C stops)")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(min=0),
              help="how many of the latest to print first")
@click.option("--api", help="only this API")
@click.option("--invalid", is_flag=True, help="only requests that broke the contract")
def requests_command(url: str | None, session: str | None, follow: bool, limit: int, api: str | None,
                     invalid: bool) -> None:
    """Print a running server's request journal, one line per request."""
    filters = {k: v for k, v in (("api", api), ("valid", False if invalid else None)) if v is not None}
    try:
        show_requests(_running(url, session), follow=follow, limit=limit, filters=filters)
    except MocksrvError as error:
        click.echo(f"mocksrv: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


@main.command("sessions")
@click.option("--url", help=URL_HELP)
def sessions_command(url: str | None) -> None:
    """List a running server's sessions and their base URLs."""
    try:
        show_sessions(_running(url))
    except MocksrvError as error:
        click.echo(f"mocksrv: {error}", err=True)
        sys.exit(1)
