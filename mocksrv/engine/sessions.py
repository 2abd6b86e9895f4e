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
from mocksrv.engine.assembly import drop_session_store
from mocksrv.engine.assembly import session_store
from mocksrv.engine.pipeline import Pipeline
from mocksrv.errors import FixtureError
from mocksrv.state.clock import Clock
from mocksrv.state.fixtures import FixtureSet
from mocksrv.state.store import HOME
from mocksrv.state.store import Store
from mocksrv.state.world import MockState

REGISTRY = "sessions"  # the namespace of a shared store that lists the sessions
SESSIONS = "sessions"  # the collection there
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
    """The live sessions of one server, made from its pipeline.

    With a shared store (``--store redis://…``) every replica serves every session: the list of
    sessions is kept in the store (`REGISTRY`, beside the server's world, so a reset of the server
    leaves it alone), each session's world is a namespace of its own on the same Redis, and a replica
    that meets a session it has not served yet follows its world (`MockState.start`). Idle time is
    then the wall clock's, written back at most every tenth of ``session_idle_seconds``.
    """

    def __init__(self, base: Pipeline, options: Options, *, clock: t.Callable[[], float] = time.monotonic) -> None:
        self.base = base
        self.options = options
        self._now = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        server = base.state.store
        self._registry: Store | None = session_store(server, REGISTRY)[0] if server.shared else None

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
        fixtures = self.base.state.fixtures.private_copy()
        name = scenario or self.options.scenario
        if fixture is not None:
            name = scenario or f"session-{session_id}"
            fixtures.add(name, fixture)
            problems = fixtures.check_against(self.base.apis)
            if problems:
                raise FixtureError(f"<inline scenario {name}>", problems)
        fixtures.scenario(name)  # an unknown scenario is refused before the id is taken
        with self._lock:
            self._expire()
            if session_id in self._sessions or (self._registry and self._registry.get(HOME, SESSIONS, session_id)):
                raise SessionError(f"a session {session_id!r} exists already", status=409)
            held = self._registry.count(HOME, SESSIONS) if self._registry else len(self._sessions)
            if held >= self.options.max_sessions:
                raise SessionError(f"the server holds {self.options.max_sessions} sessions, its limit: delete some "
                                   "(DELETE /__mocksrv/sessions/<id>) or raise --max-sessions")
            if self._registry and not self._registry.create(HOME, SESSIONS, session_id,
                                                            {"id": session_id, "created": time.time(),
                                                             "last_used": time.time()}):
                raise SessionError(f"a session {session_id!r} exists already", status=409)
        try:
            state = self._world(session_id, fixtures)
            if fixture is not None:
                state.add_inline(name, fixture)  # so that other replicas can follow it
            state.load(name)
        except Exception:
            if self._registry is not None:
                self.delete(session_id)
            raise
        session = Session(session_id, self.base.for_state(state), time.time(), self._now())
        with self._lock:
            self._sessions[session_id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The session, marked as used now; None when there is none (or it expired)."""
        with self._lock:
            self._expire()
            session = self._sessions.get(session_id)
        if self._registry is not None:
            session = self._shared(session_id, session)
        if session is not None:
            session.last_used = self._now()
        return session

    def delete(self, session_id: str) -> bool:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if self._registry is None:
            return session is not None
        gone = self._registry.delete(HOME, SESSIONS, session_id)
        drop_session_store(self.base.state.store, _namespace(session_id))
        return gone

    def all(self) -> list[Session]:
        with self._lock:
            self._expire()
            known = list(self._sessions)
        if self._registry is not None:
            listed = [record["id"] for record in self._registry.list(HOME, SESSIONS)[0]]
            found = [self._shared(session_id, self._sessions.get(session_id), touch=False) for session_id in listed]
            for session_id in set(known) - set(listed):
                with self._lock:
                    self._sessions.pop(session_id, None)
            return sorted((s for s in found if s is not None), key=lambda s: s.created)
        with self._lock:
            return sorted(self._sessions.values(), key=lambda s: s.created)

    def _world(self, session_id: str, fixtures: FixtureSet) -> MockState:
        store, journal = session_store(self.base.state.store, _namespace(session_id), self.options.journal_limit)
        base = self.base.state
        return MockState(fixtures, store, Clock(self.options.clock_start), base.apis,
                         journal_limit=self.options.journal_limit, secrets=base.journal.secrets, journal=journal)

    def _shared(self, session_id: str, session: Session | None, *, touch: bool = True) -> Session | None:
        """The session as the shared list has it: None once deleted or expired there; followed the first time
        this replica meets it."""
        assert self._registry is not None
        record = self._registry.get(HOME, SESSIONS, session_id)
        now = time.time()
        if record is None or now - float(record["last_used"]) > self.options.session_idle_seconds:
            if record is not None:
                self.delete(session_id)
            with self._lock:
                self._sessions.pop(session_id, None)
            return None
        if touch and now - float(record["last_used"]) > self.options.session_idle_seconds / 10:
            self._registry.update(HOME, SESSIONS, session_id, {"last_used": now})
        if session is None:
            state = self._world(session_id, self.base.state.fixtures.private_copy())
            state.start(self.options.scenario)  # the world is there: it follows its scenario and clock
            session = Session(session_id, self.base.for_state(state), float(record["created"]), self._now())
            with self._lock:
                session = self._sessions.setdefault(session_id, session)
        return session

    def _expire(self) -> None:
        if self._registry is not None:
            return  # by the shared list's wall-clock times (`_shared`)
        deadline = self._now() - self.options.session_idle_seconds
        for session_id in [s.id for s in self._sessions.values() if s.last_used < deadline]:
            del self._sessions[session_id]


def _namespace(session_id: str) -> str:
    return f"session:{session_id}"


def split_session(path: str) -> tuple[str, str] | None:
    """``/@t42/maildiver/v1/emails`` → ``("t42", "/maildiver/v1/emails")``; None for any other path."""
    if not path.startswith(PREFIX):
        return None
    session_id, _, rest = path[len(PREFIX):].partition("/")
    return session_id, "/" + rest
