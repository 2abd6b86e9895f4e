"""Route a request path and method to one operation of one mounted API.

Built once at start-up: per API, its path templates compiled to regexes and ordered so
that literal segments win over templated ones (``/emails/send`` before ``/emails/{id}``).
Raises `UndeclaredPath` (404) for an unknown path and `MethodNotAllowed` (405, with ``Allow``)
for a known path with another method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from mocksrv.errors import MethodNotAllowed
from mocksrv.errors import UndeclaredPath
from mocksrv.exchange import Match
from mocksrv.openapi.specs import TEMPLATE_PARAM
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation


@dataclass
class _Route:
    template: str
    pattern: re.Pattern[str]
    names: list[str]
    operations: dict[str, Operation]  # by lower-case method


def _compile(template: str) -> tuple[re.Pattern[str], list[str]]:
    names: list[str] = []
    regex = ""
    position = 0
    for found in TEMPLATE_PARAM.finditer(template):
        regex += re.escape(template[position:found.start()])
        names.append(found.group(1))
        # one path segment; "." is allowed so that /files/{name}.json still works
        regex += f"(?P<p{len(names) - 1}>[^/]+)"
        position = found.end()
    regex += re.escape(template[position:])
    return re.compile(f"^{regex}/?$" if template != "/" else "^/?$"), names


def _priority(template: str) -> tuple[tuple[int, int], ...]:
    """Sort key: segment by segment, literal segments (0) before templated ones (1)."""
    segments = template.strip("/").split("/")
    return tuple((1 if "{" in segment else 0, -len(segment)) for segment in segments)


class Router:
    """Maps ``(method, path)`` to a `Match`; one instance serves every mounted API."""

    def __init__(self, apis: list[ApiSpec]) -> None:
        self._apis = {api.id: api for api in apis}
        self._routes: dict[str, list[_Route]] = {}
        for api in apis:
            by_template: dict[str, _Route] = {}
            for operation in api.operations:
                route = by_template.get(operation.template)
                if route is None:
                    pattern, names = _compile(operation.template)
                    route = by_template[operation.template] = _Route(operation.template, pattern, names, {})
                route.operations[operation.method] = operation
            self._routes[api.id] = sorted(by_template.values(), key=lambda r: _priority(r.template))

    def match(self, method: str, path: str) -> Match:
        """Find the operation for a request.

        :raise 404: no API is mounted there, or the API has no such path.
        :raise 405: the path exists but not with this method.
        """
        api = self._api_for(path)
        rest = path[len(api.mount):] or "/"
        method = method.lower()
        allowed: list[str] = []
        for route in self._routes[api.id]:
            found = route.pattern.match(rest)
            if found is None:
                continue
            operation = route.operations.get(method)
            if operation is None:
                allowed.extend(m.upper() for m in route.operations if m.upper() not in allowed)
                continue
            params = {name: unquote(found.group(f"p{i}")) for i, name in enumerate(route.names)}
            return Match(api=api, operation=operation, path_params=params)
        error: MethodNotAllowed | UndeclaredPath
        if allowed:
            error = MethodNotAllowed(
                f"{method.upper()} is not allowed on {path}; allowed: {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        else:
            error = UndeclaredPath(f"no operation of API {api.id!r} matches the path {rest}")
        error.api_id = api.id  # the journal files it under the API it was meant for
        raise error

    def methods_at(self, path: str) -> tuple[str, list[str]] | None:
        """The API mounted at ``path`` and the methods its spec declares for it (upper-case);
        None when no operation is there."""
        try:
            api = self._api_for(path)
        except UndeclaredPath:
            return None
        rest = path[len(api.mount):] or "/"
        methods = [m.upper() for route in self._routes[api.id] if route.pattern.match(rest) for m in route.operations]
        return (api.id, list(dict.fromkeys(methods))) if methods else None

    def _api_for(self, path: str) -> ApiSpec:
        first = path.lstrip("/").split("/", 1)[0]
        api = self._apis.get(first)
        if api is None:
            known = ", ".join(sorted(self._apis)) or "none"
            raise UndeclaredPath(f"no API is mounted at /{first}; mounted APIs: {known}")
        if not (path == api.mount or path.startswith(api.mount + "/") or api.base_path == ""):
            raise UndeclaredPath(f"API {api.id!r} is served under {api.mount}")
        return api
