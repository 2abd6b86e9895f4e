"""Webhooks in the console: every delivery with its attempts, the subscriptions, and the deliveries
beside the request and the outbox message that set them off (docs/webhooks.md).

Secrets never reach a page: subscriptions show whether they sign, not with what.
"""

from __future__ import annotations

import json
import typing as t

from flask import render_template
from flask import request

from mocksrv.console.web import bp
from mocksrv.console.web import pipeline

Json = t.Any
ROW_LIMIT = 200  # deliveries on the page, newest first
STATES = ("pending", "delivered", "failed", "dropped")


def shown(delivery: dict[str, Json]) -> dict[str, Json]:
    """A delivery as a page shows it: no secret, the payload as indented JSON, the last attempt's outcome."""
    attempts = delivery.get("attempts") or []
    last = attempts[-1] if attempts else None
    outcome = "" if last is None else str(last.get("status") or last.get("error") or "")
    return {**{k: v for k, v in delivery.items() if k != "secret"}, "signed": bool(delivery.get("secret")),
            "payload_text": json.dumps(delivery.get("payload"), indent=2, ensure_ascii=False), "outcome": outcome}


def by_ids(api: str | None, ids: t.Iterable[str]) -> list[dict[str, Json]]:
    """The deliveries a request set off (the journal keeps their ids)."""
    webhooks = pipeline().state.webhooks
    found = [webhooks.delivery(api, delivery_id) for delivery_id in ids] if api else []
    return [shown(d) for d in found if d is not None]


def about(api: str, record_id: str) -> list[dict[str, Json]]:
    """The deliveries of the events about one record (an outbox message)."""
    return [shown(d) for d in pipeline().state.webhooks.deliveries(api, source=str(record_id))]


@bp.get("/webhooks")
def webhooks_page() -> str:
    api = request.args.get("api", "")
    state = request.args.get("state", "")
    served = [a.id for a in pipeline().apis]
    webhooks = pipeline().state.webhooks
    found = webhooks.newest_first([name for name in served if not api or name == api],
                                  state=state if state in STATES else None)
    subscriptions = {name: webhooks.subscriptions(name) for name in served}
    return render_template("console/webhooks.html", page="webhooks", deliveries=[shown(d) for d in found[:ROW_LIMIT]],
                           total=len(found), subscriptions={k: v for k, v in subscriptions.items() if v},
                           apis=served, api=api, state=state, states=STATES)
