"""Media types: the one place that knows which are JSON and which are forms."""

from __future__ import annotations

import functools

MULTIPART = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"
FORM_MEDIA_TYPES = (MULTIPART, URLENCODED)


# media types come from specs and Content-Type headers: a small set asked about on every request
@functools.lru_cache(maxsize=1024)
def media_type_of(value: str) -> str:
    """``"Application/JSON; charset=utf-8"`` → ``"application/json"``: without parameters, lower-case."""
    return value.split(";")[0].strip().lower()


@functools.lru_cache(maxsize=1024)
def is_json(media_type: str) -> bool:
    """``application/json`` or any ``…+json`` (``application/problem+json``, ``application/hal+json``)."""
    base = media_type_of(media_type)
    return base == "application/json" or base.endswith("+json")


# a sequence of JSON values, one per line (JSON Lines, NDJSON) or each after an RS (RFC 7464)
JSON_SEQUENCES = frozenset({"application/jsonl", "application/x-jsonlines", "application/jsonlines",
                            "application/x-ndjson", "application/ndjson", "application/json-seq"})


@functools.lru_cache(maxsize=1024)
def is_json_sequence(media_type: str) -> bool:
    """JSON Lines, NDJSON or ``application/json-seq``: a stream of JSON values; the schema describes one."""
    return media_type_of(media_type) in JSON_SEQUENCES


@functools.lru_cache(maxsize=1024)
def is_xml(media_type: str) -> bool:
    """``application/xml``, ``text/xml`` or any ``…+xml``."""
    base = media_type_of(media_type)
    return base in ("application/xml", "text/xml") or base.endswith("+xml")


def is_form(media_type: str | None) -> bool:
    return media_type is not None and media_type_of(media_type) in FORM_MEDIA_TYPES


@functools.lru_cache(maxsize=1024)
def carries_text(media_type: str) -> bool:
    """A body of characters rather than bytes: text, JSON (``…json`` too, e.g. ``x-ndjson``), JSON
    sequences, XML, forms, or ``*/*`` (served as JSON)."""
    base = media_type_of(media_type)
    return (base.startswith(("text/", "multipart/")) or base.endswith("json") or is_json(base)
            or is_json_sequence(base) or is_xml(base) or base in (URLENCODED, "*/*"))
