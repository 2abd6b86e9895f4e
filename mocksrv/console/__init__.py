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
from flask import current_app

from mocksrv.state.store import HOME

if t.TYPE_CHECKING:
    from mocksrv.console.examples import Example
    from mocksrv.state.fixtures import Scenario
    from mocksrv.state.store import Store


PREVIEW_SECRET = (HOME, "console", "preview-secret")  # where a shared store keeps it (a reset drops it)


@dataclass
class ConsoleState:
    """Per-app console state, kept in ``app.extensions["mocksrv_console"]``."""

    own_secret: bytes  # signs preview URLs; new per process, so old URLs stop working on restart
    # curl examples of the scenario they were tried on (recomputed when another one is loaded)
    examples: tuple[Scenario, dict[tuple[str, str], Example]] | None = None

    def preview_secret(self, store: Store) -> bytes:
        """What signs preview URLs: this process's own secret, or with a shared store the one kept there (the
        first process to ask puts its own), so a preview opened through one replica loads from any other."""
        if not store.shared:
            return self.own_secret
        kept = store.get(*PREVIEW_SECRET)
        if kept is None:
            store.create(*PREVIEW_SECRET, {"secret": self.own_secret.hex()})
            kept = store.get(*PREVIEW_SECRET) or {"secret": self.own_secret.hex()}
        return bytes.fromhex(str(kept["secret"]))


def preview_secret() -> bytes:
    """What signs this app's preview URLs now (`ConsoleState.preview_secret` over the server's store)."""
    state = t.cast(ConsoleState, current_app.extensions["mocksrv_console"])
    return state.preview_secret(current_app.extensions["mocksrv"].pipeline.state.store)


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
