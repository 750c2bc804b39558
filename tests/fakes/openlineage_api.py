"""A Marquez stand-in: `GET /api/v1/lineage?nodeId=...&depth=N` over jobs and the datasets they read and write.

The answer follows Marquez's documented `LineageGraph`: `{"graph": [node, ...]}`, each node with `id`
(`job:<ns>:<name>` / `dataset:<ns>:<name>`), `type` (JOB / DATASET), `data` (with `namespace` and
`name`), `inEdges` and `outEdges` (`{origin, destination}`). Like Marquez, the graph holds the nodes
connected to the asked one in either direction within `depth` hops; an unknown node is a 404.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx


@dataclass(frozen=True)
class FakeJob:
    namespace: str
    name: str
    inputs: tuple[str, ...]  # dataset names, in the job's namespace
    outputs: tuple[str, ...]


class FakeMarquez:
    def __init__(self) -> None:
        self.jobs: list[FakeJob] = []
        self.requests: list[str] = []  # the nodeId of each lineage request
        self.answer: Any = None  # when set, returned as is (a foreign or broken body)

    def add_job(self, namespace: str, name: str, inputs: list[str], outputs: list[str]) -> None:
        self.jobs.append(FakeJob(namespace, name, tuple(inputs), tuple(outputs)))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _edges(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for job in self.jobs:
            job_id = f"job:{job.namespace}:{job.name}"
            out += [(f"dataset:{job.namespace}:{d}", job_id) for d in job.inputs]
            out += [(job_id, f"dataset:{job.namespace}:{d}") for d in job.outputs]
        return out

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET" or request.url.path != "/api/v1/lineage":
            return httpx.Response(404, json={"code": 404, "message": "HTTP 404 Not Found"})
        query = parse_qs(request.url.query.decode())
        node_id, depth = query.get("nodeId", [""])[0], int(query.get("depth", ["20"])[0])
        self.requests.append(node_id)
        if self.answer is not None:
            return httpx.Response(200, content=json.dumps(self.answer).encode())
        edges = self._edges()
        known = {n for e in edges for n in e} | {f"job:{j.namespace}:{j.name}" for j in self.jobs}
        if node_id not in known:
            return httpx.Response(404, json={"code": 404, "message": f"Node '{node_id}' not found"})
        reached = {node_id}
        queue: deque[tuple[str, int]] = deque([(node_id, 0)])
        while queue:
            node, hops = queue.popleft()
            if hops >= depth * 2:  # Marquez's depth counts jobs; a dataset sits between two of them
                continue
            for a, b in edges:
                other = b if a == node else a if b == node else None
                if other is not None and other not in reached:
                    reached.add(other)
                    queue.append((other, hops + 1))
        return httpx.Response(200, json={"graph": [self._node(n, edges) for n in sorted(reached)]})

    @staticmethod
    def _node(node_id: str, edges: list[tuple[str, str]]) -> dict[str, Any]:
        kind, namespace, name = node_id.split(":", 2)
        data: dict[str, Any] = {"id": {"namespace": namespace, "name": name}, "namespace": namespace, "name": name}
        data["type"] = "BATCH" if kind == "job" else "DB_TABLE"
        return {
            "id": node_id,
            "type": kind.upper(),
            "data": data,
            "inEdges": [{"origin": a, "destination": b} for a, b in edges if b == node_id],
            "outEdges": [{"origin": a, "destination": b} for a, b in edges if a == node_id],
        }


class HostRouter(httpx.AsyncBaseTransport):
    """One transport for a Runtime that talks to several stand-ins: each request goes to its host's."""

    def __init__(self, routes: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = routes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.routes[request.url.host].handle_async_request(request)
