"""Slack's side of the interactivity endpoint: button presses as Slack sends them, signed with the app's
signing secret (`v0` HMAC-SHA256 over `v0:{timestamp}:{body}`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def body_for(action_id: str, user: str, verb: str = "approve", **extra: Any) -> bytes:
    """The form body of a block_actions request: Slack user `user` pressed `verb` on `action_id`'s message."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower()},
        "team": {"id": "T0TEAM"},
        "actions": [{"action_id": verb, "value": action_id, "type": "button"}],
        **extra,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes, ts: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={mac}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
