"""CLI for incidents: list, show, verify, escalate, timeline and postmortem."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline_sre.surfaces.cli.common import ConfigOpt, EnvOpt, JsonOpt, console, emit, run_lifecycle, table, who
from pipeline_sre.surfaces.cli.render import render_memory

if TYPE_CHECKING:  # imported inside the commands that use them, so the CLI starts light
    from pipeline_sre.lifecycle.runtime import Runtime

app = typer.Typer(help="Incidents: the unit of work from detection to postmortem.", no_args_is_help=True)


def _print(d: dict[str, Any]) -> None:
    console.print_json(json.dumps(d, default=str))


def _show(d: dict[str, Any]) -> None:
    fields = [
        "state",
        "severity",
        "category",
        "source",
        "subject",
        "run_id",
        "task_id",
        "signature",
        "occurrences",
        "runbook_id",
        "action_id",
        "escalation_reason",
        "close_reason",
        "postmortem_path",
    ]
    rows = [[f, d[f]] for f in fields if d.get(f) not in (None, "")]
    rows += [[f"step {state}", at] for state, at in d["steps"].items()]
    rows += [[name, f"{secs} s"] for name, secs in d["durations"].items()]
    rows += [[f"fact {k}", v] for k, v in d["facts"].items() if k != "plan" and v not in (None, "", [])]
    console.print(table(f"{d['id']} ({d['env']}): {d['title']}", ["field", "value"], rows))
    if d.get("verdict"):
        _verdict(d["verdict"])
    render_memory(console, d.get("seen_before"))


def _verdict(d: dict[str, Any]) -> None:
    rows = [[c["rule"], {True: "ok", False: "FAILED", None: "pending"}[c["ok"]], c["detail"]] for c in d["checks"]]
    console.print(table(f"Recovery: {d['verdict']} (checked {d['checked_at']})", ["rule", "result", "detail"], rows))
    if d.get("next"):
        console.print(f"next: {d['next']}", highlight=False, markup=False)


@app.command("list")
def list_cmd(
    state: Annotated[str | None, typer.Option(help="Only this state")] = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Incidents newest first."""

    async def go(rt: Runtime) -> dict[str, Any]:
        if env is not None:
            rt.environment(env)
        found = await asyncio.to_thread(rt.incidents.list, state, env)
        return {"count": len(found), "incidents": [i.summary() for i in found]}

    def render(d: dict[str, Any]) -> None:
        cols = ["id", "env", "subject", "state", "severity", "category", "occurrences", "opened"]
        console.print(table(f"{d['count']} incident(s)", cols, [[i[c] for c in cols] for i in d["incidents"]]))

    emit(run_lifecycle(config, go, "Reading incidents…"), as_json, render)


@app.command()
def show(incident_id: str, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """One incident with its facts, steps and durations, and the past incidents like it (seen before)."""
    from pipeline_sre.app import operations

    async def go(rt: Runtime) -> dict[str, Any]:
        return await asyncio.to_thread(operations.get_incident, rt, incident_id)

    emit(run_lifecycle(config, go), as_json, _show)


@app.command("verify")
def verify_cmd(
    incident_id: str,
    wait: Annotated[int, typer.Option("--wait", help="While pending, wait up to this many seconds (0-600)")] = 0,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Evaluate the recovery rules: recovered | pending | not_recovered."""
    from pipeline_sre.app import operations

    emit(
        run_lifecycle(config, lambda rt: operations.verify_recovery(rt, who(rt), incident_id, wait), "Verifying…"),
        as_json,
        _verdict,
    )


@app.command()
def escalate(
    incident_id: str,
    reason: Annotated[str, typer.Option(help="What failed and what was tried")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Hand the incident to a human and notify; its pending action is withdrawn."""
    from pipeline_sre.app import operations

    emit(run_lifecycle(config, lambda rt: operations.escalate(rt, who(rt), incident_id, reason)), as_json, _print)


@app.command()
def close(
    incident_id: str,
    reason: Annotated[str, typer.Option(help="Why it can be closed (false alarm, fixed by hand, duplicate)")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Close an incident by hand with a reason; its pending action is withdrawn."""
    from pipeline_sre.app import operations

    emit(run_lifecycle(config, lambda rt: operations.close(rt, who(rt), incident_id, reason)), as_json, _print)


@app.command()
def timeline(incident_id: str, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The incident's timeline from the store, the audit log and Airflow."""
    from pipeline_sre.lifecycle import postmortem

    def render(d: dict[str, Any]) -> None:
        rows = [[e["at"], e["source"], e["what"]] for e in d["events"]]
        console.print(table(f"Timeline of {incident_id}", ["at", "source", "what"], rows))

    emit(run_lifecycle(config, lambda rt: postmortem.build_timeline(rt, incident_id)), as_json, render)


@app.command("postmortem")
def postmortem_cmd(incident_id: str, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Write the postmortem (Markdown + JSON) under the data dir."""
    from pipeline_sre.lifecycle import postmortem

    def render(d: dict[str, Any]) -> None:
        # The document as written (Markdown reads as text in a terminal), then where it is kept.
        console.print(d["markdown"], markup=False, highlight=False, soft_wrap=True)
        console.print(f"written to {d['path']} (JSON twin {d['json_path']})", markup=False, highlight=False)

    emit(run_lifecycle(config, lambda rt: postmortem.write_postmortem(rt, incident_id), "Writing…"), as_json, render)
