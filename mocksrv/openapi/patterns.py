"""Schema ``pattern``s that one of the two regex engines a document meets cannot read.

Requests are checked with Python's ``re`` (openapi-core, jsonschema); openapi-spec-validator
checks a 3.0 document's patterns with its own engine (ECMA 262, as JSON Schema says), which
refuses some that ``re`` reads: a ``]`` or ``{`` outside a character class, a ``]`` first in
one. Such a pattern is rewritten with those characters escaped, which ``re`` reads exactly as
before (a literal ``]`` either way); one still refused, or one ``re`` cannot compile, says
nothing either engine can enforce and is dropped. One warning line each.
"""

from __future__ import annotations

import functools
import re
import typing as t

from openapi_spec_validator.schemas import schema_v30
from openapi_spec_validator.schemas.backend import get_validator_for

from mocksrv.openapi.schema_walk import iter_schemas
from mocksrv.openapi.schema_walk import shown

Json = t.Any
QUANTIFIER = re.compile(r"\{\d*(,\d*)?\}")


def repair_patterns(document: dict[str, Json], version: str) -> list[str]:
    """Rewrite or drop every Schema Object ``pattern`` an engine cannot read; one warning each."""
    warnings = []
    for schema, place in iter_schemas(document):
        pattern = schema.get("pattern")
        if not isinstance(pattern, str):
            continue
        try:
            re.compile(pattern)
        except re.error as exc:
            del schema["pattern"]
            warnings.append(f"{shown(place)}: pattern {_short(pattern)} cannot be compiled by Python's re "
                            f"({exc}); dropped")
            continue
        if version != "3.0" or spec_validator_reads(pattern):  # 3.1's meta-schema does not assert formats
            continue
        escaped = escape_stray_brackets(pattern)
        if escaped != pattern and spec_validator_reads(escaped):
            schema["pattern"] = escaped
            warnings.append(f"{shown(place)}: pattern {_short(pattern)} has a ']', '{{' or '}}' outside a "
                            "character class, which the spec validator's regex engine refuses; escaped "
                            "(Python's re reads it as before)")
        else:
            del schema["pattern"]
            warnings.append(f"{shown(place)}: pattern {_short(pattern)} cannot be read by the spec "
                            "validator's regex engine (ECMA 262); dropped")
    return warnings


@functools.cache
def spec_validator_reads(pattern: str) -> bool:
    """Whether openapi-spec-validator accepts ``pattern`` in a 3.0 Schema Object (its ``format: regex``)."""
    return bool(_regex_format_check().is_valid(pattern))


@functools.cache
def _regex_format_check() -> t.Any:
    return get_validator_for({"$schema": schema_v30["$schema"], "type": "string", "format": "regex"})


def escape_stray_brackets(pattern: str) -> str:
    """``pattern`` with every ``]``, ``{`` and ``}`` that Python reads as a literal character
    escaped: outside a character class, ``]`` and a brace that starts no ``{m,n}`` quantifier;
    inside one, a ``]`` written first.

    >>> escape_stray_brackets(r"a]b{x}c{2,3}[]d]")
    'a\\\\]b\\\\{x\\\\}c{2,3}[\\\\]d]'
    """
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index:index + 2])
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
        elif char == "[":
            in_class = True
            start = index + 2 if pattern[index + 1:index + 2] == "^" else index + 1
            out.append(pattern[index:start])
            if pattern[start:start + 1] == "]":  # Python: a literal ']' first in a class
                out.append("\\]")
                start += 1
            index = start
            continue
        elif char == "{":
            quantifier = QUANTIFIER.match(pattern, index)
            if quantifier and quantifier.group() != "{}" and quantifier.group() != "{,}":
                out.append(quantifier.group())
                index = quantifier.end()
                continue
            out.append("\\{")
        elif char in "]}":
            out.append("\\" + char)
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _short(pattern: str, limit: int = 40) -> str:
    return repr(pattern if len(pattern) <= limit else pattern[:limit - 1] + "…")
