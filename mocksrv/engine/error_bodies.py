"""An error body in the API's own format, carrying the reason wherever its schema has room.

APIs put the reason in many places: a flat ``message`` or ``detail`` (RFC 7807, Twilio,
AWS), an ``error`` object (Google's ``error.code/message/status``, Microsoft's
``error.code/message/target/details``, Stripe's ``error.type/message/param``), an array of
errors (JSON:API ``errors[].status/detail/source.pointer``, ``errors[].field/message``). This
module walks the error schema (``$ref``, allOf, nested objects and arrays of objects, three
levels deep) and fills what it finds: the message, the status, the title, the error's code,
trace ids, and one array item per violation with its field. An optional object not named like
an error (Stripe's ``error.payment_intent``) is data the error carries and is left alone. Each
value is kept only if the whole body still validates, so an enum or a pattern the spec sets
wins over our words.
"""

from __future__ import annotations

import re
import typing as t
import uuid

from mocksrv.engine.json_paths import ABSENT
from mocksrv.engine.json_paths import with_value_at
from mocksrv.errors import MockError
from mocksrv.errors import Violation
from mocksrv.openapi.resources import object_properties
from mocksrv.openapi.resources import required_fields
from mocksrv.openapi.specs import ApiSpec

Json = t.Any
FieldPath = tuple[str, ...]
Update = tuple[FieldPath, list[Json]]  # a place in the body and its candidate values, best first

MESSAGE_FIELDS = ("message", "detail", "error_description", "error_message", "errorMessage", "msg", "reason",
                  "description", "Message")
TRACE_FIELD = re.compile(r"^(trace|request|correlation)[_-]?id$", re.IGNORECASE)
STATUS_FIELDS = ("status", "statusCode", "status_code", "code", "httpStatus", "http_status")
# where an error item names the field it is about
FIELD_FIELDS = ("field", "param", "parameter", "target", "property", "path")
ERROR_LISTS = ("errors", "details", "error_details", "violations", "problems", "issues", "fieldErrors",
               "field_errors", "invalid_params", "invalidParams")
# enum-typed fields that classify the error (Stripe's `type`): the closest choice is taken
ENUM_FIELDS = ("type", "code", "error_type", "errorType", "kind", "category")
# objects that hold (part of) the error itself, wherever they sit
ERROR_OBJECTS = frozenset({"error", "err", "fault", "problem", "innererror", "inner_error", "innerError", "cause",
                           "source", *ERROR_LISTS})
POINTER_FIELDS = frozenset({"pointer", "parameter", "header"})
MAX_DEPTH = 3
MAX_ITEMS = 20
# Google's canonical error codes (google.rpc.Code), for a string `status` shaped like them
CANONICAL_CODES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                   405: "UNIMPLEMENTED", 406: "FAILED_PRECONDITION", 409: "ALREADY_EXISTS",
                   413: "OUT_OF_RANGE", 415: "INVALID_ARGUMENT", 422: "INVALID_ARGUMENT",
                   429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE",
                   503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9_]+$")


class ErrorBody:
    """Fills one generated error body; ``is_valid`` checks a whole candidate body against the schema."""

    def __init__(self, api: ApiSpec, error: MockError, is_valid: t.Callable[[Json], bool], *,
                 detail: str | None = None) -> None:
        """:param detail: the API's documented message for this kind of error (``x-mocksrv-errors``)."""
        self.api = api
        self.error = error
        self.is_valid = is_valid
        self.detail = detail or error.detail
        self.trace_ids: list[str] = []  # fresh ids made for trace fields: the next body needs new ones

    def fill(self, base: Json, schema: Json, resolver: t.Any, extra: dict[str, Json] | None = None) -> Json:
        """``base`` with the error's facts where they fit.

        :param extra: top-level fields the API documents for this error, e.g. ``{"code": "invalid_api_key"}``.
        """
        if isinstance(base, list):  # the body is the list of errors itself (SendGrid's `[{message, field}]`)
            updates = self._error_list(base, schema, resolver, (), 0)
            return self._apply(base, updates) if updates else base
        if not isinstance(base, dict):
            return base
        documented = [((name,), [value]) for name, value in (extra or {}).items()]
        # an error about one field names it at the top too (Microsoft's `target`, Stripe's `param`)
        only = self.error.violations[0] if len(self.error.violations) == 1 else None
        found = self._object(base, schema, resolver, (), 0, self.detail, only)
        # a field the API documents for this error takes the documented value; ours only where
        # the documented one breaks the schema
        ours: dict[FieldPath, list[Json]] = {}
        for path, values in found:
            ours.setdefault(path, []).extend(values)
        updates = [(path, [*values, *ours.pop(path, [])]) for path, values in documented] + list(ours.items())
        return self._apply(base, [(path, [v for v in values if v is not None]) for path, values in updates])

    # -- what goes where ----------------------------------------------------------------------------

    def _object(self, value: dict[str, Json], schema: Json, resolver: t.Any, path: FieldPath, depth: int,
                message: str, violation: Violation | None) -> list[Update]:
        """The updates for one object of the body: its own fields, then nested errors."""
        properties = object_properties(self.api, schema, resolver)
        # an optional object not named like an error is data the error carries (Stripe's
        # `error.payment_intent`): its `description` or `status` is not the error's
        required = required_fields(self.api, schema, resolver)
        names = list(dict.fromkeys([*properties, *value]))
        updates: list[Update] = []
        message_field = next((n for n in MESSAGE_FIELDS if n in names and not self._is_container(properties, value, n)),
                             None)
        if message_field:
            updates.append(((*path, message_field), [message]))
        for name in names:
            at = (*path, name)
            if self._is_container(properties, value, name):
                if depth < MAX_DEPTH and (name in required or _names_an_error(name)):
                    updates.extend(self._nested(value.get(name), properties.get(name), at, depth, message, violation))
                continue
            prop_schema = properties.get(name, ({}, resolver))[0]
            candidates = [c for c in self._scalars(name, prop_schema, message_field, message, violation,
                                                   value.get(name)) if c is not None]
            if candidates:
                updates.append((at, candidates))
        return updates

    def _scalars(self, name: str, schema: Json, message_field: str | None, message: str,
                 violation: Violation | None, current: Json) -> list[Json]:
        """Values to try for one scalar field, best first (the body's validator picks)."""
        error = self.error
        if name == "error":  # a string `error` next to a message is the title, else it is the message
            return [error.title if message_field else message]
        if TRACE_FIELD.match(name):
            self.trace_ids.append(str(uuid.uuid4()))
            return [self.trace_ids[-1]]
        if name == "code":  # an open code gets ours (invalid_request …), a typed one the status, else it stays
            return [error.code, error.status] if _free_text(schema) else [error.status, current]
        if name in STATUS_FIELDS:
            return [error.status, *self._status_words(schema)] if name == "status" else [error.status]
        if name in ("success", "ok"):
            return [False]
        if name == "title":
            return [error.title]
        if name == "type" and isinstance(schema, dict) and schema.get("format") in ("uri", "uri-reference"):
            return [f"https://mocksrv.dev/problems/{error.code}"]
        if name == "location" or name in FIELD_FIELDS:  # where the error is; none: leave it out if allowed
            if violation is None or not violation.field:
                return [ABSENT]
            return [violation.location if name == "location" else violation.field, ABSENT]
        if name in ENUM_FIELDS and isinstance(schema, dict) and isinstance(schema.get("enum"), list):
            return [self._closest_choice([v for v in schema["enum"] if isinstance(v, str)])]
        if name == "details" and not error.violations:
            return [message]
        return []

    def _closest_choice(self, choices: list[str]) -> Json:
        """The enum value that names this error best (``invalid_request`` → ``invalid_request_error``),
        else the one for its class of error; None keeps what was generated."""
        error = self.error
        words = set(re.split(r"[^a-z0-9]+", f"{error.code} {error.kind} {error.title}".lower())) - {""}
        scored = [(len(words & set(re.split(r"[^a-z0-9]+", c.lower()))), c) for c in choices]
        best = max(scored, default=(0, None))
        if best[0]:
            return best[1]
        family = ("request", "invalid", "client") if error.status < 500 else ("api", "server", "internal")
        return next((c for c in choices if any(w in c.lower() for w in family)), None)

    def _status_words(self, schema: Json) -> list[str]:
        """A string ``status``: Google's canonical code where the spec shows that style, else the number."""
        canonical = CANONICAL_CODES.get(self.error.status, "UNKNOWN")
        shown = [v for v in [*(schema.get("enum") or []), schema.get("example")] if isinstance(v, str)] \
            if isinstance(schema, dict) else []
        if shown and all(UPPER_SNAKE.match(v) for v in shown):
            return [canonical, str(self.error.status)]
        return [str(self.error.status), canonical]

    def _nested(self, current: Json, found: tuple[Json, t.Any] | None, path: FieldPath, depth: int, message: str,
                violation: Violation | None) -> list[Update]:
        schema, resolver = found if found is not None else ({}, None)
        if _is_array(schema, current):
            return self._error_list(current, schema, resolver, path, depth)
        if path[-1] == "source":  # JSON:API: where in the request (an object that says so, or an open one)
            fields = object_properties(self.api, schema, resolver)
            return self._source(path, violation) if not fields or POINTER_FIELDS & set(fields) else []
        return self._object(current if isinstance(current, dict) else {}, schema, resolver, path, depth + 1,
                            message, violation)

    def _error_list(self, current: Json, schema: Json, resolver: t.Any, path: FieldPath, depth: int) -> list[Update]:
        """An array at ``path`` (``()``: the body itself) filled as a list of errors, when it is named
        like one or its items have a message field; else none (it keeps its generated items)."""
        schema, resolver = self.api.deref(schema, resolver)
        items, item_resolver = self.api.deref(schema.get("items") or {}, resolver) \
            if isinstance(schema, dict) else ({}, None)
        item_fields = object_properties(self.api, items, item_resolver)
        if not (path and path[-1] in ERROR_LISTS) and not any(n in item_fields for n in MESSAGE_FIELDS):
            return []
        return [(path, [self._items(current, items, item_resolver, item_fields, depth)])]

    def _items(self, current: Json, items: Json, resolver: t.Any, item_fields: dict[str, t.Any],
               depth: int) -> _Items:
        """An array of errors: one item per violation (or one for the error itself); items the
        schema leaves open are the messages."""
        template = current[0] if isinstance(current, list) and current and isinstance(current[0], dict) else {}
        causes: list[Violation | None] = list(self.error.violations[:MAX_ITEMS]) or [None]
        wanted: list[tuple[Json, list[Update]]] = []
        for cause in causes:
            message = cause.message if cause is not None else self.detail
            if item_fields or template:
                wanted.append((dict(template),
                               self._object(dict(template), items, resolver, (), depth + 1, message, cause)))
            else:
                wanted.append((message, []))
        return _Items(wanted)

    @staticmethod
    def _source(path: FieldPath, violation: Violation | None) -> list[Update]:
        """A JSON pointer into the body, or the parameter's name; no place: no ``source``."""
        if violation is None or not violation.field:
            return [(path, [ABSENT])]
        if violation.location == "body":
            pointer = "/" + "/".join(part for part in re.split(r"[.\[\]]+", violation.field) if part)
            return [(path, [{"pointer": pointer}, ABSENT])]
        return [(path, [{"header" if violation.location == "header" else "parameter": violation.field}, ABSENT])]

    @staticmethod
    def _is_container(properties: dict[str, tuple[Json, t.Any]], value: dict[str, Json], name: str) -> bool:
        schema = properties.get(name, (None, None))[0]
        return _is_object(schema, value.get(name)) or _is_array(schema, value.get(name))

    # -- applying, keeping only what validates ------------------------------------------------------

    def _apply(self, base: Json, updates: list[Update]) -> Json:
        """Every first choice at once when the body stays valid (the usual case: one validation),
        else field by field, each taking its first candidate that keeps the body valid."""
        everything: Json = base
        for path, candidates in updates:
            if candidates:
                everything = with_value_at(everything, path, self._value(everything, path, candidates[0], check=False))
        if self.is_valid(everything):
            return everything
        body: Json = base
        for path, candidates in updates:
            for value in candidates:
                candidate = with_value_at(body, path, self._value(body, path, value, check=True))
                if self.is_valid(candidate):
                    body = candidate
                    break
        return body

    def _value(self, body: Json, path: FieldPath, value: Json, *, check: bool) -> Json:
        """The value to set at ``path``; an array of errors is built item by item, each field kept
        only if the whole body stays valid with it (``check``)."""
        if not isinstance(value, _Items):
            return value
        built: list[Json] = []
        for start, fields in value.wanted:
            item = start
            for field_path, candidates in fields:
                for field_value in candidates:
                    candidate = with_value_at(item, field_path, field_value)
                    if not check or self.is_valid(with_value_at(body, path, [*built, candidate])):
                        item = candidate
                        break
            built.append(item)
        return built


class _Items:
    """An array of error items to build: (starting item, its field updates) each."""

    def __init__(self, wanted: list[tuple[Json, list[Update]]]) -> None:
        self.wanted = wanted


def _names_an_error(name: str) -> bool:
    return name in ERROR_OBJECTS or name.lower() in ERROR_OBJECTS


def _is_object(schema: Json, value: Json) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema
                                         or "allOf" in schema) and value is None


def _is_array(schema: Json, value: Json) -> bool:
    if isinstance(value, list):
        return True
    return isinstance(schema, dict) and schema.get("type") == "array" and value is None


def _free_text(schema: Json) -> bool:
    """A field the spec leaves open: no example, no enum, no const."""
    return not (isinstance(schema, dict) and any(k in schema for k in ("example", "examples", "enum", "const")))
