"""The validating proxy's way out: a request for an API with an upstream, sent to the real API
(``mocksrv serve --upstream API=URL``; docs/proxy.md).

The request goes as the client sent it — method, the path under the upstream's base, query,
body, headers but the hop-by-hop ones — and the upstream's answer comes back unchanged for the
pipeline to check against the spec and pass on. Only the URLs the user named are called; TLS
is verified unless ``--upstream-insecure``; a timeout is a 504 and any other failure to get an
answer a 502, in the API's own error format (the pipeline words them).
"""

from __future__ import annotations

import http.client
import ssl
import time
import typing as t
import urllib.parse
from dataclasses import dataclass

from mocksrv.errors import ApiError
from mocksrv.errors import MockError
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.state.webhooks import url_problem

# RFC 9110 7.6.1: meant for one connection, never forwarded; Host and the length are the new connection's own.
# Accept-Encoding goes too, so the answer comes uncompressed and can be checked against the spec.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
                        "accept-encoding"})
MAX_ANSWER_BYTES = 64 * 1024 * 1024  # as large as a request may be


@dataclass(frozen=True)
class Forwarded:
    """The upstream's answer, and how long it took."""

    url: str
    response: MockResponse
    latency_ms: float

    def report(self, problems: list[str]) -> dict[str, t.Any]:
        """What the journal keeps of it: where it went, the status, the time, and what breaks the spec."""
        return {"url": self.url, "forwarded": True, "status": self.response.status, "latency_ms": self.latency_ms,
                "conforms": not problems, "problems": problems}


class Upstream:
    """One API's real server: its base URL (scheme, host, port, base path)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, verify: bool = True) -> None:
        problem = url_problem(base_url)
        if problem:
            raise ValueError(f"upstream {problem}")
        parts = urllib.parse.urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self._parts = parts
        self._timeout = timeout
        self._context = ssl.create_default_context() if verify else _unverified()

    def forward(self, request: MockRequest, path_under_mount: str) -> Forwarded:
        """Send ``request`` on; its path is ``path_under_mount`` below the upstream's base path.

        :raise ApiError: 504 when the upstream took longer than the timeout, 502 when it could not be
            reached or answered something that is not HTTP.
        """
        target = self._parts.path.rstrip("/") + path_under_mount
        query = urllib.parse.urlencode(list(request.query.items(multi=True)))
        target += f"?{query}" if query else ""
        headers = {name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP}
        headers["Host"] = self._parts.netloc
        started = time.monotonic()
        connection = self._connection()
        try:
            connection.request(request.method, target, request.body or None, headers)
            answer = connection.getresponse()
            body = answer.read(MAX_ANSWER_BYTES)
            passed = [(name, value) for name, value in answer.getheaders() if name.lower() not in HOP_BY_HOP]
        except TimeoutError as exc:
            raise ApiError(f"the upstream {self.base_url} did not answer within {self._timeout:g} s",
                           status=504, kind="upstream_timeout") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ApiError(f"the upstream {self.base_url} could not be reached: {_reason(exc)}",
                           status=502, kind="upstream_unreachable") from exc
        finally:
            connection.close()
        latency = round((time.monotonic() - started) * 1000, 1)
        media_type = next((v for k, v in passed if k.lower() == "content-type"), None)
        url = f"{self._parts.scheme}://{self._parts.netloc}{target}"
        return Forwarded(url, MockResponse(answer.status, passed, body, media_type), latency)

    def unreached(self, error: MockError) -> dict[str, t.Any]:
        """What the journal keeps of a request that got no answer from here."""
        return {"url": self.base_url, "forwarded": False, "reason": error.detail}

    def _connection(self) -> http.client.HTTPConnection:
        host, port = self._parts.hostname or "", self._parts.port
        if self._parts.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._context)
        return http.client.HTTPConnection(host, port, timeout=self._timeout)


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _reason(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"its certificate does not verify ({error.verify_message}; --upstream-insecure to allow)"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def parse_upstreams(pairs: t.Iterable[str]) -> dict[str, str]:
    """``API=URL`` flags into ``{api: url}``.

    :raise ValueError: a pair without ``=``, or an API named twice.
    """
    found: dict[str, str] = {}
    for pair in pairs:
        api, sep, url = pair.partition("=")
        if not sep or not api or not url:
            raise ValueError(f"--upstream {pair!r}: write API=URL, e.g. send-service=https://sandbox.example.com/api")
        if api in found:
            raise ValueError(f"--upstream names {api!r} twice")
        found[api] = url
    return found
