"""A small client for the sandbox's Airflow REST API (token auth, JSON in and out)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from pipeline_sre.sandbox.errors import SandboxError


class SandboxClient:
    """Talks to ``<url>/api/v2`` as the sandbox admin; fetches a fresh token on 401."""

    # Generous: on two busy cores the api-server, sharing them with the scheduler and a dozen running tasks,
    # has been seen to take over 30 s to answer one trigger; a slow answer is not a failure here.
    def __init__(self, url: str, username: str, password: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self._username = username
        self._password = password
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def token(self) -> str:
        response = self._http.post("/auth/token", json={"username": self._username, "password": self._password})
        if response.status_code not in (200, 201):
            raise SandboxError(f"sandbox login failed: HTTP {response.status_code} {response.text[:200]}")
        token = response.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise SandboxError("sandbox login returned no access_token")
        self._token = token
        return token

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # Not a retry of failures (sandbox/ sits below connectors/ and does not use its retry policy): an
        # expired token is replaced once and the request sent again, which the 401 proves did not run.
        for attempt in range(2):
            token = self._token or self.token()
            headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
            response = self._http.request(method, path, headers=headers, **kwargs)
            if response.status_code != 401 or attempt:
                return response
            self._token = None
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SandboxError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.json("GET", path, params=params or None)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.json("POST", path, json=body)

    # --- unauthenticated / convenience -------------------------------------------------------

    def health(self) -> dict[str, Any] | None:
        """``/api/v2/monitor/health`` as a dict, or None if the api-server does not answer."""
        try:
            response = self._http.get("/api/v2/monitor/health", timeout=5.0)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        data = response.json()
        return data if isinstance(data, dict) else None

    def dag_ids(self) -> list[str]:
        data = self.get("/api/v2/dags", limit=1000)
        return [str(d["dag_id"]) for d in data.get("dags", [])]

    def trigger(self, dag_id: str) -> str:
        now = time.time()
        logical = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}+00:00"
        data = self.post(f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": logical})
        return str(data["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def latest_run(self, dag_id: str) -> dict[str, Any] | None:
        data = self.get(f"/api/v2/dags/{dag_id}/dagRuns", order_by="-run_after", limit=1)
        runs = data.get("dag_runs", [])
        return runs[0] if runs else None

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        data = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {str(t["task_id"]): t.get("state") for t in data.get("task_instances", [])}

    def task_log_entries(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> list[Any]:
        """The structured log of one try (Airflow 3 serves JSON entries, not plain text)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        response = self.request("GET", path, params={"full_content": "true"}, headers={"Accept": "application/json"})
        if response.status_code >= 400:
            raise SandboxError(f"GET {path}: HTTP {response.status_code} {response.text[:300]}")
        content = response.json().get("content", [])
        return content if isinstance(content, list) else [content]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """One try's log rendered as text lines, exceptions as Python-style tracebacks."""
        return "\n".join(render_log_entry(e) for e in self.task_log_entries(dag_id, run_id, task_id, try_number))

    def clear_failed(self, dag_id: str, run_id: str) -> list[str]:
        """Clear the run's failed tasks (and their downstream) so the scheduler re-runs them."""
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "only_failed": True,
            "include_downstream": True,
            "reset_dag_runs": True,
        }
        data = self.post(f"/api/v2/dags/{dag_id}/clearTaskInstances", body)
        return [str(t["task_id"]) for t in data.get("task_instances", [])]

    def delete_run(self, dag_id: str, run_id: str) -> None:
        response = self.request("DELETE", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        if response.status_code >= 400 and response.status_code != 404:
            raise SandboxError(f"DELETE run {dag_id}/{run_id}: HTTP {response.status_code} {response.text[:300]}")


def render_log_entry(entry: Any) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    head = " ".join(str(entry[k]) for k in ("timestamp", "level") if entry.get(k))
    line = f"{head} {entry.get('event', '')}".strip()
    for error in entry.get("error_detail") or []:
        if not isinstance(error, dict):
            continue
        frames = [
            f'  File "{f.get("filename")}", line {f.get("lineno")}, in {f.get("name")}'
            for f in error.get("frames") or []
            if isinstance(f, dict)
        ]
        value = error.get("exc_value")
        tail = f"{error.get('exc_type')}: {value}" if value else str(error.get("exc_type"))
        line += "\n" + "\n".join(["Traceback (most recent call last):", *frames, tail])
    return line
