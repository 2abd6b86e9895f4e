"""The ``mocksrv`` command: ``serve`` runs the mock under granian (lifecycle.py),
``check`` validates specs and exits non-zero with one readable line per problem."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from datetime import UTC
from datetime import datetime
from pathlib import Path

import click

from mocksrv.config import Options
from mocksrv.errors import FixtureError
from mocksrv.errors import SpecError
from mocksrv.errors import StoreError
from mocksrv.openapi.specs import load_specs
from mocksrv.state.fixtures import FixtureSet

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

DEFAULTS = Options()  # the defaults live in config.Options, the flags show them


@click.group()
@click.version_option(package_name="mocksrv", message="mocksrv %(version)s")
def main() -> None:
    """A validating, stateful mock server for OpenAPI 3.0/3.1 APIs."""


@main.command()
@click.option("--specs", "specs", multiple=True, type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option("--fixtures", type=click.Path(path_type=Path), help=FIXTURES_HELP)
@click.option("--scenario", default=DEFAULTS.scenario, show_default=True, help="the scenario to start with")
@click.option("--db", type=click.Path(path_type=Path), help="keep state in this file across restarts")
@click.option("--clock-start", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
              help="start the virtual clock at this instant (UTC unless an offset is given)")
@click.option("--host", default=DEFAULTS.host, show_default=True)
@click.option("--port", default=DEFAULTS.port, show_default=True, type=int, help="0 picks a free port")
@click.option("--seed", default=DEFAULTS.seed, show_default=True, type=int, help="seed for generated data")
@click.option("--strict", is_flag=True, help="answer 500 when a mocked response would not validate")
@click.option("--skip-invalid", is_flag=True, help="serve the valid specs when some are broken")
@click.option("--strict-specs", is_flag=True, help=STRICT_SPECS_HELP)
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
@click.option("--no-cors", is_flag=True, help="no CORS: browsers on other origins cannot call the mocked APIs")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="allow only this origin, e.g. http://localhost:3000 (repeatable); default: any")
def serve(specs: tuple[Path, ...], fixtures: Path | None, scenario: str, db: Path | None,
          clock_start: datetime | None, host: str, port: int, seed: int, strict: bool, skip_invalid: bool,
          strict_specs: bool, threads: int, journal_limit: int, admin_token: str | None, session_idle_seconds: float,
          max_sessions: int, no_cors: bool, cors_origins: tuple[str, ...]) -> None:
    """Serve every spec, each at /{api-id}{base path of its first server}."""
    from mocksrv.serving.app import create_app
    from mocksrv.serving.lifecycle import free_port
    from mocksrv.serving.lifecycle import release_freed_memory
    from mocksrv.serving.lifecycle import serve as serve_until_stopped
    from mocksrv.serving.rsgi import RsgiApp
    from mocksrv.serving.wsgi import ApiDispatcher

    if not 0 <= port <= 65535:
        click.echo(f"mocksrv: --port must be between 0 and 65535 (0 picks a free port); got {port}", err=True)
        sys.exit(2)
    _log_from_a_queue()
    options = _options(specs, host=host, port=port, seed=seed, strict=strict, skip_invalid=skip_invalid,
                       strict_specs=strict_specs,
                       threads=threads, journal_limit=journal_limit, admin_token=admin_token or None,
                       cors=not no_cors, cors_origins=list(cors_origins) or None,
                       session_idle_seconds=session_idle_seconds, max_sessions=max_sessions,
                       fixtures=_fixtures_folder(fixtures, specs), scenario=scenario, db=db,
                       clock_start=clock_start.replace(tzinfo=clock_start.tzinfo or UTC) if clock_start else None)
    try:
        apis, failures = load_specs(options.specs, skip_invalid=options.skip_invalid, strict=options.strict_specs)
    except SpecError as error:
        click.echo(f"mocksrv: cannot serve {error}", err=True)
        sys.exit(2)
    for failure in failures:
        click.echo(f"mocksrv: skipped {failure}", err=True)
    for api in apis:
        for warning in api.warnings:
            click.echo(f"mocksrv: warning: {warning}", err=True)
    try:
        app = create_app(options, apis=apis)
    except (FixtureError, StoreError, SpecError) as error:
        for line in str(error).splitlines():
            click.echo(f"mocksrv: cannot serve {line}", err=True)
        sys.exit(2)
    try:
        port = free_port(host, port)
    except OSError as error:
        click.echo(f"mocksrv: cannot listen on {host}:{port}: {error.strerror or error}", err=True)
        sys.exit(2)
    base = f"http://{host}:{port}"

    def on_listening() -> None:
        click.echo(f"mocksrv: serving {plural(len(apis), 'API')} on {base} (console: {base}/__mocksrv/ui/)", err=True)
        for api in apis:
            click.echo(f"mocksrv:   {api.id:<20} {base}{api.mount}  ({api.title} {api.api_version})", err=True)

    release_freed_memory()
    mock = app.wsgi_app
    assert isinstance(mock, ApiDispatcher)  # create_app puts it in front of Flask
    front = RsgiApp(app, mock, admin_threads=threads, grace=10.0, on_listening=on_listening,
                  on_stop=mock.pipeline.state.store.close)  # on_stop runs after the drain
    serve_until_stopped(front, host, port)
    click.echo("mocksrv: stopped", err=True)


def _log_from_a_queue() -> None:
    """Log lines go through a queue to one writer thread.

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
    writer.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, writer)
    listener.start()
    atexit.register(listener.stop)  # flushes what is queued before the process ends
    logging.basicConfig(level=logging.INFO, handlers=[_Enqueue(records)], force=True)


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
