"""jsonschema-rs in front of openapi-core (mocksrv/quickaccept.py): it may only ever say "valid"
where openapi-core says valid.

Every JSON request and response schema (and decoded form body schema) of every spec in the repository, and a set of schemas
written to hit each translation rule, get values from mocksrv's own generator and broken copies
of them (a field dropped, null, the wrong type, too long, out of range, an extra field …). For
each value the quick check accepts, openapi-core's validator must accept it too. The tests
also count how many schemas translated and how often both agreed, so they cannot pass by
translating nothing.
"""

from __future__ import annotations

import copy
import random
import typing as t
from pathlib import Path

import pytest
import yaml

from conftest import DATA
from conftest import SPECS
from mocksrv.engine.fastpath.checks import JsonCheck
from mocksrv.engine.responses import Synthesizer
from mocksrv.engine.validation import ApiValidators
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import load_spec
from mocksrv.wire.media import FORM_MEDIA_TYPES
from mocksrv.wire.media import is_json

SPEC_FILES = [*sorted(SPECS.glob("*.yaml")), *sorted(DATA.glob("*.yaml")), DATA / "split" / "openapi.yaml",
              *sorted((DATA / "features").glob("*.yaml")), *sorted((DATA / "forms").glob("*.yaml"))]
ODD_VALUES: list[t.Any] = [None, 0, -1, 1.0, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 63, 2 ** 70, True, "", "x" * 300,
                           "not-an-email", "2024-13-45T99:00:00Z", "%%%", "\u0301\u0301", [], [None], {}, {"zz": 1}]


def json_checks(api: ApiSpec) -> t.Iterator[tuple[str, JsonCheck]]:
    """Every JSON request body and response body check of the API, built as the server builds them."""
    validators = ApiValidators(api)
    checks = validators.checks
    for operation in api.operations:
        body = operation.spec.get("requestBody")
        body, _ = api.deref(body) if body else ({}, None)
        for media_key in (body or {}).get("content") or {}:
            if media_key in FORM_MEDIA_TYPES:  # decoded form values, checked the same way when no file is sent
                check = checks.decoded_body_validator(operation, media_key, validators.unmarshallers.schema_validators)
            else:
                check = checks.body_validator(operation, media_key)
            if check is not None:
                yield f"{operation.key} request {media_key}", check
        for status, response in (operation.spec.get("responses") or {}).items():
            response, _ = api.deref(response)
            for media_key in (response or {}).get("content") or {}:
                if not is_json(media_key):
                    continue
                check = checks.response_check(operation, str(status), media_key)
                if check is not None:
                    yield f"{operation.key} {status} {media_key}", check


def mutations(value: t.Any, rng: random.Random, depth: int = 0) -> t.Iterator[t.Any]:
    """The value, then copies broken in one place each (at every level, a sample of odd values)."""
    yield value
    if depth > 3:
        return
    for odd in rng.sample(ODD_VALUES, 6):
        yield odd
    if isinstance(value, dict):
        for key in list(value):
            dropped = dict(value)
            del dropped[key]
            yield dropped
            for odd in rng.sample(ODD_VALUES, 4):
                yield {**value, key: odd}
            for inner in mutations(value[key], rng, depth + 1):
                yield {**value, key: inner}
        yield {**value, "unexpected_field": "x"}
    elif isinstance(value, list) and value:
        yield []
        yield value + value
        yield [*value, None]
        for inner in mutations(value[0], rng, depth + 1):
            yield [inner, *value[1:]]


def values_for(api: ApiSpec, check: JsonCheck, name: str) -> t.Iterator[t.Any]:
    synth = Synthesizer(api, seed=0)
    schema, resolver = api.deref(check.validator.validator.schema)
    rng = random.Random(name)
    for seed in range(3):
        yield from mutations(synth.generate(schema, resolver, name, seed), rng)


def assert_never_more_lenient(api: ApiSpec, name: str, check: JsonCheck) -> tuple[int, int]:
    """(values tried, values where both agreed); fails on any value accepted quickly but refused by openapi-core."""
    assert check.quick is not None
    tried = agreed = 0
    for value in values_for(api, check, name):
        value = copy.deepcopy(value)
        quick = check.quick(value)
        try:
            slow = bool(check.validator.validator.is_valid(value))
        except Exception:  # openapi-core's byte format raises on non-ASCII text: a refusal all the same
            slow = False
        assert not (quick and not slow), f"{api.id} {name}: quick check accepted {value!r}, openapi-core refuses it"
        tried += 1
        agreed += quick == slow
    return tried, agreed


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda path: path.stem)
def test_quick_check_never_accepts_what_openapi_core_refuses(path: Path) -> None:
    api = load_spec(path)
    translated = 0
    for name, check in json_checks(api):
        if check.quick is None:
            continue
        tried, agreed = assert_never_more_lenient(api, name, check)
        assert tried > 0
        assert agreed / tried > 0.9, f"{name}: only {agreed} of {tried} answers agree (too strict to be of use)"
        translated += 1
    if path.parent == SPECS:  # the bundled APIs are the hot path: most of their schemas must translate
        assert translated >= 5, f"{api.id}: only {translated} schemas have a quick check"


RULES_30 = {
    "NullableEnum": {"type": "string", "nullable": True, "enum": ["a", "b"]},
    "NullableRef": {"$ref": "#/components/schemas/Plain", "nullable": True},
    "Plain": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
    "Int32": {"type": "integer", "format": "int32"},
    "Int64Number": {"type": "number", "format": "int64"},
    "ExclusiveBounds": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10,
                        "exclusiveMaximum": False},
    "Formats": {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"},
                                                 "mail": {"type": "string", "format": "email"},
                                                 "blob": {"type": "string", "format": "byte"},
                                                 "id": {"type": "string", "format": "uuid"},
                                                 "day": {"type": "string", "format": "date"}}},
    "ReadWrite": {"type": "object", "required": ["id", "secret", "name"],
                  "properties": {"id": {"type": "string", "readOnly": True},
                                 "secret": {"type": "string", "writeOnly": True},
                                 "name": {"type": "string", "minLength": 1, "maxLength": 5}},
                  "additionalProperties": False},
    "Pattern": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]+$"},
    "Combined": {"oneOf": [{"type": "integer", "multipleOf": 3}, {"type": "string", "maxLength": 2}],
                 "not": {"enum": [9]}},
    "Items": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "uniqueItems": True},
    "MapOf": {"type": "object", "additionalProperties": {"type": "boolean"}, "maxProperties": 2},
}
RULES_31 = {
    "TypeList": {"type": ["string", "null"], "maxLength": 3},
    "Const": {"const": "fixed"},
    "Exclusive": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "ReadWrite": RULES_30["ReadWrite"],
    "Formats": RULES_30["Formats"],
    "Int32": RULES_30["Int32"],
}
NOT_TRANSLATED = {
    "WordPattern": {"type": "string", "pattern": "^\\w+$"},
    "FloatMultiple": {"type": "number", "multipleOf": 0.1},
    "Recursive": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Recursive"}}},
    "Discriminated": {"oneOf": [{"$ref": "#/components/schemas/Plain"}], "discriminator": {"propertyName": "n"}},
}


def rules_spec(tmp_path: Path, version: str, schemas: dict[str, t.Any]) -> ApiSpec:
    """One POST per schema, taking it as the request body and answering it as the response."""
    paths = {f"/{name}": {"post": {"operationId": name, "requestBody": {"content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{name}"}}}}, "responses": {"200": {
            "description": "ok", "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}}}}
        for name in schemas}
    all_schemas = {**schemas, "Plain": RULES_30["Plain"]}
    document = {"openapi": "3.1.0" if version == "3.1" else "3.0.3", "info": {"title": "rules", "version": "1"},
                "paths": paths, "components": {"schemas": all_schemas}}
    path = tmp_path / f"rules{version.replace('.', '')}.yaml"
    path.write_text(yaml.safe_dump(document))
    return load_spec(path)


@pytest.mark.parametrize(("version", "schemas"), [("3.0", RULES_30), ("3.1", RULES_31)], ids=["3.0", "3.1"])
def test_each_translation_rule_is_never_more_lenient(tmp_path: Path, version: str, schemas: dict[str, t.Any]) -> None:
    api = rules_spec(tmp_path, version, schemas)
    checks = dict(json_checks(api))
    for name, check in checks.items():
        assert check.quick is not None, f"{name} should translate"
        tried, agreed = assert_never_more_lenient(api, name, check)
        assert agreed / tried > 0.8, f"{name}: only {agreed} of {tried} answers agree"


def test_read_only_and_write_only_follow_openapi_cores_request_and_response_rules(tmp_path: Path) -> None:
    api = rules_spec(tmp_path, "3.0", {"ReadWrite": RULES_30["ReadWrite"]})
    checks = dict(json_checks(api))
    request, response = checks["ReadWrite request application/json"], checks["ReadWrite 200 application/json"]
    assert request.quick and response.quick
    assert request.quick({"name": "ab", "secret": "s"})  # readOnly id may be left out of a request …
    assert not request.quick({"name": "ab", "secret": "s", "id": "1"})  # … and may not be sent
    assert response.quick({"name": "ab", "id": "1"})  # writeOnly secret is never in a response
    assert not response.quick({"name": "ab", "id": "1", "secret": "s"})


def test_schemas_without_a_plain_equivalent_get_no_quick_check(tmp_path: Path) -> None:
    api = rules_spec(tmp_path, "3.0", NOT_TRANSLATED)
    quick = {name: check.quick for name, check in json_checks(api)}
    assert quick and all(check is None for check in quick.values()), quick
