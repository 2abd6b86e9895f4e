"""Things that apply a limited number of times (faults, rules), counted in the store.

Each item has an ``id`` and ``times`` (None: until removed); `take` hands out the first item a
predicate accepts and counts the use. The uses are the store's own counters (`Store.window_hit`,
one per item), so with a store several processes share, a rule for 2 calls answers 2 calls in
all, whichever replica gets them.

Where the items are kept: a scenario's (rules) are built by every process from the scenario
itself, the same ids in each. Items added through the admin API are kept in this process when
its store is its own, and in the store (``__mocksrv/<kind>`` records) when it is shared, as is the
removal of a scenario's item (a ``__mocksrv/<kind>-removed`` record): the process that changes them
calls ``on_change`` (`MockState` publishes a new world version), and every process reads them again
(`reload`) when it sees the version change.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import typing as t

from mocksrv.state.store import HOME
from mocksrv.state.store import Store


class Counted(t.Protocol):
    id: int
    times: int | None
    remaining: int | None


T = t.TypeVar("T", bound=Counted)


class CountedList(t.Generic[T]):
    kind: t.ClassVar[str]  # "faults", "rules": names their counters and their records in the store

    def __init__(self, store: Store) -> None:
        self._store = store
        self._own: list[T] = []  # a scenario's, and with a store of our own those added too
        self._added: list[T] = []  # added through the admin API to a shared store: its records, as last read
        self._removed: set[int] = set()  # of our own, removed through any process (a shared store only)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._changed: t.Callable[[], None] = lambda: None

    def on_change(self, listener: t.Callable[[], None]) -> None:
        """Call ``listener`` after this process changed the shared items (add, remove, clear)."""
        self._changed = listener

    def revive(self, fields: dict[str, t.Any]) -> T:
        """An item from its stored fields (`dataclasses.asdict` of one)."""
        raise NotImplementedError

    def next_id(self) -> int:
        if not self._store.shared:
            return next(self._ids)
        highest = max((item.id for item in self._live()), default=0)
        return self._store.next_id(HOME, self.kind, start=highest + 1)

    def add(self, item: T) -> T:
        if not self._store.shared:
            with self._lock:
                self._own.append(item)
            return item
        self._store.put(HOME, self.kind, item.id, _stored(item))
        with self._lock:
            self._added.append(item)
        self._changed()
        return item

    def replace(self, items: t.Iterable[T]) -> None:
        """Put ``items`` (built with ids from 1, as every process builds them) in place of this process's own."""
        with self._lock:
            self._own = list(items)
            self._removed = set()
            self._ids = itertools.count(max((item.id for item in self._own), default=0) + 1)

    def reload(self) -> None:
        """Read again the items added through any process (a shared store only)."""
        if self._store.shared:
            added = [self.revive(fields) for fields in self._store.list(HOME, self.kind)[0]]
            removed = {int(fields["id"]) for fields in self._store.list(HOME, self._removals)[0]}
            with self._lock:
                self._added, self._removed = added, removed

    def take(self, accepts: t.Callable[[T], bool]) -> T | None:
        """The first item ``accepts`` holds for and that has uses left, with this use counted."""
        for item in self._live():
            if accepts(item) and (item.times is None or self._store.window_hit(self._counter(item), 0, item.times)[0]):
                return item
        return None

    def all(self) -> list[T]:
        """The items with uses left, each with its ``remaining`` as the store counts it now."""
        left = []
        for item in self._live():
            if item.times is None:
                left.append(item)
                continue
            remaining = item.times - self._store.window_count(self._counter(item), 0)
            if remaining > 0:
                left.append(dataclasses.replace(item, remaining=remaining))  # type: ignore[type-var]
        return left

    def carry(self) -> list[T]:
        """The items with uses left, each for its remaining uses only: what `restore` puts back after
        a scenario load wiped the store (and its counters)."""
        return [dataclasses.replace(item, times=item.remaining) if item.times is not None else item  # type: ignore[type-var]
                for item in self.all()]

    def restore(self, items: list[T]) -> None:
        if not self._store.shared:
            self.replace(items)
            return
        for item in items:
            self._store.put(HOME, self.kind, item.id, _stored(item))
        with self._lock:
            self._added = list(items)

    def remove(self, item_id: int) -> bool:
        if self._store.shared and any(item.id == item_id for item in self._own):
            if item_id in self._removed:
                return False
            self._store.put(HOME, self._removals, item_id, {"id": item_id})
            with self._lock:
                self._removed.add(item_id)
            self._changed()
            return True
        with self._lock:
            before = len(self._own)
            self._own = [item for item in self._own if item.id != item_id]
            if len(self._own) < before:
                return True
        if not self._store.shared or not self._store.delete(HOME, self.kind, item_id):
            return False
        with self._lock:
            self._added = [item for item in self._added if item.id != item_id]
        self._changed()
        return True

    def clear(self) -> None:
        if not self._store.shared:
            with self._lock:
                self._own.clear()
            return
        ours = [item.id for item in self._live() if item in self._own]
        for item_id in ours:
            self._store.put(HOME, self._removals, item_id, {"id": item_id})
        stored = self._store.list(HOME, self.kind)[0]
        gone = [self._store.delete(HOME, self.kind, fields["id"]) for fields in stored]
        with self._lock:
            self._added = []
            self._removed.update(ours)
        if ours or any(gone):
            self._changed()

    def _live(self) -> list[T]:
        with self._lock:
            return [item for item in self._own if item.id not in self._removed] + self._added

    @property
    def _removals(self) -> str:
        return f"{self.kind}-removed"

    def _counter(self, item: T) -> str:
        return f"{self.kind}:{item.id}"


def _stored(item: Counted) -> dict[str, t.Any]:
    return dataclasses.asdict(item)  # type: ignore[call-overload, no-any-return]
