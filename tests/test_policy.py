"""Who may call, in process: the scenario's keys (401), their scopes (403), their rate limits (429)."""

from __future__ import annotations

import typing as t
from datetime import UTC
from datetime import datetime
from types import SimpleNamespace

import pytest

from mocksrv.engine.policy import Principal
from mocksrv.engine.policy import authorize
from mocksrv.engine.policy import throttle
from mocksrv.engine.security import Credential
from mocksrv.errors import Forbidden
from mocksrv.errors import TooManyRequests
from mocksrv.errors import Unauthorized
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.state.clock import Clock
from mocksrv.state.fixtures import ApiFixture
from mocksrv.state.fixtures import ApiKey
from mocksrv.state.fixtures import RateLimit
from mocksrv.state.store import EmbeddedStore

MAIL = t.cast(ApiSpec, SimpleNamespace(id="mail"))
SHOP = t.cast(ApiSpec, SimpleNamespace(id="shop"))
BEARER = Credential("bearerAuth", "bearer", "k_live")
# 10:00:05 UTC: 5 s into a minute window, 5 s into a 10 s window
START = datetime(2026, 1, 1, 10, 0, 5, tzinfo=UTC)


def _operation(security: list[dict[str, list[str]]], operation_id: str | None = "sendEmail") -> Operation:
    return Operation(method="post", template="/emails", operation_id=operation_id, spec={}, path_item={},
                     security=security)


def _key(key: str = "k_live", *, status: str = "active", scopes: tuple[str, ...] = (),
         rate_limit: RateLimit | None = None, owner: str | None = "ann") -> ApiKey:
    return ApiKey(key=key, owner=owner, scopes=scopes, status=status, rate_limit=rate_limit)


SEND = _operation([{"bearerAuth": []}])


def test_an_open_operation_has_no_caller_and_no_limit() -> None:
    fixture = ApiFixture(api_keys=[_key()], rate_limit=RateLimit(1, 60))
    assert authorize(MAIL, SEND, [], fixture) is None
    assert throttle(MAIL, None, fixture, EmbeddedStore(), Clock(START)) == {}


def test_open_mode_accepts_any_credential_without_an_owner() -> None:
    principal = authorize(MAIL, SEND, [BEARER], ApiFixture())
    assert principal == Principal(BEARER, None) and principal.owner is None


def test_a_known_key_is_the_caller_with_its_owner() -> None:
    principal = authorize(MAIL, SEND, [BEARER], ApiFixture(api_keys=[_key("other"), _key()]))
    assert principal is not None and principal.key == _key() and principal.owner == "ann"


def test_of_several_credentials_the_one_that_is_a_key_counts() -> None:
    both = [Credential("basicAuth", "basic", "user:pw"), BEARER]
    principal = authorize(MAIL, _operation([{"basicAuth": [], "bearerAuth": []}]), both, ApiFixture(api_keys=[_key()]))
    assert principal is not None and principal.credential == BEARER


@pytest.mark.parametrize(("status", "message", "kind"), [
    (None, "invalid API key: it is not one of this API's keys", "invalid_credentials"),
    ("revoked", "API key has been revoked", "revoked_credentials"),
    ("expired", "API key has expired", "expired_credentials"),
])
def test_unknown_revoked_and_expired_keys_are_401(status: str | None, message: str, kind: str) -> None:
    keys = [_key(status=status)] if status else [_key("someone-else")]
    with pytest.raises(Unauthorized) as raised:
        authorize(MAIL, SEND, [BEARER], ApiFixture(api_keys=keys))
    assert (raised.value.detail, raised.value.kind, raised.value.status) == (message, kind, 401)


def test_scopes_come_from_the_scenario_and_from_the_spec_requirement_of_the_credential_used() -> None:
    operation = _operation([{"apiKey": ["admin"]}, {"bearerAuth": ["emails:write", "emails:read"]},
                            {"bearerAuth": ["never"]}])
    fixture = ApiFixture(api_keys=[_key(scopes=("emails:write",))],
                         operation_scopes={"sendEmail": ["emails:send", "emails:write"]})
    with pytest.raises(Forbidden) as raised:
        authorize(MAIL, operation, [BEARER], fixture)
    # each missing scope named once, in order; "admin" belongs to another scheme, "never" to a later alternative
    assert raised.value.detail == "Insufficient scope: sendEmail needs emails:send, emails:read"
    assert (raised.value.kind, raised.value.status) == ("insufficient_scope", 403)
    enough = ApiFixture(api_keys=[_key(scopes=("emails:send", "emails:write", "emails:read"))],
                        operation_scopes=fixture.operation_scopes)
    assert authorize(MAIL, operation, [BEARER], enough) is not None


def test_scenario_scopes_apply_by_operation_id_only() -> None:
    fixture = ApiFixture(api_keys=[_key()], operation_scopes={"other": ["x"]})
    assert authorize(MAIL, _operation([{"bearerAuth": []}], operation_id=None), [BEARER], fixture) is not None


def test_the_rate_limit_headers_count_down_then_429_until_the_window_ends() -> None:
    store, clock = EmbeddedStore(), Clock(START, frozen=True)
    fixture = ApiFixture(api_keys=[_key()], rate_limit=RateLimit(limit=2, window_seconds=60))
    principal = authorize(MAIL, SEND, [BEARER], fixture)
    reset = str(int(START.timestamp()) + 55)  # the minute window ends 55 s later
    assert throttle(MAIL, principal, fixture, store, clock) == {
        "X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": reset}
    assert throttle(MAIL, principal, fixture, store, clock)["X-RateLimit-Remaining"] == "0"
    clock.advance(54.5)
    with pytest.raises(TooManyRequests) as raised:
        throttle(MAIL, principal, fixture, store, clock)
    assert raised.value.detail == "Rate limit exceeded. Maximum 2 requests per 60 seconds."
    assert raised.value.kind == "rate_limited"
    assert raised.value.headers == {"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0",
                                    "X-RateLimit-Reset": reset, "Retry-After": "1"}  # 0.5 s, rounded up
    clock.advance(0.5)  # the next window
    assert throttle(MAIL, principal, fixture, store, clock)["X-RateLimit-Remaining"] == "1"


def test_retry_after_is_the_seconds_left_in_the_window_rounded_up() -> None:
    store, clock = EmbeddedStore(), Clock(START, frozen=True)
    fixture = ApiFixture(rate_limit=RateLimit(limit=1, window_seconds=60))
    principal = Principal(BEARER, None)
    throttle(MAIL, principal, fixture, store, clock)
    clock.advance(0.25)
    with pytest.raises(TooManyRequests) as raised:
        throttle(MAIL, principal, fixture, store, clock)
    assert raised.value.headers["Retry-After"] == "55"  # 54.75 s left


def test_a_keys_own_limit_beats_the_apis_and_counts_are_per_key_and_api() -> None:
    store, clock = EmbeddedStore(), Clock(START, frozen=True)
    fixture = ApiFixture(api_keys=[_key(rate_limit=RateLimit(1, 10)), _key("k_other")],
                         rate_limit=RateLimit(limit=5, window_seconds=60))
    own = authorize(MAIL, SEND, [BEARER], fixture)
    other = authorize(MAIL, SEND, [Credential("bearerAuth", "bearer", "k_other")], fixture)
    assert throttle(MAIL, own, fixture, store, clock)["X-RateLimit-Limit"] == "1"
    with pytest.raises(TooManyRequests, match="Maximum 1 requests per 10 seconds"):
        throttle(MAIL, own, fixture, store, clock)
    assert throttle(MAIL, other, fixture, store, clock)["X-RateLimit-Remaining"] == "4"
    assert throttle(SHOP, own, fixture, store, clock)["X-RateLimit-Remaining"] == "0"  # another API: its own count


def test_two_keys_under_the_apis_limit_are_counted_apart() -> None:
    store, clock = EmbeddedStore(), Clock(START, frozen=True)
    fixture = ApiFixture(api_keys=[_key(), _key("k_other")], rate_limit=RateLimit(limit=2, window_seconds=60))
    first = authorize(MAIL, SEND, [BEARER], fixture)
    second = authorize(MAIL, SEND, [Credential("bearerAuth", "bearer", "k_other")], fixture)
    assert [throttle(MAIL, first, fixture, store, clock)["X-RateLimit-Remaining"] for _ in range(2)] == ["1", "0"]
    assert throttle(MAIL, second, fixture, store, clock)["X-RateLimit-Remaining"] == "1"


def test_no_limit_anywhere_means_no_headers() -> None:
    fixture = ApiFixture(api_keys=[_key()])
    assert throttle(MAIL, authorize(MAIL, SEND, [BEARER], fixture), fixture, EmbeddedStore(), Clock(START)) == {}
