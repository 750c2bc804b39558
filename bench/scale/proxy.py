"""A counting reverse proxy (stdlib only) in front of the scale fixture's api-server.

    python proxy.py LISTEN_PORT UPSTREAM_PORT

Every request is passed on unchanged to 127.0.0.1:UPSTREAM_PORT and counted, whatever its answer, with
the bytes of the answer's body. Two paths are the proxy's own and are not passed on:
    GET  /__count  {"count": N, "bytes": B, "routes": {"POST /api/v2/dags/~/dagRuns/list": [n, bytes], ...}}
    POST /__reset  zeroes the counters
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Headers that describe one hop, not the message: never copied across.
HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers"}
    | {"transfer-encoding", "upgrade", "content-length"}
)


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.routes: dict[str, list[int]] = {}

    def add(self, route: str, size: int) -> None:
        with self.lock:
            entry = self.routes.setdefault(route, [0, 0])
            entry[0] += 1
            entry[1] += size

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            routes = {k: list(v) for k, v in self.routes.items()}
        return {
            "count": sum(v[0] for v in routes.values()),
            "bytes": sum(v[1] for v in routes.values()),
            "routes": routes,
        }

    def reset(self) -> None:
        with self.lock:
            self.routes.clear()


COUNTER = Counter()
UPSTREAM: tuple[str, int] = ("127.0.0.1", 0)
PER_THREAD = threading.local()


def upstream(fresh: bool) -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection | None = getattr(PER_THREAD, "conn", None)
    if conn is None or fresh:
        if conn is not None:
            conn.close()
        conn = PER_THREAD.conn = http.client.HTTPConnection(*UPSTREAM, timeout=300)
    return conn


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the client: every answer has a Content-Length

    def log_message(self, format: str, *args: object) -> None:
        return

    def answer(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        for key, value in headers or [("Content-Type", "application/json")]:
            if key.lower() not in HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def relay(self) -> None:
        path = urlsplit(self.path).path
        payload = self.body()
        if (self.command, path) == ("GET", "/__count"):
            return self.answer(200, json.dumps(COUNTER.snapshot()).encode())
        if (self.command, path) == ("POST", "/__reset"):
            COUNTER.reset()
            return self.answer(200, b'{"count": 0}')
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed meanwhile
            conn = upstream(fresh=attempt == 2)
            try:
                conn.request(self.command, self.path, body=payload, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                break
            except (http.client.HTTPException, OSError) as err:
                if attempt == 2:
                    COUNTER.add(f"{self.command} {path}", 0)
                    return self.answer(502, json.dumps({"proxy_error": repr(err)}).encode())
        COUNTER.add(f"{self.command} {path}", len(data))
        self.answer(reply.status, data, reply.getheaders())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = relay


def main() -> None:
    global UPSTREAM
    listen, target = int(sys.argv[1]), int(sys.argv[2])
    UPSTREAM = ("127.0.0.1", target)
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", listen), Proxy)
    print(f"counting proxy 127.0.0.1:{listen} -> 127.0.0.1:{target}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
