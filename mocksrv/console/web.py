"""The console blueprint itself: who may use it, the headers every page carries, shared helpers.

Routes live in `pages` (what you read), `controls` (what you change) and `signin`; they
all hang on `bp`. Access follows the admin API (`mocksrv.admin.api`): a cross-site state
change is refused first; then, without ``--admin-token``, loopback clients only; with it,
a Bearer header or the sign-in cookie. Console forms must also prove they come from the
console's own pages (``Origin``, else ``Referer``, else ``Sec-Fetch-Site``): the cookie
would otherwise vouch for any page that makes a browser post to us.
"""

from __future__ import annotations

import typing as t
from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from mocksrv.admin import access
from mocksrv.admin.access import admin_token
from mocksrv.console import ConsoleState
from mocksrv.console.access import SESSION_COOKIE
from mocksrv.console.access import is_session
from mocksrv.console.examples import Example
from mocksrv.console.examples import build_examples
from mocksrv.engine.pipeline import Pipeline

bp = Blueprint("console", __name__, url_prefix="/__mocksrv/ui", template_folder="templates",
               static_folder="static")
# reachable before signing in (the sign-in form and its stylesheet), still for local clients only without a token
PUBLIC_ENDPOINTS = {"console.login", "console.static"}
# pages fetched by script: they answer 401 instead of sending the browser to the sign-in form
FRAGMENT_ENDPOINTS = {"console.request_rows"}
VIEWED_SESSION = "mocksrv_viewed_session"  # the console cookie naming the session it shows
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def pipeline() -> Pipeline:
    """The world the console shows: the session chosen in its header, else the server's own."""
    session = g.get("mocksrv_session")
    return t.cast(Pipeline, session.pipeline if session is not None else current_app.extensions["mocksrv"].pipeline)


def view_chosen_session() -> None:
    """The session the viewer chose (a console cookie) is the one the pages and the admin functions they
    call act on (`mocksrv.admin.api` reads the same ``g``); one that ended falls back to the server's."""
    chosen = request.cookies.get(VIEWED_SESSION)
    if chosen:
        g.mocksrv_session = current_app.extensions["mocksrv"].sessions.get(chosen)


def console_state() -> ConsoleState:
    return t.cast(ConsoleState, current_app.extensions["mocksrv_console"])


def examples() -> dict[tuple[str, str], Example]:
    """The curl examples for the scenario in force, tried once per loaded scenario."""
    state = console_state()
    scenario = pipeline().state.scenario
    if state.examples is None or state.examples[0] is not scenario:
        state.examples = (scenario, build_examples(pipeline()))
    return state.examples[1]


@bp.before_request
def guard() -> Response | None:
    refusal = access.refuse_cross_site() or refuse_foreign_form()
    if refusal is not None:
        return refusal
    if request.endpoint in PUBLIC_ENDPOINTS:
        return access.refuse_caller(authenticated=True)
    refusal = access.refuse_caller(signed_in())
    if refusal is not None and refusal.status_code == 401 and request.method == "GET" \
            and request.endpoint not in FRAGMENT_ENDPOINTS:
        return t.cast(Response, redirect(url_for("console.login", next=request.full_path.rstrip("?")), 303))
    if refusal is None:
        view_chosen_session()
    return refusal


def signed_in() -> bool:
    token = admin_token()
    if not token:
        return False
    return access.holds_token(access.bearer_credential()) or is_session(request.cookies.get(SESSION_COOKIE), token)


def refuse_foreign_form() -> Response | None:
    """403 for a form post that does not show it comes from this server's own pages (CSRF)."""
    if request.method not in access.MUTATING_METHODS:
        return None
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if origin is not None and access.is_own_origin(_origin_of(origin)):
        return None
    if origin is None and request.headers.get("Sec-Fetch-Site", "").lower() == "same-origin":
        return None
    return access.problem(403, "console forms are accepted from the console's own pages only (the browser "
                              "names them in Origin or Referer); reload the page and submit it again")


def _origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else url


@bp.after_request
def page_headers(response: Response) -> Response:
    """No CORS; pages are not framed by other sites, not cached, and run only the console's own script."""
    access.strip_cors(response)
    response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"  # pages show keys and request bodies
    return response


@bp.context_processor
def common() -> dict[str, t.Any]:
    state = pipeline().state
    viewed = g.get("mocksrv_session")
    return {"scenario_name": state.scenario.name, "virtual_now": clock_text(state.clock.now()),
            "clock_frozen": state.clock.frozen, "uses_token": bool(admin_token()),
            "sessions": [s.id for s in current_app.extensions["mocksrv"].sessions.all()],
            "reload_error": current_app.extensions["mocksrv"].reload_error,
            "viewed_session": viewed.id if viewed is not None else "", "has_upstreams": bool(pipeline().proxied_apis())}


@bp.app_template_filter("clock")
def clock_text(epoch: float | None) -> str:
    """A virtual-clock instant as people read it (UTC)."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


@bp.app_template_filter("status_class")
def status_class(status: int | None) -> str:
    return f"s{status // 100}xx" if status else "s0xx"


def not_found(what: str) -> tuple[str, int]:
    return render_template("console/missing.html", what=what), 404


@bp.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    if size is None:
        return "unknown"
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"
