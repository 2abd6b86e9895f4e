"""Plain data passed between the pipeline stages; no behaviour, no framework types."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from werkzeug.datastructures import Headers
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures import MultiDict

if t.TYPE_CHECKING:
    from mocksrv.openapi.specs import ApiSpec
    from mocksrv.openapi.specs import Operation


# no query, cookies, form or files: one read-only instance for every request that has none
NO_ITEMS: MultiDict[str, t.Any] = ImmutableMultiDict()


@dataclass
class MockRequest:
    """One HTTP request as the pipeline sees it (built by the server from Werkzeug's request)."""

    method: str
    path: str  # the full path, mount prefix included
    query: MultiDict[str, str]
    headers: Headers
    cookies: MultiDict[str, str]
    body: bytes
    mimetype: str  # Content-Type without parameters, lower-case; "" when absent
    content_type: str  # the raw Content-Type header value, parameters included
    files: MultiDict[str, t.Any] = NO_ITEMS
    form: MultiDict[str, str] = NO_ITEMS


@dataclass
class Match:
    """The API and operation a request was routed to."""

    api: ApiSpec
    operation: Operation
    path_params: dict[str, str]


@dataclass
class MockResponse:
    """What the server will send: status, headers and an already-serialised body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    media_type: str | None = None


# header names that carry credentials whatever the spec says (lower-case)
COMMON_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                                       "api-key", "x-auth-token"})


@dataclass(frozen=True)
class CredentialNames:
    """Where credentials travel: header names (lower-case), query parameter and cookie names.

    Built from every loaded spec's security schemes (`security.credential_names`) plus
    `COMMON_CREDENTIAL_HEADERS`; whatever is recorded or logged shows these masked.
    """

    headers: frozenset[str] = COMMON_CREDENTIAL_HEADERS
    query: frozenset[str] = frozenset()
    cookies: frozenset[str] = frozenset()

