"""Make a value generated through one ``oneOf`` branch match that branch and no other.

A value made for one branch often fits others too (branches that differ only by an enum, a
required field or ``additionalProperties: false``), and then it is valid under none of the
``oneOf``. `exclusive` edits such a value, one property at a time, until only its own branch
takes it: it leaves out optional properties (another branch's required ones), then changes or
adds properties to values the other branches refuse (outside their enum, const or type, a
property a closed branch does not allow), then draws whole new values. It knows no schema
keywords: `Edits` (made by `core`) generates the values and says which branches match.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

__all__ = ["Edits", "exclusive"]

_VALUE_TRIES = 8  # candidate values per property (or whole values) before moving on


@dataclass(frozen=True)
class Edits:
    """What `exclusive` may do to a value of branch ``index``; each callable is the generator's."""

    index: int
    matching: Callable[[Any], list[int]]  # the branches the value is valid under, on its own
    optional: Callable[[str], bool]  # a property the branch (and its holder) may leave out
    declared: Callable[[], Iterable[str]]  # property names the branch allows, declared ones first
    candidates: Callable[[str], Iterator[Any]]  # fresh values for a property, valid under the branch's schema
    fresh: Callable[[], Iterator[Any]]  # fresh whole values of the branch


def exclusive(value: Any, edits: Edits) -> Any | None:
    """``value`` (or an edit of it) that only branch ``edits.index`` takes; None when none was found."""
    current = edits.matching(value)
    if current == [edits.index]:
        return value
    if isinstance(value, dict) and edits.index in current:
        found = _edit_object(value, current, edits)
        if found is not None:
            return found
    for candidate in islice(edits.fresh(), _VALUE_TRIES):
        if edits.matching(candidate) == [edits.index]:
            return candidate
    return None


def _edit_object(value: dict[str, Any], current: list[int], edits: Edits) -> dict[str, Any] | None:
    # an edit that narrows the matches is kept even when it does not finish the job
    for name in [n for n in value if edits.optional(n)]:
        trial = {k: v for k, v in value.items() if k != name}
        matched = edits.matching(trial)
        if matched == [edits.index]:
            return trial
        if edits.index in matched and len(matched) < len(current):
            value, current = trial, matched
    for name in edits.declared():
        for candidate in islice(edits.candidates(name), _VALUE_TRIES):
            trial = {**value, name: candidate}
            matched = edits.matching(trial)
            if matched == [edits.index]:
                return trial
            if edits.index in matched and len(matched) < len(current):
                value, current = trial, matched
                break
    return None
