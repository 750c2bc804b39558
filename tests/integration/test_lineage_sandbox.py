"""Lineage-aware severity on the real Airflow 3 sandbox: example_orders_staging (tier 3) fails before it
updates the asset example_exec_report (tier 1, business critical) is scheduled on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow import triage
from pipeline_sre.sandbox import SandboxInfo
from pipeline_sre.settings.config import load_settings
from tests.integration.mcp_helpers import json_of, stdio_client, write_config

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PRODUCER, REPORT = "example_orders_staging", "example_exec_report"
ASSET = "s3://sandbox-lake/staging/orders"


def run_of(sandbox: SandboxInfo, dag_id: str) -> str:
    return next(r for d, r in sandbox.runs if d == dag_id)


def check_raised(result: dict[str, Any]) -> None:
    downstream = result["downstream"]
    assert downstream["sources"] == ["airflow_assets"] and "unavailable" not in downstream, downstream
    assert downstream["most_critical"] == REPORT and downstream["owners"] == ["finance-bi"]
    assert downstream["consumers"] == [
        {
            "dag_id": REPORT,
            "via_asset": ASSET,
            "depth": 1,
            "tier": 1,
            "owners": ["finance-bi"],
            "business_critical": True,
        }
    ]
    # Tier 3 alone is SEV4 (severity.default); its tier-1, business-critical consumer makes it SEV2.
    assert result["tier"] == 3 and result["severity"] == "SEV2"
    assert result["severity_rule"].startswith(
        f"downstream tier-1 consumer {REPORT} via asset {ASSET}: raised SEV4→SEV2"
    )


async def test_triage_names_the_tier1_consumer_and_raises_severity(sandbox: SandboxInfo, tmp_path: Path) -> None:
    path, env = write_config(tmp_path, sandbox)
    rt = Runtime(load_settings(path))
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key in ("PSRE_TEST_AIRFLOW_USER", "PSRE_TEST_AIRFLOW_PASSWORD"):
                mp.setenv(key, env[key])
            client = rt.airflow("sandbox")
            before = client.request_count
            result = await triage.triage(rt, PRODUCER, run_of(sandbox, PRODUCER))
            check_raised(result)
            # One hop found the report, a second found nothing after it, one read its tags and owners.
            assert client.request_count - before <= 12
            healthy = await triage.triage(rt, "example_healthy", run_of(sandbox, "example_healthy"))
            assert healthy["state"] == "success" and healthy["downstream"] is None  # a success blocks nothing
    finally:
        await rt.aclose()


async def test_cli_and_mcp_triage_carry_the_downstream_consumers(sandbox: SandboxInfo, tmp_path: Path) -> None:
    _, env = write_config(tmp_path, sandbox)
    run_id = run_of(sandbox, PRODUCER)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_sre", "triage", PRODUCER, run_id, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    check_raised(json.loads(done.stdout))
    shown = subprocess.run(
        [sys.executable, "-m", "pipeline_sre", "triage", PRODUCER, run_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0 and REPORT in shown.stdout and "finance-bi" in shown.stdout, shown.stdout
    async with stdio_client(env) as client:
        check_raised(json_of(await client.call_tool("triage", {"dag_id": PRODUCER, "run_id": run_id})))
