"""mocksrv: a validating, spec-faithful mock server for APIs described by OpenAPI 3.0/3.1.

The public entry points: `create_app` (the WSGI app, for tests and embedding), `Options`,
`mocksrv.client` and the pytest plugin; the ``mocksrv`` command is `mocksrv.serving.cli`.
"""

from __future__ import annotations

import typing as t

from mocksrv.config import Options as Options

if t.TYPE_CHECKING:
    from mocksrv.serving.app import create_app as create_app


def __getattr__(name: str) -> t.Any:
    # loaded on first use: the pytest plugin imports this package in every test run, and the
    # server (Flask, openapi-core, the engine) is only needed by a test that builds an app
    if name == "create_app":
        from mocksrv.serving.app import create_app

        return create_app
    raise AttributeError(f"module 'mocksrv' has no attribute {name!r}")
