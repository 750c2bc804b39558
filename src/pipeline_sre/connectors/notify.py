"""Notifications to humans through one interface: every channel gets the same event and payload.

Channels: the log (always there), generic webhooks (JSON POST, retried, optionally HMAC-signed) and Slack
(slack-sdk, Block Kit). `build_notifier(settings)` turns the `notifications:` config into one FanOut.
Secrets (webhook URLs that embed a token, HMAC keys, the Slack token) are referenced by env var name.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from pipeline_sre.connectors.retry import RetryPolicy, Transient, retry_after, retrying
from pipeline_sre.errors import PipelineSreError
from pipeline_sre.settings.notifications import EVENTS, NotificationsConfig

if TYPE_CHECKING:
    from pipeline_sre.settings.config import Settings

log = logging.getLogger("pipeline_sre.notify")

SIGNATURE_HEADER = "X-Pipeline-SRE-Signature"
TIMESTAMP_HEADER = "X-Pipeline-SRE-Timestamp"
EVENT_HEADER = "X-Pipeline-SRE-Event"
RETRY_AFTER_CAP_S = 30.0


class NotificationError(PipelineSreError):
    code = "notification_failed"


class Notifier(Protocol):
    name: str

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        """Deliver one event (approval_requested, escalated, resolved, ...). Payload is already redacted."""
        ...


class LogNotifier:
    """Writes each event as one JSON line to our log (stderr): the channel that is always there."""

    name = "log"

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        log.warning("notify %s %s", event, json.dumps(payload, default=str, separators=(",", ":")))


class FanOut:
    """Sends to every channel; one failing channel is logged and does not stop the others."""

    name = "fan-out"

    def __init__(self, channels: list[Notifier]) -> None:
        self.channels = channels

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        results = await asyncio.gather(*(c.send(event, payload) for c in self.channels), return_exceptions=True)
        for channel, result in zip(self.channels, results, strict=True):
            if isinstance(result, Exception):
                detail = result.message if isinstance(result, PipelineSreError) else type(result).__name__
                log.error("notifier %s failed for %s: %s", channel.name, event, detail)


# -- configuration ----------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- webhook ----------------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: sha256=<hex HMAC-SHA256 of '<timestamp>.<body>'>."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str, *, max_age_s: float = 300) -> bool:
    """For receivers: the signature matches (constant time) and the timestamp is recent (no replays)."""
    try:
        age = abs(time.time() - float(timestamp))
    except ValueError:
        return False
    return age <= max_age_s and hmac.compare_digest(sign(secret, timestamp, body), header)


class WebhookNotifier:
    """POSTs `{"event", "payload", "sent_at"}` as JSON; retries 5xx/429/connection errors with backoff."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        timeout_seconds: float = 5.0,
        max_retries: int = 3,
        backoff_seconds: float = 0.5,
        events: list[str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        name: str | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout_seconds
        self.max_retries = max_retries
        self.backoff = backoff_seconds
        self.events = set(events) if events is not None else None
        self.transport = transport
        # Only the host goes into names and logs: the path of an incoming-webhook URL is often its secret.
        self.name = name or f"webhook:{urlsplit(url).hostname}"

    def body(self, event: str, payload: dict[str, Any]) -> bytes:
        doc = {"event": event, "payload": payload, "sent_at": int(time.time())}
        return json.dumps(doc, default=str, separators=(",", ":"), ensure_ascii=False).encode()

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        if self.events is not None and event not in self.events:
            return
        body = self.body(event, payload)
        headers = {"content-type": "application/json", "user-agent": "pipeline-sre", EVENT_HEADER: event}
        tries = 0

        async def attempt() -> None:
            nonlocal tries
            tries += 1
            if self.secret:  # a fresh timestamp per attempt, so a retry is not mistaken for a replay
                stamp = str(int(time.time()))
                headers[TIMESTAMP_HEADER] = stamp
                headers[SIGNATURE_HEADER] = sign(self.secret, stamp, body)
            try:
                response = await client.post(self.url, content=body, headers=headers)
            except httpx.TransportError as err:
                raise Transient(f"connection error ({type(err).__name__})") from None
            if response.status_code < 300:
                return
            what = f"HTTP {response.status_code}"
            if response.status_code == 429:
                wait = retry_after(response)
                raise Transient(f"{what} retry-after={response.headers.get('retry-after', '')}", retry_after=wait)
            if response.status_code >= 500:
                raise Transient(what)
            raise _Undelivered(what)  # a client error: resending the same body will not help

        # A duplicate notification is harmless, so a webhook is sent again even after a timeout or a 5xx.
        policy = RetryPolicy.of(self.max_retries, self.backoff, cap=RETRY_AFTER_CAP_S)
        async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
            try:
                await retrying(attempt, policy)
            except (Transient, _Undelivered) as last:
                failed = f"{self.name}: {event} not delivered after {tries} attempt(s): {last}"
                raise NotificationError(failed) from None


class _Undelivered(Exception):
    """The receiver refused the notification for good (a 4xx other than 429)."""


# -- Slack ------------------------------------------------------------------------------------------

TITLES = {
    "approval_requested": ":raised_hand: Approval needed",
    "escalated": ":rotating_light: Escalated to a human",
    "resolved": ":white_check_mark: Resolved",
    "incident_opened": ":mag: Incident opened",
    "shadow_plan": ":ghost: Shadow plan (nothing was done)",
    "action_executed": ":gear: Action executed",
}
SECTION_MAX = 2900  # Slack rejects section text over 3,000 characters


def _esc(text: Any) -> str:
    """Slack mrkdwn: only &, < and > need escaping; everything else is shown as is."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = SECTION_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _advice_text(payload: dict[str, Any]) -> str:
    """A signal's evidence and the runbook's suggestions (plan steps, Spark conf deltas, commands)."""
    plan, signal = payload["plan"], payload.get("signal") or {}
    lines = [f"*Signal:* {_esc(signal['evidence'])}"] if signal.get("evidence") else []
    lines += [f"{i}. {_esc(step.get('title'))}" for i, step in enumerate(plan.get("plan") or [], 1)][:4]
    deltas = [f"{d.get('key')}={d.get('proposed')}" for d in plan.get("conf_deltas") or []][:6]
    if deltas:
        lines.append("*Suggested conf:* `" + _esc(" ".join(deltas)) + "`")
    commands = [str(c) for c in plan.get("commands") or []][:3]
    if commands:
        lines.append("*Look with:*\n```" + _esc("\n".join(commands)) + "```")
    return "\n".join(lines) or "*No runbook suggestions*"


def _plan_text(plan: dict[str, Any]) -> str:
    """A runbook plan as an approver reads it: the steps, impact and rollback."""
    lines = [f"{i}. {_esc(step.get('title'))}" for i, step in enumerate(plan.get("steps") or [], 1)][:5]
    for label, key in (("Impact", "impact"), ("Rollback", "rollback")):
        if plan.get(key):
            lines.append(f"*{label}:* {_esc(plan[key])}")
    return "*Plan*\n" + "\n".join(lines)


def _downstream_text(payload: dict[str, Any]) -> str:
    """The DAGs the failure blocks and whom to tell: their owners are waiting on it too."""
    owners = ", ".join(str(o) for o in payload.get("downstream_owners") or []) or "no owner recorded"
    return f"*Blocks downstream:* {_esc(payload['downstream'])}\n*Downstream owners:* {_esc(owners)}"


def slack_blocks(event: str, payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and Block Kit blocks for one event. Approval requests show the action, the exact call,
    the risk and the command that approves it."""
    subject = payload.get("subject") or payload.get("id") or "pipeline-sre"
    title = f"{TITLES.get(event, event)}: {subject}"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": _clip(title, 150)}}]
    fields = [
        (label, payload[key])
        for label, key in (
            ("Incident", "id"),
            ("Environment", "env"),
            ("Severity", "severity"),
            ("Category", "category"),
            ("State", "state"),
            ("Occurrences", "occurrences"),
        )
        if payload.get(key) not in (None, "")
    ]
    if fields:
        blocks.append(
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{_esc(v)}"} for k, v in fields[:10]]}
        )
    if payload.get("title"):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(_esc(payload["title"]))}})
    if payload.get("downstream"):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(_downstream_text(payload))}})
    if event == "approval_requested":
        risk = payload.get("risk")
        level = risk.get("level") if isinstance(risk, dict) else risk
        notes = [str(v) for k, v in risk.items() if k != "level" and v] if isinstance(risk, dict) else []
        risk_text = f"*Risk:* {_esc(level or 'not stated')}" + (f" — {_esc('; '.join(notes))}" if notes else "")
        action = f"*Action:* `{_esc(payload.get('kind'))}` ({_esc(payload.get('action_id'))})"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"{action}\n{risk_text}"}})
        call = payload.get("call") or {}
        body = json.dumps(call.get("body"), indent=2, default=str)
        call_text = f"{call.get('method', '')} {call.get('path', '')}\n{body}"
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _clip(f"*Exact call*\n```{_esc(call_text)}```")}}
        )
        if isinstance(payload.get("plan"), dict):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(_plan_text(payload["plan"]))}})
        command = payload.get("how_to_approve") or f"pipeline-sre approvals approve {payload.get('action_id')}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*To approve*\n```{_esc(command)}```"}})
    elif event == "shadow_plan":
        would = payload.get("would_propose")
        what = f"*Would propose:* `{_esc(would)}` {_esc(json.dumps(payload.get('params'), default=str))}"
        text = (what if would else "*Would escalate* (a rerun cannot fix this)") + " — shadow mode, nothing was done"
        if isinstance(payload.get("plan"), dict):
            text += "\n" + _plan_text(payload["plan"])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}})
    elif event == "incident_opened" and isinstance(payload.get("plan"), dict):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(_advice_text(payload))}})
    elif event == "escalated" and payload.get("reason"):
        text = _clip(f"*Why a human is needed*\n{_esc(payload['reason'])}")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    context = [f"event `{event}`"] + ([f"opened {payload['opened']}"] if payload.get("opened") else [])
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(" · ".join(context))}]})
    return title, blocks


class SlackNotifier:
    """Posts each event with `chat.postMessage` (slack-sdk's AsyncWebClient) as Block Kit blocks."""

    def __init__(
        self,
        channel: str,
        token_env: str,
        *,
        base_url: str = "https://slack.com/api/",
        timeout_seconds: float = 10.0,
        events: list[str] | None = None,
    ) -> None:
        self.name = f"slack:{channel}"
        self.channel = channel
        self.token_env = token_env
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout_seconds
        self.events = set(events) if events is not None else None

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        if self.events is not None and event not in self.events:
            return
        token = os.environ.get(self.token_env)
        if not token:
            raise NotificationError(f"{self.name}: the Slack token env var {self.token_env} is not set")
        try:
            from slack_sdk.errors import SlackApiError, SlackClientError
            from slack_sdk.web.async_client import AsyncWebClient
        except ImportError:  # pragma: no cover - depends on the install
            raise NotificationError(f"{self.name}: install slack-sdk and aiohttp to post to Slack") from None
        text, blocks = slack_blocks(event, payload)
        client = AsyncWebClient(token=token, base_url=self.base_url, timeout=int(max(1, self.timeout)))
        try:
            await client.chat_postMessage(channel=self.channel, text=text, blocks=blocks)
        except SlackApiError as err:
            code = err.response.get("error") if err.response is not None else None
            raise NotificationError(f"{self.name}: Slack refused the message: {code or 'unknown error'}") from None
        except (TimeoutError, SlackClientError, OSError) as err:
            raise NotificationError(f"{self.name}: Slack unreachable ({type(err).__name__})") from None


# -- assembly ---------------------------------------------------------------------------------------


def build_notifier(settings: Settings) -> FanOut:
    """Every configured channel behind one FanOut; a channel whose secret is missing is reported, not fatal."""
    cfg: NotificationsConfig = settings.notifications
    channels: list[Notifier] = [LogNotifier()] if cfg.log else []
    for i, hook in enumerate(cfg.webhooks):
        url = hook.url if hook.url is not None else os.environ.get(hook.url_env or "")
        if not url:
            log.error("notifications.webhooks[%d]: env var %s is empty; this channel is off", i, hook.url_env)
            continue
        secret = os.environ.get(hook.secret_env) if hook.secret_env else None
        if hook.secret_env and not secret:
            log.error("notifications.webhooks[%d]: env var %s is empty; this channel is off", i, hook.secret_env)
            continue
        channels.append(
            WebhookNotifier(
                url,
                secret=secret,
                timeout_seconds=hook.timeout_seconds,
                max_retries=hook.max_retries,
                events=hook.events,
                name=f"webhook[{i}]:{urlsplit(url).hostname}",
            )
        )
    if cfg.slack is not None:
        if not os.environ.get(cfg.slack.token_env):
            log.warning("notifications.slack: env var %s is empty; Slack posts will fail", cfg.slack.token_env)
        events = cfg.slack.events
        if settings.console.slack.channel == cfg.slack.channel:
            # The console already posts each approval request there, with Approve / Deny buttons.
            events = [e for e in (list(EVENTS) if events is None else events) if e != "approval_requested"]
        channels.append(
            SlackNotifier(
                cfg.slack.channel,
                cfg.slack.token_env,
                base_url=cfg.slack.base_url,
                timeout_seconds=cfg.slack.timeout_seconds,
                events=events,
            )
        )
    return FanOut(channels)
