"""The sending service (``send-service``): sending domains, the account state, attachment limits.

``POST /api/v1/send`` queues one email. The generic engine has already checked the key
and the body's schema; this module applies the rules the API documents:

- the account must be active (``options.account_active``), else 403 ``account_inactive``;
- the sending domain is ``domain``, else the domain of ``from`` when it is one of the
  account's, else the account's first verified domain (record order). Domains are the
  records of the ``domains`` collection: ``{id: <domain name>, verified: bool, owner?}``;
  a record with an ``owner`` belongs to that key owner only. A ``domain`` the account does
  not have is the documented 404 ("Domain x not found": the one thing this endpoint can
  fail to find); a known but unverified one is 403 ``domain_not_verified`` (the
  documented requirement "Verified sending domain"); none verified is 403
  ``no_verified_domain``. With no domain records at all (open mode, the ``empty``
  scenario) domains are not modelled: any domain is accepted, ``example.com`` if none is named;
- ``from`` defaults to ``noreply@<domain>``; one on another domain is 403
  ``from_domain_mismatch`` (the account may not send as a domain it has not verified
  for this message), a malformed one is 400;
- attachments: each at most ``max_attachment_bytes`` decoded (10 MB), all of them plus
  the HTML body at most ``max_total_bytes`` (25 MB), content decoded by ``encoding``
  (default base64; invalid content is 400). MB here is 1024 × 1024 bytes.

The message is stored in ``messages`` under its ``email_id`` (also its ``id``, so the
admin records API can write it back), and lives on the virtual clock ("Automatic queuing
and delivery … Full bounce and complaint handling … Built-in tracking (opens & clicks)"),
as `SendServiceBehaviour.view` shows it: ``queued``, ``sent`` after ``sent_after_seconds``,
then ``delivered_after_seconds`` later ``delivered`` — or ``bounced`` when ``to`` matches
``bouncing_recipients`` — then ``complained`` for ``complaining_recipients``, or ``opened``
``opens_after_seconds`` after delivery when opens are tracked and ``clicked``
``clicks_after_seconds`` after that when clicks are tracked (both null: nobody opens or
clicks unless the scenario says so). Each step sets its ``*_at`` time and is listed in
``events``. Recipient patterns match the whole address, ``*`` standing for any text
(``*@bounce.example.com``). Attachment contents and the iCal event are not
stored, as the API documents ("sent directly, not stored on server"): only their
metadata and a flag.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
import typing as t
import uuid
from datetime import UTC
from datetime import datetime
from email.utils import parseaddr

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
from mocksrv.engine.outbox import attachments_of
from mocksrv.engine.outbox import created_history
from mocksrv.engine.outbox import epoch_of
from mocksrv.engine.outbox import items_of
from mocksrv.errors import ApiError
from mocksrv.errors import Forbidden
from mocksrv.errors import InvalidRequest
from mocksrv.errors import NotFound

Json = t.Any
MB = 1024 * 1024
KB = 1024
DOMAINS = "domains"
MESSAGES = "messages"
WHITESPACE = re.compile(r"\s+")
ENCODINGS = ("base64", "hex", "utf-8", "utf8")
STEPS = ("sent", "delivered", "bounced", "complained", "opened", "clicked", "unsubscribed")
# the webhook events its document names ("delivered, bounced, opened, clicked, complained, unsubscribed")
EVENTS = ("delivered", "bounced", "opened", "clicked", "complained", "unsubscribed")
# a fresh email_id colliding with a stored one (seeded records) is astronomically rare; bound the retries anyway
ID_ATTEMPTS = 8


class SendServiceOptions(Schema):
    """The scenario's ``send-service.options``."""

    class Meta:
        unknown = RAISE

    account_active = fields.Boolean(load_default=True)
    # the account's defaults when a request leaves track_opens / track_clicks out
    track_opens = fields.Boolean(load_default=True)
    track_clicks = fields.Boolean(load_default=False)
    max_attachment_bytes = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=10 * MB)
    max_total_bytes = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=25 * MB)
    # the message's life on the virtual clock
    sent_after_seconds = fields.Float(validate=validate.Range(min=0), load_default=1.0)
    delivered_after_seconds = fields.Float(validate=validate.Range(min=0), load_default=2.0)
    bouncing_recipients = fields.List(fields.String(), load_default=list)
    complaining_recipients = fields.List(fields.String(), load_default=list)
    complains_after_seconds = fields.Float(validate=validate.Range(min=0), load_default=60.0)
    opens_after_seconds = fields.Float(validate=validate.Range(min=0), allow_none=True, load_default=None)
    clicks_after_seconds = fields.Float(validate=validate.Range(min=0), allow_none=True, load_default=None)
    unsubscribing_recipients = fields.List(fields.String(), load_default=list)
    unsubscribes_after_seconds = fields.Float(validate=validate.Range(min=0), load_default=120.0)


# what a scenario that does not mention this API (or leaves options out) gets
DEFAULT_OPTIONS: dict[str, Json] = SendServiceOptions().load({})


class SendServiceOutbox:
    """Messages with the sending domain, tracking flags, the client's own headers and their life so far."""

    collection = "messages"

    def message(self, api: str, record: Record, now: float) -> Message:
        created = epoch_of(record.get("submitted_at"))
        headers = [("Message-ID", str(record.get("message_id") or ""))]
        headers += [(str(name), str(value)) for name, value in (record.get("headers") or {}).items()]
        headers += [("X-Tag", str(record["tag"]))] if record.get("tag") else []
        headers += [("X-Stream", str(record.get("stream_type") or "")),
                    ("X-Track", f"opens {'on' if record.get('track_opens') else 'off'}, "
                                f"clicks {'on' if record.get('track_clicks') else 'off'}")]
        return Message(api, self.collection, str(record.get("email_id") or record.get("id", "")),
                       str(record.get("from") or ""), addresses(record.get("to")), str(record.get("subject") or ""),
                       str(record.get("status") or ""), created, cc=addresses(record.get("cc")),
                       bcc=addresses(record.get("bcc")), reply_to=addresses(record.get("reply_to")),
                       html=record.get("html"), text=record.get("text"),
                       attachments=attachments_of(record, "contentType"),
                       headers=headers, history=_history(record, created), record=record)


def _history(record: Record, created: float | None) -> list[Event]:
    """The steps `SendServiceBehaviour.view` listed (a seeded record without them: its stated status)."""
    steps = [(epoch_of(item.get("at")), str(item.get("event"))) for item in items_of(record, "events")]
    return [Event(at, step) for at, step in steps if at is not None] or created_history(created, record.get("status"))


class SendServiceBehaviour(Behaviour):
    outbox = SendServiceOutbox()
    options_schema = SendServiceOptions
    webhook_events = EVENTS

    def view(self, collection: str, record: dict[str, Json], now: float, options: dict[str, Json]) -> dict[str, Json]:
        """A message as it is at ``now``: its status, the time of each step so far, and ``events``."""
        if collection != MESSAGES or not isinstance(record.get("submitted_epoch"), int | float):
            return record  # seeded without a send time: what it states
        seen = dict(record)
        happened = [(step, at) for step, at in _life(record, {**DEFAULT_OPTIONS, **options}) if at <= now]
        for step in STEPS:
            seen[f"{step}_at"] = None
        for step, at in happened:
            seen[f"{step}_at"] = _stamp(at)
        seen["status"] = happened[-1][0]
        seen["events"] = [{"event": step, "at": _stamp(at)} for step, at in happened]
        return seen

    def on_sendEmail(self, ctx: Context) -> Reply:
        """Queue one email.

        :raise 403: inactive account; unverified or no verified domain; ``from`` on another domain.
        :raise 404: ``domain`` is not one of the account's.
        :raise 400: malformed ``from``; attachment content not decodable, too large, or too large in total.
        """
        options = {**DEFAULT_OPTIONS, **ctx.options}
        body: dict[str, Json] = dict(ctx.body or {})
        owner = ctx.principal.owner if ctx.principal else None
        if not options["account_active"]:
            raise Forbidden("Customer account is not active", fields={"reason": "account_inactive"})
        # empty strings are how many clients leave a field unset
        sender = _address(body["from"]) if body.get("from") else None
        domain = _sending_domain(ctx, owner, body.get("domain") or None, sender)
        if sender is not None and _domain_of(sender) != domain:
            raise Forbidden(f"From address {sender} is not on the sending domain {domain}",
                            fields={"reason": "from_domain_mismatch"})
        attachments = _measure(body.get("attachments") or [], body.get("html"), options)
        submitted_at = ctx.clock.now_datetime().strftime("%Y-%m-%dT%H:%M:%SZ")
        record = {
            "domain": domain,
            "from": body["from"] if sender is not None else f"noreply@{domain}",
            "to": body["to"],
            "cc": body.get("cc") or [],
            "bcc": body.get("bcc") or [],
            "reply_to": body.get("reply_to"),
            "subject": body["subject"],
            "html": body.get("html"),
            "text": body.get("text"),
            "track_opens": _flag(body, "track_opens", options),
            "track_clicks": _flag(body, "track_clicks", options),
            "headers": body.get("headers") or {},
            "tag": body.get("tag"),
            "stream_type": body.get("stream_type") or "shared",
            "metadata": body.get("metadata") or {},
            "attachments": attachments,
            "has_ical_event": body.get("icalEvent") is not None,
            "submitted_at": submitted_at,
            "submitted_epoch": ctx.clock.now(),
            "status": "queued",
            "owner": owner,
        }
        email_id = _store_message(ctx, record, domain)
        stored = {**record, "email_id": email_id, "message_id": f"<{email_id}@{domain}>"}
        for step, at in _life(stored, options):
            if step in EVENTS:
                ctx.emit(step, _event_payload(stored, step, at), at, source=email_id)
        return Reply(200, {
            "to": body["to"],
            "submitted_at": submitted_at,
            "message_id": f"<{email_id}@{domain}>",
            "email_id": email_id,
            "status": "queued",
            "message": "Email queued for delivery",
        })


def _event_payload(record: dict[str, Json], step: str, at: float) -> dict[str, Json]:
    """A webhook event: what happened to which message, with the message's metadata and headers."""
    data = {name: record.get(name) for name in ("email_id", "message_id", "to", "from", "subject", "tag",
                                                  "stream_type", "metadata", "headers")}
    return envelope(step, at, data)


def _life(record: dict[str, Json], options: dict[str, Json]) -> list[tuple[str, float]]:
    """Every step of a message's life and when it happens (epoch seconds), in order."""
    start = record["submitted_epoch"]
    sent = start + options["sent_after_seconds"]
    arrives = sent + options["delivered_after_seconds"]
    recipient = str(record.get("to") or "")
    steps = [("queued", start), ("sent", sent)]
    if _matches(recipient, options["bouncing_recipients"]):
        return [*steps, ("bounced", arrives)]
    steps.append(("delivered", arrives))
    if _matches(recipient, options["complaining_recipients"]):
        return [*steps, ("complained", arrives + options["complains_after_seconds"])]
    opens, clicks = options["opens_after_seconds"], options["clicks_after_seconds"]
    if record.get("track_opens") and opens is not None:
        steps.append(("opened", arrives + opens))
    if record.get("track_clicks") and clicks is not None:
        steps.append(("clicked", steps[-1][1] + clicks))
    if _matches(recipient, options["unsubscribing_recipients"]):
        steps.append(("unsubscribed", steps[-1][1] + options["unsubscribes_after_seconds"]))
    return steps


def _matches(address: str, patterns: list[str]) -> bool:
    """``*`` stands for any text; the rest compares case-insensitively, the whole address."""
    return any(fnmatch.fnmatchcase(address.lower(), pattern.lower()) for pattern in patterns)


def _sending_domain(ctx: Context, owner: str | None, requested: Json, sender: str | None) -> str:
    """The domain this message is sent from, by the rules in the module docstring.

    :raise 404: a domain the account does not have.
    :raise 403: an unverified domain, or no verified domain at all.
    """
    records, total = ctx.store.list(ctx.api.id, DOMAINS)
    if requested is not None:
        name = _normal(str(requested))
        if total == 0:
            return name
        domain = _find(records, owner, name)
        if domain is None:
            raise NotFound(f"Domain {name} not found", kind="domain_not_found")
        if domain.get("verified") is not True:
            raise Forbidden(f"Domain {name} is not verified", fields={"reason": "domain_not_verified"})
        return name
    if sender is not None:
        from_domain = _domain_of(sender)
        if total == 0:
            return from_domain
        domain = _find(records, owner, from_domain)
        if domain is not None:
            if domain.get("verified") is not True:
                raise Forbidden(f"Domain {from_domain} is not verified", fields={"reason": "domain_not_verified"})
            return from_domain
    if total == 0:
        return "example.com"  # nothing modelled and nothing asked for
    first = next((r for r in records if _owned(r, owner) and r.get("verified") is True), None)
    if first is None:
        raise Forbidden("No verified sending domain: verify a domain before sending",
                        fields={"reason": "no_verified_domain"})
    return _normal(str(first.get("id", "")))


def _find(records: list[dict[str, Json]], owner: str | None, name: str) -> dict[str, Json] | None:
    return next((r for r in records if _owned(r, owner) and _normal(str(r.get("id", ""))) == name), None)


def _owned(record: dict[str, Json], owner: str | None) -> bool:
    # owner None: open-mode keys, which act for every account
    return owner is None or record.get("owner") in (None, owner)


def _normal(domain: str) -> str:
    """Domain names compare case-insensitively, with or without the root dot."""
    return domain.strip().lower().rstrip(".")


def _address(value: Json) -> str:
    """The bare address of ``hello@x.com`` or ``Team <hello@x.com>``.

    :raise 400: no usable address.
    """
    _, address = parseaddr(str(value))
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "." not in domain:
        raise InvalidRequest(f"Invalid from address: {value}")
    return address


def _domain_of(address: str) -> str:
    return _normal(address.rpartition("@")[2])


def _flag(body: dict[str, Json], name: str, options: dict[str, Json]) -> bool:
    value = body.get(name)
    return bool(options[name]) if value is None else bool(value)


def _measure(attachments: list[Json], html: Json, options: dict[str, Json]) -> list[dict[str, Json]]:
    """Attachment metadata (filename, contentType, encoding, decoded size), limits enforced.

    :raise 400: content that does not decode, an unknown encoding, a file or the total over its limit.
    """
    per_file, limit = options["max_attachment_bytes"], options["max_total_bytes"]
    described: list[dict[str, Json]] = []
    total = len(str(html).encode()) if html is not None else 0
    for item in attachments:
        name = item["filename"]
        encoding = str(item.get("encoding") or "base64").lower()
        size = _decoded_size(name, str(item["content"]), encoding)
        if size > per_file:
            raise InvalidRequest(f"Attachment {name!r} is too large: {_human(size)} ({size} bytes); "
                                 f"the maximum per file is {_human(per_file)}")
        total += size
        described.append({"filename": name, "contentType": item["contentType"], "encoding": encoding, "size": size})
    if total > limit:
        raise InvalidRequest(f"Email is too large: attachments and HTML total {_human(total)} ({total} bytes); "
                             f"the maximum is {_human(limit)}")
    return described


def _decoded_size(name: str, content: str, encoding: str) -> int:
    """:raise 400: unknown encoding, or content that is not valid in it."""
    if encoding == "base64":
        try:
            # MIME-style line breaks are common in base64 text; anything else must be the alphabet
            return len(base64.b64decode(WHITESPACE.sub("", content), validate=True))
        except (binascii.Error, ValueError) as exc:  # ValueError: characters outside ASCII
            raise InvalidRequest(f"Attachment {name!r}: content is not valid base64 ({exc})") from exc
    if encoding == "hex":
        try:
            return len(bytes.fromhex(content))
        except ValueError as exc:
            raise InvalidRequest(f"Attachment {name!r}: content is not valid hex") from exc
    if encoding in ("utf-8", "utf8"):
        return len(content.encode())
    raise InvalidRequest(f"Attachment {name!r}: unsupported encoding {encoding!r} "
                         f"(supported: {', '.join(ENCODINGS)})")


def _stamp(epoch: float) -> str:
    """ISO 8601 in UTC, as ``submitted_at`` is written."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _human(size: int) -> str:
    for unit, factor in (("MB", MB), ("KB", KB)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _store_message(ctx: Context, record: dict[str, Json], domain: str) -> str:
    """Store the message under a new email_id and return it.

    Ids are UUIDs from the seeded generator and the store's sequence, so the same seed and
    the same calls give the same ids (also after a reset).
    """
    for _ in range(ID_ATTEMPTS):
        sequence = ctx.store.next_id(ctx.api.id, MESSAGES)
        email_id = str(uuid.UUID(int=ctx.synth.rng("email_id", sequence).getrandbits(128), version=4))
        stored = {"id": email_id, "email_id": email_id, "message_id": f"<{email_id}@{domain}>", **record}
        if ctx.store.create(ctx.api.id, MESSAGES, email_id, stored):
            return email_id
    raise ApiError("Could not assign an email id", status=500)


behaviour = SendServiceBehaviour()
