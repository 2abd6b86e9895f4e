"""OpenAPI runtime expressions: the spec's own examples, then each kind of reference and each error."""

from __future__ import annotations

import dataclasses
import re
import typing as t

import pytest

from mocksrv.engine.runtime_expressions import ExchangeFacts
from mocksrv.engine.runtime_expressions import ExpressionError
from mocksrv.engine.runtime_expressions import evaluate
from mocksrv.engine.runtime_expressions import expand

# the exchange of the OpenAPI 3.1 spec's "Runtime Expressions" examples, plus an id and an email
FACTS = ExchangeFacts(
    url="https://example.org/subscribe/myevent?queryUrl=https://clientdomain.com/stillrunning",
    method="POST",
    status=201,
    request_headers={"Content-Type": "application/json", "X-Callback": "https://hooks.example.com"},
    query={"queryUrl": ["https://clientdomain.com/stillrunning", "https://clientdomain.com/second"]},
    path={"eventType": "myevent"},
    request_body={
        "failedUrl": "https://clientdomain.com/failed",
        "successUrls": ["https://clientdomain.com/fast", "https://clientdomain.com/medium",
                        "https://clientdomain.com/slow"],
        "callbackUrl": "https://clientdomain.com/callback",
        "id": 42,
        "email": "ada@example.com",
        "active": True,
        "a/b": "slash",
        "m~n": "tilde",
        "nested": {"list": [1, 2]},
        "nothing": None,
    },
    response_headers={"Location": "https://example.org/subscription/1"},
    response_body={"uuid": "7d9f"},
)


def with_(**changes: t.Any) -> ExchangeFacts:
    return dataclasses.replace(FACTS, **changes)


def test_the_spec_callback_examples_expand() -> None:
    assert expand("{$request.body#/callbackUrl}", FACTS) == "https://clientdomain.com/callback"
    assert expand("{$request.query.queryUrl}", FACTS) == "https://clientdomain.com/stillrunning"
    assert (expand("http://notificationServer.com?transactionId={$request.body#/id}&email={$request.body#/email}", FACTS)
            == "http://notificationServer.com?transactionId=42&email=ada@example.com")


@pytest.mark.parametrize("expression, value", [
    ("$url", "https://example.org/subscribe/myevent?queryUrl=https://clientdomain.com/stillrunning"),
    ("$method", "POST"),
    ("$statusCode", 201),
    ("$request.path.eventType", "myevent"),
    ("$request.query.queryUrl", "https://clientdomain.com/stillrunning"),
    ("$request.header.content-Type", "application/json"),
    ("$request.body#/failedUrl", "https://clientdomain.com/failed"),
    ("$request.body#/successUrls/1", "https://clientdomain.com/medium"),
    ("$response.header.Location", "https://example.org/subscription/1"),
    ("$response.body#/uuid", "7d9f"),
])
def test_the_spec_expression_examples_evaluate(expression: str, value: t.Any) -> None:
    assert evaluate(expression, FACTS) == value


def test_header_names_are_case_insensitive() -> None:
    assert evaluate("$request.header.x-callback", FACTS) == "https://hooks.example.com"
    assert evaluate("$response.header.LOCATION", FACTS) == "https://example.org/subscription/1"


def test_a_header_reference_must_be_an_http_token() -> None:
    with pytest.raises(ExpressionError, match="'a b' is not a header name"):
        evaluate("$request.header.a b", with_(request_headers={"a b": "found anyway"}))


def test_query_and_path_names_are_case_sensitive() -> None:
    with pytest.raises(ExpressionError, match="queryurl"):
        evaluate("$request.query.queryurl", FACTS)
    with pytest.raises(ExpressionError, match="eventtype"):
        evaluate("$request.path.eventtype", FACTS)


def test_a_query_parameter_given_twice_gives_its_first_value() -> None:
    assert evaluate("$request.query.queryUrl", FACTS) == "https://clientdomain.com/stillrunning"
    with pytest.raises(ExpressionError, match="no query parameter 'empty'"):
        evaluate("$request.query.empty", with_(query={"empty": []}))


def test_a_body_pointer_gives_any_json_value() -> None:
    assert evaluate("$request.body#/nested", FACTS) == {"list": [1, 2]}
    assert evaluate("$request.body#/nested/list/0", FACTS) == 1
    assert evaluate("$request.body#/active", FACTS) is True


def test_pointer_escapes_are_read_as_rfc_6901_says() -> None:
    assert evaluate("$request.body#/a~1b", FACTS) == "slash"
    assert evaluate("$request.body#/m~0n", FACTS) == "tilde"
    assert evaluate("$request.body#/~01", with_(request_body={"~1": "kept", "/": "wrong"})) == "kept"
    with pytest.raises(ExpressionError, match="'~' not followed by 0 or 1"):
        evaluate("$request.body#/m~2n", FACTS)


def test_an_empty_pointer_or_none_gives_the_whole_body() -> None:
    assert evaluate("$response.body#", FACTS) == {"uuid": "7d9f"}
    assert evaluate("$response.body", FACTS) == {"uuid": "7d9f"}


def test_a_body_that_is_not_json_is_its_text() -> None:
    assert expand("$request.body", with_(request_body="https://plain.example.com")) == "https://plain.example.com"


@pytest.mark.parametrize("pointer", ["/missing", "/successUrls/3", "/successUrls/01", "/successUrls/-", "/id/0",
                                     "failedUrl"])
def test_a_pointer_to_nothing_is_an_error_naming_the_expression(pointer: str) -> None:
    expression = f"$request.body#{pointer}"
    with pytest.raises(ExpressionError, match=re.escape(f"runtime expression '{expression}'")):
        evaluate(expression, FACTS)


def test_a_missing_header_or_body_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="no header 'X-Missing'"):
        evaluate("$request.header.X-Missing", FACTS)
    with pytest.raises(ExpressionError, match="the response has no body"):
        evaluate("$response.body#/uuid", with_(response_body=None))


@pytest.mark.parametrize("expression", ["$uri", "$request", "$request.cookie.session", "$request.bodyx",
                                        "$request.header.", "$request.header.a b", "$response.query.q", "url"])
def test_what_is_not_a_runtime_expression_is_refused(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expression, FACTS)


def test_a_template_may_mix_text_and_header_expressions() -> None:
    assert expand("{$request.header.X-Callback}/events", FACTS) == "https://hooks.example.com/events"
    assert expand("{$method}:{$statusCode}", FACTS) == "POST:201"


def test_a_bare_expression_key_is_evaluated_whole() -> None:
    assert expand("$request.body#/callbackUrl", FACTS) == "https://clientdomain.com/callback"
    assert expand("$url", FACTS) == FACTS.url


def test_numbers_and_booleans_expand_as_json_text() -> None:
    assert expand("{$request.body#/id}/{$request.body#/active}", FACTS) == "42/true"


@pytest.mark.parametrize("pointer, kind", [("/nested", "an object"), ("/successUrls", "an array"), ("/nothing", "null")])
def test_a_value_without_text_form_cannot_expand(pointer: str, kind: str) -> None:
    with pytest.raises(ExpressionError, match=f"the value is {kind}, where text is needed"):
        expand(f"https://x.example.com/{{$request.body#{pointer}}}", FACTS)


@pytest.mark.parametrize("template", ["https://x.example.com/{id}", "https://x.example.com/{$request.body#/id",
                                      "https://x.example.com/$request.body#/id}", "{{$method}}"])
def test_braces_without_a_runtime_expression_are_an_error(template: str) -> None:
    with pytest.raises(ExpressionError, match="runtime expression"):
        expand(template, FACTS)


def test_text_without_braces_or_dollar_is_kept_as_it_is() -> None:
    assert expand("https://x.example.com/fixed", FACTS) == "https://x.example.com/fixed"
