"""The web console (issue 8) and the admin lock-down (issue 6).

Browser tests drive Debian's chromium through Playwright against a real server process and
assert what a person sees; with MOCKSRV_SCREENSHOTS set to a folder (`make screenshots` sets docs/screenshots/) they also
write the screenshots (1280×800); the suite alone writes nothing into the checkout.
HTTP tests check what a browser would be refused: cross-site state changes, CORS, sign-in.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from conftest import restore
from mocksrv import Options
from mocksrv import create_app

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser
    from playwright.sync_api import Page

SCREENSHOTS = os.environ.get("MOCKSRV_SCREENSHOTS")
UI = "/__mocksrv/ui"
MD_KEY = {"Authorization": "Bearer md_demo"}
SM_KEY = {"Authorization": "Bearer sm_demo"}
HOSTILE_HTML = (
    "<h1 id='greeting'>Hello Ada</h1><p>Thanks for signing up.</p>"
    "<img alt='tracking pixel' src='{base}/pixel-probe.gif'>"
    "<script>document.getElementById('greeting').textContent = 'PWNED';"
    "try {{ parent.document.title = 'PWNED'; }} catch (e) {{}}"
    "fetch('{base}/__mocksrv/faults', {{method: 'POST', body: JSON.stringify({{status: 500}})}});"
    "fetch('{base}/__mocksrv/reset', {{method: 'POST'}});</script>"
)


@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    """A server of this module's own: its tests switch scenarios and move the clock."""
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--strict",
                        "--clock-start", "2026-03-25T10:00:00Z")
    yield server
    server.stop()


@pytest.fixture()
def page(browser: Browser, mock: MockServer) -> t.Iterator[Page]:
    """A fresh browser tab at 1280×800 on a server back at the default scenario, journal empty."""
    restore(mock)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=mock.base_url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))


def send_maildiver(mock: MockServer, **fields: t.Any) -> requests.Response:
    body = {"from": "Team <team@example.com>", "to": "ada@example.com", "subject": "Hi", "html": "<p>Hi</p>",
            **fields}
    return requests.post(mock.url("/maildiver/v1/emails"), json=body, headers=MD_KEY, timeout=10)


def eventually(check: t.Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for something the browser set off to reach the server (short polls, no long sleeps)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def journal(mock: MockServer, **params: t.Any) -> list[dict[str, t.Any]]:
    found = requests.get(mock.url("/__mocksrv/requests"), params=params, timeout=10).json()["requests"]
    return t.cast(list[dict[str, t.Any]], found)


# ---------------------------------------------------------------- APIs


def test_apis_page_shows_each_api_and_curl_lines_that_work_as_they_are(page: Page, mock: MockServer) -> None:
    from playwright.sync_api import expect

    page.goto(f"{UI}/apis")
    expect(page).to_have_title(re.compile("APIs"))
    for title in ("Send Email API", "Max AI Public API", "Settings Mailer API"):
        expect(page.get_by_role("heading", name=re.compile(title), level=2)).to_be_visible()
    maildiver = page.locator("#api-maildiver")
    expect(maildiver.get_by_text(f"{mock.base_url}/maildiver/v1", exact=True)).to_be_visible()
    expect(maildiver.get_by_text("HTTP bearer token in Authorization")).to_be_visible()
    keys = maildiver.locator("table").first
    expect(keys).to_contain_text("md…")  # masked but for a prefix
    assert "md_demo" not in keys.inner_text()
    screenshot(page, "apis")

    lines = page.get_by_test_id("curl").all_inner_texts()
    assert len(lines) == 7  # every operation of the four seed APIs
    assert any("Authorization: Bearer md_demo" in line for line in lines)  # a real key of the scenario
    for line in lines:
        result = subprocess.run(["bash", "-c", f"{line} -o /dev/null -w '%{{http_code}}'"], capture_output=True,
                                text=True, timeout=20, check=False)
        assert result.stdout.startswith("2"), f"{line}\n→ {result.stdout} {result.stderr}"
    sent = journal(mock, api="maildiver")
    assert sent and all(entry["valid"] for entry in sent)


# ---------------------------------------------------------------- Requests


def test_requests_page_shows_new_requests_live_and_explains_what_is_wrong(page: Page, mock: MockServer) -> None:
    from playwright.sync_api import expect

    page.goto(f"{UI}/requests")
    rows = page.locator("#request-rows tr")
    expect(rows.first).to_contain_text("No requests yet")
    assert send_maildiver(mock, subject="Live one").status_code == 201
    expect(rows.first).to_contain_text("/maildiver/v1/emails")  # the page refreshed itself, no reload
    expect(rows.first).to_contain_text("201")
    assert send_maildiver(mock, to=None, subject=None).status_code == 400
    requests.get(mock.url("/maxcare/v3/emails/eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"),
                 headers={"Authorization": "Bearer mk_live_demo"}, timeout=10)
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("'X-Organization-Id' is required")
    expect(rows.nth(1)).to_contain_text("invalid")
    screenshot(page, "requests")

    page.get_by_label("Validity").select_option("false")  # submits the filter form by itself
    expect(page).to_have_url(re.compile(r"valid=false"))
    expect(rows).to_have_count(2)
    page.get_by_label("Text").fill("organization")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    page.get_by_label("Text").fill("")
    page.get_by_label("API").select_option("maildiver")
    expect(rows).to_have_count(1)

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("/maildiver/v1/emails")
    expect(page.get_by_text("invalid request")).to_be_visible()
    flagged = page.locator(".annotated .has-note")
    # each error sits on the line of its field: a wrong value on its own line, a missing field on its object
    expect(flagged.filter(has_text='"to": null')).to_contain_text("to does not match any allowed form")
    expect(flagged.filter(has_text='"subject": null')).to_contain_text("subject")
    expect(page.get_by_role("heading", name=re.compile("Response sent"))).to_contain_text("400")
    expect(page.get_by_role("cell", name="Bearer …")).to_be_visible()  # the credential stays masked
    expect(page.get_by_text("Handled in")).to_be_visible()


# ---------------------------------------------------------------- Outbox


def test_outbox_lists_emails_and_previews_html_without_running_it(page: Page, mock: MockServer) -> None:
    from playwright.sync_api import expect

    hostile = HOSTILE_HTML.format(base=mock.base_url)
    sent = send_maildiver(mock, to=["ada@example.com", "bob@example.com"], cc="carol@example.com",
                          subject="Welcome aboard", html=hostile, text="Hello Ada, thanks for signing up.",
                          attachments=[{"filename": "invoice.pdf", "content": "JVBERi0xLjQK",
                                        "content_type": "application/pdf"}])
    assert sent.status_code == 201
    requests.post(mock.url("/send-service/api/v1/send"), headers={"X-API-Key": "ss_demo"}, timeout=10,
                  json={"to": "dan@example.com", "subject": "Your receipt", "html": "<p>Paid</p>"})

    page.goto(f"{UI}/outbox")
    rows = page.locator("table.outbox tbody tr")
    expect(rows.first).to_contain_text("Welcome aboard")  # newest first, across APIs
    expect(rows.first).to_contain_text("maildiver")
    expect(rows.first).to_contain_text("queued")
    expect(page.get_by_role("row").filter(has_text="Your receipt")).to_contain_text("send-service")
    expect(page.get_by_role("row").filter(has_text="Your upcoming appointment")).to_contain_text("maxcare")
    expect(page.get_by_role("row").filter(has_text="Service Update")).to_contain_text("settings-mailer")

    page.get_by_role("link", name="Welcome aboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome aboard")
    title = page.title()
    expect(page.get_by_role("row", name=re.compile("Cc carol@example.com"))).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("invoice.pdf"))).to_contain_text("9 bytes")
    expect(page.locator(".timeline")).to_contain_text("queued")

    frame_element = page.locator("iframe.preview")
    sandbox = frame_element.get_attribute("sandbox")
    assert sandbox is not None and "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    assert urlsplit(str(frame_element.get_attribute("src"))).path.startswith("/__mocksrv/preview/")
    preview = page.frame_locator("iframe.preview")
    expect(preview.locator("h1")).to_have_text("Hello Ada")  # the email's script did not run
    assert page.title() == title != "PWNED"
    assert journal(mock, path="pixel-probe") == []  # remote images wait for a click (the server never saw it)
    assert requests.get(mock.url("/__mocksrv/faults"), timeout=10).json()["faults"] == []
    assert journal(mock, operationId="sendEmail", api="maildiver")  # no reset emptied the journal
    expect(page.get_by_text("Hello Ada, thanks for signing up.", exact=True)).to_be_visible()  # the text version
    screenshot(page, "outbox")

    with page.expect_request(lambda request: "pixel-probe" in request.url):
        page.get_by_role("link", name="Load remote images").click()
    eventually(lambda: bool(journal(mock, path="pixel-probe")))  # now the image was fetched from the server
    expect(preview.locator("h1")).to_have_text("Hello Ada")
    page.get_by_text("Raw source").click()
    expect(page.get_by_label("Raw source")).to_contain_text("Subject: Welcome aboard")


def test_the_console_switches_between_sessions(page: Page, mock: MockServer) -> None:
    from playwright.sync_api import expect

    made = requests.post(mock.url("/__mocksrv/sessions"), json={"id": "console-t1", "scenario": "rate_limited"},
                         timeout=10)
    assert made.status_code == 201
    sent = requests.post(made.json()["apis"]["maildiver"] + "/emails", headers=MD_KEY, timeout=10,
                         json={"from": "a@example.com", "to": "b@example.com", "subject": "Only in t1",
                               "html": "<p>t1</p>"})
    assert sent.status_code == 201
    page.goto(f"{UI}/outbox")
    expect(page.locator("table.outbox")).not_to_contain_text("Only in t1")  # the server's own world
    page.get_by_test_id("session").select_option("console-t1")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("scenario")).to_have_text("rate_limited")
    page.goto(f"{UI}/outbox")
    expect(page.locator("table.outbox")).to_contain_text("Only in t1")
    page.get_by_role("link", name="Only in t1").click()
    expect(page.frame_locator("iframe.preview").locator("p")).to_have_text("t1")  # the session's message
    page.goto(f"{UI}/requests")
    expect(page.locator("table tbody tr")).to_have_count(1)  # the session's journal
    page.get_by_test_id("session").select_option("")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("scenario")).to_have_text("default")
    requests.delete(mock.url("/__mocksrv/sessions/console-t1"), timeout=10)


# ---------------------------------------------------------------- Records and Controls


def test_records_page_browses_any_collection(page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{UI}/records")
    page.locator("section", has_text="maxcare").get_by_role("link", name="patients").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("maxcare · patients")
    expect(page.get_by_text("5 records")).to_be_visible()
    expect(page.get_by_text("pat_8de030393a9e417ab2b3a8b8df183631").first).to_be_visible()


def test_controls_switch_scenario_move_clock_and_inject_faults(page: Page, mock: MockServer) -> None:
    from playwright.sync_api import expect

    history = mock.url("/settings-mailer/api/settings/mail-history/456")
    assert requests.get(history, headers=SM_KEY, timeout=10).status_code == 200
    page.goto(f"{UI}/controls")
    page.get_by_label(re.compile("^revoked_key")).check()
    page.get_by_role("button", name="Switch scenario").click()
    expect(page.get_by_role("status")).to_contain_text("Scenario switched")
    expect(page.get_by_test_id("scenario")).to_have_text("revoked_key")
    assert requests.get(history, headers=SM_KEY, timeout=10).status_code == 401  # the next answer changed

    page.get_by_label("Advance by (seconds)").fill("3600")
    page.get_by_role("button", name="Advance").click()
    expect(page.get_by_role("status")).to_contain_text("Clock moved")
    expect(page.locator(".state")).to_contain_text("2026-03-25 11:00")

    page.get_by_label("API", exact=True).select_option("send-service")
    page.get_by_label("Answer with status").fill("503")
    page.get_by_label("Times").fill("1")
    page.get_by_role("button", name="Add fault").click()
    expect(page.get_by_role("status")).to_contain_text("Fault added")
    expect(page.get_by_role("list", name="Active faults")).to_contain_text("send-service: answers 503")
    screenshot(page, "controls")
    answer = requests.post(mock.url("/send-service/api/v1/send"), json={"to": "a@example.com", "subject": "s"},
                           headers={"X-API-Key": "ss_demo"}, timeout=10)
    assert answer.status_code == 503

    page.get_by_label("API", exact=True).select_option("maildiver")
    page.get_by_label("Operation").fill("noSuchOperation")  # the admin API's own check says what is wrong
    page.get_by_label("Answer with status").fill("503")
    page.get_by_role("button", name="Add fault").click()
    expect(page.get_by_role("alert")).to_contain_text("API 'maildiver' has no operation 'noSuchOperation'")
    expect(page.get_by_label("Operation")).to_have_value("noSuchOperation")  # the form keeps what was typed
    page.get_by_role("button", name="Reset to the scenario").click()
    expect(page.get_by_role("status")).to_contain_text("Back to the scenario's state")
    assert requests.get(mock.url("/__mocksrv/scenarios"), timeout=10).json()["current"] == "revoked_key"


def test_pages_fit_a_narrow_window_and_label_every_control(page: Page, mock: MockServer) -> None:
    from playwright.sync_api import expect

    send_maildiver(mock, subject="Narrow")
    page.set_viewport_size({"width": 390, "height": 844})
    unlabelled = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map(el => el.outerHTML)"""
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    outbox_message = requests.get(mock.url("/__mocksrv/apis/maildiver/records/emails"), timeout=10).json()
    message_path = f"{UI}/outbox/maildiver/{outbox_message['records'][0]['id']}"
    entry_id = journal(mock)[0]["id"]
    for path in ("/apis", "/requests", f"/requests/{entry_id}", "/outbox", "/webhooks", "/records", "/controls"):
        page.goto(UI + path)
        expect(page.get_by_role("navigation", name="Console sections")).to_be_visible()
        assert page.evaluate(overflow) <= 0, f"{path} scrolls sideways at 390 px"
        assert page.evaluate(unlabelled) == [], path
    page.goto(message_path)
    assert page.evaluate(overflow) <= 0
    page.set_viewport_size({"width": 1280, "height": 800})
    for path in ("/apis", "/requests", "/outbox", "/controls", message_path[len(UI):]):
        page.goto(UI + path)
        assert page.evaluate(overflow) <= 0, f"{path} scrolls sideways at 1280 px"


# ---------------------------------------------------------------- Webhooks


def test_webhook_deliveries_show_beside_their_request_and_message(page: Page, mock: MockServer) -> None:
    from playwright.sync_api import expect

    from mocksrv.receiver import WebhookReceiver

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    with WebhookReceiver(statuses=(503, 204)) as hooks:
        requests.post(mock.url("/__mocksrv/clock"), json={"frozen": True}, timeout=10)
        made = requests.post(mock.url("/__mocksrv/apis/send-service/webhooks"), timeout=10,
                             json={"url": hooks.url + "/hooks", "events": ["delivered"], "secret": secret})
        assert made.status_code == 201
        sent = requests.post(mock.url("/send-service/api/v1/send"), headers={"X-API-Key": "ss_demo"}, timeout=10,
                             json={"to": "dan@example.com", "subject": "Hooked", "text": "x", "metadata": {"o": 1}})
        email_id = sent.json()["email_id"]
        requests.post(mock.url("/__mocksrv/clock"), json={"advance_seconds": 10}, timeout=10)
        hooks.wait_for(1)
        requests.post(mock.url("/__mocksrv/clock"), json={"advance_seconds": 5}, timeout=10)  # the retry
        hooks.wait_for(2)

    page.goto(f"{UI}/webhooks")
    expect(page).to_have_title(re.compile("Webhooks"))
    row = page.locator("table.deliveries tbody tr").first
    expect(row).to_contain_text("delivered")  # the event
    expect(row.locator(".badge")).to_have_text("delivered", timeout=5_000)  # the state, after a retry
    expect(row).to_contain_text("204")
    expect(page.get_by_text(secret)).to_have_count(0)  # the secret is never on a page
    page.goto(f"{UI}/records")
    expect(page.get_by_role("link", name="mocksrv-webhooks")).to_have_count(0)
    page.goto(f"{UI}/records/send-service/mocksrv-webhooks")
    expect(page.get_by_text(secret)).to_have_count(0)
    page.goto(f"{UI}/webhooks")
    page.get_by_text("Payload and attempts").first.click()
    expect(page.locator("table.attempts tbody tr")).to_have_count(2)
    expect(page.locator("table.attempts")).to_contain_text("503")
    expect(page.locator("pre.code").first).to_contain_text(email_id)

    page.goto(f"{UI}/outbox/send-service/{email_id}")
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    expect(page.locator("table.deliveries")).to_contain_text("delivered")

    entry_id = journal(mock, api="send-service")[0]["id"]
    page.goto(f"{UI}/requests/{entry_id}")
    expect(page.get_by_role("heading", name="Webhooks it set off")).to_be_visible()
    expect(page.locator("table.deliveries")).to_contain_text(hooks.url)
    screenshot(page, "webhooks")


# ---------------------------------------------------------------- lock-down (issue 6)


def test_admin_and_console_answer_without_cors_headers(mock: MockServer) -> None:
    evil = {"Origin": "https://evil.example"}
    preflight = {**evil, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    for method, path, headers in [("GET", "/__mocksrv/health", evil), ("GET", "/__mocksrv/requests", evil),
                                  ("OPTIONS", "/__mocksrv/reset", preflight), ("GET", f"{UI}/apis", evil),
                                  ("OPTIONS", f"{UI}/controls/reset", preflight), ("POST", "/__mocksrv/reset", evil),
                                  ("GET", "/__mocksrv/preview/maildiver/x?sig=bad", evil)]:
        response = requests.request(method, mock.url(path), headers=headers, timeout=10, allow_redirects=False)
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], (method, path)


def test_cross_site_state_changes_are_refused(mock: MockServer) -> None:
    restore(mock)
    reset = mock.url("/__mocksrv/reset")
    # the "simple request" a page on another site can send without a preflight
    refused = requests.post(reset, data="{}", headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
                            timeout=10)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "cross-site request refused" in refused.json()["detail"]
    switched = requests.put(mock.url("/__mocksrv/scenario"), json={"name": "empty"}, timeout=10,
                            headers={"Origin": "http://localhost.evil.example:80"})
    assert switched.status_code == 403
    assert requests.delete(mock.url("/__mocksrv/faults"), headers={"Origin": "null"}, timeout=10).status_code == 403
    fetched = requests.post(reset, headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
    assert fetched.status_code == 403 and "cross-site" in fetched.json()["detail"]
    assert requests.get(mock.url("/__mocksrv/scenarios"), timeout=10).json()["current"] == "default"
    # the server's own pages, and clients that are not browsers, still may
    assert requests.post(reset, headers={"Origin": mock.base_url, "Sec-Fetch-Site": "same-origin"},
                         timeout=10).status_code == 200
    assert requests.post(reset, timeout=10).status_code == 200
    # reading is not a state change (and without CORS another site cannot read the answer)
    assert requests.get(mock.url("/__mocksrv/health"), headers={"Origin": "https://evil.example"},
                        timeout=10).status_code == 200


def test_console_forms_need_proof_they_come_from_the_console(mock: MockServer) -> None:
    form = mock.url(f"{UI}/controls/clock")
    data = {"action": "advance", "seconds": "1"}
    no_proof = requests.post(form, data=data, timeout=10, allow_redirects=False)
    assert no_proof.status_code == 403 and "console's own pages" in no_proof.json()["detail"]
    assert requests.post(form, data=data, headers={"Origin": "https://evil.example"}, timeout=10,
                         allow_redirects=False).status_code == 403
    assert requests.post(form, data=data, headers={"Referer": "https://evil.example/x"}, timeout=10,
                         allow_redirects=False).status_code == 403
    own = requests.post(form, data=data, headers={"Origin": mock.base_url}, timeout=10, allow_redirects=False)
    assert own.status_code == 303 and own.headers["Location"].endswith("/controls?done=clock")
    assert requests.post(form, data=data, headers={"Referer": mock.url(f"{UI}/controls")}, timeout=10,
                         allow_redirects=False).status_code == 303


def test_requests_naming_another_host_are_refused_without_a_token(mock: MockServer) -> None:
    """A page whose name was re-pointed at 127.0.0.1 (DNS rebinding) is a local client with a foreign Host."""
    port = urlsplit(mock.base_url).port
    rebound = requests.get(mock.url("/__mocksrv/requests"), headers={"Host": f"rebind.evil.example:{port}"},
                           timeout=10)
    assert rebound.status_code == 403 and "loopback name" in rebound.json()["detail"]
    assert requests.get(mock.url(f"{UI}/apis"), headers={"Host": f"rebind.evil.example:{port}"},
                        timeout=10).status_code == 403
    assert requests.get(mock.url("/__mocksrv/health"), headers={"Host": f"localhost:{port}"},
                        timeout=10).status_code == 200


def test_preview_is_signed_sandboxed_and_outside_the_console_cookie(mock: MockServer) -> None:
    restore(mock)
    send_maildiver(mock, subject="Signed", html="<p>signed</p><script>x()</script>")
    email_id = journal(mock, api="maildiver")[0]["response"]["body"]["id"]
    page = requests.get(mock.url(f"{UI}/outbox/maildiver/{email_id}"), timeout=10).text
    src = re.search(r'<iframe[^>]* src="([^"]+)"', page)
    assert src is not None and 'sandbox=""' in page
    preview = requests.get(mock.url(src.group(1).replace("&amp;", "&")), timeout=10)
    assert preview.status_code == 200 and "<script>x()</script>" in preview.text  # served as is, but inert:
    policy = preview.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'unsafe-inline'; img-src data:;")
    assert "sandbox" in policy and "script-src" not in policy
    assert preview.headers["X-Content-Type-Options"] == "nosniff"
    with_images = requests.get(mock.url(src.group(1).replace("&amp;", "&") + "&images=1"), timeout=10)
    assert "img-src data: http: https:" in with_images.headers["Content-Security-Policy"]
    forged = requests.get(mock.url(f"/__mocksrv/preview/maildiver/{email_id}?sig=0000"), timeout=10)
    assert forged.status_code == 403


def test_admin_token_sign_in_form_sets_a_strict_cookie_for_the_console_only() -> None:
    app = create_app(Options(specs=[SPECS], fixtures=FIXTURES, admin_token="s3cret-token"))
    client = app.test_client()
    outside = {"REMOTE_ADDR": "203.0.113.7"}  # with a token, remote browsers may use the console
    to_login = client.get(f"{UI}/apis", environ_base=outside)
    assert to_login.status_code == 303 and "/__mocksrv/ui/login?next=" in to_login.headers["Location"]
    assert client.get(f"{UI}/requests/rows", environ_base=outside).status_code == 401  # a script's fetch
    own = {"Origin": "http://localhost"}
    wrong = client.post(f"{UI}/login", data={"token": "guess", "next": f"{UI}/outbox"}, headers=own,
                        environ_base=outside)
    assert wrong.status_code == 401 and "not the admin token" in wrong.get_data(as_text=True)
    assert client.post(f"{UI}/login", data={"token": "s3cret-token"}, environ_base=outside).status_code == 403
    signed = client.post(f"{UI}/login", data={"token": "s3cret-token", "next": f"{UI}/outbox"}, headers=own,
                         environ_base=outside)
    assert signed.status_code == 303 and signed.headers["Location"] == f"{UI}/outbox"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/__mocksrv/ui" in cookie
    assert "s3cret-token" not in cookie  # a value derived from the token, not the token
    assert client.get(f"{UI}/apis", environ_base=outside).status_code == 200
    # the cookie opens the console only, never the admin API
    session = cookie.split(";")[0]
    assert client.get("/__mocksrv/apis", headers={"Cookie": session}, environ_base=outside).status_code == 401
    assert client.post(f"{UI}/login", data={"token": "x", "next": "https://evil.example/"}, headers=own,
                       environ_base=outside).status_code == 401
    redirected = client.post(f"{UI}/login", data={"token": "s3cret-token", "next": "//evil.example/"},
                             headers=own, environ_base=outside)
    assert redirected.headers["Location"] == f"{UI}/"  # never sent elsewhere after signing in
    client.post(f"{UI}/logout", headers=own, environ_base=outside)
    assert client.get(f"{UI}/apis", environ_base=outside).status_code == 303
    bearer = {"Authorization": "Bearer s3cret-token"}
    assert app.test_client().get(f"{UI}/apis", headers=bearer, environ_base=outside).status_code == 200

