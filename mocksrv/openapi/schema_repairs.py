"""Repairs of Schema Objects whose meaning is clear, each told in one warning line.

Real specs carry the other OpenAPI version's spelling (3.0's boolean ``exclusiveMinimum`` in a
3.1 document, 3.1's numeric one in 3.0, ``nullable`` in 3.1) and small slips (a name listed
twice in ``required``). openapi-spec-validator refuses the whole document for any of them;
the author's intent is plain, so the document is served as the author meant it
(docs/decisions.md, "Lenient loading").
"""

from __future__ import annotations

import typing as t
from collections import Counter

from mocksrv.openapi.schema_walk import SCHEMA_MAPS
from mocksrv.openapi.schema_walk import iter_schemas
from mocksrv.openapi.schema_walk import shown

Json = t.Any
# values that are data, not schemas: never walked into
DATA_KEYS = frozenset({"example", "examples", "default", "enum", "const"})
COMPOSED = ("allOf", "anyOf", "oneOf", "$ref")  # a schema 3.0's nullable does not reach without a type
LOCAL_SCHEMAS = "#/components/schemas/"
OUTER = frozenset({"title", "description", "readOnly", "writeOnly", "deprecated", "example", "default",
                   "externalDocs", "xml"})


def repair_schemas(document: dict[str, Json], version: str) -> list[str]:
    """Repair every schema-looking object of ``document`` in place; one warning per kind and place."""
    warnings: list[str] = []
    # each node with its place as shown in warnings and as a JSON pointer (RFC 6901), which a
    # discriminator's mapping may name
    stack: list[tuple[Json, str, str]] = [(document, "", "")]
    while stack:
        node, where, pointer = stack.pop()
        if isinstance(node, dict):
            warnings.extend(_repair_one(node, where or "(root)", version))
            warnings.extend(_optional_discriminator(node, where or "(root)", document, pointer))
            warnings.extend(_map_discriminator(node, where or "(root)", document, pointer))
            warnings.extend(_open_closed_parts(node, where or "(root)", document))
            warnings.extend(_close_over_parts(node, where or "(root)", document))
            stack.extend((value, f"{where}/{key}", f"{pointer}/{_escaped(str(key))}") for key, value in node.items()
                         if key not in DATA_KEYS and not str(key).startswith("x-"))
        elif isinstance(node, list):
            stack.extend((value, f"{where}/{index}", f"{pointer}/{index}") for index, value in enumerate(node))
    if version == "3.0":
        warnings.extend(_access_outside_properties(document))
    return sorted(warnings)


def _access_outside_properties(document: dict[str, Json]) -> list[str]:
    """3.0's ``readOnly``/``writeOnly`` on a schema that is no property's (an array's ``items``, a
    body's or parameter's schema, a part of those): 3.0.3 makes them "relevant only for Schema
    properties definitions", yet openapi-core refused such a value in any request (Linode's
    interface order, a list of ids each marked read-only: "ids[0] is read-only and cannot be
    sent"). They are dropped there; a ``$ref``'d component keeps them for its property uses."""
    warnings = []
    for schema, place in iter_schemas(document):
        marked = [key for key in ("readOnly", "writeOnly") if schema.get(key) is True]
        if marked and _outside_properties(place):
            for key in marked:
                del schema[key]
            warnings.append(f"{shown(place)}: {' and '.join(marked)} on a schema that is no property's, which 3.0 "
                            "gives no meaning; dropped")
    return warnings


def _outside_properties(place: tuple[str, ...]) -> bool:
    if len(place) < 2 or place[-2] in (*SCHEMA_MAPS, "schemas"):
        return False  # a property's schema (one named `items` too), or a component's
    if place[-1] in ("items", "schema"):
        return True
    if place[-2] in ("allOf", "anyOf", "oneOf") and place[-1].isdigit():
        return _outside_properties(place[:-2])
    return False


def _repair_one(schema: dict[str, Json], where: str, version: str) -> list[str]:
    warnings: list[str] = []
    required = schema.get("required")
    if isinstance(required, list) and all(isinstance(name, str) for name in required) \
            and len(set(required)) < len(required):
        schema["required"] = list(dict.fromkeys(required))
        warnings.append(f"{where}: 'required' lists a name twice; each is required once")
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = schema.get(bound)
        if version == "3.1" and isinstance(value, bool):
            del schema[bound]
            if value and _is_number(schema.get(limit)):
                schema[bound] = schema.pop(limit)
            warnings.append(f"{where}: a 3.0 boolean '{bound}' in a 3.1 document, read as 3.0 means it")
        elif version == "3.0" and _is_number(value):
            inclusive = schema.get(limit)
            tighter = not _is_number(inclusive) or (t.cast(float, value) >= t.cast(float, inclusive)
                                                    if bound == "exclusiveMinimum"
                                                    else t.cast(float, value) <= t.cast(float, inclusive))
            if tighter:
                schema[limit] = value
                schema[bound] = True
            else:
                del schema[bound]  # the inclusive bound is the tighter one
            warnings.append(f"{where}: a 3.1 numeric '{bound}' in a 3.0 document, read as 3.1 means it")
    if version == "3.1" and "nullable" in schema:
        nullable = schema.pop("nullable")
        kind = schema.get("type")
        if nullable is True and isinstance(kind, str):
            schema["type"] = [kind, "null"]
        elif nullable is True and isinstance(kind, list) and "null" not in kind:
            schema["type"] = [*kind, "null"]
        elif nullable is True and kind is None and any(key in schema for key in COMPOSED):
            # OpenAI's `prediction: {nullable: true, oneOf: [...]}`: no type to add "null" to, and the
            # composition refused null, where the author (and schemathesis) meant "this, or null"
            _null_as_alternative(schema, {"type": "null"})
        warnings.append(f"{where}: 3.0's 'nullable' in a 3.1 document, read as a type that allows null")
    declared = schema.get("properties")
    missing = sorted({name for name in schema.get("required") or [] if isinstance(name, str)} - set(declared)) \
        if isinstance(declared, dict) and isinstance(schema.get("required"), list) else []
    if schema.get("additionalProperties") is False and missing and not schema.get("patternProperties"):
        # Linode's firewall `rules`: required names another allOf part declares; no object could pass
        del schema["additionalProperties"]
        warnings.append(f"{where}: additionalProperties false, yet {', '.join(missing)} required and not declared; "
                        "read without additionalProperties")
    if version == "3.0" and schema.get("nullable") is True and "type" not in schema \
            and any(key in schema for key in COMPOSED):
        _null_as_alternative(schema)
        warnings.append(f"{where}: 'nullable' beside {'$ref' if '$ref' in schema['anyOf'][0] else 'allOf/anyOf/oneOf'} "
                        "without a type lets no null through in 3.0; read as the schema or null")
    return warnings


def _optional_discriminator(schema: dict[str, Json], where: str, document: dict[str, Json], pointer: str) -> list[str]:
    """A discriminator whose property some branch does not require (OpenAI's input items: an
    ``item_reference`` may leave ``type`` out), or whose value several branches take (``message``:
    OpenAI's ``EasyInputMessage`` and, through ``Item``, its ``OutputMessage``): such a value names
    no one branch, and openapi-core refused it ("does not contain discriminating property", or it
    judged an assistant's message by the input message schema). 3.1 calls the discriminator a hint
    and has no rule for either (3.2 adds ``defaultMapping`` for an absent property); the
    composition is what the value must meet. So the schema is read as: a value with a property
    that names one branch, by the discriminator; any other, by the branches alone
    (``anyOf: [{required: [p], oneOf: B, discriminator}, {not: {required: [p]}, oneOf: B}]``,
    shared values excluded from the first; the second names the first's branches by reference,
    so nothing is repaired twice)."""
    discriminator = schema.get("discriminator")
    key = "oneOf" if isinstance(schema.get("oneOf"), list) else "anyOf"
    branches = schema.get(key)
    if not isinstance(discriminator, dict) or not isinstance(branches, list) or not pointer \
            or ("anyOf" in schema and key == "oneOf"):
        return []
    name = discriminator.get("propertyName")
    if not isinstance(name, str):
        return []
    required = name in _required(schema)
    optional = [] if required else [index for index, branch in enumerate(branches)
                                     if not _requires(document, branch, name)]
    mapping: dict[str, Json] = discriminator["mapping"] if isinstance(discriminator.get("mapping"), dict) else {}
    own = (schema.get("properties") or {}).get(name) if isinstance(schema.get("properties"), dict) else None
    guard = own.get("not") if isinstance(own, dict) else None
    excluded = set(guard.get("enum") or []) if isinstance(guard, dict) else set()  # this repair's own, looked at again
    claims = Counter(value for branch in branches for value in set(_branch_values(document, branch, name)))
    shared = sorted(value for value, count in claims.items() if count > 1 and value not in mapping
                    and value not in excluded)
    if not optional and not shared:
        return []
    del schema[key], schema["discriminator"]
    place = f"#{pointer}/anyOf/0/{key}"
    named = [{"$ref": branch["$ref"]} if isinstance(branch, dict) and isinstance(branch.get("$ref"), str)
             and len(branch) == 1 else {"$ref": f"{place}/{index}"} for index, branch in enumerate(branches)]
    named_one: dict[str, Json] = {"required": [name]}
    if shared:
        named_one["properties"] = {name: {"not": {"enum": shared}}}
    schema["anyOf"] = [{**named_one, key: branches, "discriminator": discriminator},
                       {"not": dict(named_one), key: named}]
    told = []
    if optional:
        shown = ", ".join(_branch_name(branches[index], index) for index in optional)
        told.append(f"{where}: discriminator '{name}' is not required by {shown}; a value without it is judged by "
                    "the branches alone")
    if shared:
        told.append(f"{where}: discriminator '{name}' values {', '.join(shared)} are taken by several branches; "
                    "such a value is judged by the branches alone")
    return told


def _branch_values(document: dict[str, Json], branch: Json, prop: str) -> list[str]:
    ref = branch.get("$ref") if isinstance(branch, dict) else None
    if isinstance(ref, str):
        return _fixed_values(document, ref[len(LOCAL_SCHEMAS):], prop) if ref.startswith(LOCAL_SCHEMAS) else []
    return _node_values(document, branch, prop, 0)


def _requires(document: dict[str, Json], branch: Json, prop: str, depth: int = 0) -> bool:
    """Whether every value of ``branch`` has ``prop``: it (or an allOf part) requires it, or it is a
    union whose every branch does; a schema in another file is taken to."""
    schemas = (document.get("components") or {}).get("schemas")
    node = branch
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        node = _local_schema(schemas, node["$ref"])
        if node is None:
            return True
    if not isinstance(node, dict) or depth > 3:
        return True
    if prop in _required(node):
        return True
    if any(_requires(document, part, prop, depth + 1) for part in node.get("allOf") or []
           if isinstance(part, dict) and ("required" in part or "$ref" in part or "allOf" in part)):
        return True
    union = node.get("oneOf") or node.get("anyOf")
    return isinstance(union, list) and bool(union) and all(_requires(document, sub, prop, depth + 1) for sub in union)


def _required(schema: dict[str, Json]) -> list[Json]:
    required = schema.get("required")
    return required if isinstance(required, list) else []


def _branch_name(branch: Json, index: int) -> str:
    ref = branch.get("$ref") if isinstance(branch, dict) else None
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else f"branch {index}"


def _map_discriminator(schema: dict[str, Json], where: str, document: dict[str, Json], pointer: str = "") -> list[str]:
    """A discriminator whose branches each fix its property to one value that is not the branch's
    schema name (OpenAI's ``role: {enum: [developer]}`` in ``ChatCompletionRequestDeveloperMessage``)
    and no ``mapping`` for it: without one, OpenAPI reads the value as a schema name, so every
    value failed ("could not resolve #/components/schemas/developer"). The values are mapped to
    their branches; a mapping the author wrote is kept. A branch written inline (OpenAI's
    ``RealtimeTurnDetection``: ``server_vad`` and ``semantic_vad`` objects) has no name to be
    read as: its value is mapped to the branch's own place in the document (``#/…/oneOf/1``), so
    the value is judged by that branch, as a plain ``oneOf`` would judge it."""
    discriminator = schema.get("discriminator")
    key = "oneOf" if isinstance(schema.get("oneOf"), list) else "anyOf"
    branches = schema.get(key)
    if not isinstance(discriminator, dict) or not isinstance(branches, list):
        return []
    name = discriminator.get("propertyName")
    mapping: dict[str, Json] = discriminator["mapping"] if isinstance(discriminator.get("mapping"), dict) else {}
    added: dict[str, str] = {}
    for index, branch in enumerate(branches):
        ref = branch.get("$ref") if isinstance(branch, dict) else None
        if ref is None and isinstance(branch, dict) and pointer:
            for value in _fixed_field(branch, str(name)):
                if value not in mapping and value not in added:
                    added[value] = f"#{pointer}/{key}/{index}"
            continue
        if not isinstance(ref, str) or not ref.startswith(LOCAL_SCHEMAS) or ref in mapping.values():
            continue
        for value in _fixed_values(document, ref[len(LOCAL_SCHEMAS):], str(name)):
            if value != ref[len(LOCAL_SCHEMAS):] and value not in mapping and value not in added:
                added[value] = ref
    if not added:
        return []
    discriminator["mapping"] = {**mapping, **added}
    return [f"{where}: discriminator '{name}' has no mapping for the values its branches fix "
            f"({', '.join(sorted(added))}); read as mapped to those branches"]


def _open_closed_parts(schema: dict[str, Json], where: str, document: dict[str, Json]) -> list[str]:
    """An ``allOf`` part with ``additionalProperties: false`` beside parts that add properties
    (Linode's paginated lists: the page envelope closed, ``data`` in the next part): no object
    with the other parts' properties can pass that part, so every answer broke the schema. The
    author meant the merged object; the part is read without ``additionalProperties`` (a local
    ``$ref``'d part as a copy of it, so its other uses keep it)."""
    parts = schema.get("allOf")
    if not isinstance(parts, list) or len(parts) < 2:
        return []
    schemas = (document.get("components") or {}).get("schemas")
    resolved = [_local_schema(schemas, part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
                for part in parts]
    declared = [set(part.get("properties") or {}) if isinstance(part, dict) else set() for part in resolved]
    opened = []
    for index, part in enumerate(resolved):
        others = set().union(*(names for at, names in enumerate(declared) if at != index))
        if isinstance(part, dict) and part.get("additionalProperties") is False and others - declared[index]:
            parts[index] = {key: value for key, value in part.items() if key != "additionalProperties"}
            opened.append(str(index))
    if not opened:
        return []
    return [f"{where}: allOf part {', '.join(opened)} has additionalProperties false, which refuses the other "
            "parts' properties; read without it"]


def _close_over_parts(schema: dict[str, Json], where: str, document: dict[str, Json]) -> list[str]:
    """``additionalProperties: false`` beside ``allOf``/``anyOf``/``oneOf`` parts that declare the
    properties, the holder declaring none (Linode's ``get-vpcs-ips`` page): the keyword sees only
    its own schema's ``properties``, so it refused every property and no answer could validate
    (a 500 in strict mode). The author meant the object closed to what the parts declare: those
    names are declared on the holder as any value (the parts still judge them). Where a part
    cannot be read (another file), the holder is read open instead."""
    if schema.get("additionalProperties") is not False or schema.get("properties") or schema.get("patternProperties"):
        return []
    parts = [part for key in ("allOf", "anyOf", "oneOf") for part in schema.get(key) or []]
    if not parts:
        return []
    names = _declared_names(document, parts)
    if names is None:
        del schema["additionalProperties"]
        return [f"{where}: additionalProperties false beside parts it cannot read; read without it"]
    if not names:
        return []
    schema["properties"] = {name: {} for name in names}
    return [f"{where}: additionalProperties false declares no property of its own and refused its parts' "
            f"({', '.join(names)}); read as closed to those"]


def _declared_names(document: dict[str, Json], parts: list[Json], depth: int = 0) -> list[str] | None:
    """The property names ``parts`` (and their local ``$ref``s and nested parts) declare, in order;
    None when one is in another file."""
    schemas = (document.get("components") or {}).get("schemas")
    names: list[str] = []
    for part in parts:
        node = part
        if isinstance(node, dict) and "$ref" in node:
            node = _local_schema(schemas, node["$ref"])
            if node is None:
                return None
        if not isinstance(node, dict) or depth > 6:
            continue
        names.extend(str(name) for name in node.get("properties") or {} if isinstance(node.get("properties"), dict))
        inner = _declared_names(document, [sub for key in ("allOf", "anyOf", "oneOf") for sub in node.get(key) or []],
                                depth + 1)
        if inner is None:
            return None
        names.extend(inner)
    return list(dict.fromkeys(names))


def _fixed_values(document: dict[str, Json], schema_name: str, prop: str, depth: int = 0) -> list[str]:
    """The strings a local schema fixes ``prop`` to: those its properties (or its local allOf
    parts) fix, else, for a schema that is itself a ``oneOf``/``anyOf`` of such schemas (OpenAI's
    ``InputItem`` branch ``Item``, a union of forty item types), each of its branches' values,
    when every branch fixes some; else none."""
    schemas = (document.get("components") or {}).get("schemas")
    return _node_values(document, _local_schema(schemas, LOCAL_SCHEMAS + schema_name), prop, depth)


def _node_values(document: dict[str, Json], root: Json, prop: str, depth: int) -> list[str]:
    schemas = (document.get("components") or {}).get("schemas")
    pending = [root]
    for _ in range(8):  # allOf parts, a few levels
        if not pending:
            break
        node = pending.pop(0)
        if not isinstance(node, dict):
            continue
        fixed = _fixed_field(node, prop)
        if fixed:
            return fixed
        if "$ref" in node:
            pending.append(_local_schema(schemas, node["$ref"]))
        pending.extend(node.get("allOf") or [])
    branches = (root.get("oneOf") or root.get("anyOf")) if isinstance(root, dict) else None
    if depth > 3 or not isinstance(branches, list):
        return []
    values: list[str] = []
    for branch in branches:
        if isinstance(branch, dict) and isinstance(branch.get("not"), dict) and branch["not"].get("required") == [prop]:
            continue  # the values without the property (`_optional_discriminator`) fix nothing
        ref = branch.get("$ref") if isinstance(branch, dict) else None
        if isinstance(ref, str):
            found = _fixed_values(document, ref[len(LOCAL_SCHEMAS):], prop, depth + 1) \
                if ref.startswith(LOCAL_SCHEMAS) else []
        else:
            found = _node_values(document, branch, prop, depth + 1)
        if not found:
            return []
        values.extend(found)
    return values


def _fixed_field(schema: dict[str, Json], prop: str) -> list[str]:
    """The strings ``schema``'s own ``properties`` limit ``prop`` to (``enum`` or ``const``; OpenAI's
    web search tool takes two), or none."""
    field = (schema.get("properties") or {}).get(prop) if isinstance(schema.get("properties"), dict) else None
    if not isinstance(field, dict):
        return []
    fixed = [field["const"]] if "const" in field else field.get("enum")
    if isinstance(fixed, list) and fixed and all(isinstance(value, str) for value in fixed):
        return list(fixed)
    # `anyOf: [{enum: [item_reference]}, {type: "null"}]` (OpenAI's optional item type): the strings
    # its alternatives fix, when every alternative fixes some or is only null
    values: list[str] = []
    for branch in field.get("anyOf") or field.get("oneOf") or []:
        found = _fixed_field({"properties": {prop: branch}}, prop) if isinstance(branch, dict) else []
        if not found and not (isinstance(branch, dict) and branch.get("type") == "null"):
            return []
        values.extend(found)
    return values


def _escaped(key: str) -> str:
    """A key as a JSON pointer token (RFC 6901: ``~`` and ``/`` escaped)."""
    return key.replace("~", "~0").replace("/", "~1")


def _null_as_alternative(schema: dict[str, Json], null: dict[str, Json] | None = None) -> None:
    """``{nullable: true, allOf: [A]}`` → ``{anyOf: [{allOf: [A]}, {nullable: true, enum: [null]}]}``
    (in 3.1, ``null`` is ``{type: "null"}``); what describes the value as a whole (description,
    readOnly, examples …) stays outside."""
    inner = {key: value for key, value in schema.items() if key not in OUTER and key != "nullable"}
    outer = {key: value for key, value in schema.items() if key in OUTER}
    schema.clear()
    schema.update(outer)
    schema["anyOf"] = [inner, null if null is not None else only_null()]


def only_null() -> dict[str, Json]:
    """A 3.0 schema that takes null and nothing else (3.0 has no null type)."""
    return {"nullable": True, "enum": [None]}


def _local_schema(schemas: Json, ref: Json) -> Json:
    """The component ``#/components/schemas/X`` names, or None (another file, another section)."""
    if isinstance(ref, str) and ref.startswith(LOCAL_SCHEMAS) and isinstance(schemas, dict):
        return schemas.get(ref[len(LOCAL_SCHEMAS):])
    return None


def _is_number(value: Json) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
