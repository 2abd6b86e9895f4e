"""Who may call: API keys from the scenario (401), their scopes (403), their rate limit (429).

Runs after `security.authenticate` has found the credentials the spec asks for. An API
whose scenario lists no keys is in open mode: any well-formed credential is accepted.
Rate limits are fixed windows on the shared clock (window number = ``now // seconds``),
counted atomically in the store, per key per API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mocksrv.engine.security import Credential
from mocksrv.errors import Forbidden
from mocksrv.errors import TooManyRequests
from mocksrv.errors import Unauthorized
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.state.clock import Clock
from mocksrv.state.fixtures import ApiFixture
from mocksrv.state.fixtures import ApiKey
from mocksrv.state.store import Store


@dataclass
class Principal:
    """The caller: the fixture key it used (None in open mode) and that credential."""

    credential: Credential
    key: ApiKey | None

    @property
    def owner(self) -> str | None:
        return self.key.owner if self.key else None


def authorize(api: ApiSpec, operation: Operation, credentials: list[Credential],
              fixture: ApiFixture) -> Principal | None:
    """Check the credentials against the scenario's keys and the scopes the operation needs.

    :raise 401: unknown, revoked or expired key.
    :raise 403: the key lacks a scope the operation needs.
    """
    if not credentials:
        return None  # an open operation
    if not fixture.api_keys:
        return Principal(credentials[0], None)
    for credential in credentials:
        key = fixture.key(credential.value)
        if key is not None:
            break
    else:
        raise Unauthorized("invalid API key: it is not one of this API's keys", kind="invalid_credentials")
    if key.status == "revoked":
        raise Unauthorized("API key has been revoked", kind="revoked_credentials")
    if key.status == "expired":
        raise Unauthorized("API key has expired", kind="expired_credentials")
    missing = [scope for scope in needed_scopes(operation, fixture, credential) if scope not in key.scopes]
    if missing:
        raise Forbidden(f"Insufficient scope: {operation.key} needs {', '.join(missing)}", kind="insufficient_scope")
    return Principal(credential, key)


def needed_scopes(operation: Operation, fixture: ApiFixture, credential: Credential) -> list[str]:
    """Scopes from the scenario's ``operation_scopes``, plus the spec's oauth2/OIDC scopes."""
    scopes = list(fixture.operation_scopes.get(operation.operation_id or "", []))
    for requirement in operation.security:
        if credential.scheme in requirement:
            scopes.extend(s for s in requirement[credential.scheme] if s not in scopes)
            break
    return scopes


def throttle(api: ApiSpec, principal: Principal | None, fixture: ApiFixture, store: Store,
             clock: Clock) -> dict[str, str]:
    """Count this call in its key's window; return the X-RateLimit-* headers.

    :raise 429: the window's limit is used up (with ``Retry-After``).
    """
    if principal is None:
        return {}
    limit = (principal.key.rate_limit if principal.key else None) or fixture.rate_limit
    if limit is None:
        return {}
    now = clock.now()
    window = int(now // limit.window_seconds)
    reset_at = (window + 1) * limit.window_seconds
    allowed, remaining = store.window_hit(f"{api.id}\0{principal.credential.value}", window, limit.limit)
    headers = {
        "X-RateLimit-Limit": str(limit.limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(math.ceil(reset_at)),
    }
    if not allowed:
        headers["Retry-After"] = str(max(1, math.ceil(reset_at - now)))
        raise TooManyRequests(
            f"Rate limit exceeded. Maximum {limit.limit} requests per {limit.window_seconds} seconds.",
            headers=headers, kind="rate_limited")
    return headers
