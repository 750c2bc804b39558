"""`pipeline-sre stats`: the operating statistics from the store, as tables or JSON."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline_sre.surfaces.cli.common import ConfigOpt, EnvOpt, JsonOpt, console, emit, run_lifecycle, table

if TYPE_CHECKING:  # imported inside the command, so the CLI starts light
    from pipeline_sre.lifecycle.runtime import Runtime

WindowOpt = Annotated[int, typer.Option("--window-days", "-d", help="Days to look back, 1-365")]
DEFAULT_DAYS = 30  # app.operating_stats.DEFAULT_WINDOW_DAYS, not imported here: the CLI starts light


def stats(
    window_days: WindowOpt = DEFAULT_DAYS, env: EnvOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None
) -> None:
    """Operating statistics from the store: incidents by category and outcome, MTTR, fix success rate, plan vs
    executed, approval latency. Counts what every surface and replica did; a restart loses nothing."""
    from pipeline_sre.app import operating_stats

    async def go(rt: Runtime) -> dict[str, Any]:
        found = await asyncio.to_thread(operating_stats.operating_stats, rt, window_days, env)
        return found.to_dict()

    emit(run_lifecycle(config, go, "Reading the store…"), as_json, _render)


def _render(d: dict[str, Any]) -> None:
    from pipeline_sre.app.operating_stats import duration_text

    w, inc, ttr, fixes = d["window"], d["incidents"], d["time_to_resolve"], d["fixes"]
    where = w["environment"] or "all environments"
    rate = "—" if fixes["success_rate"] is None else f"{fixes['success_rate']:.0%}"
    rows = [
        ["incidents opened", inc["opened"]],
        *([f"  {k}", v] for k, v in inc["by_outcome"].items()),
        ["executed / plan only / no plan", " / ".join(str(inc["handling"][k]) for k in inc["handling"])],
        ["time to resolve: median / p90", f"{duration_text(ttr['median_s'])} / {duration_text(ttr['p90_s'])}"],
        ["fixes executed", fixes["executed"]],
        ["fix success rate (settled)", f"{rate} ({fixes['resolved']} of {fixes['resolved'] + fixes['not_resolved']})"],
        ["fixes still being verified", fixes["pending"]],
        ["approval wait: median", duration_text(d["approval_latency"]["median_s"])],
        ["shadow plans", sum(d["shadow_plans"].values())],
    ]
    console.print(table(f"Last {w['days']} days, {where} ({w['since']} to {w['until']})", ["figure", "value"], rows))
    categories = [[k, v] for k, v in inc["by_category"].items()]
    console.print(table("Incidents by category", ["category", "opened"], categories))
    kinds = [[k, f["executed"], f["resolved"], f["not_resolved"], f["pending"]] for k, f in fixes["by_kind"].items()]
    console.print(table("Fixes by kind", ["kind", "executed", "resolved", "not resolved", "pending"], kinds))
    days = [[x["day"], x["resolved"], duration_text(x["median_s"])] for x in ttr["daily"]]
    console.print(table("Time to resolve per day", ["day", "resolved", "median"], days))
