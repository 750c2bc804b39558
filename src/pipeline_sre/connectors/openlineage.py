"""OpenLineage connector: the jobs downstream of a job, read from a Marquez-compatible lineage API.

`GET /api/v1/lineage?nodeId=job:<namespace>:<job>&depth=N` answers `{"graph": [node, ...]}`; each node has
an `id` (`job:<ns>:<name>` or `dataset:<ns>:<name>`), a `type` (JOB or DATASET), its `data` (a Job or
Dataset, with `namespace` and `name`) and `inEdges` / `outEdges` of `{origin, destination}` ids. Downstream
is followed along out-edges only: job -> the datasets it writes -> the jobs that read them.

Lineage only sharpens triage, so there is no retry: one failed request degrades it, and the caller says so.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx

from pipeline_sre.errors import BackendInvalidResponse, BackendRefused, BackendUnavailable, NotFound
from pipeline_sre.settings.lineage import OpenLineageConnection

USER_AGENT = "pipeline-sre/0.1"


@dataclass(frozen=True, slots=True)
class JobLink:
    """A job `depth` job-hops downstream, reached through the dataset `via`."""

    namespace: str
    job: str
    via: str
    depth: int


@dataclass(frozen=True, slots=True)
class _Node:
    kind: str
    namespace: str
    name: str
    out: tuple[str, ...]


class OpenLineageClient:
    def __init__(
        self, environment: str, conn: OpenLineageConnection, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.environment = environment
        self.conn = conn
        token = conn.token()
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=conn.url,
            timeout=conn.timeout_seconds,
            verify=conn.verify_tls,
            transport=transport,
            headers=headers,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _where(self) -> str:
        return f"OpenLineage in environment '{self.environment}' ({self.conn.url})"

    async def downstream_jobs(self, job: str, depth: int) -> list[JobLink]:
        """Jobs fed by `job`'s outputs, nearest first, at most `depth` job-hops away."""
        start = f"job:{self.conn.namespace}:{job}"
        try:
            response = await self._http.get("/api/v1/lineage", params={"nodeId": start, "depth": depth})
        except httpx.TransportError as err:
            raise BackendUnavailable(f"{self._where()} is unavailable: {type(err).__name__}") from None
        if response.status_code == 404:
            raise NotFound(f"{self._where()} has no job {job!r} in namespace {self.conn.namespace!r}")
        if response.status_code >= 500:
            raise BackendUnavailable(f"{self._where()} is unavailable: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise BackendRefused(f"{self._where()} refused the lineage request: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise BackendInvalidResponse(f"{self._where()} answered the lineage request with no JSON") from None
        return _walk(self._nodes(data), start, depth)

    def _nodes(self, data: Any) -> dict[str, _Node]:
        graph = data.get("graph") if isinstance(data, dict) else None
        if not isinstance(graph, list):
            raise BackendInvalidResponse(f"{self._where()} answered without a 'graph' list: not a lineage API")
        nodes: dict[str, _Node] = {}
        for raw in graph:
            node = _node(raw)
            if node is None:
                raise BackendInvalidResponse(
                    f"{self._where()} answered a graph node without id, type, data and outEdges"
                )
            nodes[str(raw["id"])] = node
        return nodes


def _node(raw: Any) -> _Node | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or raw.get("type") not in ("JOB", "DATASET"):
        return None
    edges = raw.get("outEdges")
    if not isinstance(edges, list) or not all(
        isinstance(e, dict) and isinstance(e.get("destination"), str) for e in edges
    ):
        return None
    # The names come from `data`, not from the id: namespaces and names may both hold ':'.
    data = raw.get("data")
    namespace, name = (data.get("namespace"), data.get("name")) if isinstance(data, dict) else (None, None)
    if not isinstance(namespace, str) or not isinstance(name, str):
        return None
    return _Node(str(raw["type"]), namespace, name, tuple(str(e["destination"]) for e in edges))


def _walk(nodes: dict[str, _Node], start: str, depth: int) -> list[JobLink]:
    """Breadth first along out-edges from `start`; each job once, at its nearest depth (cycles end there)."""
    found: list[JobLink] = []
    seen = {start}
    queue: deque[tuple[str, int]] = deque([(start, 0)])
    while queue:
        job_id, hops = queue.popleft()
        if hops >= depth or job_id not in nodes:
            continue
        for dataset_id in nodes[job_id].out:
            dataset = nodes.get(dataset_id)
            if dataset is None or dataset.kind != "DATASET":
                continue
            for reader_id in dataset.out:
                reader = nodes.get(reader_id)
                if reader is None or reader.kind != "JOB" or reader_id in seen:
                    continue
                seen.add(reader_id)
                found.append(JobLink(reader.namespace, reader.name, dataset.name, hops + 1))
                queue.append((reader_id, hops + 1))
    return found
