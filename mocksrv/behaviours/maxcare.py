"""MaxCare (``maxcare``): emails to a clinic's patients and staff, and their delivery over time.

``POST /emails/send`` and ``GET /emails/{id}`` act for one organization, named by the
``X-Organization-Id`` header. It must be a record of ``organizations`` whose ``apps``
list the caller's application (the key's ``owner``), else 403. In open mode (no keys in
the scenario, or a key with no owner) any existing organization will do, and with no
organization records at all any id.

A send gives each id in ``patientIds`` / ``userIds`` (duplicates counted once, patients
first) either a ``sent`` record or an ``errors`` entry, so one call can partly fail:

- an id missing from ``patients`` / ``users``, or one whose ``organizationId`` is another
  organization, is "Patient not found" / "User not found";
- a null or empty ``email`` is "Patient has no email address on file" (or "User …");
- with no records at all in ``patients`` (or ``users``), recipients are not modelled:
  every id is sent to, at ``<id>@example.com``.

Neither list given, or both empty, is 400; so is a ``from`` that cannot stand before the
``@`` of ``<from>@accounts.maxcare.ai``. Texts follow the seed's one 400 example, "'id' must
be a valid UUID" (`MaxCareBehaviour.reword` words the schema's findings the same way), and
the organization check answers the seed's one 403 text, "Insufficient scope".

Each sent record is stored in ``emails`` with extra fields that never reach the client:
``appId``, ``organizationId``, ``html``, ``from``, ``patientIds``, ``userIds``, the
recipient's ``bounces`` and ``opens_after_seconds``, and ``sendEpoch`` (the send instant in seconds, on the virtual
clock). Ids are ``eml_`` + 32 hex digits drawn from the seeded generator and the store's
sequence, so the same seed and the same calls give the same ids.

Time (`MaxCareBehaviour.view`, also what admin listings show):

- ``scheduledAt`` is ISO 8601 with a time (no offset means UTC), else 400. One in the
  future stores the record as ``scheduled``; it reads ``sent`` once the clock reaches it.
  It is echoed back normalised to UTC (``2026-03-25T10:00:00.000Z``).
- ``sentAt`` of a scheduled record is the scheduled send time. The spec makes ``sentAt``
  a required, non-nullable string, so null would not validate; the time it will be sent
  is the one value that stays true once it has been.
- ``delivery_seconds`` (option, default 2) after ``sentAt``, ``deliveredAt`` is set, or
  ``bouncedAt`` instead for a recipient with ``bounces: true``; ``openedAt`` follows
  ``deliveredAt`` by the recipient's ``opens_after_seconds``, when it has one. Before
  that they are null. Timestamps use the API's documented form ``2026-03-25 10:00:01.234+00``.

Seeded ``emails`` records without ``sendEpoch`` keep the values they state; a seeded
``scheduled`` record is sent at its ``scheduledAt``, and null ``deliveredAt`` /
``bouncedAt`` / ``openedAt`` fill in from its ``sentAt`` the same way.

``GET /emails/{id}`` checks the organization first (an authorisation guard runs before
parameter parsing), then the id's shape (400), then answers 404 for an unknown id or an
email another application sent, or one sent for another organization ("only if sent by
this application").
"""

from __future__ import annotations

import re
import typing as t
from datetime import UTC
from datetime import datetime

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from mocksrv.engine.behaviour import Behaviour
from mocksrv.engine.behaviour import Context
from mocksrv.engine.behaviour import Reply
from mocksrv.engine.events import envelope
from mocksrv.engine.outbox import Event
from mocksrv.engine.outbox import Message
from mocksrv.engine.outbox import Record
from mocksrv.engine.outbox import addresses
from mocksrv.engine.outbox import epoch_of
from mocksrv.engine.records import timestamp_like
from mocksrv.errors import ApiError
from mocksrv.errors import Forbidden
from mocksrv.errors import InvalidRequest
from mocksrv.errors import NotFound
from mocksrv.errors import Violation
from mocksrv.openapi.specs import Operation

Json = t.Any
EMAILS = "emails"
ORGANIZATIONS = "organizations"
FROM_DOMAIN = "accounts.maxcare.ai"
# how the API writes its timestamps (ExternalEmailResponseV3 examples)
TIMESTAMP_EXAMPLE = "2026-03-25 10:00:01.234+00"
EMAIL_ID = re.compile(r"^eml_[0-9a-f]{32}$")
# the seed's one 400 text (its ids are eml_ + a UUID's 32 hex digits), and its pattern for others
INVALID_ID = "'id' must be a valid UUID"
INVALID_FROM = "'from' must be a valid email prefix"
INVALID_SCHEDULE = "'scheduledAt' must be a valid ISO 8601 date-time"
NO_RECIPIENTS = "'patientIds' or 'userIds' must contain at least one id"
# what may stand before the @ (RFC 5322 dot-atom): `from` becomes <prefix>@accounts.maxcare.ai
LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
TYPE_WANTED = re.compile(r"must be of type (\w+)")
# the seed's 403 wording, for the organization check too (the seed documents no other 403 text)
FORBIDDEN = "Insufficient scope"
HAS_TIME = re.compile(r"[Tt ]\d{2}")
# ExternalEmailResponseV3's properties: everything else stored with a record is stripped
EMAIL_FIELDS = ("id", "recipientEmail", "recipientType", "recipientId", "emailType", "subject", "fromAddress",
                "status", "scheduledAt", "sentAt", "deliveredAt", "openedAt", "bouncedAt", "createdAt")
NULLABLE_FIELDS = ("recipientType", "recipientId", "scheduledAt", "deliveredAt", "openedAt", "bouncedAt")
# a fresh id colliding with a stored one (seeded records) is astronomically rare; bound the retries anyway
ID_ATTEMPTS = 8


class Recipients(t.NamedTuple):
    """One kind of recipient: the request field, the collection, the type and the name in messages."""

    ids_field: str
    collection: str
    type: str
    noun: str


PATIENTS = Recipients("patientIds", "patients", "patient", "Patient")
USERS = Recipients("userIds", "users", "user", "User")


class MaxCareOptions(Schema):
    """The scenario's ``maxcare.options``."""

    class Meta:
        unknown = RAISE

    delivery_seconds = fields.Float(validate=validate.Range(min=0), load_default=2.0)


DEFAULT_OPTIONS: dict[str, Json] = MaxCareOptions().load({})


class MaxCareOutbox:
    """One record per recipient; delivery, bounce and open times fill in as the clock passes them."""

    collection = "emails"

    def message(self, api: str, record: Record, now: float) -> Message:
        created = epoch_of(record.get("createdAt"))
        history = [Event(created, "created")] if created is not None else []
        if record.get("scheduledAt") and created is not None:
            history.append(Event(created, "scheduled", f"for {record['scheduledAt']}"))
        for stamp, status in (("sentAt", "sent"), ("deliveredAt", "delivered"), ("bouncedAt", "bounced"),
                              ("openedAt", "opened")):
            at = epoch_of(record.get(stamp))
            if at is not None and not (status == "sent" and record.get("status") == "scheduled"):
                history.append(Event(at, status))
        headers = [("X-Email-Type", str(record.get("emailType", "")))]
        headers += [(name, str(record[key])) for name, key in (("X-Organization-Id", "organizationId"),
                                                                 ("X-App-Id", "appId")) if record.get(key)]
        return Message(api, self.collection, str(record.get("id", "")), str(record.get("fromAddress") or ""),
                       addresses(record.get("recipientEmail")), str(record.get("subject") or ""),
                       str(record.get("status") or ""), created, html=record.get("html"),
                       headers=headers, history=sorted(history, key=lambda e: e.epoch), record=record)


class MaxCareBehaviour(Behaviour):
    outbox = MaxCareOutbox()
    options_schema = MaxCareOptions
    # the email's statuses its document lists, each a webhook event (docs/webhooks.md)
    webhook_events = ("sent", "delivered", "bounced", "opened")

    def reword(self, operation: Operation, violation: Violation) -> str | None:
        """MaxCare's wording (``'id' must be a valid UUID``) for what the schema checks."""
        name = violation.field or violation.location
        if violation.rule == "required":
            return f"'{name}' is required"
        if violation.rule == "type":
            wanted = TYPE_WANTED.search(violation.message)
            return f"'{name}' must be {_article(wanted.group(1))}" if wanted else None
        return None

    def on_EmailsPublicController_sendEmails(self, ctx: Context) -> Reply:
        """Send to patients and staff users by id; a failed recipient is an ``errors`` entry.

        :raise 403: the application may not act for the organization.
        :raise 400: no recipient ids; ``scheduledAt`` not an ISO 8601 date-time.
        """
        organization = _organization(ctx, ctx.store.get(ctx.api.id, ORGANIZATIONS, _organization_id(ctx)))
        body: dict[str, Json] = dict(ctx.body or {})
        wanted = [(kind, _unique(body.get(kind.ids_field) or [])) for kind in (PATIENTS, USERS)]
        if not LOCAL_PART.match(str(body.get("from", ""))):
            raise InvalidRequest(INVALID_FROM)
        if not any(ids for _, ids in wanted):
            raise InvalidRequest(NO_RECIPIENTS)
        now = ctx.clock.now()
        send_at = now
        scheduled_at = None
        if body.get("scheduledAt") is not None:
            instant = _parse_iso(str(body["scheduledAt"]))
            send_at = max(instant.timestamp(), now)
            scheduled_at = instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        owner = ctx.principal.owner if ctx.principal else None
        sent: list[dict[str, Json]] = []
        errors: list[dict[str, Json]] = []
        for kind, ids in wanted:
            modelled = ctx.store.count(ctx.api.id, kind.collection) > 0
            for recipient_id in ids:
                recipient = ctx.store.get(ctx.api.id, kind.collection, recipient_id) if modelled else {}
                if recipient is None or recipient.get("organizationId") not in (None, organization):
                    errors.append(_error(kind, recipient_id, f"{kind.noun} not found"))
                    continue
                address = recipient.get("email") if modelled else f"{recipient_id}@example.com"
                if not address:
                    errors.append(_error(kind, recipient_id, f"{kind.noun} has no email address on file"))
                    continue
                record = {
                    "recipientEmail": address,
                    "recipientType": kind.type,
                    "recipientId": recipient_id,
                    "emailType": body["emailType"],
                    "subject": body["subject"],
                    "fromAddress": f"{body['from']}@{FROM_DOMAIN}",
                    "status": "scheduled" if send_at > now else "sent",
                    "scheduledAt": scheduled_at,
                    "sentAt": _format(send_at),
                    "deliveredAt": None,
                    "openedAt": None,
                    "bouncedAt": None,
                    "createdAt": _format(now),
                    # not part of the response: who sent it, what was sent, and what happens to it later
                    "appId": owner,
                    "organizationId": organization,
                    "from": body["from"],
                    "html": body["html"],
                    "patientIds": body.get("patientIds"),
                    "userIds": body.get("userIds"),
                    "bounces": recipient.get("bounces") is True,
                    "opens_after_seconds": recipient.get("opens_after_seconds"),
                    "sendEpoch": send_at,
                }
                stored = _store(ctx, record)
                sent.append(_public(stored))
                self._emit_life(ctx, stored)
        return Reply(200, {"code": "success", "data": {"sent": sent, "errors": errors}})

    def _emit_life(self, ctx: Context, stored: dict[str, Json]) -> None:
        """The email's life as webhook events, each with the email as `getEmail` shows it at that instant."""
        send_at = float(stored["sendEpoch"])
        arrives = send_at + float({**DEFAULT_OPTIONS, **ctx.options}["delivery_seconds"])
        bounces = stored.get("bounces") is True
        steps = [("sent", send_at), ("bounced" if bounces else "delivered", arrives)]
        if not bounces and _is_number(stored.get("opens_after_seconds")):
            steps.append(("opened", arrives + float(stored["opens_after_seconds"])))
        for event, at in steps:
            ctx.emit(event, envelope(event, at, _public(self.view(EMAILS, stored, at, ctx.options))), at,
                     source=stored["id"])

    def on_EmailsPublicController_getEmail(self, ctx: Context) -> Reply:
        """One email this application sent, as it is now.

        :raise 403: the application may not act for the organization.
        :raise 400: the id is not ``eml_`` + 32 hex digits.
        :raise 404: no such email, or another application's (or organization's).
        """
        email_id = ctx.path_params["id"]
        well_formed = EMAIL_ID.match(email_id) is not None
        # the organization and the email in one read: one round trip on a shared store
        found = ctx.store.get_many(ctx.api.id, [(ORGANIZATIONS, _organization_id(ctx))]
                                   + ([(EMAILS, email_id)] if well_formed else []))
        organization = _organization(ctx, found[0])
        if not well_formed:
            raise InvalidRequest(INVALID_ID)
        record = found[1]
        owner = ctx.principal.owner if ctx.principal else None
        if record is None or not _visible(record, owner, organization):
            raise NotFound(f"email {email_id!r} not found", kind="not_found")
        seen = self.view(EMAILS, record, ctx.clock.now(), ctx.options)
        return Reply(200, {"code": "success", "data": _public(seen)})

    def view(self, collection: str, record: dict[str, Json], now: float, options: dict[str, Json]) -> dict[str, Json]:
        """An email as it is at ``now``: scheduled → sent, then delivered or bounced, then opened."""
        if collection != EMAILS:
            return record
        send_at = _send_instant(record)
        if send_at is None:
            return record
        seen = dict(record)
        if record.get("status") == "scheduled":
            if now < send_at:
                return seen
            seen["status"] = "sent"
            seen["sentAt"] = record.get("sentAt") or _format(send_at)
        delay = float({**DEFAULT_OPTIONS, **options}["delivery_seconds"])
        arrives = send_at + delay
        if now < arrives:
            return seen
        if record.get("bounces") is True:
            seen["bouncedAt"] = record.get("bouncedAt") or _format(arrives)
            return seen
        seen["deliveredAt"] = record.get("deliveredAt") or _format(arrives)
        delivered = _parse_stamp(seen["deliveredAt"])
        opens_after = record.get("opens_after_seconds")
        if delivered is not None and _is_number(opens_after):
            opens = delivered + float(opens_after)
            if now >= opens:
                seen["openedAt"] = record.get("openedAt") or _format(opens)
        return seen


def _organization_id(ctx: Context) -> str:
    return str(ctx.request.headers.get("X-Organization-Id", ""))


def _organization(ctx: Context, record: dict[str, Json] | None) -> str:
    """The ``X-Organization-Id`` the caller may act for, given its ``organizations`` record.

    :raise 403: no such organization, or its ``apps`` do not include the caller's application.
    """
    organization = _organization_id(ctx)
    if record is None and ctx.store.count(ctx.api.id, ORGANIZATIONS) == 0:
        return organization  # organizations not modelled
    owner = ctx.principal.owner if ctx.principal else None
    open_mode = owner is None  # no keys in the scenario, or a key tied to no application
    if record is None or (not open_mode and owner not in (record.get("apps") or [])):
        reason = f"application {owner} may not act for organization {organization!r}"
        raise Forbidden(FORBIDDEN, kind="organization_forbidden", fields={"code": "forbidden"},
                        violations=[Violation("header", "X-Organization-Id", reason)])
    return organization


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name[:1] in "aeiou" else f"a {type_name}"


def _visible(record: dict[str, Json], owner: str | None, organization: str) -> bool:
    """Sent by this application (any, in open mode) for this organization; unstated means any."""
    if owner is not None and record.get("appId") not in (None, owner):
        return False
    return record.get("organizationId") in (None, organization)


def _unique(ids: list[Json]) -> list[str]:
    """The ids in request order, each once."""
    return list(dict.fromkeys(str(i) for i in ids))


def _error(kind: Recipients, recipient_id: str, message: str) -> dict[str, Json]:
    return {"recipientId": recipient_id, "recipientType": kind.type, "error": message}


def _store(ctx: Context, record: dict[str, Json]) -> dict[str, Json]:
    """Store a sent record under a new ``eml_`` id; the stored record."""
    for _ in range(ID_ATTEMPTS):
        sequence = ctx.store.next_id(ctx.api.id, EMAILS)
        email_id = f"eml_{ctx.synth.rng('email_id', sequence).getrandbits(128):032x}"
        stored = {"id": email_id, **record}
        if ctx.store.create(ctx.api.id, EMAILS, email_id, stored):
            return stored
    raise ApiError("Could not assign an email id", status=500)


def _public(record: dict[str, Json]) -> dict[str, Json]:
    """The record as the API shows it: the schema's fields only, absent nullable ones null."""
    shown = {name: record[name] for name in EMAIL_FIELDS if name in record}
    for name in NULLABLE_FIELDS:
        shown.setdefault(name, None)
    return shown


def _send_instant(record: dict[str, Json]) -> float | None:
    """When the email is (or was) sent: ours carry it; seeded ones state it in their timestamps."""
    if _is_number(record.get("sendEpoch")):
        return float(record["sendEpoch"])
    if record.get("status") == "scheduled":
        return _parse_stamp(record.get("scheduledAt"))
    return _parse_stamp(record.get("sentAt"))


def _parse_iso(text: str) -> datetime:
    """A date-time in ISO 8601 (UTC when it has no offset), in UTC.

    :raise 400: not an ISO 8601 date-time (a date alone is not one).
    """
    try:
        if not HAS_TIME.search(text):
            raise ValueError("no time")
        instant = datetime.fromisoformat(text)
        instant = (instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)).astimezone(UTC)
        instant.timestamp()  # years at the edge of the range overflow here, not later
    except (ValueError, OverflowError) as exc:
        raise InvalidRequest(INVALID_SCHEDULE) from exc
    return instant


def _parse_stamp(value: Json) -> float | None:
    """Seconds since the epoch of a stored timestamp (either form), or None."""
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)).timestamp()


def _format(epoch: float) -> str:
    return timestamp_like(TIMESTAMP_EXAMPLE, datetime.fromtimestamp(epoch, UTC))


def _is_number(value: Json) -> t.TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


behaviour = MaxCareBehaviour()
