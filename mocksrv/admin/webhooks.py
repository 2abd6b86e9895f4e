"""Webhooks in the admin API (docs/webhooks.md): each API's subscriptions, events fired on demand,
and what was delivered.

- ``GET/POST /__mocksrv/apis/<api>/webhooks``, ``DELETE …/webhooks/<id>``: the subscriptions, added
  and removed at run time, validated like a scenario's (unknown fields refused; events the API has);
- ``POST /__mocksrv/apis/<api>/webhooks/events``: emit one event now or after ``delay_seconds``
  (a 3.1 document's webhooks get a payload made from their schema, or the one given, checked);
- ``GET /__mocksrv/webhooks/deliveries``: every delivery with its attempts, newest first.

The routes join the admin blueprint, so each session has them too, for its own world.
"""

from __future__ import annotations

import typing as t

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from marshmallow import ValidationError

from mocksrv.admin.access import problem
from mocksrv.admin.api import _known_api
from mocksrv.admin.api import _state
from mocksrv.admin.api import _with_errors
from mocksrv.admin.api import bp
from mocksrv.state.fixtures import flatten_messages
from mocksrv.state.webhooks import Emission
from mocksrv.state.webhooks import SubscriptionSchema
from mocksrv.state.webhooks import secret_problem
from mocksrv.state.webhooks import target_refusal
from mocksrv.state.webhooks import unknown_events

EVENT_FIELDS = {"event", "payload", "delay_seconds"}
STATES = ("pending", "delivered", "failed", "dropped")


def _allowed_hosts() -> list[str]:
    return list(current_app.extensions["mocksrv"].options.webhook_allow)


@bp.get("/apis/<api_id>/webhooks")
@_known_api
def list_webhooks(pipeline: t.Any, api_id: str) -> Response:
    return jsonify({"webhooks": pipeline.state.webhooks.subscriptions(api_id),
                    "events": list(pipeline.catalog.webhook_events(api_id))})


@bp.post("/apis/<api_id>/webhooks")
@_known_api
def add_webhook(pipeline: t.Any, api_id: str) -> Response:
    """A subscription in the fixture format: ``{"url", "events"?, "secret"?}``; 201 with its id and secret."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, 'send a subscription as a JSON object: {"url": …, "events": […], "secret": "whsec_…"}')
    try:
        loaded = SubscriptionSchema().load(body)
    except ValidationError as error:
        return _with_errors(problem(400, "the subscription is invalid"), flatten_messages(error.messages))
    known = pipeline.catalog.webhook_events(api_id)
    wrong = [f"{field}: {why}" for field in ("events", "drop") if (why := unknown_events(loaded.get(field), known))]
    refusal = target_refusal(loaded["url"], _allowed_hosts())
    secret = secret_problem(loaded["secret"], pipeline.catalog.signs_standard(api_id))
    wrong += [f"secret: {secret}"] if secret else []
    if wrong or refusal:
        return problem(400, wrong[0] if wrong else f"url: {refusal}")
    response = jsonify(pipeline.state.webhooks.subscribe(api_id, loaded))
    response.status_code = 201
    return response


@bp.delete("/apis/<api_id>/webhooks/<subscription_id>")
@_known_api
def remove_webhook(pipeline: t.Any, api_id: str, subscription_id: str) -> Response:
    if not pipeline.state.webhooks.unsubscribe(api_id, subscription_id):
        return problem(404, f"no webhook subscription {subscription_id!r} for {api_id}")
    return Response(status=204)


@bp.post("/apis/<api_id>/webhooks/events")
@_known_api
def fire_event(pipeline: t.Any, api_id: str) -> Response:
    """``{"event": name, "payload"?: JSON, "delay_seconds"?: N}``: 202 with the deliveries it made."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("event"), str) or not body["event"]:
        return problem(400, 'send {"event": name} (and "payload", "delay_seconds" if wanted) as a JSON object')
    unknown = set(body) - EVENT_FIELDS
    if unknown:
        allowed = ", ".join(sorted(EVENT_FIELDS))
        return problem(400, f"unknown field(s): {', '.join(sorted(unknown))}; allowed: {allowed}")
    delay = body.get("delay_seconds", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        return problem(400, "delay_seconds must be a number >= 0")
    events = pipeline.catalog.events[api_id]
    wrong = unknown_events([body["event"]], events.names)
    if wrong:
        return problem(400, f"event: {wrong}")
    state = pipeline.state
    now = state.clock.now()
    payload, why_not = events.payload(body["event"], body.get("payload"), pipeline.synthesizers[api_id], now,
                                      state.store.next_id(api_id, "mocksrv-fired"))
    if why_not:
        return problem(400, why_not)
    made = state.webhooks.emit(api_id, [Emission(body["event"], payload, now + float(delay))], now, events.signing)
    response = jsonify({"deliveries": [_shown(d) for d in made]})
    response.status_code = 202
    return response


@bp.get("/webhooks/deliveries")
def list_deliveries() -> Response:
    """Every API's deliveries, newest first; ``?api=``, ``?state=pending|delivered|failed`` (or ``status``),
    ``?event=``."""
    pipeline = _state().pipeline
    wanted_state = request.args.get("state") or request.args.get("status") or None
    if wanted_state not in (None, *STATES):
        return problem(400, f"state must be one of {', '.join(STATES)}")
    apis = [request.args["api"]] if request.args.get("api") else [api.id for api in pipeline.apis]
    found = pipeline.state.webhooks.newest_first(apis, state=wanted_state, event=request.args.get("event") or None)
    return jsonify({"deliveries": [_shown(d) for d in found], "total": len(found)})


def _shown(delivery: dict[str, t.Any]) -> dict[str, t.Any]:
    """A delivery as the admin API shows it: without the secret it is signed with."""
    return {key: value for key, value in delivery.items() if key != "secret"}
