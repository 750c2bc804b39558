"""A backend outage between claiming a failed run and opening its incident does not lose the failure: the
claim is released and the next cycle handles the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_sre.app import respond
from pipeline_sre.errors import BackendUnavailable
from pipeline_sre.lifecycle.sources.airflow import detect
from tests.fakes.airflow_api import FakeAirflow
from tests.unit.test_detect import _credentials, runtime_for  # noqa: F401 - the fake's login, autouse


@pytest.mark.anyio
async def test_an_outage_mid_triage_releases_the_claim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    fake = FakeAirflow.generate(n_dags=5, n_runs=50, failed_last_hour=1, seed=3)
    rt = runtime_for({"prod": fake})
    try:
        page = (await detect.failed_runs(rt, environment="prod", limit=1))["runs"][0]
        dag_id, run_id = page["dag_id"], page["run_id"]
        fake.fail_next(2, 503, path="/taskInstances")  # every attempt the client makes: the backend is down
        with pytest.raises(BackendUnavailable):
            await respond.handle_failed_run(rt, "prod", dag_id, run_id)
        incident = await respond.handle_failed_run(rt, "prod", dag_id, run_id)  # the next cycle
        assert incident is not None and incident.subject == dag_id
        assert await respond.handle_failed_run(rt, "prod", dag_id, run_id) is None  # and only once
    finally:
        await rt.aclose()
