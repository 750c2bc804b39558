"""The CLI: readable mirrors of the MCP tools, plus serve, sandbox and the offline helpers.

Tables by default, `--json` for scripts. Errors are one line on stderr with exit code 2.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from pipeline_sre.errors import PipelineSreError
from pipeline_sre.surfaces.cli.common import (
    ConfigOpt,
    EnvOpt,
    JsonOpt,
    console,
    emit,
    err_console,
    fail,
    run_lifecycle,
    settings_from,
    table,
    who,
)
from pipeline_sre.surfaces.cli.render import render_action, render_outcome, render_proposal

if TYPE_CHECKING:
    from pipeline_sre.lifecycle.runtime import Runtime

# Start-up stays light (`--help`, `diagnose` and friends): configuration, the lifecycle services,
# governance, the store and the connectors are imported inside the commands that use them.

app = typer.Typer(
    name="pipeline-sre",
    help="Governed incident-response tools for data pipelines (MCP server, CLI, autopilot).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's help renderer costs ~0.1 s of start-up on every command
)


def _errors(data: dict[str, Any]) -> None:
    for e in data.get("errors", []):
        err_console.print(f"[yellow]{escape(e['environment'])}[/yellow]: {escape(e['message'])}", highlight=False)


@app.callback()
def _everywhere(config: ConfigOpt = None) -> None:
    """`--config` before the command (`pipeline-sre --config FILE failures`) works like after it."""
    if config is not None:
        os.environ["PIPELINE_SRE_CONFIG"] = config


@app.command()
def failures(
    window: Annotated[int, typer.Option("--window", "-w", help="Minutes to look back (1-10080)")] = 60,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """What failed in the last WINDOW minutes, grouped by DAG, most urgent first."""
    from pipeline_sre.lifecycle.sources.airflow import detect

    data = run_lifecycle(config, lambda rt: detect.recent_failures(rt, window, env))

    def render(d: dict[str, Any]) -> None:
        dags = d["dags_failing"] if "dags_failing" in d else f"at least {d['dags_failing_at_least']}"
        console.print(f"[bold]{d['total']}[/bold] failed run(s) in the last {window} min, {dags} DAG(s)")
        if "narrowed" in d:
            console.print(f"[dim]{d['narrowed']}[/dim]")
        rows = [
            [
                g["env"],
                g["dag_id"],
                g["failures"],
                g["tier"],
                "yes" if g["critical"] else "",
                g.get("owner"),
                g["first_failed_task"],
                g["latest_end"],
            ]
            for g in d["by_dag"]
        ]
        cols = ["env", "dag", "failures", "tier", "critical", "owner", "first failed task", "latest end"]
        console.print(table("By DAG", cols, rows))
        _errors(d)

    emit(data, as_json, render)


@app.command()
def runs(
    dag: Annotated[str | None, typer.Option("--dag", help="Only this DAG")] = None,
    since: Annotated[str | None, typer.Option(help="ISO-8601 start (default: 24 h ago)")] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601 end (default: now)")] = None,
    limit: Annotated[int, typer.Option(help="Page size 1-200")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Cursor from a previous page")] = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Failed runs newest first, paginated."""
    from pipeline_sre.lifecycle.sources.airflow import detect

    data = run_lifecycle(config, lambda rt: detect.failed_runs(rt, dag, since, until, limit, cursor, env))

    def render(d: dict[str, Any]) -> None:
        rows = [[r["env"], r["dag_id"], r["run_id"], r["end"], r["duration_s"]] for r in d["runs"]]
        console.print(table(f"Failed runs ({d['total']} in all)", ["env", "dag", "run", "end", "secs"], rows))
        if d.get("cursor"):
            console.print(f"next page: --cursor {d['cursor']}", highlight=False)
        _errors(d)

    emit(data, as_json, render)


@app.command("run")
def run_cmd(dag_id: str, run_id: str, env: EnvOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Summary of one DAG run."""
    from pipeline_sre.lifecycle.sources.airflow import triage

    data = run_lifecycle(config, lambda rt: triage.run_summary(rt, dag_id, run_id, env))
    emit(
        data,
        as_json,
        lambda d: console.print(table(f"{dag_id} / {run_id}", ["field", "value"], [[k, v] for k, v in d.items()])),
    )


@app.command()
def tasks(dag_id: str, run_id: str, env: EnvOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Failed and upstream_failed tasks of a run, root cause first."""
    from pipeline_sre.lifecycle.sources.airflow import triage

    data = run_lifecycle(config, lambda rt: triage.failed_tasks(rt, dag_id, run_id, env))

    def render(d: dict[str, Any]) -> None:
        rows = [
            [
                t["task_id"],
                t["state"],
                f"{t['try_number']}/{t['max_tries'] + 1}",
                t["operator"],
                t["duration_s"],
            ]
            for t in d["tasks"]
        ]
        console.print(table(f"Failed tasks of {dag_id} / {run_id}", ["task", "state", "try", "operator", "secs"], rows))

    emit(data, as_json, render)


@app.command("triage")
def triage_cmd(
    dag_id: str, run_id: str, env: EnvOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None
) -> None:
    """Severity, first failing task, attempts and persistence of a failed run, the downstream DAGs it blocks,
    and what was done the last times the same failure was seen (memory)."""
    from pipeline_sre.app import operations

    data = run_lifecycle(config, lambda rt: operations.triage_with_memory(rt, dag_id, run_id, env))

    def render(d: dict[str, Any]) -> None:
        head = escape(f"{d['dag_id']} / {d['run_id']} ({d['env']})")
        console.print(f"[bold]{d['severity']}[/bold] {head}", highlight=False)
        rows = [[k, v] for k, v in d.items() if k not in ("severity", "dag_id", "run_id", "env", "downstream")]
        console.print(table("Triage", ["field", "value"], rows))
        down = d.get("downstream")
        if down:
            rows = [
                [c["dag_id"], c["tier"], c["depth"], c["via_asset"], ", ".join(c["owners"]) or "—"]
                for c in down["consumers"]
            ]
            title = f"Downstream: {down['total']} DAG(s) blocked; owners {', '.join(down['owners']) or '—'}"
            console.print(table(title, ["DAG", "tier", "depth", "via asset", "owners"], rows))
            if down.get("unavailable"):
                console.print(escape(down["unavailable"]), highlight=False)

    emit(data, as_json, render)


@app.command()
def logs(
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: Annotated[int | None, typer.Option("--try", help="Try number (default: latest)")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Last N lines, 1-2000")] = 200,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The redacted tail of a task log."""
    from pipeline_sre.lifecycle.sources.airflow import diagnose

    data = run_lifecycle(config, lambda rt: diagnose.task_log(rt, dag_id, run_id, task_id, try_number, lines, env))
    emit(
        data,
        as_json,
        lambda d: console.print(d.get("log") or d.get("message"), markup=False, highlight=False),
    )


@app.command()
def errors(
    dag_id: str,
    run_id: str,
    task_id: Annotated[str | None, typer.Option("--task", help="Only this task")] = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The decisive error of each failed task, with category and signature."""
    from pipeline_sre.lifecycle.sources.airflow import diagnose

    data = run_lifecycle(config, lambda rt: diagnose.extract_errors(rt, dag_id, run_id, task_id, env), "Reading logs…")

    def render(d: dict[str, Any]) -> None:
        rows = [
            [
                t["task_id"],
                t["category"],
                t["confidence"],
                t["basis"],
                t["exception"],
                t["evidence"],
                t["signature"],
            ]
            for t in d["tasks"]
        ]
        cols = ["task", "category", "conf", "basis", "exception", "evidence", "signature"]
        console.print(table(f"Errors in {dag_id} / {run_id}", cols, rows))
        if d.get("message"):
            console.print(d["message"], highlight=False)

    emit(data, as_json, render)


@app.command()
def frequency(
    dag_id: str,
    task_id: Annotated[str | None, typer.Option("--task", help="Only this task")] = None,
    days: Annotated[int, typer.Option("--days", help="Lookback in days, 1-90")] = 7,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Failures per error signature over the lookback, with a transient/recurring/persistent verdict."""
    from pipeline_sre.lifecycle.sources.airflow import diagnose

    data = run_lifecycle(config, lambda rt: diagnose.failure_frequency(rt, dag_id, task_id, days, env), "Reading logs…")

    def render(d: dict[str, Any]) -> None:
        rows = [
            [s["signature"], s["category"], s["failures"], s["verdict"], s["first_seen"], s["last_seen"]]
            for s in d["signatures"]
        ]
        cols = ["signature", "category", "failures", "verdict", "first seen", "last seen"]
        console.print(table(f"{dag_id}: {d['failed_runs']} failed of {d['runs_in_lookback']} runs", cols, rows))

    emit(data, as_json, render)


@app.command()
def propose(
    dag_id: str,
    run_id: str,
    action: Annotated[str | None, typer.Option(help="Force clear_failed_tasks or trigger_dag")] = None,
    conf: Annotated[str | None, typer.Option(help="JSON conf for trigger_dag")] = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Diagnose a failed run and propose the runbook's smallest safe fix (changes nothing in Airflow).

    Proposed by you: PIPELINE_SRE_TOKEN's user, else the OS user."""
    from pipeline_sre.app import operations

    try:
        conf_obj = json.loads(conf) if conf is not None else None
    except ValueError:
        fail("--conf must be a JSON object, e.g. '{\"batch_size\": 100}'")
    if conf_obj is not None and not isinstance(conf_obj, dict):
        fail("--conf must be a JSON object, e.g. '{\"batch_size\": 100}'")
    data = run_lifecycle(
        config,
        lambda rt: operations.propose(rt, who(rt), dag_id, run_id, env, action=action, conf=conf_obj),
        "Diagnosing…",
    )
    emit(data, as_json, lambda d: render_proposal(console, d))


@app.command("request-approval")
def request_approval(
    action_id: str,
    reason: Annotated[
        str | None, typer.Option(help="Impact, risk, rollback and verify steps (default: from the stored plan)")
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Ask for approval of a proposed action; its incident then awaits approval."""
    from pipeline_sre.app import operations

    async def go(rt: Runtime) -> dict[str, Any]:
        out = await operations.ask_approval(rt, who(rt), action_id, reason)
        action: dict[str, Any] = out["action"]
        if "review" in out:  # the pull request reviewers approve, opened just now (or why not)
            action["review"] = out["review"]
        return action

    emit(run_lifecycle(config, go), as_json, lambda d: render_action(console, d))


@app.command()
def execute(
    action_id: str,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Execute an approved action exactly once (dry_run mode only audits the exact call); its incident moves
    on to verification."""
    from pipeline_sre.app import operations

    async def go(rt: Runtime) -> dict[str, Any]:
        return await operations.execute(rt, who(rt), action_id)

    emit(run_lifecycle(config, go, "Executing…"), as_json, lambda d: render_outcome(console, d))


@app.command()
def serve(
    http: Annotated[
        str | None, typer.Option("--http", help="Serve streamable HTTP on HOST:PORT (default: stdio)")
    ] = None,
    insecure_local: Annotated[
        bool, typer.Option("--insecure-local", help="Allow HTTP without a bearer token (loopback only)")
    ] = False,
    with_console: Annotated[
        bool, typer.Option("--console", help="Also serve the approval console under /console (HTTP only)")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Run the MCP server over stdio (default) or streamable HTTP."""
    from pipeline_sre.surfaces.mcp.transport import serve_http, serve_stdio

    settings = settings_from(config)
    try:
        if http is None:
            serve_stdio(settings)
        else:
            serve_http(settings, http, insecure_local=insecure_local, with_console=with_console)
    except PipelineSreError as err:
        fail(err.message)


@app.command()
def watch(
    once: Annotated[bool, typer.Option("--once", help="Run one cycle, print its report and exit (for cron)")] = False,
    shadow: Annotated[
        bool,
        typer.Option("--shadow", help="Write plans only: no proposal, approval request or execution"),
    ] = False,
    interval: Annotated[
        int | None, typer.Option("--interval", help="Seconds between cycles (default: autopilot.interval_seconds)")
    ] = None,
    http: Annotated[
        str | None,
        typer.Option("--http", help="Serve webhooks and /metrics on HOST:PORT (default: autopilot.bind, if set)"),
    ] = None,
    insecure_local: Annotated[
        bool, typer.Option("--insecure-local", help="Allow webhooks without a bearer token (loopback only)")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """The autopilot: poll every environment and take pushed failures, then triage, diagnose, propose,
    ask for approval, execute what humans approved, verify and write postmortems. No LLM involved."""
    from pipeline_sre.surfaces.autopilot.watch import run_watch

    settings = settings_from(config)
    try:
        code = run_watch(
            settings, once=once, shadow=shadow, interval=interval, http=http, insecure_local=insecure_local
        )
    except PipelineSreError as err:
        fail(err.message)
    raise typer.Exit(code)


def _mount_subapps() -> None:
    from pipeline_sre.surfaces.cli import console as cli_console
    from pipeline_sre.surfaces.cli import diagnosis as cli_diagnosis
    from pipeline_sre.surfaces.cli import governance as cli_governance
    from pipeline_sre.surfaces.cli import incidents as cli_incidents
    from pipeline_sre.surfaces.cli import sandbox as cli_sandbox
    from pipeline_sre.surfaces.cli import stats as cli_stats

    app.add_typer(cli_sandbox.app, name="sandbox", help="A local Airflow 3 with failing example pipelines")
    app.add_typer(cli_governance.approvals_app, name="approvals", help="List, show, approve or deny actions")
    app.add_typer(cli_governance.audit_app, name="audit", help="Verify, checkpoint or export the audit log")
    app.add_typer(cli_governance.runbooks_app, name="runbooks", help="List or show runbooks")
    app.add_typer(cli_incidents.app, name="incidents", help="List, show, verify, escalate, postmortem")
    app.add_typer(cli_console.users_app, name="users", help="Local users of the approval console")
    app.command("console")(cli_console.console)
    app.command("stats")(cli_stats.stats)
    app.registered_commands += cli_diagnosis.app.registered_commands


_mount_subapps()


def main() -> None:
    app()
