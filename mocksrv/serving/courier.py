"""The courier: sends webhook deliveries when their instant comes on the virtual clock.

One thread watches every world (the server's and each session's): it wakes when a delivery is
added, when a clock moves, and at the next due instant of a running clock, and hands each due
delivery to a small pool of sender threads, so a slow receiver never holds up a request or the
other deliveries. An attempt is one POST with a timeout, signed the Standard Webhooks way
(wire/signatures.py) with the subscription's secret, at real time (receivers check the
timestamp against their own clock); the delivery's ``webhook-id`` is the same on every retry.
Redirects are not followed and only loopback or ``--webhook-allow`` hosts are called
(`state.webhooks.target_refusal`): nothing leaves the machine unless the user said so.

What is owed is in the store (state/webhooks.py), so a delivery cut short by a crash is sent
again after a restart with ``--db`` (at least once); `stop` waits a bounded time for the
attempts under way.
"""

from __future__ import annotations

import concurrent.futures
import functools
import http.client
import json
import logging
import ssl
import threading
import time
import typing as t
import urllib.parse
import weakref

from mocksrv.state.webhooks import target_refusal
from mocksrv.state.world import MockState
from mocksrv.wire.signatures import VendorScheme
from mocksrv.wire.signatures import signed_headers
from mocksrv.wire.signatures import vendor_headers

log = logging.getLogger(__name__)
Json = t.Any
IDLE_SECONDS = 1.0  # the longest nap: a world made meanwhile (a session) is looked at within it
KEPT_ANSWER = 2048  # bytes of the receiver's answer kept with the attempt
USER_AGENT = "mocksrv-webhooks/1"



class Courier:
    """Sends what `Webhooks` says is due, for every world ``worlds()`` lists."""

    def __init__(self, worlds: t.Callable[[], list[MockState]], allowed: t.Iterable[str] = (), *,
                 timeout: float = 5.0, senders: int = 4) -> None:
        self._worlds = worlds
        self._allowed = tuple(allowed)
        self._timeout = timeout
        self._pool = concurrent.futures.ThreadPoolExecutor(senders, thread_name_prefix="mocksrv-webhook")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._in_flight: dict[tuple[int, str], concurrent.futures.Future[None]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="mocksrv-courier", daemon=True)
        self._watched: weakref.WeakSet[MockState] = weakref.WeakSet()

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, wait: float) -> int:
        """Stop sending; wait up to ``wait`` seconds for the attempts under way. Returns how many
        were still going (they stay pending and are sent again after a restart with ``--db``)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(wait)
        with self._lock:
            going = list(self._in_flight.values())
        _, left = concurrent.futures.wait(going, timeout=wait)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return len(left)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            nap = IDLE_SECONDS
            for state in self._worlds():
                self._watch(state)
                try:
                    nap = min(nap, self._dispatch(state))
                except Exception:  # a world closed under us (a session deleted, shutdown): look again later
                    log.debug("courier: world unavailable", exc_info=True)
            self._wake.wait(max(nap, 0.005))

    def _watch(self, state: MockState) -> None:
        if state not in self._watched:
            self._watched.add(state)
            state.clock.on_change(self.wake)
            state.webhooks.on_change(self.wake)

    def _dispatch(self, state: MockState) -> float:
        """Start each due delivery; the real seconds until the next one is due (IDLE_SECONDS at most)."""
        now = state.clock.now()
        for delivery in state.webhooks.due(now):
            key = (id(state), delivery["id"])
            with self._lock:
                if key in self._in_flight or self._stopping.is_set():
                    continue
                if not state.webhooks.claim(delivery, now):  # another process sharing the store makes it
                    continue
                future = self._pool.submit(self._attempt, state, delivery)
                self._in_flight[key] = future
            future.add_done_callback(functools.partial(self._done, key))
        upcoming = state.webhooks.next_due()
        if upcoming is None or state.clock.frozen:
            return IDLE_SECONDS  # a frozen clock moves only by a call, which wakes us
        return max(upcoming - state.clock.now(), 0.0)

    def _done(self, key: tuple[int, str], _: object) -> None:
        with self._lock:
            self._in_flight.pop(key, None)
        self._wake.set()  # its retry may be due already (a clock far ahead)

    def _attempt(self, state: MockState, delivery: dict[str, Json]) -> None:
        webhooks, at = state.webhooks, state.clock.now()
        refusal = target_refusal(delivery["url"], self._allowed)
        if refusal is not None:
            webhooks.attempted(delivery, {"at": at, "error": refusal, "duration_ms": 0}, succeeded=False, final=True)
            log.warning("webhook %s to %s not sent: %s", delivery["webhook_id"], delivery["url"], refusal)
            return
        body = json.dumps(delivery["payload"], separators=(",", ":"), ensure_ascii=False).encode()
        headers = _headers(delivery, body)
        started = time.monotonic()
        try:
            status, answer = self._post(delivery, headers, body)
            outcome: dict[str, Json] = {"status": status, "response": answer}
        except (OSError, http.client.HTTPException, ValueError) as error:
            status, outcome = 0, {"error": _reason(error)}
        outcome.update(at=at, duration_ms=round((time.monotonic() - started) * 1000, 1), headers=headers)
        done = webhooks.attempted(delivery, outcome, succeeded=200 <= status < 300)
        if done is not None and done["state"] == "failed":
            log.warning("webhook %s to %s failed after %d attempts: %s", delivery["webhook_id"], delivery["url"],
                        len(done["attempts"]), outcome.get("error") or f"HTTP {status}")

    def _post(self, delivery: dict[str, Json], headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """One request; the receiver's status and the start of its answer. Redirects are answers, never followed."""
        parts = urllib.parse.urlsplit(delivery["url"])
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=self._timeout,
                                                     context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self._timeout)
        try:
            connection.request(delivery.get("method", "POST"), target, body, headers)
            response = connection.getresponse()
            return response.status, response.read(KEPT_ANSWER).decode("utf-8", "replace")
        finally:
            connection.close()


def _headers(delivery: dict[str, Json], body: bytes) -> dict[str, str]:
    """What one attempt sends besides the body: its type, and the signature (at real time) or, for an
    unsigned callback, the id alone."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if delivery.get("secret") and delivery.get("signing"):  # the provider's own scheme, as the spec declares it
        headers.update(vendor_headers(VendorScheme(**delivery["signing"]), delivery["secret"], delivery["webhook_id"],
                                      int(time.time()), body))
    elif delivery.get("secret"):
        headers.update(signed_headers(delivery["secret"], delivery["webhook_id"], int(time.time()), body))
    else:
        headers["webhook-id"] = delivery["webhook_id"]
    return headers


def _reason(error: BaseException) -> str:
    """An attempt's failure in a few words (``connection refused``, ``timed out after 5 s``)."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
