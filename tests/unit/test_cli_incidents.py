"""`pipeline-sre incidents show|verify` print readable tables by default and JSON with --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import load_settings
from pipeline_sre.surfaces.cli.app import app as cli

runner = CliRunner()


@pytest.fixture
def incident(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_SRE_DATA_DIR", raising=False)
    path = tmp_path / "pipeline-sre.yaml"
    airflow = {"url": "http://127.0.0.1:9", "max_retries": 0}  # nothing listens: the postmortem says so at once
    config = {"environments": {"dev": {"airflow": airflow}}, "data_dir": str(tmp_path)}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    rt = Runtime(load_settings(path))
    opened, _ = rt.incidents.open_or_join(
        environment="dev",
        source="airflow",
        subject="etl_orders",
        signature="sig1",
        category="code_bug",
        severity="SEV3",
        title="etl_orders: code_bug in transform ([red]KeyError[/])",
        run_id="manual__1",
        task_id="transform",
        facts={"owner": "data", "evidence": "KeyError: 'amount'"},
    )
    rt.incidents.advance(opened.id, "triaged")
    return path, opened.id


def test_show_is_a_readable_table_and_json_on_request(incident: tuple[Path, str]) -> None:
    path, incident_id = incident
    shown = runner.invoke(cli, ["incidents", "show", incident_id, "--config", str(path)])
    assert shown.exit_code == 0, shown.output
    for expected in ("code_bug", "step triaged", "time_to_triage_s", "fact evidence", "[red]KeyError[/]"):
        assert expected in shown.output
    data = json.loads(runner.invoke(cli, ["incidents", "show", incident_id, "--config", str(path), "--json"]).output)
    assert data["id"] == incident_id and data["state"] == "triaged"


def test_verify_prints_each_rule_with_its_result(incident: tuple[Path, str]) -> None:
    path, incident_id = incident
    shown = runner.invoke(cli, ["incidents", "verify", incident_id, "--config", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "Recovery: pending" in shown.output and "action_executed" in shown.output


def test_verify_wait_is_bounded_with_a_clear_error(incident: tuple[Path, str]) -> None:
    path, incident_id = incident
    refused = runner.invoke(cli, ["incidents", "verify", incident_id, "--wait", "900", "--config", str(path)])
    assert refused.exit_code == 2 and "wait_seconds must be between 0 and 600; got 900" in refused.output
    # Nothing was executed: still pending when the one-second wait is over.
    shown = runner.invoke(cli, ["incidents", "verify", incident_id, "--wait", "1", "--config", str(path)])
    assert shown.exit_code == 0 and "Recovery: pending" in shown.output


def test_postmortem_prints_the_document_and_json_on_request(incident: tuple[Path, str]) -> None:
    path, incident_id = incident
    shown = runner.invoke(cli, ["incidents", "postmortem", incident_id, "--config", str(path)])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("# Postmortem: ") and "## Timeline (UTC)" in shown.output
    assert f"{incident_id}.md (JSON twin " in shown.output and '"markdown"' not in shown.output
    data = json.loads(
        runner.invoke(cli, ["incidents", "postmortem", incident_id, "--json", "--config", str(path)]).output
    )
    assert data["resource"] == f"postmortem://{incident_id}" and data["markdown"].startswith("# Postmortem: ")
