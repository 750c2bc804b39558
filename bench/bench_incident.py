"""One incident from detection to postmortem over MCP, as an agent would walk it: calls and bytes.

Run against a running server on a real Airflow, e.g. the one `scripts/up` starts (with a policy file that
allows writes in the sandbox, see README "From scripts/up to a first fix"):

    .venv/bin/python bench/bench_incident.py --url http://127.0.0.1:8765/mcp --approver bob

The approver is a console user other than the server's owner; the script creates it with a random
password if needed and approves through the CLI, as a person would (that is not an MCP call). Counted:
every tools/call and the bytes of text it returns; reading the whole postmortem back is reported apart.
Writes bench/results/incident.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp.client.client import Client
from mcp.types import TextResourceContents

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "incident.md"
DAG = "example_flaky_network"
WAIT_SECONDS = 300


class Counted:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.calls: list[tuple[str, int]] = []
        self.progress_notes = 0  # progress notifications while a call waits (not tool text)

    async def tool(self, name: str, **args: Any) -> dict[str, Any]:
        result = await self.client.call_tool(name, args, progress_callback=self._progress)
        text = "".join(getattr(c, "text", "") for c in result.content)
        self.calls.append((name, len(text.encode())))
        if result.is_error:
            raise SystemExit(f"{name} failed: {text}")
        data: dict[str, Any] = json.loads(text)
        return data

    async def _progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress_notes += 1

    async def uncounted_read(self, uri: str) -> str:
        doc = await self.client.read_resource(uri)
        return "".join(c.text for c in doc.contents if isinstance(c, TextResourceContents))


def approve(action_id: str, approver: str) -> None:
    """A person approves at the CLI, proving who they are with a personal token."""
    pipeline = [sys.executable, "-m", "pipeline_sre"]
    password = secrets.token_urlsafe(18)
    subprocess.run([*pipeline, "users", "add", approver, "--role", "approver", "--password-stdin", "--replace"],
                   input=password + "\n", text=True, check=True, capture_output=True)  # fmt: skip  # one command
    token = subprocess.run([*pipeline, "users", "token", approver, "--password-stdin"], input=password + "\n",
                           text=True, check=True, capture_output=True).stdout.strip()  # fmt: skip  # one command
    env = {**os.environ, "PIPELINE_SRE_TOKEN": token}
    subprocess.run([*pipeline, "approvals", "approve", action_id], env=env, check=True, capture_output=True)


async def walk(url: str, approver: str) -> tuple[Counted, dict[str, Any]]:
    async with Client(url) as client:
        agent = Counted(client)
        found = await agent.tool("list_recent_failures", window_minutes=600)
        latest = {g["dag_id"]: g["latest_run"] for g in found.get("by_dag", [])}
        run_id = latest.get(DAG)
        if run_id is None:  # the answer's byte budget left the DAG out: ask for its runs
            runs = await agent.tool("list_failed_runs", dag_id=DAG, limit=1)
            run_id = runs["runs"][0]["run_id"]
        await agent.tool("triage", dag_id=DAG, run_id=run_id)
        # One call proposes the plan's write and asks a human to approve it.
        plan = await agent.tool("propose_action", dag_id=DAG, run_id=run_id, ask_approval=True)
        action_id, incident_id = plan["action"]["id"], plan["incident_id"]
        approve(action_id, approver)
        await agent.tool("clear_failed_tasks", action_id=action_id)
        # The server waits out the quiet period (progress notifications meanwhile) instead of being polled.
        verdict = await agent.tool("check_recovery_rules", incident_id=incident_id, wait_seconds=WAIT_SECONDS)
        while verdict["verdict"] == "pending":
            verdict = await agent.tool("check_recovery_rules", incident_id=incident_id, wait_seconds=WAIT_SECONDS)
        written = await agent.tool("write_postmortem", incident_id=incident_id)
        # The answer carries the postmortem's headline facts; the whole document is for people (console,
        # file). Reading it back is measured apart, as what an agent that quotes it in full pays.
        document = len((await agent.uncounted_read(written["resource"])).encode())
        outcome = {"run_id": run_id, "incident_id": incident_id, "verdict": verdict["verdict"], "document": document}
        return agent, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8765/mcp")
    parser.add_argument("--approver", default="bob")
    args = parser.parse_args()
    agent, outcome = asyncio.run(walk(args.url, args.approver))
    total = sum(n for _, n in agent.calls)
    lines = [
        "# One incident over MCP: calls and bytes",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} against `{args.url}` on the real sandbox Airflow 3 ({DAG}, run "
        f"`{outcome['run_id']}`), verdict **{outcome['verdict']}**.",
        "",
        "| # | call | bytes of text returned |",
        "|---|---|---|",
        *[f"| {i} | {name} | {n:,} |" for i, (name, n) in enumerate(agent.calls, 1)],
        f"| | **{len(agent.calls)} calls** | **{total:,} bytes** |",
        "",
        f"While `check_recovery_rules` waited, the server sent {agent.progress_notes} progress notification(s). "
        f"`write_postmortem` answers with the document's headline facts; reading the whole document back "
        f"(`postmortem://`, Markdown for people) would add 1 call and {outcome['document']:,} bytes: "
        f"{len(agent.calls) + 1} calls, {total + outcome['document']:,} bytes.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
