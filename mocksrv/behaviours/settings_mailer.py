"""The settings mailer (``settings-mailer``): manual e-mails, bulk throttling and the mail history.

The API speaks Spanish and answers one error at a time: the text of the first of its checks
that fails, in the order the seed lists the form's fields (``to``, ``subject``, ``body``,
``ctaUrl``, ``ctaText``, ``attachments``; the history's ``limit``, ``offset``, ``status``),
whether the engine found the problem (`SettingsMailerBehaviour.reword` words it,
`SettingsMailerBehaviour.refusal` picks the first) or this module did. Every 400 is
``{success: false, error}``; documented texts verbatim, the others ours (docs/decisions.md):

- ``to`` must be one JSON array of strings with at least one address, else "Se requiere al
  menos un destinatario" (also for text that is not JSON, an array holding anything but
  strings, or only blank ones); an entry that is not an e-mail address is "Dirección de
  correo no válida: <it>". Addresses are trimmed, blank ones dropped, the rest kept in
  order, duplicates included;
- a missing or blank ``subject`` is "El asunto es requerido", ``body`` "El cuerpo del correo
  es requerido"; a text field sent twice is "El campo <name> se envió 2 veces; solo admite
  un valor";
- at most 5 attachment files ("Se permiten como máximo 5 archivos adjuntos"), each ``image/*``
  ("Solo se permiten imágenes como adjuntos: invoice.pdf es application/pdf") and at most
  10MB, MB being 1024 × 1024 bytes ("El adjunto huge.png supera el máximo de 10MB (10485761
  bytes)"). Text parts named ``attachments`` are not uploads and are ignored, as upload
  middleware (multer) ignores them;
- the history: ``limit`` a whole number from 1 (above 100 it is capped at 100, the seed's
  "max 100"; the answer's ``limit`` says 100), ``offset`` from 0, ``status`` one of the five;
  a mail id a whole number. Each has its own sentence (`PARAMETER_MESSAGES`).

Credentials, scopes, rate limits, media types: the spec's ``x-mocksrv-errors`` ("No
autorizado" …).

``ctaText`` defaults to "Learn More" (whether or not ``ctaUrl`` is given: the button is shown
only with a URL). The e-mail is the seed's template (`render`): heading = subject (escaped),
message = body as sent (plain text or HTML), the button when ``ctaUrl`` is given, the footer
"Ambiotec - Professional Services"; it is stored as ``html`` with the mail (attachments go
inline). The sender is the key's owner: ``sent_by`` is it as an integer (0 when it is none),
``sent_by_name`` the ``name`` of its ``users`` record ("Unknown" without one). Attachments
keep their metadata, an S3 key ``mail-attachments/<virtual clock ms>_<file name>`` and a
presigned-looking URL.

Sending, on the virtual clock:

- up to 3 recipients, a normal send, is synchronous: the answer comes after the send, so the
  mail is already ``sent`` (``updated_at`` = ``created_at``). When every recipient fails
  (option ``failing_recipients``) or the transport is down (option ``smtp_error``) the mail is
  stored ``failed`` and the answer is the documented 500 "Error al enviar el correo" with
  ``details`` (the transport's text, or "No se pudo enviar a ningún destinatario: <them>")
  and ``mail_id``. When only some fail the mail is ``sent`` (the lifecycle for normal sends
  is ``pending → sent | failed``) and ``error_message`` names them;
- more than 3, a bulk send, is answered at once (200, ``bulk_mode``), even when the transport
  is down: failures show only in the history. Batch k (k = 0, 1 …) of ``batch_size``
  recipients goes out at creation + k × ``batch_interval_seconds``; the mail is ``sending``
  until the last batch has gone out, then ``sent``, ``partial`` (some recipients failed) or
  ``failed`` (all did, or the transport is down: ``error_message`` is its text).
  ``estimated_time_seconds`` is ceil(n / batch_size) × interval, which reproduces the
  documented example (the 5 addresses it lists, batches of 2, 5 s apart: 15 s; the
  example's "10 destinatario(s)" fits no formula): one interval more than the job takes;
- ``updated_at`` is when the status last changed; ``error_message`` is set for failures.

Besides the fields of the spec's ``MailDetail`` a stored mail keeps ``html`` and what `view`
needs: ``created_epoch``, ``bulk_mode``, ``batches`` (``at``, ``recipients``),
``failed_recipients``, ``completes_at``, ``final_status`` and ``final_error_message``; the view
adds ``batches_sent`` (and renders ``html`` for seeded mails that have none). Those never
reach the API's clients.

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
from html import escape
from urllib.parse import quote

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
from mocksrv.engine.outbox import epoch_of
from mocksrv.engine.outbox import items_of
from mocksrv.errors import ApiError
from mocksrv.errors import InvalidRequest
from mocksrv.errors import NotFound
from mocksrv.errors import Violation
from mocksrv.exchange import MockRequest
from mocksrv.openapi.specs import Operation

Json = t.Any
Form = dict[str, list[Json]]  # every part sent under each name: text, or a file's {filename, content_type, size}
MAILS = "mail-history"
USERS = "users"
MB = 1024 * 1024
MAX_ATTACHMENT_BYTES = 10 * MB
MAX_ATTACHMENTS = 5
BULK_ABOVE = 3  # more recipients than this switch to bulk mode
DEFAULT_LIMIT = 50
MAX_LIMIT = 100  # the seed's "max 100": a larger limit is capped
# instants closer than this are the same one: sums of clock advances carry float rounding
SAME_INSTANT = 1e-6
DEFAULT_CTA_TEXT = "Learn More"
S3_BASE = "https://s3.amazonaws.com/bucket/"
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# characters that would break a message's one line (client text quoted in it is shown escaped)
LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# the spec's MailDetail; a list item has total_count instead of updated_at
DETAIL_FIELDS = ("mail_id", "recipients", "subject", "body", "cta_url", "cta_text", "status", "error_message",
                 "attachments", "sent_by", "sent_by_name", "created_at", "updated_at")
ITEM_FIELDS = tuple(name for name in DETAIL_FIELDS if name != "updated_at")
# the form's fields in the order the seed lists them: the first that fails is the answer
FORM_ORDER = ("to", "subject", "body", "ctaUrl", "ctaText", "attachments")
TEXT_FIELDS = ("to", "subject", "body", "ctaUrl", "ctaText")
# documented
NO_RECIPIENTS = "Se requiere al menos un destinatario"
NO_SUBJECT = "El asunto es requerido"
SEND_FAILED = "Error al enviar el correo"
NOT_FOUND = "Correo no encontrado"
# ours, in the seed's register (docs/decisions.md)
BAD_ADDRESS = "Dirección de correo no válida: {address}"
NO_BODY = "El cuerpo del correo es requerido"
SENT_TWICE = "El campo {name} se envió {count} veces; solo admite un valor"
TOO_MANY_FILES = f"Se permiten como máximo {MAX_ATTACHMENTS} archivos adjuntos"
NOT_AN_IMAGE = "Solo se permiten imágenes como adjuntos: {name} es {content_type}"
ONLY_IMAGES = "Solo se permiten imágenes como adjuntos"
TOO_LARGE = "El adjunto {name} supera el máximo de 10MB ({size} bytes)"
BAD_FIELD = "El campo {name} no es válido"
BAD_REQUEST = "Solicitud no válida"
NO_ONE_REACHED = "No se pudo enviar a ningún destinatario: {addresses}"
SOME_FAILED = "Falló el envío a {failed} de {total} destinatario(s): {addresses}"
STATUSES = ("pending", "sending", "sent", "failed", "partial")
# the history's parameters in the seed's order, each with its sentence
PARAMETER_MESSAGES = {
    "limit": "El parámetro limit debe ser un número entero mayor que 0",
    "offset": "El parámetro offset debe ser un número entero mayor o igual que 0",
    "status": "Estado no válido: {value}. Valores permitidos: " + ", ".join(STATUSES),
    "search": "El parámetro search no es válido",
    "id": "El ID del correo debe ser un número entero",
}
BAD_PARAMETER = "El parámetro {name} no es válido"
BAD_STATUS = "Estado no válido. Valores permitidos: " + ", ".join(STATUSES)
TEMPLATE = """<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>{heading}</title>
</head>
<body>
  <h1>{heading}</h1>
  <div class="message">
    {message}
  </div>
{cta}
  <footer>
    Ambiotec - Professional Services
  </footer>
</body>
</html>
"""
CTA = """
  <a href="{url}" class="cta-button">
    {text}
  </a>
"""


class SettingsMailerOptions(Schema):
    """The scenario's ``settings-mailer.options``."""

    class Meta:
        unknown = RAISE

    batch_size = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=2)
    batch_interval_seconds = fields.Float(validate=validate.Range(min=0), load_default=5.0)
    # addresses the mail server rejects (compared case-insensitively)
    failing_recipients = fields.List(fields.String(), load_default=list)
    # set: the mail server is unreachable; a normal send is 500 with this as `details`, a bulk one fails later
    smtp_error = fields.String(allow_none=True, load_default=None)


# what a scenario that does not mention this API (or leaves options out) gets
DEFAULT_OPTIONS: dict[str, Json] = SettingsMailerOptions().load({})


class SettingsMailerOutbox:
    """One mail to many recipients, as the template rendered it (images inline); a bulk send goes out in
    batches on the virtual clock."""

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
                       str(record.get("status") or ""), created, html=record.get("html"), text=record.get("body"),
                       attachments=attachments_of(record, "content_type", inline=True),
                       headers=headers, history=history, record=record)


class SettingsMailerBehaviour(Behaviour):
    outbox = SettingsMailerOutbox()
    # a bulk send's batches and every mail's outcome (its document's statuses), as webhook events
    webhook_events = ("batch_sent", "sent", "failed", "partial")
    options_schema = SettingsMailerOptions

    def reword(self, operation: Operation, violation: Violation) -> str | None:
        """Every violation the engine finds, in Spanish: the documented texts, else ours."""
        root = re.split(r"[.\[]", violation.field, maxsplit=1)[0]
        if violation.location == "body":
            if violation.rule == "required":
                return {"to": NO_RECIPIENTS, "subject": NO_SUBJECT, "body": NO_BODY}.get(root) \
                    or BAD_FIELD.format(name=root)
            if root == "attachments":
                return TOO_MANY_FILES if violation.field == root and violation.rule == "maxItems" else ONLY_IMAGES
            return BAD_FIELD.format(name=root) if root else BAD_REQUEST
        if violation.location in ("query", "path", "header", "cookie") and root:
            if root == "status":
                return PARAMETER_MESSAGES["status"].format(value=_quoted(violation.value)) \
                    if isinstance(violation.value, str) else BAD_STATUS
            return PARAMETER_MESSAGES.get(root) or BAD_PARAMETER.format(name=root)
        return BAD_REQUEST

    def refusal(self, operation: Operation, request: MockRequest, violations: list[Violation]) -> str | None:
        """The first failing check in the seed's order: the form's fields, or the history's parameters."""
        if operation.operation_id == "sendMail":
            return _first_problem(_raw_form(request), violations) or BAD_REQUEST
        order = list(PARAMETER_MESSAGES)

        def rank(violation: Violation) -> int:
            return order.index(violation.field) if violation.field in order else len(order)

        return min(violations, key=rank).message if violations else None

    def on_sendMail(self, ctx: Context) -> Reply:
        """Send now (up to 3 recipients) or start a throttled bulk send.

        :raise 400: the first of the form's checks that fails (module docstring).
        :raise 500: a normal send that reached no one (``smtp_error``, or every recipient failing);
            the mail is stored as ``failed``.
        """
        options = {**DEFAULT_OPTIONS, **ctx.options}
        form = _checked_form(ctx.body)
        problem = _first_problem(form, [])
        if problem is not None:
            raise InvalidRequest(problem)
        recipients = _addresses(_text(form, "to"))
        subject, body = _text(form, "subject"), _text(form, "body")
        files = [part for part in form.get("attachments", []) if isinstance(part, dict)]
        now = ctx.clock.now()
        cta_url = _text(form, "ctaUrl") or None
        cta_text = _text(form, "ctaText") or DEFAULT_CTA_TEXT
        sent_by, sent_by_name = _sender(ctx)
        bulk = len(recipients) > BULK_ABOVE
        failed, error = _outcome(recipients, options)
        reached_none = len(failed) == len(recipients)
        def numbered(mail_id: int) -> tuple[int, dict[str, Json]]:
            return mail_id, _mail_record(mail_id, recipients, subject, body, cta_url, cta_text, files, now,
                                         (sent_by, sent_by_name), failed, error, options)

        # one draw: the sequence is above every integer id stored, so the id is free
        created = ctx.store.create_numbered(ctx.api.id, MAILS, numbered, attempts=1)
        if created is None:
            raise ApiError("Could not assign a mail id", status=500)
        mail_id, record = int(created[0]), dict(created[1])
        self._emit_life(ctx, record)  # a 500 sends no events: the pipeline emits only after a 2xx
        if bulk:
            return Reply(200, {
                "success": True,
                "message": f"Envío masivo iniciado para {len(recipients)} destinatario(s). "
                           "Los correos se enviarán de forma gradual.",
                "recipients": recipients,
                "mail_id": mail_id,
                "attachments_count": len(files),
                "bulk_mode": True,
                "estimated_time_seconds": _estimate(len(record["batches"]), options["batch_interval_seconds"]),
            })
        if reached_none:
            raise ApiError(SEND_FAILED, status=500, fields={"details": error, "mail_id": mail_id})
        return Reply(200, {
            "success": True,
            "message": f"Correo enviado a {len(recipients)} destinatario(s)",
            "recipients": recipients,
            "mail_id": mail_id,
            "attachments_count": len(files),
        })

    def _emit_life(self, ctx: Context, record: dict[str, Json]) -> None:
        """Each batch of a bulk send, then its outcome (a normal send: the outcome now), as webhook events
        carrying the mail as `getMailHistory` shows it at that instant."""
        steps = [("batch_sent", float(batch["at"])) for batch in record.get("batches") or []]
        completes = record["completes_at"] if "completes_at" in record else record["created_epoch"]
        steps.append((str(record.get("final_status", record["status"])), float(completes)))
        for event, at in steps:
            mail = _fields(self.view(MAILS, record, at, ctx.options), DETAIL_FIELDS)
            ctx.emit(event, envelope(event, at, mail), at, source=record["mail_id"])

    def on_listMailHistory(self, ctx: Context) -> Reply:
        """One page of the history, newest first, filtered by status and search."""
        limit = min(ctx.query("limit", DEFAULT_LIMIT), MAX_LIMIT)
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
        if "html" not in viewed:  # seeded: the e-mail its fields make
            cta_url = viewed.get("cta_url")
            viewed["html"] = render(str(viewed.get("subject") or ""), str(viewed.get("body") or ""),
                                    str(cta_url) if cta_url else None,
                                    str(viewed.get("cta_text") or DEFAULT_CTA_TEXT))
        completes_at = record.get("completes_at")
        if not isinstance(completes_at, int | float):
            return viewed  # seeded, or a normal send: as stored
        batches = record.get("batches") or []
        viewed["batches_sent"] = sum(1 for batch in batches if batch.get("at", math.inf) <= now + SAME_INSTANT)
        if now + SAME_INSTANT >= completes_at:
            viewed["status"] = record.get("final_status", viewed.get("status"))
            viewed["error_message"] = record.get("final_error_message")
            viewed["updated_at"] = _iso(completes_at)
        return viewed


def render(subject: str, body: str, cta_url: str | None, cta_text: str) -> str:
    """The e-mail as the seed's template makes it.

    The subject is the heading; the body goes in as sent, since the seed says it may be HTML;
    the button only with a URL.
    """
    cta = CTA.format(url=escape(cta_url), text=escape(cta_text)) if cta_url else ""
    return TEMPLATE.format(heading=escape(subject), message=body, cta=cta)


def _raw_form(request: MockRequest) -> Form:
    """The form as sent, for a request the engine refused (its checked body is not there)."""
    names = dict.fromkeys([*request.form.keys(), *request.files.keys()])
    return {name: [*request.form.getlist(name), *(_file(part) for part in request.files.getlist(name))]
            for name in names}


def _file(part: t.Any) -> dict[str, Json]:
    """A file part as the engine describes one (``ctx.body``)."""
    data = part.stream.read()
    part.stream.seek(0)
    return {"filename": part.filename or "", "content_type": part.mimetype or "application/octet-stream",
            "size": len(data)}


def _checked_form(body: Json) -> Form:
    """The engine's checked body in the same shape: one value per text field, a list of attachments."""
    form: Form = {}
    for name, value in dict(body or {}).items():
        form[name] = list(value) if isinstance(value, list) else [value]
    return form


def _first_problem(form: Form, violations: list[Violation]) -> str | None:
    """The first of the form's checks that fails, field by field in the seed's order.

    A field's own checks come first; then what the engine found about it (already in Spanish).
    """
    for name in FORM_ORDER:
        parts = form.get(name, [])
        problem = _text_problem(name, parts) if name in TEXT_FIELDS else _attachments_problem(parts)
        if problem is None:
            root = re.compile(rf"^{re.escape(name)}(\[|\.|$)")
            problem = next((v.message for v in violations if v.location == "body" and root.match(v.field)), None)
        if problem is not None:
            return problem
    return violations[0].message if violations else None


def _text_problem(name: str, parts: list[Json]) -> str | None:
    if len(parts) > 1:
        return SENT_TWICE.format(name=name, count=len(parts))
    text = str(parts[0]) if parts and isinstance(parts[0], str) else None
    if name == "to":
        return _recipients_problem(text)
    if name == "subject" and not (text or "").strip():
        return NO_SUBJECT
    if name == "body" and not (text or "").strip():
        return NO_BODY
    return None


def _recipients_problem(value: str | None) -> str | None:
    """``to`` must be a JSON array of strings holding at least one address."""
    try:
        parsed = json.loads(value or "")
    except ValueError:
        return NO_RECIPIENTS
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        return NO_RECIPIENTS
    addresses = [item.strip() for item in parsed if item.strip()]
    if not addresses:
        return NO_RECIPIENTS
    bad = next((item for item in addresses if not ADDRESS.match(item)), None)
    return BAD_ADDRESS.format(address=_quoted(bad)) if bad is not None else None


def _addresses(value: str) -> list[str]:
    """The addresses of a ``to`` that passed `_recipients_problem`: trimmed, blank ones dropped."""
    return [item.strip() for item in json.loads(value) if item.strip()]


def _attachments_problem(parts: list[Json]) -> str | None:
    """At most 5 files, each an image of at most 10MB; text parts are not uploads."""
    files = [part for part in parts if isinstance(part, dict)]
    if len(files) > MAX_ATTACHMENTS:
        return TOO_MANY_FILES
    for file in files:
        content_type = str(file.get("content_type", "")).lower()
        if not content_type.startswith("image/"):
            return NOT_AN_IMAGE.format(name=_quoted(_basename(file)), content_type=_quoted(content_type))
        size = int(file.get("size", 0))
        if size > MAX_ATTACHMENT_BYTES:
            return TOO_LARGE.format(name=_quoted(_basename(file)), size=size)
    return None


def _quoted(text: str) -> str:
    """Client text as a message shows it: on one line, control characters escaped (``\\n``)."""
    return LINE_BREAKING.sub(lambda found: found.group().encode("unicode_escape").decode(), text)


def _text(form: Form, name: str) -> str:
    parts = form.get(name) or [""]
    return str(parts[0] or "")


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


def _mail_record(mail_id: int, recipients: list[str], subject: str, body: str, cta_url: str | None, cta_text: str,
                 files: list[dict[str, Json]], now: float, sender: tuple[Json, Json], failed: list[str],
                 error: str | None, options: dict[str, Json]) -> dict[str, Json]:
    """The mail as stored: a bulk send with its batch plan and ``sending``, a normal one with its outcome."""
    bulk = len(recipients) > BULK_ABOVE
    record: dict[str, Json] = {
        "mail_id": mail_id,
        "recipients": recipients,
        "subject": subject,
        "body": body,
        "cta_url": cta_url,
        "cta_text": cta_text,
        "status": "sending" if bulk else "failed" if len(failed) == len(recipients) else "sent",
        "error_message": None if bulk else error,
        "attachments": [_attachment(file, now, mail_id) for file in files],
        "sent_by": sender[0],
        "sent_by_name": sender[1],
        "created_at": _iso(now),
        "updated_at": _iso(now),
        "created_epoch": now,
        "bulk_mode": bulk,
        "html": render(subject, body, cta_url, cta_text),
        "failed_recipients": failed,
    }
    if bulk:
        record.update(_bulk_plan(recipients, now, options, failed, error))
    return record


def _outcome(recipients: list[str], options: dict[str, Json]) -> tuple[list[str], str | None]:
    """Who the send fails for, and the error it records (None: everyone reached)."""
    if options["smtp_error"] is not None:
        return list(recipients), str(options["smtp_error"])
    failing = {str(address).lower() for address in options["failing_recipients"]}
    failed = [address for address in recipients if address.lower() in failing]
    if not failed:
        return [], None
    if len(failed) == len(recipients):
        return failed, NO_ONE_REACHED.format(addresses=", ".join(failed))
    return failed, SOME_FAILED.format(failed=len(failed), total=len(recipients), addresses=", ".join(failed))


def _bulk_plan(recipients: list[str], now: float, options: dict[str, Json], failed: list[str],
               error: str | None) -> dict[str, Json]:
    """When each batch goes out; the job ends with the last batch, and what it records then."""
    size, interval = options["batch_size"], options["batch_interval_seconds"]
    batches = [{"at": now + k * interval, "recipients": recipients[start:start + size]}
               for k, start in enumerate(range(0, len(recipients), size))]
    status = "sent" if not failed else "failed" if len(failed) == len(recipients) else "partial"
    return {"batches": batches, "completes_at": batches[-1]["at"], "final_status": status,
            "final_error_message": error}


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
