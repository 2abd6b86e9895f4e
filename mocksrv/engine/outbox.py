"""Every email an API was asked to send, in one shape: what the console's Outbox shows.

Each API keeps its messages its own way. An `Outbox` reads one collection's records — as
the API's behaviour shows them at the current virtual instant — into `Message`s. A
behaviour that stores messages owns its outbox (its ``outbox`` attribute); any other spec
declares one with the ``x-mocksrv-outbox`` extension, naming its send operation(s) and
where the message's parts sit in the request body (JSON pointers, ``*`` for every item of
an array):

    x-mocksrv-outbox:
      operation: sendMail             # operationId, or "POST /mail/send"
      from: /from/email
      to: /personalizations/*/to/*/email
      subject: /subject
      html: /content/html

Every 2xx answer to such an operation then stores the message in the API's
``mocksrv-outbox`` collection (`DeclaredOutbox.capture`); docs/fixtures.md has every field.
"""

from __future__ import annotations

import base64
import binascii
import typing as t
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate
from marshmallow import validates_schema

from mocksrv.errors import SpecError
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.state.fixtures import flatten_messages
from mocksrv.state.store import Store

Json = t.Any
Record = dict[str, Json]
EXTENSION = "x-mocksrv-outbox"
CAPTURED = "mocksrv-outbox"  # the collection captured messages go to (a name no spec path gives)
ADDRESS_PARTS = ("to", "cc", "bcc", "reply_to")
TEXT_PARTS = ("from", "subject", "html", "text")
# how an address object, or an attachment object, names its parts
EMAIL_KEYS = ("email", "address", "value", "mail")
NAME_KEYS = ("name", "display_name", "displayName")
FILENAME_KEYS = ("filename", "name", "file_name", "fileName")
TYPE_KEYS = ("content_type", "contentType", "type", "mime_type", "mimeType")
CONTENT_KEYS = ("content", "data", "base64")


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
        return clock_text(self.epoch)


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
        return clock_text(self.epoch) if self.epoch is not None else ""


class Outbox(t.Protocol):
    """Reads one collection's records as messages."""

    collection: str

    def message(self, api: str, record: Record, now: float) -> Message: ...


# -- declared outboxes -------------------------------------------------------------------------------

class _Mapping(Schema):
    """One send operation and where its message's parts are (JSON pointers into the request body)."""

    class Meta:
        unknown = RAISE

    operation = fields.String(required=True)
    sender = fields.String(data_key="from")
    to = fields.String(required=True)
    cc = fields.String()
    bcc = fields.String()
    reply_to = fields.String()
    subject = fields.String(required=True)
    html = fields.String()
    text = fields.String()
    attachments = fields.String()

    @validates_schema
    def _pointers(self, data: dict[str, Json], **_: Json) -> None:
        wrong = {("from" if name == "sender" else name): ["must be a JSON pointer into the request body, e.g. /to"]
                 for name, value in data.items() if name != "operation" and not str(value).startswith("/")}
        if wrong:
            raise ValidationError(wrong)

    @post_load
    def _named_as_parts(self, data: dict[str, Json], **_: Json) -> dict[str, Json]:
        if "sender" in data:
            data["from"] = data.pop("sender")
        return data


class _Extension(Schema):
    class Meta:
        unknown = RAISE

    sends = fields.List(fields.Nested(_Mapping), required=True, validate=validate.Length(min=1))


class DeclaredOutbox:
    """The outbox a spec declares with ``x-mocksrv-outbox``: it captures what its send operations were sent."""

    collection = CAPTURED

    def __init__(self, mappings: dict[str, dict[str, str]]) -> None:
        """:param mappings: operation key -> part name -> JSON pointer."""
        self.mappings = mappings

    @classmethod
    def declared_by(cls, api: ApiSpec) -> DeclaredOutbox | None:
        """:raise SpecError: the extension is malformed or names no operation of the spec."""
        declared = api.document.get(EXTENSION)
        if declared is None:
            return None
        try:
            loaded = _Extension().load({"sends": declared if isinstance(declared, list) else [declared]})
        except ValidationError as error:
            first = flatten_messages(error.messages, EXTENSION)[0]  # one line, as every spec error
            raise SpecError(str(api.source), first.replace(f"{EXTENSION}.sends", EXTENSION)) from None
        mappings: dict[str, dict[str, str]] = {}
        for mapping in loaded["sends"]:
            operation = _operation(api, mapping.pop("operation"))
            mappings[operation.key] = mapping
        return cls(mappings)

    def capture(self, store: Store, api: str, operation: Operation, body: Json, now: float) -> None:
        """Store the message a 2xx answer to ``operation`` accepted (nothing for other operations)."""
        mapping = self.mappings.get(operation.key)
        if mapping is None:
            return
        record: Record = {"operation": operation.key, "status": "accepted", "captured_epoch": now,
                          "captured_at": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")}
        for part in TEXT_PARTS:
            found = [_address(v) if part == "from" else v for v in _pointed(body, mapping.get(part))]
            record[part] = str(found[0]) if found and found[0] is not None else None
        for part in ADDRESS_PARTS:
            record[part] = [_address(value) for value in _pointed(body, mapping.get(part)) if value is not None]
        record["attachments"] = [_attachment(item) for item in _pointed(body, mapping.get("attachments"))
                                 if isinstance(item, dict)]

        def numbered(number: int) -> tuple[str, Record]:
            return f"msg_{number}", {**record, "id": f"msg_{number}"}

        store.create_numbered(api, CAPTURED, numbered, attempts=1)  # msg_N: only the sequence makes these ids

    def message(self, api: str, record: Record, now: float) -> Message:
        created = epoch_of(record.get("captured_epoch"))
        return Message(api, self.collection, str(record.get("id", "")), str(record.get("from") or ""),
                       addresses(record.get("to")), str(record.get("subject") or ""), str(record.get("status") or ""),
                       created, cc=addresses(record.get("cc")), bcc=addresses(record.get("bcc")),
                       reply_to=addresses(record.get("reply_to")), html=record.get("html"), text=record.get("text"),
                       attachments=attachments_of(record, "content_type"),
                       headers=[("X-Operation", str(record.get("operation") or ""))],
                       history=created_history(created, record.get("status")), record=record)


def _operation(api: ApiSpec, name: str) -> Operation:
    """:raise SpecError: no operation has this id or ``METHOD /path``."""
    for operation in api.operations:
        if name in (operation.operation_id, operation.key, f"{operation.method.upper()} {operation.template}"):
            return operation
    raise SpecError(str(api.source), f"{EXTENSION}: operation {name!r} is not in the spec "
                                     "(an operationId, or METHOD /path)")


def _pointed(body: Json, pointer: str | None) -> list[Json]:
    """The values at ``pointer`` in ``body``; ``*`` takes every item of an array (or value of an object)."""
    if pointer is None:
        return []
    found = [body]
    for raw in pointer.split("/")[1:]:
        name = raw.replace("~1", "/").replace("~0", "~")
        step: list[Json] = []
        for value in found:
            if name == "*":
                step += value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
            elif isinstance(value, dict) and name in value:
                step.append(value[name])
            elif isinstance(value, list) and name.isdigit() and int(name) < len(value):
                step.append(value[int(name)])
        found = step
    # a pointer that ends at an array of addresses or attachments means each of them
    return [item for value in found for item in (value if isinstance(value, list) else [value])]


def _address(value: Json) -> str:
    """``a@x``, or an object with an email and a name as ``Name <a@x>``."""
    if not isinstance(value, dict):
        return str(value)
    email = next((str(value[k]) for k in EMAIL_KEYS if value.get(k)), "")
    name = next((str(value[k]) for k in NAME_KEYS if value.get(k)), "")
    return f"{name} <{email}>" if name and email else email or name


def _attachment(item: dict[str, Json]) -> Record:
    content = next((item[k] for k in CONTENT_KEYS if isinstance(item.get(k), str)), None)
    size = item.get("size") if isinstance(item.get("size"), int) else _decoded_size(content)
    return {"filename": next((str(item[k]) for k in FILENAME_KEYS if item.get(k)), ""),
            "content_type": next((str(item[k]) for k in TYPE_KEYS if item.get(k)), ""), "size": size}


def _decoded_size(content: str | None) -> int | None:
    if content is None:
        return None
    try:
        return len(base64.b64decode("".join(content.split()), validate=True))
    except (binascii.Error, ValueError):
        return len(content.encode())  # not base64: the text is the content


# -- helpers every outbox uses -----------------------------------------------------------------------

def created_history(epoch: float | None, status: Json) -> list[Event]:
    return [Event(epoch, str(status or "created"))] if epoch is not None else []


def attachments_of(record: Record, type_field: str, *, inline: bool = False) -> list[Attachment]:
    return [Attachment(str(item.get("filename", "")), item.get("size"), str(item.get(type_field) or ""), inline)
            for item in items_of(record, "attachments")]


def items_of(record: Record, name: str) -> list[dict[str, Json]]:
    return [item for item in (record.get(name) or []) if isinstance(item, dict)]


def addresses(value: Json) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def epoch_of(value: Json) -> float | None:
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


def clock_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
