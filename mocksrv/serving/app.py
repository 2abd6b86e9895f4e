"""The Flask app: the admin API and the console in Flask, mocked APIs answered in front of it.

`create_app` builds everything (no work at import time) so two apps can coexist in one
process, e.g. in tests.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask import Flask
from werkzeug.exceptions import HTTPException

from mocksrv import console
from mocksrv.admin import api as admin
from mocksrv.admin import drift as _drift  # noqa: F401 (its route joins the admin blueprint)
from mocksrv.admin import webhooks as _webhooks  # noqa: F401 (its routes join the admin blueprint)
from mocksrv.config import Options
from mocksrv.engine.assembly import build_pipeline
from mocksrv.engine.pipeline import Pipeline
from mocksrv.engine.sessions import Sessions
from mocksrv.errors import StoreError
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import load_specs
from mocksrv.serving import wsgi
from mocksrv.serving.courier import Courier
from mocksrv.state.world import MockState


@dataclass
class MocksrvState:
    """Per-app state, kept in ``app.extensions["mocksrv"]``."""

    options: Options
    pipeline: Pipeline  # the default world's
    sessions: Sessions
    courier: Courier  # sends webhook deliveries once started (`mocksrv serve` starts it)
    reload_error: str | None = None  # `serve --watch`: why the last edit is not served (None: it is)


def create_app(options: Options | None = None, apis: list[ApiSpec] | None = None) -> Flask:
    """Load the specs (unless given); mocked APIs are answered in front of Flask, which serves ``/__mocksrv``.

    :raise SpecError: a spec cannot be loaded, or needs a repair under ``options.strict_specs``
        (unless ``options.skip_invalid``).
    """
    options = options or Options()
    if apis is None:
        apis, _ = load_specs(options.specs, skip_invalid=options.skip_invalid, strict=options.strict_specs)
    pipeline = build_pipeline(apis, options)
    app = Flask("mocksrv")
    app.config["MAX_CONTENT_LENGTH"] = options.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    sessions = Sessions(pipeline, options)

    def worlds() -> list[MockState]:
        # the server's world and each session's, as they are now (a reload replaces the pipeline)
        served = t.cast(MocksrvState, app.extensions["mocksrv"])
        return [served.pipeline.state, *(session.pipeline.state for session in served.sessions.all())]

    courier = Courier(worlds, options.webhook_allow, timeout=options.webhook_timeout)
    app.extensions["mocksrv"] = MocksrvState(options, pipeline, sessions, courier)
    app.register_blueprint(admin.bp)
    # every admin endpoint again under /__mocksrv/sessions/<id>/, acting on that session's world
    app.register_blueprint(admin.bp, name="session", url_prefix=f"{admin.bp.url_prefix}/sessions/<session_id>")
    app.register_blueprint(admin.sessions_bp)
    console.init_app(app)  # the web console at /__mocksrv/ui/ and its email previews
    app.register_error_handler(HTTPException, wsgi.http_error)
    app.register_error_handler(StoreError, wsgi.store_unavailable)
    app.wsgi_app = wsgi.ApiDispatcher(app.wsgi_app, pipeline, options.max_body_bytes,  # type: ignore[method-assign]
                                      sessions)
    return app

