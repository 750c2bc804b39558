"""Signals as a source: Prometheus detectors and Kinesis iterator age, conditions that hold now.

Nothing is proposed (a configuration change is a human's, through rollout_config): a new incident is
announced with the runbook's suggestions, and verified every cycle until its condition clears or times out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.base import Detected, Failure, Opening, Source
from pipeline_sre.lifecycle.sources.signals import verify
from pipeline_sre.lifecycle.sources.signals.advice import signal_advice
from pipeline_sre.lifecycle.sources.signals.detectors import Signal, opening, signals_for
from pipeline_sre.lifecycle.verify_rules import Evidence
from pipeline_sre.settings.autopilot import AutopilotConfig
from pipeline_sre.settings.config import EnvironmentConfig, VerifyConfig
from pipeline_sre.store.incidents import Incident


@dataclass(frozen=True, slots=True)
class SignalFailure(Failure):
    signal: Signal


class SignalsSource:
    name = "signal"  # incidents are `signal:<detector>`
    watched = True  # a condition may clear by itself, or persist until the timeout escalates it

    def enabled(self, env: EnvironmentConfig, options: AutopilotConfig) -> bool:
        return options.signals and (env.prometheus is not None or env.kinesis is not None)

    async def detect(self, rt: Runtime, env: str, since: datetime) -> Detected[SignalFailure]:
        """Each signal firing now (a condition is detected every cycle it holds, and joins its incident)."""
        found, failed, _ = await signals_for(rt, env)
        problems = [f"detector {f['detector']}: {f['error']}: {f['message']}" for f in failed]
        signals = await asyncio.to_thread(_not_escalated, rt, env, found)
        return Detected([SignalFailure(env, s.subject, None, s) for s in signals], problems)

    async def diagnose(self, rt: Runtime, failure: SignalFailure) -> dict[str, Any]:
        return await asyncio.to_thread(signal_advice, rt, failure.signal)

    async def plan(self, rt: Runtime, failure: SignalFailure, diagnosis: dict[str, Any]) -> None:
        return None

    def evidence(self, rt: Runtime, failure: SignalFailure, diagnosis: dict[str, Any]) -> Opening:
        return opening(failure.signal, diagnosis)

    async def verify(self, rt: Runtime, incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
        return await verify.evidence(rt, incident, rules, now)


def _not_escalated(rt: Runtime, env: str, signals: list[Signal]) -> list[Signal]:
    """Leave out signals whose incident was escalated within the dedup window: the condition persisting is what
    the human already has, so it does not open (and page) again each timeout. Closing that incident ends this."""
    since = rt.incidents.clock() - rt.incidents.dedup_window
    escalated = rt.incidents.list(None, env, ("escalated",), limit=500)
    held = {(i.source, i.subject, i.signature) for i in escalated if i.opened_at >= since}
    return [s for s in signals if (s.source, s.subject, s.signature) not in held]


SIGNALS: Source[SignalFailure, dict[str, Any]] = SignalsSource()
