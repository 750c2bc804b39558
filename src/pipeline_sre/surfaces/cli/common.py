"""What the CLI's command modules share: the common options, the consoles, one way to run a lifecycle
call (typed errors become one line on stderr and exit code 2), and how results are printed."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline_sre.errors import PipelineSreError

if TYPE_CHECKING:  # imported inside the functions that need them, so the CLI starts light
    from pipeline_sre.governance.identity import Principal
    from pipeline_sre.lifecycle.runtime import Runtime
    from pipeline_sre.settings.config import Settings

T = TypeVar("T")


# Piped output (scripts, CI logs) gets wide tables instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 140)


err_console = Console(stderr=True)


ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", "-c", help="YAML config (else $PIPELINE_SRE_CONFIG, ./pipeline-sre.yaml)"),
]


EnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Environment name (default: all / the only one)")]


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def fail(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/red] {escape(message)}", markup=True, highlight=False)
    raise typer.Exit(2)


def settings_from(config: str | None) -> Settings:
    from pipeline_sre.settings.config import load_settings

    try:
        return load_settings(config)
    except PipelineSreError as err:
        fail(err.message)


def run_lifecycle(config: str | None, fn: Callable[[Runtime], Awaitable[T]], wait: str = "Asking Airflow…") -> T:
    from pipeline_sre.diagnosis.fence import strip_control
    from pipeline_sre.governance.policy import PolicyRefusal
    from pipeline_sre.lifecycle.compact import scrub
    from pipeline_sre.lifecycle.runtime import Runtime

    settings = settings_from(config)

    async def go() -> T:
        rt = Runtime(settings)
        try:
            result = await fn(rt)
            # The last pass over what is printed, as over MCP answers: redacted once more, no control characters.
            return cast(T, scrub(result, lambda text: strip_control(rt.redact(text))))
        finally:
            await rt.aclose()

    try:
        with console.status(wait) if sys.stderr.isatty() else _nullcontext():
            return asyncio.run(go())
    except PolicyRefusal as err:  # the rule and what would allow it, as the MCP tools give them
        fail(f"refused by {err.rule}: {err}")
    except PipelineSreError as err:
        fail(err.message)


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def emit(data: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        render(data)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    # Cells and titles carry log-derived text: plain Text, so "[...]" in a log is shown, never applied as markup.
    table = Table(title=Text(title), title_justify="left", header_style="bold")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    return table


def who(rt: Runtime) -> Principal:
    """The person a command acts for (PIPELINE_SRE_TOKEN's user, else the OS user)."""
    from pipeline_sre.surfaces.cli.identity import cli_principal

    return cli_principal(rt.governance.db)
