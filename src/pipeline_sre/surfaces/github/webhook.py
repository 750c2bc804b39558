"""The `/github/webhook` endpoint: GitHub's `pull_request_review` deliveries, judged as approvals.

A delivery counts only when its `X-Hub-Signature-256` is the HMAC-SHA256 of the body under the webhook
secret (`github.webhook_secret_env`), compared in constant time; a missing or wrong signature is 401 with
what was wrong, and audited. GitHub signs no timestamp, so a replayed delivery is possible: it decides
nothing again, because each review is judged once by its id (app/github_reviews.py). `ping` answers ok;
other events are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from functools import partial

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from pipeline_sre.app import github_reviews
from pipeline_sre.errors import InvalidInput, PipelineSreError
from pipeline_sre.governance.audit import AuditEvent
from pipeline_sre.lifecycle.runtime import Runtime

log = logging.getLogger("pipeline_sre.console.github")
MAX_BODY = 1024 * 1024  # review events are tens of KB; GitHub caps deliveries at 25 MB
SIGNATURE_HEADER = "x-hub-signature-256"


class WebhookRefusal(Exception):
    def __init__(self, rule: str, message: str, status: int) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.status = status


def signature_of(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, header: str | None, body: bytes) -> None:
    if not header:
        raise WebhookRefusal(
            "github.signature_missing", "no X-Hub-Signature-256 header: the delivery is not signed with a secret", 401
        )
    if not hmac.compare_digest(header.encode(), signature_of(secret, body).encode()):
        raise WebhookRefusal(
            "github.bad_signature",
            "X-Hub-Signature-256 does not match the body under the webhook secret (github.webhook_secret_env)",
            401,
        )


async def _body(request: Request) -> bytes:
    """The body, read no further than MAX_BODY: a declared or streamed excess is refused, not buffered."""
    too_large = WebhookRefusal("github.too_large", f"the body is over {MAX_BODY} bytes", 413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise too_large
    return bytes(body)


class GitHubWebhook:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def _audit(self, rule: str, message: str, delivery: str) -> None:
        self.rt.governance.audit.append(
            AuditEvent(
                "github.refused",
                "github:unverified",
                "github",
                result=rule,
                detail={"channel": "github", "rule": rule, "message": message, "delivery": delivery},
            )
        )

    async def __call__(self, request: Request) -> JSONResponse:
        config = self.rt.settings.github
        if config is None:
            return JSONResponse({"ok": False, "error": "GitHub is not configured (no github: section)"}, 404)
        secret = os.environ.get(config.webhook_secret_env, "")
        if not secret.strip():
            return JSONResponse(
                {"ok": False, "error": f"GitHub review webhooks are off: set {config.webhook_secret_env}"}, 503
            )
        delivery = request.headers.get("x-github-delivery", "")[:64]
        try:
            body = await _body(request)
            verify(secret, request.headers.get(SIGNATURE_HEADER), body)
        except WebhookRefusal as refusal:
            await anyio.to_thread.run_sync(partial(self._audit, refusal.rule, refusal.message, delivery))
            return JSONResponse({"ok": False, "rule": refusal.rule, "error": refusal.message}, refusal.status)
        event = request.headers.get("x-github-event", "")
        if event == "ping":
            return JSONResponse({"ok": True, "pong": True})
        if event != "pull_request_review":
            return JSONResponse({"ok": True, "ignored": f"event {event[:40]!r}: only pull_request_review is judged"})
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"ok": False, "error": "the body is not JSON (content type application/json)"}, 400)
        try:
            answer = await github_reviews.review_event(self.rt, payload)
        except InvalidInput as err:
            return JSONResponse({"ok": False, "error": err.message}, 400)
        except PipelineSreError as err:
            log.warning("GitHub review delivery %s not judged: %s", delivery, err.code)
            return JSONResponse({"ok": False, "error": err.code, "message": self.rt.redact(err.message)}, 503)
        return JSONResponse({"ok": True, **answer})
