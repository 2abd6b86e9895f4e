"""What the console's APIs page shows: each mounted API, its security, the scenario's keys, curl lines."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from mocksrv.console.curl import curl_command
from mocksrv.console.examples import Example
from mocksrv.engine.pipeline import Pipeline
from mocksrv.openapi.specs import ApiSpec
from mocksrv.state.fixtures import ApiKey

Json = t.Any


@dataclass(frozen=True)
class SchemeView:
    name: str
    summary: str  # "HTTP bearer token in Authorization", "API key in header X-API-Key"
    description: str


@dataclass(frozen=True)
class KeyView:
    masked: str
    owner: str | None
    scopes: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class OperationView:
    method: str
    path: str
    key: str  # operationId, or "METHOD /path"
    summary: str
    curl: str
    status: int | None  # what a fresh copy of the scenario answered the curl line with
    works: bool


@dataclass(frozen=True)
class ApiView:
    id: str
    title: str
    version: str
    base_url: str
    source: str
    schemes: list[SchemeView]
    keys: list[KeyView]
    open_mode: bool  # the scenario lists no keys: any credential is accepted
    operations: list[OperationView]
    warnings: list[str]


def describe_apis(pipeline: Pipeline, root_url: str, examples: dict[tuple[str, str], Example]) -> list[ApiView]:
    """:param root_url: the server's own URL as the browser reached it, no trailing slash."""
    views = []
    for api in pipeline.apis:
        fixture = pipeline.state.scenario.api(api.id)
        operations = []
        for operation in api.operations:
            example = examples[(api.id, operation.key)]
            operations.append(OperationView(
                operation.method.upper(), operation.template, operation.key,
                str(operation.spec.get("summary") or ""), curl_command(root_url, example.request),
                example.status, example.works))
        views.append(ApiView(api.id, api.title, api.api_version, root_url + api.mount, api.source.name,
                             scheme_views(api), [key_view(key) for key in fixture.api_keys],
                             not fixture.api_keys, operations, list(api.warnings)))
    return views


def scheme_views(api: ApiSpec) -> list[SchemeView]:
    return [SchemeView(name, scheme_summary(scheme), str(scheme.get("description") or ""))
            for name, scheme in api.security_schemes.items()]


def scheme_summary(scheme: dict[str, Json]) -> str:
    kind = str(scheme.get("type", "")).lower()
    if kind == "apikey":
        return f"API key in {scheme.get('in')} {scheme.get('name')}"
    if kind == "http":
        http = str(scheme.get("scheme", "")).lower()
        token = f" ({scheme['bearerFormat']})" if scheme.get("bearerFormat") else ""
        return f"HTTP {http} token{token} in Authorization" if http == "bearer" else f"HTTP {http} in Authorization"
    if kind in ("oauth2", "openidconnect"):
        return f"{scheme.get('type')}: a bearer token in Authorization"
    return str(scheme.get("type", "unknown"))


def key_view(key: ApiKey) -> KeyView:
    return KeyView(mask_key(key.key), key.owner, key.scopes, key.status)


def mask_key(key: str) -> str:
    """A prefix long enough to tell keys apart (``mk_l…``), never most of the key."""
    return key[:max(1, min(6, len(key) // 3))] + "…"
