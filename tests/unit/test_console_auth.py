"""The approval console: argon2 users, sessions, login throttling, CSRF and origin checks, the trusted SSO
header, server-side four-eyes, expired and decided approvals, and escaping of log-derived text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from typer.testing import CliRunner

from pipeline_sre.errors import ConfigError, InvalidInput
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import Settings, parse_settings
from pipeline_sre.settings.console import ConsoleConfig
from pipeline_sre.store.db import Database
from pipeline_sre.store.models import ActionRow, ConsoleLoginFailureRow
from pipeline_sre.store.users import LoginThrottle, UserStore
from pipeline_sre.surfaces.web.app import console_app, mount_console
from pipeline_sre.surfaces.web.auth import sso_user

BASE = "https://testserver"
SECRET_VALUE = "hunter2-very-secret-value"
PASSWORDS = {"alice": "alice-password-123", "bob": "bob-password-4567", "vic": "viewer-password-89"}
CLEAR = {"dag_id": "etl_orders", "dag_run_id": "scheduled__2025-01-08T00:00:00+00:00"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_settings(tmp_path: Path, **console: Any) -> Settings:
    return parse_settings(
        {
            "environments": {
                "dev": {
                    "airflow": {"url": "http://127.0.0.1:9", "version": "3", "max_retries": 0, "timeout_seconds": 1},
                    "sensitive_env": ["PSRE_TEST_SECRET"],
                }
            },
            "data_dir": str(tmp_path / "data"),
            "governance": {
                "mode": "live",
                "approvers": ["alice", "bob"],
                "environments": {"dev": {"allow_dags": ["etl_*"], "required_approvals": 1}},
            },
            "console": console,
        },
        "test",
    )


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_SRE_DATA_DIR", raising=False)
    monkeypatch.setenv("PIPELINE_SRE_CONSOLE_SECRET", "s" * 48)
    monkeypatch.setenv("PSRE_TEST_SECRET", SECRET_VALUE)


@pytest.fixture
def make_rt(tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def factory(**console: Any) -> Runtime:
        rt = Runtime(make_settings(tmp_path, **console))
        users = UserStore(rt.governance.db)
        if users.get("alice") is None:
            users.add("alice", "approver", PASSWORDS["alice"])
            users.add("bob", "approver", PASSWORDS["bob"])
            users.add("vic", "viewer", PASSWORDS["vic"])
        made.append(rt)
        return rt

    yield factory
    for rt in made:
        rt.governance.close()


@pytest.fixture
def rt(make_rt: Callable[..., Runtime]) -> Runtime:
    return make_rt()


def browser(rt: Runtime, **kw: Any) -> TestClient:
    """A client that behaves like a same-origin browser page (sends Origin on every request)."""
    return TestClient(console_app(rt), base_url=BASE, headers={"origin": BASE}, **kw)


def login(client: TestClient, name: str, password: str | None = None) -> Any:
    page = client.get("/login")
    token = CSRF.search(page.text)
    assert token, page.text
    return client.post(
        "/login",
        data={"username": name, "password": password or PASSWORDS[name], "csrf_token": token.group(1), "next": "/"},
    )


def csrf_from(client: TestClient, path: str = "/incidents") -> str:
    found = CSRF.search(client.get(path).text)
    assert found
    return found.group(1)


def pending(rt: Runtime, requested_by: str = "mcp:agent") -> str:
    rec = rt.governance.propose("clear_failed_tasks", "dev", CLEAR, requested_by=requested_by)
    rt.governance.request_approval(rec.id, "transient <b>network</b> error; rerun once", requested_by)
    return rec.id


def audit(rt: Runtime, event: str | None = None) -> list[dict[str, Any]]:
    return [r.to_dict() for r in rt.governance.audit.records() if event is None or r.event == event]


# -- users and login --------------------------------------------------------------------------------


def test_users_are_stored_as_argon2id_hashes(rt: Runtime) -> None:
    users = UserStore(rt.governance.db)
    with rt.governance.db.connect(write=False) as conn:
        stored = conn.execute(text("SELECT password_hash FROM console_users WHERE name = 'alice'")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORDS["alice"] not in stored
    assert users.authenticate("alice", PASSWORDS["alice"]) is not None
    assert users.authenticate("alice", "wrong-password-000") is None
    assert users.authenticate("nobody", PASSWORDS["alice"]) is None
    with pytest.raises(InvalidInput, match="too short"):
        users.add("carol", "approver", "short")
    with pytest.raises(InvalidInput, match="role"):
        users.add("carol", "admin", "long-enough-password")
    with pytest.raises(InvalidInput, match="exists"):
        users.add("alice", "viewer", "long-enough-password")


def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(rt: Runtime) -> None:
    client = browser(rt)
    page = client.get("/incidents", follow_redirects=False)
    assert page.status_code == 303 and "/login?next=" in page.headers["location"]
    done = login(client, "alice")
    assert done.status_code == 200 and 'data-testid="whoami">alice' in done.text
    cookie = next(h for h in done.history[0].headers.get_list("set-cookie") if h.startswith("__Host-psre_session="))
    lowered = cookie.lower()
    assert "secure" in lowered and "httponly" in lowered and "samesite=strict" in lowered and "path=/" in lowered
    assert "default-src 'none'" in done.headers["content-security-policy"]
    assert done.headers["x-frame-options"] == "DENY"
    assert [e["result"] for e in audit(rt, "console.login")] == ["ok"]
    client.post("/logout", data={"csrf_token": csrf_from(client)})
    assert client.get("/incidents", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_and_audited(rt: Runtime) -> None:
    client = browser(rt)
    bad = login(client, "alice", "not-her-password")
    assert bad.status_code == 401 and "wrong user name or password" in bad.text
    events = audit(rt, "console.login")
    assert events[-1]["result"] == "login.failed" and events[-1]["actor"] == "alice"


def test_login_is_rate_limited_per_client_and_user(rt: Runtime) -> None:
    client = browser(rt)
    for _ in range(5):
        assert login(client, "alice", "guessing-password").status_code == 401
    limited = login(client, "alice")  # even the right password is not checked now
    assert limited.status_code == 429 and "too many failed sign-ins" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    assert audit(rt, "console.login")[-1]["result"] == "login.rate_limited"
    assert login(client, "bob").status_code == 200  # another user from the same client is not locked out


def test_throttle_window_per_client_and_user_shared_by_replicas(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'throttle.db'}")
    db.upgrade()
    now = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    replica_a, replica_b = (LoginThrottle(db, 2, 60, clock=lambda: now[0]) for _ in range(2))
    replica_a.failed("1.2.3.4", "a")
    assert replica_b.retry_after("1.2.3.4", "a") == 0
    replica_b.failed("1.2.3.4", "A")  # names are compared case-insensitively, across replicas
    assert 0 < replica_a.retry_after("1.2.3.4", "a") <= 61
    assert replica_a.retry_after("5.6.7.8", "a") == 0
    for name in ("b", "c", "d", "e", "f", "g"):
        replica_a.failed("1.2.3.4", name)
    assert replica_b.retry_after("1.2.3.4", "zz") == 0  # failures of others behind the same address lock nobody out
    now[0] += timedelta(seconds=61)
    assert replica_b.retry_after("1.2.3.4", "a") == 0
    replica_a.failed("1.2.3.4", "a")  # failures outside the window are pruned as new ones come in
    with db.session(write=False) as s:
        assert len(s.scalars(select(ConsoleLoginFailureRow)).all()) == 1
    replica_a.succeeded("1.2.3.4", "a")
    with db.session(write=False) as s:
        assert s.scalars(select(ConsoleLoginFailureRow)).all() == []
    db.dispose()


def test_login_form_needs_its_own_token_and_next_cannot_leave_the_console(rt: Runtime) -> None:
    client = browser(rt)
    forged = client.post("/login", data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": "x"})
    assert forged.status_code == 403 and "expired" in forged.text
    page = client.get("/login?next=//evil.example/x")
    token = CSRF.search(page.text)
    assert token
    done = client.post(
        "/login",
        data={
            "username": "alice",
            "password": PASSWORDS["alice"],
            "csrf_token": token.group(1),
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/incidents"


# -- CSRF and cross-site requests -------------------------------------------------------------------


def test_post_without_or_with_a_stale_csrf_token_is_refused_and_audited(rt: Runtime) -> None:
    action_id = pending(rt)
    client = browser(rt)
    login(client, "alice")
    old = csrf_from(client)
    missing = client.post(f"/actions/{action_id}/approve", data={"comment": "ok"})
    assert missing.status_code == 403 and "security token is stale or missing" in missing.text
    client.post("/logout", data={"csrf_token": old})
    login(client, "alice")  # a new session: the old page's token is stale now
    stale = client.post(f"/actions/{action_id}/approve", data={"comment": "ok", "csrf_token": old})
    assert stale.status_code == 403 and "stale" in stale.text
    assert rt.governance.get_action(action_id).state == "awaiting_approval"
    refused = audit(rt, "console.refused")
    assert [e["result"] for e in refused] == ["csrf.invalid", "csrf.invalid"]
    assert all(e["actor"] == "alice" and e["action_id"] == action_id for e in refused)


def test_cross_site_posts_are_refused_even_with_a_valid_token(rt: Runtime) -> None:
    action_id = pending(rt)
    client = browser(rt)
    login(client, "alice")
    token = csrf_from(client)
    url = f"/actions/{action_id}/approve"
    evil = client.post(url, data={"csrf_token": token}, headers={"origin": "https://evil.example"})
    assert evil.status_code == 403 and "cross-site request refused" in evil.text
    site = client.post(url, data={"csrf_token": token}, headers={"sec-fetch-site": "cross-site"})
    assert site.status_code == 403
    referer = client.post(
        url, data={"csrf_token": token}, headers={"origin": "null", "referer": "https://evil.example/page"}
    )
    assert referer.status_code == 403
    bare = TestClient(client.app, base_url=BASE, cookies=client.cookies)
    assert bare.post(url, data={"csrf_token": token}).status_code == 403  # neither Origin nor Referer
    assert rt.governance.get_action(action_id).state == "awaiting_approval"
    assert {e["result"] for e in audit(rt, "console.refused")} == {"csrf.cross_site", "csrf.no_origin"}


# -- trusted SSO header -----------------------------------------------------------------------------


def test_sso_header_is_believed_only_from_trusted_proxies(make_rt: Callable[..., Runtime]) -> None:
    rt = make_rt(trusted_header="X-Forwarded-User", trusted_proxies=["10.0.0.0/8"])
    proxied = browser(rt, client=("10.1.2.3", 40000))
    page = proxied.get("/incidents", headers={"X-Forwarded-User": "bob"})
    assert page.status_code == 200 and 'data-testid="whoami">bob <small>(approver' in page.text
    newcomer = browser(rt, client=("10.1.2.3", 40001)).get("/incidents", headers={"X-Forwarded-User": "dana"})
    assert 'whoami">dana <small>(viewer' in newcomer.text  # no local entry: console.sso_default_role
    direct = browser(rt, client=("192.168.5.5", 40000))
    spoofed = direct.get("/incidents", headers={"X-Forwarded-User": "bob"}, follow_redirects=False)
    assert spoofed.status_code == 303 and "/login" in spoofed.headers["location"]
    refused = audit(rt, "console.refused")
    assert refused[-1]["result"] == "sso.untrusted_header" and refused[-1]["detail"]["client"] == "192.168.5.5"


def test_sso_config_and_helpers() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        ConsoleConfig(trusted_header="X-User")
    with pytest.raises(ValueError, match="CIDR"):
        ConsoleConfig(trusted_header="X-User", trusted_proxies=["not-an-ip"])
    cfg = ConsoleConfig(trusted_header="X-User", trusted_proxies=["127.0.0.1", "fd00::/8"])
    assert sso_user(cfg, "127.0.0.1", "alice") == "alice"
    assert sso_user(cfg, "fd00::1", "alice") == "alice"
    assert sso_user(cfg, "127.0.0.2", "alice") is None
    assert sso_user(cfg, "127.0.0.1", "alice<script>") is None


# -- decisions: four-eyes, expiry, state, role -------------------------------------------------------


def test_approve_with_comment_changes_state_and_is_audited(rt: Runtime) -> None:
    action_id = pending(rt)
    client = browser(rt)
    login(client, "bob")
    page = client.get(f"/actions/{action_id}")
    assert "Approve as bob" in page.text and "POST /api/v2/dags/etl_orders/clearTaskInstances" in page.text
    done = client.post(f"/actions/{action_id}/approve", data={"csrf_token": csrf_from(client), "comment": "looks ok"})
    assert done.status_code == 200 and 'data-testid="action-state">approved' in done.text
    assert rt.governance.get_action(action_id).state == "approved"
    granted = audit(rt, "approval.granted")
    assert granted[-1]["actor"] == "bob" and granted[-1]["detail"]["comment"] == "looks ok"
    assert granted[-1]["actor_kind"] == "web"  # the audit names the channel the approver used
    assert "approval.granted" in done.text  # the action's audit records are on the page
    report = client.get("/audit")
    assert "audit verify: OK" in report.text


def test_self_approval_is_refused_on_the_server_even_if_the_form_is_forged(rt: Runtime) -> None:
    action_id = pending(rt, requested_by="alice")
    client = browser(rt)
    login(client, "alice")
    forged = client.post(
        f"/actions/{action_id}/approve",
        data={"csrf_token": csrf_from(client), "approver": "bob", "as": "bob", "user": "bob", "comment": "me"},
    )
    assert forged.status_code == 409 and "alice" in forged.text and "cannot approve it" in forged.text
    assert rt.governance.get_action(action_id).state == "awaiting_approval"
    refused = audit(rt, "action.refused")[-1]
    assert refused["actor"] == "alice" and refused["result"] == "approvals.self_approval"
    assert not audit(rt, "approval.granted")


def test_viewers_cannot_decide(rt: Runtime) -> None:
    action_id = pending(rt)
    client = browser(rt)
    login(client, "vic")
    assert "Approve as" not in client.get(f"/actions/{action_id}").text
    denied = client.post(f"/actions/{action_id}/deny", data={"csrf_token": csrf_from(client)})
    assert denied.status_code == 403 and "only approvers" in denied.text
    assert rt.governance.get_action(action_id).state == "awaiting_approval"
    assert audit(rt, "console.refused")[-1]["result"] == "console.role"


def test_already_decided_and_expired_requests_are_refused(rt: Runtime) -> None:
    decided = pending(rt)
    rt.governance.approve(decided, "bob", "fine")
    client = browser(rt)
    login(client, "alice")
    token = csrf_from(client)
    again = client.post(f"/actions/{decided}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "it is approved" in again.text
    assert audit(rt, "action.refused")[-1]["result"] == "action.state"

    expired = pending(rt)
    old = datetime.now(UTC) - timedelta(hours=3)
    with rt.governance.db.session(write=True) as s:
        s.execute(update(ActionRow).where(ActionRow.id == expired).values(approval_requested_at=old, created_at=old))
    late = client.post(f"/actions/{expired}/approve", data={"csrf_token": token}, headers={"hx-request": "true"})
    assert late.status_code == 200 and "expired" in late.text  # htmx swaps the panel with the refusal
    assert rt.governance.get_action(expired).state == "expired"
    assert audit(rt, "action.refused")[-1]["result"] == "approvals.request_expired"


def test_deny_with_comment(rt: Runtime) -> None:
    action_id = pending(rt)
    client = browser(rt)
    login(client, "bob")
    done = client.post(f"/actions/{action_id}/deny", data={"csrf_token": csrf_from(client), "comment": "not now"})
    assert done.status_code == 200 and "Denied by bob" in done.text
    assert rt.governance.get_action(action_id).state == "denied"
    assert audit(rt, "approval.denied")[-1]["detail"]["comment"] == "not now"


# -- escaping and redaction -------------------------------------------------------------------------


def test_log_derived_text_is_escaped_and_redacted_on_every_page(rt: Runtime) -> None:
    action_id = pending(rt)
    payload = "<script>alert('x')</script>"
    incident, _ = rt.incidents.open_or_join(
        environment="dev",
        source="airflow",
        subject="etl_orders",
        signature="sig1",
        category="code_bug",
        severity="SEV2",
        title=f"etl_orders: {payload}",
        run_id="run_1",
        task_id="load<img src=x onerror=alert(1)>",
        facts={"evidence": f"Traceback {payload} password={SECRET_VALUE}", "exception": payload, "owner": payload},
    )
    rt.incidents.advance(incident.id, "proposed", action_id=action_id)
    client = browser(rt)
    login(client, "alice")
    pages = [
        client.get("/incidents"),
        client.get(f"/incidents/{incident.id}"),
        client.get(f"/actions/{action_id}"),
        client.get("/audit"),
        client.get(f"/incidents/{incident.id}/postmortem"),
    ]
    for page in pages:
        assert page.status_code == 200, page.text
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert SECRET_VALUE not in page.text
        assert "<b>network</b>" not in page.text
    detail = pages[1].text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in detail
    assert "Traceback" in detail and "password=" in detail  # shown, with the secret masked
    assert "&lt;b&gt;network&lt;/b&gt;" in pages[2].text


def test_incident_filters(rt: Runtime) -> None:
    for sev, env_subject in (("SEV1", "etl_a"), ("SEV3", "etl_b")):
        rt.incidents.open_or_join(
            environment="dev",
            source="airflow",
            subject=env_subject,
            signature=sev,
            category="oom",
            severity=sev,
            title=f"{env_subject} failed",
            run_id=None,
            task_id=None,
            facts={},
        )
    client = browser(rt)
    login(client, "alice")
    sev1 = client.get("/incidents?severity=SEV1").text
    assert "etl_a failed" in sev1 and "etl_b failed" not in sev1
    assert "etl_b failed" in client.get("/incidents?environment=dev&state=detected").text
    assert "No incidents match" in client.get("/incidents?state=resolved").text
    assert "Filter ignored" in client.get("/incidents?state=bogus").text


# -- configuration and mounting ---------------------------------------------------------------------


def test_the_console_refuses_to_start_without_a_key_or_with_insecure_cookies(
    make_rt: Callable[..., Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = make_rt(secure_cookies=False)
    with pytest.raises(ConfigError, match="secure_cookies"):
        console_app(rt)
    local = TestClient(console_app(rt, insecure_local=True), base_url="http://testserver")
    refused = local.get("/login")  # the test client's address is not loopback
    assert refused.status_code == 403 and "loopback clients only" in refused.text
    monkeypatch.delenv("PIPELINE_SRE_CONSOLE_SECRET")
    with pytest.raises(ConfigError, match="session key"):
        console_app(rt)
    monkeypatch.setenv("PIPELINE_SRE_CONSOLE_SECRET", "short")
    with pytest.raises(ConfigError, match="too short"):
        console_app(rt)


def test_insecure_local_console_works_for_loopback_http(make_rt: Callable[..., Runtime]) -> None:
    rt = make_rt(secure_cookies=False)
    client = TestClient(
        console_app(rt, insecure_local=True),
        base_url="http://127.0.0.1:8780",
        headers={"origin": "http://127.0.0.1:8780"},
        client=("127.0.0.1", 5555),
    )
    done = login(client, "alice")
    assert done.status_code == 200 and "whoami" in done.text
    cookie = done.history[0].headers.get_list("set-cookie")
    assert any(c.startswith("psre_session=") and "secure" not in c.lower() for c in cookie)


def test_mount_console_next_to_another_app(rt: Runtime) -> None:
    async def mcp(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("mcp")

    inner = Starlette(routes=[Route("/mcp", mcp)])
    with TestClient(mount_console(inner, rt), base_url=BASE, headers={"origin": BASE}) as client:
        assert client.get("/mcp").text == "mcp"
        page = client.get("/console/incidents", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/console/login?next=")
        login_page = client.get("/console/login")
        assert 'action="/console/login"' in login_page.text and "/console/static/htmx.min.js" in login_page.text
        assert client.get("/console/static/htmx.min.js").status_code == 200
        token = CSRF.search(login_page.text)
        assert token
        done = client.post(
            "/console/login",
            data={"username": "bob", "password": PASSWORDS["bob"], "csrf_token": token.group(1), "next": "/audit"},
        )
        assert done.status_code == 200 and "audit verify: OK" in done.text


def test_users_cli(tmp_path: Path) -> None:
    from pipeline_sre.surfaces.cli.console import users_app

    config = tmp_path / "c.yaml"
    config.write_text(json.dumps(make_settings(tmp_path).model_dump(mode="json", exclude={"source"})))
    runner = CliRunner()
    added = runner.invoke(
        users_app,
        ["add", "carol", "--role", "approver", "--password-stdin", "-c", str(config)],
        input="carol-password-1234\n",
    )
    assert added.exit_code == 0, added.output
    assert "not in governance.approvers" in added.output
    short = runner.invoke(users_app, ["add", "dave", "--password-stdin", "-c", str(config)], input="short\n")
    assert short.exit_code == 2 and "too short" in short.output
    listed = runner.invoke(users_app, ["list", "--json", "-c", str(config)])
    assert listed.exit_code == 0
    users = json.loads(listed.output)
    assert users == [
        {"name": "carol", "role": "approver", "password": True, "disabled": False, "created": users[0]["created"]}
    ]
    assert "argon2" not in listed.output
