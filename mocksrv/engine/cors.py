"""CORS for the mocked APIs, so that a browser app on another origin can call them.

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) to a mounted
path is answered 204 with the path's declared methods and the headers the browser asked
for, unless the spec declares ``OPTIONS`` there itself (then the spec answers). Every other
answer to a request with an ``Origin`` carries ``Access-Control-Allow-Origin`` (that origin)
and exposes every header it has beyond the CORS-safelisted ones (``X-RateLimit-*``,
``Retry-After``, ``Location``, the spec's own …), so the app can read them. Credentials are
allowed, so the origin is echoed, never ``*`` (browsers refuse ``*`` with credentials).
Requests without ``Origin`` (servers, SDKs, curl) get no CORS header at all. ``--no-cors``
turns it all off, ``--cors-origin`` limits the origins. The admin API and the console never
pass through here: they refuse cross-site callers (`admin.access`).
"""

from __future__ import annotations

from collections.abc import Collection

from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse

# response headers a browser script may read without being told (Fetch standard)
SAFELISTED = frozenset({"cache-control", "content-language", "content-length", "content-type", "expires",
                        "last-modified", "pragma"})
MAX_AGE = "7200"  # seconds a browser may reuse a preflight (Chromium's ceiling)


def is_preflight(request: MockRequest) -> bool:
    return (request.method == "OPTIONS" and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers)


class Cors:
    """:param origins: the origins allowed; None allows any."""

    def __init__(self, enabled: bool = True, origins: Collection[str] | None = None) -> None:
        self.enabled = enabled
        self.origins = frozenset(origin.rstrip("/") for origin in origins) if origins is not None else None

    def allows(self, origin: str | None) -> bool:
        return self.enabled and bool(origin) and (self.origins is None or str(origin) in self.origins)

    def preflight(self, request: MockRequest, methods: list[str]) -> MockResponse:
        """The 204 answer to a preflight for a path with these declared methods; without CORS
        headers (so the browser refuses) when the origin is not allowed."""
        origin = request.headers.get("Origin")
        headers = [("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")]
        if self.allows(origin):
            headers += [("Access-Control-Allow-Origin", str(origin)),
                        ("Access-Control-Allow-Methods", ", ".join(methods)),
                        ("Access-Control-Allow-Credentials", "true"),
                        ("Access-Control-Max-Age", MAX_AGE)]
            asked = request.headers.get("Access-Control-Request-Headers", "").strip()
            if asked:
                headers.append(("Access-Control-Allow-Headers", asked))
        return MockResponse(204, headers, b"")

    def decorate(self, origin: str | None, response: MockResponse) -> None:
        """Add the CORS headers an answer to ``origin`` needs (in place); none without an allowed origin."""
        if not self.allows(origin) or any(name == "Access-Control-Allow-Origin" for name, _ in response.headers):
            return
        exposed = list(dict.fromkeys(name for name, _ in response.headers if name.lower() not in SAFELISTED))
        response.headers += [("Access-Control-Allow-Origin", str(origin)), ("Access-Control-Allow-Credentials", "true"),
                             ("Vary", "Origin")]
        if exposed:
            response.headers.append(("Access-Control-Expose-Headers", ", ".join(exposed)))
