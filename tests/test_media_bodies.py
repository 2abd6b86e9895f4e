"""Responses that are not JSON: a file a client's decoder opens, text as text, XML from the schema.

The server runs in strict mode: a body its own check refused would be a 500.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import typing as t
import zipfile
import zlib
from xml.etree import ElementTree

import pytest

from conftest import DATA
from mocksrv import Options
from mocksrv import create_app

SPEC = DATA / "features" / "media.yaml"


@pytest.fixture(scope="module")
def client() -> t.Any:
    return create_app(Options(specs=[SPEC], fixtures=None, strict=True)).test_client()


def fetch(client: t.Any, path: str, accept: str | None = None) -> tuple[str, bytes]:
    response = client.get(f"/media{path}", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["Content-Type"], response.data


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG, each checked against its CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (size,), kind = struct.unpack(">I", data[at:at + 4]), data[at + 4:at + 8]
        body, (crc,) = data[at + 8:at + 8 + size], struct.unpack(">I", data[at + 8 + size:at + 12 + size])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        at += 12 + size
    return chunks


def test_a_png_is_a_png(client: t.Any) -> None:
    media_type, data = fetch(client, "/logo.png")
    assert media_type == "image/png"
    chunks = png_chunks(data)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">II", chunks[0][1][:8]) == (1, 1)
    assert len(zlib.decompress(chunks[1][1])) == 1 + 4  # one row: filter byte and one RGBA pixel


def test_a_gif_and_a_pdf_are_files_of_their_kind(client: t.Any) -> None:
    media_type, gif = fetch(client, "/logo.gif")
    assert media_type == "image/gif" and gif[:6] == b"GIF89a" and struct.unpack("<HH", gif[6:10]) == (1, 1) and gif.endswith(b";")
    media_type, pdf = fetch(client, "/invoice.pdf")
    assert media_type == "application/pdf" and pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    start = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[start:start + 4] == b"xref"  # the cross-reference table is where the trailer says


def test_archives_open(client: t.Any) -> None:
    media_type, data = fetch(client, "/archive", "application/zip")
    assert media_type == "application/zip" and zipfile.ZipFile(io.BytesIO(data)).namelist() == []
    media_type, data = fetch(client, "/archive", "application/gzip")
    assert media_type == "application/gzip" and gzip.decompress(data) == b""


def test_other_bytes_are_seeded(client: t.Any) -> None:
    media_type, first = fetch(client, "/blob")
    assert media_type == "application/octet-stream" and 16 <= len(first) <= 64
    assert fetch(client, "/blob")[1] == first
    assert not first.isascii()  # bytes, not generated (base64) text


def test_an_image_whose_schema_is_a_plain_string_is_an_image(client: t.Any) -> None:
    """Many specs write binary content as `type: string`; it is checked as text, byte for byte
    (openapi-core refused any body for it: a 500 in strict mode)."""
    media_type, data = fetch(client, "/qr.png")
    assert media_type == "image/png" and [kind for kind, _ in png_chunks(data)] == [b"IHDR", b"IDAT", b"IEND"]


def test_csv_is_text(client: t.Any) -> None:
    media_type, data = fetch(client, "/export.csv")
    assert media_type.startswith("text/csv") and data.decode()


def test_xml_follows_the_schemas_xml_object(client: t.Any) -> None:
    media_type, data = fetch(client, "/pets.xml")
    assert media_type == "application/xml"
    root = ElementTree.fromstring(data)
    assert root.tag == "pets"
    assert root.get("id") is not None and int(root.get("id") or "")  # an attribute, not an element
    assert [child.tag for child in root] == ["tag", "tag", "names"]
    assert [child.tag for child in root.find("names") or []] == ["name"]


def test_an_xml_example_is_served_as_written(client: t.Any) -> None:
    assert fetch(client, "/note.xml") == ("text/xml", b"<note><body>hello</body></note>")


STREAMS = """
openapi: 3.0.3
info: {title: Streams, version: "1"}
paths:
  /events:
    get:
      responses:
        "200":
          description: a stream of events, one JSON value per record
          content:
            application/x-ndjson:
              schema: {type: object, required: [type, id], properties: {type: {type: string, enum: [created]},
                                                                           id: {type: integer}}}
  /seq:
    get:
      responses:
        "200":
          description: RFC 7464
          content:
            application/json-seq:
              schema: {type: object, required: [n], properties: {n: {type: integer}}}
"""


def test_json_lines_and_json_seq_are_one_record_each(tmp_path: t.Any) -> None:
    import json

    spec = tmp_path / "streams.yaml"
    spec.write_text(STREAMS)
    streams = create_app(Options(specs=[spec], fixtures=None, strict=True)).test_client()  # strict: it must validate
    lines = streams.get("/streams/events")
    assert lines.status_code == 200 and lines.headers["Content-Type"] == "application/x-ndjson"
    assert lines.data.endswith(b"\n") and lines.data.count(b"\n") == 1
    assert json.loads(lines.data)["type"] == "created"
    seq = streams.get("/streams/seq")
    assert seq.status_code == 200 and seq.data.startswith(b"\x1e") and seq.data.endswith(b"\n")
    assert isinstance(json.loads(seq.data[1:])["n"], int)


REQUEST_MEDIA = """
openapi: 3.0.3
info: {title: Uploads, version: "1"}
paths:
  /plain:
    post:
      parameters:
        # OpenAPI: a header parameter named Content-Type (or Accept, Authorization) SHALL be ignored
        - {name: Content-Type, in: header, required: true, schema: {type: string, enum: [application/x-tar]}}
        - {name: Accept, in: header, required: true, schema: {type: string, enum: [text/csv]}}
      requestBody: {required: true, content: {application/octet-stream: {schema: {type: string}}}}
      responses: {"204": {description: stored}}
  /small:
    post:
      requestBody: {required: true, content: {image/png: {schema: {type: string, maxLength: 3}}}}
      responses: {"204": {description: stored}, "400": {description: bad}}
  /things:
    post:
      requestBody:
        required: true
        content:
          application/octet-stream: {schema: {type: object, required: [a], properties: {a: {type: integer}}}}
          text/plain: {schema: {allOf: [{type: object}]}}
      responses:
        "201": {description: made, content: {application/json: {schema: {type: object}}}}
        "400":
          description: bad
          content:
            text/plain: {schema: {type: object, required: [message], properties: {message: {type: string}}}}
  /authorize:
    get:
      parameters: [{name: response_type, in: query, required: true, schema: {type: string, enum: [code]}}]
      responses:
        "200": {description: a page, content: {text/html: {schema: {type: string, format: html}}}}
        default: {description: a page, content: {text/html: {schema: {type: string, maxLength: 60}}}}
"""


def test_an_error_page_of_text_says_the_reason_in_the_type_declared(tmp_path: t.Any) -> None:
    """Box's OAuth pages declare only text/html, errors included: the reason as text, not our JSON."""
    spec = tmp_path / "uploads.yaml"
    spec.write_text(REQUEST_MEDIA)
    client = create_app(Options(specs=[spec], fixtures=None, strict=True)).test_client()
    response = client.get("/uploads/authorize?response_type=token")
    assert response.status_code == 400 and response.headers["Content-Type"] == "text/html"
    assert response.get_data(as_text=True) == 'response_type must be one of: "code"'


@pytest.mark.parametrize("path, content_type, body, status, answer", [
    # bytes are a string to a plain `type: string` (they were "must be of type string, got object")
    ("/plain", "application/octet-stream", b"\xaf\xffOS\xf3", 204, None),
    ("/small", "image/png", b"\x89PNG", 400, None),  # …judged as one: four bytes, four characters
    # an object or array in a type that is not JSON can only be written as its JSON text
    ("/things", "application/octet-stream", b'{"a": 1}', 201, None),
    ("/things", "application/octet-stream", b'{"a": "x"}', 400, {"message": "a must be of type integer, got string"}),
    ("/things", "text/plain", b"[1]", 400, {"message": "request body must be of type object, got array"}),
    ("/things", "text/plain", b"nope", 400,
     {"message": "request body is not valid JSON: Expecting value: line 1 column 1 (char 0)"}),
])
def test_request_bodies_of_types_that_are_not_json(tmp_path: t.Any, path: str, content_type: str, body: bytes,
                                                  status: int, answer: dict[str, str] | None) -> None:
    spec = tmp_path / "uploads.yaml"
    spec.write_text(REQUEST_MEDIA)
    client = create_app(Options(specs=[spec], fixtures=None, strict=True)).test_client()
    response = client.post(f"/uploads{path}", data=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.get_data(as_text=True)
    if answer is not None:
        # the API's own error, in the one type it declares (JSON text under text/plain): valid, or a 500 here
        assert response.headers["Content-Type"] == "text/plain" and json.loads(response.data) == answer
