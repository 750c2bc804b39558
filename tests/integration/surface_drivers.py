"""Each surface driven the way its user drives it, for the surface matrix on the real sandbox Airflow.

A `World` is one team's installation: its own config, store and console users, so one case's incident
never joins another's. The MCP server (streamable HTTP, the official client) also serves the console
(httpx, signed in, with its CSRF token and a same-origin Origin) and Slack's interactivity endpoint
(requests signed like Slack's); the CLI and the autopilot (`watch --once`) run through the CLI's typer
app, the CLI signed in with a per-user token. Nothing here imports the lifecycle or governance: only what
a user sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import TextResourceContents
from typer.testing import CliRunner

from pipeline_sre.app.respond import SHADOW_PREFIX
from pipeline_sre.sandbox import Sandbox, SandboxInfo
from pipeline_sre.settings.config import load_settings
from pipeline_sre.store.db import Database, open_database
from pipeline_sre.store.incidents import Incident, IncidentStore
from pipeline_sre.store.users import UserStore
from pipeline_sre.surfaces.cli.app import app
from tests.integration.mcp_helpers import TOKEN, http_server, json_of, write_config
from tests.slack_stand_in import SIGNING_SECRET, body_for, signed

ENV = "sandbox"
MCP_OWNER = "carol"  # server.owner: whom MCP callers act for
CLI_USER = "dave"  # PIPELINE_SRE_TOKEN's user at the CLI
APPROVERS = ("alice", "bob")
PASSWORD = "matrix-password-0123"
SLACK_IDS = {"bob": "U0BOB"}  # console.slack.user_map, the other way round
CSRF = "csrf_token"
RUNNER = CliRunner()


@dataclass
class World:
    """One installation of pipeline-sre against the shared sandbox: config, store, people and tokens."""

    root: Path
    env: dict[str, str]
    db: Database
    incidents: IncidentStore
    tokens: dict[str, str]

    def as_user(self, name: str) -> dict[str, str]:
        """The environment of a CLI signed in as NAME (its personal token)."""
        return {**self.env, "PIPELINE_SRE_TOKEN": self.tokens[name]}

    def only(self, dag_id: str) -> Incident:
        """The one incident this world has, for `dag_id` (each case makes exactly one)."""
        found = self.incidents.list(limit=10)
        assert [i.subject for i in found] == [dag_id], [(i.id, i.subject, i.state) for i in found]
        return found[0]

    def claim_all_but(self, manager: Sandbox, keep: tuple[str, str]) -> None:
        """Mark every failed run in the sandbox except `keep` (dag_id, run_id) as already handled, live and in
        shadow, so this world's autopilot sees only the run its case is about."""
        with manager.client() as client:
            runs = client.get("/api/v2/dags/~/dagRuns", state="failed", limit=1000)["dag_runs"]
        for run in runs:
            if (run["dag_id"], run["dag_run_id"]) == keep:
                continue
            for subject in (run["dag_id"], SHADOW_PREFIX + run["dag_id"]):
                self.incidents.claim_run(ENV, subject, run["dag_run_id"])
                self.incidents.finish_run(ENV, subject, run["dag_run_id"])


@contextmanager
def world(root: Path, sandbox: SandboxInfo) -> Iterator[World]:
    path, env = write_config(root, sandbox)
    config = yaml.safe_load(path.read_text())
    config["incidents"] = {"verify": {"quiet_minutes": 0}}
    config["governance"] = {
        "mode": "live",
        "approvers": list(APPROVERS),
        "execution_lease_seconds": 1,
        "environments": {ENV: {"allow_dags": ["example_*"], "required_approvals": 1}},
    }
    config["server"] = {"owner": MCP_OWNER}
    config["console"] = {"secure_cookies": False, "slack": {"user_map": {v: k for k, v in SLACK_IDS.items()}}}
    config["autopilot"] = {"window_minutes": 180}
    path.write_text(yaml.safe_dump(config))
    env["PIPELINE_SRE_SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    settings = load_settings(path)
    # The data dir comes from the environment first: this process must open the store the server uses.
    assert settings.resolved_data_dir() == Path(env["PIPELINE_SRE_DATA_DIR"]), "set PIPELINE_SRE_DATA_DIR first"
    db = open_database(settings)
    try:
        users = UserStore(db)
        for name in APPROVERS:
            users.add(name, "approver", PASSWORD)
        users.add(CLI_USER, "viewer", PASSWORD)
        tokens = {name: users.issue_token(name, 1) for name in (*APPROVERS, CLI_USER)}
        window = timedelta(minutes=settings.incidents.dedup_window_minutes)
        yield World(root, env, db, IncidentStore(db, dedup_window=window), tokens)
    finally:
        db.dispose()


# -- CLI and autopilot ---------------------------------------------------------------------------------


def cli(env: dict[str, str], *args: str) -> str:
    """`pipeline-sre ARGS` as a person at a terminal with `env` runs it (its typer app, in this process);
    what it printed to stdout."""
    done = RUNNER.invoke(app, list(args), env=env, catch_exceptions=False)
    assert done.exit_code == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def cli_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(cli(env, *args, "--json"))


def watch_once(env: dict[str, str], *extra: str) -> dict[str, Any]:
    """One autopilot cycle (`watch --once`); a cycle that reports errors fails the case (they would hide a
    wrong state)."""
    done = RUNNER.invoke(app, ["watch", "--once", *extra], env=env, catch_exceptions=False)
    report: dict[str, Any] = json.loads(done.stdout)
    assert done.exit_code == 0 and report["errors"] == [], (report, done.stderr[-2000:])
    return report


def audit_records(env: dict[str, str]) -> list[dict[str, Any]]:
    out = cli(env, "audit", "export", "--format", "jsonl")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# -- the served surfaces: MCP, the console, Slack --------------------------------------------------------


class Mcp:
    """An MCP client over streamable HTTP, one session per call (a sync test drives it)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        async def go() -> dict[str, Any]:
            async with self._client() as client:
                return json_of(await client.call_tool(tool, arguments))

        return anyio.run(go)

    def read(self, uri: str) -> str:
        async def go() -> str:
            async with self._client() as client:
                [content] = (await client.read_resource(uri)).contents
                assert isinstance(content, TextResourceContents)
                return content.text

        return anyio.run(go)

    def _client(self) -> Client:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
        return Client(streamable_http_client(self.url, http_client=http))


class ConsoleUser:
    """A person signed in to the console in a browser-like httpx client (same-origin Origin on every POST)."""

    def __init__(self, origin: str, name: str) -> None:
        self.name = name
        self.http = httpx.Client(
            base_url=f"{origin}/console", headers={"origin": origin}, follow_redirects=True, timeout=60
        )
        login = self.http.post(
            "/login",
            data={"username": name, "password": PASSWORD, CSRF: self._csrf("/login"), "next": "/incidents"},
        )
        assert login.status_code == 200 and f'data-testid="whoami">{name}' in login.text, login.text[-2000:]

    def _csrf(self, page: str) -> str:
        text = self.http.get(page).text
        marker = f'name="{CSRF}" value="'
        assert marker in text, text[-2000:]
        return text.split(marker, 1)[1].split('"', 1)[0]

    def post(self, path: str, page: str, **fields: str) -> str:
        """Submit a form of `page` the way its button does; returns the page shown after."""
        answer = self.http.post(path, data={CSRF: self._csrf(page), **fields})
        assert answer.status_code == 200, answer.text[-2000:]
        return answer.text

    def decide(self, action_id: str, verb: str, comment: str) -> None:
        """Press Approve or Deny (`verb`) on the action's page, with a comment."""
        page = self.post(f"/actions/{action_id}/{verb}", f"/actions/{action_id}", comment=comment)
        assert f"{'Approved' if verb == 'approve' else 'Denied'} by {self.name}" in page, page[-2000:]

    def close(self, incident_id: str, reason: str) -> None:
        page = self.post(f"/incidents/{incident_id}/close", f"/incidents/{incident_id}", reason=reason)
        assert f"Closed by {self.name}" in page, page[-2000:]

    def write_postmortem(self, incident_id: str) -> None:
        page = self.post(f"/incidents/{incident_id}/postmortem", f"/incidents/{incident_id}/postmortem")
        assert "Written (" in page, page[-2000:]


@dataclass
class Served:
    """`pipeline-sre serve --http --console`: MCP, the console and Slack's endpoint on one origin."""

    origin: str
    mcp: Mcp

    def console(self, name: str) -> ConsoleUser:
        return ConsoleUser(self.origin, name)

    def slack_press(self, approver: str, verb: str, action_id: str) -> dict[str, Any]:
        """A Slack user mapped to `approver` presses Approve or Deny on the request's message."""
        body = body_for(action_id, SLACK_IDS[approver], verb)
        answer = httpx.post(f"{self.origin}/console/slack/actions", content=body, headers=signed(body), timeout=60)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        assert data["ok"], data
        return data


@contextmanager
def served(w: World) -> Iterator[Served]:
    # On two busy cores the server may take a while to start; a case waits rather than fails.
    with http_server(w.env, "--console", "--insecure-local", ready_seconds=180) as url:
        yield Served(url.removesuffix("/mcp"), Mcp(url))
