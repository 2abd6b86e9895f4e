"""The request pipeline: the only module that knows the order of the stages.

route → Prefer → authenticate (401) → validate request (415/400) → choose response →
synthesise → validate response. Any `MockError` on the way becomes the API's own error
response. Framework-free: takes a `MockRequest`, returns a `MockResponse`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .config import Options
from .datatypes import Match
from .datatypes import MockRequest
from .datatypes import MockResponse
from .errors import MockError
from .errors import NonConformingResponse
from .prefer import parse_prefer
from .router import Router
from .security import authenticate
from .specs import ApiSpec
from .synth import Built
from .synth import Synthesizer
from .synth import choose_response
from .synth import problem
from .validation import check_request
from .validation import check_response

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """The response plus what the pipeline learned, for logs (and later the journal)."""

    response: MockResponse
    match: Match | None
    error: MockError | None = None


class Pipeline:
    """Everything built once at start-up that serving a request needs."""

    def __init__(self, apis: list[ApiSpec], options: Options) -> None:
        self.apis = apis
        self.options = options
        self.router = Router(apis)
        self.synthesizers = {api.id: Synthesizer(api, options.seed) for api in apis}

    def handle(self, request: MockRequest) -> Outcome:
        match: Match | None = None
        try:
            match = self.router.match(request.method, request.path)
            return Outcome(self._answer(match, request), match)
        except MockError as error:
            return Outcome(self._error(match, request, error), match, error)

    def _answer(self, match: Match, request: MockRequest) -> MockResponse:
        accept = request.headers.get("Accept")
        prefer = parse_prefer(request.headers.get("Prefer"))
        authenticate(match.api, match.operation, request)
        check_request(match, request)
        synthesizer = self.synthesizers[match.api.id]
        chosen = choose_response(match.api, match.operation, prefer.code)
        built = synthesizer.build(chosen, prefer, accept)
        response = to_response(built)
        problems = check_response(match, request, response)
        if problems and built.from_example:
            synthesizer.note_bad_example(chosen, problems)
            response = to_response(synthesizer.build(chosen, prefer, accept, use_example=False))
            problems = check_response(match, request, response)
        return self._conforming(match, request, response, problems)

    def _error(self, match: Match | None, request: MockRequest, error: MockError) -> MockResponse:
        accept = request.headers.get("Accept")
        if match is None:
            return to_response(problem(error))
        response = to_response(self.synthesizers[match.api.id].build_error(match.operation, error, accept))
        if _declares(match, response.status) and response.media_type != "application/problem+json":
            problems = check_response(match, request, response)
            try:
                return self._conforming(match, request, response, problems)
            except NonConformingResponse as bug:
                return to_response(problem(bug))
        return response

    def _conforming(self, match: Match, request: MockRequest, response: MockResponse,
                    problems: list[str]) -> MockResponse:
        if not problems:
            return response
        log.error("%s %s: response %s does not conform to the spec: %s", match.api.id, match.operation.key,
                  response.status, "; ".join(problems))
        if self.options.strict:
            raise NonConformingResponse(f"mocksrv built a {response.status} response that does not validate "
                                        f"against {match.api.id} {match.operation.key}: {'; '.join(problems)}")
        return response


def _declares(match: Match, status: int) -> bool:
    keys = {str(k).upper() for k in (match.operation.spec.get("responses") or {})}
    return bool(keys & {str(status), f"{status // 100}XX", "DEFAULT"})


def to_response(built: Built) -> MockResponse:
    headers = list(built.headers)
    if built.media_type:
        headers.append(("Content-Type", built.media_type))
    return MockResponse(built.status, headers, built.body, built.media_type)
