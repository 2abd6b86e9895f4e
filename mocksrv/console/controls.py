"""The console's Controls page and its forms: scenario, reset, clock, faults, journal.

Each form calls the admin API's own function for the change (``admin.switch_scenario_to``,
``admin.apply_clock`` …), so the console and the JSON API check input the same way and
cannot drift apart. Success redirects back (303, so a reload does not post again); a
refusal shows the page again with the admin API's own explanation.
"""

from __future__ import annotations

import typing as t

from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from mocksrv.admin import api as admin
from mocksrv.console.web import VIEWED_SESSION
from mocksrv.console.web import bp
from mocksrv.console.web import pipeline

DONE = {
    "scenario": "Scenario switched: its keys and records are in force, counters restarted.",
    "reset": "Back to the scenario's state: records, counters, journal, faults and clock.",
    "clock": "Clock moved.",
    "fault": "Fault added.",
    "fault-removed": "Fault removed.",
    "faults-cleared": "All faults cleared.",
    "journal-cleared": "Request journal emptied.",
}


@bp.get("/controls")
def controls() -> str:
    return render_controls()


def render_controls(error: str | None = None, errors: list[str] | None = None) -> str:
    state = pipeline().state
    return render_template(
        "console/controls.html", page="controls", done=DONE.get(request.args.get("done", "")), error=error,
        errors=errors or [], scenarios=[(name, state.fixtures.description(name)) for name in state.fixtures.names],
        faults=[fault.as_dict() for fault in state.faults.all()],
        operations=sorted({(api.id, op.key) for api in pipeline().apis for op in api.operations}),
        apis=[api.id for api in pipeline().apis], form=request.form)


def _after(action: str, response: Response) -> Response | tuple[str, int]:
    if response.status_code < 400:
        return t.cast(Response, redirect(url_for("console.controls", done=action), 303))
    problem = response.get_json(silent=True) or {}
    page = render_controls(error=str(problem.get("detail") or "The change was refused."), errors=problem.get("errors"))
    return page, response.status_code


@bp.post("/view-session")
def view_session() -> Response:
    """Show another world: a session's id, or nothing for the server's own (a cookie of the console's)."""
    chosen = request.form.get("session", "")
    back = t.cast(Response, redirect(url_for("console.apis"), 303))
    if chosen and chosen in {s.id for s in current_app.extensions["mocksrv"].sessions.all()}:
        back.set_cookie(VIEWED_SESSION, chosen, path=url_for("console.index"), httponly=True, samesite="Strict")
    else:
        back.delete_cookie(VIEWED_SESSION, path=url_for("console.index"))
    return back


@bp.post("/controls/scenario")
def switch_scenario() -> Response | tuple[str, int]:
    return _after("scenario", admin.switch_scenario_to({"name": request.form.get("name", "")}))


@bp.post("/controls/reset")
def reset() -> Response | tuple[str, int]:
    return _after("reset", admin.reset_state())


@bp.post("/controls/clock")
def move_clock() -> Response | tuple[str, int]:
    """One of: advance by seconds, set an instant, freeze, unfreeze (the button pressed says which)."""
    action = request.form.get("action", "")
    body: dict[str, t.Any] = {}
    if action == "advance":
        body = {"advance_seconds": _number(request.form.get("seconds", ""))}
    elif action == "set":
        body = {"set": request.form.get("instant", "").strip()}
    elif action in ("freeze", "unfreeze"):
        body = {"frozen": action == "freeze"}
    return _after("clock", admin.apply_clock(body))


@bp.post("/controls/faults")
def add_fault() -> Response | tuple[str, int]:
    form = request.form
    body: dict[str, t.Any] = {}
    for name in ("api", "operationId"):
        if form.get(name, "").strip():
            body[name] = form[name].strip()
    for name in ("status", "latency_ms", "times"):
        if form.get(name, "").strip():
            body[name] = _number(form[name])
    if form.get("drop"):
        body["drop"] = True
    return _after("fault", admin.add_fault_from(body))


@bp.post("/controls/faults/<int:fault_id>/remove")
def remove_fault(fault_id: int) -> Response | tuple[str, int]:
    return _after("fault-removed", admin.remove_fault(fault_id))


@bp.post("/controls/faults/clear")
def clear_faults() -> Response | tuple[str, int]:
    return _after("faults-cleared", admin.clear_faults())


@bp.post("/controls/requests/clear")
def clear_requests() -> Response | tuple[str, int]:
    return _after("journal-cleared", admin.clear_requests())


def _number(text: str) -> t.Any:
    """A form field as a number when it is one; otherwise the text, for the admin check to word the problem."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
