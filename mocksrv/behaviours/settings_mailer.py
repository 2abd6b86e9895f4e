"""The settings mailer (``settings-mailer``): manual e-mails, bulk throttling and the mail history.

``POST /api/settings/sendmail`` (multipart) stores one mail in ``mail-history`` under a
``mail_id`` from the collection's integer sequence (so it follows the seeded 456). The
engine has already checked the form against the schema: ``to``, ``subject`` and ``body``
present, at most 5 attachments, image content types. Its messages are English ("body
field is required", "attachments must have at most 5 items", "attachments[0] has content
type application/pdf; allowed: image/*") except where the API documents its own text:
`SettingsMailerBehaviour.reword` says "Se requiere al menos un destinatario" for a missing
``to`` and "El asunto es requerido" for a missing ``subject``. This module then applies
the rules the API documents, in this order (each is 400 ``{success: false, error}``;
documented texts verbatim, the others worded like the engine's):

- ``to`` must be a JSON array of strings with at least one address, else "Se requiere al
  menos un destinatario" (also for text that is not JSON, an array holding anything but
  strings, or only blank ones); an entry that is not an e-mail address is "to has an
  invalid email address: <it>". Addresses are trimmed, blank ones dropped, the rest kept
  in order, duplicates included;
- a blank ``subject`` is "El asunto es requerido"; a blank ``body`` "body must not be blank";
- each attachment file must be ``image/*`` and at most 10 MB, MB being 1024 × 1024 bytes
  ("attachments[1] (huge.png) is larger than 10 MB: 10485761 bytes"). Text parts named
  ``attachments`` are not uploads and are ignored, as upload middleware (multer) ignores them.

``ctaText`` defaults to "Learn More" when ``ctaUrl`` is given. The sender is the key's
owner: ``sent_by`` is it as an integer (0 when it is none), ``sent_by_name`` the ``name``
of its ``users`` record ("Unknown" without one). Attachments keep their metadata, an S3
key ``mail-attachments/<virtual clock ms>_<file name>`` and a presigned-looking URL.

Time (`SettingsMailerBehaviour.view`, computed from stored instants on the virtual clock):

- up to 3 recipients, a normal send: ``pending`` until ``send_seconds`` (option, default 1)
  after creation, then ``sent``, or ``failed`` when every recipient is one of the option
  ``failing_recipients``. When only some fail the mail is still ``sent`` (the spec's
  lifecycle for normal sends is ``pending → sent | failed``) and ``error_message`` names them;
- more than 3, a bulk send: answered at once. Batch k (k = 0, 1 …) of ``batch_size``
  recipients goes out at creation + k × ``batch_interval_seconds``, and the job waits the
  interval after every batch before it records the outcome, so the mail is ``sending``
  until creation + batches × interval, then ``sent``, ``partial`` (some recipients failed)
  or ``failed`` (all did). ``estimated_time_seconds`` is exactly that: ceil(n / batch_size)
  × interval, which reproduces the documented example (the 5 addresses it lists, batches of
  2, 5 s apart: 3 batches, 15 s); the example's "10 destinatario(s)" fits no formula;
- ``updated_at`` is when the status last changed; ``error_message`` is set for failures.

With the option ``smtp_error`` set, the transport is down: every send is stored as
``failed`` with that text as ``error_message`` and answered 500 "Error al enviar el correo"
with ``details`` and ``mail_id``, bulk sends included (the transport is checked before the
answer). Besides the fields of the spec's ``MailDetail`` a stored mail keeps what `view`
needs: ``created_epoch``, ``bulk_mode``, ``batches`` (``at``, ``recipients``),
``failed_recipients``, ``completes_at``, ``final_status`` and ``final_error_message``;
the view adds ``batches_sent``. Those never reach the API's clients.

The history (``GET /api/settings/mail-history``) lists mails newest first (highest
``mail_id``), filtered by their status at the time of the request and by ``search``, a
case-insensitive substring of a recipient, the subject or the body. ``total`` and every
item's ``total_count`` are the number of matches. An unknown id in
``GET /api/settings/mail-history/{id}`` is 404 "Correo no encontrado".
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import typing as t
from datetime import UTC
from datetime import datetime
from urllib.parse import quote

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from mocksrv.engine.behaviour import Behaviour
from mocksrv.engine.behaviour import Context
from mocksrv.engine.behaviour import Reply
from mocksrv.engine.outbox import Event
from mocksrv.engine.outbox import Message
from mocksrv.engine.outbox import Record
from mocksrv.engine.outbox import addresses
from mocksrv.engine.outbox import attachments_of
from mocksrv.engine.outbox import epoch_of
from mocksrv.engine.outbox import items_of
from mocksrv.errors import ApiError
from mocksrv.errors import InvalidRequest
from mocksrv.errors import NotFound
from mocksrv.errors import Violation
from mocksrv.openapi.specs import Operation

Json = t.Any
MAILS = "mail-history"
USERS = "users"
MB = 1024 * 1024
MAX_ATTACHMENT_BYTES = 10 * MB
BULK_ABOVE = 3  # more recipients than this switch to bulk mode
DEFAULT_LIMIT = 50
# instants closer than this are the same one: sums of clock advances carry float rounding
SAME_INSTANT = 1e-6
DEFAULT_CTA_TEXT = "Learn More"
S3_BASE = "https://s3.amazonaws.com/bucket/"
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# the spec's MailDetail; a list item has total_count instead of updated_at
DETAIL_FIELDS = ("mail_id", "recipients", "subject", "body", "cta_url", "cta_text", "status", "error_message",
                 "attachments", "sent_by", "sent_by_name", "created_at", "updated_at")
ITEM_FIELDS = tuple(name for name in DETAIL_FIELDS if name != "updated_at")
NO_RECIPIENTS = "Se requiere al menos un destinatario"
NO_SUBJECT = "El asunto es requerido"
SEND_FAILED = "Error al enviar el correo"
NOT_FOUND = "Correo no encontrado"


class SettingsMailerOptions(Schema):
    """The scenario's ``settings-mailer.options``."""

    class Meta:
        unknown = RAISE

    batch_size = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=2)
    batch_interval_seconds = fields.Float(validate=validate.Range(min=0), load_default=5.0)
    # how long a normal send stays `pending`
    send_seconds = fields.Float(validate=validate.Range(min=0), load_default=1.0)
    # addresses the mail server rejects (compared case-insensitively)
    failing_recipients = fields.List(fields.String(), load_default=list)
    # set: the mail server is unreachable; every send is 500 with this as `details`
    smtp_error = fields.String(allow_none=True, load_default=None)


# what a scenario that does not mention this API (or leaves options out) gets
DEFAULT_OPTIONS: dict[str, Json] = SettingsMailerOptions().load({})


class SettingsMailerOutbox:
    """One mail to many recipients; a bulk send goes out in batches on the virtual clock."""

    collection = "mail-history"

    def message(self, api: str, record: Record, now: float) -> Message:
        created = epoch_of(record.get("created_epoch")) or epoch_of(record.get("created_at"))
        history = []
        if created is not None:
            history.append(Event(created, "sending" if record.get("bulk_mode") else "pending"))
        batches = items_of(record, "batches")
        for number, batch in enumerate(batches, start=1):
            at = epoch_of(batch.get("at"))
            if at is not None and at <= now and len(batches) > 1:
                history.append(Event(at, "batch sent", f"batch {number} of {len(batches)}: "
                                                       f"{', '.join(batch.get('recipients') or [])}"))
        completes = epoch_of(record.get("completes_at"))
        if completes is not None and completes <= now:
            history.append(Event(completes, str(record.get("status")), str(record.get("error_message") or "")))
        elif completes is None:  # seeded: what it states
            updated = epoch_of(record.get("updated_at"))
            if updated is not None:
                history.append(Event(updated, str(record.get("status")), str(record.get("error_message") or "")))
        headers = [("X-Sent-By", f"{record.get('sent_by_name', '')} (user {record.get('sent_by', '')})")]
        if record.get("cta_url"):
            headers.append(("X-Call-To-Action", f"{record.get('cta_text') or ''} <{record['cta_url']}>"))
        return Message(api, self.collection, str(record.get("mail_id", "")), str(record.get("sent_by_name") or ""),
                       addresses(record.get("recipients")), str(record.get("subject") or ""),
                       str(record.get("status") or ""), created, text=record.get("body"),
                       attachments=attachments_of(record, "content_type"),
                       headers=headers, history=history, record=record)


class SettingsMailerBehaviour(Behaviour):
    outbox = SettingsMailerOutbox()
    options_schema = SettingsMailerOptions

    def reword(self, operation: Operation, violation: Violation) -> str | None:
        """The API's documented messages for the required fields the engine checks first."""
        if operation.operation_id != "sendMail" or violation.location != "body" or violation.rule != "required":
            return None
        return {"to": NO_RECIPIENTS, "subject": NO_SUBJECT}.get(violation.field)

    def on_sendMail(self, ctx: Context) -> Reply:
        """Send now (up to 3 recipients) or start a throttled bulk send.

        :raise 400: recipients, subject, body or attachments break the rules in the module docstring.
        :raise 500: the scenario's ``smtp_error``; the mail is stored as ``failed``.
        """
        options = {**DEFAULT_OPTIONS, **ctx.options}
        form: dict[str, Json] = dict(ctx.body or {})
        recipients = _recipients(form.get("to"))
        subject, body = str(form.get("subject") or ""), str(form.get("body") or "")
        if not subject.strip():
            raise InvalidRequest(NO_SUBJECT)
        if not body.strip():
            raise InvalidRequest("body must not be blank")
        files = _files(form.get("attachments") or [])
        mail_id = ctx.store.next_id(ctx.api.id, MAILS)
        now = ctx.clock.now()
        cta_url = form.get("ctaUrl") or None
        cta_text = form.get("ctaText") or (DEFAULT_CTA_TEXT if cta_url else None)
        sent_by, sent_by_name = _sender(ctx)
        bulk = len(recipients) > BULK_ABOVE
        record: dict[str, Json] = {
            "mail_id": mail_id,
            "recipients": recipients,
            "subject": subject,
            "body": body,
            "cta_url": cta_url,
            "cta_text": cta_text,
            "status": "sending" if bulk else "pending",
            "error_message": None,
            "attachments": [_attachment(file, now, mail_id) for file in files],
            "sent_by": sent_by,
            "sent_by_name": sent_by_name,
            "created_at": _iso(now),
            "updated_at": _iso(now),
            "created_epoch": now,
            "bulk_mode": bulk,
        }
        if options["smtp_error"] is not None:
            record.update(status="failed", error_message=options["smtp_error"])
            ctx.store.put(ctx.api.id, MAILS, mail_id, record)
            raise ApiError(SEND_FAILED, status=500, fields={"details": options["smtp_error"], "mail_id": mail_id})
        record.update(_plan(recipients, now, bulk, options))
        ctx.store.put(ctx.api.id, MAILS, mail_id, record)
        answer: dict[str, Json] = {
            "success": True,
            "message": f"Correo enviado a {len(recipients)} destinatario(s)",
            "recipients": recipients,
            "mail_id": mail_id,
            "attachments_count": len(files),
        }
        if bulk:
            answer.update(
                message=f"Envío masivo iniciado para {len(recipients)} destinatario(s). "
                        "Los correos se enviarán de forma gradual.",
                bulk_mode=True,
                estimated_time_seconds=_estimate(len(record["batches"]), options["batch_interval_seconds"]),
            )
        return Reply(200, answer)

    def on_listMailHistory(self, ctx: Context) -> Reply:
        """One page of the history, newest first, filtered by status and search."""
        limit = ctx.query("limit", DEFAULT_LIMIT)
        offset = ctx.query("offset", 0)
        status = ctx.query("status")
        search = str(ctx.query("search") or "").lower()
        now = ctx.clock.now()

        def matches(record: t.Mapping[str, Json]) -> bool:
            if status is not None and self.view(MAILS, dict(record), now, ctx.options).get("status") != status:
                return False
            return not search or any(search in str(text).lower() for text in _searchable(record))

        records, total = ctx.store.list(ctx.api.id, MAILS, match=matches, sort="mail_id", descending=True,
                                        offset=offset, limit=limit)
        mails = [{**_fields(self.view(MAILS, r, now, ctx.options), ITEM_FIELDS), "total_count": total}
                 for r in records]
        return Reply(200, {"success": True, "mails": mails, "total": total, "limit": limit, "offset": offset})

    def on_getMailHistory(self, ctx: Context) -> Reply:
        """One mail as it is now.

        :raise 404: no mail with this id.
        """
        # the typed value: "0456" and "456" name the same mail
        mail_id = ctx.checked.parameters.get("path", {}).get("id", ctx.path_params.get("id", ""))
        record = ctx.store.get(ctx.api.id, MAILS, mail_id)
        if record is None:
            raise NotFound(NOT_FOUND, kind="not_found")
        mail = _fields(self.view(MAILS, record, ctx.clock.now(), ctx.options), DETAIL_FIELDS)
        return Reply(200, {"success": True, "mail": mail})

    def view(self, collection: str, record: dict[str, Json], now: float, options: dict[str, Json]) -> dict[str, Json]:
        """A mail's status at ``now``: its stored status before ``completes_at``, the outcome after."""
        if collection != MAILS:
            return record
        viewed = dict(record)
        viewed.setdefault("updated_at", viewed.get("created_at"))
        completes_at = record.get("completes_at")
        if not isinstance(completes_at, int | float):
            return viewed  # seeded, or failed at once: as stored
        batches = record.get("batches") or []
        viewed["batches_sent"] = sum(1 for batch in batches if batch.get("at", math.inf) <= now + SAME_INSTANT)
        if now + SAME_INSTANT >= completes_at:
            viewed["status"] = record.get("final_status", viewed.get("status"))
            viewed["error_message"] = record.get("final_error_message")
            viewed["updated_at"] = _iso(completes_at)
        return viewed


def _recipients(value: Json) -> list[str]:
    """The addresses of ``to``, a JSON array of strings.

    :raise 400: not such an array, an empty one, or an entry that is not an address.
    """
    try:
        parsed = json.loads(str(value or ""))
    except ValueError as exc:
        raise InvalidRequest(NO_RECIPIENTS) from exc
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise InvalidRequest(NO_RECIPIENTS)
    addresses = [item.strip() for item in parsed if item.strip()]
    if not addresses:
        raise InvalidRequest(NO_RECIPIENTS)
    bad = next((item for item in addresses if not ADDRESS.match(item)), None)
    if bad is not None:
        raise InvalidRequest(f"to has an invalid email address: {bad}")
    return addresses


def _files(parts: list[Json]) -> list[dict[str, Json]]:
    """The attached files, as the engine describes them (filename, content_type, size).

    :raise 400: a file that is not an image (the engine refuses those first), or one over 10 MB.
    """
    files: list[dict[str, Json]] = []
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            continue  # a text field, not an upload
        content_type = str(part.get("content_type", "")).lower()
        if not content_type.startswith("image/"):
            raise InvalidRequest(f"attachments[{index}] has content type {content_type}; allowed: image/*")
        size = int(part.get("size", 0))
        if size > MAX_ATTACHMENT_BYTES:
            raise InvalidRequest(f"attachments[{index}] ({_basename(part)}) is larger than 10 MB: {size} bytes")
        files.append(part)
    return files


def _basename(part: dict[str, Json]) -> str:
    """The file's own name: clients may send a path, which has no place in an S3 key."""
    name = re.split(r"[\\/]", str(part.get("filename") or ""))[-1]
    return name or "attachment"


def _attachment(part: dict[str, Json], now: float, mail_id: int) -> dict[str, Json]:
    name = _basename(part)
    s3_key = f"mail-attachments/{int(now * 1000)}_{name}"
    # looks presigned; derived from the key and the mail so it is stable for a record
    signature = hashlib.sha256(f"{mail_id}|{s3_key}".encode()).hexdigest()
    url = (f"{S3_BASE}{quote(s3_key)}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600"
           f"&X-Amz-Signature={signature}")
    return {"filename": name, "size": int(part.get("size", 0)), "content_type": str(part.get("content_type")),
            "s3_key": s3_key, "url": url}


def _sender(ctx: Context) -> tuple[int, str]:
    """``sent_by`` and ``sent_by_name`` from the key's owner and its ``users`` record."""
    owner = ctx.principal.owner if ctx.principal else None
    sent_by = int(owner) if owner is not None and owner.isascii() and owner.isdigit() else 0
    user = ctx.store.get(ctx.api.id, USERS, owner) if owner else None
    name = user.get("name") if user else None
    return sent_by, str(name) if name else "Unknown"


def _plan(recipients: list[str], now: float, bulk: bool, options: dict[str, Json]) -> dict[str, Json]:
    """When each batch goes out, when the outcome is recorded, and what it is."""
    failing = {str(address).lower() for address in options["failing_recipients"]}
    failed = [address for address in recipients if address.lower() in failing]
    if bulk:
        size, interval = options["batch_size"], options["batch_interval_seconds"]
        batches = [{"at": now + k * interval, "recipients": recipients[start:start + size]}
                   for k, start in enumerate(range(0, len(recipients), size))]
        completes_at = now + len(batches) * interval
    else:
        completes_at = now + options["send_seconds"]
        batches = [{"at": completes_at, "recipients": recipients}]
    if not failed:
        status, error = "sent", None
    elif len(failed) == len(recipients):
        status, error = "failed", f"No se pudo enviar a ningún destinatario: {', '.join(failed)}"
    else:
        status = "partial" if bulk else "sent"
        error = f"Falló el envío a {len(failed)} de {len(recipients)} destinatario(s): {', '.join(failed)}"
    return {"batches": batches, "failed_recipients": failed, "completes_at": completes_at,
            "final_status": status, "final_error_message": error}


def _estimate(batches: int, interval: float) -> int:
    """batches × interval, a whole number in the spec: a fractional interval rounds up."""
    return math.ceil(round(batches * interval, 6))


def _searchable(record: t.Mapping[str, Json]) -> list[Json]:
    return [*(record.get("recipients") or []), record.get("subject", ""), record.get("body", "")]


def _fields(record: dict[str, Json], names: tuple[str, ...]) -> dict[str, Json]:
    """The spec's fields of a mail, with the shapes it requires where a seeded record leaves gaps."""
    defaults: dict[str, Json] = {"recipients": [], "subject": "", "body": "", "cta_url": None, "cta_text": None,
                                 "status": "sent", "error_message": None, "attachments": [], "sent_by": 0,
                                 "sent_by_name": "Unknown"}
    return {name: record.get(name, defaults.get(name)) for name in names}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


behaviour = SettingsMailerBehaviour()
