"""Rules that pick the answer from the request itself (no test header needed).

A rule matches an API, optionally one operation, and conditions on request fields — a
path/query/header/cookie value by name, or a body field by JSON pointer (form fields by
``/name``) — with ``equals``, ``one_of``, ``regex``, ``contains`` or ``exists``. Then it
answers a status the operation declares (body from the spec's example or schema, with
optional field overrides), adds latency, or drops the connection. First match wins;
``times`` bounds how often. Rules come from scenario files (``rules:`` per API) and the
admin API; they are checked after the request has been validated.
"""

from __future__ import annotations

import itertools
import re
import typing as t
from dataclasses import dataclass

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from mocksrv.exchange import MockRequest
from mocksrv.state.counted import CountedList
from mocksrv.state.faults import LatencyField
from mocksrv.state.faults import latency_tuple

LOCATIONS = ("body", "path", "query", "header", "cookie")
OPERATORS = ("equals", "one_of", "regex", "contains", "exists")
Json = t.Any
_MISSING = object()


class ConditionSchema(Schema):
    class Meta:
        unknown = RAISE

    # `in` is a Python keyword: the attribute is `where`, the YAML/JSON name `in`
    where = fields.String(required=True, data_key="in", validate=validate.OneOf(LOCATIONS))
    name = fields.String()
    path = fields.String(validate=validate.Regexp(r"^(/.*)?$", error="must be a JSON pointer such as /to/0"))
    equals = fields.Raw()
    one_of = fields.List(fields.Raw())
    regex = fields.String()
    contains = fields.Raw()
    exists = fields.Boolean()

    @validates_schema
    def _well_formed(self, data: dict[str, Json], **kwargs: Json) -> None:
        used = [op for op in OPERATORS if op in data]
        if len(used) != 1:
            raise ValidationError(f"give exactly one of {', '.join(OPERATORS)}")
        if data["where"] == "body" and "path" not in data:
            raise ValidationError({"path": ["a body condition needs a JSON pointer path"]})
        if data["where"] != "body" and "name" not in data:
            raise ValidationError({"name": [f"a {data['where']} condition needs a name"]})
        if "regex" in data:
            try:
                re.compile(data["regex"])
            except re.error as exc:
                raise ValidationError({"regex": [f"not a valid regular expression: {exc}"]}) from exc


class ThenSchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.Integer(strict=True, validate=validate.Range(min=100, max=599))
    body = fields.Dict(keys=fields.String())  # field overrides merged onto the spec's body
    latency_ms = LatencyField(allow_none=True)
    drop = fields.Boolean(load_default=False)

    @validates_schema
    def _does_something(self, data: dict[str, Json], **kwargs: Json) -> None:
        if data.get("status") is None and data.get("latency_ms") is None and not data.get("drop"):
            raise ValidationError("a rule's `then` needs status, latency_ms or drop")
        if data.get("body") is not None and data.get("status") is None:
            raise ValidationError({"body": ["body overrides need a status"]})


class RuleSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(load_default="")
    operation = fields.String(load_default=None, allow_none=True)  # an operationId (or "METHOD /path")
    match = fields.List(fields.Nested(ConditionSchema), load_default=list)
    then = fields.Nested(ThenSchema, required=True)
    times = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))


@dataclass
class Rule:
    id: int
    api: str
    name: str
    operation: str | None
    conditions: list[dict[str, Json]]
    status: int | None
    body: dict[str, Json] | None
    latency_ms: tuple[int, int] | None
    drop: bool
    times: int | None  # None: until removed
    remaining: int | None = None  # of `times`, as `Rules.all` read it

    def __post_init__(self) -> None:
        if self.remaining is None:
            self.remaining = self.times

    def delay_seconds(self, rng: t.Any) -> float:
        if self.latency_ms is None:
            return 0.0
        return float(rng.randint(*self.latency_ms)) / 1000

    def as_dict(self) -> dict[str, Json]:
        conditions = [{("in" if k == "where" else k): v for k, v in c.items()} for c in self.conditions]
        return {"id": self.id, "api": self.api, "name": self.name, "operation": self.operation, "match": conditions,
                "then": {"status": self.status, "body": self.body, "latency_ms": self.latency_ms, "drop": self.drop},
                "remaining": self.remaining}


def pointer(document: Json, path: str) -> Json:
    """RFC 6901 JSON pointer lookup; ``_MISSING`` when the path does not exist."""
    if path in ("", "/"):
        return document
    current = document
    for token in path.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return _MISSING
    return current


def _value(condition: dict[str, Json], request: MockRequest, body: Json, path_params: dict[str, str]) -> Json:
    where = condition["where"]
    if where == "body":
        return pointer(body, condition["path"])
    name = condition["name"]
    if where == "header":  # Werkzeug headers: case-insensitive
        return request.headers.get(name, _MISSING)
    sources: dict[str, t.Mapping[str, t.Any]] = {"path": path_params, "query": request.query, "cookie": request.cookies}
    return sources[where].get(name, _MISSING)


def holds(condition: dict[str, Json], value: Json) -> bool:
    """Whether one condition holds for a value (``_MISSING`` when the field is absent)."""
    if "exists" in condition:
        return (value is not _MISSING) == bool(condition["exists"])
    if value is _MISSING:
        return False
    if "equals" in condition:
        return bool(value == condition["equals"] or str(value) == str(condition["equals"]))
    if "one_of" in condition:
        return any(value == option or str(value) == str(option) for option in condition["one_of"])
    if "regex" in condition:
        return re.search(condition["regex"], value if isinstance(value, str) else str(value)) is not None
    wanted = condition["contains"]
    if isinstance(value, list):
        return wanted in value or str(wanted) in [str(v) for v in value]
    return str(wanted) in str(value)


class Rules(CountedList[Rule]):
    """The rules in force: from the scenario, plus those added through the admin API."""

    kind = "rules"

    def revive(self, fields: dict[str, Json]) -> Rule:
        return Rule(**{**fields, "latency_ms": latency_tuple(fields["latency_ms"])})

    def load(self, by_api: t.Mapping[str, t.Sequence[dict[str, Json]]]) -> None:
        """Put a scenario's (already validated) rules in place of this process's own, ids from 1."""
        ids = itertools.count(1)
        self.replace(self._built(next(ids), api, data) for api, rules in by_api.items() for data in rules)

    def build(self, api: str, data: dict[str, Json]) -> Rule:
        """A rule added through the admin API, with a fresh id."""
        return self._built(self.next_id(), api, data)

    @staticmethod
    def _built(rule_id: int, api: str, data: dict[str, Json]) -> Rule:
        then = data["then"]
        return Rule(rule_id, api, data.get("name", ""), data.get("operation"), list(data.get("match", [])),
                    then.get("status"), then.get("body"), then.get("latency_ms"), bool(then.get("drop")),
                    data.get("times"))

    def first_match(self, api: str, operation_ids: tuple[str, ...], request: MockRequest, body: Json,
                    path_params: dict[str, str]) -> Rule | None:
        """The first rule whose conditions all hold, counted against its ``times``."""
        def accepts(rule: Rule) -> bool:
            if rule.api != api or (rule.operation is not None and rule.operation not in operation_ids):
                return False
            return all(holds(c, _value(c, request, body, path_params)) for c in rule.conditions)

        return self.take(accepts)
