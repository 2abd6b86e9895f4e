"""Defaults that break their own schema.

openapi-spec-validator checks every Schema Object's ``default`` against the schema and
refuses the whole document for one that fails; a mock must not fill such a value in either.
The default is dropped, one warning line each naming the place and the first reason, and the
schema keeps describing what the API accepts. The check is openapi-spec-validator's own: the
same validators and format checkers, ``null`` allowed where 3.0's ``nullable`` says so.

Examples are not dropped here: the validator accepts a document whose examples break their
schemas, and the engine already never serves one (the generator takes only valid examples,
and a response example that does not validate is logged once and replaced by a generated
body), so a load-time pass would only print a line for each (linode's spec has over 600).
"""

from __future__ import annotations

import typing as t

from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import OAS31Validator
from openapi_schema_validator import oas30_format_checker
from openapi_schema_validator import oas31_format_checker
from referencing.exceptions import Unresolvable

from mocksrv.openapi.schema_walk import iter_schemas
from mocksrv.openapi.schema_walk import shown

if t.TYPE_CHECKING:
    from referencing._core import Resolver

Json = t.Any


def drop_invalid_defaults(document: dict[str, Json], version: str, resolver: Resolver[Json]) -> list[str]:
    """Drop each ``default`` its own schema refuses; one warning each."""
    warnings = []
    for schema, place in iter_schemas(document):
        if "default" not in schema:
            continue
        problem = _problem(schema, schema["default"], version, resolver)
        if problem:
            value = schema.pop("default")
            warnings.append(f"{shown(place)}: default {_short(repr(value), 40)} breaks its own schema "
                            f"({_short(problem, 80)}); dropped")
    return warnings


def _problem(schema: dict[str, Json], value: Json, version: str, resolver: Resolver[Json]) -> str | None:
    """The first reason the schema refuses the value, or None."""
    validator: OAS30Validator | OAS31Validator
    if version == "3.0":
        if value is None and schema.get("nullable") is True:  # as openapi-spec-validator reads it
            return None
        validator = OAS30Validator(schema, _resolver=resolver, format_checker=oas30_format_checker)
    else:
        validator = OAS31Validator(schema, _resolver=resolver, format_checker=oas31_format_checker)
    try:
        error = next(iter(validator.iter_errors(value)), None)
    except Unresolvable:  # the validator names a broken $ref itself, with its place
        return None
    return None if error is None else str(error.message)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
