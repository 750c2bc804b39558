"""Airflow runs as a source: failed DAG runs, diagnosed from their task logs, rerun by clear or trigger."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from pipeline_sre.errors import PipelineSreError
from pipeline_sre.lifecycle.plans import Plan
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow.detect import failed_runs
from pipeline_sre.lifecycle.sources.airflow.diagnose import extract_errors
from pipeline_sre.lifecycle.sources.airflow.plan_ranking import remembered_plan
from pipeline_sre.lifecycle.sources.airflow.remediate import opening, plan_for
from pipeline_sre.lifecycle.sources.airflow.triage import triage
from pipeline_sre.lifecycle.sources.airflow.verify import run_evidence
from pipeline_sre.lifecycle.sources.base import Detected, Failure, Opening, Source
from pipeline_sre.lifecycle.verify_rules import Evidence, after_action
from pipeline_sre.models import iso
from pipeline_sre.settings.autopilot import AutopilotConfig
from pipeline_sre.settings.config import EnvironmentConfig, VerifyConfig
from pipeline_sre.store.incidents import Incident

PAGE = 200


@dataclass(frozen=True, slots=True)
class RunDiagnosis:
    summary: dict[str, Any]  # triage: what failed and how urgent
    errors: dict[str, Any]  # the decisive error of each failed task


class AirflowSource:
    name = "airflow"
    watched = False  # a rerun proves the fix: verification waits for the action

    def enabled(self, env: EnvironmentConfig, options: AutopilotConfig) -> bool:
        return True  # every environment is an Airflow deployment

    async def detect(self, rt: Runtime, env: str, since: datetime) -> Detected[Failure]:
        found: Detected[Failure] = Detected()
        cursor: str | None = None
        while True:
            try:
                page = await failed_runs(rt, since=iso(since), cursor=cursor, environment=env, limit=PAGE)
            except PipelineSreError as err:
                found.problems.append(err.message)  # the runs of earlier pages are still handled
                return found
            found.failures += [Failure(env, run["dag_id"], run["run_id"]) for run in page["runs"]]
            cursor = page.get("cursor")
            if not cursor:
                return found

    async def diagnose(self, rt: Runtime, failure: Failure) -> RunDiagnosis:
        dag_id, run_id, env = failure.subject, str(failure.run_id), failure.environment
        summary = await triage(rt, dag_id, run_id, env)
        return RunDiagnosis(summary, await extract_errors(rt, dag_id, run_id, None, env))

    async def plan(self, rt: Runtime, failure: Failure, diagnosis: RunDiagnosis) -> Plan:
        plan = plan_for(rt, failure.environment, diagnosis.summary, diagnosis.errors)
        # Incident memory ranks the runbook's writes by how they fared on this failure before (store reads).
        return await asyncio.to_thread(
            remembered_plan, rt, failure.environment, diagnosis.summary, diagnosis.errors, plan
        )

    def evidence(self, rt: Runtime, failure: Failure, diagnosis: RunDiagnosis) -> Opening:
        return opening(failure.environment, diagnosis.summary, diagnosis.errors)

    async def verify(self, rt: Runtime, incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
        return await after_action(rt, incident, partial(run_evidence, rt, incident, rules=rules, now=now))


AIRFLOW: Source[Failure, RunDiagnosis] = AirflowSource()
