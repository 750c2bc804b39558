"""GitHub REST connector for change control: read a file, open a pull request that changes it.

Only repositories (and path globs inside them) listed under `github.repositories` can be read or
written; anything else is refused before a request is made. Retries with backoff and jitter on
connection errors and 5xx, never on 4xx; errors name the API URL and never contain the token.
The writes (create branch ref, put file contents on that branch, open the pull request, merge it) are
each safe to repeat: an existing branch, an already-committed file and an existing pull request are
detected and reused, and a merge pinned to a head `sha` is refused by GitHub once the pull request is
merged (or its head moved), so it never lands twice or lands something else.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict

from pipeline_sre.connectors.retry import SERVER_BUSY, RetryPolicy, Transient, failure_of, retrying_for
from pipeline_sre.errors import BackendRefused, BackendUnavailable, InvalidInput, NotFound
from pipeline_sre.settings.backends import GitHubConfig

USER_AGENT = "pipeline-sre/0.1"
API_VERSION = "2022-11-28"
MAX_FILE_BYTES = 512 * 1024
MAX_REVIEW_PAGES = 10  # 1,000 reviews: more than any config change collects


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def git_blob_sha(content: str) -> str:
    """The SHA git (and the contents API) gives a file with this text: ties an approved diff to a version."""
    data = content.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _q(part: str) -> str:
    return quote(part, safe="")


def _qpath(path: str) -> str:
    return "/".join(quote(p, safe="") for p in path.split("/"))


class GitHubClient:
    def __init__(
        self, config: GitHubConfig, *, transport: httpx.AsyncBaseTransport | None = None, backoff_base: float = 0.25
    ) -> None:
        self.config = config
        self.request_count = 0
        self._backoff_base = backoff_base
        self._token = os.environ.get(config.token_env)
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        self._http = httpx.AsyncClient(
            base_url=config.api_url,
            timeout=httpx.Timeout(config.timeout_seconds, connect=min(config.timeout_seconds, 5.0)),
            verify=config.verify_tls,
            transport=transport,
            headers=headers,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def where(self) -> str:
        return f"GitHub ({self.config.api_url})"

    def check_target(self, repo: str, path: str) -> None:
        """Refuse anything outside the configured repositories and their path globs."""
        conf = self.config.repository(repo)
        if conf is None:
            listed = ", ".join(r.repo for r in self.config.repositories) or "(none)"
            raise BackendRefused(f"repository {repo!r} is not configured under github.repositories ({listed})")
        if not conf.allows(path):
            raise BackendRefused(
                f"path {path!r} is outside the globs configured for {conf.repo} ({', '.join(conf.paths)})"
            )

    def _clean(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "***")
        return text[:300]

    async def _request(self, method: str, path: str, *, params: Any = None, json_body: Any = None) -> httpx.Response:
        """One request under the retry policy: connection errors, timeouts and 5xx, never 4xx. Writes are
        retried like reads: each is safe to repeat (see the module docstring)."""
        if not self._token:
            raise BackendRefused(f"{self.where()}: the token env var {self.config.token_env} is not set")

        async def attempt() -> httpx.Response:
            self.request_count += 1
            try:
                response = await self._http.request(method, path, params=params, json=json_body)
            except httpx.TransportError as err:
                raise Transient(failure_of(err, self.config.timeout_seconds)) from None
            if response.status_code in SERVER_BUSY:
                raise Transient(f"HTTP {response.status_code}")
            return response

        return await retrying_for(self.where(), attempt, RetryPolicy.of(self.config.max_retries, self._backoff_base))

    def _refused(self, response: httpx.Response, what: str) -> BackendRefused:
        detail = ""
        try:
            body = response.json()
            if isinstance(body, dict):
                detail = str(body.get("message") or "")
                errors = body.get("errors")
                if isinstance(errors, list) and errors:
                    first = errors[0]
                    detail += f" ({first.get('message') if isinstance(first, dict) else first})"
        except ValueError:
            pass
        hint = {401: "check the token in " + self.config.token_env, 403: "the token lacks permission"}.get(
            response.status_code, ""
        )
        text = f"{self.where()} refused {what}: HTTP {response.status_code}"
        return BackendRefused(self._clean("; ".join(p for p in (text, detail, hint) if p)))

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise BackendUnavailable(f"GitHub returned a non-JSON answer for {response.request.url.path}") from None

    # -- reads ----------------------------------------------------------------------------------

    async def branch_sha(self, repo: str, branch: str) -> str | None:
        response = await self._request("GET", f"/repos/{repo}/git/ref/heads/{_qpath(branch)}")
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise self._refused(response, f"reading branch {branch!r} of {repo}")
        sha = self._json(response).get("object", {}).get("sha")
        return str(sha) if sha else None

    async def get_file(self, repo: str, path: str, ref: str) -> tuple[str, str] | None:
        """(text, blob sha) of a file at `ref`, or None when it does not exist there."""
        self.check_target(repo, path)
        response = await self._request("GET", f"/repos/{repo}/contents/{_qpath(path)}", params={"ref": ref})
        if response.status_code == 404:
            if await self.branch_sha(repo, ref) is None:
                raise NotFound(f"no branch {ref!r} in {repo} on {self.where()}")
            return None
        if response.status_code >= 400:
            raise self._refused(response, f"reading {path} of {repo}")
        data = self._json(response)
        if not isinstance(data, dict) or data.get("type") != "file":
            raise InvalidInput(f"{path} in {repo} is not a file")
        if int(data.get("size") or 0) > MAX_FILE_BYTES:
            raise InvalidInput(f"{path} in {repo} is larger than {MAX_FILE_BYTES} bytes; change it by hand")
        try:
            text = base64.b64decode(str(data.get("content") or "")).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(f"{path} in {repo} is not UTF-8 text") from None
        return text, str(data.get("sha"))

    async def find_pull(self, repo: str, branch: str) -> dict[str, Any] | None:
        """The pull request (any state) whose head is `branch` of `repo` itself."""
        owner = repo.split("/", 1)[0]
        response = await self._request(
            "GET", f"/repos/{repo}/pulls", params={"head": f"{owner}:{branch}", "state": "all", "per_page": 5}
        )
        if response.status_code >= 400:
            raise self._refused(response, f"listing pull requests of {repo}")
        pulls = self._json(response)
        return _pull_view(pulls[0]) if isinstance(pulls, list) and pulls else None

    async def get_pull(self, repo: str, number: int) -> dict[str, Any]:
        response = await self._request("GET", f"/repos/{repo}/pulls/{int(number)}")
        if response.status_code == 404:
            raise NotFound(f"no pull request #{number} in {repo} on {self.where()}")
        if response.status_code >= 400:
            raise self._refused(response, f"reading pull request #{number} of {repo}")
        data = self._json(response)
        if not isinstance(data, dict) or "number" not in data:
            raise BackendUnavailable(f"{self.where()} answered a pull request read with something else")
        return _pull_view(data)

    async def list_reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        """Every submitted review of a pull request, oldest first: id, login, state, commit_id."""
        out: list[dict[str, Any]] = []
        for page in range(1, MAX_REVIEW_PAGES + 1):
            response = await self._request(
                "GET", f"/repos/{repo}/pulls/{int(number)}/reviews", params={"per_page": 100, "page": page}
            )
            if response.status_code >= 400:
                raise self._refused(response, f"listing the reviews of pull request #{number} of {repo}")
            batch = self._json(response)
            if not isinstance(batch, list):
                raise BackendUnavailable(f"{self.where()} answered a review list with something else")
            out += [review_view(r) for r in batch if isinstance(r, dict)]
            if len(batch) < 100:
                break
        return out

    # -- writes (called only from the governed execution path) ---------------------------------

    async def create_branch(self, repo: str, branch: str, sha: str) -> bool:
        """True if created; False if it already existed (a retry after a crash)."""
        response = await self._request(
            "POST", f"/repos/{repo}/git/refs", json_body={"ref": f"refs/heads/{branch}", "sha": sha}
        )
        if response.status_code == 422 and "already exists" in response.text.lower():
            return False
        if response.status_code >= 400:
            raise self._refused(response, f"creating branch {branch!r} in {repo}")
        return True

    async def put_file(
        self, repo: str, path: str, branch: str, content: str, message: str, sha: str | None
    ) -> dict[str, Any]:
        self.check_target(repo, path)
        body: dict[str, Any] = {
            "message": message,
            "content": base64.b64encode(content.encode("utf-8")).decode("ascii"),
            "branch": branch,
        }
        if sha is not None:
            body["sha"] = sha
        response = await self._request("PUT", f"/repos/{repo}/contents/{_qpath(path)}", json_body=body)
        if response.status_code >= 400:
            raise self._refused(response, f"committing {path} to {branch!r} of {repo}")
        data = self._json(response)
        return {"commit": (data.get("commit") or {}).get("sha"), "blob": (data.get("content") or {}).get("sha")}

    @staticmethod
    def pull_request(repo: str, *, title: str, head: str, base: str, body: str) -> dict[str, Any]:
        """The pull request as it is sent; governance shows and digests this same request."""
        return {
            "method": "POST",
            "path": f"/repos/{repo}/pulls",
            "body": {"title": title, "head": head, "base": base, "body": body},
        }

    async def create_pull(self, repo: str, *, title: str, head: str, base: str, body: str) -> dict[str, Any]:
        request = self.pull_request(repo, title=title, head=head, base=base, body=body)
        response = await self._request(request["method"], request["path"], json_body=request["body"])
        if response.status_code == 422 and "already exists" in response.text.lower():
            existing = await self.find_pull(repo, head)
            if existing is not None:
                return existing
        if response.status_code >= 400:
            raise self._refused(response, f"opening a pull request in {repo}")
        return _pull_view(self._json(response))

    @staticmethod
    def merge_request(repo: str, number: int | str, *, sha: str, method: str) -> dict[str, Any]:
        """The merge as it is sent: pinned to `sha`, so GitHub refuses it (409) once the head has moved."""
        return {
            "method": "PUT",
            "path": f"/repos/{repo}/pulls/{number}/merge",
            "body": {"sha": sha, "merge_method": method},
        }

    async def merge_pull(self, repo: str, number: int, *, sha: str, method: str) -> dict[str, Any]:
        request = self.merge_request(repo, int(number), sha=sha, method=method)
        response = await self._request(request["method"], request["path"], json_body=request["body"])
        if response.status_code >= 400:
            raise self._refused(response, f"merging pull request #{number} of {repo} at {sha[:12]}")
        data = self._json(response)
        return {"merged": bool(data.get("merged")), "sha": data.get("sha")}


def _pull_view(pr: dict[str, Any]) -> dict[str, Any]:
    head = pr.get("head") or {}
    return {
        "number": pr.get("number"),
        "url": pr.get("html_url"),
        "state": pr.get("state"),
        "merged": bool(pr.get("merged") or pr.get("merged_at")),
        "head": head.get("ref"),
        "head_sha": head.get("sha"),
        "base": (pr.get("base") or {}).get("ref"),
        "title": pr.get("title"),
        "author": (pr.get("user") or {}).get("login"),
        "changed_files": pr.get("changed_files"),
    }


def review_view(review: dict[str, Any]) -> dict[str, Any]:
    """A review as REST lists it and as the pull_request_review webhook carries it (its state is lower case
    there, upper case in REST: kept upper case)."""
    return {
        "id": review.get("id"),
        "login": (review.get("user") or {}).get("login"),
        "state": str(review.get("state") or "").upper(),
        "commit_id": review.get("commit_id"),
        "submitted_at": review.get("submitted_at"),
    }
