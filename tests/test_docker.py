"""The Dockerfile's command, run outside Docker (no engine here): same arguments, same files.

Its ENTRYPOINT and CMD are read from the Dockerfile, the paths it COPYs into the image are
made in a temporary folder from the same sources, and only the port is changed (4010 may be
taken on this machine). hadolint checks the file itself in `make check`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import typing as t
from pathlib import Path

import requests

from conftest import ROOT
from conftest import free_loopback_port
from mocksrv.client import MockServerProcess

TOKEN = "container-token"


def instruction(name: str) -> list[str]:
    """A JSON-form instruction's arguments (ENTRYPOINT, CMD)."""
    found = re.search(rf"^{name} (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)
    assert found, f"the Dockerfile has no JSON-form {name}"
    return t.cast(list[str], json.loads(found.group(1)))


def copied_into_image() -> dict[str, str]:
    """COPY source → absolute destination, for the folders the command serves."""
    return dict(re.findall(r"^COPY (\w+) (/\w+)$", (ROOT / "Dockerfile").read_text(), re.M))



def test_the_image_command_serves_the_mounted_folders_and_locks_the_admin_api(tmp_path: Path) -> None:
    image = {destination: tmp_path / destination.strip("/") for destination in copied_into_image().values()}
    assert set(image) == {"/specs", "/fixtures"}  # the two volumes users mount their own folders over
    for source, destination in copied_into_image().items():
        shutil.copytree(ROOT / source, image[destination])
    port = free_loopback_port()
    command = [*instruction("ENTRYPOINT"), *instruction("CMD")]
    assert command[:2] == ["mocksrv", "serve"] and "0.0.0.0" in command
    command = [sys.executable, "-m", "mocksrv", *command[1:]]
    command = [str(image.get(arg, arg)) for arg in command]
    command[command.index("--port") + 1] = str(port)
    server = MockServerProcess()
    server.command = command
    os.environ["MOCKSRV_ADMIN_TOKEN"] = TOKEN  # what `docker run -e MOCKSRV_ADMIN_TOKEN=…` sets
    try:
        server.start()
    finally:
        del os.environ["MOCKSRV_ADMIN_TOKEN"]
    try:
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/__mocksrv/health", timeout=10).status_code == 200  # probes need no token
        assert requests.get(f"{base}/__mocksrv/apis", timeout=10).status_code == 401
        apis = requests.get(f"{base}/__mocksrv/apis", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert sorted(api["id"] for api in apis.json()["apis"]) == sorted(p.stem for p in (ROOT / "specs").iterdir())
        sent = requests.post(f"{base}/maildiver/v1/emails", headers={"Authorization": "Bearer md_demo"}, timeout=10,
                             json={"from": "a@example.com", "to": "b@example.com", "subject": "s", "html": "<p/>"})
        assert sent.status_code == 201  # the bundled scenarios came from /fixtures
    finally:
        server.stop()
