"""Paging a listed collection the way the request asks, and the page fields of the answer.

A list operation pages by what its query carries: a page size (``limit``, ``per_page`` …), an
offset, a page number, or a cursor (``cursor``, ``starting_after``, ``page_token`` …). A
cursor is either one mocksrv handed out (an opaque token for a position) or, as Stripe-like
APIs do, the id of the record to start after. The envelope around the list then says where
the client is: the total, the page size and offset, the page and page count, whether more
follow, the next cursor and next/previous links. Each field is written only where the
response schema has it and only with a value its schema accepts (docs/decisions.md,
"Pagination").
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import typing as t
from dataclasses import dataclass
from urllib.parse import urlencode

from mocksrv.engine.json_paths import ABSENT
from mocksrv.engine.json_paths import value_at
from mocksrv.engine.json_paths import with_value_at

Json = t.Any

# the request's paging parameters, by the names APIs give them
LIMIT_PARAMS = ("limit", "per_page", "page_size", "pageSize", "perPage", "size", "max_results", "maxResults")
OFFSET_PARAMS = ("offset", "skip", "start")
PAGE_PARAMS = ("page", "page_number", "pageNumber")
CURSOR_PARAMS = ("cursor", "starting_after", "startingAfter", "after", "page_token", "pageToken", "next_token",
                 "nextToken", "continuation_token", "continuationToken", "marker")
PAGING_PARAMS = frozenset({*LIMIT_PARAMS, *OFFSET_PARAMS, *PAGE_PARAMS, *CURSOR_PARAMS})

# the answer's page fields
TOTAL_FIELDS = ("total", "total_count", "totalCount", "count", "total_items", "totalItems", "total_results",
                "totalResults", "total_records", "totalRecords", "total_size", "totalSize")
PAGE_FIELDS = ("page", "current_page", "currentPage", "page_number", "pageNumber")
PAGE_COUNT_FIELDS = ("total_pages", "totalPages", "page_count", "pageCount", "pages", "last_page", "lastPage",
                     "num_pages", "numPages")
HAS_MORE_FIELDS = ("has_more", "hasMore", "has_next", "hasNext", "has_next_page", "hasNextPage", "more")
HAS_PREVIOUS_FIELDS = ("has_previous", "hasPrevious", "has_prev", "hasPrev", "has_previous_page",
                       "hasPreviousPage")
NEXT_CURSOR_FIELDS = ("next_cursor", "nextCursor", "next_page_token", "nextPageToken", "next_token", "nextToken",
                      "continuation_token", "continuationToken", "next_marker", "nextMarker", "end_cursor",
                      "endCursor", "cursor")
NEXT_FIELDS = ("next", "next_page", "nextPage", "next_url", "nextUrl", "next_page_url", "nextPageUrl",
               "next_link", "nextLink", "next_href", "nextHref")
PREVIOUS_FIELDS = ("previous", "prev", "previous_page", "previousPage", "prev_page", "prevPage", "previous_url",
                   "previousUrl", "prev_url", "prevUrl", "previous_page_url", "previousPageUrl", "prev_page_url",
                   "prevPageUrl", "previous_link", "previousLink", "prev_link", "prevLink")

PAGE_FIELD_NAMES = frozenset({*TOTAL_FIELDS, *LIMIT_PARAMS, *OFFSET_PARAMS, *PAGE_FIELDS, *PAGE_COUNT_FIELDS,
                              *HAS_MORE_FIELDS, *HAS_PREVIOUS_FIELDS, *NEXT_CURSOR_FIELDS, *NEXT_FIELDS,
                              *PREVIOUS_FIELDS})

CURSOR_TOKEN = re.compile(r"^pos:(\d{1,12})$")


@dataclass(frozen=True)
class PageRequest:
    """What the request's query asked for (its typed values)."""

    limit: int | None
    offset: int
    page: int | None  # the page number sent, 1 first
    cursor: str | None
    cursor_param: str | None

    @classmethod
    def read(cls, query: t.Mapping[str, Json]) -> PageRequest:
        def count(names: tuple[str, ...]) -> int | None:
            # a negative count the spec allows (petstore's int32 `limit`) pages nothing: read as absent
            return next((query[name] for name in names if _is_count(query.get(name))), None)

        limit = count(LIMIT_PARAMS)
        page = count(PAGE_PARAMS)
        offset = count(OFFSET_PARAMS) or 0
        if page is not None and limit:
            offset = max(page - 1, 0) * limit
        cursor_param = next((name for name in CURSOR_PARAMS if query.get(name) not in (None, "")), None)
        cursor = None if cursor_param is None else str(query[cursor_param])
        return cls(limit, offset, page, cursor, cursor_param)


@dataclass(frozen=True)
class Page:
    """One page of a listed collection: where it starts, how many it holds, out of how many."""

    request: PageRequest
    offset: int
    count: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.offset + self.count < self.total

    @property
    def number(self) -> int:
        if self.request.page is not None:
            return self.request.page
        return self.offset // self.request.limit + 1 if self.request.limit else 1

    @property
    def page_count(self) -> int:
        limit = self.request.limit
        return math.ceil(self.total / limit) if limit else min(self.total, 1)

    def next_offset(self) -> int | None:
        return self.offset + self.count if self.has_more else None

    def previous_offset(self) -> int | None:
        if self.offset <= 0:
            return None
        return max(self.offset - (self.request.limit or self.offset), 0)


def encode_cursor(offset: int) -> str:
    """An opaque cursor for a position in the listed collection (URL-safe, no padding)."""
    return base64.urlsafe_b64encode(f"pos:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The position a cursor of ours stands for; None when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    found = CURSOR_TOKEN.match(text)
    return int(found.group(1)) if found else None


class Links:
    """Next/previous page URLs: the request's path and query, its paging parameter moved on."""

    def __init__(self, path: str, query: t.Mapping[str, Json], declared: t.Collection[str]) -> None:
        """:param declared: the operation's query parameter names (which way it pages when the
        request used none)."""
        self.path = path
        self.query = query
        self.declared = declared

    def to(self, page: Page, offset: int | None) -> str | None:
        if offset is None:
            return None
        sent = page.request
        changes: dict[str, Json]
        page_param = self._param(PAGE_PARAMS)
        cursor_param = sent.cursor_param or self._param(CURSOR_PARAMS)
        offset_param = self._param(OFFSET_PARAMS)
        if page_param and (sent.page is not None or not (sent.cursor_param or offset_param)):
            if not sent.limit:
                return None
            changes = {page_param: offset // sent.limit + 1}
        elif cursor_param and (sent.cursor_param or not offset_param):
            changes = {cursor_param: encode_cursor(offset)}
        elif offset_param:
            changes = {offset_param: offset}
        else:
            return None
        query = {**self.query, **changes}
        pairs = [(name, _text(item)) for name, value in query.items() if value is not None
                 for item in (value if isinstance(value, list) else [value]) if not isinstance(item, dict)]
        return f"{self.path}?{urlencode(pairs)}"  # never bare: `changes` holds one paging parameter

    def _param(self, names: tuple[str, ...]) -> str | None:
        """The paging parameter the query holds (a page number sent is always there), else a declared one."""
        present = next((name for name in names if name in self.query), None)
        return present or next((name for name in names if name in self.declared), None)


def mirror_page(body: Json, list_path: tuple[str, ...], page: Page, links: t.Callable[[], Links],
                is_valid: t.Callable[[Json], bool]) -> Json:
    """``body`` with its page fields telling the truth about ``page``.

    The fields are looked for beside the list and one object deeper (``meta``, ``pagination``,
    ``links``). A value the body's schema refuses is not written (the next candidate is tried,
    else the generated value stays); ``is_valid`` judges the whole body.
    """
    holders = [list_path[:-1]]
    parent = value_at(body, list_path[:-1])
    if not isinstance(parent, dict):  # a bare list (``list_path`` is empty): no page fields
        return body
    holders += [(*list_path[:-1], name) for name, value in parent.items() if isinstance(value, dict)]  # not the list
    found = [(holder, name) for holder in holders for name in value_at(body, holder) if name in PAGE_FIELD_NAMES]
    if not found:  # a list without page fields: no links to build
        return body
    wanted = _wanted(page, links())
    changes = [(holder, name, wanted[name]) for holder, name in found if name in wanted]  # no limit: none to tell
    first_choice = body
    for holder, name, candidates in changes:
        first_choice = with_value_at(first_choice, (*holder, name), candidates[0])
    if is_valid(first_choice):
        return first_choice
    for holder, name, candidates in changes:  # field by field: keep what fits
        for candidate in candidates:
            trial = with_value_at(body, (*holder, name), candidate)
            if is_valid(trial):
                body = trial
                break
    return body


def _wanted(page: Page, links: Links) -> dict[str, list[Json]]:
    """Each page field's values, best first (a limit field only when the request set a page size)."""
    nothing = [None, ABSENT]
    next_offset, previous_offset = page.next_offset(), page.previous_offset()
    next_cursor = [encode_cursor(next_offset)] if next_offset is not None else nothing
    next_link = links.to(page, next_offset)
    previous_link = links.to(page, previous_offset)
    wanted: dict[str, list[Json]] = {}
    wanted.update({name: [page.total] for name in TOTAL_FIELDS})
    if page.request.limit is not None:
        wanted.update({name: [page.request.limit] for name in LIMIT_PARAMS})
    wanted.update({name: [page.offset] for name in OFFSET_PARAMS})
    wanted.update({name: [page.number] for name in PAGE_FIELDS})
    wanted.update({name: [page.page_count] for name in PAGE_COUNT_FIELDS})
    wanted.update({name: [page.has_more] for name in HAS_MORE_FIELDS})
    wanted.update({name: [page.offset > 0] for name in HAS_PREVIOUS_FIELDS})
    wanted.update({name: next_cursor for name in NEXT_CURSOR_FIELDS})
    # a next/previous field is a link, or (``"next_page": 3``) a page number
    following = [link for link in (next_link, page.number + 1) if link is not None]
    preceding = [link for link in (previous_link, page.number - 1) if link is not None]
    wanted.update({name: following if next_offset is not None else nothing for name in NEXT_FIELDS})
    wanted.update({name: preceding if previous_offset is not None else nothing for name in PREVIOUS_FIELDS})
    return wanted


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value: Json) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
