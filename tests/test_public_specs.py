"""Specs the engine was not written for (public examples in tests/data, and the bundled ones):
every operation answers a request built from its own schemas with a 2xx that validates."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
import requests

from conftest import DATA
from conftest import SPECS
from conftest import MockServer
from conftest import SpecChecker
from mocksrv.openapi.specs import load_spec
from spec_requests import build_request

PUBLIC = [DATA / "petstore-expanded-3.0.yaml", DATA / "webhook-example-3.1.yaml", DATA / "uspto-3.0.yaml",
          DATA / "split" / "openapi.yaml"]
ALL = PUBLIC + sorted(SPECS.glob("*.yaml"))
# seed rules that no schema states, which a request built from the schema alone may break; each
# such answer must be the API's 400 with the rule's documented words (tests/test_behaviour_*.py
# send requests that keep the rules and get their 2xx)
RULES_NO_SCHEMA_STATES = {
    ("maildiver", "sendEmail"): "template_id cannot be used together with html",
}
CASES = [(path, operation.key) for path in ALL for operation in load_spec(path).operations]


@pytest.fixture(scope="module")
def public_server() -> t.Iterator[MockServer]:
    mock = MockServer(*[arg for path in PUBLIC for arg in ("--specs", str(path))], "--strict")
    yield mock
    mock.stop()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("spec_file, operation_key", CASES, ids=[f"{p.stem}:{k}" for p, k in CASES])
def test_every_operation_answers_a_valid_request(spec_file: Path, operation_key: str, seed: int,
                                                 public_server: MockServer, server: MockServer) -> None:
    mock = public_server if spec_file in PUBLIC else server
    api = load_spec(spec_file)
    operation = next(op for op in api.operations if op.key == operation_key)
    kwargs = build_request(api, operation, seed)
    path = kwargs.pop("path")
    response = requests.request(url=mock.url(api.mount + path), timeout=10, **kwargs)
    item_operation = operation.template.rstrip("/").endswith("}")
    rule = RULES_NO_SCHEMA_STATES.get((api.id, operation_key))
    if rule is not None and response.status_code == 400:
        # a request made from the schema alone breaks a documented rule: the API's own 400, that rule's words
        assert response.json()["message"] == rule, response.text
        SpecChecker(spec_file, mock.base_url).assert_valid(response)
        return
    if response.status_code in (400, 404) and item_operation:
        # the store is empty (404), or the API's behaviour refuses a made-up id (MaxCare: 400):
        # an item operation answers the API's own error (or problem+json)
        declared = {str(k).upper() for k in operation.spec.get("responses", {})}
        if not declared & {"404", "4XX", "DEFAULT"}:
            assert response.headers["Content-Type"] == "application/problem+json"
            return
    else:
        assert 200 <= response.status_code < 300, f"{kwargs}\n{response.status_code} {response.text[:800]}"
    SpecChecker(spec_file, mock.base_url).assert_valid(response)


def test_split_spec_round_trip_across_files(public_server: MockServer) -> None:
    checker = SpecChecker(DATA / "split" / "openapi.yaml", public_server.base_url)
    created = requests.post(public_server.url("/openapi/items"), json={"name": "widget"}, timeout=10)
    assert created.status_code in (200, 201), created.text
    checker.assert_valid(created)
    item = created.json()
    assert item["name"] == "widget"
    fetched = requests.get(public_server.url(f"/openapi/items/{item['id']}"), timeout=10)
    assert fetched.status_code == 200 and fetched.json()["id"] == item["id"]
    checker.assert_valid(fetched)
    listed = requests.get(public_server.url("/openapi/items"), timeout=10)
    assert item["id"] in [row["id"] for row in listed.json()]
    checker.assert_valid(listed)


def test_petstore_create_read_delete(public_server: MockServer) -> None:
    base = public_server.url("/petstore-expanded-3.0/api/pets")
    checker = SpecChecker(DATA / "petstore-expanded-3.0.yaml", public_server.base_url)
    created = requests.post(base, json={"name": "Rex", "tag": "dog"}, timeout=10)
    assert created.status_code == 200, created.text
    checker.assert_valid(created)
    pet = created.json()
    assert pet["name"] == "Rex" and pet["tag"] == "dog" and isinstance(pet["id"], int)
    fetched = requests.get(f"{base}/{pet['id']}", timeout=10)
    assert fetched.json() == pet
    checker.assert_valid(fetched)
    listed = requests.get(base, params={"tags": "dog", "limit": 50}, timeout=10)
    assert pet in listed.json()
    checker.assert_valid(listed)
    assert requests.delete(f"{base}/{pet['id']}", timeout=10).status_code == 204
    gone = requests.get(f"{base}/{pet['id']}", timeout=10)
    assert gone.status_code == 404
    checker.assert_valid(gone)  # petstore's `default: Error`


def test_petstore_invalid_id_type(public_server: MockServer) -> None:
    response = requests.get(public_server.url("/petstore-expanded-3.0/api/pets/notanumber"), timeout=10)
    assert response.status_code == 400
    # petstore's operations declare only `default: Error` for errors: that is its format
    body = response.json()
    assert set(body) >= {"code", "message"} and body["code"] == 400
    assert "id" in body["message"]


def test_petstore_negative_limit_the_spec_allows_lists_normally(public_server: MockServer) -> None:
    """Found by schemathesis: `limit` is a plain int32 there, so -2147483647 is valid and must not crash."""
    url = public_server.url("/petstore-expanded-3.0/api/pets")
    created = requests.post(url, json={"name": "Rex"}, timeout=10)
    assert created.status_code == 200, created.text
    listed = requests.get(url, params={"limit": -2147483647, "tags": ""}, timeout=10)
    assert listed.status_code == 200, listed.text
    assert created.json()["id"] in [pet["id"] for pet in listed.json()]


def test_an_empty_urlencoded_body_is_an_empty_form(public_server: MockServer) -> None:
    # uspto's search body is optional, but a form that is sent must hold its required `criteria`
    url = public_server.url("/uspto-3.0/ds-api/oa_citations/v1/records")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert requests.post(url, data=b"", headers=form, timeout=10).status_code == 400
    journaled = requests.get(public_server.url("/__mocksrv/requests"), params={"path": "/records"},
                             timeout=10).json()["requests"][0]
    assert journaled["response"]["status"] == 400, journaled
    assert journaled["errors"] == [{"location": "body", "field": "criteria", "message": "criteria field is required"}]
    assert requests.post(url, data={"criteria": "*:*"}, timeout=10).status_code == 200
    assert requests.post(url, timeout=10).status_code == 200  # no body at all: the body is optional
