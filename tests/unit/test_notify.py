"""Notification channels against a local HTTP stand-in: webhook retries and HMAC, Slack Block Kit via slack-sdk."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipeline_sre.connectors.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    FanOut,
    LogNotifier,
    NotificationError,
    SlackNotifier,
    WebhookNotifier,
    build_notifier,
    slack_blocks,
    verify_signature,
)
from pipeline_sre.errors import ConfigError
from pipeline_sre.settings.config import parse_settings

pytestmark = pytest.mark.anyio

SECRET = "hmac-secret-for-tests-0123"
APPROVAL = {
    "id": "inc_abc",
    "env": "prod",
    "subject": "orders_daily",
    "state": "awaiting_approval",
    "severity": "SEV2",
    "category": "transient_network",
    "title": "orders_daily: transient_network in extract (ConnectionError)",
    "occurrences": 1,
    "opened": "2026-01-01T00:00:00Z",
    "action_id": "act_123",
    "kind": "clear_failed_tasks",
    "call": {
        "method": "POST",
        "path": "/api/v2/dags/orders_daily/clearTaskInstances",
        "body": {"dag_run_id": "manual__1", "only_failed": True},
    },
    "risk": {"level": "low", "notes": "reruns only the failed task"},
    "how_to_approve": "pipeline-sre approvals approve act_123",
}


@dataclass
class StandIn:
    """A local HTTP server that records requests and answers from a script (default 200 {"ok": true})."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    script: deque[tuple[int, dict[str, Any], dict[str, str], str | None]] = field(default_factory=deque)

    def answer(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        path: str | None = None,
    ) -> None:
        """Script the next answer (for requests to `path` only, when given: concurrent senders race)."""
        self.script.append((status, body or {"ok": status < 300}, headers or {}, path))

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        self.seen.append({"path": path, "headers": dict(request.headers), "body": body})
        entry = next((e for e in self.script if e[3] in (None, path)), None)
        status, payload, headers = (200, {"ok": True}, {}) if entry is None else entry[:3]
        if entry is not None:
            self.script.remove(entry)
        return JSONResponse(payload, status, headers=headers)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    state = StandIn()
    app = Starlette(routes=[Route("/{path:path}", state.endpoint, methods=["POST", "GET"])])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    state.url = f"http://127.0.0.1:{port}"
    yield state
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def hook(stand_in: StandIn) -> StandIn:
    stand_in.seen.clear()
    stand_in.script.clear()
    return stand_in


# -- webhook ------------------------------------------------------------------------------------------


async def test_webhook_posts_signed_json(hook: StandIn) -> None:
    notifier = WebhookNotifier(f"{hook.url}/hooks/in", secret=SECRET)
    await notifier.send("approval_requested", APPROVAL)
    [req] = hook.seen
    doc = json.loads(req["body"])
    assert doc["event"] == "approval_requested" and doc["payload"] == APPROVAL
    headers = req["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["x-pipeline-sre-event"] == "approval_requested"
    stamp, signature = headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, stamp, req["body"], signature)
    assert not verify_signature("another-secret", stamp, req["body"], signature)
    assert not verify_signature(SECRET, stamp, req["body"] + b" ", signature)
    assert not verify_signature(SECRET, str(int(stamp) - 3600), req["body"], signature)  # replayed later


async def test_webhook_without_secret_sends_no_signature(hook: StandIn) -> None:
    await WebhookNotifier(f"{hook.url}/hooks/in").send("resolved", {"id": "inc_1"})
    assert SIGNATURE_HEADER.lower() not in hook.seen[0]["headers"]


async def test_webhook_retries_server_errors_then_delivers(hook: StandIn) -> None:
    hook.answer(503)
    hook.answer(502)
    hook.answer(429, headers={"retry-after": "0"})
    notifier = WebhookNotifier(f"{hook.url}/x", secret=SECRET, max_retries=3, backoff_seconds=0.01)
    await notifier.send("escalated", {"id": "inc_1"})
    assert len(hook.seen) == 4
    for req in hook.seen:  # every attempt is signed afresh and verifies
        h = req["headers"]
        assert verify_signature(SECRET, h[TIMESTAMP_HEADER.lower()], req["body"], h[SIGNATURE_HEADER.lower()])


async def test_webhook_gives_up_after_the_retries(hook: StandIn) -> None:
    for _ in range(3):
        hook.answer(500)
    notifier = WebhookNotifier(f"{hook.url}/x", max_retries=2, backoff_seconds=0.01)
    with pytest.raises(NotificationError, match=r"after 3 attempt\(s\): HTTP 500"):
        await notifier.send("escalated", {"id": "inc_1"})
    assert len(hook.seen) == 3


async def test_webhook_does_not_retry_a_client_error(hook: StandIn) -> None:
    hook.answer(400)
    with pytest.raises(NotificationError, match=r"after 1 attempt\(s\): HTTP 400"):
        await WebhookNotifier(f"{hook.url}/x", max_retries=3, backoff_seconds=0.01).send("resolved", {})
    assert len(hook.seen) == 1


async def test_webhook_connection_errors_are_retried_and_the_url_path_stays_secret() -> None:
    url = f"http://127.0.0.1:{_free_port()}/services/T000/B000/very-secret-path"
    notifier = WebhookNotifier(url, max_retries=2, backoff_seconds=0.01, timeout_seconds=1)
    with pytest.raises(NotificationError) as raised:
        await notifier.send("resolved", {})
    assert "after 3 attempt(s): connection error" in raised.value.message
    assert "very-secret-path" not in raised.value.message and "very-secret-path" not in notifier.name


async def test_event_filter(hook: StandIn) -> None:
    notifier = WebhookNotifier(f"{hook.url}/x", events=["escalated"])
    await notifier.send("resolved", {})
    await notifier.send("escalated", {})
    assert [json.loads(r["body"])["event"] for r in hook.seen] == ["escalated"]


async def test_fan_out_keeps_going_when_one_channel_fails(hook: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "pipeline_sre.notify")
    hook.answer(400, path="/broken")
    broken = WebhookNotifier(f"{hook.url}/broken", max_retries=0, name="webhook:broken")
    working = WebhookNotifier(f"{hook.url}/working")
    await FanOut([broken, LogNotifier(), working]).send("escalated", {"id": "inc_9"})
    assert sorted(r["path"] for r in hook.seen) == ["/broken", "/working"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("notifier webhook:broken failed for escalated" in m and "HTTP 400" in m for m in messages)
    assert any(m.startswith("notify escalated") and "inc_9" in m for m in messages)


# -- Slack --------------------------------------------------------------------------------------------


async def test_slack_posts_block_kit_with_the_action_call_risk_and_command(
    hook: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSRE_T_SLACK", "xoxb-test-token")
    hook.answer(200, {"ok": True, "channel": "C1", "ts": "1.0"})
    slack = SlackNotifier("C0ONCALL", "PSRE_T_SLACK", base_url=f"{hook.url}/api/")
    await slack.send("approval_requested", APPROVAL)
    [req] = hook.seen
    assert req["path"] == "/api/chat.postMessage"
    assert req["headers"]["authorization"] == "Bearer xoxb-test-token"
    sent = json.loads(req["body"])
    assert sent["channel"] == "C0ONCALL" and "Approval needed" in sent["text"]
    text = json.dumps(sent["blocks"])
    assert sent["blocks"][0]["type"] == "header"
    assert "`clear_failed_tasks`" in text and "act_123" in text
    assert "POST /api/v2/dags/orders_daily/clearTaskInstances" in text and "manual__1" in text
    assert "*Risk:* low" in text and "reruns only the failed task" in text
    assert "pipeline-sre approvals approve act_123" in text


async def test_slack_errors_become_notification_errors(hook: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    slack = SlackNotifier("C0ONCALL", "PSRE_T_SLACK_MISSING", base_url=f"{hook.url}/api/")
    monkeypatch.delenv("PSRE_T_SLACK_MISSING", raising=False)
    with pytest.raises(NotificationError, match="PSRE_T_SLACK_MISSING is not set"):
        await slack.send("escalated", {"id": "inc_1"})
    monkeypatch.setenv("PSRE_T_SLACK_MISSING", "xoxb-test-token")
    hook.answer(200, {"ok": False, "error": "channel_not_found"})
    with pytest.raises(NotificationError, match="channel_not_found") as raised:
        await slack.send("escalated", {"id": "inc_1", "reason": "code bug"})
    assert "xoxb-test-token" not in raised.value.message


def test_slack_blocks_escape_and_stay_within_limits() -> None:
    payload = {
        **APPROVAL,
        "title": "<!channel> & friends",
        "call": {"method": "POST", "path": "/p", "body": {"conf": "x" * 10_000}},
    }
    _, blocks = slack_blocks("approval_requested", payload)
    text = json.dumps(blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; friends" in text
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section" and "text" in b)
    _, escalated = slack_blocks("escalated", {"id": "inc_2", "subject": "billing", "reason": "ZeroDivisionError"})
    assert "Why a human is needed" in json.dumps(escalated)


def test_slack_signal_incidents_carry_the_runbook_suggestions() -> None:
    payload = {
        "id": "inc_3",
        "subject": "stage 12",
        "signal": {"evidence": "p95/p50 task time 14x <on stage 12>"},
        "plan": {
            "plan": [{"title": "Enable adaptive skew join"}],
            "commands": ["spark-submit --status app-1"],
            "conf_deltas": [{"key": "spark.sql.adaptive.skewJoin.enabled", "proposed": "true"}],
        },
    }
    text = json.dumps(slack_blocks("incident_opened", payload)[1])
    assert "14x &lt;on stage 12&gt;" in text and "1. Enable adaptive skew join" in text
    assert "spark.sql.adaptive.skewJoin.enabled=true" in text and "spark-submit --status app-1" in text


# -- configuration ------------------------------------------------------------------------------------


def _settings(notifications: dict[str, Any]) -> Any:
    return parse_settings(
        {"environments": {"prod": {"airflow": {"url": "http://x"}}}, "notifications": notifications}, "test"
    )


def test_build_notifier_from_config(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PSRE_T_HOOK_URL", "https://hooks.example/services/secret-part")
    monkeypatch.setenv("PSRE_T_HOOK_KEY", SECRET)
    monkeypatch.setenv("PSRE_T_SLACK", "xoxb-config-token")
    monkeypatch.delenv("PSRE_T_UNSET", raising=False)
    settings = _settings(
        {
            "webhooks": [
                {"url_env": "PSRE_T_HOOK_URL", "secret_env": "PSRE_T_HOOK_KEY", "events": ["escalated"]},
                {"url": "https://other.example/in", "secret_env": "PSRE_T_UNSET"},
            ],
            "slack": {"channel": "#oncall", "token_env": "PSRE_T_SLACK"},
        }
    )
    fan = build_notifier(settings)
    assert [c.name for c in fan.channels] == ["log", "webhook[0]:hooks.example", "slack:#oncall"]
    assert any("PSRE_T_UNSET is empty" in r.getMessage() for r in caplog.records)  # signed channel without key: off
    hook = fan.channels[1]
    assert isinstance(hook, WebhookNotifier) and hook.secret == SECRET and hook.events == {"escalated"}
    # the secrets behind these env vars are masked by the redactor like any other
    assert {"https://hooks.example/services/secret-part", SECRET, "xoxb-config-token"} <= set(
        settings.sensitive_values()
    )
    assert [c.name for c in build_notifier(_settings({"log": False})).channels] == []


def test_slack_notifier_leaves_approval_requests_to_the_console_in_the_same_channel() -> None:
    def slack_events(console_channel: str | None, events: list[str] | None = None) -> set[str] | None:
        settings = parse_settings(
            {
                "environments": {"prod": {"airflow": {"url": "http://x"}}},
                "notifications": {"log": False, "slack": {"channel": "C0ONCALL", "events": events}},
                "console": {"slack": {"channel": console_channel}},
            },
            "test",
        )
        (channel,) = build_notifier(settings).channels
        assert isinstance(channel, SlackNotifier)
        return channel.events

    assert slack_events(None) is None  # no console posting: every event, as configured
    assert slack_events("C0APPROVALS") is None  # another channel: both posts are wanted
    assert slack_events("C0ONCALL") == {"escalated", "resolved", "incident_opened", "shadow_plan", "action_executed"}
    assert slack_events("C0ONCALL", ["approval_requested", "escalated"]) == {"escalated"}


@pytest.mark.parametrize(
    ("notifications", "says"),
    [
        ({"webhooks": [{"url": "https://a", "url_env": "B"}]}, "exactly one of url or url_env"),
        ({"webhooks": [{}]}, "exactly one of url or url_env"),
        ({"webhooks": [{"url": "ftp://a"}]}, "http:// or https://"),
        ({"webhooks": [{"url": "https://a", "events": ["paged"]}]}, "unknown event(s) paged"),
        ({"slack": {"channel": "#x", "token": "xoxb-inline"}}, "unknown key"),
        ({"email": {}}, "unknown key"),
    ],
)
def test_bad_notification_config_is_explained(notifications: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _settings(notifications)
    assert says in raised.value.message
