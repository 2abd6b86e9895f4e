"""The web console: server-rendered pages at ``/__mocksrv/ui/`` over the same state as the admin API.

APIs (base URLs, security, the scenario's keys, a working curl line per operation),
Requests (the journal, live), Outbox (every email the seed APIs stored, with a sandboxed
HTML preview), Webhooks (deliveries and their attempts), Records (any API's stored
collections) and Controls (scenario, reset, clock, faults — through the admin API's own
functions). Access rules are the admin API's
(`mocksrv.admin.api`), plus a sign-in form when ``--admin-token`` is set. See docs/console.md.
"""

from __future__ import annotations

import secrets
import typing as t
from dataclasses import dataclass

from flask import Flask

if t.TYPE_CHECKING:
    from mocksrv.console.examples import Example
    from mocksrv.state.fixtures import Scenario


@dataclass
class ConsoleState:
    """Per-app console state, kept in ``app.extensions["mocksrv_console"]``."""

    preview_secret: bytes  # signs preview URLs; new per process, so old URLs stop working on restart
    # curl examples of the scenario they were tried on (recomputed when another one is loaded)
    examples: tuple[Scenario, dict[tuple[str, str], Example]] | None = None


def init_app(app: Flask) -> None:
    """Register the console and preview blueprints on a mocksrv app."""
    from mocksrv.console import controls  # noqa: F401 - registers its routes on web.bp
    from mocksrv.console import drift  # noqa: F401
    from mocksrv.console import pages  # noqa: F401
    from mocksrv.console import preview
    from mocksrv.console import signin  # noqa: F401
    from mocksrv.console import web
    from mocksrv.console import webhooks  # noqa: F401

    app.extensions["mocksrv_console"] = ConsoleState(secrets.token_bytes(32))
    app.register_blueprint(web.bp)
    app.register_blueprint(preview.bp)
