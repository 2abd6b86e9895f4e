"""Strings: formats (email, uuid, date-time …), regex patterns (through rstr, made
deterministic and readable), lengths; a format yields to the length rules when both cannot hold."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import itertools
import re
import string
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from random import Random
from types import MappingProxyType
from typing import Any

from rstr.xeger import Xeger

from mocksrv.engine.generator.numbers import int_limits

WORDS = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
    "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "yankee",
)
_PATTERN_TRIES = 10
_REPEAT_CAP = 8  # keeps `.*`-style patterns short instead of rstr's 100 repeats


def python_regex(pattern: str) -> str:
    """ECMA named groups `(?<n>...)` in Python spelling; other ECMA-only syntax stays as is."""
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)


def search(pattern: str, text: str) -> bool:
    try:
        return re.search(python_regex(pattern), text) is not None
    except re.error:
        return False



# --------------------------------------------------------------------------- regex strings


# `.` and negated classes draw from this: readable, no control characters
_ANY_CHARS = string.ascii_letters + string.digits + string.punctuation + " "


class _Xeger(Xeger):
    """rstr's Xeger, made hash-seed independent, readable, and with short repeats."""

    def __init__(self, rng: Random, repeat_cap: int) -> None:
        super().__init__(rng)
        self._repeat_cap = repeat_cap
        self._cases = {**self._cases, "any": lambda _: self._random.choice(_ANY_CHARS)}

    def _handle_in(self, value: Any) -> Any:
        candidates = list(itertools.chain(*(self._handle_state(i) for i in value)))
        if candidates and candidates[0] is False:
            # upstream iterates a set here, whose order varies per process
            candidates = sorted(set(_ANY_CHARS).difference(candidates[1:])) or sorted(
                set(string.printable).difference(candidates[1:])
            )
        return self._random.choice(candidates)

    def _handle_repeat(self, start_range: int, end_range: int, value: str) -> str:
        end_range = min(end_range, max(start_range, self._repeat_cap))
        times = self._random.randint(start_range, end_range)
        return "".join("".join(self._handle_state(i) for i in value) for _ in range(times))


def _end_anchored(pattern: str) -> bool:
    return pattern.endswith("\\Z") or (pattern.endswith("$") and not pattern.endswith("\\$"))


# --------------------------------------------------------------------------- formats


def _word(rng: Random) -> str:
    return rng.choice(WORDS)


def _datetime(rng: Random) -> dt.datetime:
    return dt.datetime(
        rng.randint(2000, 2030), rng.randint(1, 12), rng.randint(1, 28),
        rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
    )


def _b64(rng: Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size)).decode("ascii")


_FORMATS: Mapping[str, Callable[[Random], str]] = MappingProxyType({
    "email": lambda r: f"{_word(r)}{r.randint(1, 99)}@example.com",
    "idn-email": lambda r: f"{_word(r)}{r.randint(1, 99)}@example.com",
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "date-time": lambda r: _datetime(r).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "date": lambda r: _datetime(r).strftime("%Y-%m-%d"),
    "duration": lambda r: f"P{r.randint(1, 30)}DT{r.randint(0, 23)}H",
    "uri": lambda r: f"https://example.com/{_word(r)}/{r.randint(1, 999)}",
    "url": lambda r: f"https://example.com/{_word(r)}/{r.randint(1, 999)}",
    "iri": lambda r: f"https://example.com/{_word(r)}/{r.randint(1, 999)}",
    "uri-reference": lambda r: f"/{_word(r)}/{r.randint(1, 999)}",
    "iri-reference": lambda r: f"/{_word(r)}/{r.randint(1, 999)}",
    "uri-template": lambda r: f"https://example.com/{_word(r)}/{{id}}",
    "hostname": lambda r: f"{_word(r)}{r.randint(1, 99)}.example.com",
    "idn-hostname": lambda r: f"{_word(r)}{r.randint(1, 99)}.example.com",
    "ipv4": lambda r: str(ipaddress.IPv4Address(r.getrandbits(32))),
    "ipv6": lambda r: str(ipaddress.IPv6Address(r.getrandbits(128))),
    "byte": lambda r: _b64(r, r.randint(3, 12)),
    "binary": lambda r: _b64(r, r.randint(3, 9)),  # short, and base64 so strict checkers agree
    "password": lambda r: "".join(r.choice(string.ascii_letters + string.digits) for _ in range(12)),
    "int32": lambda r: str(r.randint(1, 10**6)),
    "int64": lambda r: str(r.randint(1, 10**9)),
    "float": lambda r: f"{r.uniform(0, 1000):.2f}",
    "double": lambda r: f"{r.uniform(0, 1000):.2f}",
    "decimal": lambda r: f"{r.uniform(0, 1000):.2f}",
    "regex": lambda r: "^[a-z]+$",
    "json-pointer": lambda r: f"/{_word(r)}/{r.randint(0, 9)}",
    "relative-json-pointer": lambda r: f"0/{_word(r)}",
})


def _fit_format(fmt: str, length: int) -> str | None:
    """A value of `fmt` with exactly `length` characters, when one is easy to build."""
    if fmt in ("email", "idn-email"):
        for suffix in ("@example.com", "@ex.io", "@x"):
            if length - len(suffix) >= 1:
                return "a" * (length - len(suffix)) + suffix
        return None
    if fmt in ("uri", "url", "iri"):
        base = "https://example.com/"
        if length >= len(base):
            return base + "a" * (length - len(base))
        return "x:" + "a" * (length - 2) if length >= 3 else None
    if fmt in ("uri-reference", "iri-reference", "password"):
        return "a" * length
    if fmt in ("hostname", "idn-hostname"):
        if not 1 <= length <= 253:
            return None
        text = "".join("." if i % 64 == 63 else "a" for i in range(length))
        return text if not text.endswith(".") else text[:-1] + "a"
    if fmt in ("byte", "binary"):
        return _b64_of_length(length)
    if fmt in ("int32", "int64"):
        return ("1" + "0" * (length - 1)) if length >= 1 else None
    return None


def _b64_of_length(length: int) -> str | None:
    if length % 4:
        return None
    return base64.b64encode(b"\x00" * (length // 4 * 3)).decode("ascii")


def text(schemas: Sequence[Mapping[str, Any]], rng: Random, format_checker: Any) -> str:
    low = int_limits([s.get("minLength") for s in schemas], max) or 0
    high = int_limits([s.get("maxLength") for s in schemas], min)
    patterns = [s["pattern"] for s in schemas if isinstance(s.get("pattern"), str)]
    formats = [s["format"] for s in schemas if isinstance(s.get("format"), str)]
    fmt = formats[0] if formats else None
    if patterns:
        return pattern_string(patterns, fmt, low, high, rng, format_checker)
    if fmt is not None:
        value = format_string(fmt, rng, format_checker)
        if value is not None:
            if low <= len(value) and (high is None or len(value) <= high):
                return value
            # the length rules win over the format when both cannot hold
            fitted = _fit_format(fmt, low if len(value) < low else (high or 0))
            if fitted is not None:
                return fitted
    return plain_string(low, high, rng)


def format_string(fmt: str, rng: Random, format_checker: Any) -> str | None:
    if fmt == "time":
        # jsonschema's shared checker may use either partial-time or RFC 3339 full-time
        clock = _datetime(rng).strftime("%H:%M:%S")
        for value in (clock, clock + "Z"):
            if format_checker.conforms(value, "time"):
                return value
        return clock
    make = _FORMATS.get(fmt)
    return make(rng) if make is not None else None


def plain_string(low: int, high: int | None, rng: Random) -> str:
    words = [rng.choice(WORDS)]
    size = len(words[0])
    while size < low:
        words.append(rng.choice(WORDS))
        size += len(words[-1]) + 1
    text = " ".join(words)
    return text[:high] if high is not None else text


def pattern_string(
    patterns: list[str], fmt: str | None, low: int, high: int | None, rng: Random, format_checker: Any
) -> str:
    """Regex-driven string; patterns are unanchored, so containing a match is enough."""

    def acceptable(text: str) -> bool:
        return low <= len(text) and (high is None or len(text) <= high) and all(
            search(p, text) for p in patterns
        )

    if fmt is not None:
        formatted = format_string(fmt, rng, format_checker)
        if formatted is not None and acceptable(formatted):
            return formatted
    cap = max(_REPEAT_CAP, low)
    if high is not None:
        cap = max(1, min(cap, high))
    last: str | None = None
    for _ in range(_PATTERN_TRIES):
        try:
            text = _Xeger(rng, cap).xeger(python_regex(patterns[0]))
        except Exception:  # sre cannot parse some ECMA-only syntax; fall back below
            break
        if len(text) < low and not _end_anchored(patterns[0]):
            text += plain_string(low - len(text), None, rng).replace(" ", "")[: low - len(text)]
        last = text
        if acceptable(text):
            return text
        if high is not None and len(text) > high:
            cap = max(1, cap // 2)
        elif len(text) < low:
            cap *= 2
    # clear fallback: the closest attempt, or a plain string honouring the lengths
    return last if last is not None else plain_string(low, high, rng)
