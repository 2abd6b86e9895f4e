"""A webhook receiver for tests: an HTTP server on a free loopback port that keeps what mocksrv sends it.

The pytest plugin's ``webhook_receiver`` fixture is one; outside pytest, use it as a context manager::

    with WebhookReceiver() as hooks:
        mocksrv.subscribe("send-service", hooks.url, events=["delivered"], secret=SECRET)
        ...                                 # send an email, then advance the virtual clock
        [delivered] = hooks.wait_for(1, event="delivered")
        assert delivered.verified(SECRET)["data"]["email_id"] == email_id

It answers 204 to everything (or the statuses given, in turn, the last one from then on, to test retries),
and checks Standard Webhooks signatures the way a receiver's verifier does (docs/webhooks.md).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
import typing as t
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from mocksrv.wire.signatures import signature

TOLERANCE_SECONDS = 300  # what verifiers allow between a timestamp and their clock (the reference ones: 5 min)


class BadSignature(AssertionError):
    """A delivery whose signature, id or timestamp does not check out."""


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def payload(self) -> t.Any:
        return json.loads(self.body)

    @property
    def event(self) -> str | None:
        """The event's name where the payload says it (``type``, the Standard Webhooks envelope)."""
        payload = self.payload
        return payload.get("type") if isinstance(payload, dict) else None

    def verified(self, secret: str, *, now: float | None = None) -> t.Any:
        """The payload, once its ``webhook-signature`` checks out under ``secret``.

        :raise BadSignature: a header missing, a timestamp out of tolerance, or no signature that matches.
        """
        try:
            message_id = self.headers["webhook-id"]
            stamp = int(self.headers["webhook-timestamp"])
            offered = self.headers["webhook-signature"].split()
        except (KeyError, ValueError) as error:
            raise BadSignature(f"no valid Standard Webhooks headers: {error}") from None
        if abs((time.time() if now is None else now) - stamp) > TOLERANCE_SECONDS:
            raise BadSignature(f"webhook-timestamp {stamp} is more than {TOLERANCE_SECONDS} s away")
        expected = signature(secret, message_id, stamp, self.body)
        if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
            raise BadSignature("no webhook-signature matches the secret")
        return self.payload


class WebhookReceiver:
    """A loopback HTTP server that keeps every request; stopped by `stop` (or leaving the ``with``)."""

    def __init__(self, statuses: t.Sequence[int] = (204,), host: str = "127.0.0.1", port: int = 0, *,
                 delay_seconds: float = 0.0) -> None:
        """:param delay_seconds: how long each answer takes (a slow handler: timeouts, overlapping attempts)."""
        self.received: list[Delivery] = []
        self._delay = delay_seconds
        self._statuses = list(statuses) or [204]
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def wait_for(self, count: int = 1, *, event: str | None = None, timeout: float = 10.0) -> list[Delivery]:
        """The first ``count`` deliveries (of ``event`` only, when given), once they are here.

        :raise AssertionError: fewer arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(found := self._matching(event)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    what = f"{event!r} deliveries" if event else "deliveries"
                    raise AssertionError(f"{len(found)} of {count} {what} arrived within {timeout} s")
                self._arrived.wait(left)
            return found[:count]

    def events(self) -> list[str | None]:
        """The event name of each delivery so far, in order of arrival."""
        return [delivery.event for delivery in list(self.received)]

    def _matching(self, event: str | None) -> list[Delivery]:
        return [d for d in self.received if event is None or d.event == event]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _keep(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._arrived:
                    receiver.received.append(Delivery(self.command, self.path,
                                                      {k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver._statuses.pop(0) if len(receiver._statuses) > 1 else receiver._statuses[0]
                    receiver._arrived.notify_all()
                time.sleep(receiver._delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _keep

            def log_message(self, *args: t.Any) -> None:  # quiet: the test reads what arrived
                pass

        return Handler
