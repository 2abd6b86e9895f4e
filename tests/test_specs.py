"""Spec loading: broken specs refused with one clear line, slightly invalid ones repaired."""

from __future__ import annotations

import http.server
import subprocess
import sys
import textwrap
import threading
import typing as t
from pathlib import Path

import pytest
from jsonschema_path import SchemaPath
from referencing.exceptions import Unresolvable

from conftest import ROOT
from conftest import SPECS
from mocksrv.errors import SpecError
from mocksrv.openapi.specs import ConfinedLoader
from mocksrv.openapi.specs import load_spec
from mocksrv.openapi.specs import load_specs

MINIMAL = """\
openapi: 3.0.3
info: {title: T, version: "1"}
servers: [{url: "https://api.example.com/v2"}]
paths:
  /things/{id}:
    get:
      parameters:
        - {name: id, in: path, required: false, schema: {type: string}}
      responses:
        "200": {description: ok}
  /other/{name}:
    get:
      responses:
        "200": {description: ok}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_bundled_specs_load() -> None:
    apis, failures = load_specs([SPECS])
    assert not failures
    assert {api.id: api.mount for api in apis} == {
        "maildiver": "/maildiver/v1", "maxcare": "/maxcare/v3",
        "send-service": "/send-service", "settings-mailer": "/settings-mailer"}


def test_slightly_invalid_spec_is_repaired_with_warnings(tmp_path: Path) -> None:
    api = load_spec(write(tmp_path, "things.yaml", MINIMAL))
    assert api.mount == "/things/v2"
    assert any("'id' marked required" in w for w in api.warnings)
    assert any("undeclared path parameter 'name'" in w for w in api.warnings)


@pytest.mark.parametrize("text, problem", [
    ("openapi: 3.0.3\ninfo: {title: T}\npaths: {}\n", "at info: 'version' is a required property"),
    ("swagger: '1.2'\n", "Swagger 1.2 is not supported"),
    ('{"swaggerVersion": "1.2", "apis": []}\n', "Swagger 1.2 is not supported"),
    ("openapi: 4.0.0\n", "OpenAPI 4.0.0 is not supported"),
    ("openapi: [unclosed\n", "not valid YAML"),
    ("- a list\n", "not a mapping"),
    ("openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n"
     "        '200': {description: ok, content: {application/json: {schema: {$ref: '#/nope'}}}}\n", "nope"),
])
def test_broken_spec_gives_one_line(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, "broken.yaml", text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value).replace('"', "'")  # the jsonschema-rs backend quotes names with "
    assert message.startswith(str(path)) and problem in message and "\n" not in message
    assert "Failed validating" not in message


def test_ref_outside_the_spec_folder_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "secret.yaml", "Thing: {type: string}\n")
    spec = MINIMAL.replace('"200": {description: ok}\n  /other',
                           '"200": {description: ok, content: {application/json: {schema: '
                           '{$ref: "../secret.yaml#/Thing"}}}}\n  /other', 1)
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, "api/things.yaml", spec))
    assert "outside the spec folder" in str(caught.value)


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n"))
    assert "YAML bomb" in str(caught.value)


def test_bad_api_id_from_file_name(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not usable as an API id"):
        load_spec(write(tmp_path, "my api.yaml", MINIMAL))


def test_check_command_exit_codes(tmp_path: Path) -> None:
    good = subprocess.run([sys.executable, "-m", "mocksrv", "check", "--specs", str(SPECS)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    assert "ok: " in good.stdout and "maxcare" in good.stdout
    write(tmp_path, "broken.yaml", "openapi: 3.0.3\ninfo: {title: T}\npaths: {}\n")
    bad = subprocess.run([sys.executable, "-m", "mocksrv", "check", "--specs", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "broken.yaml: invalid OpenAPI document at info" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_serve_refuses_a_broken_spec_in_one_line(tmp_path: Path) -> None:
    write(tmp_path, "broken.yaml", "openapi: 3.0.3\ninfo: {title: T}\npaths: {}\n")
    run = subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--port", "0", "--specs", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.replace('"', "'").strip().splitlines() == [  # either schema backend's quotes
        f"mocksrv: cannot serve {tmp_path / 'broken.yaml'}: invalid OpenAPI document at info: "
        "'version' is a required property"]


@pytest.fixture
def counting_server() -> t.Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that serves a JSON schema and records every path asked for."""
    hits: list[str] = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("where", ["response schema", "path item"])
def test_ref_to_a_url_is_refused_without_fetching_it(tmp_path: Path, where: str,
                                                     counting_server: tuple[str, list[str]]) -> None:
    """mocksrv calls no address the user did not name: a $ref to http(s) is a load error, never a fetch."""
    url, hits = counting_server
    if where == "response schema":
        spec = MINIMAL.replace('"200": {description: ok}\n  /other',
                               '"200": {description: ok, content: {application/json: {schema: '
                               f'{{$ref: "{url}/schema.json"}}}}}}}}\n  /other', 1)
    else:
        spec = MINIMAL + f'  /remote:\n    $ref: "{url}/item.json"\n'
    path = write(tmp_path, "things.yaml", spec)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert hits == []
    assert str(caught.value).startswith(f"{path}: unresolvable $ref {url}/")
    assert str(caught.value).endswith(": only relative-file $refs are supported (no network fetches)")


def test_openapi_core_resolves_no_url_either(tmp_path: Path, counting_server: tuple[str, list[str]]) -> None:
    """The same loader answers jsonschema-path for every scheme: left without a handler for
    http, it would fetch the URL itself when a request needs the ref."""
    url, hits = counting_server
    handlers = ConfinedLoader(tmp_path).as_handlers()
    schema = SchemaPath.from_dict({"content": {"$ref": f"{url}/schema.json"}}, handlers=handlers)
    with pytest.raises(Unresolvable) as caught:
        with (schema / "content").open() as contents:
            dict(contents)
    assert "no network fetches" in str(caught.value.__cause__.__cause__)
    assert hits == []


def test_ref_to_a_missing_file_is_refused_at_load_naming_the_spec(tmp_path: Path) -> None:
    path = write(tmp_path, "things.yaml", MINIMAL + '  /remote:\n    $ref: "parts/item.yaml"\n')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: unresolvable $ref parts/item.yaml: cannot read file: No such file or directory"


def test_refs_inside_a_referenced_file_are_checked_too(tmp_path: Path) -> None:
    write(tmp_path, "parts/item.yaml", 'get:\n  responses:\n    "200": {$ref: "https://example.com/r.yaml"}\n')
    path = write(tmp_path, "things.yaml", MINIMAL + '  /remote:\n    $ref: "parts/item.yaml"\n')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == (f"{path}: unresolvable $ref https://example.com/r.yaml: "
                                 "only relative-file $refs are supported (no network fetches)")


MIXED_SPELLINGS = """\
openapi: {version}
info: {{title: T, version: "1"}}
paths:
  /rates:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [rate, note, rate]
              properties:
                rate: {{type: number, minimum: 0, {exclusive}}}
                note: {{type: string, nullable: true}}
      responses:
        "201": {{description: ok, content: {{application/json: {{schema: {{type: object}}}}}}}}
        "400": {{description: bad, content: {{application/json: {{schema: {{type: object, properties: {{message: {{type: string}}}}}}}}}}}}
"""


@pytest.mark.parametrize("version, exclusive, told", [
    ("3.1.0", "exclusiveMinimum: true", "a 3.0 boolean 'exclusiveMinimum' in a 3.1 document, read as 3.0 means it"),
    ("3.0.3", "exclusiveMinimum: 0", "a 3.1 numeric 'exclusiveMinimum' in a 3.0 document, read as 3.1 means it"),
])
def test_the_other_versions_spellings_are_read_as_meant(tmp_path: Path, version: str, exclusive: str,
                                                         told: str) -> None:
    from mocksrv import Options
    from mocksrv import create_app

    path = write(tmp_path, "rates.yaml", MIXED_SPELLINGS.format(version=version, exclusive=exclusive))
    api = load_spec(path)
    where = "/paths//rates/post/requestBody/content/application/json/schema"
    assert f"{path}: {where}: 'required' lists a name twice; each is required once" in api.warnings
    assert f"{path}: {where}/properties/rate: {told}" in api.warnings
    client = create_app(Options(specs=[path], fixtures=None, strict=True), apis=[api]).test_client()
    assert client.post("/rates/rates", json={"rate": 0.5, "note": None}).status_code == 201
    refused = client.post("/rates/rates", json={"rate": 0, "note": "x"})
    assert refused.status_code == 400 and "rate must be greater than 0" in refused.get_json()["message"]
    assert client.post("/rates/rates", json={"note": "x"}).status_code == 400
