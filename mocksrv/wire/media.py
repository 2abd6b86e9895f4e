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


@functools.lru_cache(maxsize=1024)
def is_xml(media_type: str) -> bool:
    """``application/xml``, ``text/xml`` or any ``…+xml``."""
    base = media_type_of(media_type)
    return base in ("application/xml", "text/xml") or base.endswith("+xml")


def is_form(media_type: str | None) -> bool:
    return media_type is not None and media_type_of(media_type) in FORM_MEDIA_TYPES
