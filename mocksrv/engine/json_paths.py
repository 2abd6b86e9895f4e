"""Reading and writing a value at a path inside a JSON value, without changing it: object keys, and
array indices where a path steps into an array."""

from __future__ import annotations

import typing as t

Json = t.Any
JsonPath = tuple[str | int, ...]
ABSENT: t.Any = object()  # as the value to set: leave the key out (the candidate "no such field")


def value_at(value: Json, path: tuple[str, ...]) -> Json:
    """``value[path[0]][path[1]]…``; None where an object is missing on the way."""
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def with_value_at(value: Json, path: JsonPath, item: Json) -> Json:
    """A copy of ``value`` with ``item`` at ``path`` (objects missing on the way made; an integer steps
    into an array that is there), or without the last key of ``path`` when ``item`` is `ABSENT`."""
    if not path:
        return item
    if isinstance(value, list) and isinstance(path[0], int):
        return [with_value_at(each, path[1:], item) if index == path[0] else each for index, each in enumerate(value)]
    if item is ABSENT and len(path) == 1:
        return {k: v for k, v in value.items() if k != path[0]} if isinstance(value, dict) else value
    base = dict(value) if isinstance(value, dict) else {}
    base[path[0]] = with_value_at(base.get(path[0]), path[1:], item)
    return base


def paths_to(value: Json, wanted: set[str], at: JsonPath = ()) -> list[JsonPath]:
    """Where in ``value`` the strings of ``wanted`` are."""
    if isinstance(value, str):
        return [at] if value in wanted else []
    if isinstance(value, dict):
        return [path for key, each in value.items() for path in paths_to(each, wanted, (*at, key))]
    if isinstance(value, list):
        return [path for index, each in enumerate(value) for path in paths_to(each, wanted, (*at, index))]
    return []
