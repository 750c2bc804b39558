"""The ``pipeline-sre`` entry point: the commands people run many times a day start at once.

Importing typer 0.29 (click, and pydantic for its parameter adapters) and rich costs 0.15-0.3 s before
any command runs. ``pipeline-sre --help`` and plain ``diagnose``, ``redact`` and ``signatures`` calls are
answered here without them: the help from ``help.txt``, the typer app's own ``--help`` stored with a
digest of the sources it was rendered from (``scripts/cli-help`` writes it; a unit test fails when it is
stale), the three commands through ``offline.fast``. Everything else, and anything those do not
recognise, goes to the typer app, which gives the same output, exit codes and errors.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from pipeline_sre.surfaces.cli import offline

PROG = "pipeline-sre"
HELP_FILE = Path(__file__).with_name("help.txt")
# click's help is as wide as the terminal up to 80 columns: the stored text is the one of 80 or more
HELP_COLUMNS = 80


def main() -> None:
    args = sys.argv[1:]
    if f"_{PROG.upper().replace('-', '_')}_COMPLETE" not in os.environ:  # shell completion is typer's
        if args == ["--help"]:
            text = stored_help()
            if text is not None:
                sys.stdout.write(text)
                return
        else:
            _run_fast(args)
    from pipeline_sre.surfaces.cli.app import main as full

    full()


def _run_fast(args: list[str]) -> None:
    """Exit with the fast path's code when it handled ``args``; return when the typer app must."""
    try:
        code = offline.fast(args)
    except KeyboardInterrupt:  # as typer ends a command stopped with Ctrl-C
        code = 130
    except OSError as err:
        if err.errno != errno.EPIPE:
            raise
        # as typer: a reader that went away (`| head`) ends the command with 1, silently, also at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    if code is not None:
        sys.exit(code)


def sources_digest() -> str:
    """SHA-256 over this package's modules: the commands, sub-apps and options the top-level help shows."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def stored_help() -> str | None:
    """The top-level help as typer prints it, when it can be printed from ``help.txt``: rendered from these
    very sources, for the program name typer would show, on a terminal at least as wide as it was rendered."""
    import shutil

    if Path(sys.argv[0]).name != PROG or shutil.get_terminal_size().columns < HELP_COLUMNS:
        return None
    try:
        head, _, text = HELP_FILE.read_text(encoding="utf-8").partition("\n")
    except OSError:
        return None
    return text if head == f"sources {sources_digest()}" else None


def rendered_help() -> str:
    """What the typer app prints for ``pipeline-sre --help`` on a terminal of ``HELP_COLUMNS`` or more: run as
    the installed command runs it (typer's test runner forces another width)."""
    import subprocess

    probe = f"import sys; sys.argv[0] = {PROG!r}; from pipeline_sre.surfaces.cli.app import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", probe, "--help"],
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "COLUMNS": str(HELP_COLUMNS)},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"`{PROG} --help` failed: {done.stderr}")
    return done.stdout


def write_help() -> None:
    """Store the top-level help with the digest of the sources it comes from (``scripts/cli-help``)."""
    HELP_FILE.write_text(f"sources {sources_digest()}\n{rendered_help()}", encoding="utf-8")
