"""Lineage-aware severity: the DAGs a failed run leaves without their input, and what that does to severity.

A tier-3 DAG whose asset feeds a tier-1 report is as urgent as the report. Triage walks Airflow's asset
graph (and an OpenLineage service where one is configured) from the failed DAG, bounded in depth and in
consumers, reads each consumer's tier and owners the way triage reads the failed DAG's own (config globs
first, then DAG tags), and classifies the failure again as if it were its most critical consumer. Lineage
only sharpens triage: a lookup that fails is reported as unavailable, with its reason, and triage goes on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.connectors.openlineage import OpenLineageClient
from pipeline_sre.errors import NotFound, PipelineSreError
from pipeline_sre.lifecycle.compact import clip
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import EnvironmentConfig, Severity, SeverityConfig
from pipeline_sre.settings.lineage import LineageConfig

SHOWN = 3  # consumers a triage answer lists (most critical first); the total is given beside them
OPENLINEAGE_JOBS = 3  # tasks of the failed run asked about on OpenLineage, root cause first
# Airflow's default owner when a DAG names none: it names no person to tell.
DEFAULT_OWNER = "airflow"


@dataclass(frozen=True, slots=True)
class Consumer:
    dag_id: str
    via_asset: str
    depth: int
    tier: int
    business_critical: bool
    owners: tuple[str, ...]

    def rank(self) -> tuple[int, bool, int, str]:
        return (self.tier, not self.business_critical, self.depth, self.dag_id)

    def view(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "dag_id": self.dag_id,
            "via_asset": clip(self.via_asset, 120),
            "depth": self.depth,
            "tier": self.tier,
            "owners": list(self.owners[:3]),
        }
        if self.business_critical:
            row["business_critical"] = True
        return row


@dataclass(slots=True)
class Downstream:
    """What the lookups found: consumers, the sources that answered, and why any did not."""

    consumers: list[Consumer] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    complete: bool = True

    def most_critical(self) -> Consumer | None:
        return min(self.consumers, key=Consumer.rank, default=None)

    def owners(self) -> list[str]:
        """Owners of the consumers, most critical consumer's first, each once."""
        ordered = sorted(self.consumers, key=Consumer.rank)
        return list(dict.fromkeys(o for c in ordered for o in c.owners))

    def view(self) -> dict[str, Any]:
        top = self.most_critical()
        out: dict[str, Any] = {
            "consumers": [c.view() for c in sorted(self.consumers, key=Consumer.rank)[:SHOWN]],
            "total": len(self.consumers),
            "most_critical": top.dag_id if top else None,
            "owners": self.owners()[:5],
            "sources": self.sources,
            "complete": self.complete,
        }
        if self.unavailable:
            out["unavailable"] = clip("lineage unavailable: " + "; ".join(self.unavailable), 300)
        return out


async def blocked_by(rt: Runtime, env: str, dag_id: str, run_state: str, task_ids: list[str]) -> dict[str, Any] | None:
    """The downstream view of a failed run (None for a run that did not fail: it blocks nothing)."""
    if run_state != "failed":
        return None
    return (await downstream(rt, env, dag_id, task_ids)).view()


async def downstream(rt: Runtime, env: str, dag_id: str, task_ids: list[str]) -> Downstream:
    """Consumers of `dag_id`'s outputs: Airflow's asset graph, then OpenLineage, then each one's tier and owners."""
    env_cfg = rt.environment(env)[1]
    cfg = env_cfg.lineage
    found = Downstream()
    hops: dict[str, tuple[str, int]] = {}  # consumer -> (the asset it is reached through, depth)
    if cfg.asset_graph:
        try:
            found.complete = await _asset_walk(rt.airflow(env), dag_id, cfg, hops)
            found.sources.append("airflow_assets")
        except PipelineSreError as err:
            found.unavailable.append(f"Airflow asset graph: {err.message}")
    openlineage = rt.clients.openlineage(env)
    if openlineage is not None:
        try:
            found.complete &= await _openlineage_walk(openlineage, dag_id, task_ids, cfg, hops)
            found.sources.append("openlineage")
        except PipelineSreError as err:
            found.unavailable.append(f"OpenLineage: {err.message}")
    found.consumers = await _profiles(rt.airflow(env), env_cfg, hops, found)
    return found


async def _asset_walk(client: AirflowClient, dag_id: str, cfg: LineageConfig, hops: dict[str, tuple[str, int]]) -> bool:
    """Breadth first, one request per hop for the whole frontier; True when nothing was left unread."""
    frontier, complete = [dag_id], True
    for depth in range(1, cfg.max_depth + 1):
        links, whole = await client.asset_consumers(frontier)
        complete &= whole
        frontier = []
        for link in links:
            if link.consumer == dag_id or link.consumer in hops:
                continue  # a cycle, or a DAG reached by a shorter path
            if len(hops) >= cfg.max_consumers:
                return False
            hops[link.consumer] = (link.asset, depth)
            frontier.append(link.consumer)
        if not frontier:
            return complete
    return False  # the depth bound stopped the walk with DAGs still to follow


async def _openlineage_walk(
    client: OpenLineageClient, dag_id: str, task_ids: list[str], cfg: LineageConfig, hops: dict[str, tuple[str, int]]
) -> bool:
    """Downstream jobs of the failed run's tasks. Airflow's OpenLineage integration names a task's job
    `<dag_id>.<task_id>`, so a downstream job's DAG is the part before the first dot; jobs of other
    namespaces belong to other schedulers, whose tiers and owners this environment cannot read."""
    jobs = [f"{dag_id}.{t}" for t in task_ids[:OPENLINEAGE_JOBS]]
    answers = await asyncio.gather(*(client.downstream_jobs(j, cfg.max_depth) for j in jobs), return_exceptions=True)
    recorded = 0
    for answer in answers:
        if isinstance(answer, NotFound):
            continue  # this task emitted no lineage; another may have
        if isinstance(answer, BaseException):
            raise answer
        recorded += 1
        for link in answer:
            consumer = link.job.partition(".")[0]
            if link.namespace != client.conn.namespace or consumer == dag_id:
                continue
            known = hops.get(consumer)
            if known is not None and known[1] <= link.depth:
                continue
            if known is None and len(hops) >= cfg.max_consumers:
                return False
            hops[consumer] = (link.via, link.depth)
    if jobs and not recorded:
        raise NotFound(f"no job of DAG {dag_id!r} is recorded in namespace {client.conn.namespace!r}")
    return True


async def _profiles(
    client: AirflowClient, env_cfg: EnvironmentConfig, hops: dict[str, tuple[str, int]], found: Downstream
) -> list[Consumer]:
    """Each consumer's tier and owners: config globs first, DAG tags and owners from Airflow after."""
    names = list(hops)
    answers = await asyncio.gather(*(client.dag_profile(n) for n in names), return_exceptions=True)
    consumers: list[Consumer] = []
    failed: list[str] = []
    for name, answer in zip(names, answers, strict=True):
        tags: list[str] = []
        airflow_owners: list[str] = []
        if isinstance(answer, tuple):
            tags, airflow_owners = answer
        elif isinstance(answer, PipelineSreError) and not isinstance(answer, NotFound):
            failed.append(f"{name}: {answer.message}")
        elif isinstance(answer, BaseException) and not isinstance(answer, NotFound):
            raise answer
        meta = env_cfg.meta_for(name, tags)
        owners = (meta.owner,) if meta.owner else tuple(o for o in airflow_owners if o != DEFAULT_OWNER)
        via, depth = hops[name]
        consumers.append(Consumer(name, via, depth, meta.tier, meta.business_critical, owners))
    if failed:
        found.unavailable.append("consumer metadata: " + "; ".join(failed[:2]))
    return consumers


def weigh(
    severity_cfg: SeverityConfig,
    severity: Severity,
    rule: str,
    view: dict[str, Any] | None,
    recent_failures: int,
) -> tuple[Severity, str]:
    """The failure's severity as its most critical consumer's would be, when that is higher; the rule then
    says which consumer, through which asset, raised it from what."""
    top = (view or {}).get("consumers") or []
    if not top:
        return severity, rule
    first = top[0]  # the view lists the most critical consumer first
    raised, by = severity_cfg.classify(first["tier"], bool(first.get("business_critical")), recent_failures)
    if int(raised[3]) >= int(severity[3]):
        return severity, rule
    return raised, (
        f"downstream tier-{first['tier']} consumer {first['dag_id']} via asset {first['via_asset']}: "
        f"raised {severity}→{raised} ({by}; own rule {rule})"
    )
