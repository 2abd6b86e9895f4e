"""A fast path for plain multipart/form-data bodies; anything else is left to Werkzeug.

Werkzeug's multipart parser is a streaming state machine built for bodies that do not fit
in memory: for a small form it cost a third of the settings mailer's send. The body is
already in memory here, so a form shaped the way curl, browsers and HTTP libraries send it
can be split directly. "Plain" means: CRLF line breaks, nothing before the first boundary
and at most a CRLF after the last, no boundary text inside a part, each part with a
``Content-Disposition: form-data; name="…"`` (plus ``filename="…"`` for files) written
without backslash escapes, at most a ``Content-Type`` besides it (files only), and fields of
a size Werkzeug accepts. Whatever is not plain returns ``None``, and the caller asks
Werkzeug, which decides and words any error. tests/test_multipart.py checks that every
body this accepts gives exactly what Werkzeug gives.
"""

from __future__ import annotations

import io
import re

from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import Headers
from werkzeug.datastructures import MultiDict

__all__ = ["parse_plain_form"]

# Werkzeug's own limits (Request.max_form_parts, Request.max_form_memory_size), with room to
# spare: a body near them goes to Werkzeug, which raises its 413
MAX_PARTS = 1000
MAX_FIELD_BYTES = 400_000
DISPOSITION = re.compile(r'form-data; name="([^"\\\r\n]*)"(?:; filename="([^"\\\r\n]*)")?')


def parse_plain_form(body: bytes, boundary: str) -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]] | None:
    """The fields and files of a plain multipart body, as Werkzeug would give them; else ``None``."""
    try:
        dash = b"--" + boundary.encode("ascii")
    except UnicodeEncodeError:
        return None
    if body in (dash + b"--", dash + b"--\r\n"):
        return MultiDict(), MultiDict()  # a form without fields
    closing = b"\r\n" + dash + b"--"
    end = body.rfind(closing)
    if not body.startswith(dash + b"\r\n") or end < 0 or body[end + len(closing):] not in (b"", b"\r\n"):
        return None
    chunks = body[len(dash) + 2:end].split(b"\r\n" + dash + b"\r\n")
    if len(chunks) > MAX_PARTS:
        return None
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, FileStorage]] = []
    for chunk in chunks:
        if dash in chunk:  # a boundary with padding, or one Werkzeug would see after a bare CR or LF
            return None
        part = _part(chunk)
        if part is None:
            return None
        name, filename, headers, data = part
        if filename is None:
            if "content-type" in headers or len(data) > MAX_FIELD_BYTES:
                return None  # a charset to honour, or Werkzeug's size limit to apply
            fields.append((name, data.decode("utf-8", "replace")))
        else:
            files.append((name, FileStorage(io.BytesIO(data), filename, name, headers=headers)))
    return MultiDict(fields), MultiDict(files)


def _part(chunk: bytes) -> tuple[str, str | None, Headers, bytes] | None:
    """Name, filename (files only), headers and data of one plain part; else ``None``."""
    head, separator, data = chunk.partition(b"\r\n\r\n")
    if not separator:
        return None
    pairs: list[tuple[str, str]] = []
    for line in head.split(b"\r\n"):
        if b"\r" in line or b"\n" in line or line[:1] in (b" ", b"\t"):
            return None  # a bare line break, or a folded header line
        try:
            text = line.decode()
        except UnicodeDecodeError:
            return None
        key, colon, value = text.partition(":")
        if not colon or key.strip(" \t").lower() not in ("content-disposition", "content-type"):
            return None
        pairs.append((key.strip(" \t"), value.strip(" \t")))
    headers = Headers(pairs)
    if len(pairs) != len({key.lower() for key, _ in pairs}):
        return None
    matched = DISPOSITION.fullmatch(headers.get("content-disposition", ""))
    if matched is None:
        return None
    name, filename = matched.groups()
    return name, filename, headers, data
