"""Transports for the MCP server: stdio, and streamable HTTP guarded by a bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import sys

import anyio
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline_sre.app import operations
from pipeline_sre.app.operating_metrics import METRICS
from pipeline_sre.errors import ConfigError, InvalidInput
from pipeline_sre.governance.identity import Principal
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import Settings
from pipeline_sre.surfaces.mcp_server import build_server

log = logging.getLogger("pipeline_sre.serve")


def _log_to_stderr() -> None:
    # stdout belongs to the MCP protocol on stdio; our own logs go to stderr.
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("PIPELINE_SRE_LOG_LEVEL", "WARNING"))


async def recover_on_startup(runtime: Runtime) -> None:
    """Actions left `executing` by a crashed process: look in the backend before doing anything again."""
    recovered = await operations.recover_stuck(runtime, Principal("system", "recovery"))
    for record in recovered:
        log.warning("recovered action %s left executing: now %s", record.id, record.state)


def serve_stdio(settings: Settings) -> None:
    _log_to_stderr()
    runtime = Runtime(settings)

    async def main() -> None:
        await recover_on_startup(runtime)
        await build_server(runtime).run_stdio_async()

    anyio.run(main)


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


LIMIT_CONNECTIONS = 100
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


def http_app(settings: Settings, host: str, *, insecure_local: bool, with_console: bool = False) -> ASGIApp:
    token_env = settings.server.http_token_env
    token = os.environ.get(token_env)
    if not token:
        if not insecure_local:
            raise ConfigError(
                f"HTTP needs a bearer token: set {token_env} (server.http_token_env), "
                "or bind to loopback and pass --insecure-local"
            )
        if not is_loopback(host):
            raise ConfigError(f"--insecure-local is allowed only on a loopback address; {host!r} is not one")
    elif len(token) < 16:
        raise ConfigError(f"the bearer token in {token_env} is too short: use at least 16 characters")
    runtime = Runtime(settings)

    async def recover_then_release() -> None:
        # Recovery runs in its own event loop; connections opened there must not leak into uvicorn's.
        try:
            await recover_on_startup(runtime)
        finally:
            await runtime.aclose()

    anyio.run(recover_then_release)
    server = build_server(runtime)

    async def metrics(_: Request) -> Response:  # tool calls by name and outcome, behind the same bearer
        return Response(METRICS.render(), media_type=CONTENT_TYPE_LATEST)

    # Registered by call, not as a decorator: the SDK leaves custom_route's return untyped.
    server.custom_route("/metrics", methods=["GET"])(metrics)

    app: ASGIApp = server.streamable_http_app(host=host)
    app = BearerAuth(app, token) if token else app
    if with_console:  # the console has its own sign-in; only /console/* skips the bearer token
        from pipeline_sre.surfaces.web.app import mount_console

        app = mount_console(app, runtime, insecure_local=insecure_local)
    return LoopbackHostOnly(app) if is_loopback(host) else app


def serve_http(settings: Settings, bind: str, *, insecure_local: bool, with_console: bool = False) -> None:
    _log_to_stderr()
    host, port = parse_bind(bind)
    app = http_app(settings, host, insecure_local=insecure_local, with_console=with_console)
    print(f"pipeline-sre MCP over streamable HTTP on http://{host}:{port}/mcp", file=sys.stderr)
    # proxy_headers off: the console trusts an SSO header only from configured proxy addresses.
    # Idle and half-open connections are closed after a few seconds, and at most LIMIT_CONNECTIONS are
    # served at once (more get 503), so a slow client cannot hold the server.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=False,
        timeout_keep_alive=5,
        limit_concurrency=LIMIT_CONNECTIONS,
        h11_max_incomplete_event_size=64 * 1024,
    )
