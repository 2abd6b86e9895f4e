"""The request pipeline: the only module that knows the order of the stages.

CORS preflight (204, where the spec declares no OPTIONS) → route (404/405) → injected fault
(latency, forced status, drop) → Prefer → credentials present (401) → key known and active
(401) → scopes (403) → rate limit (429) → request valid (415/400/422) → choose response →
``Accept`` (406) → a matching rule (status, body, latency, drop) → the API's behaviour, else
stored state (404 …) → synthesise → validate response → keep a sent message
(``x-mocksrv-outbox``). Any `MockError` on the way becomes the API's own error response.
Framework-free: takes a `MockRequest`, returns an `Answer`; the serving layer adds the CORS
headers to every answer (`engine.cors`).
"""

from __future__ import annotations

import copy
import logging
import random
import typing as t
from dataclasses import dataclass
from pathlib import Path

from mocksrv.config import Options
from mocksrv.engine.behaviour import Behaviour
from mocksrv.engine.behaviour import Context
from mocksrv.engine.catalog import ApiCatalog
from mocksrv.engine.cors import Cors
from mocksrv.engine.cors import is_preflight
from mocksrv.engine.events import CALLBACKS
from mocksrv.engine.events import callbacks_after
from mocksrv.engine.events import exchange_facts
from mocksrv.engine.events import response_json
from mocksrv.engine.policy import authorize
from mocksrv.engine.policy import throttle
from mocksrv.engine.prefer import parse_prefer
from mocksrv.engine.recording import Recorder
from mocksrv.engine.records import Applied
from mocksrv.engine.records import RecordKeeper
from mocksrv.engine.responses import BodyShaper
from mocksrv.engine.responses import ChosenResponse
from mocksrv.engine.responses import RenderedResponse
from mocksrv.engine.responses import Synthesizer
from mocksrv.engine.responses import problem
from mocksrv.engine.router import Router
from mocksrv.engine.security import authenticate
from mocksrv.engine.upstream import Upstream
from mocksrv.engine.validation import CheckedRequest
from mocksrv.engine.validation import check_request
from mocksrv.engine.validation import check_response
from mocksrv.engine.validation import summary
from mocksrv.errors import ApiError
from mocksrv.errors import InvalidRequest
from mocksrv.errors import MethodNotAllowed
from mocksrv.errors import MockError
from mocksrv.errors import NonConformingResponse
from mocksrv.errors import NotFound
from mocksrv.errors import StoreError
from mocksrv.errors import UndeclaredPath
from mocksrv.errors import state_unavailable
from mocksrv.exchange import Match
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.state.world import MockState

log = logging.getLogger(__name__)
UNDECLARED = "(no operation)"  # the drift report's name for calls the spec has no operation for
ERROR_CHECKS_KEPT = 1024  # distinct error answers whose check is kept; past that the memo starts again


@dataclass
class Answer:
    """The response plus what the pipeline learned, for logs (and later the journal)."""

    response: MockResponse
    match: Match | None
    error: MockError | None = None
    drop: bool = False  # an injected fault: break the connection instead of answering
    preflight_of: str | None = None  # a CORS preflight answered for this API (journaled, never an operation)
    delay: float = 0.0  # seconds the server waits before answering (faults, rules); it never blocks here
    deliveries: tuple[str, ...] = ()  # the webhook and callback deliveries it set off (ids), for the journal
    upstream: dict[str, t.Any] | None = None  # proxied: the upstream's URL, status, latency and conformance


class Pipeline:
    """Everything built once at start-up that serving a request needs."""

    def __init__(self, catalog: ApiCatalog, options: Options, state: MockState) -> None:
        self.catalog = catalog
        self.apis = catalog.apis
        self.options = options
        self.state = state
        self.router = Router(self.apis)
        self.cors = Cors(options.cors, options.cors_origins)
        self.synthesizers = {api.id: Synthesizer(api, options.seed) for api in self.apis}
        self.behaviours = catalog.behaviours
        self._upstreams: dict[str, Upstream] = {}  # by base URL, made on first use
        self._error_checks: dict[tuple[t.Any, ...], list[str]] = {}
        folder = options.fixtures or Path("fixtures")
        self.recorder = Recorder(folder / f"{options.record}.yaml", catalog, options.record_redact,
                                 source=", ".join(options.upstreams.values())) if options.record else None
        self._bind(state)

    def _bind(self, state: MockState) -> None:
        """Answer from ``state``: its store, clock, journal, rules and faults."""
        self.state = state
        self.keepers = {api.id: RecordKeeper(api, self.catalog.resources[api.id], self.catalog.id_fields[api.id],
                                             state.store, self.synthesizers[api.id], state.clock) for api in self.apis}
        self._fault_rng = random.Random(self.options.seed)
        for api_id, behaviour in self.behaviours.items():
            self.keepers[api_id].view = self._viewer(api_id, behaviour)

    def for_state(self, state: MockState) -> Pipeline:
        """The same engine over another world (a session): specs, validators and synthesizers shared."""
        twin = copy.copy(self)
        twin._bind(state)
        return twin

    def _viewer(self, api_id: str, behaviour: Behaviour) -> t.Callable[[str, dict[str, t.Any]], dict[str, t.Any]]:
        def view(collection: str, record: dict[str, t.Any]) -> dict[str, t.Any]:
            return behaviour.view(collection, record, self.state.clock.now(), self.state.options(api_id))

        return view

    def handle(self, request: MockRequest) -> Answer:
        """The answer to one request (the caller keeps the world current: `MockState.current`)."""
        match: Match | None = None
        extra: dict[str, str] = {}  # headers every answer carries from here on (rate limits)
        delays: list[float] = []  # the server sleeps them, so a slow answer holds no thread here
        if self.cors.enabled and is_preflight(request):
            declared = self.router.methods_at(request.path)
            if declared is not None and "OPTIONS" not in declared[1]:  # a spec that declares OPTIONS answers it
                api_id, methods = declared
                return Answer(self.cors.preflight(request, methods), None, preflight_of=api_id)
        try:
            match = self.router.match(request.method, request.path)
            fault = self.state.faults.take_for(match.api.id, match.operation.key)
            if fault is not None:
                delays.append(fault.delay_seconds(self._fault_rng))
                if fault.drop:
                    return Answer(MockResponse(200, [], b""), match, drop=True, delay=sum(delays))
                if fault.status is not None:
                    raise ApiError(f"injected fault: {fault.status} for {match.operation.key}", status=fault.status,
                                   kind="injected_fault")
            upstream = self.upstream_for(match.api.id)
            if upstream is not None and not self._mocked_first(match):
                return self._proxied(match, request, upstream, sum(delays))
            made: list[str] = []
            try:
                outcome = Answer(self._answer(match, request, extra, delays, made), match, deliveries=tuple(made))
            except NotFound:
                if upstream is None:
                    raise
                return self._proxied(match, request, upstream, sum(delays))  # fallback: the mock has no record
        except _Dropped:
            return Answer(MockResponse(200, [], b""), match, drop=True, delay=sum(delays))
        except (UndeclaredPath, MethodNotAllowed) as error:
            upstream = self.upstream_for(error.api_id or "")
            if upstream is None or self.options.upstream_mode != "forward":
                return Answer(to_response(problem(error)), None, error)
            return self._forward_undeclared(request, error, upstream)
        except MockError as error:
            if error.status >= 500 and error.kind != "injected_fault":  # the 5xx body may have no room for why
                log.warning("%s %s: %s %s", match.api.id if match else "-",
                            match.operation.key if match else request.path, error.status, error.detail)
            outcome = Answer(self._error(match, request, error), match, error)
        except StoreError as failure:  # the shared store (Redis) is gone: the API's own 503; the next call retries
            unavailable = state_unavailable(failure)
            log.warning("%s: %s", match.operation.key if match else request.path, unavailable.detail)
            outcome = Answer(self._error(match, request, unavailable), match, unavailable)
        outcome.response.headers.extend((k, v) for k, v in extra.items()
                                        if k not in dict(outcome.response.headers))
        outcome.delay = sum(delays)
        return outcome

    def _answer(self, match: Match, request: MockRequest, extra: dict[str, str], delays: list[float],
                made: list[str]) -> MockResponse:
        api, operation = match.api, match.operation
        accept = request.headers.get("Accept")
        prefer = parse_prefer(request.headers.get("Prefer"))
        fixture = self.state.scenario.api(api.id)
        credentials = authenticate(api, operation, request)
        principal = authorize(api, operation, credentials, fixture)
        extra.update(throttle(api, principal, fixture, self.state.store, self.state.clock))
        checked = self._checked(match, request)
        synthesizer = self.synthesizers[api.id]
        chosen = synthesizer.choose(operation, prefer.code)
        synthesizer.media_type(chosen, accept)  # 406 before any state changes
        rule = self.state.rules.first_match(api.id, (operation.operation_id or "", operation.key), request,
                                            checked.body, match.path_params)
        if rule is not None:
            delays.append(rule.delay_seconds(self._fault_rng))
            if rule.drop:
                raise _Dropped
            if rule.status is not None:
                chosen = synthesizer.choose(operation, rule.status)
                response = to_response(synthesizer.build(chosen, prefer, accept, shape=_overlay(rule.body)))
                return self._conforming(match, response, self._response_problems(match, request, response))
        # Prefer: code= / example= are the Prism way to ask for a canned answer: no state involved
        canned = prefer.code is not None or prefer.example is not None
        behaviour = None if canned else self.behaviours.get(api.id)
        context = Context(
            api=api, operation=operation, request=request, checked=checked, path_params=match.path_params,
            principal=principal, fixture=fixture, options=self.state.options(api.id), store=self.state.store,
            clock=self.state.clock, keeper=self.keepers[api.id], synth=synthesizer)
        reply = behaviour.handle(context) if behaviour else None
        if reply is not None:
            extra.update(reply.headers)
            chosen = synthesizer.choose(operation, reply.status)
            shape: BodyShaper | None = _replace_with(reply.body)
        else:
            state = None if canned else self._stateful(match, checked, chosen)
            shape = state.shape if state else None
        built = synthesizer.build(chosen, prefer, accept, shape=shape)
        response = to_response(built)
        problems = self._response_problems(match, request, response)
        if problems and built.from_example:
            synthesizer.note_bad_example(chosen, problems)
            response = to_response(synthesizer.build(chosen, prefer, accept, use_example=False, shape=shape))
            problems = self._response_problems(match, request, response)
        response = self._conforming(match, response, problems, spec_admits_none=built.impossible)
        if 200 <= response.status < 300:
            outbox = self.catalog.declared_outboxes.get(api.id)
            if outbox is not None:  # a send the spec's x-mocksrv-outbox names
                outbox.capture(self.state.store, api.id, operation, checked.body, self.state.clock.now())
            if context.emitted:
                made += [d["id"] for d in self.state.webhooks.emit(api.id, context.emitted, self.state.clock.now(),
                                                                   self.catalog.events[api.id].signing)]
            if operation.spec.get("callbacks"):
                made += self._call_back(match, request, checked, response)
        return response

    def _call_back(self, match: Match, request: MockRequest, checked: CheckedRequest, response: MockResponse
                   ) -> list[str]:
        """The operation's callbacks, due now, to the URLs this exchange gives (docs/webhooks.md); their ids."""
        api, now = match.api, self.state.clock.now()
        facts = exchange_facts(request, match.path_params, checked.body, response, response_json(response))
        return [self.state.webhooks.call_back(api.id, url, emission, now, method)["id"]
                for url, method, emission in callbacks_after(api, match.operation, self.synthesizers[api.id], facts,
                                                             now, self.state.store.next_id(api.id, CALLBACKS))]

    def _proxied(self, match: Match, request: MockRequest, upstream: Upstream, delay: float) -> Answer:
        """The upstream's answer, unchanged, with what the spec says of both sides (docs/proxy.md).

        An invalid request goes on in ``forward`` mode (journaled as invalid) and is refused here in
        ``enforce`` mode; a non-conforming answer is passed on as it is and counted as drift.
        """
        invalid: InvalidRequest | None = None
        try:
            try:
                self._checked(match, request)
            except InvalidRequest as error:
                if self.options.upstream_mode == "enforce":
                    raise
                invalid = error
            self.state.confirm_current()  # before the upstream gets it: a second run would send it twice
            forwarded = upstream.forward(request, request.path[len(match.api.mount):])
        except MockError as error:
            if error.status >= 500:
                log.warning("%s %s: %s %s", match.api.id, match.operation.key, error.status, error.detail)
            return Answer(self._error(match, request, error), match, error, delay=delay,
                          upstream=upstream.unreached(error))
        problems = self._response_problems(match, request, forwarded.response)
        self.state.drift.note(match.api.id, match.operation.key, forwarded.response.status, problems)
        if self.recorder is not None:  # records and rules only of what the spec can replay
            self.recorder.note(match, request, forwarded.response, replayable=not problems and invalid is None)
        return Answer(forwarded.response, match, invalid, delay=delay, upstream=forwarded.report(problems))

    def upstream_for(self, api_id: str) -> Upstream | None:
        """The real API ``api_id`` is proxied to: ``--upstream``'s, else the scenario's ``upstream:`` (None: mocked)."""
        fixture = self.state.scenario.apis.get(api_id)  # no empty fixture made per call: this is on every request
        url = self.options.upstreams.get(api_id) or (fixture.upstream if fixture is not None else None)
        if url is None:
            return None
        found = self._upstreams.get(url)
        if found is None:
            found = self._upstreams[url] = Upstream(url, timeout=self.options.upstream_timeout,
                                                    verify=not self.options.upstream_insecure)
        return found

    def proxied_apis(self) -> list[str]:
        """The APIs an upstream answers now (the command line's and the scenario's)."""
        scenario = self.state.scenario.apis
        named = {*self.options.upstreams, *(api for api, fixture in scenario.items() if fixture.upstream)}
        return [api.id for api in self.apis if api.id in named]

    def _mocked_first(self, match: Match) -> bool:
        """In ``fallback`` mode, whether the mock answers (it does, but for the live operations and the
        records it does not have)."""
        live = self.options.upstream_live
        return self.options.upstream_mode == "fallback" and not (
            match.operation.key in live or (match.operation.operation_id or "") in live)

    def _forward_undeclared(self, request: MockRequest, error: MockError, upstream: Upstream) -> Answer:
        """A call the spec has no operation for, sent on all the same in forward mode (the real API may
        have it): journaled as breaking the contract, counted as drift, its answer unchecked."""
        api = next(api for api in self.apis if api.id == error.api_id)
        try:
            self.state.confirm_current()
            forwarded = upstream.forward(request, request.path[len(api.mount):])
        except MockError as failure:
            return Answer(to_response(problem(failure)), None, error, upstream=upstream.unreached(failure))
        self.state.drift.note(api.id, UNDECLARED, forwarded.response.status, [error.detail])
        return Answer(forwarded.response, None, error, upstream=forwarded.report([error.detail]))

    def _stateful(self, match: Match, checked: CheckedRequest, chosen: ChosenResponse) -> Applied | None:
        """What stored state makes of the request; a missing record is a 404 only where the spec allows one."""
        try:
            return self.keepers[match.api.id].apply(match, checked, chosen)
        except NotFound:
            if match.operation.declares(404):
                raise
            # the operation cannot answer 404 under its spec: answer as a stateless mock would
            return None

    def _checked(self, match: Match, request: MockRequest) -> CheckedRequest:
        """Validate the request; an API's behaviour may word violations as the API documents them, and
        answer one of them only."""
        try:
            return check_request(match, request, self.catalog.validators[match.api.id])
        except InvalidRequest as error:
            behaviour = self.behaviours.get(match.api.id)
            if behaviour is None:
                raise
            for violation in error.violations:
                violation.message = behaviour.reword(match.operation, violation) or violation.message
            error.detail = behaviour.refusal(match.operation, request, error.violations) or summary(error.violations)
            raise

    def _error(self, match: Match | None, request: MockRequest, error: MockError) -> MockResponse:
        accept = request.headers.get("Accept")
        if match is None:
            return to_response(problem(error))
        built = self.synthesizers[match.api.id].build_error(match.operation, error, accept)
        response = to_response(built)
        if match.operation.declares(response.status) and not built.generic:
            problems = self._error_problems(match, request, response)
            try:
                return self._conforming(match, response, problems)
            except NonConformingResponse as bug:
                return to_response(problem(bug))
        return response

    def _response_problems(self, match: Match, request: MockRequest, response: MockResponse) -> list[str]:
        return check_response(match, request, response, self.catalog.validators[match.api.id])

    def _error_problems(self, match: Match, request: MockRequest, response: MockResponse) -> list[str]:
        """The check of an error answer, made once per answer: errors repeat (a missing key, the same
        mistake), their bodies are made once (Synthesizer), and a check depends on nothing else."""
        key = (match.api.id, match.operation.key, response.status, tuple(response.headers), response.body)
        problems = self._error_checks.get(key)  # read once: a proxied request's thread may clear the dict
        if problems is None:
            if len(self._error_checks) >= ERROR_CHECKS_KEPT:
                self._error_checks.clear()
            problems = self._error_checks[key] = self._response_problems(match, request, response)
        return list(problems)

    def _conforming(self, match: Match, response: MockResponse, problems: list[str], *,
                    spec_admits_none: bool = False) -> MockResponse:
        if not problems:
            return response
        if spec_admits_none:  # not mocksrv's error: no value satisfies the spec, so strict has nothing better
            log.warning("%s %s: response %s does not conform, and the spec admits no value that would: %s",
                        match.api.id, match.operation.key, response.status, "; ".join(problems))
            return response
        log.error("%s %s: response %s does not conform to the spec: %s", match.api.id, match.operation.key,
                  response.status, "; ".join(problems))
        if self.options.strict:
            raise NonConformingResponse(f"mocksrv built a {response.status} response that does not validate "
                                        f"against {match.api.id} {match.operation.key}: {'; '.join(problems)}")
        return response


class _Dropped(Exception):
    """A rule asked to break the connection."""


def _overlay(fields: dict[str, t.Any] | None) -> BodyShaper:
    """The spec's body with a rule's field overrides on top."""
    def shape(value: t.Any, schema: t.Any, resolver: t.Any) -> t.Any:
        return {**value, **fields} if fields and isinstance(value, dict) else value

    return shape


def _replace_with(body: t.Any) -> BodyShaper:
    def shape(value: t.Any, schema: t.Any, resolver: t.Any) -> t.Any:
        return value if body is None else body

    return shape


def to_response(built: RenderedResponse) -> MockResponse:
    headers = list(built.headers)
    if built.media_type:
        headers.append(("Content-Type", built.media_type))
    return MockResponse(built.status, headers, built.body, built.media_type)
