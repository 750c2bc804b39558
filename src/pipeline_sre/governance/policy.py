"""Policy in plain code: every decision names the rule that made it and what would allow the action.

Checked at propose, approve and execute time (see `docs/policy-engine.md` for why plain code and not
an embedded engine). Inputs are plain values, so decisions are pure and fast (well under 1 ms).
"""

from __future__ import annotations

import copy
import fnmatch
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.validators import validator_for

from pipeline_sre.errors import PipelineSreError
from pipeline_sre.governance import windows
from pipeline_sre.governance.identity import same_person
from pipeline_sre.settings.governance import ConfSchema, EnvironmentPolicy, GovernanceConfig, Mode


class PolicyRefusal(PipelineSreError):
    """A governed write was refused; `rule` names the rule, `allow_hint` says what would allow it."""

    code = "refused"

    def __init__(self, message: str, rule: str, allow_hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.rule = rule
        self.allow_hint = allow_hint
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "rule": self.rule, "message": self.message}
        if self.allow_hint:
            out["allow_hint"] = self.allow_hint
        if self.details:
            out["details"] = self.details
        return out

    def __str__(self) -> str:
        return self.message + (f" (to allow: {self.allow_hint})" if self.allow_hint else "")


@dataclass(frozen=True, slots=True)
class Check:
    rule: str
    ok: bool
    message: str
    allow_hint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "ok": self.ok, "message": self.message}
        if self.allow_hint:
            out["allow_hint"] = self.allow_hint
        if self.details:
            out["details"] = self.details
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of all checks for one stage; the first failing check decides."""

    stage: str
    checks: tuple[Check, ...]

    @property
    def allowed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def deciding(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    @property
    def rule(self) -> str:
        failing = self.deciding
        return failing.rule if failing else "allowed"

    @property
    def message(self) -> str:
        failing = self.deciding
        return failing.message if failing else f"{self.stage} allowed by policy"

    def refusal(self) -> PolicyRefusal:
        failing = self.deciding
        if failing is None:
            raise ValueError("decision allowed; nothing to refuse")
        return PolicyRefusal(failing.message, failing.rule, failing.allow_hint, **failing.details)

    def raise_if_refused(self) -> None:
        if not self.allowed:
            raise self.refusal()

    def to_dict(self) -> dict[str, Any]:
        failing = self.deciding
        return {
            "stage": self.stage,
            "allowed": failing is None,
            "rule": self.rule,
            "message": self.message,
            "allow_hint": failing.allow_hint if failing else None,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class ExecuteFacts:
    """What the execute-time decision needs, gathered by the service from the store."""

    environment: str
    kind: str
    resource: str
    conf: dict[str, Any] | None
    automated: bool
    incident_id: str | None
    valid_approvers: tuple[str, ...]
    expired_approvals: int
    live_actions_last_hour: int
    automated_reruns_for_incident: int
    is_rerun: bool
    now: datetime


def _pointer(path: Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


def _strictify(schema: Any) -> Any:
    """Object schemas that list properties but say nothing about others refuse unknown keys."""
    if isinstance(schema, dict):
        out = {k: _strictify(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema and "patternProperties" not in schema:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strictify(v) for v in schema]
    return schema


@dataclass(frozen=True, slots=True)
class _EnvCompiled:
    name: str
    policy: EnvironmentPolicy
    dag_patterns: tuple[re.Pattern[str], ...]
    schemas: tuple[tuple[re.Pattern[str], ConfSchema, Any], ...]
    approvers: frozenset[str]
    windows: tuple[windows.CompiledWindow, ...]


class PolicyEngine:
    def __init__(self, config: GovernanceConfig) -> None:
        self.config = config
        self._envs: dict[str, _EnvCompiled] = {}
        for name, pol in config.environments.items():
            schemas = []
            for entry in pol.conf_schemas:
                raw = _strictify(entry.json_schema) if entry.strict else copy.deepcopy(entry.json_schema)
                cls = validator_for(raw, default=Draft202012Validator)
                cls.check_schema(raw)
                schemas.append(
                    (
                        re.compile(fnmatch.translate(entry.match)),
                        entry,
                        cls(raw, format_checker=FormatChecker()),
                    )
                )
            self._envs[name] = _EnvCompiled(
                name=name,
                policy=pol,
                dag_patterns=tuple(re.compile(fnmatch.translate(g)) for g in pol.allow_dags),
                schemas=tuple(schemas),
                approvers=frozenset(pol.approvers if pol.approvers is not None else config.approvers),
                windows=tuple(windows.compile_window(w) for w in pol.change_windows),
            )

    @property
    def mode(self) -> Mode:
        return self.config.mode

    def env_policy(self, environment: str) -> EnvironmentPolicy | None:
        env = self._envs.get(environment)
        return env.policy if env else None

    def approvers_for(self, environment: str) -> frozenset[str]:
        env = self._envs.get(environment)
        return env.approvers if env else frozenset(self.config.approvers)

    def required_approvals(self, environment: str) -> int:
        env = self._envs.get(environment)
        return env.policy.required_approvals if env else 1

    def approval_ttl_minutes(self, environment: str) -> int:
        env = self._envs.get(environment)
        return env.policy.approval_ttl_minutes if env else 60

    # -- individual rules -------------------------------------------------------------------------

    def check_mode(self, stage: str) -> Check:
        mode = self.config.mode
        if mode == "read_only":
            return Check(
                "mode.read_only",
                False,
                f"governance.mode is read_only: no action may be {stage}",
                "set governance.mode to dry_run (show and audit the call) or live (send it)",
            )
        if mode == "dry_run":
            return Check("mode.dry_run", True, "governance.mode is dry_run: the exact call is audited, not sent")
        return Check("mode.live", True, "governance.mode is live")

    def check_target(self, environment: str, kind: str, resource: str, conf: dict[str, Any] | None) -> list[Check]:
        """Allowlist (environment, action kind, DAG glob) and the conf schema."""
        env = self._envs.get(environment)
        if env is None:
            return [
                Check(
                    "allowlist.environment",
                    False,
                    f"environment {environment!r} has no write policy, so nothing in it is writable",
                    f"add governance.environments.{environment} with allow_dags",
                )
            ]
        checks: list[Check] = []
        allowed_kinds = env.policy.allow_actions
        if allowed_kinds is not None and kind not in allowed_kinds:
            checks.append(
                Check(
                    "allowlist.actions",
                    False,
                    f"action {kind!r} is not allowed in {environment}; allowed: {', '.join(allowed_kinds) or '(none)'}",
                    f"add {kind} to governance.environments.{environment}.allow_actions",
                )
            )
        if any(p.match(resource) for p in env.dag_patterns):
            checks.append(Check("allowlist.dags", True, f"{resource} is allowlisted in {environment}"))
        else:
            listed = ", ".join(env.policy.allow_dags) or "(none)"
            checks.append(
                Check(
                    "allowlist.dags",
                    False,
                    f"DAG {resource!r} is not allowlisted for writes in {environment} (allow_dags: {listed})",
                    f"add a glob matching {resource!r} to governance.environments.{environment}.allow_dags",
                )
            )
        if conf is not None:
            checks.append(self._check_conf(env, resource, conf))
        return checks

    def _check_conf(self, env: _EnvCompiled, resource: str, conf: dict[str, Any]) -> Check:
        for pattern, entry, validator in env.schemas:
            if not pattern.match(resource):
                continue
            errors = sorted(validator.iter_errors(conf), key=lambda e: (list(e.absolute_path), e.validator))
            if not errors:
                return Check("conf.schema", True, f"conf matches the schema for {entry.match}")
            err: SchemaError = errors[0]
            pointer = _pointer(err.absolute_path)
            message = err.message
            if err.validator == "additionalProperties" and isinstance(err.instance, dict):
                known = set((err.schema or {}).get("properties", {})) if isinstance(err.schema, dict) else set()
                extra = sorted(k for k in err.instance if k not in known)
                if extra:
                    pointer = _pointer([*err.absolute_path, extra[0]])
                    allowed = ", ".join(sorted(known)) or "(none)"
                    message = f"unknown key {extra[0]!r} (allowed: {allowed})"
            return Check(
                "conf.schema",
                False,
                f"conf for {resource} refused at {pointer or '/'}: {message}",
                f"fix the conf field at {pointer or '/'} to match the schema "
                f"governance.environments.{env.name}.conf_schemas[match={entry.match}]",
                {"pointer": pointer or "/"},
            )
        if conf:
            return Check(
                "conf.schema",
                False,
                f"no conf schema is configured for {resource} in {env.name}, so only an empty conf is allowed",
                f"add a conf_schemas entry matching {resource!r} under governance.environments.{env.name}",
                {"pointer": _pointer([next(iter(conf))])},
            )
        return Check("conf.schema", True, "empty conf")

    def check_incident(self, automated: bool, incident_id: str | None, is_rerun: bool, reruns: int, env: str) -> Check:
        pol = self.env_policy(env)
        limit = pol.max_automated_reruns_per_incident if pol else 1
        if not automated or not is_rerun:
            return Check("rate_limit.automated_reruns_per_incident", True, "not an automated rerun")
        if not incident_id:
            return Check(
                "rate_limit.automated_reruns_per_incident",
                False,
                "an automated rerun must name the incident it belongs to",
                "pass incident_id, or have a human propose it (automated=false)",
            )
        if reruns >= limit:
            return Check(
                "rate_limit.automated_reruns_per_incident",
                False,
                f"incident {incident_id} already had {reruns} automated rerun(s); the limit is {limit}: escalate",
                "escalate to the on-call engineer, who may propose it as a human (automated=false), or raise "
                f"governance.environments.{env}.max_automated_reruns_per_incident",
            )
        return Check("rate_limit.automated_reruns_per_incident", True, f"{reruns} of {limit} automated reruns used")

    def check_rate(self, environment: str, resource: str, count: int) -> Check:
        pol = self.env_policy(environment)
        limit = pol.max_actions_per_dag_per_hour if pol else 0
        if count >= limit:
            return Check(
                "rate_limit.dag_per_hour",
                False,
                f"{resource} already had {count} action(s) executed in the last hour; the limit is {limit}",
                f"wait until an hour after the earliest of them, or raise "
                f"governance.environments.{environment}.max_actions_per_dag_per_hour",
            )
        return Check("rate_limit.dag_per_hour", True, f"{count} of {limit} actions in the last hour")

    def check_window(self, environment: str, now: datetime) -> Check:
        env = self._envs.get(environment)
        wins = env.windows if env else ()
        if windows.is_open(wins, now):
            return Check("window", True, "inside a change window" if wins else "no change window configured")
        nxt = windows.next_open(wins, now)
        listed = "; ".join(windows.describe(w) for w in wins)
        when = f"the next window opens {nxt.isoformat(timespec='minutes')}" if nxt else "no window opens soon"
        return Check(
            "window",
            False,
            f"outside the change windows of {environment} ({listed})",
            f"{when}; or change governance.environments.{environment}.change_windows",
            {"next_open": nxt.isoformat() if nxt else None},
        )

    def check_approvals(self, environment: str, valid: tuple[str, ...], expired: int) -> Check:
        need = self.required_approvals(environment)
        if len(valid) >= need:
            who = ", ".join(valid) or "none needed"
            return Check("approvals.required", True, f"{len(valid)} of {need} approvals ({who})")
        if expired and len(valid) + expired >= need:
            ttl = self.approval_ttl_minutes(environment)
            return Check(
                "approvals.expired",
                False,
                f"approvals expired (valid for {ttl} minutes); {len(valid)} of {need} still valid",
                "propose the action again and have it approved again",
            )
        return Check(
            "approvals.required",
            False,
            f"{environment} needs {need} distinct approval(s); {len(valid)} valid so far",
            "an approver other than the requester approves it in the console, in Slack, or with "
            "`pipeline-sre approvals approve ID` (signed in) "
            f"(configured approvers: {', '.join(sorted(self.approvers_for(environment))) or '(none)'})",
        )

    # -- stage decisions --------------------------------------------------------------------------

    def propose_decision(
        self,
        *,
        environment: str,
        kind: str,
        resource: str,
        conf: dict[str, Any] | None,
        automated: bool,
        incident_id: str | None,
        is_rerun: bool,
        automated_reruns_for_incident: int,
    ) -> Decision:
        checks = [self.check_mode("proposed")]
        checks += self.check_target(environment, kind, resource, conf)
        checks.append(self.check_incident(automated, incident_id, is_rerun, automated_reruns_for_incident, environment))
        return Decision("propose", tuple(checks))

    def approve_decision(
        self,
        *,
        environment: str,
        kind: str,
        resource: str,
        conf: dict[str, Any] | None,
        approver: str,
        requested_by: str,
        already_approved_by: tuple[str, ...],
    ) -> Decision:
        checks: list[Check] = []
        approvers = self.approvers_for(environment)
        if approver not in approvers:
            checks.append(
                Check(
                    "approvals.approver_not_configured",
                    False,
                    f"{approver!r} is not a configured approver for {environment}",
                    f"use one of: {', '.join(sorted(approvers)) or '(none configured)'}; "
                    "approvers are set in "
                    "governance.approvers or governance.environments.<env>.approvers",
                )
            )
        if same_person(approver, requested_by):
            checks.append(
                Check(
                    "approvals.self_approval",
                    False,
                    f"{approver!r} requested this action and cannot approve it",
                    "another configured approver must approve it",
                )
            )
        if approver in already_approved_by:
            checks.append(
                Check(
                    "approvals.distinct",
                    False,
                    f"{approver!r} already approved this action; approvals must come from distinct people",
                    "another configured approver must approve it",
                )
            )
        checks += self.check_target(environment, kind, resource, conf)
        if not checks or all(c.ok for c in checks):
            checks.insert(0, Check("approvals.approver", True, f"{approver} may approve in {environment}"))
        return Decision("approve", tuple(checks))

    def execute_decision(self, facts: ExecuteFacts) -> Decision:
        checks = [self.check_mode("executed")]
        checks += self.check_target(facts.environment, facts.kind, facts.resource, facts.conf)
        checks.append(self.check_approvals(facts.environment, facts.valid_approvers, facts.expired_approvals))
        checks.append(self.check_window(facts.environment, facts.now))
        checks.append(self.check_rate(facts.environment, facts.resource, facts.live_actions_last_hour))
        checks.append(
            self.check_incident(
                facts.automated,
                facts.incident_id,
                facts.is_rerun,
                facts.automated_reruns_for_incident,
                facts.environment,
            )
        )
        return Decision("execute", tuple(checks))
