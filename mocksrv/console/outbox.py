"""Every email the served APIs were asked to send, newest first: the console's Outbox.

Each API's `engine.outbox.Outbox` (its behaviour's, or the one its spec declares with
``x-mocksrv-outbox``) reads its records — as the behaviour's ``view`` shows them at the
current virtual instant — into `Message`s; this module gathers them and writes one as the
RFC 5322 text it would go out as.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from mocksrv.engine.outbox import Message
from mocksrv.engine.outbox import Outbox
from mocksrv.engine.pipeline import Pipeline


def adapter_for(pipeline: Pipeline, api_id: str) -> Outbox | None:
    """The API's outbox: its behaviour's, or the one its spec declares (None: it sends no email)."""
    return pipeline.catalog.outboxes.get(api_id)


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
