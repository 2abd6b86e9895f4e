"""Router unit tests: literal segments first, 404/405, mount prefixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mocksrv.engine.router import Router
from mocksrv.errors import MethodNotAllowed
from mocksrv.errors import NotFound
from mocksrv.openapi.specs import load_spec

SPEC = """\
openapi: 3.0.3
info: {title: R, version: "1"}
servers: [{url: "https://x.example.com/base"}]
paths:
  /users/{id}: {get: {operationId: getUser, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /users/me: {get: {operationId: getMe, responses: {"200": {description: ok}}}}
  /users/{id}/files/{name}.json: {get: {operationId: getFile, parameters: [{name: id, in: path, required: true, schema: {type: string}}, {name: name, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /users: {post: {operationId: createUser, responses: {"201": {description: ok}}}, put: {operationId: putUsers, responses: {"200": {description: ok}}}}
"""


@pytest.fixture()
def router(tmp_path: Path) -> Router:
    path = tmp_path / "r.yaml"
    path.write_text(SPEC)
    return Router([load_spec(path)])


def test_literal_wins_regardless_of_spec_order(router: Router) -> None:
    assert router.match("GET", "/r/base/users/me").operation.operation_id == "getMe"
    match = router.match("GET", "/r/base/users/42")
    assert match.operation.operation_id == "getUser" and match.path_params == {"id": "42"}


def test_template_with_suffix_and_percent_decoding(router: Router) -> None:
    match = router.match("GET", "/r/base/users/a%20b/files/report.json")
    assert match.operation.operation_id == "getFile"
    assert match.path_params == {"id": "a b", "name": "report"}


def test_405_lists_allowed_methods(router: Router) -> None:
    with pytest.raises(MethodNotAllowed) as caught:
        router.match("DELETE", "/r/base/users")
    assert caught.value.headers == {"Allow": "PUT, POST"}


def test_404s(router: Router) -> None:
    with pytest.raises(NotFound, match="no API is mounted at /nope"):
        router.match("GET", "/nope/users")
    with pytest.raises(NotFound, match="served under /r/base"):
        router.match("GET", "/r/users/me")
    with pytest.raises(NotFound, match="matches the path /accounts/1"):
        router.match("GET", "/r/base/accounts/1")


def test_a_parameter_spans_segments_only_when_nothing_else_matches(router: Router) -> None:
    """granian hands the path over decoded: ``a%2Fb`` arrives as ``a/b`` (GitLab's project
    paths, Docker's image names), so a path no template matches segment by segment is
    matched again with parameters that may hold a slash."""
    match = router.match("GET", "/r/base/users/group/project")
    assert match.operation.operation_id == "getUser" and match.path_params == {"id": "group/project"}
    match = router.match("GET", "/r/base/users/group/project/files/report.json")
    assert match.operation.operation_id == "getFile"
    assert match.path_params == {"id": "group/project", "name": "report"}
    # one segment each wherever that matches: a literal and an ordinary id stay what they were
    assert router.match("GET", "/r/base/users/me").operation.operation_id == "getMe"
    assert router.match("GET", "/r/base/users/1/files/a.json").path_params == {"id": "1", "name": "a"}
    with pytest.raises(MethodNotAllowed):
        router.match("DELETE", "/r/base/users/group/project")
    with pytest.raises(NotFound):  # a dot segment is path navigation, never part of a name
        router.match("GET", "/r/base/users/../../etc/passwd")
