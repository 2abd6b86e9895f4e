"""Signing in to the console with the admin token (only when the server runs with ``--admin-token``)."""

from __future__ import annotations

import typing as t

from flask import Response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from mocksrv.admin import access
from mocksrv.admin.access import admin_token
from mocksrv.console.access import CONSOLE_PATH
from mocksrv.console.access import SESSION_COOKIE
from mocksrv.console.access import safe_next
from mocksrv.console.access import session_value
from mocksrv.console.web import bp


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    token = admin_token()
    target = safe_next(request.values.get("next"))
    if not token:
        return t.cast(Response, redirect(target, 303))  # nothing to sign in to: local clients only
    if request.method == "GET":
        return render_template("console/login.html", page="login", next=target, error=None)
    if not access.holds_token(request.form.get("token", "")):
        return render_template("console/login.html", page="login", next=target,
                               error="That is not the admin token this server was started with."), 401
    response = t.cast(Response, redirect(target, 303))
    response.set_cookie(SESSION_COOKIE, session_value(token), httponly=True, samesite="Strict",
                        secure=request.is_secure, path=CONSOLE_PATH)
    return response


@bp.post("/logout")
def logout() -> Response:
    response = t.cast(Response, redirect(url_for("console.login"), 303))
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PATH, httponly=True, samesite="Strict")
    return response
