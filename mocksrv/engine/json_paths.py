"""Reading and writing a value at a path of object keys inside a JSON value, without changing it."""

from __future__ import annotations

import typing as t

Json = t.Any


def value_at(value: Json, path: tuple[str, ...]) -> Json:
    """``value[path[0]][path[1]]…``; None where an object is missing on the way."""
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def with_value_at(value: Json, path: tuple[str, ...], item: Json) -> Json:
    """A copy of ``value`` with ``item`` at ``path`` (objects missing on the way made)."""
    if not path:
        return item
    base = dict(value) if isinstance(value, dict) else {}
    base[path[0]] = with_value_at(base.get(path[0]), path[1:], item)
    return base
