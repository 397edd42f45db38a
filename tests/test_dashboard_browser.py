"""The dashboard in a real browser (SPEC: Web dashboard): Debian's Chromium driven by
Playwright against a real daphne serving the seed_demo data, with a real Celery worker.

What a user would notice: signing in shows the Now board and the week chart; a timer started
or stopped by another client (a bearer token) shows on the page within 2 s with no reload;
after the socket drops, the page reconnects and resumes from its last cursor; a MEMBER sees
only themselves; an export appears and downloads; a page on a foreign origin cannot open the
socket with the session. A screenshot of each page is saved under .data/artifacts/browser/
(named at the end of the run).

Playwright never downloads a browser here: it launches /usr/bin/chromium, and these tests skip
only when that is not installed (apt-get install -y chromium)."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from conftest import QUEUE_GROUPS, browser_artifacts, celery_worker, daphne_servers, free_port, queue_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.DATA_DIR) / "artifacts" / "browser"
DEMO_PASSWORD = "password123"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    ),
]


@pytest.fixture(scope="module")
def base_url(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo world in the test database, served by daphne, with a Celery worker beside it
    (both on one data dir, so the worker's export files are the server's to send). The
    database is flushed afterwards, as a transactional test would."""
    from django.test import override_settings

    from config.celery import app

    data_dir = tmp_path_factory.mktemp("browser")
    with django_db_blocker.unblock():
        from activity import partitions

        partitions.forget_known()  # an earlier test's partitions may have been rolled back
        # The demo's screenshot files go where the server will look for them.
        with override_settings(MEDIA_ROOT=data_dir / "media"):
            call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
        try:
            with celery_worker(data_dir):
                # The worker's private queue: the server sends every queue group's tasks there
                # (screenshots on media, exports on jobs, merges on realtime).
                routing = queue_env(dict.fromkeys(QUEUE_GROUPS, app.conf.task_default_queue))
                with daphne_servers([free_port()], data_dir, **routing) as (port,):
                    yield f"http://127.0.0.1:{port}"
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def browser(request, base_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    request.config.stash[browser_artifacts] = str(ARTIFACTS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Page:
    """A signed-in tab with its console and page errors collected."""

    def __init__(self, browser, base_url: str, **context_options):
        self.context = browser.new_context(accept_downloads=True, **context_options)
        self.page = self.context.new_page()
        self.base_url = base_url
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text} {message.location}")

    def sign_in(self, email: str, shot: str | None = None):
        self.page.goto(f"{self.base_url}/")
        assert self.page.url.endswith("/login/")
        if shot:
            self.shot(shot)
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/dashboard/")
        self.wait_live()
        return self.page

    def wait_live(self, timeout: float = 5000):
        from playwright.sync_api import expect

        expect(self.page.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=timeout)

    def shot(self, name: str):
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser, base_url):
    tabs = []

    def open_tab(**options) -> Page:
        tabs.append(Page(browser, base_url, **options))
        return tabs[-1]

    yield open_tab
    problems = [p for t in tabs for p in t.problems]
    for t in tabs:
        t.close()
    # No CSP violation, no script error, no failed request on any page the test opened.
    assert not problems, problems


def api(base_url: str, path: str, body: dict | None = None, *, token: str | None = None, method: str = "POST"):
    """Another client: plain HTTP with a bearer token, nothing shared with the browser."""
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def sign_in_over_api(base_url: str, email: str) -> tuple[str, str]:
    body = api(base_url, "/api/v1/auth/login", {"email": email, "password": DEMO_PASSWORD, "device_name": "tracker"})
    return body["access"], body["user"]["id"]


def member_row(page, user_id: str):
    return page.locator(f"[data-testid=member-row][data-user-id='{user_id}']")


# --------------------------------------------------------------------------- tests


def test_the_owner_signs_in_and_sees_the_now_board_ticking_and_the_week_chart(tab):
    from playwright.sync_api import expect

    owner = tab()
    page = owner.sign_in("alex@studio.co", shot="login")

    board = page.get_by_test_id("now-board")
    expect(board.get_by_test_id("member-row")).to_have_count(4)  # Studio Co: Alex, Sam, Jordan, Priya
    timer = board.get_by_test_id("running-timer")
    expect(timer).to_have_count(1)  # the demo's running timer, on Alex's row
    expect(page.locator("[data-testid=member-row]:has([data-testid=running-timer]) .name")).to_contain_text("Alex")
    expect(board.get_by_test_id("today-total")).to_have_count(4)
    first = timer.text_content()
    assert re.fullmatch(r"\d+:\d\d:\d\d", first)
    expect(timer).not_to_have_text(first, timeout=2500)  # the clock ticks on its own

    chart = page.get_by_test_id("week-chart")
    expect(chart.locator("svg g.bar")).to_have_count(7)
    assert sum(int(s) for s in chart.locator("svg g.bar").evaluate_all("bs => bs.map(b => b.dataset.seconds)")) > 0
    expect(page.locator("[data-panel=team]")).to_be_visible()
    owner.shot("dashboard-owner")

    phone = tab(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.sign_in("alex@studio.co")
    phone.shot("dashboard-phone")


def test_a_timer_started_and_stopped_elsewhere_shows_within_2s_without_a_reload(tab, base_url):
    from playwright.sync_api import expect

    owner = tab()
    page = owner.sign_in("alex@studio.co")
    page.evaluate("window.__notReloaded = true")
    token, jordan = sign_in_over_api(base_url, "jordan@studio.co")
    orbit = next(
        p for p in api(base_url, "/api/v1/projects", token=token, method="GET")["results"] if p["name"] == "Orbit"
    )
    row = member_row(page, jordan)
    expect(row.get_by_test_id("running-timer")).to_have_count(0)

    started = time.monotonic()
    api(
        base_url, "/api/v1/time-entries/start", {"project_id": orbit["id"], "description": "Release notes"}, token=token
    )
    expect(row.get_by_test_id("running-timer")).to_be_visible(timeout=2000)
    expect(row).to_contain_text("Release notes")
    print(f"timer.started on the page after {time.monotonic() - started:.2f}s")
    owner.shot("dashboard-live-start")

    api(base_url, "/api/v1/time-entries/stop", {}, token=token)
    expect(row.get_by_test_id("running-timer")).to_have_count(0, timeout=2000)
    expect(row).to_contain_text("Not tracking")
    assert page.evaluate("window.__notReloaded") is True

    # Alex's own button: the REST API with the session and the CSRF header.
    chart = page.get_by_test_id("week-chart")
    chart.evaluate("el => { el.dataset.stale = 'yes'; }")
    page.get_by_test_id("timer-stop").click()
    expect(page.get_by_test_id("timer-start")).to_be_visible(timeout=3000)
    expect(page.get_by_test_id("running-timer")).to_have_count(0)
    expect(chart).not_to_have_attribute("data-stale", "yes")  # the chart was redrawn from the report
    page.locator("[data-timer-form] input[name=description]").fill("Back at it")
    page.get_by_test_id("timer-start").click()
    expect(page.get_by_test_id("running-timer")).to_have_count(1, timeout=3000)
    expect(page.get_by_test_id("now-board")).to_contain_text("Back at it")
    assert page.evaluate("window.__notReloaded") is True


def test_after_the_socket_drops_the_page_reconnects_and_resumes_from_its_cursor(tab, base_url):
    from playwright.sync_api import expect

    owner = tab()
    page = owner.page
    # Every socket the page opens goes through this proxy, which can drop it and refuse the
    # reconnects for a while: the page must back off, retry, and resume where it was.
    state = {"allow": True, "attempts": 0, "sent": [], "received": [], "live": None}

    def proxy(ws):
        state["attempts"] += 1
        if not state["allow"]:
            ws.close(code=1012, reason="restarting")
            return
        server = ws.connect_to_server()
        sent, received = [], []
        state["sent"].append(sent)
        state["received"].append(received)
        ws.on_message(lambda m: (sent.append(json.loads(m)), server.send(m)))
        server.on_message(lambda m: (received.append(json.loads(m)), ws.send(m)))
        state["live"] = ws

    page.route_web_socket(re.compile(r".*/ws/realtime/$"), proxy)
    owner.sign_in("alex@studio.co")
    page.evaluate("window.__notReloaded = true")
    rendered_cursor = int(page.locator("#dashboard").get_attribute("data-cursor"))
    assert state["sent"][0][0] == {"type": "resume", "cursor": rendered_cursor}  # nothing lost since the render

    token, jordan = sign_in_over_api(base_url, "jordan@studio.co")
    finch = next(
        p for p in api(base_url, "/api/v1/projects", token=token, method="GET")["results"] if p["name"] == "Finch"
    )
    api(base_url, "/api/v1/time-entries/start", {"project_id": finch["id"]}, token=token)
    row = member_row(page, jordan)
    expect(row.get_by_test_id("running-timer")).to_be_visible(timeout=2000)
    last_cursor = max(m["cursor"] for m in state["received"][0] if isinstance(m.get("cursor"), int))

    state["allow"] = False
    state["live"].close(code=1012, reason="restarting")
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "offline")
    deadline = time.monotonic() + 5
    while state["attempts"] < 2:  # it tried again and was refused
        assert time.monotonic() < deadline, "the page did not try to reconnect"
        page.wait_for_timeout(50)
    api(base_url, "/api/v1/time-entries/stop", {}, token=token)  # happens while the page is offline
    page.wait_for_timeout(300)
    expect(row.get_by_test_id("running-timer")).to_be_visible()  # nobody told the page yet

    state["allow"] = True
    expect(row.get_by_test_id("running-timer")).to_have_count(0, timeout=8000)
    owner.wait_live()
    resumed_sent, resumed_received = state["sent"][-1], state["received"][-1]
    assert resumed_sent[0] == {"type": "resume", "cursor": last_cursor}
    assert any(m["type"] == "timer.stopped" and m["data"]["user_id"] == jordan for m in resumed_received)
    assert page.evaluate("window.__notReloaded") is True


def test_a_member_sees_only_themselves(tab, base_url):
    from playwright.sync_api import expect

    _, priya = sign_in_over_api(base_url, "priya@studio.co")
    member = tab()
    page = member.sign_in("priya@studio.co")

    rows = page.get_by_test_id("member-row")
    expect(rows).to_have_count(1)
    assert rows.get_attribute("data-user-id") == priya
    expect(page.locator("[data-panel=team]")).to_be_hidden()
    expect(page.get_by_test_id("week-chart")).to_be_visible()
    expect(page.get_by_test_id("now-board")).not_to_contain_text("Alex")
    member.shot("dashboard-member")


def test_an_export_appears_when_ready_and_downloads(tab):
    from playwright.sync_api import expect

    owner = tab()
    page = owner.sign_in("alex@studio.co")
    page.locator("[data-export-form] select[name=format]").select_option("csv")
    page.get_by_test_id("export-request").click()
    expect(page.get_by_test_id("export-pending").or_(page.get_by_test_id("export-download")).first).to_be_visible()

    link = page.get_by_test_id("export-download").first
    expect(link).to_be_visible(timeout=30000)  # the worker built it; report.ready brought the link
    with page.expect_download() as download:
        link.click()
    content = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename.endswith(".csv")
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for spreadsheet apps
    assert b"Orbit" in content
    owner.shot("dashboard-export")


def upload_screenshot(base_url: str, token: str) -> dict:
    """A tracker's upload: multipart, a real PNG, captured now."""
    import io
    import uuid

    from django.utils import timezone
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (640, 360), (79, 70, 229)).save(image, "PNG")
    boundary = uuid.uuid4().hex
    parts = [
        (b'name="captured_at"', timezone.now().isoformat().encode()),
        (b'name="file"; filename="screen.png"\r\nContent-Type: image/png', image.getvalue()),
    ]
    body = (
        b"".join(
            b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; " + head + b"\r\n\r\n" + value + b"\r\n"
            for head, value in parts
        )
        + b"--"
        + boundary.encode()
        + b"--\r\n"
    )
    request = urllib.request.Request(
        base_url + "/api/v1/screenshots",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_new_screenshot_appears_as_a_thumbnail_without_a_reload(tab, base_url):
    from playwright.sync_api import expect

    owner_token, _ = sign_in_over_api(base_url, "alex@studio.co")
    company = api(base_url, "/api/v1/companies", token=owner_token, method="GET")["results"][0]
    api(
        base_url, f"/api/v1/companies/{company['id']}", {"screenshots_enabled": True}, token=owner_token, method="PATCH"
    )
    owner = tab()
    page = owner.sign_in("alex@studio.co")
    page.evaluate("window.__notReloaded = true")
    token, jordan = sign_in_over_api(base_url, "jordan@studio.co")
    shots = page.locator(f".shots[data-user-id='{jordan}'] [data-testid=screenshot-thumb]")
    before = shots.count()  # the demo's own screenshots of today

    shot = upload_screenshot(base_url, token)

    # The worker processes it; screenshot.ready redraws the Team panel with a signed thumbnail.
    expect(shots).to_have_count(before + 1, timeout=20000)
    thumb = page.locator(f"[data-testid=screenshot-thumb][src*='/api/v1/screenshots/{shot['id']}/thumbnail?token=']")
    expect(thumb).to_have_count(1)
    # It loads, 320 px wide: waited for, since the element is drawn before its image arrives.
    loaded = """img => img.complete ? img.naturalWidth : new Promise(done => {
        img.addEventListener("load", () => done(img.naturalWidth));
        img.addEventListener("error", () => done(-1));
    })"""
    assert thumb.evaluate(loaded) == 320
    assert page.evaluate("window.__notReloaded") is True
    owner.shot("dashboard-screenshot")


def test_a_page_on_another_origin_cannot_open_the_socket_with_the_session(tab, base_url):
    visitor = tab()
    visitor.sign_in("alex@studio.co")  # the browser holds Alex's session cookie
    page = visitor.page
    page.route(
        "http://evil.test/",
        lambda route: route.fulfill(body="<!doctype html><title>evil</title>", content_type="text/html"),
    )
    page.goto("http://evil.test/")
    outcome = page.evaluate(
        """url => new Promise(resolve => {
            const socket = new WebSocket(url);
            let opened = false;
            socket.onopen = () => { opened = true; };
            socket.onclose = event => resolve({opened, code: event.code});
        })""",
        base_url.replace("http://", "ws://") + "/ws/realtime/",
    )
    assert outcome == {"opened": False, "code": 1006}  # the handshake was refused (HTTP 403)
    visitor.problems.clear()  # the refused handshake is logged as a console error: that is the point


def test_a_member_creates_a_tracker_token_copies_its_config_and_revokes_it(tab, base_url):
    """Settings: the new token shows once with the aw-client config filled in; the copy button
    puts it on the clipboard; the token sends heartbeats as aw-client does (Basic, token as
    user name) until it is revoked on the page."""
    import base64
    import urllib.error

    from playwright.sync_api import expect

    member = tab(permissions=["clipboard-read", "clipboard-write"])
    page = member.sign_in("priya@studio.co")
    page.get_by_test_id("settings-link").click()
    page.wait_for_url("**/dashboard/settings/")
    page.fill("input[name=name]", "laptop watchers")
    page.get_by_test_id("token-create").click()
    token = page.get_by_test_id("token-value").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", token)
    port = base_url.rsplit(":", 1)[1]
    expect(page.get_by_test_id("config-aw")).to_contain_text(f'hostname = "{token}:@127.0.0.1"')
    expect(page.get_by_test_id("config-aw")).to_contain_text(f'port = "{port}"')
    page.locator("[data-copy=config-aw]").click()
    assert token in page.evaluate("navigator.clipboard.readText()")
    member.shot("settings-new-token")

    def heartbeat() -> int:
        from datetime import UTC, datetime, timedelta

        moment = (datetime.now(UTC) - timedelta(seconds=10)).isoformat()
        body = {"device_id": "laptop", "heartbeats": [{"timestamp": moment, "duration": 5, "app": "Code"}]}
        request = urllib.request.Request(
            f"{base_url}/api/v1/sync/heartbeats",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode(),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert heartbeat() == 202
    page.goto(f"{base_url}/dashboard/settings/")  # not reload(): that would post the form again
    expect(page.get_by_test_id("token-value")).to_have_count(0)  # shown once
    row = page.get_by_test_id("token-row").filter(has_text="laptop watchers")
    expect(row).to_have_count(1)
    row.get_by_test_id("token-revoke").click()
    expect(page.get_by_test_id("token-row").filter(has_text="laptop watchers")).to_have_count(0)
    assert heartbeat() == 401


# --------------------------------------------------------------------------- timesheets


def last_week_start(user_timezone: str) -> str:
    """The first day of the member's previous timesheet week (Studio Co: Monday weeks): the
    demo gives every teammate time on each of the last seven days, so it always holds time."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from tracking.weeks import week_containing

    today = datetime.now(ZoneInfo(user_timezone)).date()
    return (
        week_containing(today, week_start="monday", timezone=user_timezone).period_start - timedelta(days=7)
    ).isoformat()


def test_a_member_submits_last_week_and_sees_it_submitted(tab):
    from playwright.sync_api import expect

    member = tab()
    page = member.sign_in("priya@studio.co")
    page.evaluate("window.__notReloaded = true")
    week = last_week_start("Asia/Kolkata")
    status = page.locator(f"[data-testid=timesheet-status][data-period-start='{week}']")
    expect(status).to_have_attribute("data-status", "OPEN")
    expect(page.get_by_test_id("approvals-link")).to_have_count(0)  # a MEMBER approves nothing

    page.locator(f"[data-testid=submit-week][data-submit-week='{week}']").click()
    expect(status).to_have_attribute("data-status", "SUBMITTED", timeout=3000)
    expect(status).to_have_text("Submitted")
    expect(page.locator(f"[data-testid=submit-week][data-submit-week='{week}']")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
    member.shot("dashboard-my-timesheet")


def test_an_approver_sees_weeks_arrive_live_and_approves_or_rejects_them_in_place(tab, base_url):
    """Alex (OWNER) on Approvals, last week: Jordan's and Sam's weeks show OPEN; they submit
    from their own clients and the rows turn SUBMITTED over the socket; Alex approves one and
    rejects the other with a reason, with no reload. Jordan then finds it in his audit trail."""
    from playwright.sync_api import expect

    owner = tab()
    page = owner.sign_in("alex@studio.co")
    week = last_week_start("America/New_York")
    page.get_by_test_id("approvals-link").click()
    page.wait_for_url("**/dashboard/approvals/**")
    page.goto(page.url + f"&week={week}")
    owner.wait_live()
    page.evaluate("window.__notReloaded = true")
    jordan_token, jordan = sign_in_over_api(base_url, "jordan@studio.co")
    sam_token, sam = sign_in_over_api(base_url, "sam@studio.co")
    board = page.get_by_test_id("approvals-board")
    jordan_row = board.locator(f"[data-testid=timesheet-row][data-user-id='{jordan}']")
    sam_row = board.locator(f"[data-testid=timesheet-row][data-user-id='{sam}']")
    expect(jordan_row).to_have_attribute("data-status", "OPEN")
    expect(jordan_row.get_by_test_id("approve")).to_have_count(0)
    assert int(jordan_row.get_by_test_id("timesheet-total").get_attribute("data-seconds")) > 0

    # Submitted elsewhere: timesheet.submitted brings them here.
    company = page.locator("#approvals").get_attribute("data-company-id")
    api(base_url, f"/api/v1/timesheets/submit?company={company}", {"period_start": week}, token=jordan_token)
    sam_week = last_week_start("Europe/Berlin")
    api(base_url, f"/api/v1/timesheets/submit?company={company}", {"period_start": sam_week}, token=sam_token)
    expect(jordan_row).to_have_attribute("data-status", "SUBMITTED", timeout=3000)
    if sam_week == week:  # Berlin and New York agree on last week but for a few hours a week
        expect(sam_row).to_have_attribute("data-status", "SUBMITTED", timeout=3000)
    owner.shot("approvals-submitted")

    jordan_row.get_by_test_id("approve").click()
    expect(jordan_row).to_have_attribute("data-status", "APPROVED", timeout=3000)
    expect(jordan_row.get_by_test_id("approve")).to_have_count(0)

    if sam_week == week:
        sam_row.get_by_test_id("reject").click()
        sam_row.get_by_test_id("reject-confirm").click()  # no reason yet: refused on the page
        expect(sam_row.get_by_test_id("row-error")).to_be_visible()
        sam_row.get_by_test_id("reject-reason").fill("Friday's client call is missing")
        sam_row.get_by_test_id("reject-confirm").click()
        expect(sam_row).to_have_attribute("data-status", "REJECTED", timeout=3000)
        expect(sam_row).to_contain_text("Friday's client call is missing")
    assert page.evaluate("window.__notReloaded") is True
    owner.shot("approvals-decided")

    # Jordan's own audit trail shows who approved his week.
    member = tab()
    trail = member.sign_in("jordan@studio.co")
    trail.get_by_test_id("audit-link").click()
    trail.wait_for_url("**/dashboard/audit/**")
    approved = trail.locator("[data-testid=audit-trail] [data-testid=audit-row][data-action='timesheet.approved']")
    expect(approved.first).to_be_visible(timeout=3000)
    expect(approved.first).to_contain_text("Alex Morgan")
    member.shot("audit-trail")


def test_a_member_pauses_and_resumes_from_the_now_panel_without_a_reload(tab):
    from playwright.sync_api import expect

    member = tab()
    page = member.sign_in("priya@studio.co")
    page.evaluate("window.__notReloaded = true")
    row = page.get_by_test_id("member-row")
    page.locator("[data-timer-form] input[name=description]").fill("Interview notes")
    page.get_by_test_id("timer-start").click()
    expect(row.get_by_test_id("running-timer")).to_have_count(1, timeout=3000)

    page.get_by_test_id("timer-pause").click()
    expect(row.get_by_test_id("paused")).to_contain_text("Interview notes", timeout=3000)
    expect(row.get_by_test_id("running-timer")).to_have_count(0)
    member.shot("dashboard-paused")

    page.get_by_test_id("timer-resume").click()
    expect(row.get_by_test_id("running-timer")).to_have_count(1, timeout=3000)
    expect(row).to_contain_text("Interview notes")  # the new entry carries the paused one's description
    expect(row.get_by_test_id("paused")).to_have_count(0)
    expect(page.get_by_test_id("timer-resume")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
    page.get_by_test_id("timer-stop").click()  # leave Priya as the demo had her: not tracking
    expect(page.get_by_test_id("timer-start")).to_be_visible(timeout=3000)


def test_a_member_previews_an_import_then_imports_it_and_sees_it_finish(tab):
    """The Import page: the dry run's summary with its error rows, then the real import, both
    followed over the socket (import.progress / import.finished), with no reload."""
    from playwright.sync_api import expect

    member = tab()
    page = member.sign_in("priya@studio.co")
    page.get_by_test_id("imports-link").click()
    page.wait_for_url("**/dashboard/imports/**")
    member.wait_live()
    page.evaluate("window.__notReloaded = true")
    header = "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,Tags"
    csv = "\ufeff" + "\n".join(
        [
            header,
            "Priya,priya@studio.co,Acme,Old site,,Kickoff,Yes,2024-02-05,09:00:00,2024-02-05,10:00:00,01:00:00,",
            "Priya,priya@studio.co,Acme,Old site,,Review,No,2024-02-05,10:00:00,2024-02-05,10:30:00,00:30:00,",
            "Alex,alex@studio.co,,Old site,,Not hers,No,2024-02-05,09:00:00,2024-02-05,10:00:00,01:00:00,",
        ]
    )
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "toggl.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_test_id("import-source").select_option("toggl_csv")
    page.get_by_test_id("import-timezone").fill("UTC")
    page.get_by_test_id("import-preview").click()
    expect(page.get_by_test_id("import-status")).to_have_text("READY", timeout=30000)  # the worker ran the dry run
    expect(page.get_by_test_id("import-created-entries")).to_have_text("2 entries")
    rows = page.get_by_test_id("import-error-row")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Your role lets you import only your own time.")
    member.shot("dashboard-import-preview")

    page.get_by_test_id("import-confirm").click()
    expect(page.locator("[data-job-title]")).to_have_text("Import", timeout=5000)
    expect(page.get_by_test_id("import-status")).to_have_text("READY", timeout=30000)
    expect(page.get_by_test_id("import-created-entries")).to_have_text("2 entries")
    expect(page.get_by_test_id("import-confirm")).to_be_hidden()
    assert page.evaluate("window.__notReloaded") is True
    member.shot("dashboard-import-done")
