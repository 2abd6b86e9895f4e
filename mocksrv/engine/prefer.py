"""Parse the ``Prefer`` request header the way Prism does, so users can switch tools.

``Prefer: code=404`` forces a declared status, ``example=NAME`` a named example,
``dynamic=true`` generates from the schema instead of using examples.
"""

from __future__ import annotations

from dataclasses import dataclass

from mocksrv.errors import MockControlError


@dataclass(frozen=True)
class Preferences:
    code: int | None = None
    example: str | None = None
    dynamic: bool | None = None


def parse_prefer(header: str | None) -> Preferences:
    """Read ``code``, ``example`` and ``dynamic``; other preferences are ignored (RFC 7240).

    :raise 400: a value mocksrv cannot use (``code=abc``, ``dynamic=maybe``).
    """
    if not header:
        return Preferences()
    values: dict[str, str] = {}
    for item in header.replace(";", ",").split(","):
        name, _, value = item.strip().partition("=")
        if name.strip():
            values[name.strip().lower()] = value.strip().strip('"')
    code = values.get("code")
    if code is not None and not (code.isdigit() and 100 <= int(code) <= 599):
        raise MockControlError(f"Prefer: code={code} is not an HTTP status code (100-599)")
    dynamic = values.get("dynamic")
    if dynamic is not None and dynamic.lower() not in ("true", "false"):
        raise MockControlError(f"Prefer: dynamic={dynamic} must be true or false")
    return Preferences(
        code=int(code) if code is not None else None,
        example=values.get("example") or None,
        dynamic=None if dynamic is None else dynamic.lower() == "true",
    )
