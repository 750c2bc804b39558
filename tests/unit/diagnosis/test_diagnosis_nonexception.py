"""Errors that are not exceptions (issue 12): termination blocks, database FATAL lines, cloud CLI and WARN-level
credential errors, scheduler warnings, wrapped causes; and the excerpt keeping the exception line.

The logs in tests/data/logs_nonexception are shaped after real public ones, trimmed; names and ids are made up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_sre.diagnosis import diagnose_lines
from pipeline_sre.diagnosis.diagnose import build_excerpt

DATA = Path(__file__).resolve().parents[2] / "data" / "logs_nonexception"

# file, the decisive line (a substring of it), the category
CASES = [
    ("k8s.log", "Reason:       OOMKilled", "oom"),
    ("yarn.log", "is running beyond physical memory limits", "oom"),
    ("pg.log", "FATAL:  password authentication failed for user", "credentials"),
    ("boto.log", "Unable to locate credentials", "credentials"),
    ("gcloud.log", "You do not currently have an active account selected", "credentials"),
    ("ec2.log", "Error Code: InsufficientInstanceCapacity", "resource_exhausted"),
    ("kafka.log", "Auto offset commit failed for group etl", "kafka_consumer"),
    ("spark_res.log", "Initial job has not accepted any resources", "resource_exhausted"),
    ("bq.log", "has changed type from NUMERIC to STRING", "schema_mismatch"),
    ("dbt503.log", "503 GET https://bigquery.googleapis.com", "transient_network"),
]


def _lines(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(("name", "decisive", "category"), CASES, ids=[c[0] for c in CASES])
def test_decisive_line_and_category(name: str, decisive: str, category: str) -> None:
    d = diagnose_lines(_lines(name))
    assert decisive in d.evidence
    assert decisive in d.excerpt
    assert len(d.excerpt.encode()) <= 2000
    assert d.category == category


@pytest.mark.parametrize(("name", "decisive", "category"), CASES, ids=[c[0] for c in CASES])
def test_decisive_line_survives_noise(name: str, decisive: str, category: str) -> None:
    noise = [f"[2024-03-01, 09:{i // 60 % 60:02d}:{i % 60:02d} UTC] {{w.py:1}} INFO - batch {i}" for i in range(3000)]
    d = diagnose_lines([*noise, *_lines(name), *noise[:200]])
    assert decisive in d.excerpt
    assert d.category == category


def test_bare_exception_after_a_noise_header_is_the_evidence() -> None:
    d = diagnose_lines(_lines("bq.log"))
    assert d.exception == "google.api_core.exceptions.BadRequest"
    assert "Task failed with exception" not in d.evidence


def test_warning_level_credential_error_is_found_without_an_error_line() -> None:
    d = diagnose_lines(_lines("boto.log"))
    assert d.category == "credentials" and d.confidence < 0.8  # free text at WARN: useful, not certain


def test_long_traceback_keeps_the_exception_line() -> None:
    d = diagnose_lines(_lines("af2_long.log"))
    assert "RuntimeError: upstream extract returned 0 rows" in d.excerpt
    assert len(d.excerpt.encode()) <= 2000


def test_excerpt_keeps_evidence_and_exception_even_when_far_apart() -> None:
    body = [f'  File "/opt/app/module_{i}.py", line {i}, in step_{i}' + " x" * 30 for i in range(80)]
    head = ["ERROR - Task failed with exception", "Traceback (most recent call last):"]
    text = "\n".join([*head, *body, "KeyError: 'sku'"])
    out = build_excerpt(text, "ERROR - Task failed with exception", 2000, "KeyError")
    assert "ERROR - Task failed with exception" in out
    assert "KeyError: 'sku'" in out
    assert "\n…\n" in out  # the frames left out are marked
    assert len(out.encode()) <= 2000
    # without an exception the old behaviour holds: contiguous lines around the evidence
    assert "…" not in build_excerpt(text, "ERROR - Task failed with exception", 2000)


def test_a_timeout_setting_among_a_steps_inputs_is_no_failure_line() -> None:
    # GitHub Actions prints a step's inputs before it runs; "timeout: 600000" names the step's limit (batch 46)
    lines = [
        "Run actions/deploy-pages@v1\n",
        "  with:\n",
        "    timeout: 600000\n",
        "    error_count: 10\n",
        "Failed to create deployment for 7fac660be76d04c18f154ef418dad9a22c27c5dd.\n",
        "Error: Error: No uploaded artifact was found! Please check if there are any errors at build step.\n",
    ]
    d = diagnose_lines(lines, use_model=False)
    assert "timeout: 600000" not in d.evidence + d.message
    assert "No uploaded artifact was found" in d.message
