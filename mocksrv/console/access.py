"""The console's credentials: the sign-in cookie and the signed preview URLs.

A browser cannot send ``Authorization: Bearer`` when it follows a link, so with
``--admin-token`` the console signs in through a form and keeps a cookie. The cookie
holds a value derived from the token (HMAC-SHA256 keyed by it), not the token itself:
it opens the console only, never the admin API, and a copy of it leaked from a browser
profile does not reveal the token. It is HttpOnly (no script reads it), SameSite=Strict
(no other site's page makes the browser send it) and scoped to ``/__mocksrv/ui``.

Email previews are served elsewhere (``/__mocksrv/preview``), outside that cookie's path,
so a preview is never sent a credential; its URL carries an HMAC of the message's
address under a per-process secret instead, and only console pages hand such URLs out.
"""

from __future__ import annotations

import hashlib
import hmac

SESSION_COOKIE = "mocksrv_console"
CONSOLE_PATH = "/__mocksrv/ui"
PREVIEW_PATH = "/__mocksrv/preview"
_SESSION_PURPOSE = b"mocksrv console session v1"


def session_value(token: str) -> str:
    """What the sign-in cookie holds for this admin token."""
    return hmac.new(token.encode(), _SESSION_PURPOSE, hashlib.sha256).hexdigest()


def is_session(cookie: str | None, token: str) -> bool:
    """Whether the cookie was set by signing in with ``token`` (constant-time)."""
    return bool(cookie) and hmac.compare_digest(str(cookie).encode(), session_value(token).encode())


def preview_signature(secret: bytes, api: str, record_id: str, session: str = "") -> str:
    """Signs one message of one world (``session``: "" for the server's own)."""
    message = f"preview\0{api}\0{record_id}\0{session}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def is_preview_signature(secret: bytes, api: str, record_id: str, given: str, session: str = "") -> bool:
    return hmac.compare_digest(given.encode(), preview_signature(secret, api, record_id, session).encode())


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page of this server, never another site."""
    if target and target.startswith(CONSOLE_PATH + "/") and "//" not in target and "\\" not in target:
        return target
    return CONSOLE_PATH + "/"
