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

__all__ = ["Edits", "Lessons", "exclusive"]

_VALUE_TRIES = 8  # candidate values per property (or whole values) before moving on
_GIVE_UP = 2  # failures after which a branch is no longer edited (its values stay as made)
_LESSONS_LIMIT = 4096


@dataclass(frozen=True)
class Edits:
    """What `exclusive` may do to a value of branch ``index``; each callable is the generator's."""

    index: int
    matching: Callable[[Any], list[int]]  # the branches the value is valid under, on its own
    optional: Callable[[str], bool]  # a property the branch (and its holder) may leave out
    declared: Callable[[], Iterable[str]]  # property names the branch allows, declared ones first
    candidates: Callable[[str], Iterator[Any]]  # fresh values for a property, valid under the branch's schema
    fresh: Callable[[], Iterator[Any]]  # fresh whole values of the branch


class Lessons:
    """What telling a branch apart taught, per holder schema, branch and direction: the property
    whose new value did it (tried first next time), or how often nothing did; a branch that
    failed twice is left as made, so a spec whose branches overlap pays for the search twice."""

    def __init__(self) -> None:
        # (id(holder), branch, direction) -> (the holder, kept so its id stays its own; the property; failures)
        self._seen: dict[tuple[int, int, str], tuple[Any, str, int]] = {}

    def _get(self, holder: Any, index: int, direction: str) -> tuple[str, int]:
        hit = self._seen.get((id(holder), index, direction))
        return (hit[1], hit[2]) if hit is not None and hit[0] is holder else ("", 0)

    def first(self, holder: Any, index: int, direction: str) -> str:
        """The property that told this branch apart last time ("" when none did, or by other means)."""
        return self._get(holder, index, direction)[0]

    def hopeless(self, holder: Any, index: int, direction: str) -> bool:
        return self._get(holder, index, direction)[1] >= _GIVE_UP

    def learn(self, holder: Any, index: int, direction: str, how: str | None, *, once: bool = False) -> None:
        """``how``: the property changed, "" for another edit, None when nothing worked (``once``: give
        up at the first failure, for a search that was only a bonus)."""
        name, failures = self._get(holder, index, direction)
        if len(self._seen) >= _LESSONS_LIMIT:
            self._seen.clear()
        failed = 0 if how is not None else _GIVE_UP if once else failures + 1
        self._seen[(id(holder), index, direction)] = (holder, name if how is None else how, failed)


def exclusive(value: Any, edits: Edits) -> tuple[Any, str] | None:
    """``value`` (or an edit of it) that only branch ``edits.index`` takes, and the property whose
    change did it ("" for other edits); None when none was found."""
    current = edits.matching(value)
    if current == [edits.index]:
        return value, ""
    if isinstance(value, dict) and edits.index in current:
        found = _edit_object(value, current, edits)
        if found is not None:
            return found
    for candidate in islice(edits.fresh(), _VALUE_TRIES):
        if edits.matching(candidate) == [edits.index]:
            return candidate, ""
    return None


def _edit_object(value: dict[str, Any], current: list[int], edits: Edits) -> tuple[dict[str, Any], str] | None:
    # an edit that narrows the matches is kept even when it does not finish the job
    for name in [n for n in value if edits.optional(n)]:
        trial = {k: v for k, v in value.items() if k != name}
        matched = edits.matching(trial)
        if matched == [edits.index]:
            return trial, ""
        if edits.index in matched and len(matched) < len(current):
            value, current = trial, matched
    for name in edits.declared():
        for candidate in islice(edits.candidates(name), _VALUE_TRIES):
            trial = {**value, name: candidate}
            matched = edits.matching(trial)
            if matched == [edits.index]:
                return trial, name
            if edits.index in matched and len(matched) < len(current):
                value, current = trial, matched
                break
    return None
