"""Fixed facts about the sandbox: the pinned Airflow, the example DAGs and what each should end as."""

from __future__ import annotations

from dataclasses import dataclass

AIRFLOW_VERSION = "3.3.2"
DEFAULT_PORT = 28080
USERNAME = "admin"
# Offset from the api-server port to the (unused, but configured) worker/trigger log-server ports,
# so two sandboxes on different api ports never share any port: 28080 -> 28793 / 28794.
LOG_SERVER_PORT_OFFSET = 713
PROCESS_NAMES: tuple[str, ...] = ("api-server", "scheduler", "dag-processor")

# Made-up credentials that example_permission_denied writes into its task log on purpose, so tests can
# assert that no tool output ever repeats them. They are not real; examples/dags/example_permission_denied.py
# carries the same literals (the DAG runs inside the sandbox venv and cannot import this package).
FAKE_AWS_SECRET_ACCESS_KEY = "sbxFAKEsecret/9dT2vQx7LmN4pR8sKw3Zy6Hb1Jc5UoEe"
FAKE_DB_PASSWORD = "Sbx-fake-pw-7Qm2Lx9Rt4"
FAKE_BEARER_TOKEN = "sbx_live_FAKE_tok_4f9c2d7e8a1b6c3d5e0f9a8b7c6d5e4f"
# The bearer token is opaque on purpose: Airflow's own log processor masks anything JWT-shaped ("eyJ...").
SANDBOX_LEAKED_SECRETS: tuple[str, ...] = (FAKE_AWS_SECRET_ACCESS_KEY, FAKE_DB_PASSWORD, FAKE_BEARER_TOKEN)


@dataclass(frozen=True)
class ExampleDag:
    """What one example DAG is and how its single triggered run ends."""

    dag_id: str
    final_state: str  # "failed" or "success" ("none" when not triggered)
    tasks: tuple[str, ...]  # in dependency order
    first_failing_task: str | None = None
    upstream_failed: tuple[str, ...] = ()
    error: str | None = None  # text that the failing task's log contains
    # False for a DAG scheduled on an asset no example updates: it is there to be found downstream, never run
    # (Airflow 3.3 takes ~30 s to answer GET dagRuns/{id} for a manual run of an asset-scheduled DAG).
    triggered: bool = True


EXAMPLE_DAGS: tuple[ExampleDag, ...] = (
    ExampleDag(
        "example_oom_aggregation",
        "failed",
        ("extract_events", "aggregate_sessions", "publish_daily_kpis"),
        "aggregate_sessions",
        ("publish_daily_kpis",),
        "MemoryError",
    ),
    ExampleDag(
        "example_missing_input",
        "failed",
        ("check_partitions", "load_orders", "build_order_facts"),
        "load_orders",
        ("build_order_facts",),
        "FileNotFoundError",
    ),
    ExampleDag(
        "example_permission_denied",
        "failed",
        ("prepare_export", "upload_to_s3", "notify_partner"),
        "upload_to_s3",
        ("notify_partner",),
        "AccessDenied",
    ),
    ExampleDag(
        "example_flaky_network",
        "failed",
        ("list_endpoints", "fetch_exchange_rates", "store_rates"),
        "fetch_exchange_rates",
        ("store_rates",),
        "ConnectionRefusedError",
    ),
    ExampleDag(
        "example_schema_mismatch",
        "failed",
        ("stage_customers", "query_customer_segments", "export_segments"),
        "query_customer_segments",
        ("export_segments",),
        "no such column",
    ),
    ExampleDag(
        "example_code_bug",
        "failed",
        ("extract_invoices", "transform_invoices", "load_invoices"),
        "transform_invoices",
        ("load_invoices",),
        "KeyError",
    ),
    ExampleDag(
        "example_orders_staging",
        "failed",
        ("extract_orders", "stage_orders", "publish_staged_orders"),
        "stage_orders",
        ("publish_staged_orders",),
        "negative quantity",
    ),
    ExampleDag("example_exec_report", "none", ("build_report",), triggered=False),
    ExampleDag(
        "example_healthy",
        "success",
        ("extract", "transform", "load"),
    ),
)
EXAMPLE_DAG_IDS: tuple[str, ...] = tuple(d.dag_id for d in EXAMPLE_DAGS)
TRIGGERED_DAGS: tuple[ExampleDag, ...] = tuple(d for d in EXAMPLE_DAGS if d.triggered)
TRIGGERED_DAG_IDS: tuple[str, ...] = tuple(d.dag_id for d in TRIGGERED_DAGS)
TERMINAL_RUN_STATES: frozenset[str] = frozenset({"success", "failed"})
