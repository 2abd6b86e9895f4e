"""Sessions: isolated worlds in one server, so parallel tests do not see each other.

A session has its own records, keys, rules, faults, clock, rate-limit counters, journal and
outbox; the specs, validators and generators are the server's, shared. Its APIs are served
under ``/@<id>`` in front of their usual mount (``/@t42/maildiver/v1/emails``), so an app
under test needs only its base URL changed; ``/__mocksrv/sessions/<id>/…`` is the admin API
of that world. A session nobody used for ``session_idle_seconds`` is deleted the next time
sessions are looked at (docs/admin-api.md, "Sessions").
"""

from __future__ import annotations

import re
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass

from mocksrv.config import Options
from mocksrv.engine.pipeline import Pipeline
from mocksrv.errors import FixtureError
from mocksrv.state.clock import Clock
from mocksrv.state.store import EmbeddedStore
from mocksrv.state.world import MockState

PREFIX = "/@"  # a session's APIs: /@<id><mount>; "@" starts no API id (ids come from file names)
SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SessionError(Exception):
    """A session that cannot be made: a malformed id or too many sessions (400), a taken id (409)."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.status = status


@dataclass
class Session:
    id: str
    pipeline: Pipeline
    created: float  # wall-clock seconds
    last_used: float  # monotonic seconds

    def as_dict(self, root: str) -> dict[str, t.Any]:
        """What the admin API tells about it: its id, scenario and each API's base URL."""
        return {"id": self.id, "scenario": self.pipeline.state.scenario.name, "created": self.created,
                "apis": {api.id: f"{root}{PREFIX}{self.id}{api.mount}" for api in self.pipeline.apis}}


class Sessions:
    """The live sessions of one server, made from its pipeline."""

    def __init__(self, base: Pipeline, options: Options, *, clock: t.Callable[[], float] = time.monotonic) -> None:
        self.base = base
        self.options = options
        self._now = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, session_id: str | None = None, scenario: str | None = None,
               fixture: dict[str, t.Any] | None = None) -> Session:
        """A new world with ``scenario`` (the server's default scenario when None), or with ``fixture``
        given inline (in the fixture format; it may extend a scenario of the server).

        :raise SessionError: the id is malformed or taken, or the server holds ``max_sessions``.
        :raise FixtureError: the scenario is unknown or the fixture invalid.
        """
        session_id = session_id or uuid.uuid4().hex[:12]
        if not SESSION_ID.match(session_id):
            raise SessionError(f"session id {session_id!r} must be 1-64 letters, digits, '.', '_' or '-', "
                               "starting with a letter or digit")
        base = self.base.state
        fixtures = base.fixtures.private_copy() if fixture is not None else base.fixtures
        name = scenario or self.options.scenario
        if fixture is not None:
            name = scenario or f"session-{session_id}"
            fixtures.add(name, fixture)
            problems = fixtures.check_against(self.base.apis)
            if problems:
                raise FixtureError(f"<inline scenario {name}>", problems)
        state = MockState(fixtures, EmbeddedStore(None), Clock(self.options.clock_start), base.apis,
                          journal_limit=self.options.journal_limit, secrets=base.journal.secrets)
        state.load(name)
        with self._lock:
            self._expire()
            if session_id in self._sessions:
                raise SessionError(f"a session {session_id!r} exists already", status=409)
            if len(self._sessions) >= self.options.max_sessions:
                raise SessionError(f"the server holds {self.options.max_sessions} sessions, its limit: delete some "
                                   "(DELETE /__mocksrv/sessions/<id>) or raise --max-sessions")
            session = Session(session_id, self.base.for_state(state), time.time(), self._now())
            self._sessions[session_id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The session, marked as used now; None when there is none (or it expired)."""
        with self._lock:
            self._expire()
            session = self._sessions.get(session_id)
            if session is not None:
                session.last_used = self._now()
            return session

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    def all(self) -> list[Session]:
        with self._lock:
            self._expire()
            return sorted(self._sessions.values(), key=lambda s: s.created)

    def _expire(self) -> None:
        deadline = self._now() - self.options.session_idle_seconds
        for session_id in [s.id for s in self._sessions.values() if s.last_used < deadline]:
            del self._sessions[session_id]


def split_session(path: str) -> tuple[str, str] | None:
    """``/@t42/maildiver/v1/emails`` → ``("t42", "/maildiver/v1/emails")``; None for any other path."""
    if not path.startswith(PREFIX):
        return None
    session_id, _, rest = path[len(PREFIX):].partition("/")
    return session_id, "/" + rest
