"""The offline log commands, ``diagnose``, ``redact`` and ``signatures``, without typer.

Two callers run them: their typer commands (``cli/diagnosis.py``, for help and the full CLI) and the entry
point's fast path (``cli/entry.py``), which starts without importing typer, click, rich or pydantic. Both
take the option names and help from here, so the two cannot drift; ``fast`` parses only the plain forms
of the commands and leaves anything else (``--help``, unknown options, usage errors) to typer, whose
messages are the CLI's.

Files are read in binary and decoded as UTF-8 with replacement, one line at a time. Bad input gives one
line ``error: ...`` on stderr and exit code 2. ``pipeline_sre.diagnosis`` is imported inside each
command, so building the CLI does not pay for it.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ParamSpec

if TYPE_CHECKING:
    from pipeline_sre.diagnosis import Diagnosis

P = ParamSpec("P")


class OutputFormat(StrEnum):
    json = "json"
    text = "text"


FORMAT_OPTION = ("--format", "-f")
FORMAT_HELP = "Output format."
FILES_HELP = "Log file(s), or a directory of them."
REDACT_FILE_HELP = "File to redact; standard input when omitted."
SIGNATURES_FILE_HELP = "Log file whose lines to group into templates."

_JSON_FIELDS = ("category", "confidence", "basis", "signature", "exception", "message", "evidence", "excerpt")


def _as_json(diag: Diagnosis) -> dict[str, object]:
    """The JSON fields of ``diag``, how its category was reached among them."""
    data = {**diag.to_dict(), "basis": diag.basis}
    return {k: data[k] for k in _JSON_FIELDS}


class BadInput(Exception):
    """Input a command cannot use; the message names the file and what is wrong with it."""


def _error(err: BadInput) -> None:
    print(f"error: {err}", file=sys.stderr, flush=True)


def _exit_code(command: Callable[P, int]) -> Callable[P, int]:
    """Bad input becomes its one-line error and exit code 2. A reader that stops early (`redact big.log |
    head`) closes the pipe: that ends the command quietly, as it ends other Unix tools, not as a read error."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return command(*args, **kwargs)
        except BadInput as err:
            _error(err)
            return 2
        except BrokenPipeError:
            # Python flushes stdout again at exit; pointing it at /dev/null keeps that from failing too.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the closed pipe

    return run


def _open_binary(path: Path) -> BinaryIO:
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if path.is_dir():
        raise BadInput(f"{path}: is a directory, not a log file")
    try:
        return path.open("rb")
    except OSError as exc:
        raise BadInput(f"{path}: cannot open ({exc.strerror or exc})") from None


def _text(stream: BinaryIO) -> io.TextIOWrapper:
    """The stream as text, read line by line or in blocks; bytes that are not UTF-8 are replaced, never fatal."""
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")


def _files_in(folder: Path) -> list[Path]:
    try:
        return sorted(x for x in folder.iterdir() if x.is_file())
    except OSError as exc:
        raise BadInput(f"{folder}: cannot list the directory ({exc.strerror or exc})") from None


@_exit_code
def diagnose(files: Sequence[Path], fmt: OutputFormat) -> int:
    """One file: its diagnosis in ``fmt``. Several files or a directory: one JSON line per file."""
    if len(files) == 1 and not files[0].is_dir():
        _diagnose_one(files[0], fmt)
        return 0
    paths = [p for f in files for p in (_files_in(f) if f.is_dir() else [f])]
    if not paths:
        raise BadInput(f"{', '.join(map(str, files))}: no files to diagnose")
    failed = False
    for path in paths:
        try:
            row = {"file": str(path), **_diagnosis_json(path)}
        except BadInput as err:
            _error(err)
            row, failed = {"file": str(path), "error": "unreadable"}, True
        print(json.dumps(row, ensure_ascii=False), flush=True)  # each line as it is ready, for pipelines
    return 2 if failed else 0


def _diagnosis_json(file: Path) -> dict[str, object]:
    return _as_json(_diagnose(file))


def _diagnose(file: Path) -> Diagnosis:
    from pipeline_sre.diagnosis import diagnose_lines

    stream = _open_binary(file)
    try:
        with stream:
            return diagnose_lines(_text(stream))
    except OSError as exc:
        raise BadInput(f"{file}: read failed ({exc.strerror or exc})") from None


def _diagnose_one(file: Path, fmt: OutputFormat) -> None:
    diag = _diagnose(file)
    if fmt is OutputFormat.json:
        print(json.dumps(_as_json(diag), ensure_ascii=False, indent=2))
        return
    lines = [
        f"category:   {diag.category} (confidence {diag.confidence:.2f})",
        f"basis:      {diag.basis}",
        f"exception:  {diag.exception or '-'}",
        f"signature:  {diag.signature or '-'}",
        f"lines:      {diag.line_start}-{diag.line_end}" if diag.line_start else "lines:      -",
        f"evidence:   {diag.evidence or '-'}",
        f"message:    {diag.message.splitlines()[0] if diag.message else '-'}",
        "excerpt:",
        *("  " + x for x in diag.excerpt.splitlines()),
    ]
    print("\n".join(lines))


@_exit_code
def redact(file: Path | None) -> int:
    """Mask secrets in ``file`` (standard input when None), streaming line by line to standard output."""
    from pipeline_sre.diagnosis import Redactor

    red = Redactor()
    out = sys.stdout
    if file is None:
        for line in _text(sys.stdin.buffer):  # one line at a time so `tail -f | redact` keeps flowing
            out.write(red.redact_line(line))
            out.flush()
        return 0
    stream = _open_binary(file)
    try:
        with stream:
            for chunk in red.redact_reader(_text(stream)):
                out.write(chunk)
    except BrokenPipeError:
        raise  # the reader went away: not a read error (see _exit_code)
    except OSError as exc:
        raise BadInput(f"{file}: read failed ({exc.strerror or exc})") from None
    return 0


@_exit_code
def signatures(file: Path) -> int:
    """Print ``<template id>\\t<template>`` for every line of ``file`` (drain3 templates). Lines are redacted
    before they are mined: a template is log text, and a secret in it would be printed."""
    from pipeline_sre.diagnosis import Redactor, TemplateMiner

    miner = TemplateMiner()
    red = Redactor()
    stream = _open_binary(file)
    out = sys.stdout
    try:
        with stream:
            for line in _text(stream):
                cid, template = miner.add(red.redact_line(line))
                out.write(f"{cid}\t{template}\n")
    except BrokenPipeError:
        raise  # the reader went away: not a read error (see _exit_code)
    except OSError as exc:
        raise BadInput(f"{file}: read failed ({exc.strerror or exc})") from None
    return 0


def _parse(args: Sequence[str], with_format: bool) -> tuple[list[str], OutputFormat] | None:
    """Arguments and ``--format`` as click reads them (options anywhere, ``--`` ends them, ``-fjson``,
    ``--format=json``, the last value wins), or None for anything else: typer reports it."""
    positional: list[str] = []
    fmt = OutputFormat.text
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            positional.extend(rest)
            break
        if arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        if not with_format:
            return None
        long_name, eq, long_value = arg.partition("=")
        if long_name == FORMAT_OPTION[0] and eq:
            value = long_value
        elif arg in FORMAT_OPTION:
            if not rest:
                return None
            value = rest.pop(0)
        elif arg.startswith(FORMAT_OPTION[1]) and not arg.startswith("--"):
            value = arg[len(FORMAT_OPTION[1]) :]
        else:
            return None
        if value not in {f.value for f in OutputFormat}:
            return None
        fmt = OutputFormat(value)
    return positional, fmt


def fast(argv: Sequence[str]) -> int | None:
    """Run ``argv`` (the arguments after the program name) when it is a plain ``diagnose``, ``redact`` or
    ``signatures`` call, and return its exit code; None when it is not, for the full CLI to handle."""
    if not argv or argv[0] not in ("diagnose", "redact", "signatures"):
        return None
    command = argv[0]
    parsed = _parse(argv[1:], with_format=command == "diagnose")
    if parsed is None:
        return None
    paths, fmt = parsed
    if command == "diagnose":
        return diagnose([Path(p) for p in paths], fmt) if paths else None
    if command == "redact":
        return redact(Path(paths[0]) if paths else None) if len(paths) <= 1 else None
    return signatures(Path(paths[0])) if len(paths) == 1 else None
