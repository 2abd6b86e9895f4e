"""The public spec corpus (tests/data/public/manifest.yaml): real vendors' documents, served.

The documents are not in this repository (tests/data/public/SOURCES.md says why and where
they come from); the tests run where a folder holds them: ``MOCKSRV_CORPUS``, else
``../shared/openapi-corpus`` beside the checkout, and skip otherwise. Each file must be the
catalogued one (its SHA-256). ``make fuzz-corpus`` also runs schemathesis on every one.
"""

from __future__ import annotations

import hashlib
import os
import typing as t
from pathlib import Path

import pytest
import yaml

from conftest import DATA
from conftest import ROOT
from conftest import MockServer
from mocksrv.engine.security import credential_place
from mocksrv.engine.security import place_credential
from mocksrv.errors import SpecError
from mocksrv.openapi.specs import load_spec

MANIFEST = yaml.safe_load((DATA / "public" / "manifest.yaml").read_text())["files"]
CORPUS = Path(os.environ.get("MOCKSRV_CORPUS") or ROOT.parent / "shared" / "openapi-corpus")
FUZZ = os.environ.get("MOCKSRV_CORPUS_FUZZ") == "1"
BIG_DOCUMENT = 1_000_000  # bytes
BIG_EXAMPLES = 5
# documents refused at load, each with the reason (docs/decisions.md, "Lenient loading"); none now
REFUSED: dict[str, str] = {}

# schemathesis checks no answer can pass on a document, per mode ("any" for both), each with the
# reason (docs/decisions.md, "Fuzzing"); "operation:ID" leaves that one operation out instead
EXCEPTIONS: dict[str, list[tuple[str, str, str]]] = {
    "petstore-v2.json": [("any", "content_type_conformance",
                          "a 2.0 204 without a schema has no body, yet schemathesis wants the global produces' type")],
    "netlify.yaml": [("any", "content_type_conformance", "the same: 2.0 responses without a schema, a global produces")],
    "docker-engine.yaml": [("any", "content_type_conformance",
                            "the same, and its error examples are JSON where the operation produces streams"),
                           ("negative", "negative_data_rejection",
                            "its invalid values are a Content-type header parameter OpenAPI 3 ignores and a "
                            "string body of text or bytes, which any value written on the wire is")],
    "box.json": [("positive", "operation:get_search",
                  "schemathesis writes its array of objects `mdfilters` as Python's repr, which no server reads")],
    "sendgrid.json": [("any", "content_type_conformance", "the same as the other 2.0 documents: 204s without a "
                       "schema, where schemathesis wants the global produces' type"),
                      *(("positive", f"operation:{operation}", "its own example sends \"\" for "
                         "email_config.custom_unsubscribe_url, whose `format: uri` no empty string meets")
                        for operation in ("POST_marketing-singlesends", "PATCH_marketing-singlesends-id")),
                      ("any", "operation:POST_whitelabel-links-id-validate", "a 2.0 document writing 3.0's "
                       "`nullable: true`: mocksrv reads what the author meant, schemathesis reads 2.0 (no null)"),
                      ("negative", "operation:GET_suppression-bounces", "its required `Accept` header parameter is "
                       "one OpenAPI says to ignore: leaving it out is no invalid request")],
    "vonage-sms.yaml": [("positive", "response_schema_conformance",
                         "its 200 is oneOf two schemas that every object matches (no required field, no other type)")],
    "twilio-messaging.json": [("positive", "use_after_free",
                               "it declares no 404 anywhere: a record never made is answered as a stateless mock")],
    "openai.json": [
        *(("any", f"operation:{operation}", "its discriminators have no mapping, so their values must be schema names, "
           "while each branch fixes another value (`type: active` in ActiveStatus): no answer can be both")
          for operation in ("GetThreadMethod", "ListThreadItemsMethod", "listConversationItems", "getConversationItem",
                            "usage-costs", "usage-audio-speeches", "usage-audio-transcriptions",
                            "usage-code-interpreter-sessions", "usage-completions", "usage-embeddings",
                            "usage-file-search-calls", "usage-images", "usage-moderations", "usage-vector-stores",
                            "usage-web-search-calls", "listInputItems", "beta_listInputItems",
                            "Createcontentprovenancecheck", "createConversationItems",
                            "create-realtime-client-secret", "Compactconversation", "beta_Compactconversation")),
        *(("any", f"operation:{operation}", "its container schema lists names twice in `required`, which schemathesis "
           "refuses as a schema (a Schema Error); mocksrv reads each once")
          for operation in ("RetrieveContainer", "CreateContainer")),
        ("positive", "use_after_free", "it declares 404 on 6 of its 288 operations (none on voice consents): a record "
         "deleted is answered as a stateless mock would"),
        *(("any", f"operation:{operation}", "its path is written with a query (`/responses?beta=true`); mocksrv routes "
           "by the path alone, so the twin without the query answers, by its own schema")
          for operation in ("beta_createResponse", "beta_getResponse", "beta_deleteResponse", "beta_cancelResponse",
                            "beta_Compactconversation", "beta_listInputItems", "beta_Getinputtokencounts")),
    ],
    "linode.yaml": [
        ("any", "response_schema_conformance", "its pages are allOf parts each closed (additionalProperties false) to "
         "the other's properties: no answer meets the document as written; mocksrv reads them open"),
        *(("positive", f"operation:{operation}", "its body is allOf parts each closed to the other's properties, so "
           "schemathesis can make no body (a Schema Error); mocksrv reads them open")
          for operation in ("post-linode-instance", "post-rebuild-linode-instance", "post-rebuild-node-balancer-config")),
        ("any", "operation:get-volume", "its link `attach` names a parameter `volumeID` that the attach operation "
         "does not have (schemathesis: an invalid links definition)"),
        ("positive", "operation:get-linode-instances", "schemathesis writes its X-Filter header object as Python's repr "
         "(`{'+lte': 'x'}`), which no server reads"),
    ],
    "stripe.json": [
        ("positive", "positive_data_acceptance", "schemathesis writes a form's array of objects as the objects' keys "
         "(`items=price&items=quantity`, the values lost) and map keys holding brackets unescaped "
         "(`metadata[a]b]=x`), which no server can read back"),
        ("positive", "ensure_resource_availability", "schemathesis takes an update (`POST /v1/refunds/{refund}`) for a "
         "creation; an update of a record never made is answered as a stateless mock would, leaving nothing to find"),
        ("positive", "operation:PostChargesChargeRefundsRefund", "schemathesis sends `charge` empty, so the URL "
         "`/v1/charges//refunds/0` arrives as `/v1/charges/refunds/0`: another operation's path"),
    ],
    "govuk-pay.json": [("negative", "negative_data_rejection",
                        "an optional header of non-ASCII bytes never reaches mocksrv (granian drops it): it is absent")],
}


def excepted(file: str, mode: str) -> set[str]:
    return {check for when, check, _ in EXCEPTIONS.get(file, []) if when in ("any", mode)}


def excepted_operations(file: str, mode: str) -> list[str]:
    return [arg for check in sorted(excepted(file, mode)) if check.startswith("operation:")
            for arg in ("--exclude-operation-id", check.partition(":")[2])]


pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no spec corpus at {CORPUS} (set MOCKSRV_CORPUS)")


def corpus_files() -> list[t.Any]:
    return [pytest.param(entry, id=entry["file"]) for entry in MANIFEST]


@pytest.mark.parametrize("entry", corpus_files())
def test_each_document_is_the_catalogued_one_and_loads(entry: dict[str, t.Any]) -> None:
    path = CORPUS / entry["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], f"{path} is not the catalogued file"
    if entry["file"] in REFUSED:
        with pytest.raises(SpecError) as refused:
            load_spec(path)
        assert str(refused.value).startswith(str(path)) and "\n" not in str(refused.value)
        return
    api = load_spec(path)
    assert api.operations or entry["file"] == "webhook-example.yaml"  # a 3.1 document of webhooks only


def credentials(spec: Path) -> list[str]:
    """A credential of the right shape in every header the spec's security schemes read, as a user of the
    API sends one (mocksrv runs in open mode: any well-formed credential is let in). schemathesis
    sends none for some schemes (Swagger 2.0 oauth2) and would test only the 401 the spec leaves out."""
    headers: dict[str, str] = {}
    for scheme in load_spec(spec).security_schemes.values():
        place = credential_place(scheme)
        if place is not None and place.location == "header":
            _, name, value = place_credential(place, "corpus:secret" if place.prefix == "basic" else "corpus-secret")
            headers.setdefault(name, value)
    return [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]


# the body media types schemathesis can write (its built-in serializers)
WRITABLE = ("json", "yaml", "x-www-form-urlencoded", "form-data", "text/plain", "xml", "octet-stream", "*/*")


def _writable_body(api: t.Any, operation: t.Any) -> bool:
    """Whether schemathesis can write some body the operation takes (Docker's `POST /images/load`
    takes only `application/x-tar`: "No supported serializers", an error of the run itself)."""
    body, _ = api.deref(operation.spec.get("requestBody"))
    content = body.get("content") if isinstance(body, dict) else None
    return not content or any(any(kind in str(media) for kind in WRITABLE) for media in content)


def distinct(filters: list[str]) -> list[str]:
    """Option pairs without repeats: schemathesis refuses an operation excluded twice (a form body
    that schemathesis cannot write either)."""
    pairs = dict.fromkeys(zip(filters[::2], filters[1::2], strict=True))
    return [arg for pair in pairs for arg in pair]


def _bodied_204(api: t.Any, operation: t.Any) -> bool:
    """Whether the only success is a 204 that declares a body (SendGrid's 2.0 deletes): HTTP gives a 204
    no content (RFC 9110, 15.3.5), so mocksrv sends none, and schemathesis wants the body's JSON."""
    responses = operation.spec.get("responses") or {}
    successes = [str(code) for code in responses if str(code).startswith("2")]
    response, _ = api.deref(responses.get("204") or responses.get(204) or {})
    return successes == ["204"] and bool((response or {}).get("content"))


def _no_success(operation: t.Any) -> bool:
    """Whether the operation declares no 2xx, 3xx or default (SendGrid's SSO operations): a valid request can
    only get an error it declares, which the positive run counts as refused."""
    return not any(str(code)[0] in "23" or str(code) == "default" for code in operation.spec.get("responses") or {})


def unreachable_operations(spec: Path) -> list[str]:
    """Filters for the operations no HTTP request reaches as written: those whose only success is
    ``101 Switching Protocols`` (Docker's attach and session hijacks: no mock speaks the protocol
    switched to, and schemathesis wants a 2xx), and paths with a ``#fragment`` (Box's
    ``/shared_items#folders``: a client never sends the fragment, so the URL is the path without
    it, and schemathesis judges its answer by the other operation's schema), and bodies only of
    media types schemathesis cannot write, a 204 that declares a body, and no success at all."""
    filters: list[str] = []
    api = load_spec(spec)
    for operation in api.operations:
        codes = [str(code) for code in operation.spec.get("responses") or {}]
        switching = "101" in codes and not any(code.startswith("2") for code in codes)
        if switching or "#" in operation.template or not _writable_body(api, operation) or _bodied_204(api, operation) \
                or _no_success(operation):
            filters += (["--exclude-operation-id", operation.operation_id] if operation.operation_id
                        else ["--exclude-path", operation.template])
    return filters


@pytest.mark.skipif(not FUZZ, reason="schemathesis on the corpus runs in `make fuzz-corpus`")
@pytest.mark.parametrize("entry", [e for e in corpus_files() if e.values[0]["file"] not in REFUSED])
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_each_document_survives_fuzzing(entry: dict[str, t.Any], mode: str, tmp_path: Path) -> None:
    from test_fuzz import ACCEPTANCE
    from test_fuzz import CHECKS
    from test_fuzz import EXAMPLES
    from test_fuzz import REJECTION
    from test_fuzz import FuzzRun
    from test_fuzz import assert_clean
    from test_fuzz import base_urls
    from test_fuzz import form_operations

    spec = CORPUS / entry["file"]
    if not load_spec(spec).operations:
        pytest.skip("a document of webhooks only: no operation to call")
    mock = MockServer("--specs", str(spec), "--strict", timeout=120.0)
    try:
        checks = (*CHECKS, ACCEPTANCE) if mode == "positive" else (
            *(c for c in CHECKS if c != "status_code_conformance"), REJECTION)
        checks = tuple(c for c in checks if c not in excepted(entry["file"], mode))  # operation: ones match none
        # a form field of the wrong JSON type is well-formed text on the wire (docs/decisions.md, "Fuzzing")
        forms = form_operations(spec) if mode == "negative" else []
        if len(forms) == 2 * len(load_spec(spec).operations):
            pytest.skip("every operation takes a form: nothing for the negative run")
        # a health check is about schemathesis' own generator (it could not make data fast enough), not the server
        filters = ["--suppress-health-check", "all", *credentials(spec), *distinct([*forms, *unreachable_operations(spec),
                                                  *excepted_operations(entry["file"], mode)])]
        # the megabyte documents have 300-400 operations: fewer examples each keeps a run under ten minutes
        examples = BIG_EXAMPLES if spec.stat().st_size > BIG_DOCUMENT else EXAMPLES
        run = FuzzRun(spec, base_urls(mock)[spec.stem], mode, checks, filters, examples)
        # a Schema Error in the negative run is an operation schemathesis can make no invalid request for
        # (Box's DELETE /folders/{folder_id}/trash: one path string, which any value is)
        assert_clean(run.run(tmp_path / "report.json"), mock, ("Schema Error",) if mode == "negative" else ())
    finally:
        mock.stop()
