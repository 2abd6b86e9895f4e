"""Pack a JSON record into the bytes the store keeps at rest, and back.

Records of one collection nearly always share their keys, in the same order: every MaxCare
email has the same fourteen. Written out as a JSON object, those keys are ~40 % of each
record's bytes. So a record whose key sequence (its *shape*) is known is packed as a JSON
array: the shape's number, then the values, in order::

    {"id": "eml_1", "status": "sent"}   →   [0,"eml_1","sent"]     shape 0 = ("id", "status")

A 408-byte email becomes 239 bytes; at 100 000 records that is ~16 MB less. Nested objects
stay JSON objects; only the record's own keys are factored out. The shapes are kept for the
life of the process (packed bytes never leave it: the store's log file holds plain JSON,
`as_json`). Past `MAX_SHAPES` distinct shapes (records with ever-new keys) a record is
packed as its JSON object instead, so the table of shapes stays bounded.

This is a plain-Python step on purpose: a compressor would shrink records further, but
every one at hand lets go of the GIL, which costs the server more than it saves
(docs/performance.md).

>>> packed = pack({"id": "eml_1", "status": "sent"})
>>> unpack(packed)
{'id': 'eml_1', 'status': 'sent'}
"""

from __future__ import annotations

import json
import threading
import typing as t

__all__ = ["MAX_SHAPES", "PackedRecord", "as_json", "pack", "strict_json", "unpack"]

PackedRecord = t.NewType("PackedRecord", bytes)  # a record at rest, as `pack` made it
Record = dict[str, t.Any]

MAX_SHAPES = 4096

_shapes: list[tuple[str, ...]] = []  # a shape's number is its index
_numbers: dict[tuple[str, ...], int] = {}
_adding = threading.Lock()

# compact and strict (no NaN, no infinity): what the store keeps and what its log file holds
strict_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def pack(record: Record) -> PackedRecord:
    """``record`` (a dict) as compact UTF-8 JSON, with its keys factored out when its shape is known.

    :raise TypeError, ValueError: ``record`` holds something JSON has not (sets, objects, NaN …).
    """
    number = _number_of(tuple(record))
    if number is None:
        return PackedRecord(strict_json(record).encode())
    return PackedRecord(strict_json([number, *record.values()]).encode())


def unpack(packed: PackedRecord) -> Record:
    """The record ``packed`` holds, as fresh objects."""
    value = json.loads(packed)
    if type(value) is dict:
        return value
    values = iter(value)
    return dict(zip(_shapes[next(values)], values, strict=True))


def as_json(packed: PackedRecord) -> str:
    """The record's JSON object text, as the store's log file keeps it."""
    if packed[:1] == b"{":
        return packed.decode()
    return strict_json(unpack(packed))


def _number_of(keys: tuple[t.Any, ...]) -> int | None:
    """The number of the shape ``keys``, given one now if there is room; ``None`` to pack as an object."""
    number = _numbers.get(keys)
    if number is not None or len(keys) < 2:  # a record of one key has nothing to factor out
        return number
    if not all(type(key) is str for key in keys):  # json would turn 1 into "1": keep that as it was
        return None
    with _adding:
        number = _numbers.get(keys)
        if number is None and len(_shapes) < MAX_SHAPES:
            number = len(_shapes)
            _shapes.append(keys)  # before it can be found: a reader of the number finds the shape
            _numbers[keys] = number
    return number
