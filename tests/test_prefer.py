"""Prefer header parsing."""

from __future__ import annotations

import pytest

from mocksrv.engine.prefer import Preferences
from mocksrv.engine.prefer import parse_prefer
from mocksrv.errors import MockControlError


@pytest.mark.parametrize("header, expected", [
    (None, Preferences()),
    ("code=404", Preferences(code=404)),
    ('code=200, example="bulk", dynamic=true', Preferences(code=200, example="bulk", dynamic=True)),
    ("respond-async; dynamic=FALSE", Preferences(dynamic=False)),
    ("wait=10", Preferences()),
])
def test_parse(header: str | None, expected: Preferences) -> None:
    assert parse_prefer(header) == expected


@pytest.mark.parametrize("header", ["code=abc", "code=99", "code=600", "dynamic=maybe"])
def test_bad_values_are_400(header: str) -> None:
    with pytest.raises(MockControlError):
        parse_prefer(header)
