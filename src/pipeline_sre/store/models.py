"""Tables of the state store (SQLite or PostgreSQL). Schema changes go through alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

GENESIS_HASH = "0" * 64
# An incident's open states, in the order of its lifecycle (store.incidents adds the terminal ones).
OPEN_INCIDENT_STATES = ("detected", "triaged", "diagnosed", "proposed", "awaiting_approval", "executing", "verifying")
OPEN_INCIDENT_SQL = "state IN (" + ", ".join(f"'{s}'" for s in OPEN_INCIDENT_STATES) + ")"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class ActionRow(Base):
    __tablename__ = "actions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    environment: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(255))
    params_json: Mapped[str] = mapped_column(Text)
    call_json: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(24))
    requested_by: Mapped[str] = mapped_column(String(255))
    incident_id: Mapped[str | None] = mapped_column(String(128))
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    is_rerun: Mapped[bool] = mapped_column(Boolean, default=False)
    runbook_id: Mapped[str | None] = mapped_column(String(128))
    plan_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approval_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approval_reason: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    executed_by: Mapped[str | None] = mapped_column(String(255))
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result_json: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_actions_state_env", "state", "environment"),
        Index("ix_actions_rate", "environment", "resource", "executed_at"),
        Index("ix_actions_incident", "incident_id"),
        Index("ix_actions_executed_at", "executed_at"),
    )


class ApprovalRow(Base):
    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    approver: Mapped[str] = mapped_column(String(255))
    decision: Mapped[str] = mapped_column(String(16))  # approve | deny
    digest: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    mac: Mapped[str | None] = mapped_column(String(64))  # HMAC over action, digest, approver, decision (keyed)

    __table_args__ = (UniqueConstraint("action_id", "approver", name="uq_approvals_action_approver"),)


class AuditRow(Base):
    """One hash-chained audit record. `ts` and `detail_json` are stored as the exact hashed text."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    ts: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(255))
    actor_kind: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(64))
    action_id: Mapped[str | None] = mapped_column(String(32), index=True)
    digest: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(64))
    detail_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_event_ts", "event", "ts"),)


class AuditHeadRow(Base):
    """A single row (id=1) holding the chain head; appends lock it so seq and prev_hash never fork."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class IncidentRow(Base):
    """The unit of work: one failure (a DAG + error signature, or a metric signal) and its lifecycle."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    environment: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(24))  # airflow | databricks | metric
    subject: Mapped[str] = mapped_column(String(255))  # dag_id, job id or signal subject
    dedup_key: Mapped[str] = mapped_column(String(400))
    state: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(400))
    run_id: Mapped[str | None] = mapped_column(String(255))  # the first failing run
    latest_run_id: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[str | None] = mapped_column(String(255))
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    action_id: Mapped[str | None] = mapped_column(String(32))
    runbook_id: Mapped[str | None] = mapped_column(String(128))
    facts_json: Mapped[str] = mapped_column(Text, default="{}")  # redacted triage + diagnosis
    steps_json: Mapped[str] = mapped_column(Text, default="{}")  # state -> first time entered
    transitions_json: Mapped[str] = mapped_column(Text, default="[]")  # [{from, to, at, by}], in order
    verdict_json: Mapped[str | None] = mapped_column(Text)
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    close_reason: Mapped[str | None] = mapped_column(Text)
    postmortem_path: Mapped[str | None] = mapped_column(String(1000))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Where durations start (the failure's run end, else detection) and the first entry into resolved and
    # escalated: the same times as in steps_json, as columns for the operating statistics (migration 0006).
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_incidents_dedup", "dedup_key", "state"),
        Index("ix_incidents_state_env", "state", "environment"),
        Index("ix_incidents_opened_at", "opened_at"),
        Index("ix_incidents_resolved_at", "resolved_at"),
        # Incident memory: past incidents by signature, or by category on the same subject (migration 0007).
        Index("ix_incidents_memory_signature", "environment", "signature", "closed_at"),
        Index("ix_incidents_memory_subject", "environment", "subject", "category", "closed_at"),
        # One open incident per key, whatever the replicas race (migration 0005 creates it).
        Index(
            "uq_incidents_open_key",
            "dedup_key",
            unique=True,
            sqlite_where=text(OPEN_INCIDENT_SQL),
            postgresql_where=text(OPEN_INCIDENT_SQL),
        ),
    )


class IncidentRunRow(Base):
    """Each failed run is handled once, whichever replica or push saw it first (unique key)."""

    __tablename__ = "incident_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    run_id: Mapped[str] = mapped_column(String(255))
    incident_id: Mapped[str | None] = mapped_column(String(32), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(128))  # the replica handling it until lease_until
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("environment", "subject", "run_id", name="uq_incident_runs"),)


class ConsoleUserRow(Base):
    """A local user of the approval console; the password is an argon2id hash (never the password)."""

    __tablename__ = "console_users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # approver | viewer
    password_hash: Mapped[str | None] = mapped_column(Text)  # None: signs in only through the SSO proxy
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsoleSessionRow(Base):
    """A console login. The cookie holds a signed random token; only its SHA-256 is stored here."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the session token
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # password | sso
    csrf_token: Mapped[str] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SlackSeenRow(Base):
    """Signatures of Slack requests already handled: a replayed request is refused (any replica)."""

    __tablename__ = "slack_seen_requests"

    signature: Mapped[str] = mapped_column(String(80), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SlackMessageRow(Base):
    """The Slack message posted for an approval request, so each request is posted once and updated later."""

    __tablename__ = "slack_messages"

    action_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsoleLoginFailureRow(Base):
    """One failed console sign-in, per (client, user) and per client (user_key ""): the throttle counts
    these in a sliding window, so replicas behind one load balancer share the limit."""

    __tablename__ = "console_login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client: Mapped[str] = mapped_column(String(64))
    user_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    __table_args__ = (Index("ix_console_login_failures_key", "client", "user_key", "at"),)


class ReplicaHeartbeatRow(Base):
    """Each running replica (`watch`, `serve`) says it is alive every cycle; the console and /metrics show them."""

    __tablename__ = "replica_heartbeats"

    instance_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cycles: Mapped[int] = mapped_column(Integer, default=0)


class ReviewPullRow(Base):
    """The pull request a config change was opened as for review (`approve_by_review` repositories): reviews
    count only for `head_sha`, the commit pipeline-sre made, and never from `author`, who opened it."""

    __tablename__ = "github_review_pulls"

    action_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    repo: Mapped[str] = mapped_column(String(201))  # casefolded owner/name
    number: Mapped[int] = mapped_column(Integer)
    head_sha: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("repo", "number", name="uq_github_review_pulls"),)


class ReviewSeenRow(Base):
    """A GitHub review already judged (by the webhook or a poll, on any replica): judged and audited once."""

    __tablename__ = "github_reviews_seen"

    review_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    action_id: Mapped[str] = mapped_column(String(32), index=True)
    login: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
