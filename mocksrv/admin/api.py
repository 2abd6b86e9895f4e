"""``/__mocksrv/`` blueprint: what mocksrv serves, its health, the shared clock, the journal,
records, scenarios and faults (docs/admin-api.md). Who may call: `mocksrv.admin.access`."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import typing as t
from datetime import datetime
from importlib import resources

import yaml
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from marshmallow import ValidationError

from mocksrv.admin.access import bearer_credential
from mocksrv.admin.access import holds_token
from mocksrv.admin.access import problem
from mocksrv.admin.access import refuse_caller
from mocksrv.admin.access import refuse_cross_site
from mocksrv.admin.access import strip_cors
from mocksrv.engine.sessions import PREFIX
from mocksrv.engine.sessions import SessionError
from mocksrv.engine.sessions import Sessions
from mocksrv.errors import FixtureError
from mocksrv.errors import StoreError
from mocksrv.state.fixtures import flatten_messages
from mocksrv.state.fixtures import rule_problems
from mocksrv.state.rules import RuleSchema

bp = Blueprint("admin", __name__, url_prefix="/__mocksrv")
# the sessions themselves; each one's admin API is `bp` again under /__mocksrv/sessions/<id> (serving.app)
sessions_bp = Blueprint("sessions", __name__, url_prefix="/__mocksrv/sessions")
SESSION_FIELDS = {"id", "scenario", "fixture"}
CLOCK_FIELDS = {"advance_seconds", "set", "frozen"}


def _state() -> t.Any:
    """The server's state, or under ``/__mocksrv/sessions/<id>/`` that session's world as if it were the server's."""
    server = current_app.extensions["mocksrv"]
    session = g.get("mocksrv_session")
    if session is None:
        with contextlib.suppress(StoreError):  # the shared store down: this process's view, which the call may need
            server.pipeline.state.refresh()  # what another process sharing the store changed
    return server if session is None else dataclasses.replace(server, pipeline=session.pipeline)


def _sessions() -> Sessions:
    return t.cast(Sessions, current_app.extensions["mocksrv"].sessions)


@bp.url_value_preprocessor
def scope_to_session(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
    """``/__mocksrv/sessions/<id>/…``: the endpoints act on that session (`guard` answers 404 without it)."""
    if values is not None and "session_id" in values:
        session_id = values.pop("session_id")
        g.mocksrv_session_id = session_id
        g.mocksrv_session = _sessions().get(session_id)


@bp.before_request
def guard() -> Response | None:
    """Refuse cross-site state changes, then anyone who is not a local client or a token holder.

    ``GET /health`` answers everyone: readiness probes come from outside and hold no token,
    and it tells nothing but "ok" and the number of APIs.
    """
    if request.endpoint == "admin.health":
        return None
    refused = refuse_cross_site() or refuse_caller(holds_token(bearer_credential()))
    if refused is None and g.get("mocksrv_session_id") is not None and g.get("mocksrv_session") is None:
        return _no_session(g.mocksrv_session_id)
    return refused


def _no_session(session_id: str) -> Response:
    return problem(404, f"no session {session_id!r}: it was never made, was deleted, or expired unused")


def _mount_prefix() -> str:
    """What goes before an API's mount in its base URL: the session's ``/@<id>`` when scoped."""
    session = g.get("mocksrv_session")
    return f"{PREFIX}{session.id}" if session is not None else ""


@bp.after_request
def without_cors(response: Response) -> Response:
    return strip_cors(response)


@bp.get("/apis")
def list_apis() -> Response:
    """Each mounted API: id, title, version, base URL and operations."""
    pipeline = _state().pipeline
    root = request.host_url.rstrip("/")
    return jsonify({"apis": [
        {
            "id": api.id,
            "title": api.title,
            "version": api.api_version,
            "openapi": api.document.get("openapi"),
            "source": str(api.source),
            "base_url": root + _mount_prefix() + api.mount,
            "operations": [{"method": op.method.upper(), "path": op.template, "operationId": op.operation_id}
                           for op in api.operations],
            "warnings": api.warnings,
        }
        for api in pipeline.apis
    ], "scenario": pipeline.state.scenario.name})


@bp.get("/health")
def health() -> Response:
    return jsonify({"status": "ok", "apis": len(_state().pipeline.apis)})


def _clock_view() -> Response:
    clock = _state().pipeline.state.clock
    return jsonify({"now": clock.now_datetime().isoformat().replace("+00:00", "Z"), "epoch": clock.now(),
                    "frozen": clock.frozen})


@bp.get("/clock")
def get_clock() -> Response:
    return _clock_view()


@bp.post("/clock")
def move_clock() -> Response:
    return apply_clock(request.get_json(silent=True))


def apply_clock(body: t.Any) -> Response:
    """``{"advance_seconds": N}``, ``{"set": ISO 8601}``, ``{"frozen": true|false}`` (combinable).

    Shared by the admin API and the console's clock form.
    """
    if not isinstance(body, dict) or not body:
        return problem(400, 'send a JSON object: {"advance_seconds": N}, {"set": "ISO 8601"} or {"frozen": bool}')
    unknown = set(body) - CLOCK_FIELDS
    if unknown:
        allowed = ", ".join(sorted(CLOCK_FIELDS))
        return problem(400, f"unknown field(s): {', '.join(sorted(unknown))}; allowed: {allowed}")
    clock = _state().pipeline.state.clock
    if "frozen" in body and not isinstance(body["frozen"], bool):
        return problem(400, "frozen must be true or false")
    advance = body.get("advance_seconds", 0)
    if isinstance(advance, bool) or not isinstance(advance, (int, float)) or advance < 0:
        return problem(400, "advance_seconds must be a number >= 0 (the clock does not go back; use set)")
    instant = None
    if "set" in body:
        try:
            instant = datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00"))
        except ValueError:
            return problem(400, f"set must be an ISO 8601 date-time, got {body['set']!r}")
        if instant.tzinfo is None:
            return problem(400, "set needs a time zone (e.g. 2026-03-25T10:00:00Z)")
    if body.get("frozen") is True:
        clock.freeze()
    if instant is not None:
        clock.set(instant)
    if advance:
        clock.advance(float(advance))
    if body.get("frozen") is False:
        clock.unfreeze()
    return _clock_view()


def _known_api(view: t.Callable[..., Response]) -> t.Callable[..., Response]:
    """404 for an API id that is not mounted; else call ``view(pipeline, api_id, …)``."""

    @functools.wraps(view)
    def checked(api_id: str, **kwargs: t.Any) -> Response:
        pipeline = _state().pipeline
        if not any(api.id == api_id for api in pipeline.apis):
            return problem(404, f"no API {api_id!r}")
        return view(pipeline, api_id, **kwargs)

    return checked


@bp.get("/apis/<api_id>/records/<collection>")
@_known_api
def list_records(pipeline: t.Any, api_id: str, collection: str) -> Response:
    """Stored records of a collection, as the API's behaviour sees them now (``?limit=&offset=``)."""
    try:
        limit = int(request.args["limit"]) if "limit" in request.args else None
        offset = int(request.args.get("offset", 0))
    except ValueError:
        return problem(400, "limit and offset must be integers")
    if offset < 0 or (limit is not None and limit < 0):
        return problem(400, "limit and offset must be >= 0")
    view = pipeline.keepers[api_id].view
    records, total = pipeline.state.store.list(api_id, collection, offset=offset, limit=limit)
    return jsonify({"records": [view(collection, r) for r in records], "total": total})


@bp.get("/apis/<api_id>/records/<collection>/<record_id>")
@_known_api
def get_record(pipeline: t.Any, api_id: str, collection: str, record_id: str) -> Response:
    record = pipeline.state.store.get(api_id, collection, record_id)
    if record is None:
        return problem(404, f"no record {record_id!r} in {api_id}/{collection}")
    return jsonify(pipeline.keepers[api_id].view(collection, record))


@bp.post("/apis/<api_id>/records/<collection>")
@_known_api
def put_record(pipeline: t.Any, api_id: str, collection: str) -> Response:
    """Store (or replace) one record; it needs the collection's id field."""
    record = request.get_json(silent=True)
    if not isinstance(record, dict):
        return problem(400, "send the record as a JSON object")
    field = pipeline.catalog.id_field(api_id, collection)
    if not isinstance(record.get(field), (str, int)) or isinstance(record.get(field), bool):
        return problem(400, f"the record needs its id field {field!r} (a string or an integer)")
    pipeline.state.store.put(api_id, collection, record[field], record)
    response = jsonify(record)
    response.status_code = 201
    return response


@bp.delete("/apis/<api_id>/records/<collection>")
@_known_api
def clear_records(pipeline: t.Any, api_id: str, collection: str) -> Response:
    """Empty one collection (the scenario's records come back with a reset)."""
    store = pipeline.state.store
    field = pipeline.catalog.id_field(api_id, collection)
    records, _ = store.list(api_id, collection)
    for record in records:
        store.delete(api_id, collection, record.get(field, ""))
    return Response(status=204)


@bp.delete("/apis/<api_id>/records/<collection>/<record_id>")
@_known_api
def delete_record(pipeline: t.Any, api_id: str, collection: str, record_id: str) -> Response:
    if not pipeline.state.store.delete(api_id, collection, record_id):
        return problem(404, f"no record {record_id!r} in {api_id}/{collection}")
    return Response(status=204)


@bp.get("/requests")
def list_requests() -> Response:
    """The journal, newest first: ``?api=&operationId=&method=&path=&status=&valid=&since=&limit=``."""
    args = request.args
    try:
        status = int(args["status"]) if "status" in args else None
        since = float(args["since"]) if "since" in args else None
        limit = int(args["limit"]) if "limit" in args else None
    except ValueError:
        return problem(400, "status and limit must be integers, since a number (epoch seconds, virtual clock)")
    if limit is not None and limit < 0:
        return problem(400, "limit must be 0 or more")
    valid = {"true": True, "false": False}.get(args.get("valid", "").lower()) if "valid" in args else None
    if "valid" in args and valid is None:
        return problem(400, "valid must be true or false")
    entries = _state().pipeline.state.journal.entries(
        api=args.get("api"), operation_id=args.get("operationId"), method=args.get("method"), path=args.get("path"),
        status=status, valid=valid, since=since, limit=limit)
    return jsonify({"requests": [entry.as_dict() for entry in entries], "count": len(entries)})


@bp.delete("/requests")
def clear_requests() -> Response:
    _state().pipeline.state.journal.clear()
    return Response(status=204)


@bp.post("/reset")
def reset() -> Response:
    return reset_state()


def reset_state() -> Response:
    """Back to the loaded scenario's state: records, counters, journal, clock."""
    state = _state().pipeline.state
    state.reset()
    return jsonify({"scenario": state.scenario.name})


@bp.get("/scenarios")
def list_scenarios() -> Response:
    state = _state().pipeline.state
    return jsonify({"current": state.scenario.name,
                    "scenarios": [{"name": name, "description": state.fixtures.description(name)}
                                  for name in state.fixtures.names]})


@bp.put("/scenario")
def switch_scenario() -> Response:
    return switch_scenario_to(request.get_json(silent=True))


def switch_scenario_to(body: t.Any) -> Response:
    """``{"name": "rate_limited"}``, or ``{"name": "mine", "fixture": {...}}`` in the fixture format."""
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or set(body) - {"name", "fixture"}:
        return problem(400, 'send {"name": "<scenario>"} or {"name": "<new>", "fixture": {<fixture format>}}')
    pipeline = _state().pipeline
    state = pipeline.state
    try:
        if "fixture" in body:
            state.add_inline(body["name"], body["fixture"])
            problems = state.fixtures.check_against(pipeline.apis)
            if problems:
                raise FixtureError(f"<inline scenario {body['name']}>", problems)
        state.load(body["name"])
    except FixtureError as error:
        return _with_errors(problem(400, "the scenario is invalid"), error.lines())
    return jsonify({"scenario": state.scenario.name})


@bp.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": [fault.as_dict() for fault in _state().pipeline.state.faults.all()]})


@bp.post("/faults")
def add_fault() -> Response:
    return add_fault_from(request.get_json(silent=True))


def add_fault_from(body: t.Any) -> Response:
    """``{"api", "operationId", "latency_ms": 200 | {"min", "max"}, "status": 503, "drop": true, "times": N}``."""
    if not isinstance(body, dict):
        return problem(400, "send the fault as a JSON object")
    pipeline = _state().pipeline
    try:
        fault = pipeline.state.faults.add_spec(body)
    except ValidationError as error:
        return _with_errors(problem(400, "the fault is invalid"), flatten_messages(error.messages))
    known = {api.id: api for api in pipeline.apis}
    unknown = None
    if fault.api is not None and fault.api not in known:
        unknown = f"no API {fault.api!r} (known: {', '.join(sorted(known))})"
    elif fault.operation_id is not None:
        operation = next((op for op in known[str(fault.api)].operations if op.key == fault.operation_id), None)
        if operation is None:
            unknown = f"API {fault.api!r} has no operation {fault.operation_id!r}"
        elif fault.status is not None and not operation.declares(fault.status):
            unknown = (f"{fault.operation_id} declares no {fault.status} response "
                       f"(declared: {', '.join(sorted(operation.response_keys))})")
    if unknown:
        pipeline.state.faults.remove(fault.id)
        return problem(400, unknown)
    response = jsonify(fault.as_dict())
    response.status_code = 201
    return response


@bp.delete("/faults")
def clear_faults() -> Response:
    _state().pipeline.state.faults.clear()
    return Response(status=204)


@bp.delete("/faults/<int:fault_id>")
def remove_fault(fault_id: int) -> Response:
    if not _state().pipeline.state.faults.remove(fault_id):
        return problem(404, f"no fault {fault_id}")
    return Response(status=204)


@bp.get("/rules")
def list_rules() -> Response:
    return jsonify({"rules": [rule.as_dict() for rule in _state().pipeline.state.rules.all()]})


@bp.post("/rules")
def add_rule() -> Response:
    """One rule in the fixture format plus ``"api"``; it applies until a reset or scenario switch."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("api"), str):
        return problem(400, 'send a rule as a JSON object with "api", "match" and "then" (docs/admin-api.md)')
    pipeline = _state().pipeline
    api = next((a for a in pipeline.apis if a.id == body["api"]), None)
    if api is None:
        return problem(404, f"no API {body['api']!r}")
    try:
        loaded = RuleSchema().load({k: v for k, v in body.items() if k != "api"})
    except ValidationError as error:
        return _with_errors(problem(400, "the rule is invalid"), flatten_messages(error.messages))
    problems = rule_problems(api, loaded)
    if problems:
        return _with_errors(problem(400, "the rule does not fit the spec"), problems)
    response = jsonify(pipeline.state.rules.add(pipeline.state.rules.build(api.id, loaded)).as_dict())
    response.status_code = 201
    return response


@bp.delete("/rules/<int:rule_id>")
def remove_rule(rule_id: int) -> Response:
    if not _state().pipeline.state.rules.remove(rule_id):
        return problem(404, f"no rule {rule_id}")
    return Response(status=204)


def _with_errors(response: Response, errors: list[str]) -> Response:
    response.set_data(json.dumps({**json.loads(response.get_data()), "errors": errors}))
    return response


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """This admin API, described by an OpenAPI 3.1 document (shipped with the package)."""
    return jsonify(_admin_document())


@functools.cache
def _admin_document() -> dict[str, t.Any]:
    text = resources.files("mocksrv.admin").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return t.cast(dict[str, t.Any], yaml.safe_load(text))


# -- sessions ---------------------------------------------------------------------------------------

@sessions_bp.before_request
def sessions_guard() -> Response | None:
    return refuse_cross_site() or refuse_caller(holds_token(bearer_credential()))


@sessions_bp.after_request
def sessions_without_cors(response: Response) -> Response:
    return strip_cors(response)


@sessions_bp.post("")
def create_session() -> Response | tuple[Response, int]:
    """``{}``, ``{"scenario": NAME}`` or ``{"fixture": {...}}`` (the fixture format), with an optional ``"id"``."""
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict) or set(body) - SESSION_FIELDS or not all(
            isinstance(body.get(k), str) for k in ("id", "scenario") if k in body) or (
            "fixture" in body and not isinstance(body["fixture"], dict)):
        return problem(400, 'send {}, or any of {"id": "<id>", "scenario": "<name>", "fixture": {<fixture format>}}')
    try:
        session = _sessions().create(body.get("id"), body.get("scenario"), body.get("fixture"))
    except SessionError as error:
        return problem(error.status, str(error))
    except FixtureError as error:
        return _with_errors(problem(400, "the session's scenario is invalid"), error.lines())
    return jsonify(session.as_dict(request.host_url.rstrip("/"))), 201


@sessions_bp.get("")
def list_sessions() -> Response:
    root = request.host_url.rstrip("/")
    return jsonify({"sessions": [session.as_dict(root) for session in _sessions().all()]})


@sessions_bp.get("/<session_id>")
def one_session(session_id: str) -> Response:
    session = _sessions().get(session_id)
    return jsonify(session.as_dict(request.host_url.rstrip("/"))) if session else _no_session(session_id)


@sessions_bp.delete("/<session_id>")
def delete_session(session_id: str) -> Response:
    return Response(status=204) if _sessions().delete(session_id) else _no_session(session_id)
