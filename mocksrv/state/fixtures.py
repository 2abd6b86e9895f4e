"""Scenario fixtures: YAML files validated with marshmallow, one named scenario per file.

A scenario holds, per API id, its API keys (scopes, status, rate limit), the scopes each
operation needs, a default rate limit and seed records per collection. ``scenario:`` at
the top is reserved for metadata: a description and ``extends: OTHER`` (start from another
scenario; each API section key given here replaces the inherited one). Every problem is
reported with the file, the path inside it (``maxcare.api_keys[2].scopes``) and the reason.

Fixture files are data from wherever a team keeps them, so reading them is bounded: a size
limit, YAML aliases that may not expand past a node budget (the loader of `specs`), no alias
cycles, a nesting limit. ``extends`` names a scenario, or the file of one in the fixtures
folder; a path that leads out of the folder (``..``, an absolute path elsewhere, a symlink)
is refused with the file that names it.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import typing as t
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import yaml
from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from mocksrv.errors import FixtureError
from mocksrv.errors import StoreError
from mocksrv.openapi.specs import SPEC_SUFFIXES
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import load_yaml
from mocksrv.openapi.specs import yaml_problem
from mocksrv.state.rules import RuleSchema
from mocksrv.state.store import PackedRecord
from mocksrv.state.store import encode_record
from mocksrv.state.webhooks import SubscriptionSchema
from mocksrv.state.webhooks import as_subscription
from mocksrv.state.webhooks import url_problem

META_KEY = "scenario"
DEFAULT_SCENARIO = "default"
KEY_STATUSES = ("active", "revoked", "expired")
MAX_FIXTURE_BYTES = 50 * 1024 * 1024
MAX_FIXTURE_DEPTH = 100  # nesting levels of a fixture document; records are shallow, recursion is not


class RateLimitSchema(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    window_seconds = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class ApiKeySchema(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(required=True, validate=validate.Length(min=1))
    owner = fields.String(load_default=None, allow_none=True)
    scopes = fields.List(fields.String(), load_default=list)
    status = fields.String(load_default="active", validate=validate.OneOf(KEY_STATUSES))
    rate_limit = fields.Nested(RateLimitSchema, load_default=None, allow_none=True)
    description = fields.String(load_default=None, allow_none=True)


class RecordList(fields.Field[tuple[PackedRecord, ...]]):
    """A list of records: JSON objects, checked in one pass and packed as the store keeps them.

    Equivalent to ``List(Dict(keys=String()))`` with the same error shape, but without
    marshmallow deserializing every key of every record: 100 000 seed records loaded in
    about 3 s that way, in about a second this way. Each record is packed (`encode_record`)
    and the store then holds that very object: the parsed objects are dropped, and a
    scenario's records are in memory once (docs/performance.md).
    """

    def _deserialize(self, value: t.Any, attr: str | None, data: t.Any, **kwargs: t.Any) -> tuple[PackedRecord, ...]:
        if not isinstance(value, list):
            raise ValidationError("Not a valid list.")
        errors: dict[int, t.Any] = {}
        packed: list[PackedRecord] = []
        for index, record in enumerate(value):
            if not isinstance(record, dict):
                errors[index] = ["Not a valid mapping type."]
                continue
            bad = {key: {"key": ["Not a valid string."]} for key in record if not isinstance(key, str)}
            if bad:
                errors[index] = bad
                continue
            try:
                packed.append(encode_record(record))
            except StoreError:
                errors[index] = _not_json(record)
        if errors:
            raise ValidationError(errors)
        return tuple(packed)  # shared, never changed: by every scenario that extends this one, and by the store


def _http_url(url: str) -> None:
    problem = url_problem(url)
    if problem:
        raise ValidationError(problem)


def _not_json(value: t.Any) -> t.Any:
    """marshmallow-shaped messages leading to the first value in ``value`` that JSON cannot hold."""
    if isinstance(value, dict | list):
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(value, dict) and not isinstance(key, str):
                return {key: {"key": ["Not a valid string."]}}
            found = _not_json(item)
            if found is not None:
                return {key: found}
        return None
    if isinstance(value, datetime.date):  # a datetime is a date too
        return [f"YAML read {value} as a date or time, which JSON has not: quote it to keep it a string"]
    if isinstance(value, float) and not math.isfinite(value):
        return ["NaN and infinity are not JSON numbers"]
    if value is None or isinstance(value, str | int | float):
        return None
    return [f"a {type(value).__name__} is not a JSON value"]


class ApiFixtureSchema(Schema):
    class Meta:
        unknown = RAISE

    # no load defaults: a loaded section holds only what its file states, so `extends` can
    # override exactly those keys; `_build` supplies the defaults
    api_keys = fields.List(fields.Nested(ApiKeySchema))
    operation_scopes = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    rate_limit = fields.Nested(RateLimitSchema, allow_none=True)
    records = fields.Dict(keys=fields.String(validate=validate.Length(min=1)), values=RecordList())
    # settings of the API's behaviour module, validated by that module's own schema
    options = fields.Dict(keys=fields.String())
    rules = fields.List(fields.Nested(RuleSchema))
    webhooks = fields.List(fields.Nested(SubscriptionSchema))
    # the real API this one is proxied to (docs/proxy.md); --upstream on the command line wins
    upstream = fields.String(validate=_http_url)

    @validates_schema
    def _unique_keys(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        seen: dict[str, int] = {}
        for index, api_key in enumerate(data.get("api_keys") or []):
            if api_key["key"] in seen:
                raise ValidationError({"api_keys": {index: {"key": [
                    f"duplicate key {api_key['key']!r} (also api_keys[{seen[api_key['key']]}])"]}}})
            seen[api_key["key"]] = index


class ScenarioMetaSchema(Schema):
    class Meta:
        unknown = RAISE

    description = fields.String(load_default="")
    extends = fields.String(load_default=None, allow_none=True)


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class ApiKey:
    key: str
    owner: str | None
    scopes: tuple[str, ...]
    status: str
    rate_limit: RateLimit | None


@dataclass
class ApiFixture:
    """One API's part of a scenario."""

    api_keys: list[ApiKey] = field(default_factory=list)
    operation_scopes: dict[str, list[str]] = field(default_factory=dict)
    rate_limit: RateLimit | None = None
    records: dict[str, tuple[PackedRecord, ...]] = field(default_factory=dict)  # each as the store keeps it
    options: dict[str, t.Any] = field(default_factory=dict)
    rules: list[dict[str, t.Any]] = field(default_factory=list)
    webhooks: list[dict[str, t.Any]] = field(default_factory=list)  # subscriptions as stored (ids, secrets made)
    upstream: str | None = None  # the real API's base URL: proxied (docs/proxy.md)

    def key(self, value: str) -> ApiKey | None:
        return next((k for k in self.api_keys if k.key == value), None)


@dataclass
class Scenario:
    name: str
    source: Path | None
    description: str = ""
    apis: dict[str, ApiFixture] = field(default_factory=dict)

    def api(self, api_id: str) -> ApiFixture:
        """The API's fixture; an API the scenario does not mention gets an empty one (open mode)."""
        return self.apis.get(api_id) or ApiFixture()


def flatten_messages(messages: t.Any, prefix: str = "") -> list[str]:
    """marshmallow's nested ``messages`` → ``["maxcare.api_keys[2].scopes: Not a valid list."]``."""
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return [f"{prefix}: {m}" if prefix else m for m in messages]
        return [line for m in messages for line in flatten_messages(m, prefix)]
    if isinstance(messages, dict):
        lines: list[str] = []
        for key, value in messages.items():
            if key == "_schema" or (key == "value" and set(messages) <= {"key", "value"}):
                path = prefix  # marshmallow's Dict field reports an entry's value under "value"
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            lines.extend(flatten_messages(value, path))
        return lines
    return [f"{prefix}: {messages}"]


def _rate(data: dict[str, t.Any] | None) -> RateLimit | None:
    return RateLimit(**data) if data else None


def parse_scenario(name: str, document: t.Any, source: Path | None = None) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """Validate one scenario document; returns (metadata, raw API sections as loaded).

    :raise FixtureError: every problem, with its path.
    """
    where = str(source) if source else f"scenario {name!r}"
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise FixtureError(where, ["the file must be a mapping of API ids to fixtures"])
    problems: list[str] = []
    meta: dict[str, t.Any] = {"description": "", "extends": None}
    sections: dict[str, t.Any] = {}
    for api_id, section in document.items():
        if not isinstance(api_id, str):
            problems.append(f"{api_id!r}: API ids are strings")
            continue
        schema: Schema = ScenarioMetaSchema() if api_id == META_KEY else ApiFixtureSchema()
        try:
            loaded = schema.load(section if section is not None else {})
        except ValidationError as error:
            problems.extend(flatten_messages(error.messages, api_id))
            continue
        if api_id == META_KEY:
            meta = loaded
        else:
            sections[api_id] = loaded
    if problems:
        raise FixtureError(where, problems)
    return meta, sections


def _build(sections: dict[str, t.Any]) -> dict[str, ApiFixture]:
    apis: dict[str, ApiFixture] = {}
    for api_id, data in sections.items():
        apis[api_id] = ApiFixture(
            api_keys=[ApiKey(k["key"], k["owner"], tuple(k["scopes"]), k["status"], _rate(k["rate_limit"]))
                      for k in data.get("api_keys", [])],
            operation_scopes={op: list(scopes) for op, scopes in data.get("operation_scopes", {}).items()},
            rate_limit=_rate(data.get("rate_limit")),
            records=dict(data.get("records", {})),
            options=dict(data.get("options") or {}),
            rules=list(data.get("rules") or []),
            webhooks=[as_subscription(f"wh_{n}", loaded) for n, loaded in enumerate(data.get("webhooks") or [], 1)],
            upstream=data.get("upstream"),
        )
    return apis


class FixtureSet:
    """Every scenario file of a fixtures folder, validated; scenarios resolved on demand."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._raw: dict[str, tuple[Path, dict[str, t.Any], dict[str, t.Any]]] = {}
        problems: list[FixtureError] = []
        if folder is not None:
            if not folder.is_dir():
                raise FixtureError(str(folder), ["no such fixtures folder"])
            for path in sorted(p for p in folder.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file()):
                try:
                    meta, sections = parse_scenario(path.stem, _read(path), path)
                    meta["extends"] = self._base_name(meta.get("extends"), str(path))
                except FixtureError as error:
                    problems.append(error)
                    continue
                self._raw[path.stem] = (path, meta, sections)
        if problems:
            raise FixtureError(str(folder), [line for error in problems for line in error.lines()])

    def private_copy(self) -> FixtureSet:
        """The same scenarios (shared, not read again), for a session whose inline scenarios no one else sees."""
        twin = copy.copy(self)
        twin._raw = dict(self._raw)
        return twin

    def add(self, name: str, document: t.Any) -> None:
        """Register a scenario given inline (admin API), validated like a file.

        :raise FixtureError: with the path of each problem.
        """
        source = Path(f"<inline scenario {name}>")
        meta, sections = parse_scenario(name, _checked_tree(document, str(source)))
        meta["extends"] = self._base_name(meta.get("extends"), str(source))
        self._raw[name] = (source, meta, sections)

    def _base_name(self, extends: str | None, source: str) -> str | None:
        """The scenario ``extends`` names: a scenario name as is, or the file of one in the fixtures folder.

        :raise FixtureError: a path outside the fixtures folder, or to anything but a scenario file in it.
        """
        if extends is None:
            return None
        path = Path(extends)
        if not ({"/", "\\"} & set(extends) or path.is_absolute() or path.suffix in SPEC_SUFFIXES
                or extends in (".", "..")):
            return extends  # a name; whether it exists is checked when the scenario is resolved
        if self.folder is None:
            raise FixtureError(source, [f"scenario.extends: {extends!r} is a path, and there is no fixtures folder"])
        root = self.folder.resolve()
        target = (root / path).resolve()  # an absolute path stays itself; symlinks are followed
        if not target.is_relative_to(root):
            raise FixtureError(source, [f"scenario.extends: {extends!r} points outside the fixtures folder {root}"])
        if target.parent != root or target.suffix not in SPEC_SUFFIXES:
            raise FixtureError(source, [f"scenario.extends: {extends!r} is not a scenario file of the fixtures "
                                        f"folder {root} (name a scenario, e.g. extends: default)"])
        return target.stem

    @property
    def names(self) -> list[str]:
        return sorted(self._raw)

    def description(self, name: str) -> str:
        return str(self._raw[name][1].get("description") or "")

    def scenario(self, name: str) -> Scenario:
        """Resolve a scenario and what it extends.

        :raise FixtureError: unknown scenario, or an ``extends`` cycle.
        """
        if name not in self._raw:
            if name == DEFAULT_SCENARIO and not self._raw:
                return Scenario(name, None, "no fixtures: every API in open mode")
            known = ", ".join(self.names) or "none"
            raise FixtureError(str(self.folder), [f"no scenario named {name!r} (known: {known})"])
        chain: list[str] = []
        current: str | None = name
        while current is not None:
            if current in chain:
                cycle = " -> ".join([*chain, current])
                raise FixtureError(str(self._raw[name][0]), [f"scenario.extends: cycle {cycle}"])
            if current not in self._raw:
                raise FixtureError(str(self._raw[chain[-1]][0]), [f"scenario.extends: no scenario named {current!r}"])
            chain.append(current)
            current = self._raw[current][1].get("extends")
        merged: dict[str, dict[str, t.Any]] = {}
        for link in reversed(chain):
            for api_id, section in self._raw[link][2].items():
                merged.setdefault(api_id, {}).update(section)
        path, meta, _ = self._raw[name]
        return Scenario(name, path, str(meta.get("description") or ""), _build(merged))

    def check_against(self, apis: list[ApiSpec]) -> list[str]:
        """Cross-check every scenario with the loaded specs: API ids and operationIds must exist."""
        problems: list[str] = []
        by_id = {api.id: api for api in apis}
        for name, (path, _, sections) in self._raw.items():
            for api_id, section in sections.items():
                api = by_id.get(api_id)
                if api is None:
                    problems.append(f"{path}: {api_id}: no API with this id is loaded "
                                    f"(loaded: {', '.join(sorted(by_id)) or 'none'})")
                    continue
                known = {op.operation_id for op in api.operations if op.operation_id}
                for operation_id in section.get("operation_scopes", {}):
                    if operation_id not in known:
                        problems.append(f"{path}: {api_id}.operation_scopes.{operation_id}: no such operationId "
                                        f"in {api.source.name}")
                for index, rule in enumerate(section.get("rules", [])):
                    problems.extend(f"{path}: {api_id}.rules[{index}]: {p}" for p in rule_problems(api, rule))
            try:
                self.scenario(name)
            except FixtureError as error:
                problems.extend(error.lines())
        return problems


def rule_problems(api: ApiSpec, rule: dict[str, t.Any]) -> list[str]:
    """A validated rule checked against the spec: its operation exists and declares its status."""
    operations = [op for op in api.operations if rule.get("operation") in (None, op.operation_id, op.key)]
    if not operations:
        return [f"operation: no operation {rule['operation']!r} in {api.source.name}"]
    status = rule["then"].get("status")
    if status is None or rule.get("operation") is None:
        return []
    if operations[0].declares(status):
        return []
    declared = ", ".join(sorted(operations[0].response_keys))
    return [f"then.status: {operations[0].key} declares no {status} response (declared: {declared})"]


def _read(path: Path) -> t.Any:
    try:
        if path.stat().st_size > MAX_FIXTURE_BYTES:
            raise FixtureError(str(path), [f"file is larger than {MAX_FIXTURE_BYTES} bytes"])
        text = path.read_text(encoding="utf-8")
        # JSON for big generated fixtures: much faster than YAML, and it has no aliases to bound
        document = json.loads(text) if path.suffix == ".json" else load_yaml(text)
    except json.JSONDecodeError as exc:
        raise FixtureError(str(path), [f"not valid JSON: {exc}"]) from exc
    except RecursionError as exc:
        raise FixtureError(str(path), [f"nested deeper than {MAX_FIXTURE_DEPTH} levels"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(str(path), [f"cannot read file: {exc}"]) from exc
    except yaml.YAMLError as exc:
        raise FixtureError(str(path), [f"not valid YAML: {yaml_problem(exc)}"]) from exc
    return _checked_tree(document, str(path))


def _checked_tree(document: t.Any, source: str) -> t.Any:
    """``document`` if it is a tree of data at most `MAX_FIXTURE_DEPTH` levels deep.

    Depth is bounded so that nothing downstream recurses too deep. A YAML alias inside the
    node it names makes a cycle (infinitely deep), which no JSON store or response can hold.

    :raise FixtureError: a cycle, or too deep a nesting.
    """
    level = [document] if isinstance(document, dict | list) else []
    depth = 0
    while level:  # level by level: the document may be deeper than Python's recursion limit
        depth += 1
        if depth > MAX_FIXTURE_DEPTH:
            if _has_cycle(document):
                raise FixtureError(source, ["a YAML alias refers to a node that contains it (a cycle); "
                                            "fixtures must be trees of data"])
            raise FixtureError(source, [f"nested deeper than {MAX_FIXTURE_DEPTH} levels"])
        below = [child for node in level for child in (node.values() if isinstance(node, dict) else node)
                 if isinstance(child, dict | list)]
        level = list({id(child): child for child in below}.values())  # an alias shared by siblings: once
    return document


def _has_cycle(document: t.Any) -> bool:
    """Whether a container contains itself (three-colour depth-first search, no recursion)."""
    done: set[int] = set()
    on_path: set[int] = set()
    stack: list[tuple[t.Any, bool]] = [(document, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            done.add(id(node))
            continue
        if id(node) in on_path:
            return True
        if id(node) in done:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, False) for child in children if isinstance(child, dict | list))
    return False
