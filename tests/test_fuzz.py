"""Property-based fuzzing with schemathesis against real mocksrv processes.

Every bundled spec is fuzzed as `make run` serves it (fixtures, behaviours, strict mode), with
valid demo credentials, in positive and negative modes (`--mode all`), through schemathesis's examples,
coverage, fuzzing and stateful phases, and five checks: no 5xx, only documented statuses,
content types and headers, and bodies valid under the spec. Specs the engine was not written
for (tests/data) are fuzzed in open mode the same way, except that an invalid request to an
operation that documents no error response has to get some undocumented 4xx
(docs/decisions.md), so their negative run leaves out `status_code_conformance`.

The budget is per operation (`MOCKSRV_FUZZ_EXAMPLES`, default 15, and a fixed seed so CI is
repeatable); `make fuzz` runs a larger budget with a fresh seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from conftest import DATA
from conftest import SPECS
from conftest import MockServer
from mocksrv.openapi.specs import load_spec
from mocksrv.wire.media import is_form

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "use_after_free",
          "ensure_resource_availability")
# Each runs in a mode of its own, on the operations it can judge (docs/decisions.md, "Fuzzing"):
# valid data must be accepted (2xx, or 401/403/404/409/429) …
ACCEPTANCE = "positive_data_acceptance"
# … and invalid data refused (4xx)
REJECTION = "negative_data_rejection"
# The seed documents rules beyond its schema (docs/decisions.md, "Seed API behaviours"); a request made from the
# schema alone may break one and get the API's documented 400, so these operations are left out of ACCEPTANCE.
SEED_RULES = {
    "maildiver": ["sendEmail"],  # template_id cannot be used together with html
    "maxcare": ["EmailsPublicController_sendEmails",  # 'patientIds' or 'userIds' must contain at least one id
                "EmailsPublicController_getEmail"],  # 'id' must be a valid UUID (eml_ + 32 hex)
    "send-service": ["sendEmail"],  # an attachment's content must be valid base64
    "settings-mailer": ["sendMail"],  # at least one recipient
}
EXAMPLES = int(os.environ.get("MOCKSRV_FUZZ_EXAMPLES", "15"))
SEED = os.environ.get("MOCKSRV_FUZZ_SEED", "20261123")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# The default scenario's demo credentials (fixtures/default.yaml), so generated requests get past auth.
CREDENTIALS = {
    "maxcare": ["Authorization: Bearer mk_live_demo", "X-Organization-Id: org_demo"],
    "maildiver": ["Authorization: Bearer md_demo"],
    "settings-mailer": ["Authorization: Bearer sm_demo"],
    "send-service": ["X-API-Key: ss_demo"],
}
UNSEEN = [*sorted(DATA.glob("*.yaml")), DATA / "split" / "openapi.yaml", *sorted((DATA / "features").glob("*.yaml"))]


@dataclass
class FuzzRun:
    spec: Path
    base_url: str
    mode: str
    checks: tuple[str, ...]
    options: list[str]
    examples: int = EXAMPLES

    def run(self, report: Path) -> dict[str, t.Any]:
        """One `schemathesis run`; its JSON report, with the console output kept for the failure message."""
        command = [str(SCHEMATHESIS), "run", str(self.spec), "--url", self.base_url, "--checks", ",".join(self.checks),
                   "--mode", self.mode, "--max-examples", str(self.examples), "--seed", SEED, "--workers", "1",
                   "--phases", "examples,coverage,fuzzing,stateful", "--generation-database", "none",
                   "--request-timeout", "10", "--no-color", "--report", "json", "--report-json-path", str(report),
                   *self.options]
        # run in the report's folder: schemathesis keeps a cache folder in its working directory
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False, cwd=report.parent)
        assert report.exists(), f"schemathesis wrote no report (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        result: dict[str, t.Any] = json.loads(report.read_text())
        result["console"] = done.stdout
        return result


def base_urls(server: MockServer) -> dict[str, str]:
    apis = requests.get(server.url("/__mocksrv/apis"), timeout=10).json()["apis"]
    return {api["id"]: api["base_url"] for api in apis}


@pytest.fixture(scope="module")
def unseen_server() -> t.Iterator[MockServer]:
    mock = MockServer(*[arg for spec in UNSEEN for arg in ("--specs", str(spec))], "--strict")
    yield mock
    mock.stop()


def assert_clean(result: dict[str, t.Any], server: MockServer, tolerated: tuple[str, ...] = ()) -> None:
    """No failure, no error but those titled as in ``tolerated``, and the server still up."""
    cases = result["test_cases"]
    mode = result["command"].split("--mode ")[1].split()[0]
    print(f"\n{result['command'].split(' --')[0]} --mode {mode} --seed {result['seed']}: "
          f"{cases['generated']} cases, {len(result['failures'])} failures, {len(result['errors'])} errors")
    console = result["console"]
    errors = [error for error in result["errors"] if error.get("title") not in tolerated]
    clean_exit = result["exit_code"] == 0 or (not errors and result["errors"])
    assert clean_exit and not result["failures"] and not errors, (
        console[console.find("FAILURES"):][:6000] if "FAILURES" in console else console[-6000:])
    assert cases["generated"] > 0
    assert server.process is not None and server.process.poll() is None, "the server died under fuzzing"


def form_operations(spec: Path) -> list[str]:
    """Filters for the operations whose body is a form (multipart or urlencoded).

    They are left out of REJECTION: schemathesis writes a value of the wrong JSON type as text
    (``{}`` into a part, ``nums=0`` for an array of integers), which on the wire is a well-formed
    field the schema accepts; no server can tell it was meant as something else.
    """
    api = load_spec(spec)
    filters: list[str] = []
    for operation in api.operations:
        body, _ = api.deref(operation.spec.get("requestBody"))
        if isinstance(body, dict) and any(is_form(str(k)) for k in body.get("content") or {}):
            filters += (["--exclude-operation-id", operation.operation_id] if operation.operation_id
                        else ["--exclude-path", operation.template])
    return filters


def without(operation_ids: list[str]) -> list[str]:
    return [arg for operation_id in operation_ids for arg in ("--exclude-operation-id", operation_id)]


def bundled_runs() -> list[tuple[Path, str]]:
    """(spec, mode) pairs; ACCEPTANCE runs only where an operation is left once SEED_RULES are taken out."""
    runs = []
    for spec in sorted(SPECS.glob("*.yaml")):
        runs += [(spec, "all"), (spec, "negative")]
        if {op.key for op in load_spec(spec).operations} - set(SEED_RULES[spec.stem]):
            runs.append((spec, "positive"))
    return runs


@pytest.mark.parametrize("spec, mode", bundled_runs(), ids=lambda value: value.stem if isinstance(value, Path) else value)
def test_bundled_spec_survives_fuzzing(spec: Path, mode: str, module_server: MockServer, tmp_path: Path) -> None:
    headers = [arg for header in CREDENTIALS[spec.stem] for arg in ("-H", header)]
    if mode == "all":
        run = FuzzRun(spec, base_urls(module_server)[spec.stem], "all", CHECKS, headers)
    elif mode == "positive":
        run = FuzzRun(spec, base_urls(module_server)[spec.stem], mode, (ACCEPTANCE,),
                      headers + without(SEED_RULES[spec.stem]))
    else:
        run = FuzzRun(spec, base_urls(module_server)[spec.stem], mode, (REJECTION,),
                      headers + form_operations(spec))
    assert_clean(run.run(tmp_path / "report.json"), module_server)


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("spec", UNSEEN, ids=lambda path: path.stem)
def test_unseen_spec_survives_fuzzing(spec: Path, mode: str, unseen_server: MockServer, tmp_path: Path) -> None:
    # open mode accepts any credential of the right shape, and schemathesis generates those itself;
    # forms30's and choices30's `impossible` exist to prove that strict mode refuses a response no value can
    # satisfy (a schema no value fits; a oneOf of two identical branches)
    filters = ["--exclude-operation-id", "impossible"]
    if mode == "positive":
        checks = (*CHECKS, ACCEPTANCE)
    else:
        checks = (*(c for c in CHECKS if c != "status_code_conformance"), REJECTION)
        filters += form_operations(spec)
    run = FuzzRun(spec, base_urls(unseen_server)[spec.stem], mode, checks, filters)
    assert_clean(run.run(tmp_path / "report.json"), unseen_server)
