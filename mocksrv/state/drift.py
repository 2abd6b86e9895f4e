"""Contract drift: how the real API's answers, seen through the validating proxy, differ from its spec.

Per API and operation: how many answers passed, how many did not conform, and per kind of
difference (an undocumented status, a missing required field, a wrong type, an undeclared
field or header …) how often, with the first example. This is what a team runs nightly against
the vendor's sandbox (``GET /__mocksrv/apis/{api}/drift``; docs/proxy.md). A reset clears it,
like the journal.
"""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass
from dataclasses import field

Json = t.Any

# the kinds of difference, by the wording of the response check (engine/validation.py), first match wins
KINDS = (
    ("undeclared operation", ("no operation of API", "is not allowed on")),
    ("undocumented status", ("ResponseNotFound", "Unknown response http status")),
    ("undeclared content type", ("MediaTypeNotFound", "Content for the following mimetype not found")),
    ("missing required header", ("MissingRequiredHeader", "MissingHeader")),
    ("missing required field", ("is a required property",)),
    ("undeclared field", ("Additional properties are not allowed", "was unexpected")),
    ("wrong type", ("is not of type", "must be of type")),
    ("value out of range", ("is not one of", "must be one of", "is less than", "is greater than", "does not match",
                            "is too long", "is too short", "is not a")),
)


def kind_of(problem: str) -> str:
    """The kind of one response problem, as the drift report groups them."""
    return next((kind for kind, marks in KINDS if any(mark in problem for mark in marks)), "other")


@dataclass
class _Operation:
    answers: int = 0
    nonconforming: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    kinds: dict[str, dict[str, Json]] = field(default_factory=dict)  # kind -> {"count", "example", "status"}


class Drift:
    """What the upstreams answered, per API and operation (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, _Operation]] = {}

    def note(self, api: str, operation: str, status: int, problems: list[str]) -> None:
        with self._lock:
            seen = self._seen.setdefault(api, {}).setdefault(operation, _Operation())
            seen.answers += 1
            seen.statuses[status] = seen.statuses.get(status, 0) + 1
            if not problems:
                return
            seen.nonconforming += 1
            for problem in problems:
                kind = seen.kinds.setdefault(kind_of(problem), {"count": 0, "example": problem, "status": status})
                kind["count"] += 1

    def report(self, api: str) -> dict[str, Json]:
        """The API's drift: totals, and per operation its answers, statuses and each kind of difference."""
        with self._lock:
            seen = dict(self._seen.get(api, {}))
            operations = {name: {"answers": op.answers, "nonconforming": op.nonconforming,
                                 "statuses": {str(k): v for k, v in sorted(op.statuses.items())},
                                 "differences": [{"kind": kind, **dict(found)} for kind, found in op.kinds.items()]}
                          for name, op in sorted(seen.items())}
        return {"api": api, "answers": sum(o["answers"] for o in operations.values()),
                "nonconforming": sum(o["nonconforming"] for o in operations.values()), "operations": operations}

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
