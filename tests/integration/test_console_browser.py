"""The approval console in a real browser: Debian's headless Chromium, driven by Playwright, signs in as
an approver, approves a pending action with a comment, and sees the state change, the audit entry and
`audit verify` OK. Saves a screenshot under the test's tmp dir; with PSRE_UPDATE_SCREENSHOT=1 it also
refreshes docs/console.png, the one the README shows."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import parse_settings
from pipeline_sre.store.users import UserStore
from pipeline_sre.surfaces.web.app import console_app

pytestmark = pytest.mark.integration

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
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "console.png"
PASSWORD = "alice-correct-horse-42"
RUN_ID = "scheduled__2026-01-08T00:00:00+00:00"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's `chromium` and `chromium-driver` packages")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    tmp = tmp_path_factory.mktemp("console")
    saved = {k: os.environ.get(k) for k in ("PIPELINE_SRE_DATABASE_URL", "PIPELINE_SRE_DATA_DIR")}
    for k in saved:
        os.environ.pop(k, None)
    settings = parse_settings(
        {
            "environments": {
                "sandbox": {"airflow": {"url": "http://127.0.0.1:9", "version": "3", "max_retries": 0}},
            },
            "data_dir": str(tmp / "data"),
            "governance": {
                "mode": "live",
                "approvers": ["alice", "bob"],
                "environments": {"sandbox": {"allow_dags": ["example_*"], "required_approvals": 1}},
            },
            "console": {"secure_cookies": False},  # plain http on loopback, for this test only
        },
        "browser test",
    )
    rt = Runtime(settings)
    UserStore(rt.governance.db).add("alice", "approver", PASSWORD)
    gov = rt.governance
    plan = {
        "runbook": "transient_network",
        "title": "Clear the failed task once",
        "why": "The task failed on a connection reset talking to the rates API; a single retry usually passes.",
        "steps": [
            {"title": "Clear the failed task instances of the run", "action": "clear_failed_tasks", "reversible": True}
        ],
        "impact": "Re-runs fetch_exchange_rates and its downstream tasks for this run only.",
        "risk": {"level": "low", "notes": "idempotent task; no data is deleted"},
        "rollback": "Mark the run failed again in Airflow; nothing else changes.",
        "verify": [{"check": "run_succeeded"}, {"check": "no_new_failure", "minutes": 30}],
    }
    record = gov.propose(
        "clear_failed_tasks",
        "sandbox",
        {"dag_id": "example_flaky_network", "dag_run_id": RUN_ID},
        requested_by="mcp:agent",
        runbook_id="transient_network",
        plan=plan,
    )
    incident, _ = rt.incidents.open_or_join(
        environment="sandbox",
        source="airflow",
        subject="example_flaky_network",
        signature="a1b2c3d4",
        category="transient_network",
        severity="SEV3",
        title="example_flaky_network: transient_network in fetch_exchange_rates (ConnectionResetError)",
        run_id=RUN_ID,
        task_id="fetch_exchange_rates",
        facts={
            "tier": 2,
            "owner": "data-platform",
            "failed_tasks": ["fetch_exchange_rates"],
            "blocked_tasks": 2,
            "exception": "ConnectionResetError",
            "evidence": "ConnectionResetError: [Errno 104] Connection reset by peer <script>alert(1)</script>",
            "confidence": 0.92,
        },
    )
    for state in ("triaged", "diagnosed"):
        rt.incidents.advance(incident.id, state)
    rt.incidents.advance(incident.id, "proposed", action_id=record.id, runbook_id="transient_network")
    gov.request_approval(record.id, "transient network error in fetch_exchange_rates; rerun once", "mcp:agent")
    rt.incidents.advance(incident.id, "awaiting_approval")

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            console_app(rt, insecure_local=True), host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.05)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "rt": rt, "action_id": record.id, "incident_id": incident.id}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        gov.close()
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v


def test_approver_approves_in_a_real_browser(console: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import Dialog, expect, sync_playwright

    url, rt, action_id, incident_id = console["url"], console["rt"], console["action_id"], console["incident_id"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 1560})
            page = context.new_page()
            scripts_run: list[str] = []

            def on_dialog(dialog: Dialog) -> None:
                scripts_run.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(f"{url}/incidents")
            expect(page).to_have_url(re.compile(r"/login\?next="))
            page.get_by_label("User name").fill("alice")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_test_id("whoami")).to_contain_text("alice")
            expect(page).to_have_url(re.compile(r"/incidents$"))

            page.get_by_role("link", name=re.compile("example_flaky_network: transient_network")).click()
            expect(page).to_have_url(re.compile(f"/incidents/{incident_id}$"))
            expect(page.get_by_test_id("evidence")).to_contain_text("<script>alert(1)</script>")  # shown as text
            expect(page.get_by_test_id("action-state")).to_have_text("awaiting_approval")
            expect(page.locator("#action-panel")).to_contain_text("clearTaskInstances")
            expect(page.locator("#action-panel")).to_contain_text("approvals.required")

            if os.environ.get("PSRE_CONSOLE_SHOTS"):  # extra screenshots for a human look, not committed
                page.screenshot(path=str(SCREENSHOT.with_name("console-incident.png")), full_page=True)

            page.get_by_role("link", name="Approvals", exact=True).click()
            page.get_by_role("link", name=re.compile("clear_failed_tasks example_flaky_network")).click()
            expect(page).to_have_url(re.compile(f"/actions/{action_id}$"))
            page.get_by_label("Comment").fill("transient network error; one rerun is fine")
            page.get_by_role("button", name="Approve as alice").click()
            expect(page.get_by_test_id("action-state")).to_have_text("approved")  # swapped in place by htmx
            expect(page.get_by_test_id("decision-message")).to_contain_text("Approved by alice")
            rows = page.get_by_test_id("audit-rows")
            expect(rows).to_contain_text("approval.granted")
            expect(rows.locator("tr", has_text="approval.granted")).to_contain_text("alice")
            expect(page.get_by_role("button", name="Approve as alice")).to_have_count(0)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")
            shot = tmp_path / "console.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
            if os.environ.get("PSRE_UPDATE_SCREENSHOT"):
                SCREENSHOT.write_bytes(shot.read_bytes())

            page.get_by_role("link", name="Audit", exact=True).click()
            expect(page.get_by_test_id("verify-result")).to_contain_text("audit verify: OK")
            expect(page.get_by_test_id("audit-rows")).to_contain_text("approval.granted")

            phone = context.new_page()  # same session, a phone-sized window
            phone.set_viewport_size({"width": 390, "height": 844})
            phone.goto(f"{url}/actions/{action_id}")
            expect(phone.get_by_test_id("action-state")).to_have_text("approved")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390 + 2, f"the action page scrolls sideways on a phone ({width}px)"
            assert scripts_run == []  # the <script> in the evidence never ran
        finally:
            browser.close()
    record = rt.governance.get_action(action_id)
    assert record.state == "approved"
    assert [(a.approver, a.comment) for a in record.approvals] == [
        ("alice", "transient network error; one rerun is fine")
    ]
    assert rt.governance.audit.verify().ok
    assert SCREENSHOT.stat().st_size < 400_000
