"""Generate a fake JSON value that validates against an OpenAPI 3.0/3.1 Schema Object.

`SchemaGenerator`: given a Schema Object (plus a ``referencing`` resolver for ``$ref``),
deterministically synthesise a value for a seed, such that the value validates against the
schema with openapi-schema-validator. This module walks the schema (``$ref``, allOf, oneOf,
anyOf, not, discriminators, objects, arrays, enums, examples) and retries; leaf values come
from `strings` and `numbers`, and values are checked in the OpenAPI `dialect`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from random import Random
from types import MappingProxyType
from typing import TYPE_CHECKING
from typing import Any

from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from mocksrv.engine.generator import numbers
from mocksrv.engine.generator import strings
from mocksrv.engine.generator.choices import Edits
from mocksrv.engine.generator.choices import Lessons
from mocksrv.engine.generator.choices import exclusive
from mocksrv.engine.generator.dialect import CLASSES
from mocksrv.engine.generator.dialect import DIRECTIONS
from mocksrv.engine.generator.dialect import NEUTRAL
from mocksrv.engine.generator.dialect import hidden_flag

if TYPE_CHECKING:  # referencing exports Resolver only from its _core module
    from referencing._core import Resolver

__all__ = ["SchemaGenerator", "jsonable"]

_TYPE_ORDER = ("object", "array", "string", "integer", "number", "boolean", "null")
_OBJECT_KEYS = frozenset({
    "properties", "required", "additionalProperties", "patternProperties",
    "minProperties", "maxProperties", "discriminator",
})
_ARRAY_KEYS = frozenset({"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"})
_NUMBER_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_MINIMAL: Mapping[str, Callable[[], Any]] = MappingProxyType({
    "object": dict, "array": list, "string": str, "integer": int, "number": int, "boolean": bool,
})

log = logging.getLogger(__name__)

_MAX_HOPS = 32  # oneOf/anyOf re-entries at one nesting level before giving up (A: oneOf [A])
_HARD_EXTRA = 4  # levels past max_depth after which objects/arrays are emptied outright
_NODE_BUDGET = 2000  # values per generate() call before switching to "required only" mode
# objects inside objects past which optional properties are left out (arrays do not count: a
# list's items are as full as the item itself). Real answers leave nested optional objects out or
# give their ids; filling them all made a 40 KB answer of a 1.5 KB resource (docs/decisions.md)
_OPTIONAL_NESTING = 2
_NOT_TRIES = 5
_TOP_TRIES = 3
_UNIQUE_TRIES = 5
_ENUM_TRIES = 20
_CACHE_LIMIT = 4096

_MISSING = object()


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
    nesting: int = 0  # objects this value is a property of, at any depth (`_OPTIONAL_NESTING`)
    branch: int | None = None  # the oneOf/anyOf branch tried first at the top (then the others)


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


def jsonable(value: Any) -> Any:
    """YAML loaders turn example dates into date objects; compare them as strings."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return value


def _ref_name(ref: str) -> str:
    return ref.rstrip("/").rsplit("/", 1)[-1]


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
        self._classes = CLASSES[self._version]
        self._format_checker: Any = self._classes[NEUTRAL].FORMAT_CHECKER
        # (id(schema), kind) -> (schema, validator); holding the schema keeps its id unique.
        # A schema object belongs to one document, so its base URI needn't be in the key.
        self._validators: dict[tuple[int, str], tuple[Any, Any]] = {}
        self._unsatisfied: dict[int, Any] = {}  # schemas no valid value was found for, told once
        self._lessons = Lessons()  # how each oneOf branch was told apart from the others, or could not be

    # ------------------------------------------------------------------ public

    def generate(
        self,
        schema: Mapping[str, Any] | bool,
        rng: Random,
        *,
        direction: str = "response",
        resolver: Resolver[Any] | None = None,
        branch: int | None = None,
    ) -> Any:
        """A value for `schema` (deterministic for the rng's state) that validates against it.

        `direction` "response" leaves out writeOnly properties, "request" readOnly ones.
        `resolver` is the one `schema`'s own $refs resolve against, when it comes from
        another file than the generator's document. `branch` is the oneOf/anyOf branch
        (by position) of the schema's top-level choice to try first.
        Unsatisfiable schemas get a best-effort value; a broken $ref raises
        ``referencing.exceptions.Unresolvable``.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'response' or 'request', not {direction!r}")
        root = _Bound(schema if isinstance(schema, (Mapping, bool)) else {}, resolver or self._resolver)
        first: Any = None
        for attempt in range(_TOP_TRIES):  # retries matter for patterns, `not`, uniqueness, XOR
            budget = _Budget(_NODE_BUDGET)
            ctx = _Ctx(rng, direction, 0, 0, frozenset(), budget, self._use_examples, lean=attempt > 0, branch=branch)
            value = self._generate_roots([root], ctx)
            if self._is_valid(value, root, direction):
                return value
            first = value if attempt == 0 else first  # the fullest try: the closest one we give
        self._note_unsatisfied(root, direction, first)
        return first

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

    def cannot_satisfy(self, schema: Any) -> bool:
        """No valid value was found for ``schema`` (a spec whose schema admits none, e.g. two identical
        oneOf branches): what went out was the closest one."""
        return self._unsatisfied.get(id(schema)) is schema

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
        if direction not in DIRECTIONS:
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
        if kind in DIRECTIONS and isinstance(schema, Mapping) and schema.get(hidden_flag(kind)) is True:
            kind = NEUTRAL  # a hidden schema validated on its own would reject everything
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
                value = jsonable(candidate)
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
        value: Any = _MISSING
        closest: Any = _MISSING  # a value its own branch takes, when none fits the holder
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
            branch_ctx = replace(inner, lean=lean or ctx.lean)
            value = self._generate_flat(flat + extra, roots, branch_ctx, extra)
            # the validator checks "exactly one" for oneOf, or with a discriminator its mapping only
            valid = self._is_valid(value, part, ctx.direction)
            if valid and (keyword != "oneOf" or not isinstance(disc, Mapping) or attempt >= len(order)):
                return value
            searching = keyword == "oneOf" and attempt < len(order)
            if searching and not self._lessons.hopeless(part.schema, index, ctx.direction):
                # matched several branches: tell it apart
                edits = self._edits(index, branches, part, flat + extra, roots, branch_ctx, extra)
                found = exclusive(value, edits)
                if found is not None and self._is_valid(found[0], part, ctx.direction):
                    self._lessons.learn(part.schema, index, ctx.direction, found[1])
                    return found[0]
                # valid: the discriminator decided, the search was a bonus
                self._lessons.learn(part.schema, index, ctx.direction, None, once=valid)
            if valid:  # discriminated: the discriminator decides; plain JSON Schema would see several
                return value
            if searching and closest is _MISSING and self._is_valid(value, branch, ctx.direction):
                closest = value
        # branches that cannot be told apart: no value is valid; one of a branch's is the closest
        return closest if closest is not _MISSING else None if value is _MISSING else value

    def _edits(self, index: int, branches: Sequence[Any], part: _Bound, flat: list[_Bound],
               roots: Sequence[_Bound], ctx: _Ctx, extra: Sequence[_Bound]) -> Edits:
        """What `choices.exclusive` may do to a value of branch ``index`` (whose parts are ``flat``)."""
        bounds = [_Bound(branch, part.resolver) for branch in branches]
        parts = [p for p in flat if isinstance(p.schema, Mapping)]
        required = {n for p in parts for n in (p.schema.get("required") or ()) if isinstance(n, str)}
        fresh_ctx = replace(ctx, examples=False)

        def matching(value: Any) -> list[int]:
            return [i for i, bound in enumerate(bounds) if self._is_valid(value, bound, ctx.direction)]

        def declared() -> list[str]:
            learnt = self._lessons.first(part.schema, index, ctx.direction)  # the property that told it apart last time
            names: list[str] = [learnt] if learnt else []
            for p in parts:
                props = p.schema.get("properties")
                if isinstance(props, Mapping):
                    names.extend(n for n in props if isinstance(n, str) and n not in names)
            return names

        def candidates(name: str) -> Iterator[Any]:
            found = self._property_bounds(parts, name)
            if not found:
                return
            prop_flat = self._expand_roots(found, set())
            flag = hidden_flag(ctx.direction)
            if any(isinstance(b.schema, Mapping) and b.schema.get(flag) is True for b in found + prop_flat):
                return
            choices = self._enum_choices(prop_flat)
            if choices is not None:
                yield from (copy.deepcopy(choice) for choice in choices[:_ENUM_TRIES])
                return
            while True:
                yield self._generate_flat(prop_flat, found, self._child(fresh_ctx, nested=True), prop_flat)

        def fresh() -> Iterator[Any]:
            while True:
                yield self._generate_flat(flat, roots, fresh_ctx, extra)

        return Edits(index, matching, lambda name: name not in required, declared, candidates, fresh)

    def _branch_order(self, branches: Sequence[Any], part: _Bound, ctx: _Ctx) -> list[int]:
        start = ctx.rng.randrange(len(branches))
        order = [(start + i) % len(branches) for i in range(len(branches))]
        if self._deep(ctx):  # near the depth limit prefer branches that can stop recursing
            order.sort(key=lambda i: self._branch_cost(_Bound(branches[i], part.resolver)))
        if ctx.branch is not None and ctx.depth == 0 and ctx.hops == 0 and ctx.branch in order:
            order.remove(ctx.branch)
            order.insert(0, ctx.branch)
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
            if not any(self._is_valid(value, n, NEUTRAL) for n in nots):
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
            return strings.text([p.schema for p in parts], ctx.rng, self._format_checker)
        if kind == "integer":
            return numbers.integer([p.schema for p in parts], ctx.rng, self._v31)
        if kind == "number":
            return numbers.number([p.schema for p in parts], ctx.rng, self._v31)
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
    def _child(ctx: _Ctx, *, nested: bool = False) -> _Ctx:
        """The context of an item (``nested``: of a property)."""
        return replace(ctx, depth=ctx.depth + 1, hops=0, handled=frozenset(), lean=False, branch=None,
                       nesting=ctx.nesting + nested)

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
        if fmt in numbers.INT_FORMAT_RANGES:
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
        low = numbers.int_limits([s.get("minProperties") for s in schemas], max) or 0
        high = numbers.int_limits([s.get("maxProperties") for s in schemas], min)
        deep, hard = self._deep(ctx) or ctx.lean or ctx.nesting >= _OPTIONAL_NESTING, self._hard(ctx)

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
                    name = strings.pattern_string([str(pattern)], None, 1, None, rng, self._format_checker)
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
        flag = hidden_flag(ctx.direction)
        hidden = any(isinstance(b.schema, Mapping) and b.schema.get(flag) is True for b in bounds + flat)
        if (hidden and not (self._v31 and required)) or any(p.schema is False for p in flat):
            return  # 3.0 drops readOnly/writeOnly even when required; 3.1 keeps required ones (see above)
        result[name] = self._generate_flat(flat, bounds, self._child(ctx, nested=True), flat)

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
                    if strings.search(str(pattern), name):
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
        low = numbers.int_limits([s.get("minItems") for s in schemas], max) or 0
        high = numbers.int_limits([s.get("maxItems") for s in schemas], min)
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
