"""MailDiver (``maildiver``): the documented checks of ``POST /emails``, templates and variables.

``sendEmail`` queues one email and answers 201 ``{"id": <UUIDv7>}``. The engine has
already checked the key and the body's schema (`MailDiverBehaviour.reword` gives its
findings the API's own texts); this module applies every other documented rule, in this
order, each a 400 ``{"message": ...}`` with the documented text:

- ``from``, ``to``, ``subject`` present and not empty ("from field is required" …);
- ``from`` is ``"Name" <a@b.c>``, ``Name <a@b.c>`` or ``a@b.c``, else "Invalid email
  format in from field";
- ``to`` / ``cc`` / ``bcc`` / ``reply_to`` (a string is one address, an array many) hold at
  most 50 addresses each: "Too many recipients: 51. Maximum allowed is 50";
- ``template_id`` and ``html`` together: "template_id cannot be used together with html";
  neither: "html or template_id is required" (an empty string counts as absent);
- ``html`` at most 40 MB, ``text`` at most 10 MB, UTF-8 encoded (MB is 1024 × 1024 bytes,
  the size in the message rounded up): "html content size (42MB) exceeds maximum of 40MB";
- at most 100 ``variables``: "Too many variables: 101. Maximum allowed is 100";
- at most 10 ``attachments`` ("Too many attachments: 11. Max is 10"), each with a
  ``filename`` and exactly one of ``path`` (an http or https URL; it is not fetched, so its
  size is unknown and null) and ``content`` (base64; line breaks allowed). Together the
  decoded contents may be at most 40 MB. ``content_type`` defaults to
  ``application/octet-stream``.

Then ``template_id`` must name a record of ``templates`` (``{id, html, text?, variables?,
owner?}``, ``variables`` being the template's defaults; a template with an ``owner``
belongs to that key owner only), else 404 "Template 'x' not found"; a template without
HTML is 400 "Template 'x' has no HTML content".

Variables fill ``{{name}}`` (spaces inside the braces allowed) in the template's html and
text, or in the request's own ``html`` and ``text``; a request ``text`` replaces the
template's. A variable's value is, in this order: the string or number given; for the
object form ``{value, default}``, a non-null ``value``, else its ``default``; else the
template's default (also when the variable is missing or explicitly null); else the empty
string. Values are inserted as given, not HTML-escaped; the subject is not rendered.

The rendered message is stored in ``emails`` under its id: ``from``, ``to`` / ``cc`` /
``bcc`` / ``reply_to`` as lists, ``subject``, ``html``, ``text`` (null without one),
``template_id``, ``variables`` (every name used or given, with the string it rendered to),
``attachments`` (``filename``, ``content_type``, ``size``, ``source`` ``path`` | ``content``
and the ``path``), ``created_at`` (ISO 8601 on the virtual clock), ``status: queued`` and
``owner`` (the key's owner, null in open mode).

Ids are UUIDv7 (RFC 9562): the virtual clock's milliseconds, then the store's sequence as
the 12-bit counter (so ids made in the same millisecond still sort in sending order), then
62 bits from the seeded generator, so the same seed and the same calls give the same ids.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import typing as t
import uuid
from urllib.parse import urlsplit

from mocksrv.engine.behaviour import Behaviour
from mocksrv.engine.behaviour import Context
from mocksrv.engine.behaviour import Reply
from mocksrv.engine.outbox import Message
from mocksrv.engine.outbox import Record
from mocksrv.engine.outbox import addresses
from mocksrv.engine.outbox import attachments_of
from mocksrv.engine.outbox import created_history
from mocksrv.engine.outbox import epoch_of
from mocksrv.errors import ApiError
from mocksrv.errors import InvalidRequest
from mocksrv.errors import NotFound
from mocksrv.errors import Violation
from mocksrv.openapi.specs import Operation

Json = t.Any
MB = 1024 * 1024
EMAILS = "emails"
TEMPLATES = "templates"
RECIPIENT_FIELDS = ("to", "cc", "bcc", "reply_to")
MAX_RECIPIENTS = 50
MAX_VARIABLES = 100
MAX_ATTACHMENTS = 10
MAX_HTML_MB = 40
MAX_TEXT_MB = 10
MAX_ATTACHMENTS_MB = 40
DEFAULT_CONTENT_TYPE = "application/octet-stream"
ADDRESS = r"[^\s@<>\",;]+@[^\s@<>\",;.]+(?:\.[^\s@<>\",;.]+)+"
# the three documented forms: "Name" <a@b.c>, Name <a@b.c>, a@b.c
FROM_FORMAT = re.compile(rf'(?:"[^"]*"\s*<{ADDRESS}>|[^<>"]*[^<>"\s]\s*<{ADDRESS}>|{ADDRESS})')
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
ATTACHMENT_FIELD = re.compile(r"^attachments\[\d+\]\.filename$")
ATTACHMENT_PATH = re.compile(r"attachments\[\d+\]\.path")
WHITESPACE = re.compile(r"\s+")
# a fresh id colliding with a stored one (seeded records) is astronomically rare; bound the retries anyway
ID_ATTEMPTS = 8


class MailDiverOutbox:
    """Rendered messages (templates and variables applied), queued."""

    collection = "emails"

    def message(self, api: str, record: Record, now: float) -> Message:
        created = epoch_of(record.get("created_at"))
        headers = [(name, str(record[key])) for name, key in (("X-Template-Id", "template_id"),)
                   if record.get(key)]
        return Message(api, self.collection, str(record.get("id", "")), str(record.get("from") or ""),
                       addresses(record.get("to")), str(record.get("subject") or ""),
                       str(record.get("status") or ""), created, cc=addresses(record.get("cc")),
                       bcc=addresses(record.get("bcc")), reply_to=addresses(record.get("reply_to")),
                       html=record.get("html"), text=record.get("text"),
                       attachments=attachments_of(record, "content_type"),
                       headers=headers, history=created_history(created, record.get("status")), record=record)


class MailDiverBehaviour(Behaviour):
    outbox = MailDiverOutbox()
    def reword(self, operation: Operation, violation: Violation) -> str | None:
        """The documented texts for what the schema also enforces (maxItems, required filename …)."""
        if operation.operation_id != "sendEmail" or violation.location != "body":
            return None
        value = violation.value
        if violation.field in RECIPIENT_FIELDS and isinstance(value, list) and len(value) > MAX_RECIPIENTS:
            # the schema's oneOf (string | array of at most 50) fails as a whole
            return _too_many_recipients(len(value))
        if violation.field == "attachments" and violation.rule == "maxItems" and isinstance(value, list):
            return _too_many_attachments(len(value))
        if violation.field == "variables" and violation.rule == "maxProperties" and isinstance(value, dict):
            return _too_many_variables(len(value))
        if violation.rule == "required" and ATTACHMENT_FIELD.match(violation.field):
            return f"{violation.field} is required"
        if violation.rule == "format" and ATTACHMENT_PATH.fullmatch(violation.field):
            return f"{violation.field} must be a valid URL"  # the schema's `format: uri` says it first
        return None

    def on_sendEmail(self, ctx: Context) -> Reply:
        """Validate, render and queue one email.

        :raise 400: a documented rule is broken (see the module docstring).
        :raise 404: ``template_id`` names no template of this account.
        """
        body: dict[str, Json] = dict(ctx.body or {})
        for name in ("from", "to", "subject"):
            if _absent(body.get(name)):
                raise InvalidRequest(f"{name} field is required")
        if not FROM_FORMAT.fullmatch(str(body["from"]).strip()):
            raise InvalidRequest("Invalid email format in from field")
        recipients = {name: _addresses(body.get(name)) for name in RECIPIENT_FIELDS}
        for listed in recipients.values():
            if len(listed) > MAX_RECIPIENTS:
                raise InvalidRequest(_too_many_recipients(len(listed)))
        html = None if _absent(body.get("html")) else str(body["html"])
        text = None if _absent(body.get("text")) else str(body["text"])
        template_id = None if _absent(body.get("template_id")) else str(body["template_id"])
        if template_id is not None and html is not None:
            raise InvalidRequest("template_id cannot be used together with html")
        if template_id is None and html is None:
            raise InvalidRequest("html or template_id is required")
        _check_size("html", html, MAX_HTML_MB)
        _check_size("text", text, MAX_TEXT_MB)
        given: dict[str, Json] = dict(body.get("variables") or {})
        if len(given) > MAX_VARIABLES:
            raise InvalidRequest(_too_many_variables(len(given)))
        attachments = _attachments(body.get("attachments") or [])

        owner = ctx.principal.owner if ctx.principal else None
        defaults: dict[str, Json] = {}
        if template_id is not None:
            template = _template(ctx, template_id, owner)
            html = str(template["html"])
            defaults = dict(template.get("variables") or {})
            if text is None and not _absent(template.get("text")):
                text = str(template["text"])
        assert html is not None  # one of html / template_id, checked above
        names = list(dict.fromkeys([*PLACEHOLDER.findall(html), *PLACEHOLDER.findall(text or ""),
                                    *defaults, *given]))
        values = {name: _resolve(given.get(name), defaults.get(name)) for name in names}
        record = {
            "from": body["from"],
            **recipients,
            "subject": body["subject"],
            "html": _render(html, values),
            "text": _render(text, values) if text is not None else None,
            "template_id": template_id,
            "variables": values,
            "attachments": attachments,
            "created_at": ctx.clock.now_datetime().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "status": "queued",
            "owner": owner,
        }
        return Reply(201, {"id": _store_email(ctx, record)})


def _absent(value: Json) -> bool:
    """Missing, null or empty: how the API's checks read an unset field."""
    return value is None or value == "" or value == []


def _addresses(value: Json) -> list[str]:
    """A recipient field as a list: a string is one address."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _too_many_recipients(count: int) -> str:
    return f"Too many recipients: {count}. Maximum allowed is {MAX_RECIPIENTS}"


def _too_many_attachments(count: int) -> str:
    return f"Too many attachments: {count}. Max is {MAX_ATTACHMENTS}"


def _too_many_variables(count: int) -> str:
    return f"Too many variables: {count}. Maximum allowed is {MAX_VARIABLES}"


def _check_size(name: str, content: str | None, limit_mb: int) -> None:
    """:raise 400: ``content`` is over ``limit_mb`` MB in UTF-8."""
    if content is None or len(content) <= limit_mb * MB // 4:
        return  # at most 4 bytes per character: too short to be over the limit, no need to encode
    size = len(content.encode("utf-8", "surrogatepass"))
    if size > limit_mb * MB:
        raise InvalidRequest(f"{name} content size ({math.ceil(size / MB)}MB) exceeds maximum of {limit_mb}MB")


def _attachments(items: list[Json]) -> list[dict[str, Json]]:
    """Attachment metadata, every documented rule checked.

    :raise 400: too many; a filename missing; neither or both of path and content; a path
        that is not an http(s) URL; content that is not base64; decoded contents over 40 MB.
    """
    if len(items) > MAX_ATTACHMENTS:
        raise InvalidRequest(_too_many_attachments(len(items)))
    described: list[dict[str, Json]] = []
    total = 0
    for index, item in enumerate(items):
        where = f"attachments[{index}]"
        item = item if isinstance(item, dict) else {}
        if _absent(item.get("filename")):
            raise InvalidRequest(f"{where}.filename is required")
        path, content = item.get("path"), item.get("content")
        if _absent(path) and _absent(content):
            raise InvalidRequest(f"{where} must have either path or content")
        if not _absent(path) and not _absent(content):
            raise InvalidRequest(f"{where} must have either path or content, not both")
        entry: dict[str, Json] = {
            "filename": item["filename"],
            "content_type": item.get("content_type") or DEFAULT_CONTENT_TYPE,
        }
        if not _absent(path):
            if not _is_url(str(path)):
                raise InvalidRequest(f"{where}.path must be a valid URL")
            entry.update(size=None, source="path", path=path)
        else:
            try:
                size = len(base64.b64decode(WHITESPACE.sub("", str(content)), validate=True))
            except (binascii.Error, ValueError) as exc:
                raise InvalidRequest(f"{where}.content must be a valid base64 encoded string") from exc
            total += size
            entry.update(size=size, source="content", path=None)
        described.append(entry)
    if total > MAX_ATTACHMENTS_MB * MB:
        raise InvalidRequest(f"Total attachments size exceeds maximum of {MAX_ATTACHMENTS_MB}MB")
    return described


def _is_url(text: str) -> bool:
    """An absolute http(s) URL with a host: the only kind a server can fetch an attachment from."""
    if WHITESPACE.search(text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _template(ctx: Context, template_id: str, owner: str | None) -> dict[str, Json]:
    """The template the caller may use.

    :raise 404: no such template, or another key owner's.
    :raise 400: the template has no HTML.
    """
    template = ctx.store.get(ctx.api.id, TEMPLATES, template_id)
    if template is None or (owner is not None and template.get("owner") not in (None, owner)):
        raise NotFound(f"Template '{template_id}' not found", kind="template_not_found")
    if _absent(template.get("html")) or not isinstance(template["html"], str):
        raise InvalidRequest(f"Template '{template_id}' has no HTML content")
    return template


def _resolve(given: Json, default: Json) -> str:
    """The text a variable renders to, by the rules in the module docstring."""
    if isinstance(given, dict):
        given = given.get("value") if given.get("value") is not None else given.get("default")
    if given is None:
        given = default
    return "" if given is None else _text(given)


def _text(value: Json) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 3.0 renders as 3, as JSON clients wrote it
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _render(content: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda found: values.get(found.group(1), ""), content)


def _uuid7(millis: int, counter: int, random_bits: int) -> str:
    """RFC 9562 UUIDv7: 48-bit Unix milliseconds, version 7, 12-bit counter, variant 10, 62 random bits."""
    value = (millis & (1 << 48) - 1) << 80
    value |= 0x7 << 76
    value |= (counter & 0xFFF) << 64
    value |= 0b10 << 62
    value |= random_bits & (1 << 62) - 1
    return str(uuid.UUID(int=value))


def _store_email(ctx: Context, record: dict[str, Json]) -> str:
    """Store the email under a new UUIDv7 and return the id."""
    millis = int(ctx.clock.now() * 1000)

    def numbered(sequence: int) -> tuple[str, dict[str, Json]]:
        email_id = _uuid7(millis, sequence, ctx.synth.rng("email_id", sequence).getrandbits(62))
        return email_id, {"id": email_id, **record}

    created = ctx.store.create_numbered(ctx.api.id, EMAILS, numbered, attempts=ID_ATTEMPTS)
    if created is None:
        raise ApiError("Could not assign an email id", status=500)
    return str(created[0])


behaviour = MailDiverBehaviour()
