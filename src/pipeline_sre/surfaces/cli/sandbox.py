"""`pipeline-sre sandbox up|status|down`: a local, real Airflow 3 with example failing pipelines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the sandbox package (httpx, process management) is imported by the commands only
    from pipeline_sre.sandbox import SandboxError, SandboxStatus

app = typer.Typer(help="Run a local Apache Airflow 3 sandbox with example failing pipelines.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Defaults to $PIPELINE_SRE_DATA_DIR or the user data dir."),
]
PortOpt = Annotated[
    int | None, typer.Option("--port", help="api-server port on 127.0.0.1 (default: the sandbox's, 28080).")
]


def _fail(exc: SandboxError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


@app.command()
def up(
    data_dir: DataDirOpt = None,
    port: PortOpt = None,
    trigger: Annotated[bool, typer.Option(help="Trigger one run of each example DAG.")] = True,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the example runs finish.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for start-up (and runs).")] = 240,
    as_json: Annotated[bool, typer.Option("--json", help="Print the sandbox info as JSON.")] = False,
) -> None:
    """Install (once), start and seed the sandbox; returns at once if it is already running."""
    from pipeline_sre.sandbox import DEFAULT_PORT, Sandbox, SandboxError

    sandbox = Sandbox(data_dir, DEFAULT_PORT if port is None else port)
    try:
        with console.status("starting the sandbox", spinner="dots") as spinner:
            info = sandbox.up(
                trigger=trigger,
                wait_failures=wait,
                timeout=timeout,
                progress=lambda message: spinner.update(message),
            )
    except SandboxError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(info.to_dict(include_password=True), indent=2))
        return
    verb = "already running" if info.already_running else "running"
    console.print(f"[bold green]sandbox {verb}[/] at {info.url}", highlight=False, soft_wrap=True)
    console.print(f"  login     {info.username} / {info.password}  (stored in {info.passwords_file})", highlight=False)
    console.print(f"  dags      {info.dags_folder}", highlight=False, soft_wrap=True)
    console.print(f"  logs      {info.log_dir}", highlight=False, soft_wrap=True)
    if info.runs:
        console.print(f"  triggered {len(info.runs)} example runs", highlight=False, soft_wrap=True)
    if "healthy" in info.timings:
        console.print(f"  healthy after {info.timings['healthy']:.1f}s", highlight=False, soft_wrap=True)


def _print_status(status: SandboxStatus) -> None:
    colour = {"running": "green", "degraded": "yellow"}.get(status.state, "red")
    console.print(f"sandbox [bold {colour}]{status.state}[/] ({status.url})", highlight=False, soft_wrap=True)
    for proc in status.processes:
        mark = "[green]running[/]" if proc.running else "[red]stopped[/]"
        console.print(f"  {proc.name:<14} {mark}  pid {proc.pid or '-'}", highlight=False, soft_wrap=True)
    if status.dag_count is not None:
        console.print(f"  dags: {status.dag_count}", highlight=False, soft_wrap=True)
    if status.runs:
        table = Table("dag", "latest run", "state")
        for run in status.runs:
            table.add_row(run.dag_id, run.run_id, run.state)
        console.print(table)


@app.command()
def status(
    data_dir: DataDirOpt = None,
    port: PortOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show whether the sandbox processes run, its URL, DAG count and the latest example runs."""
    from pipeline_sre.sandbox import DEFAULT_PORT, Sandbox, SandboxError

    try:
        current = Sandbox(data_dir, DEFAULT_PORT if port is None else port).status()
    except SandboxError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(current.to_dict(), indent=2))
    else:
        _print_status(current)


@app.command()
def down(data_dir: DataDirOpt = None) -> None:
    """Stop every sandbox process (safe to run when already stopped)."""
    from pipeline_sre.sandbox import Sandbox, SandboxError

    try:
        with console.status("stopping the sandbox", spinner="dots"):
            Sandbox(data_dir).down()
    except SandboxError as exc:
        raise _fail(exc) from None
    console.print("sandbox stopped")
