"""Reading and writing a value at a path of object keys inside a JSON value, without changing it."""

from __future__ import annotations

import typing as t

Json = t.Any
ABSENT: t.Any = object()  # as the value to set: leave the key out (the candidate "no such field")


def value_at(value: Json, path: tuple[str, ...]) -> Json:
    """``value[path[0]][path[1]]…``; None where an object is missing on the way."""
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def with_value_at(value: Json, path: tuple[str, ...], item: Json) -> Json:
    """A copy of ``value`` with ``item`` at ``path`` (objects missing on the way made), or without
    the last key of ``path`` when ``item`` is `ABSENT`."""
    if not path:
        return item
    if item is ABSENT and len(path) == 1:
        return {k: v for k, v in value.items() if k != path[0]} if isinstance(value, dict) else value
    base = dict(value) if isinstance(value, dict) else {}
    base[path[0]] = with_value_at(base.get(path[0]), path[1:], item)
    return base
