"""The console's read-only pages: APIs, Requests (and one request), Outbox (and one message), Records."""

from __future__ import annotations

import json
import typing as t

from flask import Response
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from mocksrv.console import journal_view
from mocksrv.console import preview_secret
from mocksrv.console import webhooks
from mocksrv.console.access import preview_signature
from mocksrv.console.catalog import describe_apis
from mocksrv.console.outbox import adapter_for
from mocksrv.console.outbox import message
from mocksrv.console.outbox import messages
from mocksrv.console.outbox import raw_source
from mocksrv.console.web import bp
from mocksrv.console.web import examples
from mocksrv.console.web import not_found
from mocksrv.console.web import pipeline
from mocksrv.state.webhooks import DELIVERIES
from mocksrv.state.webhooks import SUBSCRIPTIONS

RECORDS_PER_PAGE = 50
WEBHOOK_COLLECTIONS = (SUBSCRIPTIONS, DELIVERIES)


@bp.get("/")
def index() -> Response:
    return t.cast(Response, redirect(url_for("console.apis"), 303))


@bp.get("/apis")
def apis() -> str:
    root = request.host_url.rstrip("/")
    return render_template("console/apis.html", page="apis", apis=describe_apis(pipeline(), root, examples()))


@bp.get("/requests")
def requests_page() -> str:
    filters = journal_view.Filters.from_args(request.args)
    entries = [] if filters.problem else journal_view.select(pipeline().state.journal, filters)
    return render_template("console/requests.html", page="requests", filters=filters, entries=entries,
                           apis=[api.id for api in pipeline().apis], row_limit=journal_view.ROW_LIMIT,
                           request_line=journal_view.request_line)


@bp.get("/requests/rows")
def request_rows() -> str:
    """The table rows alone, for the page's live refresh."""
    filters = journal_view.Filters.from_args(request.args)
    entries = [] if filters.problem else journal_view.select(pipeline().state.journal, filters)
    return render_template("console/request_rows.html", entries=entries, request_line=journal_view.request_line)


@bp.get("/requests/<int(signed=True):entry_id>")
def request_detail(entry_id: int) -> str | tuple[str, int]:
    entry = pipeline().state.journal.find(entry_id)
    if entry is None:
        return not_found(f"request {entry_id} (the journal keeps the most recent ones, and a reset empties it)")
    return render_template(
        "console/request_detail.html", page="requests", entry=entry, line=journal_view.request_line(entry),
        deliveries=webhooks.by_ids(entry.api, entry.deliveries),
        body=journal_view.annotate_body(entry.body, entry.errors),
        header_errors=journal_view.errors_at(entry.errors, "header"),
        query_errors=journal_view.errors_at(entry.errors, "query"),
        response_body=journal_view.pretty(entry.response_body), location_names=journal_view.LOCATION_NAMES)


@bp.get("/outbox")
def outbox() -> str:
    api = request.args.get("api", "")
    text = request.args.get("q", "").strip().lower()
    found = messages(pipeline(), api or None)
    if text:
        found = [m for m in found if text in " ".join([m.sender, *m.to, *m.cc, m.subject, m.status]).lower()]
    with_outbox = [a.id for a in pipeline().apis if adapter_for(pipeline(), a.id) is not None]
    return render_template("console/outbox.html", page="outbox", messages=found, api=api, q=text, apis=with_outbox)


@bp.get("/outbox/<api_id>/<record_id>")
def outbox_message(api_id: str, record_id: str) -> str | tuple[str, int]:
    found = message(pipeline(), api_id, record_id)
    if found is None:
        return not_found(f"message {record_id} of {api_id}")
    viewed = g.get("mocksrv_session")
    world = {"session": viewed.id} if viewed is not None else {}
    signature = preview_signature(preview_secret(), api_id, record_id, world.get("session", ""))
    preview = url_for("console_preview.preview", api_id=api_id, record_id=record_id, sig=signature, **world)
    return render_template("console/message.html", page="outbox", message=found, preview_url=preview,
                           deliveries=webhooks.about(api_id, record_id),
                           preview_with_images=url_for("console_preview.preview", api_id=api_id,
                                                       record_id=record_id, sig=signature, images=1, **world),
                           raw=raw_source(found), stored=json.dumps(found.record, indent=2, ensure_ascii=False,
                                                                    default=str))


@bp.get("/records")
def records_index() -> str:
    store = pipeline().state.store
    collections = {api.id: [(name, store.count(api.id, name)) for name in sorted(store.collections(api.id))
                            if name not in WEBHOOK_COLLECTIONS] for api in pipeline().apis}
    return render_template("console/records_index.html", page="records", collections=collections)


@bp.get("/records/<api_id>/<collection>")
def records(api_id: str, collection: str) -> str | tuple[str, int]:
    known = {api.id for api in pipeline().apis}
    if api_id not in known:
        return not_found(f"API {api_id}")
    if collection in WEBHOOK_COLLECTIONS:  # they hold signing secrets: the Webhooks page shows them without
        return not_found(f"{collection} of {api_id} here (see the Webhooks page)")
    try:
        offset = max(0, int(request.args.get("offset", 0)))
    except ValueError:
        offset = 0
    store = pipeline().state.store
    found, total = store.list(api_id, collection, offset=offset, limit=RECORDS_PER_PAGE)
    view = pipeline().keepers[api_id].view
    field = pipeline().catalog.id_field(api_id, collection)
    shown = [(record.get(field), json.dumps(view(collection, record), indent=2, ensure_ascii=False, default=str))
             for record in found]
    return render_template("console/records.html", page="records", api_id=api_id, collection=collection,
                           records=shown, total=total, offset=offset, per_page=RECORDS_PER_PAGE)
