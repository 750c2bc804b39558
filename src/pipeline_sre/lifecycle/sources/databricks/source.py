"""Databricks job runs as a source: failed runs, diagnosed from run output and cluster events, repaired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from pipeline_sre.connectors.databricks import job_resource
from pipeline_sre.lifecycle.plans import Plan
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.base import Detected, Failure, Opening, Source
from pipeline_sre.lifecycle.sources.databricks.jobs import (
    JobRunDiagnosis,
    diagnose_run,
    failed_runs_in,
    opening,
    plan_repair,
)
from pipeline_sre.lifecycle.sources.databricks.verify import run_evidence
from pipeline_sre.lifecycle.verify_rules import Evidence, after_action
from pipeline_sre.settings.autopilot import AutopilotConfig
from pipeline_sre.settings.config import EnvironmentConfig, VerifyConfig
from pipeline_sre.store.incidents import Incident


@dataclass(frozen=True, slots=True)
class JobRunFailure(Failure):
    """A failed job run; its subject is the job (`databricks:job/N`: a DAG id has no ':' or '/', so the
    claims of the two sources never collide)."""

    @property
    def where(self) -> str:
        return f"{self.subject} run {self.run_id}"


class DatabricksSource:
    name = "databricks"
    watched = False  # a repair proves the fix: verification waits for the action

    def enabled(self, env: EnvironmentConfig, options: AutopilotConfig) -> bool:
        return options.databricks and env.databricks is not None

    async def detect(self, rt: Runtime, env: str, since: datetime) -> Detected[JobRunFailure]:
        runs = await failed_runs_in(rt, env, since)
        failures = [JobRunFailure(env, job_resource(int(r.get("job_id") or 0)), str(r["run_id"])) for r in runs]
        return Detected(failures)

    async def diagnose(self, rt: Runtime, failure: JobRunFailure) -> JobRunDiagnosis:
        return await diagnose_run(rt, failure.run_id, failure.environment)

    async def plan(self, rt: Runtime, failure: JobRunFailure, diagnosis: JobRunDiagnosis) -> Plan | None:
        return await plan_repair(rt, diagnosis.result) if diagnosis.result["tasks"] else None

    def evidence(self, rt: Runtime, failure: JobRunFailure, diagnosis: JobRunDiagnosis) -> Opening | None:
        return opening(diagnosis) if diagnosis.result["tasks"] else None  # a run that did not fail: nothing to do

    async def verify(self, rt: Runtime, incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
        return await after_action(rt, incident, partial(run_evidence, rt, incident, rules=rules, now=now))


DATABRICKS: Source[JobRunFailure, JobRunDiagnosis] = DatabricksSource()
