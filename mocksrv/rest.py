"""Generic stateful REST: what an operation does to the store, for any spec.

POST to a collection creates a record (id shaped like the spec's id schema: its format,
pattern or example), GET by id returns it or the API's 404, GET on the collection lists
with the API's own pagination and filter parameters when they are recognisable, PUT/PATCH
update, DELETE removes. The stored record is put where the response schema carries it
(envelopes included) and everything returned still validates against that schema.
"""

from __future__ import annotations

import re
import typing as t
import uuid
from dataclasses import dataclass

from .clock import Clock
from .datatypes import Match
from .errors import NotFound
from .resources import CREATE
from .resources import DELETE
from .resources import LIST
from .resources import READ
from .resources import REPLACE
from .resources import UPDATE
from .resources import Location
from .resources import Resource
from .resources import find_list
from .resources import find_record
from .resources import infer_resources
from .resources import object_properties
from .resources import scope_key
from .specs import ApiSpec
from .store import Store
from .synth import Chosen
from .synth import Shaper
from .synth import Synthesizer
from .validation import CheckedRequest

Json = t.Any
LIMIT_PARAMS = ("limit", "per_page", "page_size", "pageSize", "perPage", "size")
OFFSET_PARAMS = ("offset", "skip", "start")
PAGE_PARAMS = ("page",)
SEARCH_PARAMS = ("search", "q", "query")
SORT_PARAMS = ("sort", "sort_by", "sortBy", "order_by", "orderBy")
TOTAL_FIELDS = ("total", "total_count", "totalCount", "count", "total_items", "totalItems")
CREATED_FIELDS = ("created_at", "createdAt", "created", "updated_at", "updatedAt")
PREFIXED_HEX = re.compile(r"^([A-Za-z][A-Za-z0-9]*[_-])([0-9a-f]{8,})$")
UUID_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


@dataclass
class Outcome:
    """What the state step decided: the shaper for the success body (None: body as generated)."""

    shape: Shaper | None


class RecordKeeper:
    """Stored state for one API: resources inferred once, records kept in the shared store."""

    def __init__(self, api: ApiSpec, store: Store, synth: Synthesizer, clock: Clock) -> None:
        self.api = api
        self.store = store
        self.synth = synth
        self.clock = clock
        self.resources = infer_resources(api)
        self.id_fields: dict[str, str] = {}
        for op in api.operations:
            resource = self.resources.get(op.key)
            if resource is None or resource.collection in self.id_fields:
                continue
            location = self._location(op.key, resource)
            if location is not None:
                self.id_fields[resource.collection] = location.id_field

    def id_field(self, collection: str) -> str:
        """The field that holds a record's id in ``collection`` ("id" when the spec does not say)."""
        return self.id_fields.get(collection.split(":")[0], "id")

    def _location(self, key: str, resource: Resource) -> Location | None:
        operation = next(op for op in self.api.operations if op.key == key)
        for status, node in (operation.spec.get("responses") or {}).items():
            if not str(status).startswith("2"):
                continue
            response, resolver = self.api.deref(node)
            for media in ((response or {}).get("content") or {}).values():
                media, media_resolver = self.api.deref(media, resolver)
                schema = (media or {}).get("schema")
                if schema is None:
                    continue
                finder = find_list if resource.kind == LIST else find_record
                found = finder(self.api, schema, media_resolver, resource.id_param)
                if found is not None:
                    return found
        return None

    def apply(self, match: Match, checked: CheckedRequest, chosen: Chosen) -> Outcome | None:
        """Read or change state for this request.

        :raise 404: the record an item operation names does not exist.
        """
        resource = self.resources.get(match.operation.key)
        if resource is None or not 200 <= chosen.status < 300:
            return None  # not a resource operation, or the client forced another status
        collection = scope_key(resource, match.path_params)
        record_id = match.path_params.get(resource.id_param or "") if resource.id_param else None
        if resource.kind == CREATE:
            return Outcome(self._create(resource, collection, checked.body, chosen))
        if record_id is None:
            if resource.kind == LIST:
                return Outcome(self._list(collection, checked))
            return None
        stored = self.store.get(self.api.id, collection, record_id)
        if stored is None:
            raise NotFound(f"{resource.collection} {record_id!r} not found", kind="not_found")
        if resource.kind == DELETE:
            self.store.delete(self.api.id, collection, record_id)
            return Outcome(None)
        if resource.kind in (UPDATE, REPLACE) and isinstance(checked.body, dict):
            base = {} if resource.kind == REPLACE else stored
            stored = {**base, **checked.body, self.id_field(collection): stored.get(self.id_field(collection))}
            self.store.put(self.api.id, collection, record_id, stored)
        if resource.kind in (READ, UPDATE, REPLACE):
            return Outcome(self._placer(stored))
        return None

    # -- create ------------------------------------------------------------------------------

    def _create(self, resource: Resource, collection: str, body: Json, chosen: Chosen) -> Shaper:
        def shape(value: Json, schema: Json, resolver: t.Any) -> Json:
            location = find_record(self.api, schema, resolver, resource.id_param)
            generated = _get(value, location.path) if location else None
            record = dict(generated) if isinstance(generated, dict) else {}
            if isinstance(body, dict):
                known = self._known_fields(location)
                record.update({k: v for k, v in body.items() if known is None or k in known})
            id_field = location.id_field if location else self.id_field(collection)
            id_schema, id_resolver = self._fields(location).get(id_field, ({}, None)) if location else ({}, None)
            record[id_field] = self._new_id(collection, id_schema, id_resolver)
            now = self.clock.now_datetime().isoformat().replace("+00:00", "Z")
            for name in CREATED_FIELDS:
                if name in record and isinstance(record[name], str):
                    record[name] = now
            if location is not None:
                record = self._conform(record, generated, location)
            self.store.put(self.api.id, collection, record[id_field], record)
            return _put(value, location.path, record) if location else value

        return shape

    def _new_id(self, collection: str, id_schema: Json, resolver: t.Any) -> Json:
        """A fresh id shaped like the spec's: integer sequence, UUID, ``eml_`` + hex, or a pattern."""
        schema, resolver = self.api.deref(id_schema, resolver)
        schema = schema if isinstance(schema, dict) else {}
        sequence = self.store.next_id(self.api.id, collection)
        declared = schema.get("type")
        types = declared if isinstance(declared, list) else [declared]
        if "integer" in types or "number" in types:
            return sequence
        rng = self.synth.rng("id", collection, sequence)
        example = str(schema.get("example", ""))
        shaped = PREFIXED_HEX.match(example)
        if schema.get("format") == "uuid" or UUID_SHAPE.match(example):
            candidate: Json = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        elif shaped:
            candidate = shaped.group(1) + "".join(rng.choice("0123456789abcdef") for _ in shaped.group(2))
        elif schema.get("pattern") or schema.get("format"):
            candidate = self.synth.generate(schema, resolver, "id", collection, sequence)
        else:
            candidate = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if self.store.get(self.api.id, collection, candidate) is not None:
            candidate = f"{candidate}{sequence}" if isinstance(candidate, str) else sequence
        return candidate

    # -- read / list ---------------------------------------------------------------------------

    def _placer(self, stored: dict[str, Json]) -> Shaper:
        def shape(value: Json, schema: Json, resolver: t.Any) -> Json:
            location = find_record(self.api, schema, resolver, None)
            if location is None:
                return value
            generated = _get(value, location.path)
            return _put(value, location.path, self._conform(stored, generated, location))

        return shape

    def _list(self, collection: str, checked: CheckedRequest) -> Shaper:
        query = checked.parameters.get("query", {})
        limit = next((query[p] for p in LIMIT_PARAMS if isinstance(query.get(p), int)), None)
        offset = next((query[p] for p in OFFSET_PARAMS if isinstance(query.get(p), int)), 0)
        page = next((query[p] for p in PAGE_PARAMS if isinstance(query.get(p), int)), None)
        if page is not None and limit:
            offset = max(page - 1, 0) * limit
        search = next((str(query[p]) for p in SEARCH_PARAMS if query.get(p)), None)
        sort = next((str(query[p]) for p in SORT_PARAMS if query.get(p)), None)
        reserved = {*LIMIT_PARAMS, *OFFSET_PARAMS, *PAGE_PARAMS, *SEARCH_PARAMS, *SORT_PARAMS}
        where = {k: v for k, v in query.items() if k not in reserved and isinstance(v, (str, int, float, bool))}

        def matches(record: t.Mapping[str, Json]) -> bool:
            if any(k in record and record[k] != v for k, v in where.items()):
                return False
            return search is None or any(search.lower() in str(v).lower() for v in record.values())

        records, total = self.store.list(
            self.api.id, collection, match=matches, sort=sort.lstrip("-") if sort else None,
            descending=bool(sort and sort.startswith("-")), offset=offset, limit=limit)

        def shape(value: Json, schema: Json, resolver: t.Any) -> Json:
            location = find_list(self.api, schema, resolver, None)
            if location is None:
                return value
            current = _get(value, location.path)
            template = current[0] if isinstance(current, list) and current else None
            items = [self._conform(r, template, location) for r in records]
            shaped = _put(value, location.path, items)
            parent = _get(shaped, location.path[:-1]) if location.path else None
            if isinstance(parent, dict):
                updates = {name: total for name in TOTAL_FIELDS if name in parent}
                updates.update({name: limit for name in LIMIT_PARAMS if name in parent and limit is not None})
                updates.update({name: offset for name in OFFSET_PARAMS if name in parent})
                candidate = {**parent, **updates}
                if self.synth.is_valid(schema, resolver, _put(shaped, location.path[:-1], candidate)):
                    shaped = _put(shaped, location.path[:-1], candidate)
            return shaped

        return shape

    def _fields(self, location: Location) -> dict[str, tuple[Json, t.Any]]:
        return object_properties(self.api, location.schema, location.resolver)

    def _known_fields(self, location: Location | None) -> set[str] | None:
        """The record schema's property names; None when it declares none (anything goes)."""
        fields = self._fields(location) if location is not None else {}
        return set(fields) or None

    def _conform(self, stored: dict[str, Json], generated: Json, location: Location) -> dict[str, Json]:
        """The stored record as the response schema wants it: its fields only, gaps filled.

        A stored value that breaks its property's schema gives way to the generated one.
        """
        known = self._known_fields(location)
        record = {k: v for k, v in stored.items() if known is None or k in known}
        if isinstance(generated, dict):
            for name, value in generated.items():
                record.setdefault(name, value)
        if self.synth.is_valid(location.schema, location.resolver, record):
            return record
        fields = self._fields(location)
        for name in list(record):
            if name in fields and not self.synth.is_valid(*fields[name], record[name]):
                if isinstance(generated, dict) and name in generated:
                    record[name] = generated[name]
                else:
                    del record[name]
        return record




def _get(value: Json, path: tuple[str, ...]) -> Json:
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _put(value: Json, path: tuple[str, ...], item: Json) -> Json:
    if not path:
        return item
    base = dict(value) if isinstance(value, dict) else {}
    base[path[0]] = _put(base.get(path[0]), path[1:], item)
    return base
