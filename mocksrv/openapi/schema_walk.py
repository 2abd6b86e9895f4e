"""Every Schema Object of an OpenAPI 3.x document, found by the document's own structure.

The repairs that change what a schema allows (unknown keywords dropped, patterns rewritten,
defaults checked) must touch Schema Objects only: an Operation or a Parameter has keys a
schema does not, and a property may be named ``pattern``. So the walk follows the
specification's fields (paths, operations, parameters, bodies, responses, headers,
callbacks, webhooks, components) down to each ``schema``, then the schema keywords that hold
subschemas. ``$ref`` objects are not followed: what they point to is walked where it is
defined (a component); other files are not walked.

>>> doc = {"components": {"schemas": {"A": {"type": "array", "items": {"type": "string"}}}}}
>>> [shown(place) for _, place in iter_schemas(doc)]
['/components/schemas/A', '/components/schemas/A/items']
"""

from __future__ import annotations

import typing as t

__all__ = ["Place", "iter_contents", "iter_operations", "iter_schemas", "pointer", "shown"]

Json = t.Any
Place = tuple[str, ...]  # the keys and indexes from the document root
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# keywords whose value is one subschema, a list of them, or a map of name to subschema
ONE_SCHEMA = ("items", "not", "additionalProperties", "additionalItems", "contains", "if", "then", "else",
              "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def iter_schemas(document: dict[str, Json]) -> t.Iterator[tuple[dict[str, Json], Place]]:
    """Each Schema Object (a mapping, not a ``$ref``) with its place, outermost first.

    The subschemas of a schema are read after the caller has seen it, so a keyword the caller
    removes is not walked into.
    """
    for kind, node, where in _structure(document):
        if kind == "schema":
            yield from _walk(node, where)


def iter_contents(document: dict[str, Json]) -> t.Iterator[tuple[dict[str, Json], Place]]:
    """Each object holding a ``content`` map (request body, response, parameter, header) with its place."""
    for kind, node, where in _structure(document):
        if kind == "content":
            yield node, where


def iter_operations(document: dict[str, Json]) -> t.Iterator[tuple[dict[str, Json], Place]]:
    """Each Operation Object (paths, webhooks, callbacks, reusable path items) with its place."""
    for kind, node, where in _structure(document):
        if kind == "operation":
            yield node, where


def shown(place: Place) -> str:
    """How warnings name a place: ``/paths//things/{id}/get/responses/200`` (keys as written)."""
    return "/" + "/".join(place)


def pointer(place: Place) -> str:
    """The place as a ``$ref`` within the document: ``#/paths/~1things~1{id}/get``."""
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in place)


def _walk(schema: Json, where: Place) -> t.Iterator[tuple[dict[str, Json], Place]]:
    stack = [(schema, where)]
    while stack:
        node, place = stack.pop()
        if not isinstance(node, dict) or "$ref" in node:
            continue
        yield node, place
        children: list[tuple[Json, Place]] = []
        for key in ONE_SCHEMA:
            if isinstance(node.get(key), dict):
                children.append((node[key], (*place, key)))
        for key in SCHEMA_LISTS:
            if isinstance(node.get(key), list):
                children.extend((item, (*place, key, str(index))) for index, item in enumerate(node[key]))
        for key in SCHEMA_MAPS:
            if isinstance(node.get(key), dict):
                children.extend((item, (*place, key, str(name))) for name, item in node[key].items())
        stack.extend(reversed(children))


def _structure(document: dict[str, Json]) -> t.Iterator[tuple[str, Json, Place]]:
    """The OpenAPI structure down to its schemas: ``("schema" | "content" | "operation", node, place)``."""
    components = _mapping(document.get("components"))
    for name, schema in _mapping(components.get("schemas")).items():
        yield "schema", schema, ("components", "schemas", str(name))
    for name, item in _mapping(components.get("parameters")).items():
        yield from _parameter(item, ("components", "parameters", str(name)))
    for name, item in _mapping(components.get("headers")).items():
        yield from _parameter(item, ("components", "headers", str(name)))
    for name, item in _mapping(components.get("requestBodies")).items():
        yield from _content(item, ("components", "requestBodies", str(name)))
    for name, item in _mapping(components.get("responses")).items():
        yield from _response(item, ("components", "responses", str(name)))
    for name, item in _mapping(components.get("callbacks")).items():
        yield from _callback(item, ("components", "callbacks", str(name)))
    for name, item in _mapping(components.get("pathItems")).items():
        yield from _path_item(item, ("components", "pathItems", str(name)))
    for template, item in _mapping(document.get("paths")).items():
        yield from _path_item(item, ("paths", str(template)))
    for name, item in _mapping(document.get("webhooks")).items():
        yield from _path_item(item, ("webhooks", str(name)))


def _path_item(item: Json, where: Place) -> t.Iterator[tuple[str, Json, Place]]:
    item = _mapping(item)
    for index, parameter in enumerate(_list(item.get("parameters"))):
        yield from _parameter(parameter, (*where, "parameters", str(index)))
    for method in HTTP_METHODS:
        if not isinstance(item.get(method), dict):
            continue
        operation = item[method]
        yield "operation", operation, (*where, method)
        for index, parameter in enumerate(_list(operation.get("parameters"))):
            yield from _parameter(parameter, (*where, method, "parameters", str(index)))
        yield from _content(operation.get("requestBody"), (*where, method, "requestBody"))
        for status, response in _mapping(operation.get("responses")).items():
            yield from _response(response, (*where, method, "responses", str(status)))
        for name, callback in _mapping(operation.get("callbacks")).items():
            yield from _callback(callback, (*where, method, "callbacks", str(name)))


def _callback(callback: Json, where: Place) -> t.Iterator[tuple[str, Json, Place]]:
    for expression, item in _mapping(callback).items():
        yield from _path_item(item, (*where, str(expression)))


def _response(response: Json, where: Place) -> t.Iterator[tuple[str, Json, Place]]:
    for name, header in _mapping(_mapping(response).get("headers")).items():
        yield from _parameter(header, (*where, "headers", str(name)))
    yield from _content(response, where)


def _parameter(parameter: Json, where: Place) -> t.Iterator[tuple[str, Json, Place]]:
    """A Parameter or Header Object: its ``schema``, or the schemas of its ``content``."""
    parameter = _mapping(parameter)
    if "schema" in parameter:
        yield "schema", parameter["schema"], (*where, "schema")
    yield from _content(parameter, where)


def _content(holder: Json, where: Place) -> t.Iterator[tuple[str, Json, Place]]:
    """The schemas of a ``content`` map (request body, response, parameter) and its encodings' headers."""
    if isinstance(_mapping(holder).get("content"), dict):
        yield "content", holder, where
    for media_type, entry in _mapping(_mapping(holder).get("content")).items():
        entry = _mapping(entry)
        if "schema" in entry:
            yield "schema", entry["schema"], (*where, "content", str(media_type), "schema")
        for name, encoding in _mapping(entry.get("encoding")).items():
            for header_name, header in _mapping(_mapping(encoding).get("headers")).items():
                yield from _parameter(header, (*where, "content", str(media_type), "encoding", str(name),
                                               "headers", str(header_name)))


def _mapping(value: Json) -> dict[str, Json]:
    return value if isinstance(value, dict) else {}


def _list(value: Json) -> list[Json]:
    return value if isinstance(value, list) else []
