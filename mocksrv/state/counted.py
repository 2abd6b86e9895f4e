"""A thread-safe list of things that apply a limited number of times (faults, rules).

Each item has an ``id`` and a ``remaining`` count (None: until removed); `take` hands out
the first item a predicate accepts and counts the use, dropping the item when it is used up.
"""

from __future__ import annotations

import itertools
import threading
import typing as t


class Counted(t.Protocol):
    id: int
    remaining: int | None


T = t.TypeVar("T", bound=Counted)


class CountedList(t.Generic[T]):
    def __init__(self) -> None:
        self._items: list[T] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, item: T) -> T:
        with self._lock:
            self._items.append(item)
        return item

    def replace(self, items: t.Iterable[T]) -> None:
        with self._lock:
            self._items = list(items)

    def take(self, accepts: t.Callable[[T], bool]) -> T | None:
        """The first item ``accepts`` holds for, with this use counted against its ``remaining``."""
        with self._lock:
            for item in self._items:
                if accepts(item):
                    if item.remaining is not None:
                        item.remaining -= 1
                        if item.remaining == 0:
                            self._items.remove(item)
                    return item
        return None

    def all(self) -> list[T]:
        with self._lock:
            return list(self._items)

    def remove(self, item_id: int) -> bool:
        with self._lock:
            before = len(self._items)
            self._items = [item for item in self._items if item.id != item_id]
            return len(self._items) < before

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
