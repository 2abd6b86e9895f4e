"""oneOf answers over real HTTP: each body matches exactly one branch (discriminator, const, enum,
required fields), stored records are shown through the branch they fit, examples that break
their schema are never served; every answer checked against the spec by openapi-core."""

from __future__ import annotations

import typing as t

import pytest
import requests

from conftest import DATA
from conftest import MockServer
from conftest import SpecChecker

V30 = DATA / "features" / "choices30.yaml"
V31 = DATA / "features" / "choices31.yaml"


@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(V30), "--specs", str(V31), "--strict")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def v30(mock: MockServer) -> SpecChecker:
    return SpecChecker(V30, mock.base_url)


@pytest.fixture(scope="module")
def v31(mock: MockServer) -> SpecChecker:
    return SpecChecker(V31, mock.base_url)


def test_discriminator_names_the_branch_the_body_is_made_of(mock: MockServer, v30: SpecChecker) -> None:
    for prefer in ("", "dynamic=true"):
        response = requests.get(mock.url("/choices30/v1/pets"), headers={"Prefer": prefer}, timeout=10)
        assert response.status_code == 200, response.text
        v30.assert_valid(response)
        pet = response.json()
        assert pet["petType"] in ("cat", "dog")
        assert ("barks" not in pet) if pet["petType"] == "cat" else ("indoor" not in pet)


@pytest.mark.parametrize("pet_type", [["cat"], {"cat": 1}])
def test_a_discriminator_that_is_no_string_is_a_400(mock: MockServer, v30: SpecChecker, pet_type: t.Any) -> None:
    # openapi-schema-validator looks the value up in the mapping, and a list or object is no key
    response = requests.put(mock.url("/choices30/v1/pets"), json={"petType": pet_type, "name": "Tom"}, timeout=10)
    assert response.status_code == 400, response.text
    v30.assert_valid(response)
    assert "request body could not be read" in response.json()["message"]
    ok = requests.put(mock.url("/choices30/v1/pets"), json={"petType": "cat", "name": "Tom"}, timeout=10)
    assert ok.status_code == 204


def test_branches_whose_examples_fit_both_give_a_body_only_one_takes(mock: MockServer, v30: SpecChecker) -> None:
    # Refused takes a subset of what Accepted does: only Accepted can be matched alone, by a status
    # outside Refused's codes (both branches' examples, status "0" and "2", fit both)
    for prefer in ("", "dynamic=true"):
        response = requests.post(mock.url("/choices30/v1/verifications"), headers={"Prefer": prefer}, timeout=10)
        assert response.status_code == 200, response.text
        v30.assert_valid(response)
        assert response.json().get("status") not in ("0", "1", "2", "3")


def test_a_const_branch_and_an_open_one_are_told_apart(mock: MockServer, v31: SpecChecker) -> None:
    for prefer in ("", "dynamic=true"):
        response = requests.get(mock.url("/choices31/v1/events/latest"), headers={"Prefer": prefer}, timeout=10)
        assert response.status_code == 200, response.text
        v31.assert_valid(response)


def test_identical_branches_are_served_with_a_warning_even_in_strict_mode(mock: MockServer) -> None:
    # no value matches exactly one of two identical branches: the spec's doing, not mocksrv's, so strict mode
    # (a 500 for responses mocksrv got wrong) has nothing better to send (docs/decisions.md, "Responses")
    response = requests.get(mock.url("/choices30/v1/twins"), timeout=10)
    assert response.status_code == 200
    assert isinstance(response.json().get("name"), str)
    assert "is valid under each of" in mock.log_line("the spec admits no value that would")


def test_identical_branches_are_served_with_a_warning_by_default() -> None:
    lenient = MockServer("--specs", str(V30))
    try:
        response = requests.get(lenient.url("/choices30/v1/twins"), timeout=10)
        assert response.status_code == 200
        assert isinstance(response.json().get("name"), str)  # a value of one branch (of both)
        lenient.log_line("the spec admits no value that would")  # waits for the log to be read
    finally:
        lenient.stop()
    assert any("no value valid under the schema" in line and "is valid under each of" in line
               for line in lenient.lines)


def test_a_record_with_a_null_field_is_shown_through_the_branch_that_allows_it(mock: MockServer,
                                                                               v30: SpecChecker) -> None:
    created = requests.post(mock.url("/choices30/v1/webhooks"), json={"url": "https://a.test/hook", "secret": None},
                            timeout=10)
    assert created.status_code == 201, created.text
    v30.assert_valid(created)
    hook = created.json()
    assert hook["secret"] is None and hook["url"] == "https://a.test/hook"
    assert isinstance(hook["events"], list)  # OpenWebhook requires it: filled from a value of that branch
    read = requests.get(mock.url(f"/choices30/v1/webhooks/{hook['id']}"), timeout=10)
    assert read.status_code == 200, read.text
    v30.assert_valid(read)
    assert read.json() == hook


def test_a_record_with_a_secret_is_shown_through_the_signed_branch(mock: MockServer, v30: SpecChecker) -> None:
    created = requests.post(mock.url("/choices30/v1/webhooks"), json={"url": "https://b.test", "secret": "s3cret"},
                            timeout=10)
    assert created.status_code == 201, created.text
    v30.assert_valid(created)
    read = requests.get(mock.url(f"/choices30/v1/webhooks/{created.json()['id']}"), timeout=10)
    v30.assert_valid(read)
    assert read.json() == {"id": created.json()["id"], "url": "https://b.test", "secret": "s3cret"}


def test_a_record_every_branch_takes_as_stored_is_given_what_tells_one_apart(mock: MockServer,
                                                                             v31: SpecChecker) -> None:
    created = requests.post(mock.url("/choices31/v1/devices"), json={"name": "pad"}, timeout=10)
    assert created.status_code == 201, created.text
    v31.assert_valid(created)
    device = created.json()
    assert device["name"] == "pad"
    read = requests.get(mock.url(f"/choices31/v1/devices/{device['id']}"), timeout=10)
    assert read.status_code == 200, read.text
    v31.assert_valid(read)
    assert read.json()["name"] == "pad"


def test_examples_that_break_their_schema_are_never_served(mock: MockServer, v30: SpecChecker) -> None:
    for _ in range(3):
        response = requests.get(mock.url("/choices30/v1/receipts"), timeout=10)
        assert response.status_code == 200, response.text
        v30.assert_valid(response)
        assert response.json() == {"id": "r2", "amount": 12}  # the first example that fits
        assert int(response.headers["X-Rate-Limit"]) >= 1  # its example, 0, breaks minimum: 1
    warned = [line for line in mock.lines if "example broken of getReceipt" in line]
    assert len(warned) == 1, warned  # checked once, not per request


def test_prefer_naming_an_example_that_breaks_its_schema_is_refused(mock: MockServer, v30: SpecChecker) -> None:
    response = requests.get(mock.url("/choices30/v1/receipts"), headers={"Prefer": "example=broken"}, timeout=10)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "does not validate against its schema" in response.json()["detail"]
    fine = requests.get(mock.url("/choices30/v1/receipts"), headers={"Prefer": "example=fine"}, timeout=10)
    v30.assert_valid(fine)
    assert fine.json() == {"id": "r2", "amount": 12}


def test_an_example_with_an_unquoted_yaml_date_is_served_as_its_text(mock: MockServer, v30: SpecChecker) -> None:
    response = requests.get(mock.url("/choices30/v1/days/first"), timeout=10)
    assert response.status_code == 200, response.text
    v30.assert_valid(response)
    assert response.json() == {"day": "2024-05-01"}
