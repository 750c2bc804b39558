"""A GitHub REST stand-in for the endpoints change control uses, served over real HTTP.

GET/POST git refs, GET/PUT repository contents (base64, blob SHAs computed like git, the `sha` precondition
of an update: 409 on a mismatch, 422 when missing; `ref` may be a branch or a commit sha), GET/POST pulls
(422 "A pull request already exists"), GET one pull (its `user`, `head.sha` following the branch,
`changed_files`, `merged`), GET its reviews (paged; `add_review` submits one as `login`), and PUT its merge
(409 "Head branch was modified" when `sha` is not the head, 405 "Pull Request is not mergeable" once merged).
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
    login: str = "pipeline-sre-bot"  # the token's user: the author of every pull request it opens
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _review_ids: Iterator[int] = field(default_factory=lambda: itertools.count(3_000_000_001))

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

    def pull(self, name: str, number: int) -> dict[str, Any]:
        return self.repos[name].pulls[number - 1]

    def head_sha(self, name: str, number: int) -> str:
        repo = self.repos[name]
        return repo.branches[self.pull(name, number)["head"]["ref"]]

    def add_review(
        self, name: str, number: int, login: str, state: str, commit_id: str | None = None
    ) -> dict[str, Any]:
        """`login` submits a review (APPROVED, CHANGES_REQUESTED, COMMENTED) of `commit_id` (default: the head)."""
        review = {
            "id": next(self._review_ids),
            "node_id": "PRR_standin",
            "user": {"login": login, "type": "User"},
            "body": "",
            "state": state,
            "commit_id": commit_id or self.head_sha(name, number),
            "submitted_at": "2026-12-05T10:00:00Z",
            "html_url": f"https://github.example/{name}/pull/{number}#pullrequestreview",
        }
        self.pull(name, number)["reviews"].append(review)
        return review

    def _pull_json(self, repo: Repo, pull: dict[str, Any]) -> dict[str, Any]:
        head = pull["head"]["ref"]
        head_sha = repo.branches.get(head, pull["head"]["sha"])
        tree, start = repo.commits[head_sha], repo.commits[pull["base_commit"]]
        changed = sum(1 for path in set(tree) | set(start) if tree.get(path) != start.get(path))
        out = {k: v for k, v in pull.items() if k not in ("reviews", "base_commit")}
        out["head"] = {**pull["head"], "sha": head_sha}
        out["changed_files"] = changed
        out["merged_at"] = "2026-12-05T11:00:00Z" if pull["merged"] else None
        return out

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
                Route("/repos/{owner}/{name}/pulls/{number:int}", self._get_pull, methods=["GET"]),
                Route("/repos/{owner}/{name}/pulls/{number:int}/reviews", self._list_reviews, methods=["GET"]),
                Route("/repos/{owner}/{name}/pulls/{number:int}/merge", self._merge_pull, methods=["PUT"]),
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
        commit = repo.branches.get(ref) or (ref if ref in repo.commits else None)
        if commit is None:
            return _msg(404, f"No commit found for the ref {ref}")
        path = request.path_params["path"]
        text = repo.commits[commit].get(path)
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
        return JSONResponse([self._pull_json(repo, p) for p in reversed(pulls)])

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
            "user": {"login": self.login, "type": "Bot"},
            "merged": False,
            "head": {"ref": head, "sha": repo.branches[head]},
            "base": {"ref": base, "sha": repo.branches[base]},
            "base_commit": repo.branches[base],
            "reviews": [],
        }
        repo.pulls.append(pull)
        return JSONResponse(self._pull_json(repo, pull), 201)

    def _find_pull(self, request: Request) -> tuple[Repo, dict[str, Any]] | None:
        repo = self._repo(request)
        number = int(request.path_params["number"])
        if repo is None or not 1 <= number <= len(repo.pulls):
            return None
        return repo, repo.pulls[number - 1]

    async def _get_pull(self, request: Request) -> Response:
        found = self._find_pull(request)
        if found is None:
            return _msg(404, "Not Found")
        return JSONResponse(self._pull_json(*found))

    async def _list_reviews(self, request: Request) -> Response:
        found = self._find_pull(request)
        if found is None:
            return _msg(404, "Not Found")
        per_page = int(request.query_params.get("per_page") or 30)
        page = int(request.query_params.get("page") or 1)
        return JSONResponse(found[1]["reviews"][(page - 1) * per_page : page * per_page])

    async def _merge_pull(self, request: Request) -> Response:
        found = self._find_pull(request)
        if found is None:
            return _msg(404, "Not Found")
        repo, pull = found
        body = await request.json()
        head_sha = repo.branches[pull["head"]["ref"]]
        if pull["merged"] or pull["state"] != "open":
            return _msg(405, "Pull Request is not mergeable")
        if body.get("sha") and body["sha"] != head_sha:
            return _msg(409, "Head branch was modified. Review and try the merge again.")
        base = pull["base"]["ref"]
        tree, start = repo.commits[head_sha], repo.commits[pull["base_commit"]]
        merged = dict(repo.commits[repo.branches[base]])
        merged.update({path: text for path, text in tree.items() if start.get(path) != text})
        repo.branches[base] = self._commit(repo, merged)
        pull.update(merged=True, state="closed", merge_method=body.get("merge_method") or "merge")
        return JSONResponse({"sha": repo.branches[base], "merged": True, "message": "Pull Request successfully merged"})
