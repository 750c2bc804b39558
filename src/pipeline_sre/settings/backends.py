"""Connection settings of the outside systems (MWAA, Databricks, Prometheus and its detectors, GitHub).

Plain validated data: the clients in `connectors/` are built from these, never the other way round.
"""

from __future__ import annotations

import fnmatch
import os
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipeline_sre.settings.base import Model


class MwaaConnection(Model):
    name: str = Field(pattern=r"^[a-zA-Z][0-9a-zA-Z_-]{0,79}$", description="The MWAA environment name")
    region: str | None = Field(None, description="AWS region (default: the profile's or AWS_REGION)")
    profile: str | None = Field(None, description="Named profile; default: the standard credential chain")
    airflow_version: Literal["auto", "2", "3"] = Field("auto", description="auto: read once with GetEnvironment")
    log_group: str | None = Field(None, description="Task log group (default airflow-<name>-Task)")
    access: Literal["auto", "invoke_rest_api", "web_login", "cli"] = Field(
        "auto", description="auto: InvokeRestApi, then the web login, then the CLI, each when the former is denied"
    )
    endpoint_url: str | None = Field(None, description="MWAA API endpoint override (VPC endpoint, tests)")
    logs_endpoint_url: str | None = Field(None, description="CloudWatch Logs endpoint override")
    webserver_url: str | None = Field(
        None, description="Webserver base URL for web_login and cli (default https://<WebServerHostname>)"
    )
    cli_dags: tuple[str, ...] = Field(
        (),
        description="DAG id globs the CLI path lists for cross-DAG detection, one CLI call per DAG "
        "(default: the environment's dags[].match globs)",
    )
    cli_max_dags: int = Field(20, ge=1, le=500, description="The CLI path refuses cross-DAG listings over more DAGs")
    timeout_seconds: float = Field(30.0, gt=0, le=300)
    max_attempts: int = Field(5, ge=1, le=20, description="botocore standard-mode attempts (first try included)")
    log_tail_max_calls: int = Field(3, ge=1, le=20, description="GetLogEvents calls a log tail may make")

    @field_validator("endpoint_url", "logs_endpoint_url", "webserver_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v

    @property
    def task_log_group(self) -> str:
        return self.log_group or f"airflow-{self.name}-Task"


class DatabricksJobMeta(Model):
    """Tier and ownership of Databricks jobs whose id or name matches `match` (a glob); first match wins."""

    match: str
    tier: int = Field(3, ge=1, le=4)
    business_critical: bool = False
    owner: str | None = None


class DatabricksConnection(Model):
    """One Databricks workspace. Write policy and job parameter schemas live in `governance`: the
    resource of a job is `databricks:job/<job_id>` (allow it with `allow_dags`, give its run_now
    parameters a schema with a `conf_schemas` entry whose `match` is that resource)."""

    host: str | None = Field(
        None, description="Workspace URL, e.g. https://adb-123.4.azuredatabricks.net (default: from the profile/env)"
    )
    token_env: str | None = Field(None, description="Env var holding a personal access / service principal token")
    profile: str | None = Field(None, description="A ~/.databrickscfg profile (the SDK's standard credential chain)")
    timeout_seconds: float = Field(30.0, gt=0, le=300, description="Per HTTP request")
    max_retries: int = Field(3, ge=0, le=10, description="Retries of server errors (500/502/504), never 4xx")
    retry_timeout_seconds: int = Field(
        30, ge=1, le=600, description="Budget within which the SDK retries connection errors and 429/503"
    )
    lookback_hours: int = Field(
        12, ge=1, le=7 * 24, description="Detection also reads runs that started this long before the window"
    )
    max_runs_per_scan: int = Field(500, ge=1, le=10_000, description="Cap on runs read per detection")
    jobs: list[DatabricksJobMeta] = []

    @field_validator("host")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local stand-in)")
        return v.rstrip("/") if v else v

    def meta_for(self, job_id: int, job_name: str | None = None) -> DatabricksJobMeta:
        for meta in self.jobs:
            if fnmatch.fnmatchcase(str(job_id), meta.match) or (
                job_name is not None and fnmatch.fnmatchcase(job_name, meta.match)
            ):
                return meta
        return DatabricksJobMeta(match=str(job_id))


Op = Literal[">", ">=", "<", "<="]


DetectorKind = Literal[
    "spark_stage_skew", "spark_gc_pressure", "kafka_consumer_lag", "data_freshness", "kinesis_iterator_age", "custom"
]


METRIC_NAME = r"^[a-z][a-z0-9_]{1,79}$"


class SignalCondition(Model):
    """An instant PromQL query whose value per subject is compared with `threshold`."""

    query: str = Field(min_length=1, description="PromQL; each result series is one subject")
    op: Op = ">"
    threshold: float
    label: str = Field("", description="Short name of the measured quantity, shown in evidence")
    metric: str | None = Field(
        None, pattern=METRIC_NAME, description="Name runbook metric conditions use for this quantity"
    )


class NamedMetric(Model):
    """A quantity runbook conditions can name: an instant PromQL query, one series per subject."""

    name: str = Field(pattern=METRIC_NAME)
    query: str = Field(min_length=1, description="PromQL; series are joined to a subject on the labels they share")


class DetectorConfig(Model):
    """A signal detector: `condition` must hold and every `also` condition must hold for the same subject
    (series are joined on `subject_labels`)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_.-]{1,63}$")
    kind: DetectorKind
    subject_labels: list[str] = Field(min_length=1)
    condition: SignalCondition
    also: list[SignalCondition] = []
    runbook_id: str | None = Field(None, description="Runbook whose plan applies when this fires")
    category: str = Field("unknown", description="Incident category when the signal opens an incident")
    enabled: bool = True


def default_detectors() -> list[DetectorConfig]:
    """Skew, GC pressure, Kafka lag (high AND rising) and freshness, on the metric names in the module doc."""
    return [
        DetectorConfig(
            name="spark_stage_skew",
            kind="spark_stage_skew",
            subject_labels=["app", "stage"],
            condition=SignalCondition(
                query="max by (app, stage) (spark_stage_task_duration_p95)"
                " / max by (app, stage) (spark_stage_task_duration_p50)",
                op=">",
                threshold=5,
                label="p95/p50 task duration",
                metric="spark_stage_task_duration_p95_over_p50",
            ),
            also=[
                SignalCondition(
                    query="max by (app, stage) (spark_stage_shuffle_read_top_tasks_share)",
                    op=">",
                    threshold=0.5,
                    label="shuffle read share of the top 5% tasks",
                    metric="spark_stage_shuffle_read_top_tasks_share",
                )
            ],
            runbook_id="spark_stage_skew",
            category="resource_exhausted",
        ),
        DetectorConfig(
            name="spark_gc_pressure",
            kind="spark_gc_pressure",
            subject_labels=["app", "executor"],
            condition=SignalCondition(
                query="sum by (app, executor) (rate(spark_executor_gc_time_seconds_total[5m]))"
                " / sum by (app, executor) (rate(spark_executor_cpu_time_seconds_total[5m]))",
                op=">",
                threshold=0.4,
                label="GC time / CPU time",
                metric="spark_executor_gc_time_ratio",
            ),
            runbook_id="oom",
            category="oom",
        ),
        DetectorConfig(
            name="kafka_consumer_lag",
            kind="kafka_consumer_lag",
            subject_labels=["consumergroup", "topic"],
            condition=SignalCondition(
                query="sum by (consumergroup, topic) (kafka_consumergroup_lag)",
                op=">",
                threshold=100_000,
                label="lag (messages)",
                metric="kafka_consumergroup_lag",
            ),
            also=[
                SignalCondition(
                    query="sum by (consumergroup, topic) (deriv(kafka_consumergroup_lag[10m]))",
                    op=">",
                    threshold=0,
                    label="lag growth (messages/s)",
                    metric="kafka_consumergroup_lag_growth",
                )
            ],
            runbook_id="kafka_consumer_lag",
            category="kafka_consumer",
        ),
        DetectorConfig(
            name="data_freshness",
            kind="data_freshness",
            subject_labels=["dataset"],
            condition=SignalCondition(
                query="time() - max by (dataset) (pipeline_last_success_timestamp_seconds)",
                op=">",
                threshold=2 * 3600,
                label="seconds since last success",
                metric="data_age_seconds",
            ),
            runbook_id="upstream_missing",
            category="upstream_missing",
        ),
        DetectorConfig(
            name="kinesis_iterator_age",
            kind="kinesis_iterator_age",
            subject_labels=["stream_name"],
            condition=SignalCondition(
                query=f"max by (stream_name) ({KINESIS_AGE})",
                op=">",
                threshold=KINESIS_AGE_THRESHOLD_MS,
                label="iterator age (ms)",
                metric="kinesis_iterator_age_ms",
            ),
            runbook_id="kinesis_iterator_age",
            category="resource_exhausted",
        ),
    ]


KINESIS_AGE = "aws_kinesis_get_records_iterator_age_milliseconds_maximum"


KINESIS_AGE_THRESHOLD_MS = 60_000.0


def default_metrics() -> list[NamedMetric]:
    """Quantities runbook conditions read besides the detectors' own (names in the module doc)."""
    return [
        NamedMetric(name="spark_stage_task_duration_max", query="max by (app, stage) (spark_stage_task_duration_max)"),
        NamedMetric(name="spark_stage_spill_bytes", query="max by (app, stage) (spark_stage_spill_bytes)"),
        NamedMetric(
            name="spark_app_gc_time_ratio",
            query="sum by (app) (rate(spark_executor_gc_time_seconds_total[5m]))"
            " / sum by (app) (rate(spark_executor_cpu_time_seconds_total[5m]))",
        ),
        NamedMetric(
            name="spark_executor_heap_used_ratio",
            query="max by (app, executor) (spark_executor_jvm_heap_used_bytes)"
            " / max by (app, executor) (spark_executor_jvm_heap_max_bytes)",
        ),
        NamedMetric(
            name="kinesis_iterator_age_growth",
            query=f"max by (stream_name) (deriv({KINESIS_AGE}[10m]))",
        ),
    ]


class PrometheusConnection(Model):
    url: str = Field(description="Base URL of Prometheus (or a compatible API: Thanos, Mimir, AMP proxy)")
    token_env: str | None = Field(None, description="Env var holding a bearer token")
    username_env: str | None = None
    password_env: str | None = None
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    max_retries: int = Field(2, ge=0, le=10)
    verify_tls: bool = True
    max_series: int = Field(20, ge=1, le=200, description="Series summarised in full by get_metric")
    max_result_bytes: int = Field(4000, ge=1000, le=64_000, description="Cap on a get_metric answer")
    detectors: list[DetectorConfig] = Field(default_factory=default_detectors)
    metrics: list[NamedMetric] = Field(
        default_factory=default_metrics, description="Quantities runbook conditions name besides the detectors'"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    def secret(self, field: Literal["token_env", "username_env", "password_env"]) -> str | None:
        name = getattr(self, field)
        return os.environ.get(name) if name else None


_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


_BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")


_LOGIN = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$")


def check_repo(v: str) -> str:
    if not _REPO.match(v) or ".." in v:
        raise ValueError("must be owner/name")
    return v


def check_branch(v: str) -> str:
    if not _BRANCH.match(v) or ".." in v or v.startswith(("/", "-")) or v.endswith(("/", ".lock")) or "//" in v:
        raise ValueError("must be a branch name: letters, digits, '.', '_', '-' and '/'")
    return v


def check_path(v: str) -> str:
    parts = v.split("/")
    if not v or len(v) > 400 or v.startswith("/") or "\\" in v or any(p in ("", ".", "..") for p in parts):
        raise ValueError("must be a relative file path without '.', '..' or empty segments")
    if any(ord(c) < 32 for c in v):
        raise ValueError("must not contain control characters")
    return v


class GitHubRepository(Model):
    """A repository pull requests may be opened against, and the files (globs) they may change."""

    repo: str = Field(description="owner/name")
    paths: list[str] = Field(description="Globs of file paths a change may touch, e.g. jobs/*.json, dags/conf/**")
    base: str = Field("main", description="Default base branch of pull requests")
    environment: str | None = Field(
        None, description="Environment whose governance policy governs changes here (default: the only one)"
    )
    approve_by_review: bool = Field(
        False,
        description="Open the pull request when approval is requested: an approving review by a login in "
        "github.user_map counts as that person's approval, and executing merges the reviewed head",
    )
    merge_method: Literal["merge", "squash", "rebase"] = Field(
        "merge", description="How an approved pull request is merged (approve_by_review repositories)"
    )

    _repo = field_validator("repo")(check_repo)
    _base = field_validator("base")(check_branch)

    @field_validator("paths")
    @classmethod
    def _some_paths(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("list at least one path glob")
        return v

    def allows(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, glob) for glob in self.paths)


class GitHubConfig(Model):
    api_url: str = Field("https://api.github.com", description="REST API base (GitHub Enterprise: https://HOST/api/v3)")
    token_env: str = Field("GITHUB_TOKEN", description="Env var holding a token with contents + pull-requests write")
    timeout_seconds: float = Field(15.0, gt=0, le=300)
    max_retries: int = Field(3, ge=0, le=10)
    verify_tls: bool = True
    repositories: list[GitHubRepository] = []
    user_map: dict[str, str] = Field(
        {},
        description="GitHub login -> person (a governance approver name) whose approving reviews count as theirs; "
        "reviews by any other login never approve",
    )
    webhook_secret_env: str = Field(
        "PIPELINE_SRE_GITHUB_WEBHOOK_SECRET",
        description="Env var with the secret of the pull_request_review webhook (X-Hub-Signature-256)",
    )

    @field_validator("user_map")
    @classmethod
    def _logins(cls, v: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for login, name in v.items():
            if len(login) > 39 or not _LOGIN.match(login):
                raise ValueError(f"{login!r} is not a GitHub login (letters, digits and single '-', up to 39)")
            if not name.strip() or name != name.strip():
                raise ValueError(f"person name {name!r} for {login} must be non-empty without surrounding spaces")
            out[login.casefold()] = name  # GitHub logins are case-insensitive
        return out

    @model_validator(mode="after")
    def _reviewers_for_review_repos(self) -> GitHubConfig:
        reviewed = [r.repo for r in self.repositories if r.approve_by_review]
        if reviewed and not self.user_map:
            raise ValueError(
                f"approve_by_review is set for {', '.join(reviewed)} but github.user_map maps no login to a person: "
                "add {github login: approver name} entries"
            )
        return self

    def person_of(self, login: str) -> str | None:
        """The person behind a GitHub login, or None: an unmapped login never approves."""
        return self.user_map.get(login.casefold())

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local stand-in)")
        return v.rstrip("/")

    def repository(self, repo: str) -> GitHubRepository | None:
        return next((r for r in self.repositories if r.repo.casefold() == repo.casefold()), None)


class KinesisConnection(Model):
    """Kinesis streams watched through CloudWatch metrics."""

    region: str | None = Field(None, description="AWS region (default: the profile's or AWS_REGION)")
    profile: str | None = Field(None, description="Named profile; default: the standard credential chain")
    endpoint_url: str | None = Field(None, description="CloudWatch endpoint override (VPC endpoint, tests)")
    streams: list[str] = Field([], description="Stream names; empty: every stream reporting the iterator age")
    threshold_ms: float = Field(60_000, gt=0, description="Iterator age (ms) above which a stream is behind")
    period_seconds: int = Field(60, ge=60, le=3600, description="CloudWatch period of the Maximum statistic")
    window_minutes: int = Field(15, ge=5, le=24 * 60, description="How far back detection reads the metric")
    timeout_seconds: float = Field(30.0, gt=0, le=300)
    max_attempts: int = Field(5, ge=1, le=20, description="botocore standard-mode attempts (first try included)")

    @field_validator("endpoint_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v
