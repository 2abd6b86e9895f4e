"""The contract for API-specific behaviour (what one API does differently from the generic
engine), and finding an API's behaviour module.

A behaviour is a module in `mocksrv.behaviours` named after the API id (``maxcare`` →
``mocksrv.behaviours.maxcare``, ``send-service`` → ``send_service``), or named by the
spec's ``x-mocksrv-behaviour`` extension (a module of that package: specs never import
arbitrary code). The module defines ``behaviour = SomeBehaviour()``, a `Behaviour` whose
``on_<operationId>`` methods take a `Context` and return a `Reply` (or None to let the
generic engine answer). Errors are raised as `MockError`s (`InvalidRequest`,
`Forbidden`, `NotFound`, `ApiError` for the API's own 5xx …) and come out in the API's
own format. Every reply is validated against the spec like any other response.
See docs/behaviours.md.
"""

from __future__ import annotations

import importlib
import re
import typing as t
from dataclasses import dataclass
from dataclasses import field

from marshmallow import Schema
from marshmallow import ValidationError

from mocksrv.engine.outbox import Outbox
from mocksrv.engine.policy import Principal
from mocksrv.engine.records import RecordKeeper
from mocksrv.engine.responses import Synthesizer
from mocksrv.engine.validation import CheckedRequest
from mocksrv.errors import SpecError
from mocksrv.errors import Violation
from mocksrv.exchange import MockRequest
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.state.clock import Clock
from mocksrv.state.fixtures import ApiFixture
from mocksrv.state.fixtures import flatten_messages
from mocksrv.state.store import Store
from mocksrv.state.webhooks import Emission

Json = t.Any
BEHAVIOURS = "mocksrv.behaviours"  # the package the modules are found in, and the only one
MODULE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass
class Context:
    """Everything a behaviour may use to answer one validated request."""

    api: ApiSpec
    operation: Operation
    request: MockRequest
    checked: CheckedRequest  # typed parameters and body (form files as filename/content_type/size)
    path_params: dict[str, str]
    principal: Principal | None  # the caller's key (None for open operations)
    fixture: ApiFixture  # the scenario's part for this API: records, options
    options: dict[str, Json]  # the fixture's `options`, validated by the behaviour's schema
    store: Store
    clock: Clock
    keeper: RecordKeeper
    synth: Synthesizer
    emitted: list[Emission] = field(default_factory=list)  # sent to the API's webhooks if the answer is a 2xx

    @property
    def body(self) -> Json:
        return self.checked.body

    def emit(self, event: str, payload: Json, at: float | None = None, *, source: str | int | None = None) -> None:
        """An event for the API's webhook subscribers, delivered at ``at`` on the clock (None: now);
        ``source``: the id of the record (the outbox message) it is about."""
        self.emitted.append(Emission(event, payload, at, None if source is None else str(source)))

    def query(self, name: str, default: Json = None) -> Json:
        return self.checked.parameters.get("query", {}).get(name, default)


@dataclass
class Reply:
    """A behaviour's answer: a status the operation declares, and the body value."""

    status: int
    body: Json = None
    headers: dict[str, str] = field(default_factory=dict)


class Behaviour:
    """Base class: dispatches to ``on_<operationId>``; override `view` for records that change with time."""

    #: validates the fixture's ``options:`` for this API (None: no options)
    options_schema: type[Schema] | None = None
    #: reads the messages this API stores into the console's Outbox (None: it sends no email)
    outbox: Outbox | None = None
    #: the events this API's handlers `Context.emit`, which subscriptions may choose from (docs/webhooks.md)
    webhook_events: tuple[str, ...] = ()

    def handle(self, ctx: Context) -> Reply | None:
        handler = getattr(self, f"on_{ctx.operation.operation_id}", None)
        return handler(ctx) if handler is not None else None

    def reword(self, operation: Operation, violation: Violation) -> str | None:
        """The API's documented message for a schema violation the engine found, or None.

        The engine validates requests before any handler runs; an API that documents its
        own texts (``"Too many recipients: 51. Maximum allowed is 50"``) says them here.
        ``violation.rule`` is the failed keyword, ``violation.value`` the offending value.
        """
        return None

    def refusal(self, operation: Operation, request: MockRequest, violations: list[Violation]) -> str | None:
        """The one message the API answers for a request the engine found invalid, or None for the
        engine's first violation.

        Called after `reword`, with the violations in the engine's order. An API whose
        documented order of checks differs from the schema's returns the text of the first
        of its checks that fails; ``request`` is the raw request, for checks of the API's own
        that come before the engine's in that order. The violations stay on the error, for
        error schemas that have room for a list.
        """
        return None

    def view(self, collection: str, record: dict[str, Json], now: float, options: dict[str, Json]) -> dict[str, Json]:
        """A stored record as it is at ``now`` (scheduled sends, delivery, bulk progress)."""
        return record

    def load_options(self, options: dict[str, Json], where: str) -> tuple[dict[str, Json], list[str]]:
        """Validate fixture options; returns (loaded, problems with their paths)."""
        if self.options_schema is None:
            return options, [f"{where}: this API takes no options"] if options else []
        try:
            return t.cast(dict[str, Json], self.options_schema().load(options)), []
        except ValidationError as error:
            return {}, flatten_messages(error.messages, where)


def load_behaviour(api: ApiSpec) -> Behaviour | None:
    """The behaviour for an API, or None when it has none.

    :raise SpecError: ``x-mocksrv-behaviour`` names no module of this package.
    """
    declared = api.document.get("x-mocksrv-behaviour")
    name = str(declared) if declared is not None else api.id.replace("-", "_").replace(".", "_").lower()
    if not MODULE_NAME.match(name):
        raise SpecError(str(api.source), f"x-mocksrv-behaviour {name!r} is not a module name")
    try:
        module = importlib.import_module(f"{BEHAVIOURS}.{name}")
    except ModuleNotFoundError as exc:
        if declared is not None and exc.name == f"{BEHAVIOURS}.{name}":
            raise SpecError(str(api.source), f"x-mocksrv-behaviour: no behaviour module {name!r}") from exc
        if exc.name != f"{BEHAVIOURS}.{name}":
            raise
        return None
    behaviour = getattr(module, "behaviour", None)
    if not isinstance(behaviour, Behaviour):
        raise SpecError(str(api.source), f"behaviour module {name!r} defines no `behaviour` instance")
    return behaviour
