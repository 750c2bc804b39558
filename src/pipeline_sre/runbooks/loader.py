"""Runbooks as data: YAML files shipped in the package plus a user directory from config.

A runbook matches on diagnosis category, a log signature pattern (regex) or a metric condition, and says
why it happens, a plan with the smallest reversible step first, impact, risk, rollback, how to verify and
how to prevent it. Runbooks for causes a rerun cannot fix (code bugs, schema, permissions, credentials)
are `escalate: true` and may not contain rerun steps.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline_sre.errors import ConfigError, NotFound

RERUN_ACTIONS = frozenset({"clear_failed_tasks", "trigger_dag", "repair_run", "run_now"})
NON_WRITE_STEPS = frozenset({"observe", "manual", "wait", "escalate"})
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricCondition(_Model):
    """`metric op value`, or with `of: baseline`, `metric op value x (the metric when the incident opened)`:
    `{metric: spark_stage_task_duration_max, op: "<", value: 0.5, of: baseline}` is "down by more than half".
    Metric names are the quantities the Prometheus detectors and `prometheus.metrics` define."""

    metric: str
    op: Literal[">", ">=", "<", "<=", "=="]
    value: float
    of: Literal["value", "baseline"] = "value"
    for_minutes: int = Field(0, ge=0, description="How long the condition must hold (the caller checks)")

    def target(self, baseline: float | None = None) -> float | None:
        """The number the observed value is compared with (None: relative, and no baseline is known)."""
        if self.of == "value":
            return self.value
        return None if baseline is None else self.value * baseline

    def holds(self, metrics: Mapping[str, float], baselines: Mapping[str, float] | None = None) -> bool:
        observed = metrics.get(self.metric)
        target = self.target((baselines or {}).get(self.metric))
        return observed is not None and target is not None and _OPS[self.op](float(observed), target)

    def describe(self) -> str:
        held = f" for {self.for_minutes}m" if self.for_minutes else ""
        what = f"{self.value:g}" if self.of == "value" else f"{self.value:g} x baseline"
        return f"{self.metric} {self.op} {what}{held}"


class Match(_Model):
    categories: list[str] = []
    signatures: list[str] = Field([], description="Regular expressions searched in the (redacted) log excerpt")
    metrics: list[MetricCondition] = []

    @field_validator("signatures")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"invalid regex {pattern!r}: {err}") from None
        return v

    @model_validator(mode="after")
    def _something(self) -> Match:
        if not (self.categories or self.signatures or self.metrics):
            raise ValueError("a runbook must match on at least one category, signature or metric")
        return self


class Step(_Model):
    title: str
    action: str = Field(
        "manual", description="An action kind (e.g. clear_failed_tasks) or observe|manual|wait|escalate"
    )
    reversible: bool
    detail: str = ""

    @field_validator("action")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", v):
            raise ValueError("must be an action kind or one of observe, manual, wait, escalate")
        return v

    @property
    def writes(self) -> bool:
        return self.action not in NON_WRITE_STEPS


class Risk(_Model):
    level: Literal["low", "medium", "high"]
    notes: str = ""


class VerifyRule(_Model):
    check: Literal["dag_run_state", "task_states", "metric", "no_repeat_failure", "manual"]
    expect: str | None = None
    metric: MetricCondition | None = None
    within_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    description: str = ""


class ConfDelta(_Model):
    """A configuration change a runbook recommends (e.g. a Spark conf key), with why."""

    key: str
    value: str
    reason: str = ""


class Runbook(_Model):
    id: str
    title: str
    match: Match
    why: str
    escalate: bool = False
    plan: list[Step] = Field(min_length=1)
    impact: str
    risk: Risk
    rollback: str
    verify: list[VerifyRule] = Field(min_length=1)
    prevention: list[str] = Field(min_length=1)
    conf_deltas: list[ConfDelta] = []
    commands: list[str] = []
    source: str = Field("", exclude=True)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_.-]{1,63}", v):
            raise ValueError("must be lowercase letters, digits, '_', '-' or '.' (2-64 chars)")
        return v

    @model_validator(mode="after")
    def _safe_plan(self) -> Runbook:
        if not self.plan[0].reversible:
            raise ValueError("the first plan step must be the smallest reversible one (reversible: true)")
        if self.escalate:
            reruns = [s.title for s in self.plan if s.action in RERUN_ACTIONS]
            if reruns:
                raise ValueError(f"an escalation runbook may not rerun anything (steps: {'; '.join(reruns)})")
            if not any(s.action == "escalate" for s in self.plan):
                raise ValueError("an escalation runbook needs a step with action: escalate")
        return self

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "categories": self.match.categories,
            "escalate": self.escalate,
            "risk": self.risk.level,
            "first_step": self.plan[0].title,
            "source": self.source,
        }

    def to_dict(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        out["source"] = self.source
        return out


@dataclass(frozen=True, slots=True)
class RunbookMatch:
    runbook: Runbook
    score: int
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.runbook.id, "score": self.score, "reasons": list(self.reasons)}


def _parse(text: str, source: str) -> list[Runbook]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"invalid YAML in runbook file {source}{where}") from None
    items = data if isinstance(data, list) else [data]
    out: list[Runbook] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConfigError(f"runbook file {source}: entry {i} must be a mapping")
        try:
            out.append(Runbook.model_validate({**item, "source": source}))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in err.errors()
            )
            raise ConfigError(f"invalid runbook in {source} (entry {i}): {problems}") from None
    return out


class RunbookLibrary:
    def __init__(self, runbooks: list[Runbook]) -> None:
        self._by_id = {rb.id: rb for rb in runbooks}
        self._patterns = {rb.id: [re.compile(p) for p in rb.match.signatures] for rb in runbooks}

    @classmethod
    def load(cls, user_dir: Path | None = None, *, include_builtin: bool = True) -> RunbookLibrary:
        """Built-ins first; a user runbook with the same id replaces the built-in one."""
        found: dict[str, Runbook] = {}
        if include_builtin:
            builtin = resources.files("pipeline_sre.runbooks").joinpath("builtin")
            for entry in sorted(builtin.iterdir(), key=lambda e: e.name):
                if entry.name.endswith((".yaml", ".yml")):
                    cls._add(found, _parse(entry.read_text(encoding="utf-8"), f"builtin/{entry.name}"), False)
        if user_dir is not None:
            path = Path(user_dir).expanduser()
            if not path.is_dir():
                raise ConfigError(f"runbook directory {path} does not exist (governance.runbooks_dir)")
            user: dict[str, Runbook] = {}
            for file in sorted([*path.glob("*.yaml"), *path.glob("*.yml")]):
                try:
                    text = file.read_text(encoding="utf-8")
                except OSError as err:
                    raise ConfigError(f"cannot read runbook file {file}: {err.strerror}") from None
                cls._add(user, _parse(text, str(file)), False)
            found.update(user)
        return cls(list(found.values()))

    @staticmethod
    def _add(into: dict[str, Runbook], runbooks: list[Runbook], override: bool) -> None:
        for rb in runbooks:
            if rb.id in into and not override:
                raise ConfigError(f"runbook id {rb.id!r} is defined twice ({into[rb.id].source} and {rb.source})")
            into[rb.id] = rb

    def all(self) -> list[Runbook]:
        return sorted(self._by_id.values(), key=lambda r: r.id)

    def get(self, runbook_id: str) -> Runbook:
        try:
            return self._by_id[runbook_id]
        except KeyError:
            raise NotFound(f"unknown runbook {runbook_id!r}; known: {', '.join(sorted(self._by_id))}") from None

    def match(
        self,
        *,
        category: str | None = None,
        signature_text: str | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> list[RunbookMatch]:
        """Runbooks that apply, best first: a signature or metric hit (3) outranks a category hit (1)."""
        out: list[RunbookMatch] = []
        for rb in self._by_id.values():
            score = 0
            reasons: list[str] = []
            if category and category in rb.match.categories:
                score += 1
                reasons.append(f"category {category}")
            if signature_text:
                for pattern in self._patterns[rb.id]:
                    if pattern.search(signature_text):
                        score += 3
                        reasons.append(f"signature /{pattern.pattern}/")
                        break
            if metrics:
                for cond in rb.match.metrics:
                    if cond.holds(metrics):
                        score += 3
                        reasons.append(f"metric {cond.describe()}")
                        break
            if score:
                out.append(RunbookMatch(rb, score, tuple(reasons)))
        out.sort(key=lambda m: (-m.score, m.runbook.id))
        return out
