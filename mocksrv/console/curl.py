"""An `ExampleRequest` as a curl command a person can paste into a POSIX shell.

Values go through ``--data-raw`` and ``--form-string``, never ``-d``/``-F``: those read a
file when a value starts with ``@`` (or ``<``), and a form value ending in ``;type=x``
would change the part's content type.
"""

from __future__ import annotations

import json
import shlex

from mocksrv.console.examples import ExampleRequest
from mocksrv.wire.media import is_form

CONTINUATION = " \\\n  "


def curl_command(base_url: str, example: ExampleRequest) -> str:
    """``curl -sS …`` for ``example`` against the server at ``base_url`` (no trailing slash)."""
    parts = ["curl -sS"]
    has_body = example.body is not None
    if example.method != "GET" and not (example.method == "POST" and has_body):
        parts[0] += f" -X {example.method}"
    parts[0] += " " + shlex.quote(base_url + example.target)
    parts += [f"-H {shlex.quote(f'{name}: {value}')}" for name, value in example.headers]
    if has_body and example.media_type == "multipart/form-data":
        parts += [f"--form-string {shlex.quote(f'{name}={value}')}" for name, value in dict(example.body).items()]
    elif has_body and is_form(example.media_type):
        parts += [f"--data-urlencode {shlex.quote(f'{name}={value}')}" for name, value in dict(example.body).items()]
    elif has_body:
        text = example.body if isinstance(example.body, str) and "json" not in (example.media_type or "") \
            else json.dumps(example.body, indent=2, ensure_ascii=False).replace("\n", "\n  ")  # quoted: may span lines
        parts.append(f"--data-raw {shlex.quote(text)}")
    return CONTINUATION.join(parts)
