"""Webhook subscriptions and the deliveries owed to them, kept in the store (docs/webhooks.md).

A subscription (``url``, ``events``, ``secret``) belongs to one API: from the scenario's
``webhooks:`` list, or added through the admin API. Each event an API emits becomes one
delivery per subscription that wants it (and a callback, one delivery to the URL the request
named), due at the event's instant on the virtual clock. The courier (serving/courier.py)
sends what is due and reports each attempt back here; a failed attempt is tried again after
a back-off on the same clock, up to ``MAX_ATTEMPTS``.

Everything is a record in the store (collections no spec path names), so a reset or a
scenario switch clears it like other state, and ``--db`` keeps pending deliveries across a
restart. An event goes to the subscriptions that exist when it is emitted.
"""

from __future__ import annotations

import ipaddress
import threading
import typing as t
import urllib.parse
import uuid
from dataclasses import dataclass

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate
from marshmallow import validates

from mocksrv.state.store import Store
from mocksrv.wire.signatures import BadSecret
from mocksrv.wire.signatures import new_secret
from mocksrv.wire.signatures import signing_key

Json = t.Any
SUBSCRIPTIONS = "mocksrv-webhooks"
DELIVERIES = "mocksrv-deliveries"
EVENTS = "mocksrv-events"  # only its sequence: one webhook-id per event
CLAIMS = "mocksrv-claims"  # one record per attempt: the process that creates it makes the attempt
# seconds on the virtual clock before each retry: the first attempt, then 5 s, 30 s, 2 min, 10 min
BACKOFF = (5.0, 30.0, 120.0, 600.0)
MAX_ATTEMPTS = len(BACKOFF) + 1
ID_NAMESPACE = uuid.UUID("6f1b8a52-3c1e-4c52-9f0e-6d1f5e2a9b71")  # webhook-ids, stable per API and event


class SubscriptionSchema(Schema):
    """One subscription as a scenario or the admin API writes it."""

    class Meta:
        unknown = RAISE

    url = fields.String(required=True)
    events = fields.List(fields.String(validate=validate.Length(min=1)), load_default=None, allow_none=True)
    secret = fields.String(load_default=None, allow_none=True)
    # faults a scenario sets on the way: every event arrives this much later, these never arrive
    delay_seconds = fields.Float(validate=validate.Range(min=0), load_default=0.0)
    drop = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)

    @validates("url")
    def _url(self, value: str, **_: Json) -> None:
        problem = url_problem(value)
        if problem:
            raise ValidationError(problem)

    @validates("secret")
    def _secret(self, value: str | None, **_: Json) -> None:
        if value is not None and not value:
            raise ValidationError("a webhook secret cannot be empty")

    @post_load
    def _made_up_secret(self, data: dict[str, Json], **_: Json) -> dict[str, Json]:
        """A subscription without a secret gets one when it is read, so it stays the same across resets."""
        return {**data, "secret": data.get("secret") or new_secret()}


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot receive webhooks (None: it can, as far as its form goes)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL with a host"
    try:
        parts.port  # noqa: B018 (reading it checks it)
    except ValueError:
        return f"{url!r} has a port that is not a number from 0 to 65535"
    return None


def secret_problem(secret: str, standard: bool) -> str | None:
    """Why ``secret`` cannot sign the API's deliveries: Standard Webhooks needs ``whsec_`` and base64;
    a provider's own scheme takes any text."""
    if not standard:
        return None
    try:
        signing_key(secret)
    except BadSecret as error:
        return str(error)
    return None


def unknown_events(chosen: list[str] | None, known: tuple[str, ...]) -> str | None:
    """Why a subscription's ``events`` cannot be (None: they can): a name the API does not have."""
    wrong = [name for name in chosen or [] if known and name not in known]
    return f"unknown event {wrong[0]!r} (known: {', '.join(known)})" if wrong else None


def target_refusal(url: str, allowed: t.Iterable[str]) -> str | None:
    """Why mocksrv will not call ``url`` (None: it will). Loopback only, unless the user named the
    host (``--webhook-allow HOST`` or ``HOST:PORT``): the mock never calls an address nobody chose."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "localhost" or _loopback(host):
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    named = {entry.lower() for entry in allowed}
    if host in named or f"{host}:{port}" in named or (f"[{host}]:{port}" in named):
        return None
    return f"{host} is not a loopback address and not allowed with --webhook-allow"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Emission:
    """An event an API emits: its name, its payload, when it happens (None: now)."""

    event: str
    payload: Json
    at: float | None = None
    source: str | None = None  # the id of the record it is about (the console shows it beside that message)


class Webhooks:
    """The subscriptions and deliveries of one world (the server's, or a session's)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._listeners: list[t.Callable[[], None]] = []
        self._lock = threading.Lock()
        # (api, delivery id) -> when it is due: the pending ones, so the courier never scans finished ones
        self._pending: dict[tuple[str, str], float] = {}
        self.reindex()

    def reindex(self) -> None:
        """Read the pending deliveries from the store again (after it was replaced: a reset, a scenario)."""
        pending: dict[tuple[str, str], float] = {}
        for api in self.store.apis_with(DELIVERIES):
            for delivery in self.store.list(api, DELIVERIES, where={"state": "pending"})[0]:
                pending[(api, str(delivery["id"]))] = float(delivery["next_at"])
        with self._lock:
            self._pending = pending

    def on_change(self, listener: t.Callable[[], None]) -> None:
        """Call ``listener`` after deliveries are added (the courier wakes up for them)."""
        self._listeners.append(listener)

    # -- subscriptions ------------------------------------------------------------------------

    def subscriptions(self, api: str) -> list[dict[str, Json]]:
        return self.store.list(api, SUBSCRIPTIONS)[0]

    def subscribe(self, api: str, loaded: dict[str, Json]) -> dict[str, Json]:
        """Add a subscription loaded by `SubscriptionSchema`, under the next free ``wh_N``."""
        def numbered(number: int) -> tuple[str, dict[str, Json]]:
            return f"wh_{number}", as_subscription(f"wh_{number}", loaded)

        # the scenario's own are wh_1 … wh_n, which the sequence does not know of: one draw more than there
        # are subscriptions always finds a free id
        created = self.store.create_numbered(api, SUBSCRIPTIONS, numbered,
                                             attempts=self.store.count(api, SUBSCRIPTIONS) + 1)
        assert created is not None, "more subscriptions than counted"
        return dict(created[1])

    def unsubscribe(self, api: str, subscription_id: str) -> bool:
        return self.store.delete(api, SUBSCRIPTIONS, subscription_id)

    # -- deliveries ---------------------------------------------------------------------------

    def emit(self, api: str, emissions: t.Iterable[Emission], now: float, signing: dict[str, str] | None = None
             ) -> list[dict[str, Json]]:
        """One delivery per event and subscription that wants it (one ``webhook-id`` per event); the deliveries made."""
        subscriptions = self.subscriptions(api)
        made: list[dict[str, Json]] = []
        for emission in emissions:
            wanted = [s for s in subscriptions if s.get("events") is None or emission.event in s["events"]]
            if not wanted:
                continue
            webhook_id = self._new_webhook_id(api)
            for subscription in wanted:
                made.append(self._delivery(
                    api, webhook_id, emission, now, subscription["url"], subscription["id"], subscription["secret"],
                    delay=float(subscription.get("delay_seconds") or 0),
                    dropped=emission.event in (subscription.get("drop") or []), signing=signing))
        self._changed(made)
        return made

    def call_back(self, api: str, url: str, emission: Emission, now: float, method: str = "POST") -> dict[str, Json]:
        """A delivery to a URL the request named (an OpenAPI callback), unsigned: no subscription, no secret."""
        made = self._delivery(api, self._new_webhook_id(api), emission, now, url, None, None, method)
        self._changed([made])
        return made

    def _new_webhook_id(self, api: str) -> str:
        return "msg_" + uuid.uuid5(ID_NAMESPACE, f"{api}/{self.store.next_id(api, EVENTS)}").hex[:24]

    def _delivery(self, api: str, webhook_id: str, emission: Emission, now: float, url: str,
                  subscription: str | None, secret: str | None, method: str = "POST", *, delay: float = 0.0,
                  dropped: bool = False, signing: dict[str, str] | None = None) -> dict[str, Json]:
        due = (now if emission.at is None else max(emission.at, now)) + delay
        delivery = {"id": f"dlv_{self.store.next_id(api, DELIVERIES)}", "api": api, "webhook_id": webhook_id,
                    "event": emission.event, "subscription": subscription, "method": method, "url": url,
                    "secret": secret, "payload": emission.payload, "source": emission.source, "due": due,
                    "next_at": due, "attempts": [], "signing": signing,
                    "state": "dropped" if dropped else "pending"}
        self.store.put(api, DELIVERIES, delivery["id"], delivery)
        if not dropped:
            with self._lock:
                self._pending[(api, delivery["id"])] = due
        return delivery

    def _changed(self, made: list[dict[str, Json]]) -> None:
        if made:
            for listener in list(self._listeners):
                listener()

    def deliveries(self, api: str, *, state: str | None = None, source: str | None = None) -> list[dict[str, Json]]:
        """An API's deliveries, oldest first (``state``: only pending, delivered, failed or dropped ones;
        ``source``: only those about that record)."""
        where = {name: value for name, value in (("state", state), ("source", source)) if value is not None}
        return self.store.list(api, DELIVERIES, where=where or None)[0]

    def newest_first(self, apis: t.Iterable[str], *, state: str | None = None, event: str | None = None
                     ) -> list[dict[str, Json]]:
        """The deliveries of several APIs, the latest due first (the admin API's list and the console's)."""
        found = [d for api in apis for d in self.deliveries(api, state=state) if event is None or d["event"] == event]
        return sorted(found, key=lambda d: (d["due"], int(str(d["id"]).partition("_")[2] or 0)), reverse=True)

    def delivery(self, api: str, delivery_id: str) -> dict[str, Json] | None:
        return self.store.get(api, DELIVERIES, delivery_id)

    def due(self, now: float) -> list[dict[str, Json]]:
        """Pending deliveries whose time has come, earliest first."""
        with self._lock:
            keys = sorted((at, key) for key, at in self._pending.items() if at <= now)
        found = []
        for _, (api, delivery_id) in keys:
            delivery = self.store.get(api, DELIVERIES, delivery_id)
            if delivery is None or delivery.get("state") != "pending":  # gone with a reset, or another process
                with self._lock:                                         # sharing the store finished it
                    self._pending.pop((api, delivery_id), None)
                continue
            if float(delivery["next_at"]) > now:  # another process tried it meanwhile: due again later
                with self._lock:
                    self._pending[(api, delivery_id)] = float(delivery["next_at"])
                continue
            found.append(delivery)
        return found

    def claim(self, delivery: dict[str, Json], now: float) -> bool:
        """Whether this process makes the delivery's next attempt: the first to claim it does. With several
        processes on one shared store (``--store redis://…``) each attempt is made once."""
        attempt = f"{delivery['id']}#{len(delivery.get('attempts') or [])}"
        return self.store.create(delivery["api"], CLAIMS, attempt, {"id": attempt, "at": now})

    def next_due(self) -> float | None:
        """The earliest instant a pending delivery waits for (None: nothing pending)."""
        with self._lock:
            return min(self._pending.values(), default=None)

    def attempted(self, delivery: dict[str, Json], attempt: dict[str, Json], succeeded: bool, *,
                  final: bool = False) -> dict[str, Json] | None:
        """Note one attempt: delivered, due again after the back-off, or failed after the last one
        (or at once when ``final``: a target no retry can reach).

        :param attempt: ``at`` (virtual instant), and ``status`` or ``error``, ``duration_ms``.
        :return: the delivery as now stored; None when it is gone (a reset while it was sent).
        """
        with self._lock:
            current = self.store.get(delivery["api"], DELIVERIES, delivery["id"])
            if current is None or current.get("state") != "pending":
                return None
            attempts = [*current["attempts"], attempt]
            changes: dict[str, Json] = {"attempts": attempts}
            key = (delivery["api"], delivery["id"])
            if succeeded:
                changes["state"] = "delivered"
            elif final or len(attempts) >= MAX_ATTEMPTS:
                changes["state"] = "failed"
            else:
                changes["next_at"] = self._pending[key] = float(attempt["at"]) + BACKOFF[len(attempts) - 1]
            if "state" in changes:
                self._pending.pop(key, None)
            return self.store.update(delivery["api"], DELIVERIES, delivery["id"], changes)


def as_subscription(subscription_id: str, loaded: dict[str, Json]) -> dict[str, Json]:
    """The stored form of a subscription `SubscriptionSchema` loaded."""
    return {"id": subscription_id, "url": loaded["url"], "events": loaded.get("events"), "secret": loaded["secret"],
            "delay_seconds": loaded.get("delay_seconds", 0.0), "drop": loaded.get("drop", [])}
