"""Build a valid request for any operation of any spec, from its schemas (test helper).

Used to try the engine on specs it has never seen: every operation gets a request made
from its own parameter and body schemas, with a credential for its first security
requirement.
"""

from __future__ import annotations

import base64
import json
import random
import typing as t

from mocksrv.engine.generator import SchemaGenerator
from mocksrv.engine.responses import header_value
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation


def _scalar(value: t.Any) -> str:
    return header_value(value)


def build_request(api: ApiSpec, operation: Operation, seed: int = 0) -> dict[str, t.Any]:
    """Keyword arguments for ``requests.request`` (method, url path, params, headers, body)."""
    rng = random.Random(f"{api.id}|{operation.key}|{seed}")

    generator = SchemaGenerator(api.resolver, openapi_version=api.version)

    def generate(schema: t.Any, resolver: t.Any) -> t.Any:
        return generator.generate(schema, rng, direction="request", resolver=resolver)

    path = operation.template
    params: dict[str, t.Any] = {}
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    declared = [*(operation.path_item.get("parameters") or []), *(operation.spec.get("parameters") or [])]
    for node in declared:
        param, resolver = api.deref(node)
        schema, schema_resolver = api.deref(param.get("schema", {"type": "string"}), resolver)
        value = param["example"] if "example" in param else generate(schema, schema_resolver)
        where = param["in"]
        if where == "path":
            path = path.replace("{" + param["name"] + "}", str(_scalar(value)))
        elif where == "query":
            params[param["name"]] = value if isinstance(value, list) else _scalar(value)
        elif where == "header":
            headers[param["name"]] = _scalar(value)
        elif where == "cookie":
            cookies[param["name"]] = _scalar(value)
    kwargs: dict[str, t.Any] = {"method": operation.method.upper(), "path": path, "params": params,
                                "headers": headers, "cookies": cookies}
    _add_credentials(api, operation, kwargs)
    body, resolver = api.deref(operation.spec.get("requestBody"))
    if isinstance(body, dict) and body.get("content"):
        media_type = next(iter(body["content"]))
        media, media_resolver = api.deref(body["content"][media_type], resolver)
        schema, schema_resolver = api.deref(media.get("schema", {}), media_resolver)
        value = generate(schema, schema_resolver)
        if media_type == "application/x-www-form-urlencoded":
            kwargs["data"] = {k: _scalar(v) for k, v in value.items()}
        elif media_type == "multipart/form-data":
            kwargs["files"] = [(k, (None, _scalar(v))) for k, v in value.items()]
        elif "json" in media_type:
            kwargs["data"] = json.dumps(value)
            headers["Content-Type"] = media_type
        else:
            kwargs["data"] = str(value).encode()
            headers["Content-Type"] = media_type
    return kwargs


def _add_credentials(api: ApiSpec, operation: Operation, kwargs: dict[str, t.Any]) -> None:
    if not operation.security:
        return
    schemes = (api.document.get("components") or {}).get("securitySchemes") or {}
    for name in operation.security[0]:
        scheme, _ = api.deref(schemes.get(name, {}))
        kind = str(scheme.get("type", "")).lower()
        if kind == "apikey":
            target = {"header": "headers", "query": "params", "cookie": "cookies"}[scheme["in"]]
            kwargs[target][scheme["name"]] = "test-key"
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            kwargs["headers"]["Authorization"] = "Basic " + base64.b64encode(b"user:pass").decode()
        else:
            kwargs["headers"]["Authorization"] = "Bearer test-token"
