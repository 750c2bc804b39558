"""A stand-in for the Amazon MWAA API in front of a real Airflow (boto3 points at it with endpoint_url).

It answers what pipeline-sre calls, shaped as botocore's MWAA model (rest-json) describes:

* `POST /restapi/{Name}` (InvokeRestApi): forwards {Path, Method, QueryParameters, Body} to the
  Airflow at `airflow_url` under /api/v2 (Airflow 3) with a JWT it obtained itself, as MWAA does with its
  own identity; 2xx -> 200 {RestApiStatusCode, RestApiResponse}; 4xx -> 400 RestApiClientException and
  5xx -> 400 RestApiServerException, both carrying Airflow's status and JSON body.
* `GET /environments/{Name}` (GetEnvironment): the Airflow version read from the real Airflow.
* `POST /webtoken/{Name}` (CreateWebLoginToken) + `POST /aws_mwaa/login` (the webserver's token
  exchange, setting the `_token` JWT cookie as MWAA's Airflow 3 webserver does) + `/api/v2/...` behind it:
  the web-login fallback.
* `POST /clitoken/{Name}` (CreateCliToken, tokens valid `cli_token_seconds`) + `POST /aws_mwaa/cli` (the
  webserver's CLI endpoint): with `cli_paths` (a sandbox's SandboxPaths), a text/plain command line from
  MWAA's documented command list runs as the sandbox's own `airflow` CLI with its AIRFLOW_HOME, one at a
  time, and comes back as {"stdout": base64, "stderr": base64}; a missing or expired token gets 403.

Requests must carry a SigV4 `Authorization` header (boto3 signs with whatever credentials it finds;
the signature itself is not checked). Access key ids starting with EXPIRED get ExpiredTokenException,
with INVALID UnrecognizedClientException; `throttle(n)` answers the next n calls with
ThrottlingException (HTTP 400, as AWS JSON APIs do); `deny_invoke`, `deny_web_login` and `deny_cli` make
InvokeRestApi, CreateWebLoginToken and CreateCliToken answer AccessDeniedException. Every call is recorded
in `calls` as (operation, detail); `cli_seconds` holds how long each CLI command ran.
"""

from __future__ import annotations

import base64
import contextlib
import re
import secrets
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipeline_sre.sandbox.airflow_cfg import process_env
from pipeline_sre.sandbox.paths import SandboxPaths

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
# MWAA's documented Airflow CLI commands; anything else is refused as MWAA refuses it.
MWAA_CLI_COMMANDS = frozenset(
    {
        "cheat-sheet",
        "version",
        "dags delete",
        "dags list",
        "dags list-import-errors",
        "dags list-jobs",
        "dags list-runs",
        "dags next-execution",
        "dags pause",
        "dags report",
        "dags reserialize",
        "dags show",
        "dags state",
        "dags test",
        "dags trigger",
        "dags unpause",
        "providers behaviours",
        "providers get",
        "providers hooks",
        "providers links",
        "providers list",
        "providers widgets",
        "roles create",
        "roles list",
        "tasks clear",
        "tasks failed-deps",
        "tasks list",
        "tasks render",
        "tasks state",
        "tasks states-for-dag-run",
        "tasks test",
        "variables delete",
        "variables get",
        "variables list",
        "variables set",
    }
)


def _aws_error(code: str, message: str, status: int = 400, **members: Any) -> JSONResponse:
    return JSONResponse({"message": message, **members}, status_code=status, headers={"x-amzn-ErrorType": code})


class FakeMwaa:
    def __init__(
        self,
        airflow_url: str,
        username: str,
        password: str,
        *,
        name: str = "psre-test",
        cli_paths: SandboxPaths | None = None,
    ) -> None:
        self.airflow_url = airflow_url.rstrip("/")
        self.name = name
        self._username = username
        self._password = password
        self._jwt: str | None = None
        self._web_tokens: set[str] = set()
        self._cli_tokens: dict[str, float] = {}
        self._cli_paths = cli_paths
        self._throttle = 0
        self.deny_invoke = False
        self.deny_web_login = False
        self.deny_cli = False
        self.cli_token_seconds = 60.0
        self.cli_seconds: list[float] = []
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._cli_lock = threading.Lock()
        self._http = httpx.Client(base_url=self.airflow_url, timeout=30)
        self.port = 0
        self.app = Starlette(
            routes=[
                Route("/restapi/{name}", self.invoke_rest_api, methods=["POST"]),
                Route("/environments/{name}", self.get_environment, methods=["GET"]),
                Route("/webtoken/{name}", self.create_web_login_token, methods=["POST"]),
                Route("/aws_mwaa/login", self.web_login, methods=["POST"]),
                Route("/api/v2/{path:path}", self.web_api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
                Route("/clitoken/{name}", self.create_cli_token, methods=["POST"]),
                Route("/aws_mwaa/cli", self.cli, methods=["POST"]),
            ]
        )

    def throttle(self, calls: int) -> None:
        with self._lock:
            self._throttle = calls

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    def expire_cli_tokens(self) -> None:
        with self._lock:
            self._cli_tokens.clear()

    # -- AWS-side checks ----------------------------------------------------------------------------

    def _refusal(self, request: Request, operation: str, name: str | None) -> Response | None:
        self.calls.append((operation, request.url.path))
        auth = request.headers.get("authorization", "")
        key = _CREDENTIAL.search(auth)
        if not auth.startswith("AWS4-HMAC-SHA256") or key is None:
            return _aws_error("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
        if key.group(1).startswith("EXPIRED"):
            return _aws_error("ExpiredTokenException", "The security token included in the request is expired", 403)
        if key.group(1).startswith("INVALID"):
            return _aws_error(
                "UnrecognizedClientException", "The security token included in the request is invalid", 403
            )
        with self._lock:
            if self._throttle > 0:
                self._throttle -= 1
                return _aws_error("ThrottlingException", "Rate exceeded", 400)
        if name is not None and name != self.name:
            return _aws_error("ResourceNotFoundException", f"Environment {name} not found", 404)
        return None

    # -- Airflow side ---------------------------------------------------------------------------------

    def _token(self, fresh: bool = False) -> str:
        with self._lock:
            if self._jwt is None or fresh:
                answer = self._http.post("/auth/token", json={"username": self._username, "password": self._password})
                answer.raise_for_status()
                self._jwt = str(answer.json()["access_token"])
            return self._jwt

    def _forward(self, method: str, path: str, params: Any, body: Any) -> tuple[int, Any]:
        for fresh in (False, True):
            answer = self._http.request(
                method,
                "/api/v2" + path,
                params=params,
                json=body,
                headers={"Authorization": f"Bearer {self._token(fresh)}", "Accept": "application/json"},
            )
            if answer.status_code != 401:
                break
        try:
            data = answer.json()
        except ValueError:
            data = {"detail": answer.text[:500]}
        return answer.status_code, data

    # -- routes -------------------------------------------------------------------------------------

    async def invoke_rest_api(self, request: Request) -> Response:
        name = request.path_params["name"]
        refused = self._refusal(request, "InvokeRestApi", name)
        if refused is not None:
            return refused
        if self.deny_invoke:
            return _aws_error("AccessDeniedException", "not authorized to perform: airflow:InvokeRestApi", 403)
        spec = await request.json()
        path, method = spec.get("Path", ""), spec.get("Method", "")
        if not path.startswith("/") or method not in ("GET", "PUT", "POST", "PATCH", "DELETE"):
            return _aws_error("ValidationException", "invalid Path or Method", 400)
        self.calls[-1] = ("InvokeRestApi", f"{method} {path}")
        params = spec.get("QueryParameters") or None
        status, data = await _in_thread(self._forward, method, path, params, spec.get("Body"))
        if status < 400:
            return JSONResponse({"RestApiStatusCode": status, "RestApiResponse": data})
        code = "RestApiClientException" if status < 500 else "RestApiServerException"
        return _aws_error(code, f"Airflow answered {status}", 400, RestApiStatusCode=status, RestApiResponse=data)

    async def get_environment(self, request: Request) -> Response:
        refused = self._refusal(request, "GetEnvironment", request.path_params["name"])
        if refused is not None:
            return refused
        status, data = await _in_thread(self._forward, "GET", "/version", None, None)
        version = data.get("version") if status == 200 and isinstance(data, dict) else None
        return JSONResponse(
            {"Environment": {"Name": self.name, "AirflowVersion": version or "unknown", "Status": "AVAILABLE"}}
        )

    def _token_refusal(self, request: Request, operation: str, denied: bool) -> Response | None:
        refused = self._refusal(request, operation, request.path_params["name"])
        if refused is None and denied:
            return _aws_error("AccessDeniedException", f"not authorized to perform: airflow:{operation}", 403)
        return refused

    async def create_web_login_token(self, request: Request) -> Response:
        refused = self._token_refusal(request, "CreateWebLoginToken", self.deny_web_login)
        if refused is not None:
            return refused
        token = secrets.token_urlsafe(24)
        self._web_tokens.add(token)
        return JSONResponse(
            {
                "WebServerHostname": f"127.0.0.1:{self.port}",
                "WebToken": token,
                "IamIdentity": "assumed-role/test/psre",
                "AirflowIdentity": "admin",
            }
        )

    async def web_login(self, request: Request) -> Response:
        self.calls.append(("WebLogin", ""))
        form = await request.form()
        token = str(form.get("token") or "")
        if token not in self._web_tokens:
            return Response("invalid token", status_code=403)
        self._web_tokens.discard(token)
        response = Response(status_code=200)
        response.set_cookie("_token", await _in_thread(self._token), httponly=True)
        return response

    async def web_api(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        self.calls.append(("WebApi", f"{request.method} {path}"))
        if request.headers.get("authorization") != f"Bearer {self._jwt}" or self._jwt is None:
            return JSONResponse({"detail": "Not authenticated"}, status_code=401)
        body = await request.body()
        status, data = await _in_thread(
            self._forward, request.method, path, list(request.query_params.multi_items()), _json_or_none(body)
        )
        return JSONResponse(data, status_code=status)

    async def create_cli_token(self, request: Request) -> Response:
        refused = self._token_refusal(request, "CreateCliToken", self.deny_cli)
        if refused is not None:
            return refused
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._cli_tokens[token] = time.monotonic() + self.cli_token_seconds
        return JSONResponse({"CliToken": token, "WebServerHostname": f"127.0.0.1:{self.port}"})

    async def cli(self, request: Request) -> Response:
        line = (await request.body()).decode("utf-8", "replace")
        self.calls.append(("Cli", line))
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            valid = self._cli_tokens.get(token, 0.0) > time.monotonic()
        if not valid:
            return JSONResponse({"message": "Forbidden"}, status_code=403)
        if request.headers.get("content-type", "").split(";")[0] != "text/plain":
            return JSONResponse({"message": "Unsupported Media Type"}, status_code=415)
        argv = shlex.split(line)
        command = " ".join(argv[:1] if argv[:1] in (["version"], ["cheat-sheet"]) else argv[:2])
        if command not in MWAA_CLI_COMMANDS or self._cli_paths is None:
            return JSONResponse({"message": f"Command {command!r} is not supported"}, status_code=400)
        stdout, stderr = await _in_thread(self._run_cli, argv)
        return JSONResponse({"stdout": base64.b64encode(stdout).decode(), "stderr": base64.b64encode(stderr).decode()})

    def _run_cli(self, argv: list[str]) -> tuple[bytes, bytes]:
        """The sandbox's own `airflow` binary and AIRFLOW_HOME, one command at a time, as MWAA serialises them."""
        assert self._cli_paths is not None
        paths = self._cli_paths
        with self._cli_lock:
            started = time.monotonic()
            done = subprocess.run(
                [str(paths.airflow_bin), *argv],
                env=process_env(paths),
                cwd=paths.root,
                capture_output=True,
                timeout=180,
                check=False,
            )
            self.cli_seconds.append(time.monotonic() - started)
        return done.stdout, done.stderr

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on 127.0.0.1 (random port) from a background thread; yields the endpoint URL."""
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(self.app, log_level="error", lifespan="off", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake MWAA server did not start")
            time.sleep(0.005)
        try:
            yield f"http://127.0.0.1:{self.port}"
        finally:
            server.should_exit = True
            thread.join(10)
            self._http.close()


def _json_or_none(body: bytes) -> Any:
    import json

    return json.loads(body) if body else None


async def _in_thread(fn: Any, *args: Any) -> Any:
    import anyio

    return await anyio.to_thread.run_sync(fn, *args)
