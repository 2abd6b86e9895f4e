"""Repairs of the document's structure (not its schemas) whose meaning is clear, each told in
one warning line ``place: what was assumed`` (docs/decisions.md, "Lenient loading"):

- path parameters: declared ``required: false`` (a path segment cannot be absent), or not
  declared at all (a string);
- ``security`` written as one Security Requirement Object instead of a list of them;
- ``content`` keys that are no media type as written (``form-data``, ``application/form-data``,
  ``none``, ``"application/json, text/plain"``), or one in capitals (``Text/Plain``);
- an ``operationId`` used twice (the later operations go by method and path).
"""

from __future__ import annotations

import functools
import mimetypes
import re
import typing as t

from referencing.exceptions import Unresolvable

from mocksrv.openapi.schema_walk import HTTP_METHODS
from mocksrv.openapi.schema_walk import iter_contents
from mocksrv.openapi.schema_walk import iter_operations
from mocksrv.openapi.schema_walk import shown

if t.TYPE_CHECKING:
    from referencing._core import Resolver

Json = t.Any
TEMPLATE_PARAM = re.compile(r"{([^{}/]+)}")
TCHARS = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"  # RFC 9110 token
MEDIA_RANGE = re.compile(rf"^\s*({TCHARS})/({TCHARS})\s*(;.*)?$")
# registered media types Python's own table leaves out: the two form encodings
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def repair_document(document: dict[str, Json], resolver: Resolver[Json]) -> list[str]:
    """Every structural repair, in document order per kind."""
    return [*_path_parameters(document, resolver), *_security_lists(document), *_media_types(document),
            *_operation_ids(document)]


def _path_parameters(document: dict[str, Json], resolver: Resolver[Json]) -> list[str]:
    warnings: list[str] = []
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return warnings
    for template, path_item in paths.items():
        if not isinstance(path_item, dict) or "$ref" in path_item:
            continue
        names = TEMPLATE_PARAM.findall(str(template))
        shared = _path_params(path_item.get("parameters"), resolver)
        for method in HTTP_METHODS:
            operation = path_item.get(method)
            if not isinstance(operation, dict):
                continue
            own = _path_params(operation.get("parameters"), resolver)
            for param in {**shared, **own}.values():
                if param.get("required") is not True:
                    param["required"] = True
                    warnings.append(f"/paths/{template}/{method}: path parameter "
                                    f"{param.get('name')!r} marked required (path parameters always are)")
            for name in names:
                if name not in shared and name not in own:
                    operation.setdefault("parameters", []).append(
                        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
                    warnings.append(f"/paths/{template}/{method}: undeclared path parameter "
                                    f"{name!r} added as a string")
    return warnings


def _path_params(params: Json, resolver: Resolver[Json]) -> dict[str, dict[str, Json]]:
    found: dict[str, dict[str, Json]] = {}
    for param in params if isinstance(params, list) else []:
        if isinstance(param, dict) and "$ref" in param:
            try:
                param = resolver.lookup(param["$ref"]).contents
            except Unresolvable:
                continue
        if isinstance(param, dict) and param.get("in") == "path" and isinstance(param.get("name"), str):
            found[param["name"]] = param
    return found


def _security_lists(document: dict[str, Json]) -> list[str]:
    """``security: {api_key: []}`` is the one requirement ``[{api_key: []}]``: a requirement
    maps scheme names to scope lists, so an object of lists where a list belongs is one."""
    holders: list[tuple[dict[str, Json], str]] = [(document, "(root)")]
    holders += [(operation, shown(place)) for operation, place in iter_operations(document)]
    warnings = []
    for holder, where in holders:
        security = holder.get("security")
        if isinstance(security, dict) and all(isinstance(scopes, list) for scopes in security.values()):
            holder["security"] = [security]
            warnings.append(f"{where}: 'security' is one requirement object, not a list of them; "
                            "read as a list of that one")
    return warnings


@functools.cache
def _registered() -> dict[str, tuple[str, ...]]:
    """Registered media types by subtype (Python's table, without the system's files, and the forms)."""
    table = mimetypes.MimeTypes()  # its built-in defaults only: the same on every machine
    known = {*table.types_map[True].values(), *table.types_map[False].values(), *FORM_TYPES}
    by_subtype: dict[str, set[str]] = {}
    for media_type in known:
        by_subtype.setdefault(media_type.partition("/")[2], set()).add(media_type)
    return {subtype: tuple(sorted(types)) for subtype, types in by_subtype.items()}


def meant_media_types(key: str) -> list[str] | None:
    """What a content key was meant to say: ``None`` when it is a media type as written, else
    the media types it names (none when it names nothing).

    >>> meant_media_types("application/json"), meant_media_types("application/form-data")
    (None, ['multipart/form-data'])
    >>> meant_media_types("json"), meant_media_types("none"), meant_media_types("text/csv, json")
    (['application/json'], [], ['text/csv', 'application/json'])
    """
    if "," in key:
        return [meant for part in key.split(",") for meant in (meant_media_types(part) or [part.strip()])]
    match = MEDIA_RANGE.match(key)
    by_subtype = _registered()
    if match is None:  # a single word: a registered subtype under exactly one type is that type
        found = by_subtype.get(key.strip().lower(), ())
        return [found[0]] if len(found) == 1 else []
    kind, subtype = match.group(1).lower(), match.group(2).lower()
    # media types are case-insensitive (RFC 9110), openapi-core's lookup is not: ``Text/Plain`` is text/plain
    as_written = None if (kind, subtype) == (match.group(1), match.group(2)) else [
        f"{kind}/{subtype}{match.group(3) or ''}"]
    if "*" in (kind, subtype) or f"{kind}/{subtype}" in by_subtype.get(subtype, ()):
        return as_written
    found = by_subtype.get(subtype, ())
    return [found[0]] if len(found) == 1 else as_written  # a vendor's own type stays as written


def _media_types(document: dict[str, Json]) -> list[str]:
    warnings = []
    for holder, place in iter_contents(document):
        content: dict[str, Json] = holder["content"]
        for key in list(content):
            meant = meant_media_types(str(key))
            if meant is None:
                continue
            entry = content.pop(key)
            added = [media_type for media_type in meant if media_type not in content]
            described = isinstance(entry, dict) and any(field in entry for field in ("schema", "example", "examples"))
            if not added and not meant and described and "*/*" not in content:
                added = ["*/*"]
            for media_type in added:
                content[media_type] = entry
            if added == [str(key).lower()]:
                warnings.append(f"{shown(place)}: content key {key!r} read in lower case, as {added[0]}")
            elif added:
                warnings.append(f"{shown(place)}: content key {key!r} is no media type; read as {', '.join(added)}")
            else:
                warnings.append(f"{shown(place)}: content key {key!r} is no media type and names none; dropped")
    return warnings


def _operation_ids(document: dict[str, Json]) -> list[str]:
    """A later operation with an ``operationId`` already taken keeps its method and path as its name."""
    taken: dict[str, str] = {}
    warnings = []
    for operation, place in iter_operations(document):
        name = operation.get("operationId")
        if not isinstance(name, str):
            continue
        if name in taken:
            del operation["operationId"]
            warnings.append(f"{shown(place)}: operationId {name!r} is also {taken[name]}'s; dropped here")
        else:
            taken[name] = shown(place)
    return warnings
