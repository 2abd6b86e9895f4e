"""Email HTML previews, served apart from the console so that nothing in an email can act.

A message's HTML is client input: it may hold scripts, forms, tracking pixels. It is
served at ``/__mocksrv/preview/<api>/<id>`` — outside the console's cookie path, so no
credential is ever sent to it — with a Content-Security-Policy that allows no script,
no connection, no form and no frame, only inline styles and ``data:`` images (remote
images too when ``?images=1``, after the person clicked "load images"), and whose
``sandbox`` directive makes the document an opaque origin even when opened on its own.
The console frames it in ``<iframe sandbox>`` (neither ``allow-scripts`` nor
``allow-same-origin``). The URL carries an HMAC signature the console's message page
hands out, which is what authorizes it when the server runs with ``--admin-token``.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request

from mocksrv.admin import access
from mocksrv.console import preview_secret
from mocksrv.console.access import is_preview_signature
from mocksrv.console.outbox import message

bp = Blueprint("console_preview", __name__, url_prefix="/__mocksrv/preview")
BASE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:{images}; font-src data:; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox")
NO_HTML = ("<!doctype html><meta charset=utf-8><p style=\"font:14px sans-serif;color:#555\">"
           "This message has no HTML body.</p>")


@bp.before_request
def guard() -> Response | None:
    # without a token, local clients only; with one, the signature below stands in for it
    return access.refuse_cross_site() or access.refuse_caller(authenticated=True)


@bp.get("/<api_id>/<record_id>")
def preview(api_id: str, record_id: str) -> Response:
    server = current_app.extensions["mocksrv"]
    secret = preview_secret()
    session_id = request.args.get("session", "")
    if not is_preview_signature(secret, api_id, record_id, request.args.get("sig", ""), session_id):
        return access.problem(403, "this preview URL is not signed by this server (open the message in the console; "
                                  "preview URLs change when the server restarts)")
    session = server.sessions.get(session_id) if session_id else None
    if session_id and session is None:
        return access.problem(404, f"no session {session_id!r}: it was deleted or expired")
    found = message(session.pipeline if session is not None else server.pipeline, api_id, record_id)
    if found is None:
        return access.problem(404, f"no message {record_id!r} of {api_id}")
    images = request.args.get("images") == "1"
    response = Response(found.html or NO_HTML, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = BASE_POLICY.format(images=" http: https:" if images else "")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@bp.after_request
def without_cors(response: Response) -> Response:
    return access.strip_cors(response)
