"""mocksrv: a validating, spec-faithful mock server for APIs described by OpenAPI 3.0/3.1.

`create_app` builds everything (no work at import time) so two apps can coexist in one
process, e.g. in tests.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask import Flask
from werkzeug.exceptions import HTTPException

from mocksrv.config import Options as Options
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import load_specs

if t.TYPE_CHECKING:
    from mocksrv.engine.pipeline import Pipeline


@dataclass
class MocksrvState:
    """Per-app state, kept in ``app.extensions["mocksrv"]``."""

    options: Options
    pipeline: Pipeline


def create_app(options: Options | None = None, apis: list[ApiSpec] | None = None) -> Flask:
    """Load the specs (unless given); mocked APIs are answered in front of Flask, which serves ``/__mocksrv``.

    :raise SpecError: a spec cannot be loaded (unless ``options.skip_invalid``).
    """
    from mocksrv import console
    from mocksrv.admin import api as admin
    from mocksrv.serving import wsgi as server

    options = options or Options()
    if apis is None:
        apis, _ = load_specs(options.specs, skip_invalid=options.skip_invalid)
    pipeline = build_pipeline(apis, options)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = options.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["mocksrv"] = MocksrvState(options, pipeline)
    app.register_blueprint(admin.bp)
    console.init_app(app)  # the web console at /__mocksrv/ui/ and its email previews
    app.register_error_handler(HTTPException, server.http_error)
    app.wsgi_app = server.ApiDispatcher(app.wsgi_app, pipeline, options.max_body_bytes)  # type: ignore[method-assign]
    return app


def build_pipeline(apis: list[ApiSpec], options: Options) -> Pipeline:
    """Fixtures checked against the specs, the store opened, the scenario started.

    :raise FixtureError: a fixture file is invalid, or does not fit the loaded specs.
    :raise StoreError: the ``--db`` file cannot be read.
    """
    from mocksrv.engine.pipeline import Pipeline
    from mocksrv.engine.security import credential_names
    from mocksrv.errors import FixtureError
    from mocksrv.state.clock import Clock
    from mocksrv.state.fixtures import FixtureSet
    from mocksrv.state.store import Store
    from mocksrv.state.world import MockState

    fixtures = FixtureSet(options.fixtures)
    problems = fixtures.check_against(apis)
    if problems:
        raise FixtureError(str(options.fixtures), problems)
    store = Store(options.db)
    state = MockState(fixtures, store, Clock(options.clock_start),
                      id_field=lambda api, collection: pipeline.id_field(api, collection),
                      load_options=lambda api, given, where: pipeline.load_options(api, given, where),
                      journal_limit=options.journal_limit, secrets=credential_names(apis))
    pipeline = Pipeline(apis, options, state)
    state.start(options.scenario)
    return pipeline
