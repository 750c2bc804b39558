"""Slack approvals: Block Kit messages with buttons, and the interactivity endpoint with correctly and
wrongly signed, stale, replayed and unmapped requests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.testclient import TestClient

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.store.slack import SlackMessages
from pipeline_sre.surfaces.slack.actions import SlackPoster, approval_blocks, verify_request
from pipeline_sre.surfaces.web.app import console_app
from pipeline_sre.surfaces.web.views import action_context
from tests.slack_stand_in import SIGNING_SECRET, body_for, signed
from tests.unit.test_console_auth import CLEAR, make_settings

USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0MALLORY": "mallory"}


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_SRE_DATA_DIR", raising=False)
    monkeypatch.setenv("PIPELINE_SRE_CONSOLE_SECRET", "s" * 48)
    monkeypatch.setenv("PIPELINE_SRE_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    runtime = Runtime(
        make_settings(
            tmp_path, public_url="https://console.example.com", slack={"channel": "C0APPROVE", "user_map": USERS}
        )
    )
    yield runtime
    runtime.governance.close()


@pytest.fixture
def client(rt: Runtime) -> TestClient:
    return TestClient(console_app(rt), base_url="https://testserver")


def pending(rt: Runtime, requested_by: str = "mcp:agent") -> str:
    rec = rt.governance.propose("clear_failed_tasks", "dev", CLEAR, requested_by=requested_by)
    rt.governance.request_approval(rec.id, "rerun <!channel> once", requested_by)
    return rec.id


def slack_refusals(rt: Runtime) -> list[dict[str, Any]]:
    return [r.to_dict() for r in rt.governance.audit.records() if r.event == "slack.refused"]


def test_correctly_signed_press_records_the_approval(rt: Runtime, client: TestClient) -> None:
    action_id = pending(rt)
    body = body_for(action_id, "U0BOB")
    answer = client.post("/slack/actions", content=body, headers=signed(body))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["ok"] and data["replace_original"] and data["state"] == "approved"
    record = rt.governance.get_action(action_id)
    assert record.state == "approved"
    assert [(a.approver, a.comment) for a in record.approvals] == [("bob", "via Slack (U0BOB)")]
    granted = [r for r in rt.governance.audit.records() if r.event == "approval.granted"]
    assert [(r.actor, r.actor_kind) for r in granted] == [("bob", "slack")]
    assert not any(
        b["type"] == "actions" and any(e.get("action_id") == "approve" for e in b["elements"]) for b in data["blocks"]
    )
    assert "Approved by bob via Slack" in json.dumps(data["blocks"])
    assert not slack_refusals(rt)


def test_deny_button(rt: Runtime, client: TestClient) -> None:
    action_id = pending(rt)
    body = body_for(action_id, "U0ALICE", "deny")
    answer = client.post("/slack/actions", content=body, headers=signed(body))
    assert answer.status_code == 200 and answer.json()["state"] == "denied"
    assert rt.governance.get_action(action_id).state == "denied"


def test_wrongly_signed_request_is_refused_and_audited(rt: Runtime, client: TestClient) -> None:
    action_id = pending(rt)
    body = body_for(action_id, "U0BOB")
    wrong = client.post("/slack/actions", content=body, headers=signed(body, secret="not-the-signing-secret"))
    assert wrong.status_code == 401 and "signature does not match" in wrong.json()["text"]
    tampered_headers = signed(body)
    tampered = body_for(action_id, "U0ALICE")  # same signature, different body
    assert client.post("/slack/actions", content=tampered, headers=tampered_headers).status_code == 401
    unsigned = client.post(
        "/slack/actions", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert unsigned.status_code == 401
    assert rt.governance.get_action(action_id).state == "awaiting_approval"
    refusals = slack_refusals(rt)
    assert [r["result"] for r in refusals] == ["slack.bad_signature", "slack.bad_signature", "slack.signature_missing"]
    assert refusals[0]["action_id"] == action_id and refusals[0]["actor"] == "slack:unverified"


def test_stale_timestamp_is_refused_as_a_replay(rt: Runtime, client: TestClient) -> None:
    action_id = pending(rt)
    body = body_for(action_id, "U0BOB")
    stale = client.post("/slack/actions", content=body, headers=signed(body, ts=int(time.time()) - 6 * 60))
    assert stale.status_code == 401 and "older than 5 minutes" in stale.json()["text"]
    future = client.post("/slack/actions", content=body, headers=signed(body, ts=int(time.time()) + 6 * 60))
    assert future.status_code == 401
    assert rt.governance.get_action(action_id).state == "awaiting_approval"
    assert [r["result"] for r in slack_refusals(rt)] == ["slack.stale_timestamp", "slack.stale_timestamp"]


def test_replayed_request_is_refused_and_audited(rt: Runtime, client: TestClient) -> None:
    action_id = pending(rt)
    body = body_for(action_id, "U0ALICE", "deny")
    headers = signed(body)
    assert client.post("/slack/actions", content=body, headers=headers).status_code == 200
    replay = client.post("/slack/actions", content=body, headers=headers)
    assert replay.status_code == 409 and "replay" in replay.json()["text"]
    assert [r["result"] for r in slack_refusals(rt)] == ["slack.replay"]
    assert len(rt.governance.get_action(action_id).approvals) == 1


def test_unmapped_slack_user_is_refused_and_audited(rt: Runtime, client: TestClient) -> None:
    action_id = pending(rt)
    body = body_for(action_id, "U0STRANGER")
    answer = client.post("/slack/actions", content=body, headers=signed(body))
    assert answer.status_code == 403 and "not mapped to an approver" in answer.json()["text"]
    refusal = slack_refusals(rt)[-1]
    assert refusal["result"] == "slack.user_unmapped" and refusal["actor"] == "slack:U0STRANGER"
    assert rt.governance.get_action(action_id).state == "awaiting_approval"


def test_governance_refusals_come_back_to_slack(rt: Runtime, client: TestClient) -> None:
    own = pending(rt, requested_by="alice")
    body = body_for(own, "U0ALICE")
    answer = client.post("/slack/actions", content=body, headers=signed(body))
    assert answer.status_code == 200 and answer.json()["rule"] == "approvals.self_approval"
    assert answer.json()["replace_original"] is False
    other = pending(rt)
    body = body_for(other, "U0MALLORY")  # mapped, but not a configured approver
    answer = client.post("/slack/actions", content=body, headers=signed(body))
    assert answer.json()["rule"] == "approvals.approver_not_configured"
    refused = [r.to_dict() for r in rt.governance.audit.records() if r.event == "action.refused"]
    assert [r["result"] for r in refused] == ["approvals.self_approval", "approvals.approver_not_configured"]


def test_bad_payload_and_missing_secret(rt: Runtime, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    body = urlencode({"payload": json.dumps({"type": "view_submission"})}).encode()
    assert client.post("/slack/actions", content=body, headers=signed(body)).status_code == 400
    monkeypatch.delenv("PIPELINE_SRE_SLACK_SIGNING_SECRET")
    off = client.post("/slack/actions", content=body, headers=signed(body))
    assert off.status_code == 503 and "PIPELINE_SRE_SLACK_SIGNING_SECRET" in off.json()["error"]


def test_response_url_gets_the_updated_message(rt: Runtime) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    app = console_app(rt)
    app.state.console.slack.transport = httpx.MockTransport(handler)
    client = TestClient(app, base_url="https://testserver")
    action_id = pending(rt)
    body = body_for(action_id, "U0BOB", response_url="https://hooks.slack.com/actions/T0/1/abc")
    assert client.post("/slack/actions", content=body, headers=signed(body)).status_code == 200
    assert [str(r.url) for r in seen] == ["https://hooks.slack.com/actions/T0/1/abc"]
    sent = json.loads(seen[0].content)
    assert sent["replace_original"] is True and "ok" not in sent
    other = pending(rt)
    body = body_for(other, "U0BOB", response_url="https://attacker.example/collect")
    assert client.post("/slack/actions", content=body, headers=signed(body)).status_code == 200
    assert len(seen) == 1  # only Slack's own hooks host is ever called


def test_verify_request_uses_slack_v0_scheme() -> None:
    body = b"payload=%7B%7D"
    now = 1_700_000_000
    headers = {k.lower(): v for k, v in signed(body, ts=now).items()}
    assert verify_request(SIGNING_SECRET, headers, body, now + 10) == headers["x-slack-signature"]


def test_approval_blocks_have_buttons_only_while_pending_and_escape_text(rt: Runtime) -> None:
    action_id = pending(rt)
    view = action_context(rt.governance.get_action(action_id), rt.redact)
    blocks = approval_blocks(view, console_url="https://console.example.com")
    actions = next(b for b in blocks if b["type"] == "actions")
    buttons = {e["action_id"]: e for e in actions["elements"]}
    assert buttons["approve"]["value"] == action_id and buttons["approve"]["style"] == "primary"
    assert buttons["deny"]["style"] == "danger"
    assert buttons["open_console"]["url"] == f"https://console.example.com/actions/{action_id}"
    text = json.dumps(blocks)
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "clearTaskInstances" in text
    rt.governance.approve(action_id, "bob")
    after = approval_blocks(action_context(rt.governance.get_action(action_id), rt.redact))
    assert not any(b["type"] == "actions" for b in after)


class FakeSlack:
    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.updated: list[dict[str, Any]] = []

    async def chat_postMessage(self, **kw: Any) -> dict[str, Any]:
        self.posted.append(kw)
        return {"ok": True, "ts": f"1700000000.{len(self.posted):06d}", "channel": kw["channel"]}

    async def chat_update(self, **kw: Any) -> dict[str, Any]:
        self.updated.append(kw)
        return {"ok": True}


@pytest.mark.anyio
async def test_poster_posts_each_request_once_and_updates_it_when_decided(rt: Runtime) -> None:
    fake = FakeSlack()
    poster = SlackPoster(rt, rt.settings.console.slack, console_url=rt.settings.console.public_url, client=fake)
    assert poster.enabled
    action_id = pending(rt)
    assert await poster.run_once() == 1
    assert await poster.run_once() == 0
    assert fake.posted[0]["channel"] == "C0APPROVE" and action_id in fake.posted[0]["text"]
    rt.governance.deny(action_id, "alice", "no")
    assert await poster.run_once() == 1
    assert fake.updated[0]["ts"] == "1700000000.000001" and "denied" in fake.updated[0]["text"]
    assert await poster.run_once() == 0


class FlakySlack(FakeSlack):
    """Fails its first post, as Slack does when it is briefly unreachable."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def chat_postMessage(self, **kw: Any) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise TimeoutError("slack unreachable")
        return await super().chat_postMessage(**kw)


@pytest.mark.anyio
async def test_replicas_post_each_request_once_and_a_failed_post_is_retried(rt: Runtime) -> None:
    first, second = FlakySlack(), FakeSlack()
    config, url = rt.settings.console.slack, rt.settings.console.public_url
    replica_a = SlackPoster(rt, config, console_url=url, client=first)
    replica_b = SlackPoster(rt, config, console_url=url, client=second)
    action_id = pending(rt)
    with pytest.raises(TimeoutError):
        await replica_a.run_once()  # its claim is released, so the request is not lost
    assert await replica_b.run_once() == 1
    assert await replica_a.run_once() == 0  # already posted by the other replica
    assert [p["text"] for p in first.posted] == [] and action_id in second.posted[0]["text"]
    # the race itself: both replicas saw the request as unposted; the second claim loses
    assert not SlackMessages(rt.governance.db).claim(action_id, "C0APPROVE")


def test_a_post_claimed_by_a_replica_that_died_is_taken_over(rt: Runtime) -> None:
    from datetime import UTC, datetime, timedelta

    from pipeline_sre.store.models import SlackMessageRow
    from pipeline_sre.store.slack import POST_LEASE

    action_id = pending(rt)
    messages = SlackMessages(rt.governance.db)
    assert messages.claim(action_id, "C0APPROVE")  # this replica dies before it stores the posted message
    assert not messages.claim(action_id, "C0APPROVE")
    with rt.governance.db.session(write=True) as s:
        row = s.get(SlackMessageRow, action_id)
        assert row is not None
        row.posted_at = datetime.now(UTC) - POST_LEASE - timedelta(seconds=1)
    assert messages.claim(action_id, "C0APPROVE")  # the lease ran out: another replica posts it
