"""Integers and numbers inside their bounds (3.0 boolean and 3.1 numeric exclusive bounds,
``multipleOf`` as exact fractions, the integer formats' ranges), and length limits."""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from random import Random
from types import MappingProxyType
from typing import Any

INT_FORMAT_RANGES = MappingProxyType({"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)})
WINDOW = 1000  # default span for unbounded numbers


@dataclass(frozen=True)
class _Limit:
    value: Fraction
    exclusive: bool


def num(value: Any) -> int | float | None:
    """A usable JSON number, or None (bools and non-finite floats are not bounds)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fraction(value: int | float) -> Fraction:
    # repr() keeps the decimal the author wrote (0.1 stays 1/10, not 0.1000000000000000055...)
    return Fraction(value) if isinstance(value, int) else Fraction(repr(value))


def _tighter_low(a: _Limit | None, b: _Limit) -> _Limit:
    if a is None or b.value > a.value or (b.value == a.value and b.exclusive):
        return b
    return a


def _tighter_high(a: _Limit | None, b: _Limit) -> _Limit:
    if a is None or b.value < a.value or (b.value == a.value and b.exclusive):
        return b
    return a


def _within(value: int | float, low: _Limit | None, high: _Limit | None) -> bool:
    exact = Fraction(value)
    if low is not None and (exact < low.value or (low.exclusive and exact == low.value)):
        return False
    if high is not None and (exact > high.value or (high.exclusive and exact == high.value)):
        return False
    return True


def _multiple_ok(value: int | float, divisor: int | float) -> bool:
    """Same arithmetic as jsonschema's multipleOf, so float rounding agrees."""
    if isinstance(divisor, float):
        try:
            quotient = value / divisor
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(value) / Fraction(divisor)).denominator == 1
    return not value % divisor


def _lcm(values: Sequence[Fraction]) -> Fraction:
    result = values[0]
    for value in values[1:]:
        result = Fraction(
            math.lcm(result.numerator, value.numerator), math.gcd(result.denominator, value.denominator)
        )
    return result


def int_limits(values: Sequence[Any], pick: Callable[..., int]) -> int | None:
    ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return pick(ints) if ints else None


def limits(schemas: Sequence[Mapping[str, Any]], v31: bool) -> tuple[_Limit | None, _Limit | None]:
    low: _Limit | None = None
    high: _Limit | None = None
    for schema in schemas:
        minimum, maximum = num(schema.get("minimum")), num(schema.get("maximum"))
        if v31:
            if minimum is not None:
                low = _tighter_low(low, _Limit(Fraction(minimum), False))
            if maximum is not None:
                high = _tighter_high(high, _Limit(Fraction(maximum), False))
            ex_min, ex_max = num(schema.get("exclusiveMinimum")), num(schema.get("exclusiveMaximum"))
            if ex_min is not None:
                low = _tighter_low(low, _Limit(Fraction(ex_min), True))
            if ex_max is not None:
                high = _tighter_high(high, _Limit(Fraction(ex_max), True))
        else:  # 3.0: exclusiveMinimum/Maximum are booleans modifying minimum/maximum
            if minimum is not None:
                low = _tighter_low(low, _Limit(Fraction(minimum), schema.get("exclusiveMinimum") is True))
            if maximum is not None:
                high = _tighter_high(high, _Limit(Fraction(maximum), schema.get("exclusiveMaximum") is True))
    return low, high


def divisors_of(schemas: Sequence[Mapping[str, Any]]) -> list[int | float]:
    found = [num(s.get("multipleOf")) for s in schemas]
    return [d for d in found if d is not None and d > 0]


def integer(schemas: Sequence[Mapping[str, Any]], rng: Random, v31: bool) -> int:
    low, high = limits(schemas, v31)
    lo = None if low is None else (math.floor(low.value) + 1 if low.exclusive else math.ceil(low.value))
    hi = None if high is None else (math.ceil(high.value) - 1 if high.exclusive else math.floor(high.value))
    divisors = divisors_of(schemas)
    # an integer multiple of every divisor is a multiple of lcm(divisors..., 1)
    step = int(_lcm([_fraction(d) for d in divisors] + [Fraction(1)]))
    window = max(WINDOW, step * 10)
    if lo is None and hi is None:
        lo, hi = 1, window
    elif lo is None:
        assert hi is not None
        lo = 1 if hi >= 1 + window // 2 else hi - window
    elif hi is None:
        hi = lo + window
    for schema in schemas:  # after the default window, so unbounded int64 ids stay small
        fmt = schema.get("format")
        span = INT_FORMAT_RANGES.get(fmt) if isinstance(fmt, str) else None
        if span is not None:
            lo, hi = max(lo, span[0]), min(hi, span[1])
    if lo > hi:
        return lo  # unsatisfiable range
    k_lo, k_hi = -(-lo // step), hi // step
    if k_lo > k_hi:
        return lo
    value = k_lo * step
    for _ in range(8):
        value = rng.randint(k_lo, k_hi) * step
        if all(_multiple_ok(value, d) for d in divisors):
            return value
    return value


def number(schemas: Sequence[Mapping[str, Any]], rng: Random, v31: bool) -> int | float:
    low, high = limits(schemas, v31)
    lo = low.value if low is not None else None
    hi = high.value if high is not None else None
    if lo is None and hi is None:
        lo, hi = Fraction(0), Fraction(WINDOW)
    elif lo is None:
        assert hi is not None
        lo = min(Fraction(0), hi - WINDOW)
    elif hi is None:
        hi = max(lo, Fraction(0)) + WINDOW
    divisors = divisors_of(schemas)
    if divisors:
        return _number_multiple(divisors, lo, hi, low, high, rng)
    fallback: float = float((lo + hi) / 2)
    for digits in (2, 6, None):
        value = rng.uniform(float(lo), float(hi))
        value = round(value, digits) if digits is not None else value
        if _within(value, low, high):
            return value
    return fallback


def _number_multiple(
    divisors: list[int | float],
    lo: Fraction,
    hi: Fraction,
    low: _Limit | None,
    high: _Limit | None,
    rng: Random,
) -> int | float:
    step = _lcm([_fraction(d) for d in divisors])
    k_lo, k_hi = math.ceil(lo / step), math.floor(hi / step)
    if k_lo > k_hi:
        k_hi = k_lo

    def make(k: int) -> int | float:
        exact = k * step
        return int(exact) if exact.denominator == 1 else float(exact)

    value = make(k_lo)
    for attempt in range(8):
        value = make(rng.randint(k_lo, k_hi))
        if attempt < 4 and step.denominator > 1 and isinstance(value, int):
            continue  # a fractional step means the author expects fractions (and oneOf vs integer)
        if _within(value, low, high) and all(_multiple_ok(value, d) for d in divisors):
            return value
    for k in (k_lo + 1, k_hi - 1, 0):  # exclusive bounds may reject the ends
        candidate = make(k)
        if _within(candidate, low, high) and all(_multiple_ok(candidate, d) for d in divisors):
            return candidate
    return value
