"""Every email the seed APIs stored, in one shape: the console's Outbox.

Each seed API keeps its messages its own way (MaxCare one record per recipient in
``emails``, MailDiver rendered messages in ``emails``, the settings mailer a history with
bulk batches in ``mail-history``, the send service ``messages``). An `Adapter` per
behaviour reads its records — as the behaviour's ``view`` shows them at the current
virtual instant — into a `Message`: addresses, subject, status, bodies, attachments,
extra headers, and the status history on the virtual clock. Adapters are chosen by the
API's behaviour class, so a spec naming a seed behaviour with ``x-mocksrv-behaviour``
gets its outbox too.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from mocksrv.behaviours.maildiver import MailDiverBehaviour
from mocksrv.behaviours.maxcare import MaxCareBehaviour
from mocksrv.behaviours.send_service import SendServiceBehaviour
from mocksrv.behaviours.settings_mailer import SettingsMailerBehaviour
from mocksrv.engine.pipeline import Pipeline

Json = t.Any
Record = dict[str, Json]


@dataclass(frozen=True)
class Attachment:
    name: str
    size: int | None  # bytes; None when only a URL was given
    content_type: str
    inline: bool = False  # sent as an inline part (Content-Disposition: inline) rather than an attachment


@dataclass(frozen=True)
class Event:
    """One step of a message's life, on the virtual clock."""

    epoch: float
    status: str
    note: str = ""

    @property
    def time(self) -> str:
        return _clock_text(self.epoch)


@dataclass
class Message:
    api: str
    collection: str
    id: str
    sender: str
    to: list[str]
    subject: str
    status: str
    epoch: float | None  # when it was created, on the virtual clock (sorting, the list's time column)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    html: str | None = None
    text: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)  # extra headers: custom ones, tags, template
    history: list[Event] = field(default_factory=list)
    record: Record = field(default_factory=dict)  # as stored (viewed now), for the raw view

    @property
    def time(self) -> str:
        return _clock_text(self.epoch) if self.epoch is not None else ""


class Adapter(t.Protocol):
    collection: str

    def message(self, api: str, record: Record, now: float) -> Message: ...


class MaxCareAdapter:
    """One record per recipient; delivery, bounce and open times fill in as the clock passes them."""

    collection = "emails"

    def message(self, api: str, record: Record, now: float) -> Message:
        created = _epoch(record.get("createdAt"))
        history = [Event(created, "created")] if created is not None else []
        if record.get("scheduledAt") and created is not None:
            history.append(Event(created, "scheduled", f"for {record['scheduledAt']}"))
        for stamp, status in (("sentAt", "sent"), ("deliveredAt", "delivered"), ("bouncedAt", "bounced"),
                              ("openedAt", "opened")):
            at = _epoch(record.get(stamp))
            if at is not None and not (status == "sent" and record.get("status") == "scheduled"):
                history.append(Event(at, status))
        headers = [("X-Email-Type", str(record.get("emailType", "")))]
        headers += [(name, str(record[key])) for name, key in (("X-Organization-Id", "organizationId"),
                                                                 ("X-App-Id", "appId")) if record.get(key)]
        return Message(api, self.collection, str(record.get("id", "")), str(record.get("fromAddress") or ""),
                       _addresses(record.get("recipientEmail")), str(record.get("subject") or ""),
                       str(record.get("status") or ""), created, html=record.get("html"),
                       headers=headers, history=sorted(history, key=lambda e: e.epoch), record=record)


class MailDiverAdapter:
    """Rendered messages (templates and variables applied), queued."""

    collection = "emails"

    def message(self, api: str, record: Record, now: float) -> Message:
        created = _epoch(record.get("created_at"))
        headers = [(name, str(record[key])) for name, key in (("X-Template-Id", "template_id"),)
                   if record.get(key)]
        return Message(api, self.collection, str(record.get("id", "")), str(record.get("from") or ""),
                       _addresses(record.get("to")), str(record.get("subject") or ""),
                       str(record.get("status") or ""), created, cc=_addresses(record.get("cc")),
                       bcc=_addresses(record.get("bcc")), reply_to=_addresses(record.get("reply_to")),
                       html=record.get("html"), text=record.get("text"),
                       attachments=_attachments(record, "content_type"),
                       headers=headers, history=_created(created, record.get("status")), record=record)


class SettingsMailerAdapter:
    """One mail to many recipients, as the template rendered it (images inline); a bulk send goes out in
    batches on the virtual clock."""

    collection = "mail-history"

    def message(self, api: str, record: Record, now: float) -> Message:
        created = _epoch(record.get("created_epoch")) or _epoch(record.get("created_at"))
        history = []
        if created is not None:
            history.append(Event(created, "sending" if record.get("bulk_mode") else "pending"))
        batches = _items(record, "batches")
        for number, batch in enumerate(batches, start=1):
            at = _epoch(batch.get("at"))
            if at is not None and at <= now and len(batches) > 1:
                history.append(Event(at, "batch sent", f"batch {number} of {len(batches)}: "
                                                       f"{', '.join(batch.get('recipients') or [])}"))
        completes = _epoch(record.get("completes_at"))
        if completes is not None and completes <= now:
            history.append(Event(completes, str(record.get("status")), str(record.get("error_message") or "")))
        elif completes is None:  # seeded: what it states
            updated = _epoch(record.get("updated_at"))
            if updated is not None:
                history.append(Event(updated, str(record.get("status")), str(record.get("error_message") or "")))
        headers = [("X-Sent-By", f"{record.get('sent_by_name', '')} (user {record.get('sent_by', '')})")]
        if record.get("cta_url"):
            headers.append(("X-Call-To-Action", f"{record.get('cta_text') or ''} <{record['cta_url']}>"))
        return Message(api, self.collection, str(record.get("mail_id", "")), str(record.get("sent_by_name") or ""),
                       _addresses(record.get("recipients")), str(record.get("subject") or ""),
                       str(record.get("status") or ""), created, html=record.get("html"), text=record.get("body"),
                       attachments=_attachments(record, "content_type", inline=True),
                       headers=headers, history=history, record=record)


class SendServiceAdapter:
    """Queued messages with the sending domain, tracking flags and the client's own headers."""

    collection = "messages"

    def message(self, api: str, record: Record, now: float) -> Message:
        created = _epoch(record.get("submitted_at"))
        headers = [("Message-ID", str(record.get("message_id") or ""))]
        headers += [(str(name), str(value)) for name, value in (record.get("headers") or {}).items()]
        headers += [("X-Tag", str(record["tag"]))] if record.get("tag") else []
        headers += [("X-Stream", str(record.get("stream_type") or "")),
                    ("X-Track", f"opens {'on' if record.get('track_opens') else 'off'}, "
                                f"clicks {'on' if record.get('track_clicks') else 'off'}")]
        return Message(api, self.collection, str(record.get("email_id") or record.get("id", "")),
                       str(record.get("from") or ""), _addresses(record.get("to")), str(record.get("subject") or ""),
                       str(record.get("status") or ""), created, cc=_addresses(record.get("cc")),
                       bcc=_addresses(record.get("bcc")), reply_to=_addresses(record.get("reply_to")),
                       html=record.get("html"), text=record.get("text"),
                       attachments=_attachments(record, "contentType"),
                       headers=headers, history=_created(created, record.get("status")), record=record)


ADAPTERS: list[tuple[type, Adapter]] = [
    (MaxCareBehaviour, MaxCareAdapter()),
    (MailDiverBehaviour, MailDiverAdapter()),
    (SettingsMailerBehaviour, SettingsMailerAdapter()),
    (SendServiceBehaviour, SendServiceAdapter()),
]


def adapter_for(pipeline: Pipeline, api_id: str) -> Adapter | None:
    behaviour = pipeline.behaviours.get(api_id)
    return next((adapter for kind, adapter in ADAPTERS if isinstance(behaviour, kind)), None)


def messages(pipeline: Pipeline, api_id: str | None = None) -> list[Message]:
    """Every stored email (of one API, or all), newest first."""
    now = pipeline.state.clock.now()
    found = []
    for api in pipeline.apis:
        adapter = adapter_for(pipeline, api.id)
        if adapter is None or (api_id and api.id != api_id):
            continue
        records, _ = pipeline.state.store.list(api.id, adapter.collection)
        view = pipeline.keepers[api.id].view
        found += [adapter.message(api.id, view(adapter.collection, record), now) for record in records]
    return sorted(found, key=lambda m: m.epoch if m.epoch is not None else 0.0, reverse=True)


def message(pipeline: Pipeline, api_id: str, record_id: str) -> Message | None:
    adapter = adapter_for(pipeline, api_id)
    if adapter is None:
        return None
    record = pipeline.state.store.get(api_id, adapter.collection, record_id)
    if record is None:
        return None
    viewed = pipeline.keepers[api_id].view(adapter.collection, record)
    return adapter.message(api_id, viewed, pipeline.state.clock.now())


def raw_source(message: Message) -> str:
    """The message as RFC 5322 text, as it would go out. Attachment contents are not stored, so their
    parts are empty."""
    email = EmailMessage(policy=policy.SMTP)
    for name, values in (("From", [message.sender]), ("To", message.to), ("Cc", message.cc),
                         ("Reply-To", message.reply_to)):
        if any(values):
            email[name] = _header(", ".join(values))
    email["Subject"] = _header(message.subject)
    if message.epoch is not None:
        email["Date"] = format_datetime(datetime.fromtimestamp(message.epoch, UTC))
    for name, value in message.headers:
        if value and name.lower() not in ("from", "to", "cc", "reply-to", "subject", "date"):
            email[name] = _header(value)
    email.set_content(message.text or "")
    if message.html:
        email.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        main, _, sub = (attachment.content_type or "application/octet-stream").partition("/")
        email.add_attachment(b"", maintype=main or "application", subtype=sub or "octet-stream",
                             filename=attachment.name, disposition="inline" if attachment.inline else "attachment")
    for number, part in enumerate(email.walk()):
        if part.is_multipart():
            part.set_boundary(f"mocksrv-{number}-{message.id}")  # stable text for the same message
    return email.as_string()


def _header(value: str) -> str:
    """Stored values are client input: a line break would start a new header."""
    return " ".join(value.splitlines())


def _created(epoch: float | None, status: Json) -> list[Event]:
    return [Event(epoch, str(status or "created"))] if epoch is not None else []


def _attachments(record: Record, type_field: str, *, inline: bool = False) -> list[Attachment]:
    return [Attachment(str(item.get("filename", "")), item.get("size"), str(item.get(type_field) or ""), inline)
            for item in _items(record, "attachments")]


def _items(record: Record, name: str) -> list[dict[str, Json]]:
    return [item for item in (record.get(name) or []) if isinstance(item, dict)]


def _addresses(value: Json) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _epoch(value: Json) -> float | None:
    """Seconds since the epoch of a stored instant: a number, or ISO 8601 in either form the APIs write."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)).timestamp()


def _clock_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
