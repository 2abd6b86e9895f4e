"""mocksrv: a validating, spec-faithful mock server for APIs described by OpenAPI 3.0/3.1.

`create_app` builds everything (no work at import time) so two apps can coexist in one
process, e.g. in tests.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask import Flask
from werkzeug.exceptions import HTTPException

from .config import Options as Options
from .specs import ApiSpec
from .specs import load_specs

if t.TYPE_CHECKING:
    from .pipeline import Pipeline


@dataclass
class MocksrvState:
    """Per-app state, kept in ``app.extensions["mocksrv"]``."""

    options: Options
    pipeline: Pipeline


def create_app(options: Options | None = None, apis: list[ApiSpec] | None = None) -> Flask:
    """Load the specs (unless given); mocked APIs are answered in front of Flask, which serves ``/__mocksrv``.

    :raise SpecError: a spec cannot be loaded (unless ``options.skip_invalid``).
    """
    from . import admin
    from . import console
    from . import server

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
    app.wsgi_app = server.MockFirst(app.wsgi_app, pipeline, options.max_body_bytes)  # type: ignore[method-assign]
    return app


def build_pipeline(apis: list[ApiSpec], options: Options) -> Pipeline:
    """Fixtures checked against the specs, the store opened, the scenario started.

    :raise FixtureError: a fixture file is invalid, or does not fit the loaded specs.
    :raise StoreError: the ``--db`` file cannot be read.
    """
    from .clock import Clock
    from .errors import FixtureError
    from .fixtures import FixtureSet
    from .pipeline import Pipeline
    from .security import credential_names
    from .state import MockState
    from .store import Store

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
