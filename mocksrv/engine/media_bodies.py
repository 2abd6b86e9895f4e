"""Bodies of media types other than JSON: what a client's decoder can read.

A generated value for ``image/png`` is a string of random letters, which no image library
opens. So a binary response (a binary media type whose schema is absent or a ``binary``
string) gets a smallest valid file of its kind: a 1×1 PNG or GIF, a one-page PDF, an
empty ZIP or gzip stream, and otherwise bytes drawn from the seed. XML media types get the
generated value written as XML, following the schema's ``xml`` object (name, attribute,
wrapped); text types get the text.
"""

from __future__ import annotations

import base64
import gzip
import io
import random
import struct
import typing as t
import zipfile
import zlib
from xml.etree import ElementTree

from mocksrv.wire.media import carries_text
from mocksrv.wire.media import media_type_of

Json = t.Any
Deref = t.Callable[[Json], Json]

_GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")  # 1×1, transparent


def _png() -> bytes:
    """A 1×1 transparent RGBA PNG, built chunk by chunk (each with its CRC)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # width, height, 8 bits, RGBA, no interlace
    pixels = zlib.compress(b"\x00" + b"\x00\x00\x00\x00")  # filter byte, one transparent pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _pdf() -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    table = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table))
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w"):
        pass
    return out.getvalue()


FILES: dict[str, t.Callable[[], bytes]] = {
    "image/png": _png,
    "image/gif": lambda: _GIF,
    "application/pdf": _pdf,
    "application/zip": _zip,
    "application/gzip": lambda: gzip.compress(b"", mtime=0),
    "application/x-gzip": lambda: gzip.compress(b"", mtime=0),
}


def is_binary(media_type: str, schema: Json) -> bool:
    """A body of bytes: not text, JSON, XML or a form, and a schema that is absent or a string with
    nothing that constrains its characters (``format: binary``, or a plain ``type: string``)."""
    if carries_text(media_type):
        return False
    if not isinstance(schema, dict) or not schema:
        return True
    return schema.get("type") in (None, "string") and schema.get("format") in ("binary", None) \
        and not any(key in schema for key in ("contentEncoding", "pattern", "enum", "const", "maxLength"))


def binary_body(media_type: str, rng: random.Random) -> bytes:
    """A smallest valid file of the media type, else 16 to 64 bytes from ``rng``."""
    make = FILES.get(media_type_of(media_type))
    return make() if make is not None else rng.randbytes(rng.randint(16, 64))


def xml_body(value: Json, schema: Json, deref: Deref) -> bytes:
    """``value`` as XML: the root element named by the schema's ``xml.name`` (else ``root``)."""
    schema = deref(schema) if schema is not None else {}
    element = _element(_xml_name(schema, "root"), value, schema, deref)
    return bytes(ElementTree.tostring(element, encoding="utf-8", xml_declaration=True))


def _element(name: str, value: Json, schema: Json, deref: Deref) -> ElementTree.Element:
    element = ElementTree.Element(name)
    if isinstance(value, dict):
        properties = (schema or {}).get("properties") or {} if isinstance(schema, dict) else {}
        for key, item in value.items():
            item_schema = deref(properties.get(key) or {})
            if (item_schema.get("xml") or {}).get("attribute") and not isinstance(item, dict | list):
                element.set(_xml_name(item_schema, key), _text(item))
            else:
                _append(element, _xml_name(item_schema, key), item, item_schema, deref)
    elif isinstance(value, list):
        items = deref((schema or {}).get("items") or {}) if isinstance(schema, dict) else {}
        for item in value:
            element.append(_element(_xml_name(items, "item"), item, items, deref))
    elif value is not None:
        element.text = _text(value)
    return element


def _append(parent: ElementTree.Element, name: str, value: Json, schema: Json, deref: Deref) -> None:
    """A property: a list is repeated elements, or one wrapping element when ``xml.wrapped``."""
    if isinstance(value, list) and not (schema.get("xml") or {}).get("wrapped"):
        items = deref(schema.get("items") or {})
        for item in value:
            parent.append(_element(_xml_name(items, name), item, items, deref))
    else:
        parent.append(_element(name, value, schema, deref))


def _xml_name(schema: Json, default: str) -> str:
    name = (schema.get("xml") or {}).get("name") if isinstance(schema, dict) else None
    return str(name) if name else default


def _text(value: Json) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
