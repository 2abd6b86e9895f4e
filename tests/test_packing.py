"""Records packed at rest: every JSON object comes back as it went in, key order included, in less memory."""

from __future__ import annotations

import json
import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mocksrv.state import packing

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
RECORDS = st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=8)


def email(index: int) -> dict[str, t.Any]:
    return {"id": f"eml_{index:032x}", "recipientEmail": f"p{index}@example.com", "status": "sent",
            "subject": f"Subject {index}", "scheduledAt": None, "createdAt": "2026-03-25 09:59:58.891+00"}


@given(RECORDS)
def test_any_record_comes_back_equal_with_its_keys_in_order(record: dict[str, t.Any]) -> None:
    back = packing.unpack(packing.pack(record))
    assert back == record and list(back) == list(record)


@given(RECORDS)
def test_the_log_file_gets_the_records_json_object(record: dict[str, t.Any]) -> None:
    assert json.loads(packing.as_json(packing.pack(record))) == record


def test_records_of_one_shape_are_packed_without_their_keys() -> None:
    first, second = packing.pack(email(1)), packing.pack(email(2))
    plain = json.dumps(email(2), separators=(",", ":")).encode()
    assert b"recipientEmail" not in second and len(second) < 0.75 * len(plain)
    assert first[:first.index(b",")] == second[:second.index(b",")]  # the same shape number


def test_numeric_keys_turn_into_strings_as_json_has_them() -> None:
    assert packing.unpack(packing.pack({1: "a", "b": 2})) == {"1": "a", "b": 2}  # type: ignore[dict-item]


def test_not_json_is_refused() -> None:
    with pytest.raises(ValueError):
        packing.pack({"a": float("nan"), "b": 1})
    with pytest.raises(TypeError):
        packing.pack({"a": {1, 2}, "b": 1})


def test_past_the_last_shape_records_are_packed_as_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packing, "MAX_SHAPES", 0)  # the table is full
    record = {"never": 1, "seen": [2], "before": {"x": None}}
    packed = packing.pack(record)
    assert packed.startswith(b"{") and packing.unpack(packed) == record
