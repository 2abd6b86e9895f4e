"""Generic stateful REST: what an operation does to the store, for any spec.

POST to a collection creates a record (id shaped like the spec's id schema: its format,
pattern or example), GET by id returns it or the API's 404, GET on the collection lists
with the API's own pagination and filter parameters when they are recognisable, PUT/PATCH
update, DELETE removes. The stored record is put where the response schema carries it
(envelopes included) and everything returned still validates against that schema.
"""

from __future__ import annotations

import functools
import re
import typing as t
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from mocksrv.engine.branches import Branches
from mocksrv.engine.json_paths import value_at
from mocksrv.engine.json_paths import with_value_at
from mocksrv.engine.pagination import PAGING_PARAMS
from mocksrv.engine.pagination import Links
from mocksrv.engine.pagination import Page
from mocksrv.engine.pagination import PageRequest
from mocksrv.engine.pagination import decode_cursor
from mocksrv.engine.pagination import mirror_page
from mocksrv.engine.responses import BodyShaper
from mocksrv.engine.responses import ChosenResponse
from mocksrv.engine.responses import Synthesizer
from mocksrv.engine.validation import CheckedRequest
from mocksrv.errors import ApiError
from mocksrv.errors import NotFound
from mocksrv.exchange import Match
from mocksrv.openapi.resources import CREATE
from mocksrv.openapi.resources import DELETE
from mocksrv.openapi.resources import LIST
from mocksrv.openapi.resources import READ
from mocksrv.openapi.resources import REPLACE
from mocksrv.openapi.resources import UPDATE
from mocksrv.openapi.resources import Location
from mocksrv.openapi.resources import Resource
from mocksrv.openapi.resources import collection_id_field
from mocksrv.openapi.resources import find_list
from mocksrv.openapi.resources import find_record
from mocksrv.openapi.resources import item_params
from mocksrv.openapi.resources import object_properties
from mocksrv.openapi.resources import record_location
from mocksrv.openapi.resources import required_fields
from mocksrv.openapi.resources import scope_key
from mocksrv.openapi.specs import ApiSpec
from mocksrv.state.clock import Clock
from mocksrv.state.store import RecordId
from mocksrv.state.store import Store

Json = t.Any
SEARCH_PARAMS = ("search", "q", "query")
SORT_PARAMS = ("sort", "sort_by", "sortBy", "order_by", "orderBy")
CREATED_FIELDS = ("created_at", "createdAt", "created", "updated_at", "updatedAt")
PREFIXED_HEX = re.compile(r"^([A-Za-z][A-Za-z0-9]*[_-])([0-9a-f]{8,})$")
ID_ATTEMPTS = 5  # fresh ids drawn before a create gives up
ID_BRANCHES = 4  # anyOf/oneOf branches of an id schema tried for a text or number (not null)
COMPOSED = ("anyOf", "oneOf", "allOf", "$ref")
PATH_VARIABLE = re.compile(r"\{([^{}]+)\}")
UUID_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


@dataclass
class Applied:
    """What applying an operation to the records decided: how to shape the success body (None: as generated)."""

    shape: BodyShaper | None



class RecordKeeper:
    """Stored state for one API: resources inferred once, records kept in the shared store."""

    def __init__(self, api: ApiSpec, resources: dict[str, Resource], id_fields: dict[str, str], store: Store,
                 synth: Synthesizer, clock: Clock) -> None:
        """:param resources: the API's REST resources by operation key, ``id_fields`` their collections'
        id fields (`engine.catalog.ApiCatalog` infers both once)."""
        self.api = api
        self.store = store
        self.synth = synth
        self.clock = clock
        self.resources = resources
        self.id_fields = id_fields
        # a collection's records are named by its item path's parameter (``/invoices/{number}``):
        # its create and list find the id field by that name too, not only its item operations
        self.item_params = item_params(resources)
        self.targets = self._create_targets()
        # a behaviour's view of records that change with time (scheduled → sent …)
        self.view: t.Callable[[str, dict[str, Json]], dict[str, Json]] = lambda collection, record: record
        self.branches = Branches(api, synth)  # records shown through oneOf/anyOf record schemas

    def _create_targets(self) -> dict[str, str]:
        """Creates whose own path has no reads store where their record is read back.

        ``POST /api/settings/sendmail`` answers with a ``mail_id``; the only collection whose
        records are keyed by ``mail_id`` is ``mail-history``: that is where the mail goes.
        """
        readable = {r.collection for r in self.resources.values() if r.kind in (READ, LIST)}
        targets: dict[str, str] = {}
        for key, resource in self.resources.items():
            if resource.kind != CREATE or resource.collection in readable:
                continue
            location = self._location(key, resource)
            same_id = [c for c in readable if location is not None and self.id_fields.get(c) == location.id_field]
            if len(same_id) == 1:
                targets[key] = same_id[0]
        return targets

    def id_field(self, collection: str) -> str:
        return collection_id_field(self.id_fields, collection)

    def _id_hint(self, resource: Resource) -> str | None:
        """The path parameter naming ``resource``'s records (its own, else its item operations')."""
        return resource.id_param or self.item_params.get(resource.collection)

    def _location(self, key: str, resource: Resource) -> Location | None:
        return record_location(self.api, key, resource, self._id_hint(resource))

    def apply(self, match: Match, checked: CheckedRequest, chosen: ChosenResponse) -> Applied | None:
        """Read or change state for this request.

        :raise 404: the record an item operation names does not exist.
        """
        resource = self.resources.get(match.operation.key)
        if resource is None or not 200 <= chosen.status < 300:
            return None  # not a resource operation, or the client forced another status
        collection = scope_key(resource, match.path_params)
        parent = resource.parent
        if parent is not None and parent.id_param is not None:
            parent_id = match.path_params[parent.id_param]  # in the path the operation matched
            if self.store.get(self.api.id, scope_key(parent, match.path_params), parent_id) is None:
                raise NotFound(f"{parent.collection} {parent_id!r} not found")
        record_id = match.path_params[resource.id_param] if resource.id_param else None
        if resource.kind == CREATE:
            return Applied(self._create(resource, collection, checked.body, chosen))
        if record_id is None:
            if resource.kind == LIST:
                return Applied(self._list(match, collection, checked, self._id_hint(resource)))
            return None
        stored = self.store.get(self.api.id, collection, record_id)
        if stored is None:
            raise NotFound(f"{resource.collection} {record_id!r} not found")
        stored = self.view(collection, stored)
        if resource.kind == DELETE:
            self.store.delete(self.api.id, collection, record_id)
            return Applied(None)
        if resource.kind in (UPDATE, REPLACE) and isinstance(checked.body, dict):
            id_field = self.id_field(collection)
            if resource.kind == UPDATE:  # merged atomically in the store: concurrent PATCHes all land
                updated = self.store.update(self.api.id, collection, record_id,
                                            {**checked.body, id_field: stored.get(id_field)})
                if updated is None:
                    raise NotFound(f"{resource.collection} {record_id!r} not found")
                stored = updated
            else:
                stored = {**checked.body, id_field: stored.get(id_field)}
                self.store.put(self.api.id, collection, record_id, stored)
        if resource.kind in (READ, UPDATE, REPLACE):
            return Applied(self._placer(stored, self._id_hint(resource)))
        return None

    # -- create ------------------------------------------------------------------------------

    def _create(self, resource: Resource, collection: str, body: Json, chosen: ChosenResponse) -> BodyShaper:
        """The shaper that stores the new record(s) and puts them in the success body.

        The pipeline may call it twice for one request: when the response's example does not
        validate, the body is generated and shaped again. That second call must not create
        more records, so it stores under the ids of the first and drops any left over.
        """
        collection = self.targets.get(chosen.operation.key, collection)
        extras = body if isinstance(body, dict) else {}
        assigned: list[Json] = []  # ids stored by the latest call, in order

        def shape(value: Json, schema: Json, resolver: t.Any) -> Json:
            earlier = list(assigned)
            assigned.clear()

            def store(generated: Json, location: Location | None) -> dict[str, Json]:
                record = self._store_new(collection, generated, extras, location,
                                         earlier.pop(0) if earlier else None)
                assigned.append(record[location.id_field if location else self.id_field(collection)])
                return record

            hint = self._id_hint(resource)
            location = find_record(self.api, schema, resolver, hint)
            listed = None if location else find_list(self.api, schema, resolver, hint)
            if location is not None:
                value = with_value_at(value, location.path, store(value_at(value, location.path), location))
            elif listed is not None:  # a create that answers with several records (one per recipient …)
                items = value_at(value, listed.path) or []
                value = with_value_at(value, listed.path, [store(item, listed) for item in items])
            else:
                store(None, None)
            for left_over in earlier:
                self.store.delete(self.api.id, collection, _key(left_over))
            return value

        return shape

    def _store_new(self, collection: str, generated: Json, extras: dict[str, Json],
                   location: Location | None, record_id: Json = None) -> dict[str, Json]:
        """Store a new record: the response's record, the request's fields, a fresh id (or the
        client's, when the answer carries no record to tell it another).

        The request's fields are kept whole (a later read may show them, e.g. a subject);
        what goes back to the client is conformed to the response schema.

        :param record_id: store under this id (replacing the record) instead of a fresh one.
        :raise 500: no fresh id that is not taken could be drawn (an id schema with few values).
        """
        required = required_fields(self.api, location.schema, location.resolver) if location else set()
        record = {k: v for k, v in generated.items() if k in required} if isinstance(generated, dict) else {}
        known = self._known_fields(location)
        record.update({k: v for k, v in extras.items() if known is None or k in known})
        now = self.clock.now_datetime()
        for name in CREATED_FIELDS:
            if name in record and isinstance(record[name], str):
                record[name] = timestamp_like(record[name], now)
        if location is not None:
            record = self._conform(record, generated, location)
        id_field = location.id_field if location else self.id_field(collection)
        id_schema, id_resolver = self._fields(location).get(id_field, ({}, None)) if location else ({}, None)
        stored = {**extras, **record}
        sent_id = extras.get(id_field)
        if record_id is None and location is None and isinstance(sent_id, (str, int)) and not isinstance(sent_id, bool):
            # the answer carries no record (Petstore's bodiless 201): the id the client sent is the
            # only one it knows the record by
            record_id = sent_id
        if record_id is not None:
            record[id_field] = stored[id_field] = record_id
            self.store.put(self.api.id, collection, _key(record_id), stored)
            return record
        def numbered(sequence: int) -> tuple[RecordId, dict[str, Json]]:
            record[id_field] = stored[id_field] = self._new_id(collection, sequence, id_schema, id_resolver)
            return _key(record[id_field]), stored

        # create is atomic; a clash with a stored id just draws again
        if self.store.create_numbered(self.api.id, collection, numbered, attempts=ID_ATTEMPTS) is not None:
            return record
        # answering 2xx would hand out the id of a record that is not this one
        raise ApiError(f"cannot assign a new {id_field} in {collection}: {ID_ATTEMPTS} fresh ids were all taken "
                       "(the spec's id schema allows few values)", status=500, kind="ids_exhausted")

    def _new_id(self, collection: str, sequence: int, id_schema: Json, resolver: t.Any) -> Json:
        """The id of number ``sequence`` shaped like the spec's: the integer, a UUID, ``eml_`` + hex, or a
        pattern's."""
        schema, resolver = self.api.deref(id_schema, resolver)
        schema = schema if isinstance(schema, dict) else {}
        if not _shaped(schema) and collection in self._path_id_schemas:
            # the body says only "string" (or nothing): the id must still be one the item path
            # takes (``^[A-Z0-9]+$``, or digits for an integer parameter, as text if the body wants text)
            path_schema, path_resolver = self._path_id_schemas[collection]
            if path_schema.get("type") not in ("integer", "number"):
                schema, resolver = path_schema, path_resolver
            elif schema.get("type") == "string":
                return str(sequence)
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
        elif schema.get("pattern") or schema.get("format") or any(key in schema for key in COMPOSED):
            # never the example (every record would get it), and a text or number where null is allowed too
            candidate = None
            for attempt in range(ID_BRANCHES):
                candidate = self.synth.generate(schema, resolver, "id", collection, sequence, attempt, branch=attempt,
                                                examples=False)
                if (isinstance(candidate, int) and not isinstance(candidate, bool)) or (
                        isinstance(candidate, str) and candidate):  # Slack's ^(A[A-Z0-9]+)?$ also allows ""
                    break
        else:
            candidate = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return candidate

    @functools.cached_property
    def _path_id_schemas(self) -> dict[str, tuple[dict[str, Json], t.Any]]:
        """Per collection, the schema of its item path's parameter, where that gives the id a shape."""
        found: dict[str, tuple[dict[str, Json], t.Any]] = {}
        for operation in self.api.operations:
            resource = self.resources.get(operation.key)
            if resource is None or resource.id_param is None or resource.collection in found:
                continue
            for parameter, resolver in self.api.parameters(operation):
                if parameter.get("in") == "path" and parameter.get("name") == resource.id_param:
                    schema, schema_resolver = self.api.deref(parameter.get("schema"), resolver)
                    if isinstance(schema, dict) and _shaped(schema):
                        found[resource.collection] = (schema, schema_resolver)
        return found

    # -- read / list ---------------------------------------------------------------------------

    def _placer(self, stored: dict[str, Json], id_hint: str | None) -> BodyShaper:
        def shape(value: Json, schema: Json, resolver: t.Any) -> Json:
            location = find_record(self.api, schema, resolver, id_hint)
            if location is None:
                return value
            generated = value_at(value, location.path)
            return with_value_at(value, location.path, self._conform(stored, generated, location))

        return shape

    def _list(self, match: Match, collection: str, checked: CheckedRequest, id_hint: str | None) -> BodyShaper:
        query = checked.parameters.get("query", {})
        asked = PageRequest.read(query)
        search = next((str(query[p]) for p in SEARCH_PARAMS if query.get(p)), None)
        sort = next((str(query[p]) for p in SORT_PARAMS if query.get(p)), None)
        reserved = {*PAGING_PARAMS, *SEARCH_PARAMS, *SORT_PARAMS}
        where = {k: v for k, v in query.items() if k not in reserved and isinstance(v, (str, int, float, bool))}

        def matches(record: t.Mapping[str, Json]) -> bool:
            if any(k in record and record[k] != v for k, v in where.items()):
                return False
            return search is None or any(search.lower() in str(v).lower() for v in record.values())

        def listed(offset: int, limit: int | None) -> tuple[list[dict[str, Json]], int]:
            return self.store.list(
                self.api.id, collection, match=lambda record: matches(self.view(collection, dict(record))),
                sort=sort.lstrip("-") if sort else None, descending=bool(sort and sort.startswith("-")),
                offset=offset, limit=limit)

        offset = asked.offset
        position = decode_cursor(asked.cursor) if asked.cursor is not None else None
        if asked.cursor is not None and position is None:  # the id of the record to start after (starting_after)
            everything, total = listed(0, None)
            id_field = self.id_field(collection)
            ids = [str(record.get(id_field)) for record in everything]
            offset = ids.index(asked.cursor) + 1 if asked.cursor in ids else 0
            records = everything[offset:None if asked.limit is None else offset + asked.limit]
        else:
            offset = position if position is not None else offset
            records, total = listed(offset, asked.limit)
        page = Page(asked, offset, len(records), total)

        def links() -> Links:  # only for a body that has page fields
            declared = {str(p.get("name")) for p, _ in self.api.parameters(match.operation) if p.get("in") == "query"}
            path = self.api.mount + PATH_VARIABLE.sub(
                lambda found: quote(str(match.path_params.get(found.group(1), "")), safe=""), match.operation.template)
            return Links(path, query, declared)

        def shape(value: Json, schema: Json, resolver: t.Any) -> Json:
            location = find_list(self.api, schema, resolver, id_hint)
            if location is None or len(records) < location.min_items:
                return value  # no list, or fewer records than it must hold: what the store cannot say
            current = value_at(value, location.path)
            template = current[0] if isinstance(current, list) and current else None
            items = [self._conform(self.view(collection, r), template, location) for r in records]
            shaped = with_value_at(value, location.path, items)
            return mirror_page(shaped, location.path, page, links,
                               lambda candidate: self.synth.is_valid(schema, resolver, candidate))

        return shape

    def _fields(self, location: Location) -> dict[str, tuple[Json, t.Any]]:
        return object_properties(self.api, location.schema, location.resolver)

    def _known_fields(self, location: Location | None) -> set[str] | None:
        """The record schema's property names; None when it declares none (anything goes)."""
        fields = self._fields(location) if location is not None else {}
        return set(fields) or None

    def _conform(self, stored: dict[str, Json], generated: Json, location: Location) -> dict[str, Json]:
        """The stored record as the response schema wants it: its fields only, gaps filled.

        A stored value that breaks its property's schema gives way to the generated one. A
        record schema that is a oneOf/anyOf gets the record shaped to one branch (`engine.branches`).
        """
        shaped = self.branches.conform(stored, generated, location, self._conform_fields)
        return shaped if shaped is not None else self._conform_fields(stored, generated, location)

    def _conform_fields(self, stored: dict[str, Json], generated: Json, location: Location) -> dict[str, Json]:
        """`_conform` for one object schema (or one branch of a choice)."""
        known = self._known_fields(location)
        record = {k: v for k, v in stored.items() if known is None or k in known}
        generated = generated if isinstance(generated, dict) else {}
        required = required_fields(self.api, location.schema, location.resolver)
        # fill only what the schema requires: an optional field the client never set stays unset
        for name in required:
            if name in generated:
                record.setdefault(name, generated[name])
        if self.synth.is_valid(location.schema, location.resolver, record):
            return record
        fields = self._fields(location)
        for name in list(record):  # a value that breaks its own property's schema gives way
            if name in fields and not self.synth.is_valid(*fields[name], record[name]):
                if name in generated:
                    record[name] = generated[name]
                else:
                    del record[name]
        if not self.synth.is_valid(location.schema, location.resolver, record):
            for name, value in generated.items():  # a schema with more rules than `required`
                record.setdefault(name, value)
        return record


TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?P<sep>[T ])\d{2}:\d{2}:\d{2}(?P<frac>\.\d+)?(?P<zone>Z|[+-]\d{2}(:?\d{2})?)?$")


def timestamp_like(example: str, now: datetime) -> str:
    """``now`` written the way the API writes its timestamps (``2026-03-25 10:00:01.234+00``)."""
    found = TIMESTAMP.match(example)
    if found is None:
        return now.isoformat().replace("+00:00", "Z")
    text = now.strftime(f"%Y-%m-%d{found['sep']}%H:%M:%S")
    if found["frac"]:
        digits = len(found["frac"]) - 1
        text += "." + f"{now.microsecond:06d}"[:digits].ljust(digits, "0")
    zone = found["zone"] or ""
    offset = now.strftime("%z")  # +0000
    if zone == "Z":
        text += "Z"
    elif zone:
        text += offset[:3] + (":" + offset[3:] if ":" in zone else offset[3:] if len(zone) > 3 else "")
    return text


def _shaped(schema: dict[str, Json]) -> bool:
    """An id schema that says what an id looks like, not only that it is text."""
    return (bool({"pattern", "format", "example", *COMPOSED} & set(schema))
            or schema.get("type") in ("integer", "number"))


def _key(record_id: Json) -> str | int:
    """Store key for an id value of any JSON type."""
    return record_id if isinstance(record_id, (str, int)) and not isinstance(record_id, bool) else str(record_id)
