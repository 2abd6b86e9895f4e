"""The plain-form fast path gives exactly what Werkzeug gives, or steps aside.

Property: for any body (well-formed as clients write them, or damaged), either
`parse_plain_form` returns ``None`` (Werkzeug decides) or Werkzeug parses the body without
an error into the same fields and files: names, values, filenames, headers and bytes.
"""

from __future__ import annotations

import io
import typing as t

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from mocksrv.wire.multipart import parse_plain_form

Part = tuple[str, str | None, str | None, bytes]  # name, filename (files only), content type, data

BOUNDARIES = st.from_regex(r"[0-9A-Za-z'()+_,./:=?-]{1,70}", fullmatch=True)
NAMES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
PLAIN_NAMES = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters="_-.[] ;=%"), max_size=12)
CONTENT_TYPES = st.sampled_from([None, "image/png", "text/plain", "application/octet-stream",
                                 "text/plain; charset=iso-8859-1", "application/json"])
DATA = st.one_of(st.binary(max_size=200), st.text(max_size=60).map(str.encode))


def _parts(names: st.SearchStrategy[str]) -> st.SearchStrategy[list[Part]]:
    part = st.tuples(names, st.one_of(st.none(), names), CONTENT_TYPES, DATA)
    return st.lists(part, max_size=6)


def encode(boundary: str, parts: list[Part], *, epilogue: bytes = b"\r\n") -> bytes:
    """A multipart body as curl writes it (names and filenames as given, not escaped)."""
    out = []
    for name, filename, content_type, data in parts:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if filename is not None:
            head += f'; filename="{filename}"'
        head += "\r\n"
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\n"
        out.append(head.encode() + b"\r\n" + data + b"\r\n")
    return b"".join(out) + f"--{boundary}--".encode() + epilogue


def werkzeug_request(body: bytes, boundary: str) -> Request:
    """The request as a client sends it: a boundary with characters a token cannot hold is quoted."""
    token = boundary.replace("-", "").replace(".", "").replace("_", "").replace("+", "").isalnum()
    parameter = boundary if token else f'"{boundary}"'
    return Request.from_values(input_stream=io.BytesIO(body), content_length=len(body), method="POST",
                               content_type=f"multipart/form-data; boundary={parameter}")


def _files(files: MultiDict[str, FileStorage]) -> list[tuple[str, t.Any, t.Any, list[tuple[str, str]], bytes]]:
    return [(key, f.name, f.filename, list(f.headers.items()), f.stream.read())
            for key, f in files.items(multi=True)]


def assert_same_or_declined(body: bytes, boundary: str) -> bool:
    """``True`` if the fast path took the body (and agreed with Werkzeug).

    The boundary is read from the Content-Type header as the server reads it (Werkzeug's own
    parameter parsing), so both parsers see the same boundary.
    """
    request = werkzeug_request(body, boundary)
    try:
        fast = parse_plain_form(body, request.mimetype_params.get("boundary", ""))
        if fast is None:
            return False
        # Werkzeug answers a body it cannot parse with an empty form: the fast path must then have declined
        assert list(fast[0].items(multi=True)) == list(request.form.items(multi=True))
        assert _files(fast[1]) == _files(request.files)
        return True
    finally:
        request.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BOUNDARIES, _parts(NAMES), st.sampled_from([b"", b"\r\n", b"\r\n\r\n", b"junk"]))
def test_any_form_is_parsed_as_werkzeug_parses_it_or_left_to_it(boundary: str, parts: list[Part],
                                                                  epilogue: bytes) -> None:
    assert_same_or_declined(encode(boundary, parts, epilogue=epilogue), boundary)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BOUNDARIES, _parts(PLAIN_NAMES), st.data())
def test_a_damaged_form_is_parsed_as_werkzeug_parses_it_or_left_to_it(boundary: str, parts: list[Part],
                                                                        data: st.DataObject) -> None:
    body = encode(boundary, parts)
    at = data.draw(st.integers(0, len(body)))
    damage = data.draw(st.sampled_from(["cut", "insert", "lf", "cr", "space"]))
    if damage == "cut":
        body = body[:at] + body[at + data.draw(st.integers(1, 12)):]
    elif damage == "insert":
        body = body[:at] + data.draw(st.sampled_from([b"\r\n", b"\n", b"\r", b"--", b"--" + boundary.encode(),
                                                      b"\r\n\r\n", b'"', b"\\"])) + body[at:]
    elif damage == "lf":
        body = body.replace(b"\r\n", b"\n", 1 + at % 3)
    elif damage == "cr":
        body = body.replace(b"\r\n", b"\r", 1 + at % 3)
    else:
        body = body.replace(f"--{boundary}\r\n".encode(), f"--{boundary}  \r\n".encode(), 1)
    assert_same_or_declined(body, boundary)


@settings(max_examples=200, deadline=None)
@given(BOUNDARIES, _parts(PLAIN_NAMES))
def test_forms_as_clients_send_them_take_the_fast_path(boundary: str, parts: list[Part]) -> None:
    fields_plain = all(filename is not None or content_type is None for _, filename, content_type, _ in parts)
    no_boundary_inside = all(f"--{boundary}".encode() not in data for *_, data in parts)
    taken = assert_same_or_declined(encode(boundary, parts), boundary)
    assert taken == (fields_plain and no_boundary_inside)


def test_the_settings_mailer_send_as_curl_writes_it() -> None:
    boundary = "------------------------d74496d66958873e"
    body = encode(boundary, [("to", None, None, b'["user@example.com"]'), ("subject", None, None, "Ünïcode ✓".encode()),
                             ("attachments", "logo.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00"),
                             ("attachments", "notes.txt", "text/plain", b"")])
    parsed = parse_plain_form(body, boundary)
    assert parsed is not None
    form, files = parsed
    assert form.to_dict(flat=False) == {"to": ['["user@example.com"]'], "subject": ["Ünïcode ✓"]}
    assert [(f.filename, f.mimetype, f.read()) for f in files.getlist("attachments")] == [
        ("logo.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00"), ("notes.txt", "text/plain", b"")]
    assert assert_same_or_declined(body, boundary)
    for storage in files.values():
        storage.close()
