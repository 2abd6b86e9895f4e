"""`mocksrv requests` and `mocksrv sessions`: a running server's journal and sessions, in a terminal.

They read the admin API like any client (`mocksrv.client`), so they work against a server in
another terminal, a container or a CI service. One line per request: the virtual time, the
status, the API and operation, method and path, and the first validation error; coloured
when the output is a terminal (click leaves the colour out otherwise).
"""

from __future__ import annotations

import time
import typing as t
from datetime import UTC
from datetime import datetime

import click

from mocksrv.client import MocksrvClient

Entry = dict[str, t.Any]
POLL_SECONDS = 0.5
PAGE = 500  # the most entries asked for per poll; more in half a second are shown from the newest 500


def request_line(entry: Entry) -> str:
    """``10:00:03 201 maildiver sendEmail POST /maildiver/v1/emails`` (+ the first problem, if any)."""
    status = int((entry.get("response") or {}).get("status") or 0)
    when = datetime.fromtimestamp(float(entry.get("time") or 0), UTC).strftime("%H:%M:%S")  # the virtual clock
    what = entry.get("operationId") or ("preflight" if entry.get("preflight") else "-")
    line = f"{when} {status} {entry.get('api') or '-'} {what} {entry.get('method')} {entry.get('path')}"
    colour = "red" if status >= 500 or not entry.get("valid", True) else "yellow" if status >= 400 else "green"
    text = click.style(line, fg=colour)
    errors = entry.get("errors") or []
    if errors:
        first = errors[0]
        where = first.get("field") or first.get("location") or ""
        text += click.style(f"  ({where + ': ' if where else ''}{first.get('message', '')})", fg="red")
    return text


def show_requests(client: MocksrvClient, *, follow: bool, limit: int, filters: dict[str, t.Any],
                  polls: int | None = None) -> None:
    """The newest ``limit`` entries, oldest first; with ``follow``, then every new one as it comes
    (``polls`` bounds the polling, for tests; None polls until interrupted)."""
    entries = list(reversed(client.requests(limit=limit, **filters)))
    for entry in entries:
        click.echo(request_line(entry))
    last = max((int(e["id"]) for e in entries), default=_newest_id(client, filters))
    done = 0
    while follow and (polls is None or done < polls):
        time.sleep(POLL_SECONDS)
        done += 1
        fresh = [e for e in reversed(client.requests(limit=PAGE, **filters)) if int(e["id"]) > last]
        for entry in fresh:
            click.echo(request_line(entry))
            last = int(entry["id"])


def _newest_id(client: MocksrvClient, filters: dict[str, t.Any]) -> int:
    newest = client.requests(limit=1, **filters)
    return int(newest[0]["id"]) if newest else 0


def show_sessions(client: MocksrvClient) -> None:
    """One block per session: its id and scenario, then each API's base URL."""
    sessions = client.call("GET", "/sessions", server=True)["sessions"]
    if not sessions:
        click.echo("no sessions (POST /__mocksrv/sessions makes one)")
    for session in sessions:
        click.echo(f"{session['id']}  scenario {session['scenario']}")
        for api, url in session["apis"].items():
            click.echo(f"  {api:<20} {url}")
