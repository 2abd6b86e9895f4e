"""Tests for mocksrv.engine.generator: every generated value must validate against its schema."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import random
import re
import uuid
from typing import Any

import pytest
from openapi_schema_validator import OAS30ReadValidator
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import OAS30WriteValidator
from openapi_schema_validator import OAS31Validator
from referencing import Registry
from referencing import Resource
from referencing.jsonschema import DRAFT202012

from mocksrv.engine.generator import SchemaGenerator
from mocksrv.engine.generator.choices import Lessons

SPEC_URI = "file:///spec.yaml"
SEEDS = range(20)
VERSIONS = ("3.0", "3.1")


# ----------------------------------------------------------------------------- helpers


def make_registry(components: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> Registry[Any]:
    doc = {"openapi": "3.1.0", "components": {"schemas": components or {}}}
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    for uri, contents in (extra or {}).items():
        registry = registry.with_resource(uri, Resource.from_contents(contents, default_specification=DRAFT202012))
    return registry


def make_generator(
    version: str, components: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[SchemaGenerator, Registry[Any]]:
    registry = make_registry(components, kwargs.pop("extra", None))
    resolver = registry.resolver(base_uri=SPEC_URI)
    return SchemaGenerator(resolver, openapi_version=version, **kwargs), registry


def validator_for(schema: Any, version: str, registry: Registry[Any], cls: Any = None) -> Any:
    """An upstream openapi-schema-validator validator (with format checking) for `schema`."""
    cls = cls or (OAS30Validator if version == "3.0" else OAS31Validator)
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)


def assert_valid(schema: Any, value: Any, version: str, registry: Registry[Any], cls: Any = None) -> None:
    errors = list(validator_for(schema, version, registry, cls).iter_errors(value))
    assert not errors, f"{value!r} invalid: {[e.message for e in errors]}"


def generate_all(
    schema: Any, version: str, components: dict[str, Any] | None = None, direction: str = "response", **kwargs: Any
) -> list[Any]:
    """Generate for every seed and validate each value; returns the values."""
    # the schema also lives in the document so its local refs resolve during validation
    gen, registry = make_generator(version, {**(components or {}), "Target": schema}, **kwargs)
    check = {"$ref": SPEC_URI + "#/components/schemas/Target"}
    values = []
    for seed in SEEDS:
        value = gen.generate(schema, random.Random(seed), direction=direction)
        assert_valid(check, value, version, registry)
        values.append(value)
    return values


# ----------------------------------------------------------------------------- types


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("schema", "pytype"),
    [
        ({"type": "string"}, str),
        ({"type": "integer"}, int),
        ({"type": "number"}, (int, float)),
        ({"type": "boolean"}, bool),
        ({"type": "object"}, dict),
        ({"type": "array", "items": {"type": "integer"}}, list),
    ],
)
def test_basic_types(version: str, schema: dict[str, Any], pytype: Any) -> None:
    for value in generate_all(schema, version):
        assert isinstance(value, pytype)
        if pytype is int:
            assert not isinstance(value, bool)


def test_booleans_take_both_values() -> None:
    assert set(generate_all({"type": "boolean"}, "3.1")) == {True, False}


def test_null_type_31() -> None:
    assert generate_all({"type": "null"}, "3.1") == [None] * len(SEEDS)


def test_type_array_31_prefers_concrete_type() -> None:
    values = generate_all({"type": ["string", "null"], "minLength": 2}, "3.1")
    assert all(isinstance(v, str) and len(v) >= 2 for v in values)


def test_nullable_30() -> None:
    values = generate_all({"type": "integer", "nullable": True, "minimum": 5}, "3.0")
    assert all(v is None or v >= 5 for v in values)


def test_nullable_ends_required_recursion() -> None:
    components = {
        "N30": {"type": "object", "required": ["next"], "properties": {
            # 3.0 nullable does not reach into a $ref, so null needs its own branch
            "next": {"anyOf": [{"$ref": "#/components/schemas/N30"},
                               {"type": "object", "nullable": True, "enum": [None]}]}}},
        "N31": {"type": ["object", "null"], "required": ["next"], "properties": {
            "next": {"$ref": "#/components/schemas/N31"}}},
    }
    for version, name in (("3.0", "N30"), ("3.1", "N31")):
        values = generate_all({"$ref": f"#/components/schemas/{name}"}, version, components, max_depth=3)
        depth, node = 0, values[0]
        while node is not None:
            node, depth = node["next"], depth + 1
        assert depth <= 5


# ----------------------------------------------------------------------------- formats


def _is_hostname(value: str) -> bool:
    return all(re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", p) for p in value.split("."))


FORMAT_CHECKS: dict[str, Any] = {
    "email": lambda v: re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", v),
    "idn-email": lambda v: "@" in v,
    "uuid": lambda v: uuid.UUID(v) and len(v) == 36,
    "date-time": lambda v: dt.datetime.fromisoformat(v.replace("Z", "+00:00")),
    "date": lambda v: dt.date.fromisoformat(v),
    "time": lambda v: re.fullmatch(r"\d\d:\d\d:\d\d", v),
    "duration": lambda v: re.fullmatch(r"P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?", v),
    "uri": lambda v: re.match(r"https?://", v),
    "url": lambda v: re.match(r"https?://", v),
    "iri": lambda v: re.match(r"https?://", v),
    "uri-reference": lambda v: v.startswith("/"),
    "hostname": _is_hostname,
    "idn-hostname": _is_hostname,
    "ipv4": lambda v: ipaddress.IPv4Address(v),
    "ipv6": lambda v: ipaddress.IPv6Address(v),
    "byte": lambda v: base64.b64decode(v, validate=True) is not None,
    "binary": lambda v: 0 < len(v) <= 16,
    "password": lambda v: len(v) >= 8,
    "regex": lambda v: re.compile(v),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("fmt", sorted(FORMAT_CHECKS))
def test_string_formats(version: str, fmt: str) -> None:
    for value in generate_all({"type": "string", "format": fmt}, version):
        assert isinstance(value, str)
        assert FORMAT_CHECKS[fmt](value), (fmt, value)


@pytest.mark.parametrize("version", VERSIONS)
def test_numeric_formats(version: str) -> None:
    for value in generate_all({"type": "integer", "format": "int32"}, version):
        assert -(2**31) <= value < 2**31
    for value in generate_all({"type": "number", "format": "double"}, version):
        assert isinstance(value, float)
    for value in generate_all({"type": "number", "format": "float", "minimum": 1, "maximum": 2}, version):
        assert isinstance(value, float) and 1 <= value <= 2


def test_unknown_format_is_ignored() -> None:
    assert all(isinstance(v, str) for v in generate_all({"type": "string", "format": "x-custom"}, "3.1"))


def test_format_with_impossible_length_prefers_length() -> None:
    values = generate_all({"type": "string", "format": "email", "maxLength": 5}, "3.0")
    assert all(len(v) <= 5 and "@" in v for v in values)
    values = generate_all({"type": "string", "format": "email", "minLength": 40}, "3.1")
    assert all(len(v) >= 40 and "@" in v for v in values)
    values = generate_all({"type": "string", "format": "byte", "maxLength": 8}, "3.0")
    assert all(len(v) <= 8 for v in values)


# ----------------------------------------------------------------------------- enum / const


@pytest.mark.parametrize("version", VERSIONS)
def test_enum(version: str) -> None:
    enum = ["red", "green", "blue"]
    values = generate_all({"type": "string", "enum": enum}, version)
    assert set(values) <= set(enum) and len(set(values)) > 1


def test_const_31() -> None:
    assert generate_all({"const": {"a": [1, 2]}}, "3.1") == [{"a": [1, 2]}] * len(SEEDS)


def test_enum_filtered_by_other_constraints() -> None:
    values = generate_all({"allOf": [{"enum": [1, 2, 3, 4]}, {"enum": [3, 4, 5]}, {"minimum": 4}]}, "3.1")
    assert set(values) == {4}


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("version", VERSIONS)
def test_integer_bounds_and_multiple(version: str) -> None:
    values = generate_all({"type": "integer", "minimum": 10, "maximum": 100, "multipleOf": 7}, version)
    assert all(10 <= v <= 100 and v % 7 == 0 for v in values)
    assert len(set(values)) > 1


def test_exclusive_bounds_30_booleans() -> None:
    schema = {"type": "integer", "minimum": 1, "maximum": 3, "exclusiveMinimum": True, "exclusiveMaximum": True}
    assert set(generate_all(schema, "3.0")) == {2}
    values = generate_all({"type": "number", "minimum": 0, "maximum": 1, "exclusiveMinimum": True}, "3.0")
    assert all(0 < v <= 1 for v in values)


def test_exclusive_bounds_31_numbers() -> None:
    assert set(generate_all({"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 3}, "3.1")) == {2}
    values = generate_all({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001}, "3.1")
    assert all(0 < v < 0.001 for v in values)


def test_number_multiple_of_decimal() -> None:
    values = generate_all({"type": "number", "minimum": 0, "maximum": 50, "multipleOf": 0.01}, "3.1")
    assert all(0 <= v <= 50 for v in values) and len(set(values)) > 1
    values = generate_all({"type": "number", "multipleOf": 0.5, "exclusiveMinimum": 1, "maximum": 2}, "3.1")
    assert set(values) <= {1.5, 2}


def test_int64_beyond_float_precision_is_exact() -> None:
    low = 2**53 + 1
    values = generate_all({"type": "integer", "format": "int64", "minimum": low, "maximum": low + 2}, "3.0")
    assert all(type(v) is int and low <= v <= low + 2 for v in values)
    values = generate_all({"type": "integer", "format": "int64", "minimum": 2**63 - 3}, "3.1")
    assert all(type(v) is int and 2**63 - 3 <= v <= 2**63 - 1 for v in values)


def test_unbounded_int64_stays_readable() -> None:
    assert all(0 < v <= 1000 for v in generate_all({"type": "integer", "format": "int64"}, "3.1"))


# ----------------------------------------------------------------------------- strings


@pytest.mark.parametrize("version", VERSIONS)
def test_string_lengths(version: str) -> None:
    values = generate_all({"type": "string", "minLength": 30, "maxLength": 32}, version)
    assert all(30 <= len(v) <= 32 for v in values)
    assert all(len(v) == 1 for v in generate_all({"type": "string", "maxLength": 1, "minLength": 1}, version))


@pytest.mark.parametrize("version", VERSIONS)
def test_pattern(version: str) -> None:
    values = generate_all({"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"}, version)
    assert all(re.fullmatch(r"[A-Z]{3}-\d{4}", v) for v in values)
    assert len(set(values)) > 1


def test_pattern_unanchored_with_lengths() -> None:
    values = generate_all({"type": "string", "pattern": "[0-9]+", "minLength": 12, "maxLength": 15}, "3.1")
    assert all(12 <= len(v) <= 15 and re.search("[0-9]+", v) for v in values)
    values = generate_all({"type": "string", "pattern": "^a.*z$", "maxLength": 4}, "3.0")
    assert all(len(v) <= 4 for v in values)


def test_pattern_and_format() -> None:
    generate_all({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}, "3.1")


# ----------------------------------------------------------------------------- arrays


@pytest.mark.parametrize("version", VERSIONS)
def test_array_counts_and_unique(version: str) -> None:
    schema = {"type": "array", "items": {"type": "integer", "enum": [1, 2, 3, 4]},
              "minItems": 3, "maxItems": 4, "uniqueItems": True}
    for value in generate_all(schema, version):
        assert 3 <= len(value) <= 4 and len(set(value)) == len(value)


def test_unique_items_even_with_item_example() -> None:
    schema = {"type": "array", "minItems": 3, "uniqueItems": True, "items": {"type": "string", "example": "x"}}
    for value in generate_all(schema, "3.0"):
        assert len(set(value)) == len(value) >= 3


def test_prefix_items_31() -> None:
    schema = {"type": "array", "prefixItems": [{"type": "string", "format": "uuid"}, {"type": "integer"}],
              "items": False}
    for value in generate_all(schema, "3.1"):
        assert len(value) == 2 and isinstance(value[1], int)


def test_contains_31() -> None:
    generate_all({"type": "array", "contains": {"type": "integer", "minimum": 5}}, "3.1")


# ----------------------------------------------------------------------------- objects


def test_object_required_and_optional() -> None:
    schema = {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}
    for value in generate_all(schema, "3.0"):
        assert list(value) == ["id", "name", "tags"]  # optional properties included, in order


@pytest.mark.parametrize("version", VERSIONS)
def test_additional_properties(version: str) -> None:
    closed = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False,
              "minProperties": 1}
    assert all(set(v) == {"a"} for v in generate_all(closed, version))
    mapping = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 3}}
    values = generate_all(mapping, version)
    assert all(len(v) == 1 and all(isinstance(x, int) and x >= 3 for x in v.values()) for v in values)
    open_ = {"type": "object", "additionalProperties": True, "minProperties": 2}
    assert all(len(v) >= 2 for v in generate_all(open_, version))


def test_min_max_properties() -> None:
    schema = {"type": "object", "properties": {k: {"type": "integer"} for k in "abcdef"},
              "required": ["f"], "maxProperties": 3}
    values = generate_all(schema, "3.1")
    assert all(len(v) == 3 and "f" in v for v in values)
    schema = {"type": "object", "additionalProperties": {"type": "string", "format": "date"}, "minProperties": 4}
    assert all(len(v) >= 4 for v in generate_all(schema, "3.0"))


def test_pattern_properties() -> None:
    schema = {"type": "object", "patternProperties": {"^x-[a-z]+$": {"type": "boolean"}},
              "additionalProperties": False, "minProperties": 2}
    for value in generate_all(schema, "3.1"):
        assert len(value) >= 2 and all(re.fullmatch("x-[a-z]+", k) for k in value)


@pytest.mark.parametrize("version", VERSIONS)
def test_read_write_only_by_direction(version: str) -> None:
    schema = {"type": "object", "required": ["id", "password", "name"], "properties": {
        "id": {"type": "integer", "readOnly": True},
        "password": {"type": "string", "writeOnly": True},
        "name": {"type": "string"},
        "created": {"type": "string", "format": "date-time", "readOnly": True},
        "pin": {"type": "string", "writeOnly": True}}}
    gen, registry = make_generator(version)
    for seed in SEEDS:
        response = gen.generate(schema, random.Random(seed), direction="response")
        request = gen.generate(schema, random.Random(seed), direction="request")
        if version == "3.0":
            assert set(response) == {"id", "name", "created"}
            assert set(request) == {"password", "name", "pin"}
        else:  # 3.1: annotations only; a required hidden property stays (openapi-core validates it as required)
            assert set(response) == {"id", "password", "name", "created"}
            assert set(request) == {"id", "password", "name", "pin"}
            assert_valid(schema, response, version, registry)
        if version == "3.0":  # upstream's direction-aware validators agree
            assert_valid(schema, response, version, registry, OAS30ReadValidator)
            assert_valid(schema, request, version, registry, OAS30WriteValidator)


def test_read_only_through_ref_is_omitted_in_requests() -> None:
    components = {"Id": {"type": "string", "format": "uuid", "readOnly": True}}
    schema = {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/Id"}, "n": {"type": "integer"}}}
    gen, _ = make_generator("3.1", components)
    assert set(gen.generate(schema, random.Random(1), direction="request")) == {"n"}
    assert set(gen.generate(schema, random.Random(1), direction="response")) == {"id", "n"}


# ----------------------------------------------------------------------------- combinators


def test_all_of_merges_and_intersects_types() -> None:
    components = {"Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}}
    schema = {"allOf": [{"$ref": "#/components/schemas/Base"},
                        {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}]}
    for value in generate_all(schema, "3.0", components):
        assert {"id", "name"} <= set(value)
    values = generate_all({"allOf": [{"type": ["string", "integer"]}, {"type": ["integer", "null"]},
                                     {"minimum": 5, "maximum": 6}]}, "3.1")
    assert set(values) <= {5, 6}


def test_all_of_with_closed_part() -> None:
    schema = {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                         "additionalProperties": False},
                        {"properties": {"b": {"maxLength": 3}, "c": {"type": "string"}}}]}
    for value in generate_all(schema, "3.1"):
        assert set(value) == {"a", "b"} and len(value["b"]) <= 3


@pytest.mark.parametrize("version", VERSIONS)
def test_one_of_matches_exactly_one(version: str) -> None:
    schema = {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 10},
                        {"type": "integer", "minimum": 5, "maximum": 100}]}
    values = generate_all(schema, version)
    assert all(0 <= v < 5 or 10 < v <= 100 for v in values)
    schema = {"oneOf": [{"type": "number", "multipleOf": 0.5}, {"type": "integer"}]}
    values = generate_all(schema, version)  # integers match both branches, so only halves are valid
    assert all(v % 1 == 0.5 for v in values)


def test_one_of_objects_and_any_of() -> None:
    schema = {"oneOf": [
        {"type": "object", "required": ["cat"], "properties": {"cat": {"type": "string"}}, "additionalProperties": False},
        {"type": "object", "required": ["dog"], "properties": {"dog": {"type": "integer"}}}]}
    values = generate_all(schema, "3.0")
    assert {tuple(v) for v in values} == {("cat",), ("dog",)}
    values = generate_all({"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "boolean"}]}, "3.1")
    assert {type(v) for v in values} == {str, bool}


@pytest.mark.parametrize("version", VERSIONS)
def test_one_of_branch_inside_another_is_matched_alone(version: str) -> None:
    # every value of Refused is also one of Accepted, and both branches' examples fit both:
    # only Accepted can be matched alone, by a status outside Refused's codes
    components = {
        "Accepted": {"type": "object", "properties": {"status": {"type": "string", "example": "0"}}},
        "Refused": {"type": "object", "properties": {
            "status": {"type": "string", "enum": ["0", "1", "2"], "example": "2"}, "text": {"type": "string"}}},
    }
    schema = {"oneOf": [{"$ref": "#/components/schemas/Accepted"}, {"$ref": "#/components/schemas/Refused"}]}
    values = generate_all(schema, version, components)
    assert all(v.get("status") not in ("0", "1", "2") for v in values)


def test_one_of_const_branch_beside_an_open_branch_whose_example_is_the_const() -> None:
    schema = {"oneOf": [
        {"type": "object", "properties": {"kind": {"const": "done"}, "at": {"type": "integer"}}},
        {"type": "object", "properties": {"kind": {"type": "string", "examples": ["done"]}},
         "required": ["kind"]}]}
    values = generate_all(schema, "3.1")
    assert any(v.get("kind") not in (None, "done") for v in values)


def test_one_of_identical_branches_give_a_value_of_one_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    twin = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    gen, _ = make_generator("3.1")
    value = gen.generate({"oneOf": [twin, twin]}, random.Random(0))
    assert gen.is_valid(twin, value) and not gen.is_valid({"oneOf": [twin, twin]}, value)
    assert "is valid under each of" in caplog.text


def test_lessons_remember_what_told_a_branch_apart_and_give_up_on_overlaps() -> None:
    holder: dict[str, Any] = {"oneOf": []}
    lessons = Lessons()
    lessons.learn(holder, 0, "response", "status")
    assert lessons.first(holder, 0, "response") == "status" and not lessons.hopeless(holder, 0, "response")
    assert lessons.first(holder, 0, "request") == "" and lessons.first({"oneOf": []}, 0, "response") == ""
    lessons.learn(holder, 1, "response", None)
    assert not lessons.hopeless(holder, 1, "response")
    lessons.learn(holder, 1, "response", None)
    assert lessons.hopeless(holder, 1, "response")  # searched twice in vain: values of it stay as made
    lessons.learn(holder, 2, "response", None, once=True)
    assert lessons.hopeless(holder, 2, "response")


def test_branch_asked_for_is_tried_first() -> None:
    schema = {"oneOf": [{"type": "object", "required": ["a"], "properties": {"a": {"const": 1}}},
                        {"type": "object", "required": ["b"], "properties": {"b": {"const": 2}}}]}
    gen, _ = make_generator("3.0")
    assert [gen.generate(schema, random.Random(seed), branch=1) for seed in SEEDS] == [{"b": 2}] * len(SEEDS)


@pytest.mark.parametrize("version", VERSIONS)
def test_discriminator(version: str) -> None:
    pet = {"type": "object", "required": ["petType"], "properties": {"petType": {"type": "string"}}}
    components = {
        "Cat": {"allOf": [pet, {"type": "object", "properties": {"meow": {"type": "boolean"}}}]},
        "Dog": {"allOf": [pet, {"type": "object", "properties": {"bark": {"type": "boolean"}}}]},
        "Pet": {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                "discriminator": {"propertyName": "petType", "mapping": {
                    "kitty": "#/components/schemas/Cat", "Dog": "#/components/schemas/Dog"}}},
    }
    values = generate_all({"$ref": "#/components/schemas/Pet"}, version, components)
    assert {v["petType"] for v in values} == {"kitty", "Dog"}
    assert all(("meow" in v) == (v["petType"] == "kitty") for v in values)


def test_discriminator_by_inheritance() -> None:
    components = {
        "Pet": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}},
                "discriminator": {"propertyName": "kind"}},
        "Lizard": {"allOf": [{"$ref": "#/components/schemas/Pet"}, {"properties": {"scales": {"type": "integer"}}}]},
    }
    values = generate_all({"$ref": "#/components/schemas/Lizard"}, "3.0", components)
    assert all(v["kind"] == "Lizard" for v in values)


def test_not() -> None:
    values = generate_all({"not": {"type": "string"}}, "3.1")
    assert not any(isinstance(v, str) for v in values)
    values = generate_all({"type": "string", "enum": ["a", "b", "c"], "not": {"enum": ["a", "b"]}}, "3.0")
    assert set(values) == {"c"}
    values = generate_all({"type": "integer", "minimum": 1, "maximum": 4, "not": {"multipleOf": 2}}, "3.1")
    assert set(values) <= {1, 3}


# ----------------------------------------------------------------------------- refs and recursion


@pytest.mark.parametrize("version", VERSIONS)
def test_recursive_ref_terminates(version: str) -> None:
    components = {"Node": {"type": "object", "required": ["value"], "properties": {
        "value": {"type": "integer"},
        "left": {"$ref": "#/components/schemas/Node"},
        "right": {"$ref": "#/components/schemas/Node"},
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}}
    values = generate_all({"$ref": "#/components/schemas/Node"}, version, components, max_depth=4)

    def depth(node: Any) -> int:
        kids = [node.get("left"), node.get("right"), *node.get("children", [])]
        return 1 + max((depth(k) for k in kids if k is not None), default=0)

    assert all(depth(v) <= 5 for v in values)
    assert depth(values[0]) > 2  # optional recursion is explored up to the limit


def test_recursive_one_of_tree_terminates() -> None:
    components = {"Tree": {"oneOf": [
        {"type": "object", "required": ["children"], "additionalProperties": False, "properties": {
            "children": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Tree"}}}},
        {"type": "string"}]}}
    generate_all({"$ref": "#/components/schemas/Tree"}, "3.1", components, max_depth=3)


def test_unsatisfiable_required_recursion_stops_cleanly() -> None:
    components = {"Loop": {"type": "object", "required": ["self"],
                           "properties": {"self": {"$ref": "#/components/schemas/Loop"}}},
                  "Cycle": {"allOf": [{"$ref": "#/components/schemas/Cycle"}], "type": "integer"}}
    gen, _ = make_generator("3.0", components, max_depth=2)
    value = gen.generate({"$ref": "#/components/schemas/Loop"}, random.Random(0))
    assert isinstance(value, dict) and json.dumps(value).count("self") <= 8
    assert isinstance(gen.generate({"$ref": "#/components/schemas/Cycle"}, random.Random(0)), int)


def test_relative_file_ref_across_resources() -> None:
    item_doc = {
        "Item": {"type": "object", "required": ["tag", "code"], "properties": {
            "tag": {"$ref": "#/Tag"}, "code": {"$ref": "common.yaml#/Code"}}},
        "Tag": {"type": "string", "enum": ["new", "used"]},
    }
    extra = {"file:///schemas/item.yaml": item_doc,
             "file:///schemas/common.yaml": {"Code": {"type": "string", "pattern": "^[A-Z]{2}$"}}}
    gen, registry = make_generator("3.1", extra=extra)
    for seed in SEEDS:
        value = gen.generate({"$ref": "schemas/item.yaml#/Item"}, random.Random(seed))
        assert value["tag"] in ("new", "used") and re.fullmatch("[A-Z]{2}", value["code"])
        assert_valid({"$ref": "file:///schemas/item.yaml#/Item"}, value, "3.1", registry)


# ----------------------------------------------------------------------------- examples


def test_valid_example_used_invalid_ignored() -> None:
    good = {"type": "integer", "minimum": 1, "example": 42}
    bad = {"type": "integer", "minimum": 1, "example": -5}
    assert generate_all(good, "3.0") == [42] * len(SEEDS)
    assert all(v >= 1 for v in generate_all(bad, "3.0"))
    wrong_type = {"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "example": "hi"}},
                  "example": {"a": 1}}
    assert generate_all(wrong_type, "3.1") == [{"a": "hi"}] * len(SEEDS)  # falls back to nested example


def test_examples_list_and_default_31() -> None:
    assert set(generate_all({"type": "string", "examples": ["first", "second"]}, "3.1")) == {"first"}
    assert set(generate_all({"type": "string", "default": "dflt"}, "3.1")) == {"dflt"}
    assert set(generate_all({"type": "string", "format": "email", "examples": ["nope"], "default": "a@b.io"},
                            "3.1")) == {"a@b.io"}


def test_example_format_checked_and_date_objects() -> None:
    assert "not-a-date" not in generate_all({"type": "string", "format": "date", "example": "not-a-date"}, "3.0")
    assert set(generate_all({"type": "string", "format": "date", "example": dt.date(2020, 1, 2)}, "3.0")) == {
        "2020-01-02"}


def test_example_leaking_write_only_is_rejected_in_responses() -> None:
    schema = {"type": "object", "properties": {"pw": {"type": "string", "writeOnly": True}, "n": {"type": "integer"}},
              "example": {"pw": "secret", "n": 1}}
    gen, _ = make_generator("3.0")
    assert "pw" not in gen.generate(schema, random.Random(0))
    assert gen.generate(schema, random.Random(0), direction="request") == {"pw": "secret", "n": 1}


def test_use_examples_false_ignores_examples_but_keeps_enum() -> None:
    values = generate_all({"type": "integer", "example": 42, "default": 42}, "3.0", use_examples=False)
    assert 42 not in values
    values = generate_all({"type": "string", "enum": ["x", "y"], "example": "x"}, "3.1", use_examples=False)
    assert set(values) == {"x", "y"}


# ----------------------------------------------------------------------------- determinism and API


def test_deterministic_per_seed_and_varies_across_seeds() -> None:
    components = {"Thing": {"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"}, "n": {"type": "number"}, "at": {"type": "string", "format": "date-time"},
        "code": {"type": "string", "pattern": "[^a-z]{5}"}, "tags": {"type": "array", "items": {"type": "string"}}}}}
    gen, _ = make_generator("3.1", components)
    schema = {"$ref": "#/components/schemas/Thing"}
    first = [json.dumps(gen.generate(schema, random.Random(s))) for s in SEEDS]
    other, _ = make_generator("3.1", components)
    assert first == [json.dumps(other.generate(schema, random.Random(s))) for s in SEEDS]
    assert len(set(first)) == len(first)


def test_invalid_arguments() -> None:
    registry = make_registry()
    with pytest.raises(ValueError):
        SchemaGenerator(registry.resolver(base_uri=SPEC_URI), openapi_version="2.0")
    gen, _ = make_generator("3.0")
    with pytest.raises(ValueError):
        gen.generate({"type": "string"}, random.Random(0), direction="sideways")


def test_boolean_schemas() -> None:
    gen, _ = make_generator("3.1")
    assert gen.generate(True, random.Random(0)) is not None
    value = gen.generate({"type": "object", "properties": {"never": False, "x": {"type": "integer"}}}, random.Random(0))
    assert set(value) == {"x"}


def test_is_valid_and_use_examples_accessors() -> None:
    components = {"Pw": {"type": "object", "required": ["pw"], "properties": {"pw": {"type": "string", "writeOnly": True}}}}
    gen, registry = make_generator("3.0", components, use_examples=False)
    assert gen.use_examples is False
    schema = {"$ref": "#/components/schemas/Pw"}
    assert gen.is_valid(schema, {})  # required writeOnly is not required in responses
    assert not gen.is_valid(schema, {}, direction="request")
    assert not gen.is_valid(schema, {"pw": "x"})  # and must not leak into them
    assert gen.is_valid(schema, {"pw": "x"}, registry.resolver(base_uri=SPEC_URI), direction="request")
    assert not gen.is_valid({"type": "string", "format": "date"}, "2020-13-45")


# ----------------------------------------------------------------------------- no valid value


def test_a_schema_no_value_satisfies_is_logged_once_with_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    gen, _ = make_generator("3.0")
    schema = {"type": "integer", "minimum": 5, "maximum": 1}
    with caplog.at_level("WARNING", logger="mocksrv.engine.generator"):
        for seed in SEEDS:
            gen.generate(schema, random.Random(seed))
    [record] = caplog.records
    assert record.getMessage().startswith(
        'no value valid under the schema {"type": "integer", "minimum": 5, "maximum": 1} found in 3 tries (')
    assert record.getMessage().endswith("); the closest one is used")


def test_a_satisfiable_schema_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    gen, _ = make_generator("3.1")
    with caplog.at_level("WARNING", logger="mocksrv.engine.generator"):
        for seed in SEEDS:
            gen.generate({"type": "string", "pattern": "^[a-z]{3}-[0-9]{2}$"}, random.Random(seed))
    assert caplog.records == []


# ----------------------------------------------------------------------------- size

def test_optional_properties_of_objects_two_levels_down_are_left_out() -> None:
    """A resource whose optional fields are themselves resources (a charge's customer, its
    invoice …) answered 40 KB for a 1.5 KB object when every optional field was filled."""
    leaf = {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"}, "note": {"type": "string"}, "more": {"type": "object"}}}
    schema = {"type": "object", "properties": {
        "title": {"type": "string"},
        "owner": {"type": "object", "required": ["account"], "properties": {
            "name": {"type": "string"},
            "account": leaf,
            "invoice": leaf,
        }},
        "lines": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
            "amount": {"type": "integer"},
            "price": {"type": "object", "properties": {"currency": {"type": "string"}}},
        }}},
    }}
    for value in generate_all(schema, "3.1"):
        assert set(value) == {"title", "owner", "lines"}  # the answer's own fields: all of them
        assert set(value["owner"]) == {"name", "account", "invoice"}  # a field's fields: all
        assert value["owner"]["account"].keys() == {"id"}  # deeper: what is required, and only that
        assert value["owner"]["invoice"].keys() == {"id"}
        # a list's items are as full as the objects themselves
        assert all(set(line) == {"amount", "price"} for line in value["lines"])
        assert all(set(line["price"]) == set() for line in value["lines"])
