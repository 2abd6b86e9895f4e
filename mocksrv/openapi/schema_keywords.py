"""Schema keywords the document's OpenAPI version does not have, read as the author meant.

- OpenAPI 3.0's Schema Object allows only its own keywords (and ``x-`` extensions);
  openapi-spec-validator refuses the whole document for any other. A keyword that differs
  from one of 3.0's only in case (``Description``) is that keyword, 3.1's ``const`` is a
  one-value ``enum``; any other (``desc``,
  ``example``-shaped objects written where a schema belongs) says nothing 3.0 can enforce and
  is dropped. The list of keywords is 3.0's own meta-schema, as the validator reads it.
- JSON Schema 2019-09's recursion in a 3.1 (2020-12) document: ``$recursiveAnchor: true``
  marks a schema and ``$recursiveRef: "#"`` inside it means "this schema again"; 2020-12 has
  no boolean ``$recursiveAnchor`` (the validator refuses it), so the reference becomes a plain
  ``$ref`` to the marked schema and the marker goes.

Each repair is one warning line, ``place: what was assumed`` (docs/decisions.md, "Lenient loading").
"""

from __future__ import annotations

import functools
import typing as t

from openapi_spec_validator.schemas import schema_v30

from mocksrv.openapi.schema_walk import Place
from mocksrv.openapi.schema_walk import iter_schemas
from mocksrv.openapi.schema_walk import pointer
from mocksrv.openapi.schema_walk import shown

Json = t.Any


def repair_keywords(document: dict[str, Json], version: str) -> list[str]:
    """Unknown 3.0 keywords renamed or dropped; 2019-09 recursion in 3.1 made plain ``$ref``s."""
    warnings: list[str] = []
    anchors: dict[Place, str] = {}  # places of schemas marked $recursiveAnchor: true
    for schema, place in iter_schemas(document):
        if version == "3.0":
            warnings.extend(_known_keywords_only(schema, place))
        else:
            warnings.extend(_plain_recursion(schema, place, anchors))
    return warnings


@functools.cache
def _keywords_30() -> frozenset[str]:
    return frozenset(schema_v30["definitions"]["Schema"]["properties"])


def _known_keywords_only(schema: dict[str, Json], place: Place) -> list[str]:
    if "$ref" in schema:  # a Reference Object: its siblings are ignored, and allowed
        return []
    known = _keywords_30()
    by_case = {keyword.lower(): keyword for keyword in known}
    warnings = []
    for keyword in [key for key in schema if key not in known and not str(key).startswith("x-")]:
        value = schema.pop(keyword)
        meant = by_case.get(str(keyword).lower())
        if keyword == "const" and "enum" not in schema:  # 3.1's spelling of a one-value enum
            schema["enum"] = [value]
            warnings.append(f"{shown(place)}: 3.1's 'const' in a 3.0 document; read as a one-value 'enum'")
        elif meant is not None and meant not in schema:
            schema[meant] = value
            warnings.append(f"{shown(place)}: {keyword!r} is no OpenAPI 3.0 schema keyword; read as {meant!r}")
        else:
            warnings.append(f"{shown(place)}: {keyword!r} is no OpenAPI 3.0 schema keyword; dropped")
    return warnings


def _plain_recursion(schema: dict[str, Json], place: Place, anchors: dict[Place, str]) -> list[str]:
    warnings = []
    if schema.get("$recursiveAnchor") is True:
        del schema["$recursiveAnchor"]
        anchors[place] = pointer(place)
        warnings.append(f"{shown(place)}: JSON Schema 2019-09's '$recursiveAnchor' in a 3.1 document; "
                        "dropped, and its '$recursiveRef's read as '$ref's to this schema")
    if schema.get("$recursiveRef") == "#":
        enclosing = [at for at in anchors if place[:len(at)] == at]
        if enclosing:
            del schema["$recursiveRef"]
            schema["$ref"] = anchors[max(enclosing, key=len)]
            warnings.append(f"{shown(place)}: JSON Schema 2019-09's '$recursiveRef' in a 3.1 document; "
                            f"read as '$ref: {schema['$ref']}'")
    return warnings
