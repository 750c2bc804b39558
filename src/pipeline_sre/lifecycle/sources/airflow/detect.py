"""Detect: failed DAG runs in a window, across DAGs and environments, in few requests and few bytes."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.errors import InvalidInput, PipelineSreError
from pipeline_sre.lifecycle.compact import fit
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.models import DagRun, Page, iso, parse_time
from pipeline_sre.settings.config import DagMeta, EnvironmentConfig

MAX_WINDOW_MINUTES = 7 * 24 * 60
MAX_SCAN_RUNS = 50_000  # a walk stops here; the total stays exact because the server counts it
# The newest failures read first. A window holding more is answered narrowly (Airflow 3): every tier-1 or
# business-critical DAG and the DAGs failing most among these, each counted exactly, the rest as a number.
# Reading all 5,000 runs of a large incident costs the api-server ~2 s; this head ~0.3 s (bench_detect).
HEAD_RUNS = 500
NARROWED = (
    "more than {head} failures: by_dag holds every tier-1 or business-critical DAG, then those failing most "
    "among the newest {head}; each count is exact, total is exact; list_failed_runs pages through all"
)
MAX_CRITICAL_DAGS = 500  # more DAGs than this configured or tagged critical: the window is read whole instead
NEWEST_RUNS_SHOWN = 5
TAG_LOOKUPS = 10  # at most this many DAGs the tag pages missed are looked up one by one
SHOWN_TASKS = 20  # DAGs whose latest run's first failed task is read
RECENT_FAILURES_BYTES = 4000
_META_TAG_KEYS = frozenset({"tier", "business_critical", "critical", "team", "owner"})


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _DagGroup:
    env: str
    dag_id: str
    failures: int
    newest: DagRun


def _group(env: str, runs: list[DagRun]) -> list[_DagGroup]:
    counts = Counter(r.dag_id for r in runs)
    newest: dict[str, DagRun] = {}
    for run in runs:  # runs arrive newest first
        newest.setdefault(run.dag_id, run)
    return [_DagGroup(env, dag_id, counts[dag_id], newest[dag_id]) for dag_id in counts]


def _meta(env_cfg: EnvironmentConfig, dag_id: str, tags: list[str] | None) -> dict[str, Any]:
    meta = env_cfg.meta_for(dag_id, tags)
    out: dict[str, Any] = {"tier": meta.tier, "critical": meta.business_critical}
    if meta.owner:
        out["owner"] = meta.owner
    # tier, criticality and owner are given as fields: their tags would only repeat them.
    shown_tags = sorted(t for t in set(meta.tags) | set(tags or []) if t.partition(":")[0] not in _META_TAG_KEYS)
    if shown_tags:
        out["tags"] = shown_tags[:6]
    return out


def _urgency(gm: tuple[_DagGroup, dict[str, Any]]) -> tuple[int, bool, int, str]:
    group, meta = gm
    return meta["tier"], not meta["critical"], -group.failures, group.dag_id


def _literal_part(glob: str) -> str:
    """The longest run of a glob without wildcards: what the server can search DAG ids for."""
    return max(re.split(r"[*?\[\]]", glob), key=len)


async def _critical_dags(client: AirflowClient, env_cfg: EnvironmentConfig) -> dict[str, list[str]] | None:
    """Every DAG that config or its tags make tier 1 or business-critical, with its tags; None when there are
    too many to count one by one. The server's matches are a superset, narrowed here by the config's own rules."""
    globs = [m.match for m in env_cfg.dags if m.tier == 1 or m.business_critical]
    found = await client.dags_by_name_or_tag(
        sorted({_literal_part(g) for g in globs}), ["tier:1", "critical"], max_dags=MAX_CRITICAL_DAGS
    )
    if found is None:
        return None
    return {d: tags for d, tags in found.items() if _is_critical(env_cfg.meta_for(d, tags))}


def _is_critical(meta: DagMeta) -> bool:
    return meta.tier == 1 or meta.business_critical


async def _scan(
    client: AirflowClient, env_cfg: EnvironmentConfig, start: datetime, end: datetime
) -> tuple[Page, list[DagRun] | None, dict[str, list[str]]]:
    """The window's newest runs and the server's exact total, with the runs to group: the window whole, or,
    when it holds more than HEAD_RUNS, every run of the critical DAGs and of the DAGs failing most among the
    newest (None when the window was read whole). Also the tags of the DAGs it has seen."""
    # The tags page does not depend on the runs: it is fetched while they are read.
    head, tags = await asyncio.gather(
        client.runs_ending_between(start, end, max_runs=MAX_SCAN_RUNS, head=HEAD_RUNS),
        client.tags_of_failing_dags(start),
    )
    if head.extra.get("strategy") != "head" or head.extra["complete"]:
        return head, None, tags
    critical = await _critical_dags(client, env_cfg)
    if critical is None:
        return await client.runs_ending_between(start, end, max_runs=MAX_SCAN_RUNS), None, tags
    tags |= critical
    ranked = sorted(((g, _meta(env_cfg, g.dag_id, tags.get(g.dag_id))) for g in _group("", head.items)), key=_urgency)
    focus = set(critical) | {g.dag_id for g, _ in ranked[:SHOWN_TASKS]}
    return head, await client.runs_of_dags_ending_between(sorted(focus), start, end), tags


async def recent_failures(rt: Runtime, window_minutes: int = 60, environment: str | None = None) -> dict[str, Any]:
    if not 1 <= window_minutes <= MAX_WINDOW_MINUTES:
        raise InvalidInput(f"window_minutes must be between 1 and {MAX_WINDOW_MINUTES} (7 days); got {window_minutes}")
    end = _now()
    start = end - timedelta(minutes=window_minutes)

    async def one(env: str) -> dict[str, Any]:
        client = rt.airflow(env)
        env_cfg = rt.environment(env)[1]
        head, focus, tags = await _scan(client, env_cfg, start, end)
        runs = head.items if focus is None else focus
        # A failing DAG neither page listed would sink to the default tier. When only a few are missing (a DAG
        # that failed and has run again since), they are looked up by name while the first failed tasks are
        # read; when many are (an estate larger than a page), a few lookups would not fix the order and would
        # slow every detection, so config globs are the way to give those tiers. The first failed tasks are read
        # for what the answer can show, the latest run of the most urgent DAGs, with room for each looked-up DAG
        # to move in or push one out.
        unseen = {r.dag_id for r in runs if r.dag_id not in tags and not env_cfg.configured(r.dag_id)}
        lookups = sorted(unseen) if len(unseen) <= TAG_LOOKUPS else []
        groups = _group(env, runs)
        guess = sorted(((g, _meta(env_cfg, g.dag_id, tags.get(g.dag_id))) for g in groups), key=_urgency)
        wanted = {(g.dag_id, g.newest.run_id) for g, _ in guess[: SHOWN_TASKS + len(lookups)]}
        wanted |= {(g.dag_id, g.newest.run_id) for g in groups if g.dag_id in lookups}
        found, tasks = await asyncio.gather(
            client.tags_of(lookups), client.failed_tasks_for_runs(sorted(wanted), end_gte=start)
        )
        tags |= found
        ranked = sorted(((g, _meta(env_cfg, g.dag_id, tags.get(g.dag_id))) for g in groups), key=_urgency)
        newest = [(env, r) for r in head.items[:NEWEST_RUNS_SHOWN]]
        whole = focus is None and len(head.items) >= head.total
        seen = {r.dag_id for r in head.items} | {g.dag_id for g in groups}
        return {"total": head.total, "groups": ranked, "tasks": tasks, "newest": newest, "whole": whole, "seen": seen}

    results = await rt.each_environment(rt.selected(environment), one)
    total, whole, seen = 0, True, 0
    errors: list[dict[str, str]] = []
    groups: list[tuple[_DagGroup, dict[str, Any]]] = []
    newest: list[tuple[str, DagRun]] = []
    first_failed: dict[tuple[str, str, str], str] = {}
    for env, res in results:
        if isinstance(res, PipelineSreError):
            errors.append({"environment": env, **res.to_dict()})
            continue
        total += res["total"]
        whole, seen = whole and res["whole"], seen + len(res["seen"])
        for (dag_id, run_id), tis in res["tasks"].items():
            first = min(tis, key=lambda t: (t.start_date or end, t.task_id))
            first_failed[(env, dag_id, run_id)] = first.task_id
        groups += res["groups"]
        newest += res["newest"]

    groups.sort(key=_urgency)
    newest.sort(key=lambda t: t[1].end_date or start, reverse=True)
    result: dict[str, Any] = {
        "window": {"minutes": window_minutes, "start": iso(start), "end": iso(end)},
        "environments": rt.selected(environment),
        "total": total,
        # A window read whole counts its failing DAGs; one answered narrowly knows those it has seen.
        **(
            {"dags_failing": len(groups)}
            if whole
            else {"dags_failing_at_least": seen, "narrowed": NARROWED.format(head=HEAD_RUNS)}
        ),
        # The DAG's tier, owner and first failed task are in by_dag; the run's link comes with triage.
        "newest_runs": [
            {"env": env, "dag_id": run.dag_id, "run_id": run.run_id, "end": iso(run.end_date)}
            for env, run in newest[:NEWEST_RUNS_SHOWN]
        ],
        "by_dag": [
            {
                "env": g.env,
                "dag_id": g.dag_id,
                "failures": g.failures,
                **meta,
                "latest_run": g.newest.run_id,
                "latest_end": iso(g.newest.end_date),
                "first_failed_task": first_failed.get((g.env, g.dag_id, g.newest.run_id)),
            }
            for g, meta in groups
        ],
    }
    if total > len(result["newest_runs"]):
        result["next"] = {
            "tool": "list_failed_runs",
            "cursor": encode_cursor(None, start, end, {e: 0 for e in rt.selected(environment)}),
        }
    if errors:
        result["errors"] = errors
    return fit(result, RECENT_FAILURES_BYTES, "newest_runs", "by_dag")


def encode_cursor(dag_id: str | None, since: datetime, until: datetime, offsets: dict[str, int]) -> str:
    raw = {"d": dag_id, "s": iso(since), "u": iso(until), "o": offsets}
    return base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str | None, datetime, datetime, dict[str, int]]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        since, until = parse_time(raw["s"]), parse_time(raw["u"])
        offsets = {str(k): int(v) for k, v in raw["o"].items()}
        if since is None or until is None or any(v < 0 for v in offsets.values()):
            raise ValueError
        return raw.get("d"), since, until, offsets
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor is not valid: pass the 'cursor' value from a previous answer unchanged") from None


def _parse_bound(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise InvalidInput(f"{name} must be an ISO-8601 time such as 2026-01-31T08:00:00Z; got {value!r}")
    return parsed


async def failed_runs(
    rt: Runtime,
    dag_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    environment: str | None = None,
) -> dict[str, Any]:
    """Failed runs newest first, merged across environments; the cursor keeps per-environment offsets."""
    if not 1 <= limit <= 200:
        raise InvalidInput(f"limit must be between 1 and 200; got {limit}")
    if cursor:
        dag_id, start, end, offsets = decode_cursor(cursor)
        unknown = [e for e in offsets if e not in rt.settings.environments]
        if unknown:
            raise InvalidInput(f"cursor names unknown environment(s) {unknown}; it belongs to another configuration")
    else:
        end = _parse_bound("until", until) or _now()
        start = _parse_bound("since", since) or end - timedelta(days=1)
        if start >= end:
            raise InvalidInput("since must be earlier than until")
        offsets = {e: 0 for e in rt.selected(environment)}

    async def one(env: str) -> tuple[list[DagRun], int]:
        page = await rt.airflow(env).list_dag_runs(
            dag_id=dag_id or "~", end_gte=start, end_lte=end, offset=offsets[env], limit=limit
        )
        return page.items, page.total

    active = [e for e in offsets if environment is None or e == environment]
    merged: list[tuple[str, DagRun]] = []
    total = 0
    errors: list[dict[str, str]] = []
    totals: dict[str, int] = {}
    for env, res in await rt.each_environment(active, one):
        if isinstance(res, PipelineSreError):
            if cursor is None and len(active) == 1:
                raise res
            errors.append({"environment": env, **res.to_dict()})
            continue
        items, env_total = res
        totals[env] = env_total
        total += env_total
        merged += [(env, r) for r in items]
    merged.sort(key=lambda er: er[1].end_date or start, reverse=True)
    result: dict[str, Any] = {
        "window": {"start": iso(start), "end": iso(end)},
        "dag_id": dag_id,
        "total": total,
        "runs": [
            {
                "env": env,
                "dag_id": r.dag_id,
                "run_id": r.run_id,
                "end": iso(r.end_date),
                "duration_s": r.duration_seconds,
                "run_type": r.run_type,
                "url": rt.airflow(env).run_url(r.dag_id, r.run_id),
            }
            for env, r in merged[:limit]
        ],
    }
    if errors:
        result["errors"] = errors
    result = fit(result, rt.settings.server.max_result_bytes - 300, "runs")
    # Offsets advance only by what the answer really holds, so trimming never skips a run.
    next_offsets = dict(offsets)
    for run in result["runs"]:
        next_offsets[run["env"]] += 1
    more = any(next_offsets[e] < totals.get(e, 0) for e in totals)
    result["cursor"] = encode_cursor(dag_id, start, end, next_offsets) if more else None
    return result
