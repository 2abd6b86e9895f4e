"""Generate a fake JSON value that validates against an OpenAPI 3.0/3.1 Schema Object.

The one job of this module: given a Schema Object (plus a ``referencing``
resolver for ``$ref``), deterministically synthesise a value for a seed, such
that the value validates against the schema with openapi-schema-validator.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import ipaddress
import itertools
import json
import logging
import math
import re
import string
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from fractions import Fraction
from random import Random
from types import MappingProxyType
from typing import TYPE_CHECKING
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import OAS31Validator
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012
from rstr.xeger import Xeger

if TYPE_CHECKING:  # referencing exports Resolver only from its _core module
    from referencing._core import Resolver

__all__ = ["SchemaGenerator"]

_DIRECTIONS = ("response", "request")
_NEUTRAL = "neutral"
_TYPE_ORDER = ("object", "array", "string", "integer", "number", "boolean", "null")
_WORDS = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
    "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "yankee",
)
_OBJECT_KEYS = frozenset({
    "properties", "required", "additionalProperties", "patternProperties",
    "minProperties", "maxProperties", "discriminator",
})
_ARRAY_KEYS = frozenset({"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"})
_STRING_KEYS = frozenset({"pattern", "minLength", "maxLength"})
_NUMBER_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_INT_FORMAT_RANGES = MappingProxyType({"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)})
_MINIMAL: Mapping[str, Callable[[], Any]] = MappingProxyType({
    "object": dict, "array": list, "string": str, "integer": int, "number": int, "boolean": bool,
})

log = logging.getLogger(__name__)

_MAX_HOPS = 32  # oneOf/anyOf re-entries at one nesting level before giving up (A: oneOf [A])
_HARD_EXTRA = 4  # levels past max_depth after which objects/arrays are emptied outright
_NODE_BUDGET = 2000  # values per generate() call before switching to "required only" mode
_PATTERN_TRIES = 10
_NOT_TRIES = 5
_TOP_TRIES = 3
_UNIQUE_TRIES = 5
_ENUM_TRIES = 20
_REPEAT_CAP = 8  # keeps `.*`-style patterns short instead of rstr's 100 repeats
_CACHE_LIMIT = 4096
_WINDOW = 1000  # default span for unbounded numbers

_MISSING = object()


# --------------------------------------------------------------------------- validators


def _has_flag(schema: Any, flag: str, resolver: Resolver[Any] | None, depth: int = 0) -> bool:
    """Whether readOnly/writeOnly is set on a schema, following $ref and allOf."""
    if not isinstance(schema, Mapping) or depth > 16:
        return False
    if schema.get(flag) is True:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and resolver is not None:
        try:
            resolved = resolver.lookup(ref)
        except Unresolvable:
            return False
        if _has_flag(resolved.contents, flag, resolved.resolver, depth + 1):
            return True
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        return any(_has_flag(sub, flag, resolver, depth + 1) for sub in all_of)
    return False


def _required_keyword(flag: str) -> Callable[[Any, Any, Any, Any], Iterator[ValidationError]]:
    """`required` that skips properties hidden in this direction (OpenAPI semantics)."""

    def required(validator: Any, names: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object") or not isinstance(names, list):
            return
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        resolver = getattr(validator, "_resolver", None)
        for name in names:
            if name in instance:
                continue
            if name in props and _has_flag(props[name], flag, resolver):
                continue
            yield ValidationError(f"{name!r} is a required property")

    return required


def _forbid_keyword(flag: str) -> Callable[[Any, Any, Any, Any], Iterator[ValidationError]]:
    """Reject values under a schema that must not appear in this direction."""

    def forbid(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if value is True:
            yield ValidationError(f"{flag} value must not be present here")

    return forbid


def _hidden_flag(direction: str) -> str:
    """The flag whose properties are left out in this direction."""
    return "writeOnly" if direction == "response" else "readOnly"


def _validator_classes(base: Any, *, directional: bool) -> Mapping[str, Any]:
    """Direction-aware validator classes (like OAS30Read/WriteValidator).

    Only for 3.0: in 3.1 readOnly/writeOnly are JSON Schema annotations, and openapi-core
    (our source of truth) validates 3.1 with the plain validator, so a required writeOnly
    property is required in responses too.
    """
    classes = {_NEUTRAL: base}
    for direction in _DIRECTIONS:
        flag = _hidden_flag(direction)
        classes[direction] = (
            extend(base, {"required": _required_keyword(flag), flag: _forbid_keyword(flag)}) if directional else base
        )
    return MappingProxyType(classes)


_CLASSES = MappingProxyType({
    "3.0": _validator_classes(OAS30Validator, directional=True),
    "3.1": _validator_classes(OAS31Validator, directional=False),
})


# --------------------------------------------------------------------------- small helpers


@dataclass(frozen=True)
class _Bound:
    """A schema together with the resolver its relative $refs resolve against."""

    schema: Any
    resolver: Resolver[Any]
    synthetic: bool = False  # built by us (discriminator), never validated or cached


@dataclass
class _Budget:
    remaining: int


@dataclass(frozen=True)
class _Ctx:
    rng: Random
    direction: str
    depth: int
    hops: int
    handled: frozenset[tuple[int, str]]  # (id(schema), "oneOf"/"anyOf") already expanded
    budget: _Budget
    examples: bool
    lean: bool = False  # omit optional properties at this level (retry after XOR-style failures)


@dataclass(frozen=True)
class _Limit:
    value: Fraction
    exclusive: bool


def _num(value: Any) -> int | float | None:
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


def _python_regex(pattern: str) -> str:
    """ECMA named groups `(?<n>...)` in Python spelling; other ECMA-only syntax stays as is."""
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(_python_regex(pattern), text) is not None
    except re.error:
        return False


def _canon(value: Any) -> Any:
    """Key for uniqueItems: 1 == 1.0 but True != 1, as in JSON Schema."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canon(item) for item in value]
    if isinstance(value, dict):
        return {key: _canon(item) for key, item in value.items()}
    return value


def _unique_key(value: Any) -> str:
    return json.dumps(_canon(value), sort_keys=True, default=str)


def _jsonable(value: Any) -> Any:
    """YAML loaders turn example dates into date objects; compare them as strings."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value


def _ref_name(ref: str) -> str:
    return ref.rstrip("/").rsplit("/", 1)[-1]


def _int_limits(values: Sequence[Any], pick: Callable[..., int]) -> int | None:
    ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return pick(ints) if ints else None


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
    return rng.choice(_WORDS)


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


# --------------------------------------------------------------------------- generator


class SchemaGenerator:
    """Deterministic fake-value generator for OpenAPI Schema Objects."""

    def __init__(
        self,
        resolver: Resolver[Any],
        *,
        openapi_version: str,
        use_examples: bool = True,
        max_depth: int = 8,
    ) -> None:
        if openapi_version.startswith("3.0"):
            self._version = "3.0"
        elif openapi_version.startswith("3.1"):
            self._version = "3.1"
        else:
            raise ValueError(f"unsupported OpenAPI version {openapi_version!r} (expected 3.0 or 3.1)")
        self._v31 = self._version == "3.1"
        self._resolver = resolver
        self._use_examples = use_examples
        self._max_depth = max(0, max_depth)
        self._classes = _CLASSES[self._version]
        self._format_checker: Any = self._classes[_NEUTRAL].FORMAT_CHECKER
        # (id(schema), kind) -> (schema, validator); holding the schema keeps its id unique.
        # A schema object belongs to one document, so its base URI needn't be in the key.
        self._validators: dict[tuple[int, str], tuple[Any, Any]] = {}
        self._unsatisfied: dict[int, Any] = {}  # schemas no valid value was found for, told once

    # ------------------------------------------------------------------ public

    def generate(
        self,
        schema: Mapping[str, Any] | bool,
        rng: Random,
        *,
        direction: str = "response",
        resolver: Resolver[Any] | None = None,
    ) -> Any:
        """A value for `schema` (deterministic for the rng's state) that validates against it.

        `direction` "response" leaves out writeOnly properties, "request" readOnly ones.
        `resolver` is the one `schema`'s own $refs resolve against, when it comes from
        another file than the generator's document.
        Unsatisfiable schemas get a best-effort value; a broken $ref raises
        ``referencing.exceptions.Unresolvable``.
        """
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be 'response' or 'request', not {direction!r}")
        root = _Bound(schema if isinstance(schema, (Mapping, bool)) else {}, resolver or self._resolver)
        value: Any = None
        for attempt in range(_TOP_TRIES):  # retries matter for patterns, `not`, uniqueness, XOR
            budget = _Budget(_NODE_BUDGET)
            ctx = _Ctx(rng, direction, 0, 0, frozenset(), budget, self._use_examples, lean=attempt > 0)
            value = self._generate_roots([root], ctx)
            if self._is_valid(value, root, direction):
                return value
        self._note_unsatisfied(root, direction, value)
        return value

    def _note_unsatisfied(self, root: _Bound, direction: str, closest: Any) -> None:
        """Say, once per schema, that no valid value was found: the closest one goes out, and the
        response check downstream flags it (a 500 in ``--strict``)."""
        if id(root.schema) in self._unsatisfied:
            return
        self._unsatisfied[id(root.schema)] = root.schema  # held, so its id is never reused
        try:
            error = next(iter(self._validator(root, direction).iter_errors(closest)), None)
        except (Unresolvable, re.error, RecursionError):
            error = None
        reason = error.message if error is not None else "the schema cannot be checked"
        schema = json.dumps(root.schema, default=str)
        log.warning("no value valid under the schema %s found in %d tries (%s); the closest one is used",
                    schema if len(schema) <= 200 else schema[:199] + "…", _TOP_TRIES, reason)

    @property
    def use_examples(self) -> bool:
        return self._use_examples

    def is_valid(
        self,
        schema: Mapping[str, Any] | bool,
        value: Any,
        resolver: Resolver[Any] | None = None,
        *,
        direction: str = "response",
    ) -> bool:
        """Whether `value` validates (formats included) against `schema`, OpenAPI direction rules applied."""
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be 'response' or 'request', not {direction!r}")
        return self._is_valid(value, _Bound(schema, resolver or self._resolver), direction)

    # ------------------------------------------------------------------ validation

    def _validator(self, bound: _Bound, kind: str) -> Any:
        key = (id(bound.schema), kind)
        hit = self._validators.get(key)
        if hit is not None and hit[0] is bound.schema:
            return hit[1]
        cls = self._classes[kind]
        validator = cls(bound.schema, format_checker=cls.FORMAT_CHECKER, _resolver=bound.resolver)
        if len(self._validators) >= _CACHE_LIMIT:
            self._validators.clear()
        self._validators[key] = (bound.schema, validator)
        return validator

    def _is_valid(self, value: Any, bound: _Bound, kind: str) -> bool:
        schema = bound.schema
        if kind in _DIRECTIONS and isinstance(schema, Mapping) and schema.get(_hidden_flag(kind)) is True:
            kind = _NEUTRAL  # a hidden schema validated on its own would reject everything
        try:
            return bool(self._validator(bound, kind).is_valid(value))
        except (Unresolvable, re.error, RecursionError):  # RecursionError: `A: allOf [A]`
            return False

    def _valid_all(self, value: Any, bounds: Sequence[_Bound], kind: str) -> bool:
        return all(self._is_valid(value, b, kind) for b in bounds if not b.synthetic)

    # ------------------------------------------------------------------ schema expansion

    def _expand_roots(
        self, roots: Sequence[_Bound], present: set[int], *, inherit: bool = True
    ) -> list[_Bound]:
        """Flatten $ref and allOf into a list of parts that all apply to one value."""
        out: list[_Bound] = []
        refs: list[str] = []
        seen = set(present)
        for root in roots:
            self._expand(root, out, seen, refs)
        if inherit and refs:
            extra = self._inherited_discriminator(out, refs[0])
            if extra is not None:
                out.append(extra)
        return out

    def _expand(self, bound: _Bound, out: list[_Bound], seen: set[int], refs: list[str]) -> None:
        schema = bound.schema
        if schema is False:
            out.append(bound)
            return
        if not isinstance(schema, Mapping) or id(schema) in seen:
            return  # `true`, junk, or an allOf/$ref cycle already applied
        seen.add(id(schema))
        resolver = bound.resolver
        if self._v31 and isinstance(schema.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(schema))
        ref = schema.get("$ref")
        if isinstance(ref, str):
            refs.append(ref)
            resolved = resolver.lookup(ref)
            self._expand(_Bound(resolved.contents, resolved.resolver), out, seen, refs)
            if not self._v31:
                return  # 3.0: siblings of $ref are ignored
        all_of = schema.get("allOf")
        if isinstance(all_of, list):
            for sub in all_of:
                self._expand(_Bound(sub, resolver), out, seen, refs)
        out.append(_Bound(schema, resolver))

    def _inherited_discriminator(self, parts: Sequence[_Bound], ref: str) -> _Bound | None:
        """allOf inheritance: a child of a discriminated base names itself in the property."""
        for part in parts:
            schema = part.schema
            if not isinstance(schema, Mapping) or "oneOf" in schema or "anyOf" in schema:
                continue
            disc = schema.get("discriminator")
            if isinstance(disc, Mapping) and isinstance(disc.get("propertyName"), str):
                value = self._discriminator_value(disc, ref)
                return _Bound({"properties": {disc["propertyName"]: {"enum": [value]}}}, part.resolver, True)
        return None

    @staticmethod
    def _discriminator_value(disc: Mapping[str, Any], ref: str) -> str:
        mapping = disc.get("mapping")
        if isinstance(mapping, Mapping):
            for key, target in mapping.items():
                if isinstance(target, str) and (target == ref or _ref_name(target) == _ref_name(ref)):
                    return str(key)
        return _ref_name(ref)

    # ------------------------------------------------------------------ core recursion

    def _generate_roots(self, roots: Sequence[_Bound], ctx: _Ctx) -> Any:
        flat = self._expand_roots(roots, set())
        return self._generate_flat(flat, roots, ctx, flat)

    def _generate_flat(
        self, flat: list[_Bound], roots: Sequence[_Bound], ctx: _Ctx, example_parts: Sequence[_Bound]
    ) -> Any:
        if ctx.examples:
            found = self._pick_example(example_parts, roots, ctx)
            if found is not _MISSING:
                return found
        if ctx.hops > _MAX_HOPS:
            return self._minimal(flat)
        for part in flat:
            schema = part.schema
            if not isinstance(schema, Mapping):
                continue
            for keyword in ("oneOf", "anyOf"):
                branches = schema.get(keyword)
                if isinstance(branches, list) and branches and (id(schema), keyword) not in ctx.handled:
                    return self._generate_choice(flat, roots, ctx, part, keyword)
        return self._generate_plain(flat, roots, ctx)

    def _pick_example(self, parts: Sequence[_Bound], roots: Sequence[_Bound], ctx: _Ctx) -> Any:
        for part in parts:
            if part.synthetic or not isinstance(part.schema, Mapping):
                continue
            for candidate in self._example_candidates(part.schema):
                value = _jsonable(candidate)
                # specs often ship examples that break their own schema: only use valid ones
                if self._valid_all(value, roots, ctx.direction):
                    return copy.deepcopy(value)
        return _MISSING

    def _example_candidates(self, schema: Mapping[str, Any]) -> Iterator[Any]:
        if "example" in schema:
            yield schema["example"]
        examples = schema.get("examples")
        if self._v31 and isinstance(examples, list) and examples:
            yield examples[0]
        if "default" in schema:
            yield schema["default"]

    def _generate_choice(
        self, flat: list[_Bound], roots: Sequence[_Bound], ctx: _Ctx, part: _Bound, keyword: str
    ) -> Any:
        """oneOf/anyOf: generate via one branch, keep it only if the holder then validates."""
        branches: list[Any] = list(part.schema[keyword])
        disc = part.schema.get("discriminator")
        inner = replace(ctx, hops=ctx.hops + 1, handled=ctx.handled | {(id(part.schema), keyword)})
        present = {id(p.schema) for p in flat}
        value: Any = None
        order = self._branch_order(branches, part, ctx)
        # round 2 leaves optional properties out: the usual reason a value matches several
        # branches (or fails `not: {required: [a, b]}`-style XOR rules)
        rounds = [(index, False) for index in order] + [(index, True) for index in order]
        for attempt, (index, lean) in enumerate(rounds):
            if attempt and ctx.budget.remaining <= 0:
                break  # failing nested oneOfs would otherwise multiply work per level
            branch = _Bound(branches[index], part.resolver)
            extra = self._expand_roots([branch], present, inherit=not isinstance(disc, Mapping))
            tag = self._discriminator_part(disc, branches[index], part)
            if tag is not None:
                extra.append(tag)
            value = self._generate_flat(flat + extra, roots, replace(inner, lean=lean or ctx.lean), extra)
            # the validator checks "exactly one" for oneOf and the discriminator mapping
            if self._is_valid(value, part, ctx.direction):
                return value
        return value

    def _branch_order(self, branches: Sequence[Any], part: _Bound, ctx: _Ctx) -> list[int]:
        start = ctx.rng.randrange(len(branches))
        order = [(start + i) % len(branches) for i in range(len(branches))]
        if self._deep(ctx):  # near the depth limit prefer branches that can stop recursing
            order.sort(key=lambda i: self._branch_cost(_Bound(branches[i], part.resolver)))
        return order

    def _branch_cost(self, branch: _Bound) -> int:
        flat = self._expand_roots([branch], set(), inherit=False)
        types = self._allowed_types(flat, frozenset()) or [self._infer_type(flat)]
        if "null" in types or not {"object", "array"} & set(types):
            return 0
        schemas = [p.schema for p in flat if isinstance(p.schema, Mapping)]
        return 2 if any(s.get("required") or s.get("minItems") for s in schemas) else 1

    @staticmethod
    def _discriminator_part(disc: Any, branch: Any, part: _Bound) -> _Bound | None:
        if not isinstance(disc, Mapping) or not isinstance(disc.get("propertyName"), str):
            return None
        ref = branch.get("$ref") if isinstance(branch, Mapping) else None
        if not isinstance(ref, str):
            return None
        prop = disc["propertyName"]
        value = SchemaGenerator._discriminator_value(disc, ref)
        return _Bound({"properties": {prop: {"enum": [value]}}, "required": [prop]}, part.resolver, True)

    def _generate_plain(self, flat: list[_Bound], roots: Sequence[_Bound], ctx: _Ctx) -> Any:
        if any(p.schema is False for p in flat):
            return None  # unsatisfiable: nothing validates against `false`
        nots = [
            _Bound(p.schema["not"], p.resolver)
            for p in flat
            if isinstance(p.schema, Mapping) and "not" in p.schema
        ]
        excluded = self._excluded_types(nots)
        value = self._generate_value(flat, roots, ctx, excluded)
        for attempt in range(_NOT_TRIES if nots else 0):
            if not any(self._is_valid(value, n, _NEUTRAL) for n in nots):
                break
            value = self._generate_value(flat, roots, replace(ctx, lean=ctx.lean or attempt % 2 == 0), excluded)
        return value

    def _excluded_types(self, nots: Sequence[_Bound]) -> frozenset[str]:
        """`not: {type: X}` is common enough to handle directly rather than by retrying."""
        excluded: set[str] = set()
        for bound in nots:
            schema = bound.schema
            if isinstance(schema, Mapping) and set(schema) <= {"type", "nullable", "description", "title"}:
                excluded.update(self._part_types(schema) or ())
        return frozenset(excluded)

    def _generate_value(
        self, flat: list[_Bound], roots: Sequence[_Bound], ctx: _Ctx, excluded: frozenset[str]
    ) -> Any:
        ctx.budget.remaining -= 1
        choices = self._enum_choices(flat)
        if choices is not None:
            return self._pick_enum(choices, roots, ctx)
        kind = self._choose_type(self._allowed_types(flat, excluded), flat, ctx, excluded)
        parts = [p for p in flat if isinstance(p.schema, Mapping)]
        if kind == "object":
            return self._object(parts, ctx)
        if kind == "array":
            return self._array(parts, ctx)
        if kind == "string":
            return self._string(parts, ctx.rng)
        if kind == "integer":
            return self._integer(parts, ctx.rng)
        if kind == "number":
            return self._number(parts, ctx.rng)
        if kind == "boolean":
            return ctx.rng.random() < 0.5
        return None

    def _minimal(self, flat: list[_Bound]) -> Any:
        choices = self._enum_choices(flat)
        if choices:
            return copy.deepcopy(choices[0])
        types = self._allowed_types(flat, frozenset()) or [self._infer_type(flat)]
        if "null" in types:
            return None
        make = _MINIMAL.get(types[0])
        return make() if make is not None else None

    def _deep(self, ctx: _Ctx) -> bool:
        return ctx.depth >= self._max_depth or ctx.budget.remaining <= 0

    def _hard(self, ctx: _Ctx) -> bool:
        return ctx.depth >= self._max_depth + _HARD_EXTRA

    @staticmethod
    def _child(ctx: _Ctx) -> _Ctx:
        return replace(ctx, depth=ctx.depth + 1, hops=0, handled=frozenset(), lean=False)

    # ------------------------------------------------------------------ types, enum

    def _part_types(self, schema: Mapping[str, Any]) -> list[str] | None:
        declared = schema.get("type")
        if isinstance(declared, str):
            types = [declared]
        elif self._v31 and isinstance(declared, list):
            types = [t for t in declared if isinstance(t, str)]
        else:
            return None
        if not self._v31 and schema.get("nullable") is True:
            types.append("null")
        return types

    def _allowed_types(self, flat: Sequence[_Bound], excluded: frozenset[str]) -> list[str] | None:
        """Intersection of the parts' types in declared order; None if nothing constrains it."""
        allowed: set[str] | None = None
        order: list[str] = []
        for part in flat:
            if not isinstance(part.schema, Mapping):
                continue
            types = self._part_types(part.schema)
            if types is None:
                continue
            expanded = set(types) | ({"integer"} if "number" in types else set())
            allowed = expanded if allowed is None else allowed & expanded
            order = order or types
        if allowed is None:
            if not excluded:
                return None
            allowed = set(_TYPE_ORDER)
        allowed -= excluded
        if "number" in excluded:
            allowed.discard("integer")
        if "number" in allowed:
            allowed.discard("integer")  # numbers cover integers; keep one choice
        return [t for t in order if t in allowed] + [t for t in _TYPE_ORDER if t in allowed and t not in order]

    def _infer_type(self, flat: Sequence[_Bound]) -> str:
        keys: set[str] = set()
        fmt = None
        for part in flat:
            if isinstance(part.schema, Mapping):
                keys.update(part.schema)
                fmt = fmt or part.schema.get("format")
        if keys & _OBJECT_KEYS:
            return "object"
        if keys & _ARRAY_KEYS:
            return "array"
        if fmt in _INT_FORMAT_RANGES:
            return "integer"
        if keys & _NUMBER_KEYS or fmt in ("float", "double"):
            return "number"
        return "string"

    def _choose_type(
        self, types: list[str] | None, flat: Sequence[_Bound], ctx: _Ctx, excluded: frozenset[str]
    ) -> str:
        if types is None:
            return self._infer_type(flat)
        concrete = [t for t in types if t != "null"]
        if not concrete or ("null" in types and self._deep(ctx)):
            return "null"  # null also ends recursion cleanly
        inferred = self._infer_type(flat)
        if inferred in concrete:
            return inferred  # e.g. type [string, number] with minLength: the string is the intent
        return concrete[0] if len(concrete) == 1 else ctx.rng.choice(concrete)

    @staticmethod
    def _enum_choices(flat: Sequence[_Bound]) -> list[Any] | None:
        lists: list[tuple[list[Any], bool]] = []
        for part in flat:
            schema = part.schema
            if not isinstance(schema, Mapping):
                continue
            if "const" in schema:
                lists.append(([schema["const"]], part.synthetic))
            if isinstance(schema.get("enum"), list) and schema["enum"]:
                lists.append((list(schema["enum"]), part.synthetic))
        if not lists:
            return None
        for candidates in (lists, [entry for entry in lists if not entry[1]]):
            if not candidates:
                continue
            keys = [{_unique_key(v) for v in values} for values, _ in candidates[1:]]
            common = [v for v in candidates[0][0] if all(_unique_key(v) in k for k in keys)]
            if common:
                return common
        return lists[0][0]

    def _pick_enum(self, choices: list[Any], roots: Sequence[_Bound], ctx: _Ctx) -> Any:
        start = ctx.rng.randrange(len(choices))
        for offset in range(min(len(choices), _ENUM_TRIES)):
            value = choices[(start + offset) % len(choices)]
            if self._valid_all(value, roots, ctx.direction):
                return copy.deepcopy(value)
        return copy.deepcopy(choices[start])

    # ------------------------------------------------------------------ objects

    def _object(self, parts: list[_Bound], ctx: _Ctx) -> dict[str, Any]:
        schemas = [p.schema for p in parts]
        names: list[str] = []
        required: set[str] = set()
        for schema in schemas:
            props = schema.get("properties")
            if isinstance(props, Mapping):
                names.extend(n for n in props if isinstance(n, str) and n not in names)
        for schema in schemas:
            req = schema.get("required")
            if isinstance(req, list):
                required.update(n for n in req if isinstance(n, str))
                names.extend(n for n in req if isinstance(n, str) and n not in names)
        low = _int_limits([s.get("minProperties") for s in schemas], max) or 0
        high = _int_limits([s.get("maxProperties") for s in schemas], min)
        deep, hard = self._deep(ctx) or ctx.lean, self._hard(ctx)

        result: dict[str, Any] = {}
        skipped: list[str] = []
        for name in names:
            if hard:
                break  # past the hard limit even required recursion stops
            if deep and name not in required:
                skipped.append(name)
                continue
            self._add_property(result, name, parts, ctx, required=name in required)
        if high is not None:
            for name in reversed(list(result)):
                if len(result) <= high:
                    break
                if name not in required:
                    del result[name]
        if len(result) < low:
            self._fill_properties(result, skipped, low, parts, ctx)
        elif not names and not deep and (high is None or high > 0) and self._is_map(schemas):
            self._fill_properties(result, [], 1, parts, ctx)  # a dict-of-X reads better with one entry
        return result

    @staticmethod
    def _is_map(schemas: Sequence[Mapping[str, Any]]) -> bool:
        return any(
            isinstance(s.get("additionalProperties"), Mapping) or isinstance(s.get("patternProperties"), Mapping)
            for s in schemas
        )

    def _fill_properties(
        self, result: dict[str, Any], skipped: list[str], target: int, parts: list[_Bound], ctx: _Ctx
    ) -> None:
        for name in skipped:
            if len(result) >= target:
                return
            self._add_property(result, name, parts, ctx)
        for counter in range(1, target + 16):
            if len(result) >= target:
                return
            name = self._extra_name(parts, counter, ctx.rng)
            if name not in result:
                self._add_property(result, name, parts, ctx)

    def _extra_name(self, parts: list[_Bound], counter: int, rng: Random) -> str:
        for part in parts:
            patterns = part.schema.get("patternProperties")
            if isinstance(patterns, Mapping):
                for pattern in patterns:
                    name = self._pattern_string([str(pattern)], None, 1, None, rng)
                    if self._property_bounds(parts, name) is not None:
                        return name
        return f"additionalProp{counter}"

    def _add_property(
        self, result: dict[str, Any], name: str, parts: list[_Bound], ctx: _Ctx, *, required: bool = False
    ) -> None:
        bounds = self._property_bounds(parts, name)
        if bounds is None:
            return
        flat = self._expand_roots(bounds, set())
        flag = _hidden_flag(ctx.direction)
        hidden = any(isinstance(b.schema, Mapping) and b.schema.get(flag) is True for b in bounds + flat)
        if (hidden and not (self._v31 and required)) or any(p.schema is False for p in flat):
            return  # 3.0 drops readOnly/writeOnly even when required; 3.1 keeps required ones (see above)
        result[name] = self._generate_flat(flat, bounds, self._child(ctx), flat)

    @staticmethod
    def _property_bounds(parts: list[_Bound], name: str) -> list[_Bound] | None:
        """Every subschema that applies to property `name`; None if some part forbids it."""
        bounds: list[_Bound] = []
        for part in parts:
            schema = part.schema
            props = schema.get("properties")
            matched = False
            if isinstance(props, Mapping) and name in props:
                bounds.append(_Bound(props[name], part.resolver, part.synthetic))
                matched = True
            patterns = schema.get("patternProperties")
            if isinstance(patterns, Mapping):
                for pattern, sub in patterns.items():
                    if _search(str(pattern), name):
                        bounds.append(_Bound(sub, part.resolver))
                        matched = True
            if matched:
                continue
            extra = schema.get("additionalProperties")
            if extra is False:
                return None
            if isinstance(extra, Mapping):
                bounds.append(_Bound(extra, part.resolver))
        return bounds

    # ------------------------------------------------------------------ arrays

    def _array(self, parts: list[_Bound], ctx: _Ctx) -> list[Any]:
        schemas = [p.schema for p in parts]
        low = _int_limits([s.get("minItems") for s in schemas], max) or 0
        high = _int_limits([s.get("maxItems") for s in schemas], min)
        prefix_len = 0
        contains: list[_Bound] = []
        for part in parts:
            prefix = part.schema.get("prefixItems") if self._v31 else None
            size = len(prefix) if isinstance(prefix, list) else 0
            prefix_len = max(prefix_len, size)
            if self._v31 and part.schema.get("items") is False:
                high = size if high is None else min(high, size)
            if self._v31 and "contains" in part.schema:
                contains.append(_Bound(part.schema["contains"], part.resolver))
        unique = any(s.get("uniqueItems") is True for s in schemas)

        if self._hard(ctx):
            count = 0
        elif self._deep(ctx):
            count = max(low, 1 if contains else 0)
        else:
            count = max(low, 1, prefix_len)
        if high is not None:
            count = min(count, high)

        items: list[Any] = []
        seen: set[str] = set()
        child = self._child(ctx)
        for index in range(count):
            bounds = self._item_bounds(parts, index) + (contains if index == 0 else [])
            value = self._generate_roots(bounds, child)
            if unique:
                retry = replace(child, examples=False)  # an example would repeat itself
                for _ in range(_UNIQUE_TRIES):
                    if _unique_key(value) not in seen:
                        break
                    value = self._generate_roots(bounds, retry)
                if _unique_key(value) in seen and len(items) >= low:
                    break
                seen.add(_unique_key(value))
            items.append(value)
        return items

    def _item_bounds(self, parts: list[_Bound], index: int) -> list[_Bound]:
        bounds: list[_Bound] = []
        for part in parts:
            prefix = part.schema.get("prefixItems") if self._v31 else None
            items = part.schema.get("items")
            if isinstance(prefix, list) and index < len(prefix):
                bounds.append(_Bound(prefix[index], part.resolver))
            elif isinstance(items, (Mapping, bool)):
                bounds.append(_Bound(items, part.resolver))
            elif isinstance(items, list) and index < len(items):  # draft-4 tuple form
                bounds.append(_Bound(items[index], part.resolver))
        return bounds

    # ------------------------------------------------------------------ strings

    def _string(self, parts: list[_Bound], rng: Random) -> str:
        schemas = [p.schema for p in parts]
        low = _int_limits([s.get("minLength") for s in schemas], max) or 0
        high = _int_limits([s.get("maxLength") for s in schemas], min)
        patterns = [s["pattern"] for s in schemas if isinstance(s.get("pattern"), str)]
        formats = [s["format"] for s in schemas if isinstance(s.get("format"), str)]
        fmt = formats[0] if formats else None
        if patterns:
            return self._pattern_string(patterns, fmt, low, high, rng)
        if fmt is not None:
            value = self._format_string(fmt, rng)
            if value is not None:
                if low <= len(value) and (high is None or len(value) <= high):
                    return value
                # the length rules win over the format when both cannot hold
                fitted = _fit_format(fmt, low if len(value) < low else (high or 0))
                if fitted is not None:
                    return fitted
        return self._plain_string(low, high, rng)

    def _format_string(self, fmt: str, rng: Random) -> str | None:
        if fmt == "time":
            # jsonschema's shared checker may use either partial-time or RFC 3339 full-time
            clock = _datetime(rng).strftime("%H:%M:%S")
            for value in (clock, clock + "Z"):
                if self._format_checker.conforms(value, "time"):
                    return value
            return clock
        make = _FORMATS.get(fmt)
        return make(rng) if make is not None else None

    @staticmethod
    def _plain_string(low: int, high: int | None, rng: Random) -> str:
        words = [rng.choice(_WORDS)]
        size = len(words[0])
        while size < low:
            words.append(rng.choice(_WORDS))
            size += len(words[-1]) + 1
        text = " ".join(words)
        return text[:high] if high is not None else text

    def _pattern_string(
        self, patterns: list[str], fmt: str | None, low: int, high: int | None, rng: Random
    ) -> str:
        """Regex-driven string; patterns are unanchored, so containing a match is enough."""

        def acceptable(text: str) -> bool:
            return low <= len(text) and (high is None or len(text) <= high) and all(
                _search(p, text) for p in patterns
            )

        if fmt is not None:
            formatted = self._format_string(fmt, rng)
            if formatted is not None and acceptable(formatted):
                return formatted
        cap = max(_REPEAT_CAP, low)
        if high is not None:
            cap = max(1, min(cap, high))
        last: str | None = None
        for _ in range(_PATTERN_TRIES):
            try:
                text = _Xeger(rng, cap).xeger(_python_regex(patterns[0]))
            except Exception:  # sre cannot parse some ECMA-only syntax; fall back below
                break
            if len(text) < low and not _end_anchored(patterns[0]):
                text += self._plain_string(low - len(text), None, rng).replace(" ", "")[: low - len(text)]
            last = text
            if acceptable(text):
                return text
            if high is not None and len(text) > high:
                cap = max(1, cap // 2)
            elif len(text) < low:
                cap *= 2
        # clear fallback: the closest attempt, or a plain string honouring the lengths
        return last if last is not None else self._plain_string(low, high, rng)

    # ------------------------------------------------------------------ numbers

    def _limits(self, schemas: Sequence[Mapping[str, Any]]) -> tuple[_Limit | None, _Limit | None]:
        low: _Limit | None = None
        high: _Limit | None = None
        for schema in schemas:
            minimum, maximum = _num(schema.get("minimum")), _num(schema.get("maximum"))
            if self._v31:
                if minimum is not None:
                    low = _tighter_low(low, _Limit(Fraction(minimum), False))
                if maximum is not None:
                    high = _tighter_high(high, _Limit(Fraction(maximum), False))
                ex_min, ex_max = _num(schema.get("exclusiveMinimum")), _num(schema.get("exclusiveMaximum"))
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

    @staticmethod
    def _divisors(schemas: Sequence[Mapping[str, Any]]) -> list[int | float]:
        found = [_num(s.get("multipleOf")) for s in schemas]
        return [d for d in found if d is not None and d > 0]

    def _integer(self, parts: list[_Bound], rng: Random) -> int:
        schemas = [p.schema for p in parts]
        low, high = self._limits(schemas)
        lo = None if low is None else (math.floor(low.value) + 1 if low.exclusive else math.ceil(low.value))
        hi = None if high is None else (math.ceil(high.value) - 1 if high.exclusive else math.floor(high.value))
        divisors = self._divisors(schemas)
        # an integer multiple of every divisor is a multiple of lcm(divisors..., 1)
        step = int(_lcm([_fraction(d) for d in divisors] + [Fraction(1)]))
        window = max(_WINDOW, step * 10)
        if lo is None and hi is None:
            lo, hi = 1, window
        elif lo is None:
            assert hi is not None
            lo = 1 if hi >= 1 + window // 2 else hi - window
        elif hi is None:
            hi = lo + window
        for schema in schemas:  # after the default window, so unbounded int64 ids stay small
            fmt = schema.get("format")
            span = _INT_FORMAT_RANGES.get(fmt) if isinstance(fmt, str) else None
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

    def _number(self, parts: list[_Bound], rng: Random) -> int | float:
        schemas = [p.schema for p in parts]
        low, high = self._limits(schemas)
        lo = low.value if low is not None else None
        hi = high.value if high is not None else None
        if lo is None and hi is None:
            lo, hi = Fraction(0), Fraction(_WINDOW)
        elif lo is None:
            assert hi is not None
            lo = min(Fraction(0), hi - _WINDOW)
        elif hi is None:
            hi = max(lo, Fraction(0)) + _WINDOW
        divisors = self._divisors(schemas)
        if divisors:
            return self._number_multiple(divisors, lo, hi, low, high, rng)
        fallback: float = float((lo + hi) / 2)
        for digits in (2, 6, None):
            value = rng.uniform(float(lo), float(hi))
            value = round(value, digits) if digits is not None else value
            if _within(value, low, high):
                return value
        return fallback

    @staticmethod
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

