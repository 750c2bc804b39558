"""One validated settings model: YAML file (or env-only quick start), environments, severity rules.

Secrets are never inline: fields ending in `_env` name the environment variable that holds them.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from platformdirs import user_data_dir
from pydantic import Field, ValidationError, field_validator, model_validator

from pipeline_sre.errors import ConfigError, UnknownEnvironment
from pipeline_sre.settings.autopilot import AutopilotConfig
from pipeline_sre.settings.backends import (
    DatabricksConnection,
    GitHubConfig,
    KinesisConnection,
    MwaaConnection,
    PrometheusConnection,
)
from pipeline_sre.settings.base import Model
from pipeline_sre.settings.console import ConsoleConfig
from pipeline_sre.settings.governance import (
    GovernanceConfig,
    StoreConfig,
)
from pipeline_sre.settings.lineage import LineageConfig
from pipeline_sre.settings.notifications import NotificationsConfig

CONFIG_ENV = "PIPELINE_SRE_CONFIG"
DATA_DIR_ENV = "PIPELINE_SRE_DATA_DIR"
DEFAULT_CONFIG_FILE = "pipeline-sre.yaml"
Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]


class AirflowConnection(Model):
    url: str = Field(description="Base URL of the Airflow webserver / api-server, e.g. https://airflow.example.com")
    ui_url: str | None = Field(None, description="Base URL for links shown to humans (defaults to url)")
    version: Literal["auto", "2", "3"] = "auto"
    token_env: str | None = Field(None, description="Env var holding a static bearer token")
    username_env: str | None = None
    password_env: str | None = None
    timeout_seconds: float = Field(15.0, gt=0, le=300)
    max_retries: int = Field(3, ge=0, le=10)
    page_size: int = Field(100, ge=1, le=1000, description="Page size; capped by the server's maximum_page_limit")
    verify_tls: bool = True

    @field_validator("url", "ui_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v

    def secret(self, field: Literal["token_env", "username_env", "password_env"]) -> str | None:
        name = getattr(self, field)
        return os.environ.get(name) if name else None


class DagMeta(Model):
    """Metadata for DAGs whose id matches `match` (a glob); the first matching entry wins."""

    match: str
    tier: int = Field(3, ge=1, le=4)
    business_critical: bool = False
    owner: str | None = None
    tags: list[str] = []


class EnvironmentConfig(Model):
    airflow: AirflowConnection
    mwaa: MwaaConnection | None = Field(
        None, description="Amazon MWAA: Airflow calls go through InvokeRestApi (airflow.url may be a placeholder)"
    )
    prometheus: PrometheusConnection | None = Field(None, description="Prometheus for get_metric and detectors")
    databricks: DatabricksConnection | None = Field(None, description="Databricks workspace for Jobs tools")
    kinesis: KinesisConnection | None = Field(None, description="Kinesis iterator age from CloudWatch metrics")
    dags: list[DagMeta] = []
    lineage: LineageConfig = Field(LineageConfig(), description="How triage finds the DAGs a failure blocks")
    sensitive_env: list[str] = Field(
        [], description="Env vars whose values are masked wherever they appear (connection passwords, ...)"
    )

    @model_validator(mode="before")
    @classmethod
    def _mwaa_cli_dags(cls, data: Any) -> Any:
        """The MWAA CLI path lists runs DAG by DAG: by default over the DAGs this environment describes."""
        if not isinstance(data, dict) or not isinstance(data.get("mwaa"), dict) or "cli_dags" in data["mwaa"]:
            return data
        globs = [d.get("match") if isinstance(d, dict) else getattr(d, "match", None) for d in data.get("dags") or []]
        return {**data, "mwaa": {**data["mwaa"], "cli_dags": [g for g in globs if isinstance(g, str)]}}

    def configured(self, dag_id: str) -> bool:
        """Whether a `dags:` glob gives this DAG's tier and owner (its Airflow tags are then not needed)."""
        return any(fnmatch.fnmatchcase(dag_id, meta.match) for meta in self.dags)

    def meta_for(self, dag_id: str, airflow_tags: list[str] | None = None) -> DagMeta:
        for meta in self.dags:
            if fnmatch.fnmatchcase(dag_id, meta.match):
                return meta
        return meta_from_tags(dag_id, airflow_tags or [])


def meta_from_tags(dag_id: str, tags: list[str]) -> DagMeta:
    """DAG tags such as `tier:1`, `business_critical` and `team:x` fill in what config does not say."""
    tier, critical, owner = 3, False, None
    for tag in tags:
        key, _, value = tag.partition(":")
        if key == "tier" and value.isdigit() and 1 <= int(value) <= 4:
            tier = int(value)
        elif key in ("business_critical", "critical"):
            critical = value.lower() not in ("false", "no", "0")
        elif key in ("team", "owner") and value:
            owner = value
    return DagMeta(match=dag_id, tier=tier, business_critical=critical, owner=owner, tags=list(tags))


class SeverityRule(Model):
    """First matching rule wins; unset conditions match anything."""

    severity: Severity
    tiers: list[int] | None = None
    business_critical: bool | None = None
    min_recent_failures: int = Field(0, ge=0)


def _default_severity_rules() -> list[SeverityRule]:
    return [
        SeverityRule(severity="SEV1", tiers=[1], business_critical=True, min_recent_failures=2),
        SeverityRule(severity="SEV2", tiers=[1], business_critical=True),
        SeverityRule(severity="SEV2", tiers=[1], min_recent_failures=3),
        SeverityRule(severity="SEV3", tiers=[1]),
        SeverityRule(severity="SEV3", tiers=[2], business_critical=True),
        SeverityRule(severity="SEV3", tiers=[2], min_recent_failures=3),
    ]


class SeverityConfig(Model):
    lookback_hours: int = Field(24, ge=1, le=24 * 30, description="Window for counting a DAG's recent failures")
    rules: list[SeverityRule] = Field(default_factory=_default_severity_rules)
    default: Severity = "SEV4"

    def classify(self, tier: int, business_critical: bool, recent_failures: int) -> tuple[Severity, str]:
        for i, rule in enumerate(self.rules):
            if rule.tiers is not None and tier not in rule.tiers:
                continue
            if rule.business_critical is not None and rule.business_critical != business_critical:
                continue
            if recent_failures < rule.min_recent_failures:
                continue
            return rule.severity, f"severity.rules[{i}]"
        return self.default, "severity.default"


class ServerConfig(Model):
    http_token_env: str = Field(
        "PIPELINE_SRE_HTTP_TOKEN", description="Env var with the bearer token HTTP clients must send"
    )
    max_result_bytes: int = Field(
        16_000, ge=1000, le=200_000, description="Cap on any tool answer (list_recent_failures keeps to 4 KB)"
    )
    owner: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
        description="The person the MCP clients of this server act for (default: the OS user running it). "
        "Actions they propose are requested by this person, so this person cannot approve them (four eyes).",
    )
    allowed_hosts: list[str] = Field(
        [],
        max_length=50,
        description="Host names the served surfaces (serve --http, console, watch --http) answer to, exact or "
        "'*.example.com'; other Hosts get 421. On loopback, loopback names are always allowed; off loopback, "
        "empty means any Host (the bearer token or the console sign-in still applies).",
    )


class VerifyConfig(Model):
    """When a fix counts as working: the rules `check_recovery_rules` evaluates."""

    require_run_success: bool = Field(True, description="The run the action produced (or re-ran) succeeded")
    require_failed_tasks_success: bool = Field(True, description="The tasks that had failed succeeded")
    quiet_minutes: int = Field(30, ge=0, le=24 * 60, description="No new failure of the DAG for N minutes after")
    timeout_minutes: int = Field(120, ge=1, le=7 * 24 * 60, description="Still pending after this: not_recovered")


class IncidentsConfig(Model):
    dedup_window_minutes: int = Field(
        24 * 60,
        ge=1,
        le=30 * 24 * 60,
        description="The same DAG and signature joins the open incident, or one escalated within this window",
    )
    verify: VerifyConfig = VerifyConfig()
    claim_lease_seconds: int = Field(
        300,
        ge=10,
        le=24 * 3600,
        description="A replica's claim on a failed run lapses after this unless it opened or joined an incident; "
        "another replica then takes the run over (a replica that died mid-claim loses nothing)",
    )


class Settings(Model):
    environments: dict[str, EnvironmentConfig]
    severity: SeverityConfig = SeverityConfig()
    server: ServerConfig = ServerConfig()
    incidents: IncidentsConfig = IncidentsConfig()
    governance: GovernanceConfig = GovernanceConfig()
    store: StoreConfig = StoreConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    autopilot: AutopilotConfig = AutopilotConfig()
    github: GitHubConfig | None = Field(None, description="GitHub change control: config changes as pull requests")
    console: ConsoleConfig = ConsoleConfig()
    data_dir: Path | None = None
    source: str = Field("", exclude=True, description="Where the settings came from (for error messages)")

    @field_validator("environments")
    @classmethod
    def _some_environment(cls, v: dict[str, EnvironmentConfig]) -> dict[str, EnvironmentConfig]:
        if not v:
            raise ValueError("at least one environment is required")
        for name in v:
            if not name.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"environment name {name!r} may hold only letters, digits, '-' and '_'")
        return v

    @model_validator(mode="after")
    def _governed_environments_exist(self) -> Settings:
        unknown = sorted(set(self.governance.environments) - set(self.environments))
        if unknown:
            raise ValueError(
                f"governance.environments names unknown environment(s) {', '.join(unknown)}; "
                f"valid environments: {', '.join(self.environments)}"
            )
        return self

    def environment(self, name: str | None) -> tuple[str, EnvironmentConfig]:
        if name is None:
            if len(self.environments) == 1:
                return next(iter(self.environments.items()))
            raise UnknownEnvironment("(none given)", list(self.environments))
        if name not in self.environments:
            raise UnknownEnvironment(name, list(self.environments))
        return name, self.environments[name]

    def resolved_data_dir(self) -> Path:
        return resolve_data_dir(self.data_dir)

    def sensitive_values(self) -> list[str]:
        """Secret values known to this process, so the redactor masks them verbatim."""
        names: set[str] = {self.server.http_token_env, self.autopilot.webhook_token_env}
        names.update(self.notifications.secret_env_names())
        if self.github is not None and self.github.token_env:
            names.add(self.github.token_env)
        names.update(
            {self.console.session_secret_env, self.console.slack.signing_secret_env, self.console.slack.bot_token_env}
        )
        for env in self.environments.values():
            names.update(env.sensitive_env)
            names.update(n for n in (env.airflow.token_env, env.airflow.password_env) if n)
            if env.databricks is not None and env.databricks.token_env:
                names.add(env.databricks.token_env)
            if env.prometheus is not None:
                names.update(n for n in (env.prometheus.token_env, env.prometheus.password_env) if n)
            if env.lineage.openlineage is not None and env.lineage.openlineage.token_env:
                names.add(env.lineage.openlineage.token_env)
        return sorted({v for n in names if (v := os.environ.get(n)) and len(v) >= 4})


def resolve_data_dir(configured: Path | None = None) -> Path:
    raw = os.environ.get(DATA_DIR_ENV)
    path = Path(raw) if raw else configured or Path(user_data_dir("pipeline-sre"))
    return path.expanduser()


def _format_validation_error(source: str, err: ValidationError) -> str:
    lines = [f"invalid configuration in {source}:"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key" + _allowed_keys_hint(e["loc"])
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def _allowed_keys_hint(loc: tuple[int | str, ...]) -> str:
    model: Any = Settings
    for part in loc[:-1]:
        fields = getattr(model, "model_fields", None)
        if fields is None or not isinstance(part, str) or part not in fields:
            # Dict keys and list indexes: descend into the value type of the container.
            model = _item_model(model)
            continue
        model = _item_model(fields[part].annotation)
    fields = getattr(model, "model_fields", None)
    if not fields:
        return ""
    allowed = ", ".join(n for n in fields if n != "source")
    hint = f"; allowed keys: {allowed}"
    if loc and str(loc[-1]) in ("password", "token", "secret"):
        hint += " (secrets are referenced by env var name: use password_env / token_env)"
    return hint


def _item_model(annotation: Any) -> Any:
    """The model inside an optional, list or dict annotation (X | None, list[X], dict[str, X]), else itself."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    return _item_model(args[-1]) if args else annotation


def parse_settings(data: Any, source: str) -> Settings:
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration in {source}: the top level must be a mapping with 'environments'")
    try:
        return Settings.model_validate({**data, "source": source})
    except ValidationError as err:
        raise ConfigError(_format_validation_error(source, err)) from None


def load_file(path: Path) -> Settings:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read configuration file {path}: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"invalid YAML in {path}{where}") from None
    if isinstance(data, dict) and "environments" not in data:
        # A file that only sets policy (governance:, incidents:, ...) applies to the quick start's
        # environments: the env vars' `default`, else the running local sandbox.
        quick = from_env() or from_sandbox()
        if quick is None:
            raise ConfigError(
                f"{path} sets no environments: and there is nothing for it to apply to: add `environments:`, "
                "set PIPELINE_SRE_AIRFLOW_URL, or start the local sandbox (`pipeline-sre sandbox up`)"
            )
        environments = {name: env.model_dump(exclude_defaults=True) for name, env in quick.environments.items()}
        data = {"environments": environments, **data}
    return parse_settings(data, str(path))


def from_env() -> Settings | None:
    """Zero-config quick start: PIPELINE_SRE_AIRFLOW_URL defines one environment named `default`."""
    url = os.environ.get("PIPELINE_SRE_AIRFLOW_URL")
    if not url:
        return None
    airflow: dict[str, Any] = {"url": url}
    if os.environ.get("PIPELINE_SRE_AIRFLOW_TOKEN"):
        airflow["token_env"] = "PIPELINE_SRE_AIRFLOW_TOKEN"
    if os.environ.get("PIPELINE_SRE_AIRFLOW_USERNAME"):
        airflow["username_env"] = "PIPELINE_SRE_AIRFLOW_USERNAME"
        airflow["password_env"] = "PIPELINE_SRE_AIRFLOW_PASSWORD"
    return parse_settings({"environments": {"default": {"airflow": airflow}}}, "environment variables")


SANDBOX_USERNAME_ENV = "PIPELINE_SRE_SANDBOX_USERNAME"
SANDBOX_PASSWORD_ENV = "PIPELINE_SRE_SANDBOX_PASSWORD"


def from_sandbox() -> Settings | None:
    """The embedded default: a running local sandbox (`pipeline-sre sandbox up`) as environment `sandbox`.

    Its generated password is handed over the same way as any secret, through an env var.
    """
    from pipeline_sre.sandbox.paths import SandboxPaths
    from pipeline_sre.sandbox.process import read_state

    paths = SandboxPaths.under(resolve_data_dir())
    state = read_state(paths)
    port = state.get("port") if state else None
    try:
        password = json.loads(paths.secrets_file.read_text(encoding="utf-8"))["password"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(port, int) or not isinstance(password, str):
        return None
    os.environ[SANDBOX_USERNAME_ENV] = "admin"
    os.environ[SANDBOX_PASSWORD_ENV] = password
    airflow = {
        "url": f"http://127.0.0.1:{port}",
        "version": "3",
        "username_env": SANDBOX_USERNAME_ENV,
        "password_env": SANDBOX_PASSWORD_ENV,
    }
    source = f"the local sandbox in {paths.root}"
    return parse_settings({"environments": {"sandbox": {"airflow": airflow}}}, source)


def config_file_given(path: str | Path | None = None) -> bool:
    """Whether a config file is named or present, i.e. whether load_settings would read one."""
    return path is not None or bool(os.environ.get(CONFIG_ENV)) or (Path.cwd() / DEFAULT_CONFIG_FILE).is_file()


def load_settings(path: str | Path | None = None) -> Settings:
    """--config, else $PIPELINE_SRE_CONFIG, else ./pipeline-sre.yaml, else the env quick start,
    else a running local sandbox."""
    if path is not None:
        return load_file(Path(path))
    if os.environ.get(CONFIG_ENV):
        return load_file(Path(os.environ[CONFIG_ENV]))
    local = Path.cwd() / DEFAULT_CONFIG_FILE
    if local.is_file():
        return load_file(local)
    settings = from_env() or from_sandbox()
    if settings is None:
        raise ConfigError(
            "no configuration: pass --config FILE, set PIPELINE_SRE_CONFIG, create ./pipeline-sre.yaml, "
            "or set PIPELINE_SRE_AIRFLOW_URL (with PIPELINE_SRE_AIRFLOW_TOKEN or "
            "PIPELINE_SRE_AIRFLOW_USERNAME/PIPELINE_SRE_AIRFLOW_PASSWORD); "
            "`pipeline-sre sandbox up` starts a local Airflow to try it on"
        )
    return settings
