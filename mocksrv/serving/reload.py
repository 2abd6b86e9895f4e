"""``mocksrv serve --watch``: follow edits to the specs, the files they ``$ref`` and the fixtures.

A thread waits for changes (watchfiles, which uses the system's file events) in the spec
folders (or a spec file's folder, where its ``$ref``'d parts are) and the fixtures folder.
After each batch of changes everything is loaded again and, when it all loads, put in place
of what was served: the records, counters, journal and clock stay, and the scenario in
force is read again from its edited file (its keys, options and rules; its records only on
``POST /__mocksrv/reset``). A broken edit changes nothing: the last good version keeps
serving, and one line says why (in the log, and on the console's pages until an edit
loads). Sessions keep their worlds and serve the new specs.
"""

from __future__ import annotations

import logging
import threading
import typing as t
from pathlib import Path

from flask import Flask

from mocksrv.engine.assembly import rebuild_pipeline
from mocksrv.errors import FixtureError
from mocksrv.errors import SpecError
from mocksrv.openapi.specs import load_specs

log = logging.getLogger("mocksrv.reload")
WATCHED_SUFFIXES = (".yaml", ".yml", ".json")
DEBOUNCE_MS = 200  # changes closer together than this are one reload (an editor's save is several writes)


class Reloader:
    """Loads the specs and fixtures again and puts them in place in ``app`` (one `create_app` app)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = app.extensions["mocksrv"]
        self.options = self.server.options
        self._lock = threading.Lock()  # one reload at a time

    def folders(self) -> list[Path]:
        """What to watch: each spec folder, a spec file's folder, the fixtures folder."""
        found = [path if path.is_dir() else path.parent for path in self.options.specs]
        if self.options.fixtures is not None:
            found.append(self.options.fixtures)
        return sorted({folder.resolve() for folder in found if folder.exists()})

    def reload(self) -> str:
        """Load everything again; the log line that says what happened."""
        with self._lock:
            current = self.server.pipeline
            try:
                apis, _ = load_specs(self.options.specs, skip_invalid=self.options.skip_invalid,
                                     strict=self.options.strict_specs)
                pipeline = rebuild_pipeline(current, apis, self.options)
            except (SpecError, FixtureError) as error:
                first = str(error).splitlines()[0]
                self.server.reload_error = first
                return f"reload failed, still serving the last good version: {first}"
            self.server.pipeline = pipeline
            self.app.wsgi_app.pipeline = pipeline  # type: ignore[attr-defined]
            sessions = self.server.sessions
            sessions.base = pipeline
            for session in sessions.all():
                session.pipeline.state.apis = pipeline.catalog
                session.pipeline = pipeline.for_state(session.pipeline.state)
            self.server.reload_error = None
            return f"reloaded: {len(apis)} API(s), scenario {pipeline.state.scenario.name!r}; records and journal kept"

    def watch(self, stop: threading.Event) -> None:
        """Reload after each batch of changes to a spec or fixture file, until ``stop`` is set."""
        import watchfiles  # only `serve --watch` needs it

        def relevant(_: t.Any, path: str) -> bool:
            return path.endswith(WATCHED_SUFFIXES)

        for _ in watchfiles.watch(*self.folders(), watch_filter=relevant, debounce=DEBOUNCE_MS, step=50,
                                  stop_event=stop, raise_interrupt=False):
            line = self.reload()
            (log.warning if line.startswith("reload failed") else log.info)("%s", line)

    def start(self) -> threading.Event:
        """Watch in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        threading.Thread(target=self.watch, args=(stop,), name="mocksrv-watch", daemon=True).start()
        return stop
