"""Route a request path and method to one operation of one mounted API.

Built once at start-up: per API, its path templates compiled to regexes and ordered so
that literal segments win over templated ones (``/emails/send`` before ``/emails/{id}``).
Raises `UndeclaredPath` (404) for an unknown path and `MethodNotAllowed` (405, with ``Allow``)
for a known path with another method.

A path parameter is one segment. Only a path that matches no template that way is matched
again with parameters that may span segments: granian hands the application the path
percent-decoded, so ``/plugins/a%2Fb/push`` arrives as ``/plugins/a/b/push``, and some APIs
take names with slashes as they are (Docker's ``/images/library/ubuntu/json``).
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
    spanning: re.Pattern[str]  # the same with parameters that may hold "/" (the second pass)
    names: list[str]
    operations: dict[str, Operation]  # by lower-case method


def _compile(template: str, parameter: str = "[^/]+") -> tuple[re.Pattern[str], list[str]]:
    """``parameter``: the regex of one path parameter's value; by default one segment ("."
    is allowed, so that /files/{name}.json still works)."""
    names: list[str] = []
    regex = ""
    position = 0
    for found in TEMPLATE_PARAM.finditer(template):
        regex += re.escape(template[position:found.start()])
        names.append(found.group(1))
        regex += f"(?P<p{len(names) - 1}>{parameter})"
        position = found.end()
    regex += re.escape(template[position:])
    return re.compile(f"^{regex}/?$" if template != "/" else "^/?$"), names


def _navigates(match: re.Match[str]) -> bool:
    """A value spanning segments that holds ``.`` or ``..`` as one: path navigation, not a name."""
    return any(segment in (".", "..") for value in match.groups() for segment in value.split("/"))


def _priority(template: str) -> tuple[tuple[int, int], ...]:
    """Sort key: segment by segment, literal segments (0) before templated ones (1)."""
    segments = template.strip("/").split("/")
    return tuple((1 if "{" in segment else 0, -len(segment)) for segment in segments)


class Router:
    """Maps ``(method, path)`` to a `Match`; one instance serves every mounted API."""

    def __init__(self, apis: list[ApiSpec]) -> None:
        self._apis = {api.id: api for api in apis}
        self._routes: dict[str, list[_Route]] = {}
        self._spanning: dict[str, list[_Route]] = {}
        for api in apis:
            by_template: dict[str, _Route] = {}
            for operation in api.operations:
                route = by_template.get(operation.template)
                if route is None:
                    pattern, names = _compile(operation.template)
                    spanning, _ = _compile(operation.template, "[^/].*?")
                    route = by_template[operation.template] = _Route(operation.template, pattern, spanning, names, {})
                route.operations[operation.method] = operation
            self._routes[api.id] = sorted(by_template.values(), key=lambda r: _priority(r.template))
            # spanning, the template with the most segments first: /users/{id} would take all of /users/a/b/files/c
            self._spanning[api.id] = sorted(self._routes[api.id], key=lambda r: -r.template.count("/"))

    def match(self, method: str, path: str) -> Match:
        """Find the operation for a request.

        :raise 404: no API is mounted there, or the API has no such path.
        :raise 405: the path exists but not with this method.
        """
        api = self._api_for(path)
        rest = path[len(api.mount):] or "/"
        method = method.lower()
        allowed: list[str] = []
        for route, found in self._matching(api, rest):
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
        methods = [m.upper() for route, _ in self._matching(api, rest) for m in route.operations]
        return (api.id, list(dict.fromkeys(methods))) if methods else None

    def _matching(self, api: ApiSpec, rest: str) -> list[tuple[_Route, re.Match[str]]]:
        """The routes ``rest`` matches, in priority order: one segment per parameter, or, when
        none matches so, with parameters spanning segments."""
        found = [(route, match) for route in self._routes[api.id] if (match := route.pattern.match(rest))]
        return found or [(route, match) for route in self._spanning[api.id]
                         if (match := route.spanning.match(rest)) and not _navigates(match)]

    def _api_for(self, path: str) -> ApiSpec:
        first = path.lstrip("/").split("/", 1)[0]
        api = self._apis.get(first)
        if api is None:
            known = ", ".join(sorted(self._apis)) or "none"
            raise UndeclaredPath(f"no API is mounted at /{first}; mounted APIs: {known}")
        if not (path == api.mount or path.startswith(api.mount + "/") or api.base_path == ""):
            raise UndeclaredPath(f"API {api.id!r} is served under {api.mount}")
        return api
