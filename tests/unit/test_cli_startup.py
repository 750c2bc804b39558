"""The CLI starts light: building the command tree imports no configuration, store, governance, connector
or diagnosis module (they load inside the commands that use them). Speed itself is measured in
bench/bench_startup.py, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
import typing

from pipeline_sre.sandbox import DEFAULT_PORT
from pipeline_sre.surfaces.cli import sandbox as cli_sandbox

HEAVY = (
    "sqlalchemy",
    "alembic",
    "httpx",
    "pipeline_sre.settings.config",
    "pipeline_sre.store",
    "pipeline_sre.app",
    "pipeline_sre.store.db",
    "pipeline_sre.governance.service",
    "pipeline_sre.lifecycle.runtime",
    "pipeline_sre.connectors.airflow",
    "pipeline_sre.diagnosis",
    "pipeline_sre.sandbox",
)


def test_building_the_cli_imports_no_heavy_module() -> None:
    probe = (
        "import json, sys, typer.main\n"
        "from pipeline_sre.surfaces.cli.app import app\n"
        "typer.main.get_command(app)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_sandbox_port_help_names_the_default() -> None:
    option = typing.get_args(cli_sandbox.PortOpt)[1]
    assert str(DEFAULT_PORT) in option.help
