"""A GitHub REST stand-in for the endpoints change control uses, served over real HTTP.

GET/POST git refs, GET/PUT repository contents (base64, blob SHAs computed like git, the `sha` precondition
of an update: 409 on a mismatch, 422 when missing), GET/POST pulls (422 "A pull request already exists").
Bearer auth (401 "Bad credentials"). Every write is recorded in `writes` so tests can assert that nothing
was written. `fail_next` queues 5xx answers.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.databricks_api import serve_app


def blob_sha(text: str) -> str:
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _msg(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, "documentation_url": "https://docs.github.com/rest", **extra}, status)


@dataclass
class Repo:
    branches: dict[str, str] = field(default_factory=dict)  # branch -> commit sha
    commits: dict[str, dict[str, str]] = field(default_factory=dict)  # commit sha -> {path: text}
    pulls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeGitHub:
    token: str = "ghp_standin_token_not_a_secret_0000000000"
    repos: dict[str, Repo] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    fail_next: deque[int] = field(default_factory=deque)
    url: str = ""
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add_repo(self, name: str, files: dict[str, str], branch: str = "main") -> None:
        repo = self.repos[name] = Repo()
        repo.branches[branch] = self._commit(repo, dict(files))

    def _commit(self, repo: Repo, tree: dict[str, str]) -> str:
        sha = hashlib.sha1(f"commit {next(self._seq)} {sorted(tree.items())}".encode()).hexdigest()
        repo.commits[sha] = tree
        return sha

    def file(self, name: str, branch: str, path: str) -> str | None:
        repo = self.repos[name]
        return repo.commits[repo.branches[branch]].get(path)

    def set_file(self, name: str, branch: str, path: str, text: str) -> None:
        """Someone else pushes to the branch (used to show a stale approval is refused)."""
        repo = self.repos[name]
        tree = dict(repo.commits[repo.branches[branch]])
        tree[path] = text
        repo.branches[branch] = self._commit(repo, tree)

    # -- HTTP ---------------------------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/repos/{owner}/{name}/git/ref/heads/{branch:path}", self._get_ref, methods=["GET"]),
                Route("/repos/{owner}/{name}/git/refs", self._create_ref, methods=["POST"]),
                Route("/repos/{owner}/{name}/contents/{path:path}", self._get_contents, methods=["GET"]),
                Route("/repos/{owner}/{name}/contents/{path:path}", self._put_contents, methods=["PUT"]),
                Route("/repos/{owner}/{name}/pulls", self._list_pulls, methods=["GET"]),
                Route("/repos/{owner}/{name}/pulls", self._create_pull, methods=["POST"]),
            ]
        )

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        app = self.app

        async def guarded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                request = Request(scope)
                self.calls[f"{request.method} {request.url.path}"] += 1
                response: Response | None = None
                if request.headers.get("authorization") != f"Bearer {self.token}":
                    response = _msg(401, "Bad credentials")
                elif self.fail_next:
                    response = _msg(self.fail_next.popleft(), "Server Error")
                if response is not None:
                    await response(scope, receive, send)
                    return
                if request.method != "GET":
                    self.writes.append((request.method, request.url.path))
            await app(scope, receive, send)

        with serve_app(guarded) as url:
            self.url = url
            yield url

    def _repo(self, request: Request) -> Repo | None:
        return self.repos.get(f"{request.path_params['owner']}/{request.path_params['name']}")

    async def _get_ref(self, request: Request) -> Response:
        repo = self._repo(request)
        branch = request.path_params["branch"]
        if repo is None or branch not in repo.branches:
            return _msg(404, "Not Found")
        return JSONResponse({"ref": f"refs/heads/{branch}", "object": {"sha": repo.branches[branch], "type": "commit"}})

    async def _create_ref(self, request: Request) -> Response:
        repo = self._repo(request)
        if repo is None:
            return _msg(404, "Not Found")
        body = await request.json()
        ref, sha = str(body.get("ref") or ""), str(body.get("sha") or "")
        if not ref.startswith("refs/heads/") or sha not in repo.commits:
            return _msg(422, "Reference update failed")
        branch = ref.removeprefix("refs/heads/")
        if branch in repo.branches:
            return _msg(422, "Reference already exists")
        repo.branches[branch] = sha
        return JSONResponse({"ref": ref, "object": {"sha": sha, "type": "commit"}}, 201)

    async def _get_contents(self, request: Request) -> Response:
        repo = self._repo(request)
        if repo is None:
            return _msg(404, "Not Found")
        ref = request.query_params.get("ref") or "main"
        if ref not in repo.branches:
            return _msg(404, f"No commit found for the ref {ref}")
        path = request.path_params["path"]
        text = repo.commits[repo.branches[ref]].get(path)
        if text is None:
            return _msg(404, "Not Found")
        raw = base64.b64encode(text.encode()).decode()
        wrapped = "\n".join(raw[i : i + 60] for i in range(0, len(raw), 60)) + "\n"
        return JSONResponse(
            {
                "type": "file",
                "encoding": "base64",
                "size": len(text.encode()),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": wrapped,
                "sha": blob_sha(text),
            }
        )

    async def _put_contents(self, request: Request) -> Response:
        repo = self._repo(request)
        if repo is None:
            return _msg(404, "Not Found")
        body = await request.json()
        branch = body.get("branch") or "main"
        if branch not in repo.branches:
            return _msg(404, f"Branch {branch} not found")
        path = request.path_params["path"]
        tree = dict(repo.commits[repo.branches[branch]])
        current = tree.get(path)
        if current is not None and "sha" not in body:
            return _msg(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if current is not None and body["sha"] != blob_sha(current):
            return _msg(409, f"{path} does not match {body['sha']}")
        text = base64.b64decode(body["content"]).decode()
        tree[path] = text
        commit = self._commit(repo, tree)
        repo.branches[branch] = commit
        return JSONResponse(
            {"content": {"path": path, "sha": blob_sha(text)}, "commit": {"sha": commit, "message": body["message"]}},
            200 if current is not None else 201,
        )

    async def _list_pulls(self, request: Request) -> Response:
        repo = self._repo(request)
        if repo is None:
            return _msg(404, "Not Found")
        head = request.query_params.get("head")
        state = request.query_params.get("state") or "open"
        owner = request.path_params["owner"]
        pulls = [
            p
            for p in repo.pulls
            if (head is None or f"{owner}:{p['head']['ref']}" == head) and (state == "all" or p["state"] == state)
        ]
        return JSONResponse(list(reversed(pulls)))

    async def _create_pull(self, request: Request) -> Response:
        repo = self._repo(request)
        if repo is None:
            return _msg(404, "Not Found")
        body = await request.json()
        head, base = body.get("head"), body.get("base")
        if head not in repo.branches or base not in repo.branches:
            return _msg(422, "Validation Failed", errors=[{"resource": "PullRequest", "code": "invalid"}])
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in repo.pulls):
            owner = request.path_params["owner"]
            return _msg(
                422, "Validation Failed", errors=[{"message": f"A pull request already exists for {owner}:{head}."}]
            )
        number = len(repo.pulls) + 1
        name = f"{request.path_params['owner']}/{request.path_params['name']}"
        pull = {
            "number": number,
            "html_url": f"https://github.example/{name}/pull/{number}",
            "state": "open",
            "title": body.get("title"),
            "body": body.get("body"),
            "head": {"ref": head, "sha": repo.branches[head]},
            "base": {"ref": base, "sha": repo.branches[base]},
        }
        repo.pulls.append(pull)
        return JSONResponse(pull, 201)
