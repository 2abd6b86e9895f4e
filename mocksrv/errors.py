"""The one error hierarchy: every failure a client can see is a MockError with an HTTP status.

The engine raises these; `Synthesizer.build_error` (engine/responses.py) turns them into the
API's own error body (or `application/problem+json` when the spec has none), so no stage ever
builds a response tuple. Start-up and state failures (a broken spec, a bad fixture, a store
file that cannot be read) are `SpecError` / `FixtureError` / `StoreError`, reported as one
line by the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from http import HTTPStatus


@dataclass
class Violation:
    """One thing wrong with a request, e.g. ``Violation("body", "to", "to field is required")``."""

    location: str  # body | query | header | path | cookie | security | content-type
    field: str  # dotted field path inside that location, "" for the whole location
    message: str
    rule: str = ""  # the schema keyword that failed (required, maxItems, …), "" when not a schema rule
    value: object = None  # the offending value, for behaviours that word the API's own message

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "field": self.field, "message": self.message}


class MockError(Exception):
    """An error answered to the client with ``status``.

    :param detail: a sentence naming what is wrong, shown in the error body.
    :param violations: the individual problems, when there are several.
    :param headers: extra response headers (``Allow``, ``WWW-Authenticate`` …).
    :param fields: body fields to set, e.g. ``{"details": "SMTP connection failed"}``.
    :param kind: what went wrong, finer than the status (``missing_credentials``,
        ``revoked_credentials`` …); a spec's ``x-mocksrv-errors`` maps kinds to its own
        documented messages and codes.
    """

    status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    code: str = "internal_error"
    # the request itself does not follow the spec (journaled `valid: false`, fails contract mode)
    breaks_contract: bool = False
    # the API the request was sent to, when it is known but no operation matched (404/405 under its prefix)
    api_id: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        violations: list[Violation] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        kind: str | None = None,
        fields: dict[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.violations = violations or []
        self.headers = headers or {}
        if status is not None:
            self.status = status
        self.kind = kind or self.code
        self.fields = fields or {}  # body fields the API documents for this error (set if they validate)

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase

    def to_problem(self) -> dict[str, object]:
        """Render as an RFC 7807 problem document."""
        problem: dict[str, object] = {
            "type": f"https://mocksrv.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.violations:
            problem["errors"] = [v.as_dict() for v in self.violations]
        return problem


class NotFound(MockError):
    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class UndeclaredPath(NotFound):
    """No operation of the spec is at this path: the client called something the contract does not have."""

    breaks_contract = True


class MethodNotAllowed(MockError):
    """The path is declared, the method is not."""

    status = HTTPStatus.METHOD_NOT_ALLOWED
    code = "method_not_allowed"
    breaks_contract = True


class Unauthorized(MockError):
    status = HTTPStatus.UNAUTHORIZED
    code = "unauthorized"


class Forbidden(MockError):
    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class TooManyRequests(MockError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "rate_limit_exceeded"


class InvalidRequest(MockError):
    """The request breaks the operation's contract (parameters or body)."""

    status = HTTPStatus.BAD_REQUEST
    code = "invalid_request"
    breaks_contract = True


class UnsupportedMediaType(MockError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"
    breaks_contract = True


class NotAcceptable(MockError):
    status = HTTPStatus.NOT_ACCEPTABLE
    code = "not_acceptable"


class PayloadTooLarge(MockError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


class MockControlError(MockError):
    """A mocksrv control input (``Prefer`` header …) asks for something the spec cannot give."""

    status = HTTPStatus.BAD_REQUEST
    code = "mock_control"


class ApiError(MockError):
    """An error the mocked API itself answers (any status, 5xx included), in its own format.

    Raised by behaviours: ``ApiError("Error al enviar el correo", status=500,
    fields={"details": "SMTP connection failed", "mail_id": 458})``.
    """

    code = "api_error"


class NonConformingResponse(MockError):
    """mocksrv built a response the spec does not allow: a bug, surfaced in ``--strict`` mode."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR
    code = "non_conforming_response"


@dataclass
class SpecError(Exception):
    """A spec file that cannot be served; ``str()`` is one line naming the file and the problem."""

    source: str
    problem: str
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


@dataclass
class FixtureError(Exception):
    """Fixture problems; each line names the file, the path inside it and the reason."""

    source: str
    problems: list[str]

    def lines(self) -> list[str]:
        return [p if p.startswith(self.source) else f"{self.source}: {p}" for p in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class StoreError(Exception):
    """The store cannot do what was asked: a record that is not JSON, a corrupt file, a failed write."""


class StoreUnavailable(StoreError):
    """The shared store (Redis) cannot be reached."""


class RecordChanged(Exception):
    """A shared store's call was not made: the record its caller expected (``RedisStore.expecting``) has
    changed, so what the caller decided from it may be stale. Not a `StoreError`: nothing failed, the
    caller reads the record again and starts over (a request whose world another replica changed)."""


def state_unavailable(failure: StoreError) -> ApiError:
    """The 503 a call gets while the shared store (Redis) is lost; the next call retries."""
    return ApiError(f"the mock's state is unavailable: {failure}", status=503, kind="store_unavailable")


@dataclass
class TlsError(Exception):
    """HTTPS cannot be served: a certificate or key file, or the folder of the local CA; ``str()`` is one line."""

    source: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"
