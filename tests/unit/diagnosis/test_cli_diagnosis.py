from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline_sre.surfaces.cli.diagnosis import app
from tests.unit.diagnosis.diag_testutil import LOGS

runner = CliRunner()


def test_diagnose_json() -> None:
    res = runner.invoke(app, ["diagnose", str(LOGS / "boto3_nocredentials.log"), "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert list(data) == [
        "category",
        "confidence",
        "basis",
        "signature",
        "exception",
        "message",
        "evidence",
        "excerpt",
    ]
    assert data["category"] == "credentials" and data["basis"].startswith("rule credentials.")


def test_diagnose_text() -> None:
    res = runner.invoke(app, ["diagnose", str(LOGS / "dbt_test_failure.log")])
    assert res.exit_code == 0
    assert "data_quality" in res.stdout


def test_bad_input_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["diagnose", str(tmp_path / "missing.log")])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 1
    res = runner.invoke(app, ["diagnose", str(tmp_path)])  # a directory with no files in it
    assert res.exit_code == 2 and "no files to diagnose" in res.stderr
    res = runner.invoke(app, ["signatures", str(tmp_path)])
    assert res.exit_code == 2


def test_diagnose_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "bin.log"
    p.write_bytes(b"\x00\xff\xfe\nERROR boom \xe9 KeyError: 'x'\n")
    res = runner.invoke(app, ["diagnose", str(p), "--format", "json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["category"] in ("code_bug", "unknown")


def test_redact_stdin_and_file(tmp_path: Path) -> None:
    res = runner.invoke(app, ["redact"], input="ok line\npassword=FakeHunter2\n")
    assert res.exit_code == 0
    assert res.stdout == "ok line\npassword=[REDACTED:password]\n"
    p = tmp_path / "x.log"
    p.write_text("a\nghp_FakeFakeFakeFakeFakeFakeFakeFake1234\n", encoding="utf-8")
    res = runner.invoke(app, ["redact", str(p)])
    assert res.stdout == "a\n[REDACTED:github_token]\n"


def test_signatures() -> None:
    res = runner.invoke(app, ["signatures", str(LOGS / "airflow2_sensor_timeout.log")])
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert len(lines) == len((LOGS / "airflow2_sensor_timeout.log").read_text().splitlines())
    first = [ln.split("\t", 1) for ln in lines[:3]]
    assert all(len(x) == 2 and x[0].isdigit() for x in first)
    assert first[0][0] == first[1][0]  # the repeated "Poking for key" lines share a template


def test_diagnose_several_files_prints_json_lines(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline_sre.surfaces.cli.diagnosis import app as diagnosis_app

    (tmp_path / "a.log").write_text('Traceback (most recent call last):\n  File "x.py", line 1\nKeyError: "a"\n')
    (tmp_path / "b.log").write_text("java.lang.OutOfMemoryError: Java heap space\n")
    res = CliRunner().invoke(diagnosis_app, ["diagnose", str(tmp_path)])
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.exit_code == 0 and [Path(r["file"]).name for r in rows] == ["a.log", "b.log"]
    assert [r["category"] for r in rows] == ["code_bug", "oom"]
    res = CliRunner().invoke(diagnosis_app, ["diagnose", str(tmp_path / "a.log"), str(tmp_path / "nope.log")])
    assert res.exit_code == 2 and json.loads(res.stdout.splitlines()[-1])["error"] == "unreadable"
