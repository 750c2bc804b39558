"""The console's dashboard: the operating statistics of one window (`OperatingStats.to_dict()`) as headline
figures and four charts: MTTR per day, fix success rate, incidents by category, plan vs executed."""

from __future__ import annotations

from datetime import date
from typing import Any

from pipeline_sre.app.operating_stats import duration_text
from pipeline_sre.surfaces.web.charts import Chart, daily_columns, hbars

WINDOWS = (7, 30, 90, 365)


def _rate(label: str, fixes: dict[str, Any]) -> tuple[str, float, str]:
    settled = fixes["resolved"] + fixes["not_resolved"]
    rate = fixes["success_rate"]
    text = "no settled fix" if rate is None else f"{rate:.0%} ({fixes['resolved']} of {settled})"
    return label, 100.0 * (rate or 0.0), text


def _counts(items: dict[str, int]) -> list[tuple[str, float, str]]:
    return [(name, float(n), str(n)) for name, n in items.items()]


def dashboard_context(stats: dict[str, Any]) -> dict[str, Any]:
    window, incidents = stats["window"], stats["incidents"]
    ttr, fixes, approval = stats["time_to_resolve"], stats["fixes"], stats["approval_latency"]
    since, until = date.fromisoformat(window["since"][:10]), date.fromisoformat(window["until"][:10])
    handling = incidents["handling"]
    shadow = sum(stats["shadow_plans"].values())
    charts: list[tuple[str, Chart]] = [
        (
            "Time to resolve per day",
            daily_columns(
                f"Median time from failure to resolution per day, {since} to {until}: "
                f"{ttr['count']} resolved, median {duration_text(ttr['median_s'])}",
                since,
                until,
                ttr["daily"],
            ),
        ),
        (
            "Fix success rate",
            hbars(
                f"Executed fixes whose incident resolved: {_rate('', fixes)[2]}",
                [_rate("all kinds", fixes), *(_rate(kind, f) for kind, f in fixes["by_kind"].items())],
                scale=100.0,
                tone="ok",
            ),
        ),
        (
            "Incidents by category",
            hbars(f"{incidents['opened']} incidents opened, by category", _counts(incidents["by_category"])),
        ),
        (
            "Plan vs executed",
            hbars(
                f"Of {incidents['opened']} incidents: {handling['executed']} with an executed write, "
                f"{handling['plan_only']} planned only, {handling['no_plan']} with no plan; {shadow} shadow plans",
                [
                    ("executed", handling["executed"], str(handling["executed"])),
                    ("plan only", handling["plan_only"], str(handling["plan_only"])),
                    ("no plan", handling["no_plan"], str(handling["no_plan"])),
                    ("shadow plans", shadow, str(shadow)),
                ],
            ),
        ),
    ]
    headline = [
        ("Incidents opened", str(incidents["opened"])),
        ("Resolved", str(incidents["by_outcome"]["resolved"])),
        ("Escalated", str(incidents["by_outcome"]["escalated"])),
        ("Still open", str(incidents["by_outcome"]["open"])),
        ("MTTR median", duration_text(ttr["median_s"])),
        ("MTTR p90", duration_text(ttr["p90_s"])),
        ("Fix success rate", _rate("", fixes)[2]),
        ("Approval wait (median)", duration_text(approval["median_s"])),
    ]
    return {"charts": charts, "headline": headline, "by_source": incidents["by_source"], "window": window}
