"""CLI commands for the diagnosis core: ``diagnose``, ``redact`` and ``signatures``.

The lead mounts ``app`` into the main CLI. The commands themselves, their option names and help live in
``cli/offline.py``, which the entry point also runs without typer; these are their typer faces (help,
the full CLI's parsing and usage errors).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline_sre.surfaces.cli import offline
from pipeline_sre.surfaces.cli.offline import OutputFormat

app = typer.Typer(help="Diagnose, redact and template log files (offline, no network).", no_args_is_help=True)


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


@app.command("diagnose")
def diagnose_cmd(
    files: Annotated[list[Path], typer.Argument(help=offline.FILES_HELP)],
    fmt: Annotated[OutputFormat, typer.Option(*offline.FORMAT_OPTION, help=offline.FORMAT_HELP)] = OutputFormat.text,
) -> None:
    """Find the decisive error in FILE and classify it. Several files, or a directory, print one JSON
    line per file (`file` plus the fields of --format json, or `error`), for pipelines."""
    _exit(offline.diagnose(files, fmt))


@app.command("redact")
def redact_cmd(
    file: Annotated[Path | None, typer.Argument(help=offline.REDACT_FILE_HELP)] = None,
) -> None:
    """Mask secrets, streaming line by line to standard output."""
    _exit(offline.redact(file))


@app.command("signatures")
def signatures_cmd(
    file: Annotated[Path, typer.Argument(help=offline.SIGNATURES_FILE_HELP)],
) -> None:
    """Print `<template id>\\t<template>` for every line of FILE (drain3 templates)."""
    _exit(offline.signatures(file))
