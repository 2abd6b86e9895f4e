"""OpenAPI runtime expressions (``$url``, ``$request.body#/id`` …) read from one exchange.

Callback keys and Link Objects name values of the request that caused them or of the answer
to it: ``{$request.body#/callbackUrl}``, ``{$request.header.X-Callback}/events``. The value
is only known once the exchange happened, so this module works on plain `ExchangeFacts`, not
on a spec or a Werkzeug request: whoever delivers a callback or follows a link collects the
facts and asks here. Syntax and meaning follow the "Runtime Expressions" section of OpenAPI
3.0/3.1 (its ABNF), with RFC 6901 JSON pointers into bodies. A key that is a bare expression
(``$request.body#/url``, no braces) is taken whole, as many specs write it that way.
"""

from __future__ import annotations

import json
import re
import typing as t
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ExchangeFacts", "ExpressionError", "evaluate", "expand"]

# RFC 9110 token characters, which a header-reference's name must consist of
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")  # RFC 6901: no sign, no leading zeros
_BAD_ESCAPE = re.compile(r"~(?![01])")
_EMBEDDED = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class ExchangeFacts:
    """What runtime expressions may refer to: one request and the answer given to it."""

    url: str  # the full request URL as received
    method: str  # upper-case
    status: int
    request_headers: Mapping[str, str]  # looked up case-insensitively, whatever the mapping
    query: Mapping[str, list[str]]  # every value per name; an expression takes the first
    path: Mapping[str, str]
    request_body: t.Any  # parsed JSON, the text of a body that is not JSON, or None
    response_headers: Mapping[str, str]
    response_body: t.Any


class ExpressionError(ValueError):
    """A runtime expression that is malformed or names something the exchange does not have."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"runtime expression {expression!r}: {reason}")
        self.expression = expression


def evaluate(expression: str, facts: ExchangeFacts) -> t.Any:
    """The value ``expression`` names, as found (a body pointer may give any JSON value).

    :raise ExpressionError: not a runtime expression, or the header, parameter, body or
        pointer target it names is absent.
    """
    if expression == "$url":
        return facts.url
    if expression == "$method":
        return facts.method
    if expression == "$statusCode":
        return facts.status
    side, dot, source = expression.partition(".")
    if side not in ("$request", "$response") or not dot:
        raise ExpressionError(expression, "not a runtime expression")
    request = side == "$request"
    headers = facts.request_headers if request else facts.response_headers
    kind, dot, name = source.partition(".")
    if kind == "header" and dot:
        if not _TOKEN.fullmatch(name):
            raise ExpressionError(expression, f"{name!r} is not a header name")
        return _header(expression, headers, name)
    if kind in ("query", "path") and dot:
        # a response has no parameters, though the ABNF lets the expression be written
        if not request:
            raise ExpressionError(expression, f"a response has no {kind} parameters")
        return _query(expression, facts.query, name) if kind == "query" else _path(expression, facts.path, name)
    if source == "body" or source.startswith("body#"):
        body = facts.request_body if request else facts.response_body
        if body is None:
            raise ExpressionError(expression, f"the {side[1:]} has no body")
        _, hash_sign, pointer = source.partition("#")
        return _resolve(expression, body, pointer) if hash_sign else body
    raise ExpressionError(expression, "not a runtime expression")


def expand(template: str, facts: ExchangeFacts) -> str:
    """A callback key (or link value) with each ``{expression}`` replaced by its value as text.

    Strings are used as they are; numbers and booleans as their JSON text. A template that is
    one bare expression (no braces) is evaluated whole.

    :raise ExpressionError: a braced text that is not a runtime expression, an unbalanced
        brace, an expression `evaluate` refuses, or a value that has no text form.
    """
    if template.startswith("$") and "{" not in template and "}" not in template:
        return _text(template, evaluate(template, facts))
    parts: list[str] = []
    start = 0
    for found in _EMBEDDED.finditer(template):
        parts.append(_literal(template, template[start:found.start()]))
        expression = found.group(1)
        if not expression.startswith("$"):
            raise ExpressionError(template, f"{{{expression}}} is not a runtime expression")
        parts.append(_text(expression, evaluate(expression, facts)))
        start = found.end()
    parts.append(_literal(template, template[start:]))
    return "".join(parts)


def _header(expression: str, headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()  # HTTP header names are case-insensitive; a plain dict is not
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    raise ExpressionError(expression, f"no header {name!r}")


def _query(expression: str, query: Mapping[str, list[str]], name: str) -> str:
    values = query.get(name)
    if not values:
        raise ExpressionError(expression, f"no query parameter {name!r}")
    return values[0]


def _path(expression: str, path: Mapping[str, str], name: str) -> str:
    if name not in path:
        raise ExpressionError(expression, f"no path parameter {name!r}")
    return path[name]


def _resolve(expression: str, body: t.Any, pointer: str) -> t.Any:
    """The value at an RFC 6901 JSON pointer ("" is the whole body)."""
    if pointer and not pointer.startswith("/"):
        raise ExpressionError(expression, f"{pointer!r} is not a JSON pointer (it must start with '/')")
    if _BAD_ESCAPE.search(pointer):
        raise ExpressionError(expression, f"{pointer!r} has a '~' not followed by 0 or 1")
    value = body
    for token in pointer.split("/")[1:]:
        # ~1 before ~0, so that "~01" reads as "~1", not "/" (RFC 6901, section 4)
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and _ARRAY_INDEX.fullmatch(key) and int(key) < len(value):
            value = value[int(key)]
        else:
            raise ExpressionError(expression, f"the body has nothing at {pointer!r}")
    return value


def _text(expression: str, value: t.Any) -> str:
    if isinstance(value, str):
        return value
    # JSON text, not str(): True must read "true"; null has JSON text too, but a URL with
    # "null" in it is a spec or request mistake to be seen, not a callback sent somewhere odd
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    kinds: dict[type, str] = {dict: "an object", list: "an array", type(None): "null"}
    kind = next((name for base, name in kinds.items() if isinstance(value, base)), repr(value))
    raise ExpressionError(expression, f"the value is {kind}, where text is needed")


def _literal(template: str, text: str) -> str:
    """Text between expressions, which may not hold a brace of its own."""
    if "{" in text or "}" in text:
        raise ExpressionError(template, "unbalanced '{' or '}'")
    return text
