"""The behaviour contract's hooks the pipeline calls (mocksrv/engine/behaviour.py), on a spec without a
behaviour module of its own: a stand-in behaviour is put in its place."""

from __future__ import annotations

import typing as t

from conftest import DATA
from mocksrv import create_app
from mocksrv.config import Options
from mocksrv.engine.behaviour import Behaviour
from mocksrv.errors import Violation
from mocksrv.exchange import MockRequest
from mocksrv.openapi.specs import Operation

NOTES = DATA / "features" / "notes.yaml"
BAD_PAGE = "/notes/api/notes?offset=-1&limit=0"


class FirstOnly(Behaviour):
    """Words each violation its own way and answers only the one about ``offset`` (the engine's second)."""

    def reword(self, operation: Operation, violation: Violation) -> str | None:
        return f"{violation.field} no vale"

    def refusal(self, operation: Operation, request: MockRequest, violations: list[Violation]) -> str | None:
        assert request.query.get("limit") == "0"  # the raw request, for checks of the API's own
        return next(v.message for v in violations if v.field == "offset")


def answer(behaviour: Behaviour | None) -> dict[str, t.Any]:
    app = create_app(Options(specs=[NOTES]))
    if behaviour is not None:
        app.extensions["mocksrv"].pipeline.behaviours["notes"] = behaviour
    response = app.test_client().get(BAD_PAGE)
    assert response.status_code == 400
    return t.cast(dict[str, t.Any], response.get_json())


def test_refusal_gives_the_one_message_and_the_violations_stay() -> None:
    body = answer(FirstOnly())
    assert body["detail"] == "offset no vale"
    # an error schema with room for a list still gets every violation, reworded
    assert sorted(e["message"] for e in body["errors"]) == ["limit no vale", "offset no vale"]


def test_without_refusal_the_engine_s_first_violation_is_the_message() -> None:
    reworded_only = answer(type("RewordOnly", (Behaviour,), {"reword": FirstOnly.reword})())
    assert reworded_only["detail"] == reworded_only["errors"][0]["message"] == "limit no vale"
    assert len(reworded_only["errors"]) == 2
    plain = answer(None)
    assert plain["detail"] == plain["errors"][0]["message"] and len(plain["errors"]) == 2
