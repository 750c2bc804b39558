"""Amazon MWAA: AirflowClient's REST calls carried by `mwaa.invoke_rest_api` (IAM auth), unchanged.

`MwaaTransport` is an httpx transport: AirflowClient builds its usual `/api/v1/...` (Airflow 2) or
`/api/v2/...` (Airflow 3) requests and the transport turns each into `InvokeRestApi(Name, Path, Method,
QueryParameters, Body)`, with Path relative to the API root as MWAA expects. Airflow's own answer
comes back as the HTTP status and JSON body AirflowClient already handles, so its error messages,
retries on 5xx and pagination all work as on a self-managed Airflow. Airflow version "auto" is
resolved once with `GetEnvironment` (with `access: cli`, with the CLI's `version` command instead); the
API prefix of the other version answers 404, which is what AirflowClient's detection expects.

Fallbacks, in this order with `access: auto`, each taken only when the previous path is not permitted
or not supported (access denied, an operation unknown to botocore, a webserver that will not accept
the login); expired credentials, throttling and an unreachable webserver are reported as they are,
since the next path would meet them too:

1. `InvokeRestApi`: the full REST API, one AWS call per request.
2. Web login (`access: web_login`): `CreateWebLoginToken`, then the webserver's `/aws_mwaa/login`
   exchanges it for a session (cookie `session` on Airflow 2, `_token` JWT on Airflow 3) and requests go
   to the webserver's REST API directly; a rejected session is renewed once.
3. CLI (`access: cli`, see `mwaa_cli`): `CreateCliToken` and the Airflow CLI commands MWAA allows. It
   covers only what AirflowClient needs for detection, triage, trigger and clear, and each command
   takes seconds, so it comes last.

The path that worked is kept for the transport's lifetime. boto3 is sync: calls run in a worker thread.
Credentials come from the standard chain (environment, `profile`, SSO, instance/task role); botocore
retries throttling and transient errors in `standard` mode with `max_attempts`. Credential problems,
throttling that outlasts the retries and every other AWS error become typed errors naming the
environment and the API, never carrying a secret.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from pipeline_sre.connectors.aws import (
    USER_AGENT_EXTRA,
    PathUnavailable,
    aws_client,
    aws_error,
    path_error,
)
from pipeline_sre.connectors.mwaa_cli import MwaaCli, described_write
from pipeline_sre.errors import BackendRefused, BackendUnavailable, PipelineSreError
from pipeline_sre.settings.backends import MwaaConnection

if TYPE_CHECKING:
    from pipeline_sre.settings.config import AirflowConnection

_API_PATH = re.compile(r"/api/v([12])(/[^?]*)$")
Access = Literal["invoke_rest_api", "web_login", "cli"]
_NEXT_PATH: dict[Access, Access] = {"invoke_rest_api": "web_login", "web_login": "cli"}
_PATH_LABEL: dict[Access, str] = {"web_login": "the web-login fallback", "cli": "the CLI fallback"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def mwaa_airflow_connection(airflow: AirflowConnection, mwaa: MwaaConnection) -> AirflowConnection:
    """The AirflowConnection to use over MWAA: IAM replaces Airflow credentials; the version is pinned
    when configured."""
    update: dict[str, Any] = {"token_env": None, "username_env": None, "password_env": None}
    if mwaa.airflow_version != "auto":
        update["version"] = mwaa.airflow_version
    return airflow.model_copy(update=update)


# -- the transport ----------------------------------------------------------------------------------


def _json_response(status: int, body: Any, request: httpx.Request) -> httpx.Response:
    return httpx.Response(status, json=body, request=request)


def _log_text(body: Any) -> str | None:
    """Log endpoints answer JSON through MWAA: {"content": text (Airflow 2) | [records] (Airflow 3)}."""
    if not isinstance(body, dict) or "content" not in body:
        return None
    content = body["content"]
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        lines: list[str] = []
        for item in content:
            if isinstance(item, dict):
                lines.append(json.dumps(item, separators=(",", ":")))
            elif isinstance(item, list | tuple) and item:  # Airflow 2's [[host, text]]
                lines.append(str(item[-1]))
            else:
                lines.append(str(item))
        return "\n".join(lines)
    return None


def _major(version: str, what: str) -> Literal["2", "3"]:
    if version.startswith("2."):
        return "2"
    if version.startswith("3."):
        return "3"
    raise BackendRefused(f"{what} reports Airflow version {version!r}; set mwaa.airflow_version to '2' or '3'")


class MwaaTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        environment: str,
        conn: MwaaConnection,
        *,
        client: Any = None,
        web_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`client`: a boto3 MWAA client; `web_transport`: carries the webserver requests of the fallbacks."""
        self.environment = environment
        self.conn = conn
        self._web_transport = web_transport
        self.invoke_calls = 0
        self.web_calls = 0
        self._client = client
        self._client_lock = threading.Lock()
        self._version: Literal["2", "3"] | None = None if conn.airflow_version == "auto" else conn.airflow_version
        self._version_text: str | None = None
        self._mode: Access = "invoke_rest_api" if conn.access == "auto" else conn.access
        self._passed: list[tuple[Access, PipelineSreError]] = []  # paths left behind, and why
        self._web: httpx.AsyncClient | None = None
        self._web_base = ""
        self._web_bearer: str | None = None
        self._web_lock = asyncio.Lock()
        self._cli: MwaaCli | None = None

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def cli_calls(self) -> int:
        return self._cli.calls if self._cli is not None else 0

    def _mwaa(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = aws_client(self.environment, self.conn, "mwaa")
            return self._client

    def _cli_path(self) -> MwaaCli:
        if self._cli is None:
            self._cli = MwaaCli(
                self.environment,
                self.conn,
                self._mwaa,
                version_text=self._version_text,
                transport=self._web_transport,
            )
        return self._cli

    def _what(self) -> str:
        return f"MWAA environment {self.conn.name}"

    async def airflow_version(self) -> Literal["2", "3"]:
        if self._version is not None:
            return self._version
        if self.conn.access == "cli":  # the CLI path may be all this identity is allowed
            text = await self._cli_path().version()
        else:
            text = await asyncio.to_thread(self._environment_version)
        self._version_text = text
        self._version = _major(text, self._what())
        return self._version

    def _environment_version(self) -> str:
        try:
            env = self._mwaa().get_environment(Name=self.conn.name)["Environment"]
        except Exception as err:
            raise self._error(err, "GetEnvironment") from None
        return str(env.get("AirflowVersion") or "")

    def _error(self, err: Exception, api: str) -> PipelineSreError:
        if isinstance(err, PipelineSreError):
            return err
        return aws_error(err, environment=self.environment, api=f"MWAA {api}", what=self._what())

    def describe_call(self, request: dict[str, Any], version: Literal["2", "3"]) -> dict[str, Any]:
        """What this transport sends for an AirflowClient write, on the path it uses now: InvokeRestApi and
        the web login carry the REST request unchanged (InvokeRestApi's Path is the part after the API
        root); the CLI path runs a command instead."""
        if self._mode != "cli":
            return request
        m = _API_PATH.search(str(request["path"]))
        if m is None:
            raise BackendRefused(f"{self._what()}: only the Airflow REST API is reachable through MWAA")
        return described_write(version, str(request["method"]), m.group(2), dict(request.get("body") or {}))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        m = _API_PATH.search(raw_path)
        if m is None:
            return _json_response(404, {"detail": "only the Airflow REST API is reachable through MWAA"}, request)
        version = await self.airflow_version()
        if m.group(1) != ("2" if version == "3" else "1"):
            return _json_response(404, {"detail": "Not Found"}, request)
        api_path = m.group(2)
        while True:
            mode = self._mode
            try:
                return await self._forward(mode, request, version, api_path)
            except PathUnavailable as path:
                if mode != self._mode:  # a concurrent request already moved on: follow it
                    continue
                following = _NEXT_PATH.get(mode) if self.conn.access == "auto" else None
                if following is None:
                    raise _explained([*self._passed, (mode, path.error)]) from None
                self._passed.append((mode, path.error))
                self._mode = following
            except BackendUnavailable as err:  # a fallback's infrastructure failed: say why it was taken
                if not self._passed:
                    raise
                raise _explained([*self._passed, (mode, err)]) from None

    async def _forward(
        self, mode: Access, request: httpx.Request, version: Literal["2", "3"], api_path: str
    ) -> httpx.Response:
        if mode == "web_login":
            return await self._web_forward(request, version, api_path)
        if mode == "cli":
            return await self._cli_path().handle(request, version, api_path)
        status, body = await asyncio.to_thread(self._invoke, request, api_path)
        text = _log_text(body) if "/logs/" in api_path and status < 400 else None
        if text is not None:
            return httpx.Response(status, text=text, request=request)
        return _json_response(status, body, request)

    def _invoke(self, request: httpx.Request, api_path: str) -> tuple[int, Any]:
        from botocore.exceptions import ClientError

        params: dict[str, Any] = {}
        for key, value in request.url.params.multi_items():
            if key in params:
                prior = params[key]
                params[key] = [*prior, value] if isinstance(prior, list) else [prior, value]
            else:
                params[key] = value
        kwargs: dict[str, Any] = {"Name": self.conn.name, "Path": api_path, "Method": request.method}
        if params:
            kwargs["QueryParameters"] = params
        if request.content:
            try:
                kwargs["Body"] = json.loads(request.content)
            except ValueError:
                raise BackendRefused(f"{self._what()}: only JSON request bodies can go through InvokeRestApi") from None
        client = self._mwaa()
        if not hasattr(client, "invoke_rest_api"):
            raise PathUnavailable(BackendRefused(f"{self._what()}: the installed botocore has no MWAA InvokeRestApi"))
        self.invoke_calls += 1
        try:
            answer = client.invoke_rest_api(**kwargs)
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code") or "")
            if code in ("RestApiClientException", "RestApiServerException"):
                response: dict[str, Any] = dict(err.response)
                status = int(response.get("RestApiStatusCode") or (400 if code == "RestApiClientException" else 500))
                body = response.get("RestApiResponse")
                if body is None:
                    body = {"detail": str(err.response.get("Error", {}).get("Message") or code)[:300]}
                return status, body
            raise path_error(err, environment=self.environment, api="MWAA InvokeRestApi", what=self._what()) from None
        except Exception as err:
            raise self._error(err, "InvokeRestApi") from None
        return int(answer.get("RestApiStatusCode") or 200), answer.get("RestApiResponse")

    # -- web-login fallback -----------------------------------------------------------------------

    async def _web_login(self) -> None:
        try:
            token = await asyncio.to_thread(lambda: self._mwaa().create_web_login_token(Name=self.conn.name))
        except Exception as err:
            raise path_error(
                err, environment=self.environment, api="MWAA CreateWebLoginToken", what=self._what()
            ) from None
        base = self.conn.webserver_url or f"https://{token['WebServerHostname']}"
        if self._web is None:
            self._web = httpx.AsyncClient(
                timeout=httpx.Timeout(self.conn.timeout_seconds, connect=min(self.conn.timeout_seconds, 5.0)),
                headers={"User-Agent": USER_AGENT_EXTRA},
                transport=self._web_transport,
            )
        self._web.cookies.clear()
        try:
            answer = await self._web.post(f"{base}/aws_mwaa/login", data={"token": token["WebToken"]})
        except httpx.TransportError as err:
            raise BackendUnavailable(f"the webserver of {self._what()} is unreachable: {type(err).__name__}") from None
        self.web_calls += 1
        if answer.status_code >= 400:
            raise PathUnavailable(
                BackendRefused(
                    f"the webserver of {self._what()} refused the web login token: HTTP {answer.status_code}"
                )
            )
        self._web_base = base
        self._web_bearer = self._web.cookies.get("_token")  # Airflow 3 issues its JWT as this cookie

    async def _web_forward(self, request: httpx.Request, version: str, api_path: str) -> httpx.Response:
        prefix = "/api/v2" if version == "3" else "/api/v1"
        for attempt in range(2):
            async with self._web_lock:
                if self._web is None or not self._web_base or attempt:
                    await self._web_login()
            assert self._web is not None
            headers = {k: v for k, v in request.headers.items() if k.lower() in ("accept", "content-type")}
            if self._web_bearer:
                headers["Authorization"] = f"Bearer {self._web_bearer}"
            query = request.url.raw_path.decode("ascii").partition("?")[2]
            url = f"{self._web_base}{prefix}{api_path}" + (f"?{query}" if query else "")
            try:
                answer = await self._web.request(request.method, url, content=request.content, headers=headers)
            except httpx.TransportError as err:
                raise BackendUnavailable(
                    f"the webserver of {self._what()} is unreachable: {type(err).__name__}"
                ) from None
            self.web_calls += 1
            if answer.status_code in (401, 403) and not attempt:
                continue
            if answer.status_code == 401:  # a fresh session is not accepted for REST calls (older webservers)
                raise PathUnavailable(
                    BackendRefused(f"the webserver of {self._what()} does not accept the web-login session: HTTP 401")
                )
            return httpx.Response(
                answer.status_code,
                content=answer.content,
                headers={"content-type": answer.headers.get("content-type", "application/json")},
                request=request,
            )
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        if self._web is not None:
            await self._web.aclose()
            self._web = None
        if self._cli is not None:
            await self._cli.aclose()


def _explained(tried: list[tuple[Access, PipelineSreError]]) -> PipelineSreError:
    """One error for every path tried: the first alone as it was, or each fallback's reason after it."""
    (_, first), *rest = tried
    if not rest:
        return first
    parts = [first.message, *(f"{_PATH_LABEL[mode]} failed too: {error.message}" for mode, error in rest)]
    kind = BackendUnavailable if isinstance(rest[-1][1], BackendUnavailable) else BackendRefused
    return kind("; ".join(parts))
