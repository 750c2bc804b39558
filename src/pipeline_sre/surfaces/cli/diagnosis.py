"""CLI commands for the diagnosis core: ``diagnose``, ``redact`` and ``signatures``.

The lead mounts ``app`` into the main CLI. Files are read in binary and decoded as UTF-8 with
replacement, one line at a time; bad input gives a one-line error on stderr and exit code 2.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO, TextIO

import typer

# pipeline_sre.diagnosis is imported inside each command: `--help` does not pay for it.

if TYPE_CHECKING:
    from pipeline_sre.diagnosis import Diagnosis

app = typer.Typer(help="Diagnose, redact and template log files (offline, no network).", no_args_is_help=True)

_JSON_FIELDS = ("category", "confidence", "signature", "exception", "message", "evidence", "excerpt")


class OutputFormat(StrEnum):
    json = "json"
    text = "text"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _open_binary(path: Path) -> BinaryIO:
    if not path.exists():
        raise _fail(f"{path}: no such file")
    if path.is_dir():
        raise _fail(f"{path}: is a directory, not a log file")
    try:
        return path.open("rb")
    except OSError as exc:
        raise _fail(f"{path}: cannot open ({exc.strerror or exc})") from None


def _text_lines(stream: BinaryIO) -> Iterator[str]:
    wrapper = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    yield from wrapper


@app.command("diagnose")
def diagnose_cmd(
    files: Annotated[list[Path], typer.Argument(help="Log file(s), or a directory of them.")],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.text,
) -> None:
    """Find the decisive error in FILE and classify it. Several files, or a directory, print one JSON
    line per file (`file` plus the fields of --format json, or `error`), for pipelines."""
    if len(files) == 1 and not files[0].is_dir():
        _diagnose_one(files[0], fmt)
        return
    paths = [p for f in files for p in (sorted(x for x in f.iterdir() if x.is_file()) if f.is_dir() else [f])]
    if not paths:
        raise _fail(f"{', '.join(map(str, files))}: no files to diagnose")
    failed = False
    for path in paths:
        try:
            row = {"file": str(path), **_diagnosis_json(path)}
        except typer.Exit:
            row, failed = {"file": str(path), "error": "unreadable"}, True
        typer.echo(json.dumps(row, ensure_ascii=False))
    if failed:
        raise typer.Exit(2)


def _diagnosis_json(file: Path) -> dict[str, object]:
    data = _diagnose(file).to_dict()
    return {k: data[k] for k in _JSON_FIELDS}


def _diagnose(file: Path) -> Diagnosis:
    from pipeline_sre.diagnosis import diagnose_lines

    stream = _open_binary(file)
    try:
        with stream:
            return diagnose_lines(_text_lines(stream))
    except OSError as exc:
        raise _fail(f"{file}: read failed ({exc.strerror or exc})") from None


def _diagnose_one(file: Path, fmt: OutputFormat) -> None:
    diag = _diagnose(file)
    data = diag.to_dict()
    if fmt is OutputFormat.json:
        typer.echo(json.dumps({k: data[k] for k in _JSON_FIELDS}, ensure_ascii=False, indent=2))
        return
    lines = [
        f"category:   {diag.category} (confidence {diag.confidence:.2f})",
        f"exception:  {diag.exception or '-'}",
        f"signature:  {diag.signature or '-'}",
        f"lines:      {diag.line_start}-{diag.line_end}" if diag.line_start else "lines:      -",
        f"evidence:   {diag.evidence or '-'}",
        f"message:    {diag.message.splitlines()[0] if diag.message else '-'}",
        "excerpt:",
        *("  " + x for x in diag.excerpt.splitlines()),
    ]
    typer.echo("\n".join(lines))


@app.command("redact")
def redact_cmd(
    file: Annotated[Path | None, typer.Argument(help="File to redact; standard input when omitted.")] = None,
) -> None:
    """Mask secrets, streaming line by line to standard output."""
    from pipeline_sre.diagnosis import Redactor

    red = Redactor()
    out: TextIO = sys.stdout
    if file is None:
        src: BinaryIO = sys.stdin.buffer
        for line in _text_lines(src):  # one line at a time so `tail -f | redact` keeps flowing
            out.write(red.redact_line(line))
            out.flush()
        return
    stream = _open_binary(file)
    try:
        with stream:
            for chunk in red.redact_stream(_text_lines(stream)):
                out.write(chunk)
    except OSError as exc:
        raise _fail(f"{file}: read failed ({exc.strerror or exc})") from None
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return


@app.command("signatures")
def signatures_cmd(
    file: Annotated[Path, typer.Argument(help="Log file whose lines to group into templates.")],
) -> None:
    """Print `<template id>\\t<template>` for every line of FILE (drain3 templates)."""
    from pipeline_sre.diagnosis import TemplateMiner

    miner = TemplateMiner()
    stream = _open_binary(file)
    out = sys.stdout
    try:
        with stream:
            for line in _text_lines(stream):
                cid, template = miner.add(line)
                out.write(f"{cid}\t{template}\n")
    except OSError as exc:
        raise _fail(f"{file}: read failed ({exc.strerror or exc})") from None
