from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_sre.errors import ConfigError, NotFound
from pipeline_sre.models import CATEGORIES
from pipeline_sre.runbooks.loader import RERUN_ACTIONS, RunbookLibrary


@pytest.fixture(scope="module")
def lib() -> RunbookLibrary:
    return RunbookLibrary.load()


def test_every_category_has_a_runbook(lib: RunbookLibrary) -> None:
    ids = {rb.id for rb in lib.all()}
    assert set(CATEGORIES) <= ids
    assert {"spark_stage_skew", "databricks_job_oom", "kafka_consumer_lag"} <= ids
    for cat in CATEGORIES:
        assert any(cat in rb.match.categories for rb in lib.all()), cat


@pytest.mark.parametrize("rb_id", ["code_bug", "schema_mismatch", "permission_denied", "credentials"])
def test_escalation_not_rerun(lib: RunbookLibrary, rb_id: str) -> None:
    rb = lib.get(rb_id)
    assert rb.escalate
    assert not any(s.action in RERUN_ACTIONS for s in rb.plan)


def test_every_plan_starts_reversible(lib: RunbookLibrary) -> None:
    for rb in lib.all():
        assert rb.plan[0].reversible, rb.id
        assert rb.verify and rb.prevention and rb.rollback and rb.impact


def test_matching(lib: RunbookLibrary) -> None:
    best = lib.match(category="oom", signature_text="java.lang.OutOfMemoryError: Java heap space")[0]
    assert best.runbook.id == "oom" and best.score == 4
    lag = lib.match(metrics={"kafka_consumergroup_lag": 250_000})
    assert lag[0].runbook.id == "kafka_consumer_lag" and "metric" in lag[0].reasons[0]
    assert lib.match(metrics={"kafka_consumergroup_lag": 10}) == []
    skew = lib.match(metrics={"spark_stage_task_duration_p95_over_p50": 20})
    assert skew[0].runbook.id == "spark_stage_skew"
    assert lib.match(signature_text="ModuleNotFoundError: No module named 'x'")[0].runbook.id == "dependency"


def test_user_dir_overrides_and_adds(tmp_path: Path) -> None:
    (tmp_path / "oom.yaml").write_text(
        """
id: oom
title: Our OOM runbook
match: {categories: [oom]}
why: ours
plan: [{title: look, action: observe, reversible: true}]
impact: i
risk: {level: low}
rollback: r
verify: [{check: manual}]
prevention: [p]
""",
        encoding="utf-8",
    )
    lib = RunbookLibrary.load(tmp_path)
    assert lib.get("oom").title == "Our OOM runbook"
    assert lib.get("oom").source.endswith("oom.yaml")
    assert lib.get("timeout").source.startswith("builtin/")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("plan: [{title: rerun, action: clear_failed_tasks, reversible: false}]", "first plan step"),
        (
            "escalate: true\nplan: [{title: rerun, action: clear_failed_tasks, reversible: true}, "
            "{title: e, action: escalate, reversible: true}]",
            "may not rerun",
        ),
        ("plan: [{title: x, reversible: true}]\nsurprise: 1", "surprise"),
    ],
)
def test_invalid_user_runbooks(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(
        "id: bad\ntitle: t\nmatch: {categories: [oom]}\nwhy: w\nimpact: i\nrisk: {level: low}\nrollback: r\n"
        "verify: [{check: manual}]\nprevention: [p]\n" + body,
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=message):
        RunbookLibrary.load(tmp_path)


def test_unknown_runbook(lib: RunbookLibrary) -> None:
    with pytest.raises(NotFound, match="known"):
        lib.get("nope")
