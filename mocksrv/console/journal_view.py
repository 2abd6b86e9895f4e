"""What the console's Requests page shows: the journal filtered, and one request in detail.

The detail puts each validation error next to the field it is about: the body is
pretty-printed line by line with each line's field path (``attachments[0].filename``,
the journal's own notation), and an error sits on the line of its field, or on the line
of the nearest enclosing object when the field is missing altogether.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from urllib.parse import urlencode

from mocksrv.state.journal import Entry
from mocksrv.state.journal import Journal

Json = t.Any
ROW_LIMIT = 200
LOCATION_NAMES = {"body": "Body", "query": "Query", "header": "Headers", "path": "Path", "cookie": "Cookies",
                  "security": "Credentials", "content-type": "Content-Type", "parameters": "Parameters", "": "Request"}


@dataclass(frozen=True)
class Filters:
    """The Requests page's filters, as typed into its form."""

    api: str = ""
    status: str = ""  # "401", or a class: "4xx"
    valid: str = ""  # "", "true", "false"
    text: str = ""

    @classmethod
    def from_args(cls, args: t.Mapping[str, str]) -> Filters:
        return cls(args.get("api", "").strip(), args.get("status", "").strip().lower(),
                   args.get("valid", "").strip().lower(), args.get("q", "").strip())

    @property
    def query_string(self) -> str:
        given = {"api": self.api, "status": self.status, "valid": self.valid, "q": self.text}
        return urlencode({name: value for name, value in given.items() if value})

    @property
    def problem(self) -> str | None:
        """Why the status filter cannot be used, or None."""
        if self.status and not (self.status.isdigit() or (len(self.status) == 3 and self.status[0].isdigit()
                                                          and self.status[1:] == "xx")):
            return "status must be a code (401) or a class (4xx)"
        return None


def select(journal: Journal, filters: Filters, limit: int = ROW_LIMIT) -> list[Entry]:
    """Matching entries, newest first."""
    valid = {"true": True, "false": False}.get(filters.valid)
    exact = int(filters.status) if filters.status.isdigit() else None
    entries = journal.entries(api=filters.api or None, status=exact, valid=valid)
    if filters.status.endswith("xx") and filters.problem is None:
        entries = [e for e in entries if e.status // 100 == int(filters.status[0])]
    if filters.text:
        needle = filters.text.lower()
        entries = [e for e in entries if needle in searchable(e)]
    return entries[:limit]


def searchable(entry: Entry) -> str:
    """What the text filter looks in: the request line, the operation, bodies and error messages."""
    parts = [entry.method, entry.path, urlencode(entry.query, doseq=True), entry.api or "", entry.operation_id or "",
             str(entry.status), _text(entry.body), _text(entry.response_body),
             *(error.get("message", "") for error in entry.errors)]
    return "\n".join(parts).lower()


def clock_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def request_line(entry: Entry) -> str:
    query = urlencode(entry.query, doseq=True)
    return f"{entry.method} {entry.path}{'?' + query if query else ''}"


@dataclass
class Line:
    """One line of a pretty-printed body, with the errors about the field it shows."""

    text: str
    path: str | None  # the field path of the value starting on this line; None for closing brackets
    notes: list[str] = field(default_factory=list)


@dataclass
class Annotated:
    """A body ready to show: its lines (errors attached), or plain text, and the errors no line took."""

    lines: list[Line]
    elsewhere: list[dict[str, str]]


def annotate_body(body: Json, errors: t.Sequence[dict[str, str]]) -> Annotated:
    """Pretty-print ``body`` and attach the body errors to the lines of their fields."""
    lines = json_lines(_form_fields(body)) if body is not None else []
    by_path = {line.path: line for line in lines if line.path is not None}
    elsewhere = []
    for error in errors:
        if error.get("location") not in ("body", "") or not lines:
            elsewhere.append(error)
            continue
        target = _enclosing(error.get("field", ""), by_path)
        if target is None or (error.get("location") == "" and not error.get("field")):
            elsewhere.append(error)
        else:
            target.notes.append(error.get("message", ""))
    return Annotated(lines, elsewhere)


def errors_at(errors: t.Sequence[dict[str, str]], location: str) -> dict[str, list[str]]:
    """Messages per field name for one location (``header``, ``query`` …), for the tables of those."""
    found: dict[str, list[str]] = {}
    for error in errors:
        if error.get("location") == location:
            found.setdefault(error.get("field", "").lower(), []).append(error.get("message", ""))
    return found


def json_lines(value: Json, path: str = "", key: str | None = None, indent: int = 0, comma: bool = False
               ) -> list[Line]:
    """``value`` printed as indented JSON, one `Line` per line, each with its field path."""
    pad = "  " * indent
    label = f"{json.dumps(key, ensure_ascii=False)}: " if key is not None else ""
    tail = "," if comma else ""
    if isinstance(value, dict) and value:
        lines = [Line(f"{pad}{label}{{", path)]
        items = list(value.items())
        for index, (name, item) in enumerate(items):
            child = f"{path}.{name}" if path else str(name)
            lines += json_lines(item, child, str(name), indent + 1, index < len(items) - 1)
        return [*lines, Line(f"{pad}}}{tail}", None)]
    if isinstance(value, list) and value:
        lines = [Line(f"{pad}{label}[", path)]
        for index, item in enumerate(value):
            lines += json_lines(item, f"{path}[{index}]", None, indent + 1, index < len(value) - 1)
        return [*lines, Line(f"{pad}]{tail}", None)]
    if isinstance(value, str) and "\n" in value and indent == 0:
        return [Line(text, path if number == 0 else None) for number, text in enumerate(value.split("\n"))]
    return [Line(f"{pad}{label}{json.dumps(value, ensure_ascii=False)}{tail}", path)]


def pretty(value: Json) -> str:
    """A body as readable text: JSON indented, text as it is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def _form_fields(body: Json) -> Json:
    """The journal keeps an upload as ``{"form": {name: [values]}, "files": [...]}``; show fields by name,
    a single value as itself, so an error on field ``to`` finds line ``to``."""
    if isinstance(body, dict) and set(body) == {"form", "files"} and isinstance(body["form"], dict):
        fields: dict[str, Json] = {k: v[0] if isinstance(v, list) and len(v) == 1 else v
                                   for k, v in body["form"].items()}
        for upload in body.get("files") or []:
            name = str(upload.get("field", "file"))
            described = {k: v for k, v in upload.items() if k != "field"}
            existing = fields.get(name)
            fields[name] = [*existing, described] if isinstance(existing, list) else [described]
        return fields
    return body


def _enclosing(path: str, by_path: dict[str, Line]) -> Line | None:
    """The line of ``path``, else of the nearest enclosing field that is on a line."""
    while True:
        if path in by_path:
            return by_path[path]
        if not path:
            return None
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""


def _text(value: Json) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
