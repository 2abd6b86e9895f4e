"""The request journal: every request to a mocked API, as a test would want to inspect it.

Bounded (the oldest entries go first), thread-safe, credentials masked, bodies capped,
uploaded files recorded as name/size/type only.

An entry is kept small, because a full journal is 10 000 of them: bodies stay the bytes
that were sent and are decoded only when someone reads them (the admin API, the console);
headers and query are flat tuples of strings, and the strings that repeat from request to
request (header names and values, methods) are interned, so each is held once. That is
~1.1 kB an entry instead of ~3 kB, and no JSON decoding on the request path.

Where the entries are kept is an `EntryLog`: this process's memory (`LocalEntries`, the
default), or a Redis stream that every process sharing the store writes to
(`state.redis_journal.RedisEntries`), for which an entry travels as JSON (`Entry.to_wire`).
"""

from __future__ import annotations

import base64
import itertools
import json
import sys
import threading
import typing as t
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlencode

from mocksrv.errors import MockError
from mocksrv.exchange import CredentialNames
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse

MAX_ENTRIES = 10_000
BODY_CAP = 64 * 1024
Json = t.Any


def mask(value: str) -> str:
    """Keep a short prefix so a reader can tell keys apart, hide the rest."""
    scheme, _, token = value.partition(" ")
    if token and scheme.lower() in ("bearer", "basic", "token", "apikey"):
        return f"{scheme} {mask(token)}"
    return value[:4] + "…" if len(value) > 8 else "…"


def _size(upload: t.Any) -> int:
    stream = upload.stream
    position = stream.tell()
    size = int(stream.seek(0, 2))
    stream.seek(position)
    return size


def _flat_strings(items: t.Iterable[str]) -> tuple[str, ...]:
    return tuple(map(sys.intern, items))


def _flat(pairs: t.Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """``(name, value, name, value …)``, every string interned: a GET's dozen header strings are the
    same on every request, so 10 000 entries hold them once (an interned string still goes when
    its last entry does)."""
    return _flat_strings(itertools.chain.from_iterable(pairs))


def _pairs(flat: tuple[str, ...]) -> t.Iterator[tuple[str, str]]:
    return zip(flat[::2], flat[1::2], strict=True)


@dataclass(frozen=True, slots=True)
class Body:
    """A body as it was sent (its first `BODY_CAP` bytes), decoded on demand: JSON when its media
    type says so, else text; a longer body as its size and the head of its text."""

    head: bytes
    size: int
    media_type: str | None

    @classmethod
    def of(cls, raw: bytes, media_type: str | None) -> Body:
        if not raw:
            return NO_BODY  # most requests: one object for all of them
        return cls(raw[:BODY_CAP] if len(raw) > BODY_CAP else raw, len(raw), media_type)

    def decoded(self) -> Json:
        if not self.size:
            return None
        text = self.head.decode("utf-8", "replace")
        if self.size > BODY_CAP:
            return {"truncated": True, "size": self.size, "head": text}
        if self.media_type and "json" in self.media_type:
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text

    def to_wire(self) -> dict[str, Json]:
        return {"head": base64.b64encode(self.head).decode("ascii"), "size": self.size, "type": self.media_type}

    @classmethod
    def from_wire(cls, data: dict[str, Json]) -> Body:
        return cls(base64.b64decode(data["head"]), int(data["size"]), data["type"]) if data["size"] else NO_BODY


NO_BODY = Body(b"", 0, None)


@dataclass(slots=True)
class Entry:
    id: int
    time: float  # virtual clock
    real_time: float
    api: str | None
    operation_id: str | None
    method: str
    path: str
    query_items: tuple[str, ...]  # name, value, name, value …
    header_items: tuple[str, ...]  # the same, credentials masked
    request_body: Body | dict[str, Json]  # a form with files: its fields and the files' name, type and size
    valid: bool
    errors: tuple[dict[str, str], ...]
    status: int
    response_header_items: tuple[str, ...]
    response_content: Body
    duration_ms: float
    preflight: bool = False  # a browser's CORS preflight, answered by mocksrv: no operation, no contract
    deliveries: tuple[str, ...] = ()  # the webhook deliveries it set off (state.webhooks ids)
    upstream: dict[str, Json] | None = None  # proxied: where it went, the status, latency and conformance

    @property
    def query(self) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        for name, value in _pairs(self.query_items):
            query.setdefault(name, []).append(value)
        return query

    @property
    def headers(self) -> dict[str, str]:
        return dict(_pairs(self.header_items))

    @property
    def body(self) -> Json:
        return self.request_body.decoded() if isinstance(self.request_body, Body) else self.request_body

    @property
    def response_headers(self) -> dict[str, str]:
        return dict(_pairs(self.response_header_items))

    @property
    def response_body(self) -> Json:
        return self.response_content.decoded()

    def as_dict(self) -> dict[str, Json]:
        return {
            "id": self.id, "time": self.time, "real_time": self.real_time, "api": self.api,
            "operationId": self.operation_id, "method": self.method, "path": self.path, "query": self.query,
            "headers": self.headers, "body": self.body, "valid": self.valid, "errors": self.errors,
            "response": {"status": self.status, "headers": self.response_headers, "body": self.response_body},
            "duration_ms": round(self.duration_ms, 3), "preflight": self.preflight,
            **({"upstream": self.upstream} if self.upstream is not None else {}),
        }

    def to_wire(self) -> str:
        """The entry as JSON text, all but its id (`from_wire` reads it back): how a shared journal keeps it."""
        fields = {name: getattr(self, name) for name in _WIRE_FIELDS}
        for name in ("request_body", "response_content"):
            body = fields[name]
            fields[name] = body.to_wire() if isinstance(body, Body) else {"form": body}
        return _WIRE_JSON.encode(fields)

    @classmethod
    def from_wire(cls, entry_id: int, text: str) -> Entry:
        fields = json.loads(text)
        for name in ("request_body", "response_content"):
            body = fields[name]
            fields[name] = body["form"] if "form" in body else Body.from_wire(body)
        for name in ("query_items", "header_items", "response_header_items", "deliveries"):
            fields[name] = _flat_strings(fields[name])
        fields["errors"] = tuple(fields["errors"])
        return cls(id=entry_id, **fields)


_WIRE_FIELDS = tuple(name for name in Entry.__dataclass_fields__ if name != "id")
_WIRE_JSON = json.JSONEncoder(separators=(",", ":"))  # made once: json.dumps with options makes one a call


class EntryLog(t.Protocol):
    """Where a journal keeps its entries, newest last; past its limit the oldest go."""

    def append(self, entry: Entry) -> None:
        """Keep ``entry``, giving it its id (increasing: a later entry has a higher one)."""

    def newest_first(self) -> t.Iterator[Entry]: ...

    def clear(self) -> None: ...


class LocalEntries:
    """The entries in this process's memory, thread-safe."""

    def __init__(self, limit: int = MAX_ENTRIES, ids: t.Iterator[int] | None = None) -> None:
        self._entries: deque[Entry] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._ids = ids or itertools.count(1)

    def append(self, entry: Entry) -> None:
        with self._lock:
            entry.id = next(self._ids)
            self._entries.append(entry)

    def newest_first(self) -> t.Iterator[Entry]:
        with self._lock:
            found = list(self._entries)
        return reversed(found)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Journal:
    """:param secrets: the headers, query parameters and cookies to mask (default: the usual header names).
    :param kept: where the entries are kept (default: this process's memory, ``limit`` of them)."""

    def __init__(self, limit: int = MAX_ENTRIES, secrets: CredentialNames | None = None,
                 kept: EntryLog | None = None) -> None:
        self._kept = kept or LocalEntries(limit)
        self.secrets = secrets or CredentialNames()

    def masked_query(self, query: t.Any) -> t.Iterator[tuple[str, str]]:
        """The query's pairs, credentials masked."""
        secret = self.secrets.query
        return ((k, mask(v) if k in secret else v) for k, v in query.items(multi=True))

    def target(self, path: str, query: t.Any) -> str:
        """``path?query`` for a log line, credentials masked."""
        return f"{path}?{urlencode(list(self.masked_query(query)))}" if query else path

    def record(self, request: MockRequest, response: MockResponse, *, api: str | None, operation_id: str | None,
               error: MockError | None, time: float, real_time: float, duration_ms: float,
               preflight: bool = False, deliveries: tuple[str, ...] = (), upstream: dict[str, Json] | None = None
               ) -> Entry:
        request_body: Body | dict[str, Json] = Body.of(request.body, request.mimetype) if not request.files else {
            "form": {k: request.form.getlist(k) for k in request.form},
            "files": [{"field": k, "filename": f.filename, "content_type": f.mimetype, "size": _size(f)}
                      for k, f in request.files.items(multi=True)],
        }
        invalid = error is not None and error.breaks_contract
        entry = Entry(
            id=0, time=time, real_time=real_time, api=api, operation_id=operation_id,
            method=sys.intern(request.method), path=request.path,
            query_items=_flat(self.masked_query(request.query)) if request.query else (),
            header_items=_flat((k, mask(v) if k.lower() in self.secrets.headers else v)
                               for k, v in request.headers.items()),
            request_body=request_body, valid=not invalid,
            errors=tuple(v.as_dict() for v in error.violations) if error and error.violations else (
                ({"location": "", "field": "", "message": error.detail},) if invalid and error else ()),
            status=response.status, response_header_items=_flat(response.headers),
            response_content=Body.of(response.body, response.media_type), duration_ms=duration_ms,
            preflight=preflight, deliveries=deliveries, upstream=upstream,
        )
        self._kept.append(entry)
        return entry

    def entries(self, *, api: str | None = None, operation_id: str | None = None, method: str | None = None,
                path: str | None = None, status: int | None = None, valid: bool | None = None,
                since: float | None = None, limit: int | None = None) -> list[Entry]:
        """Newest first, filtered; ``path`` matches a substring, ``since`` the virtual time."""
        selected = (
            e for e in self._kept.newest_first()
            if (api is None or e.api == api) and (operation_id is None or e.operation_id == operation_id)
            and (method is None or e.method == method.upper()) and (path is None or path in e.path)
            and (status is None or e.status == status) and (valid is None or e.valid == valid)
            and (since is None or e.time >= since)
        )
        return list(itertools.islice(selected, limit) if limit is not None else selected)

    def find(self, entry_id: int) -> Entry | None:
        return next((e for e in self._kept.newest_first() if e.id == entry_id), None)

    def clear(self) -> None:
        self._kept.clear()
