"""Record: what the validating proxy saw, written as a scenario to replay offline (docs/proxy.md).

Each conforming answer that carries records — a read, a create, a replace or update, a list,
found where the generic REST state finds them (openapi/resources.py) — puts them in the
scenario's ``records`` under their collection and id; a successful delete takes its record out.
An answer no state explains (to a valid request: an error other than a missing item's 404)
becomes a ``rules`` entry matching that request — the operation, its path and query values and
its JSON body as a whole — with the status and the answer body's fields. No header is written;
each credential the requests carried (the spec's security schemes) becomes a placeholder key the
scenario lists in ``api_keys`` (``recorded-key-1`` …: the replay answers whoever sends it), never
its value; the fields named with ``--record-redact`` are written as ``[redacted]`` wherever they
appear. The statuses the upstream answered, per operation, head the file as a comment.

The file is ``<fixtures>/<NAME>.yaml``, rewritten (atomically) after every exchange that changes
it. A second run starts from what the file holds: records are replaced by id, rules by their
match. ``mocksrv serve --scenario NAME`` (without ``--upstream``) then answers from it.
"""

from __future__ import annotations

import json
import os
import threading
import typing as t
from datetime import UTC
from datetime import datetime
from pathlib import Path

import yaml

from mocksrv.engine.catalog import ApiCatalog
from mocksrv.engine.json_paths import value_at
from mocksrv.engine.security import authenticate
from mocksrv.errors import MockError
from mocksrv.exchange import Match
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.openapi.resources import DELETE
from mocksrv.openapi.resources import LIST
from mocksrv.openapi.resources import Resource
from mocksrv.openapi.resources import record_location
from mocksrv.openapi.resources import scope_key
from mocksrv.wire.media import is_json

Json = t.Any
REDACTED = "[redacted]"
META_KEY = "scenario"


class Recorder:
    """Keeps what the proxy saw as a scenario and writes it to ``path``."""

    def __init__(self, path: Path, catalog: ApiCatalog, redact: t.Iterable[str] = (), source: str = "") -> None:
        self.path = path
        self._catalog = catalog
        self._redact = {name.lower() for name in redact}
        self._lock = threading.Lock()
        self._source = source
        self._document: dict[str, Json] = _read(path)
        self._placeholders: dict[tuple[str, str], str] = {}  # (API, credential) -> its placeholder, never written
        self._statuses: dict[str, dict[int, int]] = {}  # "api operation" -> status -> answers, this run

    def note(self, match: Match, request: MockRequest, response: MockResponse, *, replayable: bool) -> None:
        """Take in one upstream answer; ``replayable``: it conformed to the spec, to a request that did
        (only those become records and rules)."""
        body = _json(response.body, response.media_type)
        api, operation = match.api, match.operation
        resource = self._catalog.resources.get(api.id, {}).get(operation.key)
        with self._lock:
            seen = self._statuses.setdefault(f"{api.id} {operation.key}", {})
            seen[response.status] = seen.get(response.status, 0) + 1
            changed = self._keys(match, request) or seen[response.status] == 1  # a new status: the comment
            if replayable and 200 <= response.status < 300 and resource is not None:
                changed = self._records(match, resource, body) or changed
            elif replayable and not (response.status == 404 and resource is not None and resource.kind != LIST):
                changed = self._rule(match, request, response.status, body) or changed  # 404: state does that
            if changed:
                self._write()

    def _records(self, match: Match, resource: Resource, body: Json) -> bool:
        collection = scope_key(resource, match.path_params)
        location = record_location(match.api, match.operation.key, resource)
        section = self._document.setdefault(match.api.id, {}).setdefault("records", {})
        stored: list[dict[str, Json]] = section.setdefault(collection, [])
        if resource.kind == DELETE:
            gone = match.path_params.get(resource.id_param or "")
            field = self._catalog.id_field(match.api.id, collection)
            kept = [r for r in stored if str(r.get(field)) != gone]
            section[collection] = kept
            return len(kept) != len(stored)
        if location is None or body is None:
            return False
        found = value_at(body, location.path)
        records = found if resource.kind == LIST and isinstance(found, list) else [found]
        changed = False
        for record in records:
            if isinstance(record, dict) and location.id_field in record:
                clean = self._redacted(record)
                others = [r for r in stored if r.get(location.id_field) != record[location.id_field]]
                stored[:] = [*others, clean]
                changed = True
        return changed

    def _keys(self, match: Match, request: MockRequest) -> bool:
        """A placeholder in the scenario's ``api_keys`` for each credential not seen before; whether one was added."""
        try:
            credentials = authenticate(match.api, match.operation, request)
        except MockError:
            return False
        added = False
        keys: list[dict[str, Json]] = self._document.setdefault(match.api.id, {}).setdefault("api_keys", [])
        for credential in credentials:
            if (match.api.id, credential.value) in self._placeholders:
                continue
            number = sum(1 for key in keys if str(key.get("key", "")).startswith("recorded-")) + 1
            placeholder = f"recorded-user-{number}:recorded" if credential.kind == "basic" else f"recorded-key-{number}"
            self._placeholders[(match.api.id, credential.value)] = placeholder
            keys.append({"key": placeholder})
            added = True
        return added

    def _rule(self, match: Match, request: MockRequest, status: int, body: Json) -> bool:
        if not match.operation.declares(status):
            return False  # an undocumented status cannot be replayed under the spec: it is drift, not a rule
        conditions: list[dict[str, Json]] = [{"in": "path", "name": name, "equals": value}
                                             for name, value in sorted(match.path_params.items())]
        conditions += [{"in": "query", "name": name, "equals": request.query[name]} for name in sorted(request.query)]
        sent = _json(request.body, request.mimetype)
        if sent is not None:
            conditions.append({"in": "body", "path": "", "equals": sent})
        rule: dict[str, Json] = {"operation": match.operation.key, "match": conditions, "then": {"status": status}}
        if isinstance(body, dict) and body:
            rule["then"]["body"] = self._redacted(body)
        rules: list[dict[str, Json]] = self._document.setdefault(match.api.id, {}).setdefault("rules", [])
        rules[:] = [r for r in rules if (r.get("operation"), r.get("match")) != (rule["operation"], conditions)]
        rules.append(rule)
        return True

    def _redacted(self, value: Json) -> Json:
        if isinstance(value, dict):
            return {k: REDACTED if k.lower() in self._redact else self._redacted(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redacted(item) for item in value]
        return value

    def _write(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        meta = self._document.setdefault(META_KEY, {})
        meta["description"] = f"recorded through the proxy from {self._source}, last {stamp}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.partial")
        statuses = "".join(f"#   {name}: {', '.join(f'{status} x{count}' for status, count in sorted(seen.items()))}\n"
                           for name, seen in sorted(self._statuses.items()))
        partial.write_text("# Written by `mocksrv serve --record` (docs/proxy.md). Replay: mocksrv serve --scenario "
                           f"{self.path.stem}\n# The upstream's statuses, per operation, in the last run:\n{statuses}"
                           + yaml.safe_dump(self._document, sort_keys=False, allow_unicode=True))
        os.replace(partial, self.path)


def _read(path: Path) -> dict[str, Json]:
    """What an earlier run recorded (a second run goes on from it)."""
    if not path.is_file():
        return {}
    loaded = yaml.safe_load(path.read_text()) or {}
    return loaded if isinstance(loaded, dict) else {}


def _json(body: bytes, media_type: str | None) -> Json:
    if not body or not media_type or not is_json(media_type):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None

