"""Transports for the MCP server: stdio, and streamable HTTP guarded by a bearer token."""

from __future__ import annotations

import logging
import os
import sys

import anyio
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from pipeline_sre.app.operating_metrics import METRICS, StoreMetrics
from pipeline_sre.errors import ConfigError
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import Settings
from pipeline_sre.surfaces.http import (
    BearerAuth,
    host_guard,
    is_loopback,
    parse_bind,
    recover_on_startup,
    server_options,
)
from pipeline_sre.surfaces.mcp.server import build_server


def _log_to_stderr() -> None:
    # stdout belongs to the MCP protocol on stdio; our own logs go to stderr.
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("PIPELINE_SRE_LOG_LEVEL", "WARNING"))


def serve_stdio(settings: Settings) -> None:
    _log_to_stderr()
    runtime = Runtime(settings)

    async def main() -> None:
        await recover_on_startup(runtime)
        await build_server(runtime).run_stdio_async()

    anyio.run(main)


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
    store_metrics = StoreMetrics(runtime)

    async def metrics(_: Request) -> Response:  # tool calls and the store's figures, behind the same bearer
        text = await anyio.to_thread.run_sync(METRICS.render, store_metrics)  # store reads: off the loop
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    # Registered by call, not as a decorator: the SDK leaves custom_route's return untyped.
    server.custom_route("/metrics", methods=["GET"])(metrics)

    app: ASGIApp = server.streamable_http_app(host=host)
    app = BearerAuth(app, token) if token else app
    if with_console:  # the console has its own sign-in; only /console/* skips the bearer token
        from pipeline_sre.surfaces.web.app import mount_console

        app = mount_console(app, runtime, insecure_local=insecure_local)
    return host_guard(app, host, settings.server.allowed_hosts)


def serve_http(settings: Settings, bind: str, *, insecure_local: bool, with_console: bool = False) -> None:
    _log_to_stderr()
    host, port = parse_bind(bind)
    app = http_app(settings, host, insecure_local=insecure_local, with_console=with_console)
    print(f"pipeline-sre MCP over streamable HTTP on http://{host}:{port}/mcp", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, **server_options())
