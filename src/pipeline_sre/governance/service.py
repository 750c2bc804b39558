"""The one governed path for every write: propose -> request approval -> approve -> execute (exactly once).

States: proposed -> awaiting_approval -> approved -> executing -> succeeded | failed; and denied, expired,
refused. Every transition is compare-and-set and commits together with its audit record; every refusal
is audited (in its own transaction, so it survives the refused change being rolled back).
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import secrets
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from pipeline_sre.errors import InvalidInput, NotFound, PipelineSreError, UnknownEnvironment
from pipeline_sre.governance import approvals as approvals_mod
from pipeline_sre.governance.actions import (
    Action,
    ActionExecutor,
    ActionKind,
    canonical_json,
    is_action_id,
    new_action_id,
)
from pipeline_sre.governance.audit import (
    AuditEvent,
    AuditLog,
    AuditValue,
    Redactor,
    identity,
    utcnow,
)
from pipeline_sre.governance.execute import ExecutorRegistry
from pipeline_sre.governance.identity import ActorKind
from pipeline_sre.governance.kinds import get_kind
from pipeline_sre.governance.policy import Decision, ExecuteFacts, PolicyEngine, PolicyRefusal
from pipeline_sre.settings.governance import GovernanceConfig
from pipeline_sre.store import github_reviews
from pipeline_sre.store import repository as repo
from pipeline_sre.store.db import Database, open_database
from pipeline_sre.store.models import ActionRow, ApprovalRow

PENDING = ("proposed", "awaiting_approval", "approved")
# cancelled: withdrawn before it ran (superseded by a new proposal, or its incident escalated or closed)
TERMINAL = ("succeeded", "failed", "denied", "expired", "refused", "cancelled")
ALL_STATES = ("proposed", "awaiting_approval", "approved", "executing", *TERMINAL)


class UnknownAction(NotFound):
    def __init__(self, action_id: str) -> None:
        super().__init__(f"unknown action id {action_id!r}; list pending ones with `pipeline-sre approvals list`")


class ActionFailed(PipelineSreError):
    """The backend call was made and failed; the action is `failed` (propose a new one to retry)."""

    code = "action_failed"


@dataclass(frozen=True, slots=True)
class ActionRecord:
    action: Action
    state: str
    digest: str
    call: dict[str, Any]
    plan: dict[str, Any]
    required_approvals: int
    approvals: tuple[approvals_mod.ApprovalView, ...] = ()
    decision: Decision | None = None
    mode: str = "dry_run"
    approval_reason: str | None = None
    approval_requested_at: datetime | None = None
    approved_at: datetime | None = None
    executed_at: datetime | None = None
    executed_by: str | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    review: dict[str, Any] | None = None  # the pull request reviewers approve (approve_by_review repositories)

    @property
    def id(self) -> str:
        return self.action.id

    def to_dict(self) -> dict[str, Any]:
        def t(v: datetime | None) -> str | None:
            return v.isoformat(timespec="seconds") if v else None

        a = self.action
        return {
            "id": a.id,
            "kind": a.kind,
            "environment": a.environment,
            "state": self.state,
            "params": a.params,
            "run_id": a.run_id,
            "requested_by": a.requested_by,
            "incident_id": a.incident_id,
            "automated": a.automated,
            "runbook_id": a.runbook_id,
            "digest": self.digest,
            "call": self.call,
            "plan": self.plan,
            "mode": self.mode,
            "required_approvals": self.required_approvals,
            "approvals": [v.to_dict() for v in self.approvals],
            "decision": self.decision.to_dict() if self.decision else None,
            "approval_reason": self.approval_reason,
            "created_at": t(a.created_at),
            "approval_requested_at": t(self.approval_requested_at),
            "approved_at": t(self.approved_at),
            "executed_at": t(self.executed_at),
            "executed_by": self.executed_by,
            "finished_at": t(self.finished_at),
            "result": self.result,
            "error": self.error,
            "review": self.review,
        }


@dataclass(frozen=True, slots=True)
class ExecutionOutcome:
    record: ActionRecord
    sent: bool
    mode: str
    call: dict[str, Any]
    result: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action_id": self.record.id,
            "state": self.record.state,
            "sent": self.sent,
            "mode": self.mode,
            "call": self.call,
            "result": self.result,
        }


class _Refused(Exception):
    """Internal: a refusal plus the terminal state the action moves to (if any)."""

    def __init__(self, refusal: PolicyRefusal, to_state: str | None = None, from_states: tuple[str, ...] = ()) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
        self.to_state = to_state
        self.from_states = from_states


def _action_of(row: ActionRow) -> Action:
    return Action(
        id=row.id,
        kind=row.kind,
        environment=row.environment,
        params=json.loads(row.params_json),
        requested_by=row.requested_by,
        incident_id=row.incident_id,
        automated=row.automated,
        runbook_id=row.runbook_id,
        created_at=row.created_at,
    )


def _review_of(s: Session, row: ActionRow) -> dict[str, Any] | None:
    if row.kind != "rollout_config":  # only config changes are opened as pull requests for review
        return None
    pull = github_reviews.pull_of(s, row.id)
    return pull.to_dict() if pull is not None else None


def _instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class GovernanceService:
    def __init__(
        self,
        *,
        config: GovernanceConfig,
        environments: Iterable[str],
        db: Database,
        executors: ExecutorRegistry | list[ActionExecutor] | None = None,
        redact: Redactor = identity,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.environments = list(environments)
        self.db = db
        self.executors = executors if isinstance(executors, ExecutorRegistry) else ExecutorRegistry(executors)
        self.redact = redact
        self.clock = clock
        self.policy = PolicyEngine(config)
        self.audit = AuditLog(db, redact=redact, clock=clock)
        self.instance_id = _instance_id()

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        *,
        executors: ExecutorRegistry | list[ActionExecutor] | None = None,
        redact: Redactor = identity,
        clock: Callable[[], datetime] = utcnow,
        migrate: bool = True,
    ) -> GovernanceService:
        """Open the store named by `settings` (running migrations) and build the service."""
        db = open_database(settings, migrate=migrate)
        return cls(
            config=settings.governance,
            environments=settings.environments,
            db=db,
            executors=executors,
            redact=redact,
            clock=clock,
        )

    # -- helpers ------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def _audit(
        self,
        session: Session | None,
        event: str,
        actor: str,
        actor_kind: ActorKind,
        *,
        result: str = "ok",
        action_id: str | None = None,
        digest: str | None = None,
        detail: dict[str, AuditValue] | None = None,
    ) -> None:
        ev = AuditEvent(event, actor, actor_kind, result, action_id, digest, detail or {})
        self.audit.append(ev, session=session)

    def _refuse(
        self,
        stage: str,
        err: PolicyRefusal,
        actor: str,
        actor_kind: ActorKind,
        action_id: str | None,
        digest: str | None,
        to_state: str | None = None,
        from_states: tuple[str, ...] = (),
    ) -> PolicyRefusal:
        extra: dict[str, AuditValue] = {}
        if action_id is not None and not is_action_id(action_id):
            extra["requested_action_id"] = action_id[:100]
            action_id = None
        with self.db.session(write=True) as s:
            moved = False
            if to_state and action_id:
                moved = repo.transition(s, action_id, from_states, to_state, updated_at=self._now(), error=err.message)
            detail: dict[str, AuditValue] = {
                "stage": stage,
                "rule": err.rule,
                "message": err.message,
                "allow_hint": err.allow_hint,
            }
            if err.details:
                detail["details"] = dict(err.details)
            detail.update(extra)
            if moved:
                detail["state"] = to_state
            self._audit(
                s,
                "action.refused",
                actor,
                actor_kind,
                result=err.rule,
                action_id=action_id,
                digest=digest,
                detail=detail,
            )
        return err

    def _kind(self, kind: str) -> ActionKind:
        return get_kind(kind)

    def _call_for(self, spec: ActionKind, action: Action) -> dict[str, Any]:
        """The exact call, as the client of this kind's executor builds it for its backend."""
        executor = self.executors.get(spec.kind)
        if executor is None:
            raise InvalidInput(f"no executor is registered for {spec.kind}: this server has no connector for it")
        return executor.describe_call(action)

    def _record(self, s: Session, row: ActionRow, *, with_decision: bool = False) -> ActionRecord:
        action = _action_of(row)
        env = row.environment
        status = self._approval_status(s, row)
        decision = None
        if with_decision:
            try:
                decision = self._execute_decision(s, row, action, status)
            except PipelineSreError:
                decision = None  # e.g. stored params no longer parse (tampered); execute refuses it
        return ActionRecord(
            action=action,
            state=row.state,
            digest=row.digest,
            call=json.loads(row.call_json),
            plan=json.loads(row.plan_json or "{}"),
            required_approvals=self.policy.required_approvals(env),
            approvals=status.views,
            decision=decision,
            mode=self.policy.mode,
            approval_reason=row.approval_reason,
            approval_requested_at=row.approval_requested_at,
            approved_at=row.approved_at,
            executed_at=row.executed_at,
            executed_by=row.executed_by,
            finished_at=row.finished_at,
            result=json.loads(row.result_json) if row.result_json else None,
            error=row.error,
            review=_review_of(s, row),
        )

    def _approval_mac(self, action_id: str, digest: str, approver: str, decision: str) -> str | None:
        key = self.config.audit_anchor.key()
        return approvals_mod.approval_mac(key, action_id, digest, approver, decision) if key else None

    def _approval_status(self, s: Session, row: ActionRow) -> approvals_mod.ApprovalStatus:
        return approvals_mod.evaluate(
            repo.approvals_for(s, row.id),
            key=self.config.audit_anchor.key(),
            digest=row.digest,
            requested_by=row.requested_by,
            approvers=self.policy.approvers_for(row.environment),
            ttl=timedelta(minutes=self.policy.approval_ttl_minutes(row.environment)),
            now=self._now(),
        )

    def _execute_decision(
        self, s: Session, row: ActionRow, action: Action, status: approvals_mod.ApprovalStatus
    ) -> Decision:
        spec = self._kind(row.kind)
        parsed = spec.parse(action.params)
        now = self._now()
        reruns = (
            repo.count_automated_reruns(s, row.incident_id, repo.EXECUTED_STATES, exclude_id=row.id)
            if row.incident_id
            else 0
        )
        facts = ExecuteFacts(
            environment=row.environment,
            kind=row.kind,
            resource=spec.resource(parsed),
            conf=spec.conf(parsed),
            automated=row.automated,
            incident_id=row.incident_id,
            valid_approvers=status.valid_approvers,
            expired_approvals=status.expired,
            live_actions_last_hour=repo.count_executions(
                s, row.environment, spec.resource(parsed), now - timedelta(hours=1)
            ),
            automated_reruns_for_incident=reruns,
            is_rerun=spec.is_rerun,
            now=now,
        )
        return self.policy.execute_decision(facts)

    def _check_integrity(self, row: ActionRow, status: approvals_mod.ApprovalStatus | None = None) -> None:
        """The stored action must still hash to its digest, and approvals must be for this digest."""
        action = _action_of(row)
        try:
            spec = self._kind(row.kind)
            spec.parse(action.params)
            ok = action.digest(json.loads(row.call_json)) == row.digest
        except (InvalidInput, ValueError):
            ok = False
        if ok and status is not None and status.tampered:
            ok = False
        if not ok:
            raise _Refused(
                PolicyRefusal(
                    f"action {row.id} was changed after it was proposed (digest mismatch); it cannot be used",
                    "action.tampered",
                    "propose the action again and have the new proposal approved",
                ),
                "refused",
                (*PENDING,),
            )

    def _load(self, s: Session, action_id: str, *, lock: bool = False) -> ActionRow:
        row = repo.get_action(s, action_id, lock=lock)
        if row is None:
            raise _Refused(
                PolicyRefusal(
                    f"unknown action id {action_id!r}",
                    "action.unknown",
                    "use an id from `pipeline-sre approvals list` or from the propose result",
                )
            )
        return row

    # -- propose ------------------------------------------------------------------------------------

    def propose(
        self,
        kind: str,
        environment: str,
        params: dict[str, Any],
        requested_by: str,
        incident_id: str | None = None,
        automated: bool = False,
        runbook_id: str | None = None,
        plan: dict[str, Any] | None = None,
        *,
        actor_kind: ActorKind = "mcp",
    ) -> ActionRecord:
        """Store a proposal (state `proposed`) with its exact call and the decision it would get now."""
        try:
            if environment not in self.environments:
                raise UnknownEnvironment(environment, self.environments)
            spec = self._kind(kind)
            parsed = spec.parse(params)
            now = self._now()
            action = Action(
                id=new_action_id(),
                kind=kind,
                environment=environment,
                params=parsed.model_dump(mode="json"),
                requested_by=requested_by,
                incident_id=incident_id,
                automated=automated,
                runbook_id=runbook_id,
                created_at=now,
            )
            call = self._call_for(spec, action)  # the client may refuse what it cannot send (an id on a CLI line)
        except (UnknownEnvironment, InvalidInput) as err:
            rule = "environment.unknown" if isinstance(err, UnknownEnvironment) else "params.invalid"
            refusal = PolicyRefusal(err.message, rule, "fix the request as the message says")
            raise self._refuse("propose", refusal, requested_by, actor_kind, None, None) from None
        digest = action.digest(call)
        resource = spec.resource(parsed)
        try:
            with self.db.session(write=True) as s:
                reruns = (
                    repo.count_automated_reruns(s, incident_id, (*PENDING, *repo.EXECUTED_STATES)) if incident_id else 0
                )
                decision = self.policy.propose_decision(
                    environment=environment,
                    kind=kind,
                    resource=resource,
                    conf=spec.conf(parsed),
                    automated=automated,
                    incident_id=incident_id,
                    is_rerun=spec.is_rerun,
                    automated_reruns_for_incident=reruns,
                )
                if not decision.allowed:
                    raise _Refused(decision.refusal())
                row = ActionRow(
                    id=action.id,
                    kind=kind,
                    environment=environment,
                    resource=resource,
                    params_json=canonical_json(action.params),
                    call_json=canonical_json(call),
                    digest=digest,
                    state="proposed",
                    requested_by=requested_by,
                    incident_id=incident_id,
                    automated=automated,
                    is_rerun=spec.is_rerun,
                    runbook_id=runbook_id,
                    plan_json=canonical_json(plan or {}),
                    created_at=now,
                    updated_at=now,
                )
                repo.insert_action(s, row)
                self._audit(
                    s,
                    "action.proposed",
                    requested_by,
                    actor_kind,
                    action_id=action.id,
                    digest=digest,
                    detail={
                        "kind": kind,
                        "environment": environment,
                        "resource": resource,
                        "params": action.params,
                        "call": call,
                        "incident_id": incident_id,
                        "automated": automated,
                        "runbook_id": runbook_id,
                    },
                )
                return self._record(s, row, with_decision=True)
        except _Refused as r:
            raise self._refuse("propose", r.refusal, requested_by, actor_kind, None, None) from None

    # -- approvals ----------------------------------------------------------------------------------

    def request_approval(
        self, action_id: str, reason: str, requested_by: str, *, actor_kind: ActorKind = "mcp"
    ) -> ActionRecord:
        digest: str | None = None
        try:
            with self.db.session(write=True) as s:
                row = self._load(s, action_id, lock=True)
                digest = row.digest
                if row.state == "awaiting_approval":
                    return self._record(s, row, with_decision=True)
                if row.state != "proposed":
                    raise _Refused(self._state_refusal(row, "request approval for"))
                self._check_integrity(row)
                now = self._now()
                required = self.policy.required_approvals(row.environment)
                new_state = "approved" if required == 0 else "awaiting_approval"
                values: dict[str, Any] = {
                    "updated_at": now,
                    "approval_requested_at": now,
                    "approval_reason": reason[:2000],
                }
                if new_state == "approved":
                    values["approved_at"] = now
                if not repo.transition(s, action_id, "proposed", new_state, **values):
                    raise _Refused(self._state_refusal(row, "request approval for"))
                self._audit(
                    s,
                    "approval.requested",
                    requested_by,
                    actor_kind,
                    action_id=action_id,
                    digest=row.digest,
                    detail={"reason": reason, "required_approvals": required, "state": new_state},
                )
                s.expire_all()
                return self._record(s, self._load(s, action_id), with_decision=True)
        except _Refused as r:
            raise self._refuse(
                "request_approval",
                r.refusal,
                requested_by,
                actor_kind,
                action_id,
                digest,
                r.to_state,
                r.from_states,
            ) from None

    def approve(
        self, action_id: str, approver: str, comment: str | None = None, *, actor_kind: ActorKind = "cli"
    ) -> ActionRecord:
        digest: str | None = None
        try:
            with self.db.session(write=True) as s:
                row = self._load(s, action_id, lock=True)
                digest = row.digest
                if row.state not in ("proposed", "awaiting_approval"):
                    raise _Refused(self._state_refusal(row, "approve"))
                now = self._now()
                ttl = timedelta(minutes=self.policy.approval_ttl_minutes(row.environment))
                since = row.approval_requested_at or row.created_at
                if now - since > ttl:
                    raise _Refused(
                        PolicyRefusal(
                            f"the approval request for {action_id} expired (requests are valid for "
                            f"{int(ttl.total_seconds() // 60)} minutes)",
                            "approvals.request_expired",
                            "propose the action again",
                        ),
                        "expired",
                        ("proposed", "awaiting_approval"),
                    )
                status = self._approval_status(s, row)
                self._check_integrity(row, status)
                spec = self._kind(row.kind)
                parsed = spec.parse(json.loads(row.params_json))
                existing = tuple(v.approver for v in status.views if v.decision == "approve")
                decision = self.policy.approve_decision(
                    environment=row.environment,
                    kind=row.kind,
                    resource=spec.resource(parsed),
                    conf=spec.conf(parsed),
                    approver=approver,
                    requested_by=row.requested_by,
                    already_approved_by=existing,
                )
                if not decision.allowed:
                    raise _Refused(decision.refusal())
                added = repo.add_approval(
                    s,
                    ApprovalRow(
                        action_id=action_id,
                        approver=approver,
                        decision="approve",
                        digest=row.digest,
                        comment=comment,
                        created_at=now,
                        mac=self._approval_mac(action_id, row.digest, approver, "approve"),
                    ),
                )
                if not added:
                    raise _Refused(
                        PolicyRefusal(
                            f"{approver!r} already decided on {action_id}",
                            "approvals.distinct",
                            "another configured approver must approve it",
                        )
                    )
                status = self._approval_status(s, row)
                required = self.policy.required_approvals(row.environment)
                done = len(status.valid_approvers) >= required
                if done:
                    moved = repo.transition(
                        s,
                        action_id,
                        ("proposed", "awaiting_approval"),
                        "approved",
                        updated_at=now,
                        approved_at=now,
                    )
                else:
                    moved = repo.transition(
                        s,
                        action_id,
                        ("proposed", "awaiting_approval"),
                        "awaiting_approval",
                        updated_at=now,
                        approval_requested_at=row.approval_requested_at or now,
                    )
                if not moved:
                    raise _Refused(self._state_refusal(row, "approve"))
                self._audit(
                    s,
                    "approval.granted",
                    approver,
                    actor_kind,
                    action_id=action_id,
                    digest=row.digest,
                    detail={
                        "comment": comment,
                        "valid_approvals": len(status.valid_approvers),
                        "required_approvals": required,
                        "state": "approved" if done else "awaiting_approval",
                        "os_user": _os_user(),
                    },
                )
                s.expire_all()
                return self._record(s, self._load(s, action_id), with_decision=True)
        except _Refused as r:
            raise self._refuse(
                "approve", r.refusal, approver, actor_kind, action_id, digest, r.to_state, r.from_states
            ) from None

    def deny(
        self, action_id: str, approver: str, comment: str | None = None, *, actor_kind: ActorKind = "cli"
    ) -> ActionRecord:
        digest: str | None = None
        try:
            with self.db.session(write=True) as s:
                row = self._load(s, action_id, lock=True)
                digest = row.digest
                approvers = self.policy.approvers_for(row.environment)
                if approver not in approvers:
                    raise _Refused(
                        PolicyRefusal(
                            f"{approver!r} is not a configured approver for {row.environment}",
                            "approvals.approver_not_configured",
                            f"use one of: {', '.join(sorted(approvers)) or '(none configured)'}",
                        )
                    )
                now = self._now()
                if not repo.transition(s, action_id, PENDING, "denied", updated_at=now, finished_at=now):
                    raise _Refused(self._state_refusal(row, "deny"))
                repo.add_approval(
                    s,
                    ApprovalRow(
                        action_id=action_id,
                        approver=approver,
                        decision="deny",
                        digest=row.digest,
                        comment=comment,
                        created_at=now,
                        mac=self._approval_mac(action_id, row.digest, approver, "deny"),
                    ),
                )
                self._audit(
                    s,
                    "approval.denied",
                    approver,
                    actor_kind,
                    action_id=action_id,
                    digest=row.digest,
                    result="denied",
                    detail={"comment": comment, "os_user": _os_user()},
                )
                s.expire_all()
                return self._record(s, self._load(s, action_id))
        except _Refused as r:
            raise self._refuse("deny", r.refusal, approver, actor_kind, action_id, digest) from None

    def same_request(self, record: ActionRecord, kind: str, environment: str, params: dict[str, Any]) -> bool:
        """Whether proposing (kind, environment, params) would ask for what `record` already asks."""
        if record.action.kind != kind or record.action.environment != environment:
            return False
        try:
            parsed = self._kind(kind).parse(params).model_dump(mode="json")
        except InvalidInput:
            return False
        return canonical_json(parsed) == canonical_json(record.action.params)

    def cancel(
        self, action_id: str, actor: str, reason: str, *, actor_kind: ActorKind = "system"
    ) -> ActionRecord | None:
        """Withdraw a pending action (not yet executing): it can no longer be approved or executed. Returns
        the cancelled record, or None when it had already left the pending states (nothing to withdraw)."""
        with self.db.session(write=True) as s:
            row = self._load(s, action_id, lock=True)
            now = self._now()
            if not repo.transition(s, action_id, PENDING, "cancelled", updated_at=now, finished_at=now):
                return None
            self._audit(
                s,
                "action.cancelled",
                actor,
                actor_kind,
                action_id=action_id,
                digest=row.digest,
                result="cancelled",
                detail={"reason": reason[:2000], "from_state": row.state},
            )
            s.expire_all()
            return self._record(s, self._load(s, action_id))

    def _state_refusal(self, row: ActionRow, what: str) -> PolicyRefusal:
        hints = {
            "proposed": "request approval first",
            "awaiting_approval": "wait for the required approvals",
            "approved": "it is approved: execute it",
            "executing": "it is being executed; see `approvals show`",
            "succeeded": "it already ran (exactly once); propose a new action to run again",
            "failed": "it already ran and failed; propose a new action to retry",
            "denied": "it was denied; propose a new action",
            "expired": "it expired; propose a new action",
            "refused": "it was refused; propose a new action",
            "cancelled": "it was withdrawn (superseded, or its incident was escalated or closed); propose again",
        }
        rule = "action.already_executed" if row.state in ("executing", "succeeded", "failed") else "action.state"
        return PolicyRefusal(f"cannot {what} action {row.id}: it is {row.state}", rule, hints.get(row.state))

    # -- execute ------------------------------------------------------------------------------------

    async def execute(
        self,
        action_id: str,
        caller: str,
        expected_kind: str | None = None,
        environment: str | None = None,
        *,
        actor_kind: ActorKind = "mcp",
    ) -> ExecutionOutcome:
        """Run an approved action exactly once (live), or audit its exact call (dry_run)."""
        if self.policy.mode == "live":
            await self._prepare(action_id)
        digest: str | None = None
        try:
            with self.db.session(write=True) as s:
                row = self._load(s, action_id)
                digest = row.digest
                if environment is not None and row.environment != environment:
                    raise _Refused(
                        PolicyRefusal(
                            f"action {action_id} is for environment {row.environment!r}, not {environment!r}",
                            "action.wrong_environment",
                            f"execute it against {row.environment}",
                        )
                    )
                if expected_kind is not None and row.kind != expected_kind:
                    raise _Refused(
                        PolicyRefusal(
                            f"action {action_id} is a {row.kind}, not a {expected_kind}",
                            "action.kind_mismatch",
                            f"execute it with the {row.kind} tool",
                        )
                    )
                if row.state not in ("proposed", "awaiting_approval", "approved"):
                    raise _Refused(self._state_refusal(row, "execute"))
                status = self._approval_status(s, row)
                self._check_integrity(row, status)
                action = _action_of(row)
                stored_call: dict[str, Any] = json.loads(row.call_json)
                if s.get_bind().dialect.name != "sqlite":
                    # Serialize executions per (environment, resource) so rate limits hold across replicas.
                    s.execute(
                        text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                        {"k": f"{row.environment}/{row.resource}"},
                    )
                decision = self._execute_decision(s, row, action, status)
                if not decision.allowed:
                    refusal = decision.refusal()
                    if refusal.rule == "approvals.expired":
                        raise _Refused(refusal, "expired", ("approved", "awaiting_approval"))
                    raise _Refused(refusal)
                mode = self.policy.mode
                if mode == "dry_run":
                    self._audit(
                        s,
                        "action.dry_run",
                        caller,
                        actor_kind,
                        result="dry_run",
                        action_id=action_id,
                        digest=row.digest,
                        detail={"call": stored_call, "sent": False},
                    )
                    return ExecutionOutcome(self._record(s, row), sent=False, mode=mode, call=stored_call)
                executor = self.executors.get(row.kind)
                if executor is None:
                    raise _Refused(
                        PolicyRefusal(
                            f"no executor is registered for {row.kind}",
                            "executor.missing",
                            "run the server that has the backend connector for this kind",
                        )
                    )
                if executor.describe_call(action) != stored_call:
                    raise _Refused(
                        PolicyRefusal(
                            f"the call {row.kind} would make now differs from the approved call",
                            "action.call_changed",
                            "propose the action again and have the new call approved",
                        )
                    )
                now = self._now()
                lease = timedelta(seconds=self.config.execution_lease_seconds)
                if not repo.transition(
                    s,
                    action_id,
                    "approved",
                    "executing",
                    updated_at=now,
                    executed_at=now,
                    executed_by=caller,
                    lease_owner=self.instance_id,
                    lease_expires_at=now + lease,
                ):
                    raise _Refused(
                        PolicyRefusal(
                            f"action {action_id} was started by another caller at the same time; it runs exactly once",
                            "action.already_executed",
                            "see its outcome with `pipeline-sre approvals show ID`",
                        )
                    )
                self._audit(
                    s,
                    "action.executing",
                    caller,
                    actor_kind,
                    result="executing",
                    action_id=action_id,
                    digest=row.digest,
                    detail={
                        "call": stored_call,
                        "approvers": list(status.valid_approvers),
                        "run_id": action.run_id,
                    },
                )
        except _Refused as r:
            raise self._refuse(
                "execute", r.refusal, caller, actor_kind, action_id, digest, r.to_state, r.from_states
            ) from None
        record = await self._run(executor, action, caller, actor_kind, row.digest)
        return ExecutionOutcome(record, sent=True, mode="live", call=stored_call, result=record.result)

    async def _prepare(self, action_id: str) -> None:
        """Before the approved call is compared with the call the executor would send now, let the executor
        learn what that call depends on (which Airflow it talks to): a fresh process knows nothing yet.
        Nothing is written; an action that cannot be loaded is left to the refusals that follow."""
        with self.db.session(write=False) as s:
            row = repo.get_action(s, action_id) if is_action_id(action_id) else None
            action = _action_of(row) if row is not None and row.environment in self.environments else None
        executor = self.executors.get(action.kind) if action is not None else None
        if action is None or executor is None:
            return
        try:
            await executor.prepare(action)
        except PipelineSreError:
            return  # a backend that cannot be reached now: the refusals come first, then describing the call fails

    async def _run(
        self,
        executor: ActionExecutor,
        action: Action,
        caller: str,
        actor_kind: ActorKind,
        digest: str,
        *,
        recovered: bool = False,
    ) -> ActionRecord:
        keeper = asyncio.create_task(self._keep_lease(action.id))
        try:
            result = await executor.execute(action)
        except Exception as exc:  # the backend said no, or the call broke; did it happen anyway?
            error = self.redact(f"{type(exc).__name__}: {exc}")[:1000]
            existing = None
            try:
                existing = await executor.find_existing(action)
            except Exception:
                existing = None
            if existing is not None:
                return self._finish(
                    action,
                    "succeeded",
                    caller,
                    actor_kind,
                    digest,
                    {"existing": existing, "note": f"call raised but the run exists: {error}"},
                    None,
                    recovered,
                )
            self._finish(action, "failed", caller, actor_kind, digest, None, error, recovered)
            raise ActionFailed(f"{action.kind} {action.id} failed: {error}") from exc
        finally:
            keeper.cancel()
        return self._finish(action, "succeeded", caller, actor_kind, digest, result, None, recovered)

    async def _keep_lease(self, action_id: str) -> None:
        """While a call is in flight its lease is renewed, so no replica takes the action over and sends it
        a second time because the backend was slow; only a dead executor's lease runs out."""
        lease = timedelta(seconds=self.config.execution_lease_seconds)
        while True:
            await asyncio.sleep(max(0.2, lease.total_seconds() / 3))
            now = self._now()
            try:
                await asyncio.to_thread(self._renew, action_id, now, now + lease)
            except PipelineSreError:  # the store is down: try again; if it stays down the lease runs out
                continue

    def _renew(self, action_id: str, now: datetime, until: datetime) -> None:
        with self.db.session(write=True) as s:
            repo.renew_lease(s, action_id, self.instance_id, now, until)

    def _finish(
        self,
        action: Action,
        state: str,
        caller: str,
        actor_kind: ActorKind,
        digest: str,
        result: dict[str, Any] | None,
        error: str | None,
        recovered: bool,
    ) -> ActionRecord:
        now = self._now()
        with self.db.session(write=True) as s:
            moved = repo.transition(
                s,
                action.id,
                "executing",
                state,
                updated_at=now,
                finished_at=now,
                lease_expires_at=None,
                result_json=canonical_json(result) if result is not None else None,
                error=error,
            )
            if moved:
                self._audit(
                    s,
                    f"action.{state}",
                    caller,
                    actor_kind,
                    result=state,
                    action_id=action.id,
                    digest=digest,
                    detail={"result": result, "error": error, "recovered": recovered},
                )
            s.expire_all()
            return self._record(s, self._load(s, action.id))

    async def recover_executing(self, caller: str = "system:recovery") -> list[ActionRecord]:
        """At start-up: finish actions left `executing` by a crashed process, without a second side effect.

        Only actions whose lease ran out are taken (one live executor may still be working on others).
        The executor is asked `find_existing` first; only if the backend has no trace of the call, and the
        mode is live, is the (idempotent, deterministic-id) call sent again.
        """
        out: list[ActionRecord] = []
        with self.db.session(write=False) as s:
            ids = repo.executing_ids(s)
        for action_id in ids:
            now = self._now()
            lease = timedelta(seconds=self.config.execution_lease_seconds)
            with self.db.session(write=True) as s:
                if not repo.claim_stale(s, action_id, self.instance_id, now, now + lease):
                    continue
                row = self._load(s, action_id)
                action = _action_of(row)
                digest = row.digest
                self._audit(
                    s,
                    "action.recovering",
                    caller,
                    "system",
                    action_id=action_id,
                    digest=digest,
                    detail={"previous_executor": row.executed_by},
                )
            executor = self.executors.get(action.kind)
            if executor is None:
                continue
            existing = await executor.find_existing(action)
            if existing is not None:
                out.append(
                    self._finish(
                        action,
                        "succeeded",
                        caller,
                        "system",
                        digest,
                        {"existing": existing, "recovered": "found_existing"},
                        None,
                        True,
                    )
                )
                continue
            if self.policy.mode != "live":
                out.append(
                    self._finish(
                        action,
                        "failed",
                        caller,
                        "system",
                        digest,
                        None,
                        f"interrupted before the call reached the backend; not re-sent because "
                        f"governance.mode is {self.policy.mode}",
                        True,
                    )
                )
                continue
            if not executor.resend_safe:
                # A write the backend cannot deduplicate (a clear): its first attempt may still land (a request
                # in flight when its process died), so it is never sent again blindly; a human looks.
                out.append(
                    self._finish(
                        action,
                        "failed",
                        caller,
                        "system",
                        digest,
                        None,
                        "its executor stopped mid-call and the backend shows no trace of it yet; not sent again "
                        "(it cannot be deduplicated): look in the backend, then propose again if needed",
                        True,
                    )
                )
                continue
            try:
                out.append(await self._run(executor, action, caller, "system", digest, recovered=True))
            except ActionFailed:
                with self.db.session(write=False) as s:
                    out.append(self._record(s, self._load(s, action_id)))
        return out

    # -- reading ------------------------------------------------------------------------------------

    def get_action(self, action_id: str) -> ActionRecord:
        with self.db.session(write=False) as s:
            row = repo.get_action(s, action_id)
            if row is None:
                raise UnknownAction(action_id)
            return self._record(s, row, with_decision=row.state in PENDING)

    def list_pending(self, environment: str | None = None, states: Iterable[str] | None = None) -> list[ActionRecord]:
        wanted = tuple(states) if states is not None else PENDING
        bad = [st for st in wanted if st not in ALL_STATES]
        if bad:
            raise InvalidInput(f"unknown state(s) {', '.join(bad)}; valid: {', '.join(ALL_STATES)}")
        with self.db.session(write=False) as s:
            return [self._record(s, row) for row in repo.list_actions(s, wanted, environment)]

    def close(self) -> None:
        self.db.dispose()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
