"""Who may call the admin API and the console, shared by both.

Without ``--admin-token``: loopback clients addressing the server by a loopback name only (a
page re-pointed at 127.0.0.1 by DNS rebinding still names its own host). With it: whoever holds
the token (a Bearer header, or a console session). Either way a state change
(POST/PUT/PATCH/DELETE) coming from another site's page is refused, and no response carries
CORS headers: a page elsewhere could otherwise drive the admin API of a server on 127.0.0.1
through the visitor's browser.
"""

from __future__ import annotations

import hmac
import ipaddress
import typing as t
from urllib.parse import urlsplit

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request


def admin_token() -> str | None:
    """The ``--admin-token`` this server was started with, if any."""
    return t.cast("str | None", current_app.extensions["mocksrv"].options.admin_token)


def problem(status: int, detail: str) -> Response:
    titles = {401: "Unauthorized", 403: "Admin request refused", 404: "Not Found", 409: "Conflict"}
    response = jsonify({"type": "about:blank", "title": titles.get(status, "Bad Request"), "status": status,
                        "detail": detail})
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# the Fetch metadata values a browser sends for requests made by the server's own pages (or typed URLs)
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def strip_cors(response: Response) -> Response:
    """No ``Access-Control-*`` header ever leaves the admin side, so no other site may read it."""
    for name in [name for name in response.headers.keys() if name.lower().startswith("access-control-")]:
        del response.headers[name]
    return response


def refuse_cross_site() -> Response | None:
    """403 for a state change sent by a page of another site (CSRF), else None.

    Browsers say where a request comes from in ``Origin`` and ``Sec-Fetch-Site``; a
    client that is not a browser (curl, a test's HTTP client) sends neither and passes.
    """
    if request.method not in MUTATING_METHODS:
        return None
    site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if site and site not in OWN_FETCH_SITES:
        return problem(403, f"cross-site request refused: a page of another site ({site}) may not change the "
                            "mock's state; use the console on this server, or a client that is not a browser")
    origin = request.headers.get("Origin")
    if origin is not None and not is_own_origin(origin):
        return problem(403, f"cross-site request refused: Origin {origin!r} is not this server "
                            f"({request.scheme}://{request.host}); the admin API takes state changes from "
                            "its own pages or from clients that are not browsers")
    return None


def is_own_origin(origin: str) -> bool:
    """Whether ``origin`` names this server as the request addressed it (``Host``)."""
    given, own = _host_port(origin.strip()), _host_port(f"{request.scheme}://{request.host}")
    # "null" (sandboxed frames, file:// pages) names no host; the scheme is not compared: behind a
    # TLS-terminating proxy the server itself sees http
    return given is not None and given == own


def _host_port(origin: str) -> tuple[str, int | None] | None:
    """``("127.0.0.1", 4010)`` for ``http://127.0.0.1:4010``, port None when it is the scheme's default (80 or
    443: a proxy may terminate TLS); None for anything that is not an origin."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:  # a bracket left open, a port that is not a number
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.hostname, None if port == {"http": 80, "https": 443}[parts.scheme] else port


def bearer_credential() -> str:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def holds_token(given: str) -> bool:
    """Whether ``given`` is the admin token; constant-time, so a guess learns nothing from the timing."""
    token = admin_token()
    return token is not None and token != "" and hmac.compare_digest(given.encode(), token.encode())


def refuse_caller(authenticated: bool) -> Response | None:
    """With ``--admin-token``, 401 unless ``authenticated``; without it, 403 unless the client is local.

    :param authenticated: the caller proved it holds the token (a Bearer header, a console session).
    """
    if admin_token():
        if authenticated:
            return None
        response = problem(401, "the admin API needs 'Authorization: Bearer <admin token>'")
        response.headers["WWW-Authenticate"] = 'Bearer realm="mocksrv-admin"'
        return response
    try:
        remote = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
    except ValueError:
        remote = None
    if remote is None or not remote.is_loopback:
        return problem(403, "the admin API answers loopback clients only (start with --admin-token to allow others)")
    named = _host_port(f"{request.scheme}://{request.host}")
    if named is None or not _is_loopback_name(named[0]):
        # a page whose host name was re-pointed at 127.0.0.1 (DNS rebinding) reaches a local server as a local
        # client, but its requests still name that host
        return problem(403, f"the admin API answers requests addressed to a loopback name only (Host: "
                            f"{request.host}); use 127.0.0.1 or localhost, or start with --admin-token")
    return None


def _is_loopback_name(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
