"""HTTP pieces every served surface shares (the MCP transport, the console, the autopilot's hooks):
the bind address, loopback checks, the bearer-token and Host guards, uvicorn's connection limits and
request-read deadline, and start-up recovery."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

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


def _host_name(scope: Scope) -> str:
    raw = str(dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")).strip().lower()
    return raw[: raw.find("]") + 1] if raw.startswith("[") else raw.split(":", 1)[0]  # [::1]:8765, x:8765


class HostAllowList:
    """Pure ASGI guard: every route (not only /mcp) answers only requests whose Host is an allowed name
    (exact, or `*.example.com` for its subdomains), so a web page cannot reach the server through DNS
    rebinding and a misrouted request is refused rather than served (421)."""

    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        allowed = {n.strip().lower() for n in names if n.strip()}
        self.exact = frozenset(n for n in allowed if not n.startswith("*."))
        self.suffixes = tuple(n[1:] for n in allowed if n.startswith("*."))  # "*.example.com" -> ".example.com"

    def allows(self, name: str) -> bool:
        return name in self.exact or (bool(name) and name.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allows(_host_name(scope)):
            await send(
                {"type": "http.response.start", "status": 421, "headers": [(b"content-type", b"application/json")]}
            )
            body = b'{"error":"misdirected","message":"this server does not answer to that Host"}'
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def host_guard(app: ASGIApp, host: str, allowed_hosts: Iterable[str]) -> ASGIApp:
    """On loopback, loopback names plus `server.allowed_hosts`; elsewhere `server.allowed_hosts` when set
    (without it any Host is served: the bearer token or the console's sign-in still applies)."""
    names = list(allowed_hosts)
    if is_loopback(host):
        return HostAllowList(app, [*LOOPBACK_NAMES, *names])
    return HostAllowList(app, names) if names else app


REQUEST_READ_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
LIMIT_CONNECTIONS = 100
MAX_HEAD_BYTES = 64 * 1024


class RequestReadDeadline(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for reading each request, head and body.

    uvicorn closes an idle keep-alive connection, but once a request's first byte has arrived it waits
    for the rest forever: a client sending a header line every few seconds (slowloris) or a body that
    never ends would hold a connection slot, and LIMIT_CONNECTIONS such clients would hold them all.
    """

    read_seconds = REQUEST_READ_SECONDS
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._reading():
            self._arm()
        super().data_received(data)
        if not self._reading():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm()  # the keep-alive timer takes over until the next request's first byte

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _reading(self) -> bool:
        # IDLE: the head is incomplete; SEND_BODY: the body is still arriving.
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.read_seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self._reading() and not self.transport.is_closing():
            log.info("closed a connection whose request took over %.0f s to arrive", self.read_seconds)
            self.transport.close()


def server_options() -> dict[str, Any]:
    """uvicorn settings every served surface uses: forwarded headers ignored (the console decides which
    proxies to believe), idle connections closed after a few seconds, a request that trickles in cut
    off, heads capped, and at most LIMIT_CONNECTIONS served at once (more get 503)."""
    return {
        "http": RequestReadDeadline,
        "proxy_headers": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "limit_concurrency": LIMIT_CONNECTIONS,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "log_level": "warning",
    }
