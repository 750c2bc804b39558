"""HTTP pieces every served surface shares (the MCP transport, the console, the autopilot's hooks):
the bind address, loopback checks, the bearer-token and loopback-Host guards, and start-up recovery."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline_sre.app import operations
from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.identity import Principal
from pipeline_sre.lifecycle.runtime import Runtime

log = logging.getLogger("pipeline_sre.serve")


async def recover_on_startup(runtime: Runtime) -> None:
    """Actions left `executing` by a crashed process: look in the backend before doing anything again."""
    recovered = await operations.recover_stuck(runtime, Principal("system", "recovery"))
    for record in recovered:
        log.warning("recovered action %s left executing: now %s", record.id, record.state)


def parse_bind(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"--http must be HOST:PORT with a port 1-65535, e.g. 127.0.0.1:8765; got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BearerAuth:
    """Pure ASGI guard: every HTTP request needs `Authorization: Bearer <token>` (constant-time compare)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                body = b'{"error":"unauthorized","message":"missing or wrong bearer token"}'
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class LoopbackHostOnly:
    """Pure ASGI guard for a server bound to loopback: every route (not only /mcp) answers only requests
    whose Host is a loopback name, so a web page cannot reach it through DNS rebinding."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").strip().lower()
            name = raw[: raw.find("]") + 1] if raw.startswith("[") else raw.split(":", 1)[0]  # [::1]:8765, x:8765
            if name not in LOOPBACK_NAMES:
                await send(
                    {"type": "http.response.start", "status": 421, "headers": [(b"content-type", b"application/json")]}
                )
                body = b'{"error":"misdirected","message":"this server answers only to a loopback Host"}'
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
