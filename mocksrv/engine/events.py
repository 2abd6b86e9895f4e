"""What an API tells its clients afterwards: the events it documents and its callbacks (docs/webhooks.md).

- A 3.1 document's ``webhooks``: each name is an event a subscription may choose, and its
  payload is the JSON body that webhook's operation takes (generated from the schema, or the
  one a test gives, checked against it).
- A behaviour's ``webhook_events``: the events its handlers emit (the send service's six).
- An operation's ``callbacks`` (3.0 and 3.1): after a 2xx answer, each callback's URL comes
  from its key's runtime expression (``{$request.body#/callbackUrl}``) and its payload from
  the body its operation takes; the courier sends it like any delivery.

Payloads are always valid under the schema the spec gives for them; an event no schema
describes carries the Standard Webhooks envelope ``{"type", "timestamp", "data"}``. Deliveries
are signed the Standard Webhooks way unless the document declares its provider's own scheme:

    x-mocksrv-webhook-signature:
      header: Stripe-Signature
      value: "t={timestamp},v1={signature}"
      signed: "{timestamp}.{body}"
      algorithm: sha256        # sha1 | sha256 | sha512
      encoding: hex            # hex | base64
"""

from __future__ import annotations

import json
import logging
import typing as t
import urllib.parse
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate

from mocksrv.engine.responses import Synthesizer
from mocksrv.engine.runtime_expressions import ExchangeFacts
from mocksrv.engine.runtime_expressions import ExpressionError
from mocksrv.engine.runtime_expressions import expand
from mocksrv.errors import SpecError
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.state.fixtures import flatten_messages
from mocksrv.state.webhooks import Emission
from mocksrv.wire.media import is_json

log = logging.getLogger(__name__)
Json = t.Any
SIGNATURE = "x-mocksrv-webhook-signature"
CALLBACKS = "mocksrv-callbacks"  # only its sequence: each callback's generated payload differs
METHODS = ("post", "put", "patch", "get", "delete", "head", "options", "trace")


@dataclass(frozen=True)
class Payload:
    """Where an event's or callback's body is described: the method it is sent with and its JSON schema."""

    method: str
    schema: Json  # None: the spec describes no JSON body
    resolver: t.Any


class _SignatureSchema(Schema):
    class Meta:
        unknown = RAISE

    header = fields.String(required=True, validate=validate.Regexp(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
                                                                   error="must be an HTTP header name"))
    value = fields.String(load_default="{signature}",
                          validate=validate.Regexp(r".*\{signature\}", error="must contain {signature}"))
    signed = fields.String(load_default="{body}", validate=validate.Regexp(r".*\{body\}", error="must contain {body}"))
    algorithm = fields.String(load_default="sha256", validate=validate.OneOf(["sha1", "sha256", "sha512"]))
    encoding = fields.String(load_default="hex", validate=validate.OneOf(["hex", "base64"]))


def signing_scheme(api: ApiSpec) -> dict[str, str] | None:
    """The provider's own signature scheme the document declares (None: Standard Webhooks).

    :raise SpecError: the extension is malformed, said in one line.
    """
    declared = api.document.get(SIGNATURE)
    if declared is None:
        return None
    try:
        return t.cast(dict[str, str], _SignatureSchema().load(declared if isinstance(declared, dict) else {}))
    except ValidationError as error:
        raise SpecError(str(api.source), flatten_messages(error.messages, SIGNATURE)[0]) from None


class EventCatalog:
    """The events one API has, by name, what each one's payload is, and how its deliveries are signed."""

    def __init__(self, api: ApiSpec, emitted: t.Iterable[str] = ()) -> None:
        """:raise SpecError: a malformed ``x-mocksrv-webhook-signature``."""
        self.api = api
        self.signing = signing_scheme(api)
        self.documented = {str(name): _payload(api, item, None)
                           for name, item in (api.document.get("webhooks") or {}).items()}
        self.names = (*self.documented, *(name for name in emitted if name not in self.documented))

    def payload(self, event: str, given: Json, synth: Synthesizer, now: float, number: int) -> tuple[Json, str | None]:
        """The body of one ``event``: ``given`` if the spec's schema takes it, else made from that schema.

        :return: (payload, why ``given`` cannot be it); a documented event with no ``given``
            gets a generated one, an undocumented one the Standard Webhooks envelope.
        """
        described = self.documented.get(event)
        if described is None or described.schema is None:
            if given is not None:
                return given, None
            return envelope(event, now, {}), None
        if given is None:
            return synth.generate(described.schema, described.resolver, "webhook", event, number), None
        if not synth.is_valid(described.schema, described.resolver, given):
            return given, f"the payload does not match the schema of webhooks.{event} in the spec"
        return given, None


def callbacks_after(api: ApiSpec, operation: Operation, synth: Synthesizer,
                    facts: ExchangeFacts, now: float, number: int) -> list[tuple[str, str, Emission]]:
    """(URL, method, emission) for every callback of ``operation`` whose URL the exchange gives.

    A key whose expression names what the request did not send (no ``callbackUrl`` in the
    body) fires nothing; the reason goes to the log, as the client only left out an option.
    """
    fired: list[tuple[str, str, Emission]] = []
    callbacks, resolver = api.deref(operation.spec.get("callbacks") or {})
    for name, callback in (callbacks or {}).items():
        expressions, where = api.deref(callback, resolver)
        for key, item in (expressions or {}).items():
            if str(key).startswith("x-"):
                continue
            try:
                url = expand(str(key), facts)
            except ExpressionError as error:
                log.info("%s %s: callback %s not sent: %s", api.id, operation.key, name, error)
                continue
            described = _payload(api, item, where)
            body = (synth.generate(described.schema, described.resolver, "callback", name, number)
                    if described.schema is not None else envelope(str(name), now, {}))
            fired.append((url, described.method, Emission(str(name), body)))
    return fired


def exchange_facts(request: MockRequest, path_params: dict[str, str], body: Json, response: MockResponse,
                   response_body: Json) -> ExchangeFacts:
    """The facts of one exchange runtime expressions may name."""
    host = request.headers.get("Host", "localhost")
    query = urllib.parse.urlencode(list(request.query.items(multi=True)))  # as the client wrote it, escaped
    return ExchangeFacts(url=f"http://{host}{request.path}" + (f"?{query}" if query else ""),
                         method=request.method.upper(), status=response.status,
                         request_headers=dict(request.headers.items()),
                         query={name: request.query.getlist(name) for name in request.query},
                         path=path_params, request_body=body,
                         response_headers=dict(response.headers), response_body=response_body)


def response_json(response: MockResponse) -> Json:
    """The answer's body as JSON (None when it is not JSON), for ``$response.body`` expressions."""
    if not response.media_type or not is_json(response.media_type) or not response.body:
        return None
    try:
        return json.loads(response.body)
    except ValueError:
        return None


def envelope(event: str, epoch: float, data: Json) -> dict[str, Json]:
    """The Standard Webhooks payload shape, for events whose spec describes none (docs/webhooks.md)."""
    return {"type": event, "timestamp": datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z"),
            "data": data}


def _payload(api: ApiSpec, item: Json, resolver: t.Any) -> Payload:
    """The first operation of a Path Item that takes a body, and that body's JSON schema."""
    path_item, where = api.deref(item, resolver)
    first = None
    for method in METHODS:
        operation = (path_item or {}).get(method)
        if not isinstance(operation, dict):
            continue
        first = first or method
        body, body_where = api.deref(operation.get("requestBody") or {}, where)
        content = (body or {}).get("content") or {}
        media = next((content[key] for key in content if is_json(str(key))), None)
        if isinstance(media, dict):
            media, media_where = api.deref(media, body_where)
            if "schema" in media:
                return Payload(method.upper(), media["schema"], media_where)
    return Payload((first or "post").upper(), None, where)
