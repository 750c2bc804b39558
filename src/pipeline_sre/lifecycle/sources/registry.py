"""Every source the incident flow knows, listed once: the autopilot polls them in this order, and an
incident finds its source here by its `source` field."""

from __future__ import annotations

from typing import Any

from pipeline_sre.errors import InvalidInput
from pipeline_sre.lifecycle.sources.airflow.source import AIRFLOW
from pipeline_sre.lifecycle.sources.alerts.source import ALERTS
from pipeline_sre.lifecycle.sources.base import Source
from pipeline_sre.lifecycle.sources.databricks.source import DATABRICKS
from pipeline_sre.lifecycle.sources.signals.source import SIGNALS

SOURCES: tuple[Source[Any, Any], ...] = (AIRFLOW, DATABRICKS, SIGNALS, ALERTS)


def source_name(source: str) -> str:
    """The source an incident's `source` field names: `signal:<detector>` belongs to `signal`."""
    return source.partition(":")[0]


def source_of(source: str) -> Source[Any, Any]:
    """The source owning incidents with this `source` field; an unknown one is refused, naming the known ones."""
    name = source_name(source)
    for known in SOURCES:
        if known.name == name:
            return known
    names = ", ".join(s.name for s in SOURCES)
    raise InvalidInput(f"no source handles incidents from {source!r}; the sources are: {names}")
