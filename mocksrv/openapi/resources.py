"""Infer REST resources from a spec's paths and methods, built once at load time.

For any spec: an operation on ``/things/{id}`` reads, replaces, updates or deletes one
record of collection ``things``; GET ``/things`` lists and POST ``/things`` creates. An
action-style POST whose parent path has items (``POST /emails/send`` next to
``GET /emails/{id}``) creates in the parent collection. Where the record sits inside a
response (an envelope such as ``{"code": …, "data": {record}}``) and which field is its id
(``id``, the path parameter's name, else the first ``*_id``/``*Id``) are read from the
response schemas. Nested collections are scoped by their parent path values.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
from dataclasses import dataclass

from mocksrv.openapi.specs import TEMPLATE_PARAM
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation

Json = t.Any
ID_SUFFIX = re.compile(r"(_id|Id|ID)$")
CREATE, READ, LIST, REPLACE, UPDATE, DELETE = "create", "read", "list", "replace", "update", "delete"


@dataclass(frozen=True)
class Location:
    """Where a record (or the list of records) sits in a response body."""

    path: tuple[str, ...]  # property names from the body root; () = the body itself
    id_field: str
    schema: dict[str, Json]  # the record's (item's) schema, dereferenced
    resolver: t.Any
    min_items: int = 0  # for a list: the records it must hold (its array's minItems)


@dataclass(frozen=True)
class Resource:
    """What an operation does to stored state."""

    kind: str
    collection: str  # e.g. "emails"; fixtures use this name under `records:`
    parent_params: tuple[str, ...]  # path parameters of the collection path (scope nested collections)
    id_param: str | None  # the item operations' path parameter
    parent: Resource | None = None  # a nested collection's parent item (``/notes/{noteId}`` of its comments)


def _segments(template: str) -> list[str]:
    return [s for s in template.strip("/").split("/") if s]


def _is_param(segment: str) -> bool:
    return bool(TEMPLATE_PARAM.fullmatch(segment))


def _collection_name(segments: list[str]) -> str:
    literals = [s for s in segments if not _is_param(s)]
    return literals[-1] if literals else "items"


def infer_resources(api: ApiSpec) -> dict[str, Resource]:
    """Map operation keys to the resource operation they perform (operations that fit none are absent)."""
    templates = {op.template for op in api.operations}
    item_parents = {"/" + "/".join(_segments(t)[:-1]) for t in templates
                    if _segments(t) and _is_param(_segments(t)[-1])}
    found: dict[str, Resource] = {}
    literals: dict[str, tuple[str, ...]] = {}  # each resource's collection path, its literal segments
    for op in api.operations:
        inferred = _infer(op, item_parents)
        if inferred is not None:
            found[op.key], literals[op.key] = inferred
    found = _distinct_names(found, literals)
    # a nested collection lives only while its parent item does, where the spec can read that item
    readable = {op.template.rstrip("/"): found[op.key] for op in api.operations
                if op.key in found and found[op.key].kind == READ}
    for op in api.operations:
        resource = found.get(op.key)
        if resource is None or not resource.parent_params:
            continue
        segments = _segments(op.template)
        last_param = max(i for i, segment in enumerate(segments) if _is_param(segment))
        parent = readable.get("/" + "/".join(segments[:last_param + 1]))
        if parent is not None and parent is not resource:
            found[op.key] = dataclasses.replace(resource, parent=parent)
    return found


def _infer(op: Operation, item_parents: set[str]) -> tuple[Resource, tuple[str, ...]] | None:
    """The resource operation ``op`` performs, and the literal segments of its collection's path."""
    segments = _segments(op.template)
    method = op.method
    collection = segments
    if segments and _is_param(segments[-1]):
        kind = {"get": READ, "put": REPLACE, "patch": UPDATE, "delete": DELETE}.get(method)
        if kind is None:
            return None
        collection = segments[:-1]
        resource = Resource(kind, _collection_name(collection), _params(collection), segments[-1][1:-1])
        return resource, tuple(s for s in collection if not _is_param(s))
    path = "/" + "/".join(segments)
    if method == "post" and path not in item_parents and len(segments) > 1 and \
            "/" + "/".join(segments[:-1]) in item_parents:  # POST /emails/send creates an email
        kind, collection = CREATE, segments[:-1]
    else:
        kind = {"get": LIST, "post": CREATE}.get(method)
        if kind is None:
            return None
    resource = Resource(kind, _collection_name(collection), _params(collection), None)
    return resource, tuple(s for s in collection if not _is_param(s))


def _distinct_names(found: dict[str, Resource], literals: dict[str, tuple[str, ...]]) -> dict[str, Resource]:
    """Collections at different paths that end in the same word, named apart by the words before it.

    ``/marketing/segments`` and ``/contactdb/segments`` (SendGrid), ``/containers/json`` and
    ``/images/json`` (Docker) hold different things: one store collection would list each one's
    records as the other's. Each such name takes as many of its path's last words as make it
    unique in its group (``marketing_segments``, ``contactdb_segments``); a name only one path
    gives stays as it is, so fixtures keep the plain names.
    """
    paths: dict[str, set[tuple[str, ...]]] = {}
    for key, resource in found.items():
        paths.setdefault(resource.collection, set()).add(literals[key])
    renamed: dict[tuple[str, tuple[str, ...]], str] = {}
    for name, group in paths.items():
        if len(group) < 2:
            continue
        longest = max(len(path) for path in group)
        for words in range(2, longest + 1):
            names = {path: "_".join(path[-words:]) or name for path in group}
            if len(set(names.values())) == len(group):
                break
        renamed.update({(name, path): qualified for path, qualified in names.items()})
    return {key: dataclasses.replace(resource, collection=renamed[(resource.collection, literals[key])])
            if (resource.collection, literals[key]) in renamed else resource for key, resource in found.items()}


def _params(segments: list[str]) -> tuple[str, ...]:
    return tuple(s[1:-1] for s in segments if _is_param(s))


def scope_key(resource: Resource, path_params: dict[str, str]) -> str:
    """The store collection: the name, plus parent path values for nested collections."""
    values = [path_params.get(p, "") for p in resource.parent_params]
    return ":".join([resource.collection, *values]) if values else resource.collection


def object_properties(api: ApiSpec, schema: Json, resolver: t.Any, depth: int = 0) -> dict[str, tuple[Json, t.Any]]:
    """Property schemas of an object schema, through $ref and allOf (dereferenced)."""
    schema, resolver = api.deref(schema, resolver)
    props: dict[str, tuple[Json, t.Any]] = {}
    if not isinstance(schema, dict) or depth > 8:
        return props
    for part in schema.get("allOf") or []:
        props.update(object_properties(api, part, resolver, depth + 1))
    for name, node in (schema.get("properties") or {}).items():
        props[name] = api.deref(node, resolver)
    if not props:  # alternatives (oneOf/anyOf): the fields any branch may carry, first branch first
        for part in [*(schema.get("oneOf") or []), *(schema.get("anyOf") or [])]:
            for name, found in object_properties(api, part, resolver, depth + 1).items():
                props.setdefault(name, found)
    return props


def required_fields(api: ApiSpec, schema: Json, resolver: t.Any, depth: int = 0) -> set[str]:
    """Names an object schema requires, through $ref and allOf (and the first oneOf/anyOf branch)."""
    schema, resolver = api.deref(schema, resolver)
    if not isinstance(schema, dict) or depth > 8:
        return set()
    names = {n for n in schema.get("required") or [] if isinstance(n, str)}
    for part in schema.get("allOf") or []:
        names |= required_fields(api, part, resolver, depth + 1)
    branches = [*(schema.get("oneOf") or []), *(schema.get("anyOf") or [])]
    if branches:
        names |= required_fields(api, branches[0], resolver, depth + 1)
    return names


def id_field_of(properties: t.Iterable[str], id_hint: str | None) -> str | None:
    names = list(properties)
    for candidate in (id_hint, "id"):
        if candidate and candidate in names:
            return candidate
    return next((n for n in names if ID_SUFFIX.search(n)), None)


def find_record(api: ApiSpec, schema: Json, resolver: t.Any, id_hint: str | None,
                path: tuple[str, ...] = (), depth: int = 0) -> Location | None:
    """The object in a response schema that carries an id: the body itself or an envelope field."""
    resolved, resolved_resolver = api.deref(schema, resolver)
    props = object_properties(api, resolved, resolved_resolver)
    field = id_field_of(props, id_hint)
    if field is not None and not _is_array(props[field][0]):
        return Location(path, field, resolved if isinstance(resolved, dict) else {}, resolved_resolver)
    if depth >= 2:
        return None
    for name, (child, child_resolver) in props.items():
        if _types(child) & {"object"} or "properties" in child or "allOf" in child:
            found = find_record(api, child, child_resolver, id_hint, (*path, name), depth + 1)
            if found is not None:
                return found
    return None


def find_list(api: ApiSpec, schema: Json, resolver: t.Any, id_hint: str | None,
              path: tuple[str, ...] = (), depth: int = 0) -> Location | None:
    """The array of records in a list response: the body itself or an envelope field."""
    resolved, resolved_resolver = api.deref(schema, resolver)
    if isinstance(resolved, dict) and _is_array(resolved):
        items, items_resolver = api.deref(resolved.get("items", {}), resolved_resolver)
        record = find_record(api, items, items_resolver, id_hint, (), 2)
        if record is not None:
            least = resolved.get("minItems")
            return Location(path, record.id_field, record.schema, record.resolver,
                            least if isinstance(least, int) and not isinstance(least, bool) else 0)
        return None
    if depth >= 2:
        return None
    for name, (child, child_resolver) in object_properties(api, resolved, resolved_resolver).items():
        found = find_list(api, child, child_resolver, id_hint, (*path, name), depth + 1)
        if found is not None:
            return found
    return None


def _types(schema: Json) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    declared = schema.get("type")
    return set(declared) if isinstance(declared, list) else {declared} if declared else set()


def _is_array(schema: Json) -> bool:
    return "array" in _types(schema) or (isinstance(schema, dict) and "items" in schema and "type" not in schema)


def item_params(resources: dict[str, Resource]) -> dict[str, str]:
    """Each collection's item path parameter (``/invoices/{number}`` → ``number``): the name its
    records go by, for its creates and lists too."""
    return {r.collection: r.id_param for r in resources.values() if r.id_param}


def record_location(api: ApiSpec, key: str, resource: Resource, id_hint: str | None = None) -> Location | None:
    """Where the operation's success response carries the record (or the list) and its id.

    :param id_hint: the path parameter naming the records (default: the resource's own).
    """
    operation = next(op for op in api.operations if op.key == key)
    for status, node in (operation.spec.get("responses") or {}).items():
        if not str(status).startswith("2"):
            continue
        response, resolver = api.deref(node)
        for media in ((response or {}).get("content") or {}).values():
            media, media_resolver = api.deref(media, resolver)
            schema = (media or {}).get("schema")
            if schema is None:
                continue
            finder = find_list if resource.kind == LIST else find_record
            found = finder(api, schema, media_resolver, id_hint or resource.id_param)
            if found is not None:
                return found
    return None


def collection_id_fields(api: ApiSpec, resources: dict[str, Resource]) -> dict[str, str]:
    """Each collection's id field, from the first of its operations whose response shows it."""
    fields: dict[str, str] = {}
    hints = item_params(resources)
    for op in api.operations:
        resource = resources.get(op.key)
        if resource is None or resource.collection in fields:
            continue
        location = record_location(api, op.key, resource, resource.id_param or hints.get(resource.collection))
        if location is not None:
            fields[resource.collection] = location.id_field
    return fields


def collection_id_field(id_fields: dict[str, str], collection: str) -> str:
    """The field that holds a record's id in ``collection`` (a store collection: nested ones are
    ``name:parent ids``), from `collection_id_fields`; "id" when the spec does not say."""
    return id_fields.get(collection.split(":")[0], "id")
