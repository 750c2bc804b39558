"""Slack approvals: a Block Kit message per approval request with Approve / Deny buttons, and the
interactivity endpoint that turns a button press into `GovernanceService.approve` / `deny`.

A press counts only when the request is signed with the app's signing secret (`v0` HMAC-SHA256 over
`v0:{timestamp}:{body}`), is at most five minutes old, has not been seen before (its signature is kept
in the store for ten minutes, so a replay is refused on any replica), and comes from a Slack user that
`console.slack.user_map` maps to an approver. Governance then applies the same rules as everywhere
else (four-eyes, digest binding, TTL). Every refusal is audited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse

from pipeline_sre.app import operations
from pipeline_sre.errors import NotFound, PipelineSreError
from pipeline_sre.governance.actions import is_action_id
from pipeline_sre.governance.audit import AuditEvent, AuditValue
from pipeline_sre.governance.identity import Principal
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.console import SlackApprovalsConfig
from pipeline_sre.store.slack import PostedMessage, SlackMessages, remember
from pipeline_sre.surfaces.web.views import action_context

log = logging.getLogger("pipeline_sre.console.slack")

MAX_AGE_S = 5 * 60
MAX_BODY = 64 * 1024
SECTION_MAX = 2900
RESPONSE_URL_PREFIX = "https://hooks.slack.com/"
APPROVE, DENY = "approve", "deny"


def _esc(text: Any) -> str:
    """Slack mrkdwn escaping: &, < and > (so log-derived text cannot form links or mentions)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = SECTION_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def approval_blocks(
    view: Mapping[str, Any], *, console_url: str | None = None, note: str | None = None
) -> list[dict[str, Any]]:
    """Block Kit for one action (an `action_view`, optionally with its `plan`): what, exact call, risk,
    rollback, decision, approvals, and Approve / Deny buttons while it is still pending.

    `view` must already be redacted (see `views.action_context`); everything shown is mrkdwn-escaped."""
    action_id = str(view.get("id", ""))
    plan = view.get("plan") if isinstance(view.get("plan"), Mapping) else {}
    assert isinstance(plan, Mapping)
    state = str(view.get("state", ""))
    params = view.get("params") if isinstance(view.get("params"), Mapping) else {}
    assert isinstance(params, Mapping)
    subject = params.get("dag_id") or action_id
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(f"Approval needed: {view.get('kind')} {subject}", 150)},
        }
    ]
    approvals = view.get("approvals") or []
    valid = sum(1 for a in approvals if isinstance(a, Mapping) and a.get("valid"))
    fields = [
        ("Action", f"`{action_id}`"),
        ("Environment", view.get("environment")),
        ("State", state),
        ("Requested by", view.get("requested_by")),
        ("Approvals", f"{valid} of {view.get('required_approvals', '?')}"),
        ("Mode", view.get("mode")),
    ]
    blocks.append(
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{k}*\n{v if k == 'Action' else _esc(v)}"}
                for k, v in fields
                if v not in (None, "")
            ],
        }
    )
    if view.get("approval_reason"):
        blocks.append(_section(f"*Why*\n{_esc(view['approval_reason'])}"))
    call = view.get("call") if isinstance(view.get("call"), Mapping) else {}
    assert isinstance(call, Mapping)
    call_text = (
        f"{call.get('method', '')} {call.get('path', '')}\n{json.dumps(call.get('body'), indent=2, default=str)}"
    )
    blocks.append(_section(f"*Exact call*\n```{_esc(call_text)}```"))
    risk = plan.get("risk") if isinstance(plan.get("risk"), Mapping) else {}
    assert isinstance(risk, Mapping)
    lines = [f"*Risk:* {_esc(risk.get('level') or 'not stated')}"]
    notes = [str(v) for k, v in risk.items() if k != "level" and v]
    if notes:
        lines.append(_esc("; ".join(notes)))
    if plan.get("rollback"):
        lines.append(f"*Rollback:* {_esc(plan['rollback'])}")
    decision = view.get("decision") if isinstance(view.get("decision"), Mapping) else None
    if decision:
        lines.append(f"*Policy:* {_esc(decision.get('rule', ''))}: {_esc(decision.get('message', ''))}")
    blocks.append(_section("\n".join(lines)))
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(_esc(note), 2000)}]})
    elements: list[dict[str, Any]] = []
    if state in ("proposed", "awaiting_approval"):
        elements += [
            {
                "type": "button",
                "action_id": APPROVE,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": action_id,
                "confirm": {
                    "title": {"type": "plain_text", "text": "Approve this action?"},
                    "text": {
                        "type": "mrkdwn",
                        "text": f"It lets `{_esc(view.get('kind'))}` run in {_esc(view.get('environment'))}.",
                    },
                    "confirm": {"type": "plain_text", "text": "Approve"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            },
            {
                "type": "button",
                "action_id": DENY,
                "text": {"type": "plain_text", "text": "Deny"},
                "style": "danger",
                "value": action_id,
            },
        ]
    if console_url:
        elements.append(
            {
                "type": "button",
                "action_id": "open_console",
                "text": {"type": "plain_text", "text": "Open in console"},
                "url": f"{console_url.rstrip('/')}/actions/{action_id}",
            }
        )
    if elements:
        blocks.append({"type": "actions", "block_id": f"decide:{action_id}", "elements": elements})
    return blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}


class SlackRefusal(Exception):
    def __init__(self, rule: str, message: str, status: int) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.status = status


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verify_request(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str:
    """The request's signature if it is authentic and fresh; raises SlackRefusal otherwise."""
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not timestamp or not signature:
        raise SlackRefusal("slack.signature_missing", "the request is not signed by Slack", 401)
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise SlackRefusal("slack.bad_timestamp", "the request timestamp is not a Unix time", 401)
    if abs(now - int(timestamp)) > MAX_AGE_S:
        raise SlackRefusal(
            "slack.stale_timestamp",
            "the request is older than 5 minutes (or from the future): refused as a replay",
            401,
        )
    if not SignatureVerifier(secret, clock=_FixedClock(now)).is_valid(body, timestamp, signature):
        raise SlackRefusal("slack.bad_signature", "the request signature does not match the signing secret", 401)
    return signature


class SlackActions:
    """The `/slack/actions` endpoint (Slack's interactivity request URL)."""

    def __init__(
        self,
        runtime: Runtime,
        config: SlackApprovalsConfig,
        *,
        console_url: str | None = None,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.rt = runtime
        self.config = config
        self.console_url = console_url
        self.clock = clock
        self.transport = transport

    def _audit(self, rule: str, message: str, actor: str, action_id: str | None = None, **detail: AuditValue) -> None:
        self.rt.governance.audit.append(
            AuditEvent(
                "slack.refused",
                actor,
                "slack",
                result=rule,
                action_id=action_id if action_id and is_action_id(action_id) else None,
                detail={"channel": "slack", "rule": rule, "message": message, **detail},
            )
        )

    async def __call__(self, request: Request) -> JSONResponse:
        secret = os.environ.get(self.config.signing_secret_env, "")
        if not secret.strip():
            return JSONResponse(
                {"ok": False, "error": f"Slack approvals are off: set {self.config.signing_secret_env}"}, 503
            )
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        now = self.clock()
        actor = "slack:unverified"
        try:
            if len(body) > MAX_BODY:
                raise SlackRefusal("slack.too_large", "the request body is too large", 413)
            signature = verify_request(secret, headers, body, now)
            if not await anyio.to_thread.run_sync(
                remember, self.rt.governance.db, signature, datetime.fromtimestamp(now, UTC)
            ):
                raise SlackRefusal("slack.replay", "this exact request was handled already (replay)", 409)
            payload, user_id, verb, action_id = _parse(body)
            actor = f"slack:{user_id}"
            approver = self.config.user_map.get(user_id)
            if approver is None:
                raise SlackRefusal(
                    "slack.user_unmapped",
                    f"Slack user {user_id} is not mapped to an approver (console.slack.user_map)",
                    403,
                )
        except SlackRefusal as refusal:
            await anyio.to_thread.run_sync(
                partial(self._audit, refusal.rule, refusal.message, actor, _action_id_of(body))
            )
            return JSONResponse(
                {
                    "ok": False,
                    "rule": refusal.rule,
                    "response_type": "ephemeral",
                    "replace_original": False,
                    "text": f"Refused: {refusal.message}",
                },
                refusal.status,
            )
        return await self._decide(payload, user_id, approver, verb, action_id)

    async def _decide(
        self, payload: dict[str, Any], user_id: str, approver: str, verb: str, action_id: str
    ) -> JSONResponse:
        comment = f"via Slack ({user_id})"
        who = Principal("slack", approver)
        try:
            record = await anyio.to_thread.run_sync(
                lambda: operations.decide(self.rt, who, action_id, approve=verb == APPROVE, comment=comment)
            )
        except PolicyRefusal as err:  # already audited by the governance service
            hint = f" (to allow: {err.allow_hint})" if err.allow_hint else ""
            message: dict[str, Any] = {
                "ok": False,
                "rule": err.rule,
                "response_type": "ephemeral",
                "replace_original": False,
                "text": f"Refused: {err.message}{hint}",
            }
            return self._answer(payload, message, 200)
        except (NotFound, PipelineSreError) as err:
            return self._answer(
                payload, {"ok": False, "text": f"Refused: {err.message}", "replace_original": False}, 200
            )
        view = action_context(record, self.rt.redact)
        done = "approved" if verb == APPROVE else "denied"
        note = f"{done.capitalize()} by {approver} via Slack; the action is now {record.state}."
        message = {
            "ok": True,
            "replace_original": True,
            "state": record.state,
            "text": f"{action_id} {done} by {approver}: now {record.state}",
            "blocks": approval_blocks(view, console_url=self.console_url, note=note),
        }
        return self._answer(payload, message, 200)

    def _answer(self, payload: dict[str, Any], message: dict[str, Any], status: int) -> JSONResponse:
        url = payload.get("response_url")
        task = None
        if isinstance(url, str) and url.startswith(RESPONSE_URL_PREFIX):
            task = BackgroundTask(
                self._post_response, url, {k: v for k, v in message.items() if k not in ("ok", "rule", "state")}
            )
        return JSONResponse(message, status, background=task)

    async def _post_response(self, url: str, message: dict[str, Any]) -> None:
        try:
            async with httpx.AsyncClient(timeout=5.0, transport=self.transport) as client:
                await client.post(url, json=message)
        except httpx.HTTPError as err:
            log.warning("could not update the Slack message: %s", type(err).__name__)


def _action_id_of(body: bytes) -> str | None:
    try:
        return _parse(body)[3]
    except SlackRefusal:
        return None


def _parse(body: bytes) -> tuple[dict[str, Any], str, str, str]:
    """(payload, Slack user id, approve|deny, action id) of a block_actions request."""
    try:
        form = parse_qs(body.decode("utf-8"), max_num_fields=20)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, KeyError, IndexError, ValueError):
        raise SlackRefusal("slack.bad_payload", "the request has no readable `payload`", 400) from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise SlackRefusal("slack.bad_payload", "only block_actions (button presses) are handled", 400)
    user = payload.get("user")
    actions = payload.get("actions")
    user_id = user.get("id") if isinstance(user, dict) else None
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    verb, action_id = first.get("action_id"), first.get("value")
    if not isinstance(user_id, str) or not user_id:
        raise SlackRefusal("slack.bad_payload", "the request names no Slack user", 400)
    if verb not in (APPROVE, DENY) or not isinstance(action_id, str) or not is_action_id(action_id):
        raise SlackRefusal("slack.bad_payload", "the button is not an Approve / Deny of a known action id", 400)
    return payload, user_id[:32], verb, action_id


class SlackPoster:
    """Posts each action awaiting approval once (with buttons) and, once it is decided, replaces the
    buttons with the outcome. Runs in the console's lifespan when a channel and bot token are set."""

    def __init__(
        self, runtime: Runtime, config: SlackApprovalsConfig, *, console_url: str | None = None, client: Any = None
    ) -> None:
        self.rt = runtime
        self.config = config
        self.console_url = console_url
        self._client = client

    def client(self) -> Any:
        if self._client is None:
            from slack_sdk.web.async_client import AsyncWebClient

            token = os.environ.get(self.config.bot_token_env, "")
            self._client = AsyncWebClient(token=token, base_url=self.config.base_url, timeout=10)
        return self._client

    @property
    def enabled(self) -> bool:
        return bool(self.config.channel) and bool(os.environ.get(self.config.bot_token_env) or self._client)

    async def run_once(self) -> int:
        """Post new requests and update decided ones; returns how many messages were sent or changed."""
        gov = self.rt.governance
        db = gov.db
        channel = self.config.channel
        if not channel:
            return 0

        messages = SlackMessages(db)

        def load() -> tuple[list[Any], dict[str, PostedMessage]]:
            return gov.list_pending(states=["awaiting_approval"]), messages.open()

        pending, posted = await anyio.to_thread.run_sync(load)
        changed = 0
        for record in pending:
            # Replicas race here: whoever inserts the row first posts; the others skip this request.
            if record.id in posted or not await anyio.to_thread.run_sync(messages.claim, record.id, channel):
                continue
            view = action_context(record, self.rt.redact)
            text = f"Approval needed: {record.action.kind} in {record.action.environment} ({record.id})"
            try:
                reply = await self.client().chat_postMessage(
                    channel=channel, text=text, blocks=approval_blocks(view, console_url=self.console_url)
                )
            except BaseException:
                await anyio.to_thread.run_sync(messages.unclaim, record.id)  # let a later round post it
                raise
            ts = str(reply.get("ts") or "")
            await anyio.to_thread.run_sync(messages.store, record.id, str(reply.get("channel") or channel), ts)
            changed += 1
        pending_ids = {r.id for r in pending}
        for action_id, row in posted.items():
            if action_id in pending_ids or not row.ts:  # no ts: a replica is still posting it
                continue
            record = await anyio.to_thread.run_sync(gov.get_action, action_id)
            if record.state in ("proposed", "awaiting_approval"):
                continue
            view = action_context(record, self.rt.redact)
            await self.client().chat_update(
                channel=row.channel,
                ts=row.ts,
                text=f"{record.id} is {record.state}",
                blocks=approval_blocks(view, console_url=self.console_url, note=f"Now {record.state}."),
            )
            await anyio.to_thread.run_sync(messages.finalise, action_id)
            changed += 1
        return changed

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as err:  # Slack or the store down: try again next round
                log.warning(
                    "posting approval requests to Slack failed: %s: %s",
                    type(err).__name__,
                    self.rt.redact(str(err))[:300],
                )
            await asyncio.sleep(self.config.poll_seconds)
