"""Record and replay over real HTTP: a proxy in front of a stand-in for the real API writes what it saw
as a scenario; a mocksrv with that scenario and no upstream then answers the same way, offline, and
moves on from there; and the fallback mode, which mocks and forwards what it has no record for
(docs/proxy.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from conftest import ROOT
from conftest import MockServer

SECRET = {"X-Shop-Key": "sk_live_9f8e7d6c5b4a"}  # what the app sends the real API: never written down
SHOP = """
openapi: 3.0.3
info: {title: Shop, version: "1"}
security: [{key: []}]
paths:
  /things:
    get:
      operationId: listThings
      responses:
        "200": {description: all, content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Thing"}}}}}
    post:
      operationId: makeThing
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/NewThing"}}}
      responses:
        "201": {description: made, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
        "409": {description: taken, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
  /things/{thingId}:
    parameters: [{name: thingId, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getThing
      responses:
        "200": {description: one, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
        "404": {description: none, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    delete:
      operationId: dropThing
      responses:
        "204": {description: gone}
        "404": {description: none, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Shop-Key}
  schemas:
    NewThing:
      type: object
      required: [name]
      properties: {name: {type: string}, secretCode: {type: string}}
    Thing:
      allOf:
        - $ref: "#/components/schemas/NewThing"
        - type: object
          required: [id]
          properties: {id: {type: string, readOnly: true}}
    Error: {type: object, required: [message], properties: {message: {type: string}}}
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    spec = tmp_path / "specs" / "shop.yaml"
    spec.parent.mkdir()
    spec.write_text(SHOP)
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "default.yaml").write_text("scenario: {description: open mode}\n")
    return spec


def test_what_the_proxy_saw_is_replayed_offline(shop: Path, tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    # the real API, as far as this test knows (another seed: its ids are not the ones the replay makes next)
    real = MockServer("--specs", str(shop), "--strict", "--seed", "7")
    try:
        taken = {"api": "shop", "operation": "makeThing", "match": [{"in": "body", "path": "/name", "equals": "taken"}],
                 "then": {"status": 409, "body": {"message": "name taken"}}}
        assert requests.post(real.url("/__mocksrv/rules"), json=taken, timeout=10).status_code == 201
        upstream = real.url("/shop")
        front = MockServer("--specs", str(shop), "--fixtures", str(fixtures), "--upstream", f"shop={upstream}",
                           "--record", "shop-recorded", "--record-redact", "secretCode")
        try:
            made = [requests.post(front.url("/shop/things"), json={"name": n, "secretCode": "s3"}, headers=SECRET, timeout=10).json()
                    for n in ("lamp", "desk", "chair")]
            refused = requests.post(front.url("/shop/things"), json={"name": "taken"}, headers=SECRET, timeout=10)
            assert refused.status_code == 409
            assert requests.delete(front.url(f"/shop/things/{made[2]['id']}"), headers=SECRET, timeout=10).status_code == 204
            seen = requests.get(front.url(f"/shop/things/{made[0]['id']}"), headers=SECRET, timeout=10).json()
            listed = requests.get(front.url("/shop/things"), headers=SECRET, timeout=10).json()
        finally:
            front.stop()
    finally:
        real.stop()

    text = (fixtures / "shop-recorded.yaml").read_text()
    recorded = yaml.safe_load(text)
    assert [r["name"] for r in recorded["shop"]["records"]["things"]] == ["lamp", "desk"]  # the chair was deleted
    assert "s3" not in text  # redacted everywhere
    assert SECRET["X-Shop-Key"] not in text and recorded["shop"]["api_keys"] == [{"key": "recorded-key-1"}]
    assert "#   shop makeThing: 201 x3, 409 x1" in text  # the statuses seen, as a comment
    check = subprocess.run([sys.executable, "-m", "mocksrv", "check", "--specs", str(shop.parent),
                            "--fixtures", str(fixtures)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr

    replay = MockServer("--specs", str(shop), "--fixtures", str(fixtures), "--scenario", "shop-recorded", "--strict")
    placeholder = {"X-Shop-Key": "recorded-key-1"}
    try:
        assert requests.get(replay.url("/shop/things"), headers=SECRET, timeout=10).status_code == 401
        again = requests.get(replay.url(f"/shop/things/{made[0]['id']}"), headers=placeholder, timeout=10)
        assert again.status_code == 200 and again.json() == {**seen, "secretCode": "[redacted]"}
        assert requests.get(replay.url(f"/shop/things/{made[2]['id']}"), headers=placeholder,
                            timeout=10).status_code == 404
        assert [t["id"] for t in requests.get(replay.url("/shop/things"), headers=placeholder, timeout=10).json()] == \
            [t["id"] for t in listed]
        again_refused = requests.post(replay.url("/shop/things"), json={"name": "taken"}, headers=placeholder,
                                      timeout=10)
        assert again_refused.status_code == 409 and again_refused.json()["message"] == "name taken"
        fresh = requests.post(replay.url("/shop/things"), json={"name": "shelf"}, headers=placeholder, timeout=10)
        assert fresh.status_code == 201 and fresh.json()["id"] not in {m["id"] for m in made}  # state moves on
        assert len(requests.get(replay.url("/shop/things"), headers=placeholder, timeout=10).json()) == 3
    finally:
        replay.stop()


def test_a_second_recording_goes_on_from_the_first(shop: Path, tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    real = MockServer("--specs", str(shop))
    try:
        for name in ("one", "two"):
            front = MockServer("--specs", str(shop), "--fixtures", str(fixtures), "--upstream",
                               f"shop={real.url('/shop')}", "--record", "again")
            try:
                assert requests.post(front.url("/shop/things"), json={"name": name}, headers=SECRET,
                                     timeout=10).status_code == 201
            finally:
                front.stop()
    finally:
        real.stop()
    recorded = yaml.safe_load((fixtures / "again.yaml").read_text())
    assert sorted(r["name"] for r in recorded["shop"]["records"]["things"]) == ["one", "two"]


@pytest.mark.parametrize("args, says", [
    (["--record", "x"], "--record needs --upstream"),
    (["--upstream", "shop=http://127.0.0.1:9", "--record", "../x"], "a scenario name is letters"),
])
def test_a_wrong_record_flag_is_one_line(shop: Path, args: list[str], says: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--specs", str(shop), "--port", "0", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and says in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_fallback_mode_mocks_and_forwards_what_the_mock_has_no_record_for(shop: Path) -> None:
    real = MockServer("--specs", str(shop), "--seed", "7")
    try:
        known = requests.post(real.url("/shop/things"), json={"name": "only upstream"}, headers=SECRET, timeout=10).json()
        front = MockServer("--specs", str(shop), "--upstream", f"shop={real.url('/shop')}",
                           "--upstream-mode", "fallback", "--upstream-live", "listThings")
        try:
            mocked = requests.post(front.url("/shop/things"), json={"name": "only here"}, headers=SECRET, timeout=10)
            assert mocked.status_code == 201
            assert requests.get(front.url(f"/shop/things/{mocked.json()['id']}"), headers=SECRET, timeout=10).json()["name"] == \
                "only here"  # the mock's own record
            fetched = requests.get(front.url(f"/shop/things/{known['id']}"), headers=SECRET, timeout=10)
            assert fetched.status_code == 200 and fetched.json() == known  # the mock had none: the upstream's
            listed = requests.get(front.url("/shop/things"), headers=SECRET, timeout=10).json()
            assert [t["name"] for t in listed] == ["only upstream"]  # a live operation: always the upstream's
            upstream_saw = requests.get(real.url("/__mocksrv/requests"), params={"api": "shop"}, timeout=10).json()
            assert [(e["method"], e["path"]) for e in reversed(upstream_saw["requests"])] == [
                ("POST", "/shop/things"), ("GET", f"/shop/things/{known['id']}"), ("GET", "/shop/things")]
        finally:
            front.stop()
    finally:
        real.stop()


def test_a_scenario_may_name_the_upstream_and_the_admin_api_may_load_one(shop: Path, tmp_path: Path) -> None:
    real = MockServer("--specs", str(shop), "--seed", "7")
    try:
        known = requests.post(real.url("/shop/things"), json={"name": "real"}, headers=SECRET, timeout=10).json()
        (tmp_path / "fixtures" / "live.yaml").write_text(yaml.safe_dump({"shop": {"upstream": real.url("/shop")}}))
        front = MockServer("--specs", str(shop), "--fixtures", str(tmp_path / "fixtures"), "--scenario", "live")
        try:
            assert requests.get(front.url(f"/shop/things/{known['id']}"), headers=SECRET, timeout=10).json() == known
            # back to the mock by loading another scenario through the admin API …
            assert requests.put(front.url("/__mocksrv/scenario"), json={"name": "default"}, timeout=10).ok
            assert requests.get(front.url(f"/shop/things/{known['id']}"), headers=SECRET,
                                timeout=10).status_code == 404
            # … and to the upstream again with an inline one
            inline = {"name": "live-again", "fixture": {"shop": {"upstream": real.url("/shop")}}}
            assert requests.put(front.url("/__mocksrv/scenario"), json=inline, timeout=10).ok
            assert requests.get(front.url(f"/shop/things/{known['id']}"), headers=SECRET, timeout=10).ok
            bad = requests.put(front.url("/__mocksrv/scenario"), timeout=10,
                               json={"name": "x", "fixture": {"shop": {"upstream": "ftp://nowhere"}}})
            assert bad.status_code == 400 and "shop.upstream: 'ftp://nowhere' is not an http(s) URL" in bad.text
        finally:
            front.stop()
    finally:
        real.stop()
