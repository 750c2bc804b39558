"""The served surfaces' HTTP guards: the Host allow-list off loopback, and the deadline for reading a
request, checked on a real uvicorn server over a real socket (a trickled head or body is cut off; a
normal request and a keep-alive follow-up are served)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from pipeline_sre.surfaces.http import RequestReadDeadline, host_guard, server_options


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):  # read the whole body, as the real apps do
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _status(app: Any, host_header: str) -> int:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.5:8765") as c:
        return (await c.get("/metrics", headers={"Host": host_header})).status_code


@pytest.mark.anyio
async def test_off_loopback_the_configured_names_are_the_only_hosts_served() -> None:
    app = host_guard(_ok, "0.0.0.0", ["sre.example.com", "*.internal.example"])
    assert await _status(app, "sre.example.com") == 200
    assert await _status(app, "SRE.example.com:443") == 200
    assert await _status(app, "a.internal.example") == 200
    assert await _status(app, "internal.example") == 421  # the wildcard covers subdomains only
    assert await _status(app, "sre.example.com.evil.example") == 421
    assert await _status(app, "127.0.0.1") == 421
    assert await _status(app, "") == 421


@pytest.mark.anyio
async def test_off_loopback_without_names_any_host_is_served_and_loopback_adds_the_configured_ones() -> None:
    assert host_guard(_ok, "0.0.0.0", []) is _ok  # the bearer token or the console sign-in still applies
    app = host_guard(_ok, "127.0.0.1", ["sre.localtest.me"])
    assert await _status(app, "sre.localtest.me:8765") == 200
    assert await _status(app, "localhost:8765") == 200
    assert await _status(app, "evil.example") == 421


class _QuickDeadline(RequestReadDeadline):
    read_seconds = 0.5


@pytest.fixture
def server() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    options = {**server_options(), "http": _QuickDeadline, "log_level": "error"}
    srv = uvicorn.Server(uvicorn.Config(_ok, host="127.0.0.1", port=port, lifespan="off", **options))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    yield port
    srv.should_exit = True
    thread.join(10)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True if the server closed the connection (EOF or reset) before `seconds` passed."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_head_that_trickles_in_is_cut_off(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        assert _closed_within(sock, 5)


def test_a_body_that_never_ends_is_cut_off(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
        assert _closed_within(sock, 5)


def test_a_connection_that_sends_nothing_is_cut_off(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        assert _closed_within(sock, 5)


def test_whole_requests_are_served_and_keep_alive_follow_ups_too(server: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{server}") as client:
        assert client.post("/", content=b"x" * 100_000).text == "ok"
        time.sleep(0.8)  # longer than the read deadline, shorter than keep-alive: the connection is idle
        assert client.get("/").text == "ok"


def test_the_deadline_is_rearmed_for_each_request_on_a_connection(server: int) -> None:
    async def two_requests() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server)
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = await reader.readuntil(b"ok")
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # the second head never completes
        rest = await asyncio.wait_for(reader.read(), 5)  # EOF once the deadline closes the connection
        writer.close()
        return first + rest

    answer = asyncio.run(two_requests())
    assert answer.count(b"200 OK") == 1
