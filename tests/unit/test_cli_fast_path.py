"""The entry point's fast path: `--help`, `diagnose`, `redact` and `signatures` without typer, click, rich or
pydantic, with the typer app's output, exit codes and errors; whatever it does not recognise goes to typer.
Speed itself is measured in bench/bench_startup.py, not asserted here."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline_sre.surfaces.cli import entry, offline
from pipeline_sre.surfaces.cli.app import app
from tests.unit.diagnosis.diag_testutil import LOGS, model_reads

TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1, in f\nKeyError: "a"\n'
SECRET = "a\npassword=FakeHunter2\nghp_FakeFakeFakeFakeFakeFakeFakeFake1234\n"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    (tmp_path / "a.log").write_text(TRACEBACK)
    (tmp_path / "b.log").write_text("java.lang.OutOfMemoryError: Java heap space\n")
    (tmp_path / "s.log").write_text(SECRET)
    (tmp_path / "empty").mkdir()
    return tmp_path


def _typer(args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, args, input=stdin)
    return done.exit_code, done.stdout, done.stderr


def _fast(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = offline.fast(args)
    assert code is not None, f"the fast path left {args} to typer"
    out, err = capsys.readouterr()
    return code, out, err


CASES = [
    ["diagnose", "{d}/a.log"],
    ["diagnose", "{d}/a.log", "--format", "json"],
    ["diagnose", "--format=json", "{d}/a.log"],
    ["diagnose", "-fjson", "{d}/a.log"],
    ["diagnose", "-f", "text", "{d}/a.log", "-f", "json"],
    ["diagnose", "--", "{d}/a.log"],
    ["diagnose", str(LOGS / "dbt_test_failure.log")],
    ["diagnose", "{d}/a.log", "{d}/b.log"],
    ["diagnose", "{d}"],
    ["diagnose", "{d}/a.log", "{d}/missing.log"],
    ["diagnose", "{d}/missing.log"],
    ["diagnose", "{d}/empty"],
    ["redact", "{d}/s.log"],
    ["redact", "{d}/missing.log"],
    ["redact", "{d}"],
    ["signatures", str(LOGS / "airflow2_sensor_timeout.log")],
    ["signatures", "{d}"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c).replace("{d}", "") for c in CASES])
def test_fast_path_prints_what_typer_prints(args: list[str], logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.format(d=logs) for a in args]
    expected = _typer(argv)
    capsys.readouterr()
    assert _fast(argv, capsys) == expected


def test_redact_from_standard_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    expected = _typer(["redact"], stdin=SECRET)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SECRET.encode())))
    assert (
        _fast(["redact"], capsys) == expected == (0, "a\npassword=[REDACTED:password]\n[REDACTED:github_token]\n", "")
    )


def test_bad_input_is_one_line_naming_the_file(logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _fast(["diagnose", str(logs / "missing.log")], capsys) == (
        2,
        "",
        f"error: {logs}/missing.log: no such file\n",
    )
    code, _, err = _fast(["signatures", str(logs)], capsys)
    assert (code, err) == (2, f"error: {logs}: is a directory, not a log file\n")
    code, out, err = _fast(["diagnose", str(logs / "empty")], capsys)
    assert (code, out, err) == (2, "", f"error: {logs}/empty: no files to diagnose\n")


def test_diagnose_says_whether_a_rule_or_the_model_named_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a log that states no cause: the model's guess, shown as such beside its confidence
    model_reads(monkeypatch, "oom", 0.6)
    log = str(LOGS / "fallback_exit_code.log")
    code, out, _ = _fast(["diagnose", log, "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and list(data)[:3] == ["category", "confidence", "basis"]
    assert data["basis"] == "learned model (no rule was sure)" and data["confidence"] < 0.8
    code, out, _ = _fast(["diagnose", log], capsys)
    assert "basis:      learned model (no rule was sure)\n" in out
    code, out, _ = _fast(["diagnose", str(LOGS / "dbt_test_failure.log"), "--format", "json"], capsys)
    assert json.loads(out)["basis"].startswith("rule ")


def test_an_unreadable_directory_is_an_error_not_a_traceback(
    logs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(self: Path) -> list[Path]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "iterdir", refuse)
    code, out, err = _fast(["diagnose", str(logs)], capsys)
    assert (code, out) == (2, "")
    assert err == f"error: {logs}: cannot list the directory (Permission denied)\n"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["failures"],
        ["--config", "x.yaml", "diagnose", "a.log"],
        ["diagnose"],
        ["diagnose", "--help"],
        ["diagnose", "a.log", "--help"],
        ["diagnose", "-h", "a.log"],
        ["diagnose", "--format", "JSON", "a.log"],
        ["diagnose", "-f=json", "a.log"],
        ["diagnose", "--form", "json", "a.log"],
        ["diagnose", "a.log", "--format"],
        ["diagnose", "-1.log"],
        ["redact", "a.log", "b.log"],
        ["redact", "--format", "json", "a.log"],
        ["signatures"],
        ["signatures", "a.log", "b.log"],
    ],
)
def test_anything_else_is_left_to_typer(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert offline.fast(args) is None
    assert capsys.readouterr() == ("", "")


def test_the_typer_command_takes_its_option_names_from_the_fast_path() -> None:
    import typer.main

    command = typer.main.get_command(app).commands["diagnose"]  # type: ignore[attr-defined]
    fmt = next(p for p in command.params if p.name == "fmt")
    assert (tuple(fmt.opts), fmt.help) == (offline.FORMAT_OPTION, offline.FORMAT_HELP)


def test_stored_help_is_current() -> None:
    head, _, text = entry.HELP_FILE.read_text(encoding="utf-8").partition("\n")
    current = head == f"sources {entry.sources_digest()}" and text == entry.rendered_help()
    assert current, "src/pipeline_sre/surfaces/cli/help.txt is stale: run scripts/cli-help"


def test_stored_help_only_where_typer_would_print_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr(sys, "argv", ["/venv/bin/pipeline-sre", "--help"])
    assert entry.stored_help() is not None
    monkeypatch.setenv("COLUMNS", "60")  # click wraps to the terminal below 80 columns
    assert entry.stored_help() is None
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr(sys, "argv", ["/x/__main__.py", "--help"])  # python -m pipeline_sre: another usage line
    assert entry.stored_help() is None
    monkeypatch.setattr(sys, "argv", ["/venv/bin/pipeline-sre", "--help"])
    stale = tmp_path / "help.txt"
    stale.write_text("sources 0\nUsage: old\n")
    monkeypatch.setattr(entry, "HELP_FILE", stale)
    assert entry.stored_help() is None


def test_ctrl_c_ends_like_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(offline, "fast", interrupted)
    with pytest.raises(SystemExit) as done:
        entry._run_fast(["redact"])
    assert done.value.code == 130


def _run(args: list[str], probe_modules: bool = False) -> subprocess.CompletedProcess[str]:
    """`pipeline-sre ARGS` as installed (the entry point under the command's own name)."""
    probe = (
        "import atexit, json, sys\n"
        f"sys.argv = ['pipeline-sre', *{args!r}]\n"
        "roots = ('typer', 'click', 'rich', 'pydantic')\n"
        "loaded = lambda: sorted({m.split('.')[0] for m in sys.modules} & set(roots))\n"
        + ("atexit.register(lambda: sys.stderr.write(json.dumps(loaded())))\n" if probe_modules else "")
        + "from pipeline_sre.surfaces.cli.entry import main\n"
        "main()\n"
    )
    env = {**os.environ, "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize("args", [["--help"], ["diagnose", "{f}"], ["redact", "{f}"], ["signatures", "{f}"]])
def test_the_fast_path_loads_no_typer_click_rich_or_pydantic(args: list[str], logs: Path) -> None:
    done = _run([a.format(f=logs / "a.log") for a in args], probe_modules=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr) == []
    if args == ["--help"]:
        assert done.stdout == entry.rendered_help()


def test_usage_errors_still_come_from_typer(logs: Path) -> None:
    done = _run(["diagnose", "--format", "JSON", str(logs / "a.log")])
    assert done.returncode == 2
    assert "Usage: pipeline-sre diagnose" in done.stderr and "'JSON' is not one of 'json', 'text'" in done.stderr
    assert "Traceback" not in done.stderr


def test_errors_shows_each_tasks_basis_beside_its_confidence(monkeypatch: pytest.MonkeyPatch) -> None:
    # `pipeline-sre errors` (the typer app, reading Airflow): the table says how each category was reached, as the
    # task report does over MCP; the report itself is extract_errors' (stood in for: no Airflow here)
    report = {
        "tasks": [
            {"task_id": "load", "category": "timeout", "confidence": 0.62, "basis": "learned model (no rule was sure)",
             "exception": "TaskCancelled", "evidence": "task cancelled", "signature": "0a1b2c3d4e5f"},
        ]
    }  # fmt: skip
    monkeypatch.setattr("pipeline_sre.surfaces.cli.app.run_lifecycle", lambda *args: report)
    done = CliRunner().invoke(app, ["errors", "etl_daily", "manual__1"], env={"COLUMNS": "240"})
    assert done.exit_code == 0, done.stdout
    header = next(line for line in done.stdout.splitlines() if "category" in line)
    assert header.index("conf") < header.index("basis") < header.index("exception")
    assert "learned model (no rule was sure)" in done.stdout
