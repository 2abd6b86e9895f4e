"""Injected faults: make an API (or one operation) slow, fail or drop the connection on purpose.

A fault matches an API and optionally an operation, and adds latency (fixed or a range),
answers a forced error status in the API's own format, or drops the connection — for the
next N matching calls or until cleared. The first matching fault wins. Thread-safe.
"""

from __future__ import annotations

import random
import typing as t
from dataclasses import dataclass

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from mocksrv.state.counted import CountedList

MAX_LATENCY_MS = 60_000


class LatencySchema(Schema):
    class Meta:
        unknown = RAISE

    min = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_LATENCY_MS))
    max = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_LATENCY_MS))


class LatencyField(fields.Field[tuple[int, int]]):
    """``250`` (ms) or ``{"min": 100, "max": 300}``."""

    def _deserialize(self, value: t.Any, attr: str | None, data: t.Any, **kwargs: t.Any) -> tuple[int, int]:
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= MAX_LATENCY_MS:
                raise ValidationError(f"must be between 0 and {MAX_LATENCY_MS} ms")
            return value, value
        if isinstance(value, dict):
            loaded = LatencySchema().load(value)
            if loaded["min"] > loaded["max"]:
                raise ValidationError("min must not be greater than max")
            return loaded["min"], loaded["max"]
        raise ValidationError('must be milliseconds (an integer) or {"min": ms, "max": ms}')


def latency_tuple(stored: list[int] | None) -> tuple[int, int] | None:
    """A latency range as stored (JSON has no tuples)."""
    return (stored[0], stored[1]) if stored else None


class FaultSchema(Schema):
    class Meta:
        unknown = RAISE

    api = fields.String(load_default=None, allow_none=True)
    operationId = fields.String(load_default=None, allow_none=True)
    latency_ms = LatencyField(load_default=None, allow_none=True)
    status = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=400, max=599))
    drop = fields.Boolean(load_default=False)
    times = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))

    @validates_schema
    def _does_something(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        if data.get("latency_ms") is None and data.get("status") is None and not data.get("drop"):
            raise ValidationError("a fault needs latency_ms, status or drop")
        if data.get("status") is not None and data.get("drop"):
            raise ValidationError("status and drop exclude each other")
        if data.get("operationId") and not data.get("api"):
            raise ValidationError({"api": ["required when operationId is given"]})


@dataclass
class Fault:
    id: int
    api: str | None
    operation_id: str | None
    latency_ms: tuple[int, int] | None
    status: int | None
    drop: bool
    times: int | None  # None: until cleared
    remaining: int | None = None  # of `times`, as `Faults.all` read it

    def __post_init__(self) -> None:
        if self.remaining is None:
            self.remaining = self.times

    def matches(self, api: str, operation: str) -> bool:
        return (self.api is None or self.api == api) and (self.operation_id is None or self.operation_id == operation)

    def delay_seconds(self, rng: random.Random) -> float:
        if self.latency_ms is None:
            return 0.0
        low, high = self.latency_ms
        return rng.randint(low, high) / 1000

    def as_dict(self) -> dict[str, t.Any]:
        latency = None if self.latency_ms is None else (
            self.latency_ms[0] if self.latency_ms[0] == self.latency_ms[1]
            else {"min": self.latency_ms[0], "max": self.latency_ms[1]})
        return {"id": self.id, "api": self.api, "operationId": self.operation_id, "latency_ms": latency,
                "status": self.status, "drop": self.drop, "remaining": self.remaining}


class Faults(CountedList[Fault]):
    kind = "faults"

    def revive(self, fields: dict[str, t.Any]) -> Fault:
        return Fault(**{**fields, "latency_ms": latency_tuple(fields["latency_ms"])})

    def add_spec(self, spec: t.Mapping[str, t.Any]) -> Fault:
        """Add a fault from admin JSON.

        :raise ValidationError: with the path of each problem.
        """
        data = FaultSchema().load(spec)
        return self.add(Fault(self.next_id(), data["api"], data["operationId"], data["latency_ms"], data["status"],
                              data["drop"], data["times"]))

    def take_for(self, api: str, operation: str) -> Fault | None:
        """The first fault matching this call, counting the call against its ``times``."""
        return self.take(lambda fault: fault.matches(api, operation))
