"""Action kinds and executors for Databricks Jobs and GitHub change control.

They plug into the same governed path as the Airflow kinds: propose -> approve -> execute, with
the exact call in the digest (built by the client that sends it: `DatabricksClient.repair_request` /
`run_now_request`, `GitHubClient.pull_request`). Resources (what `allow_dags` globs and `conf_schemas` match):
`databricks:job/<job_id>` and `github:<owner>/<repo>:<path>`; e.g. `allow_dags: ["databricks:job/*",
"github:acme/pipelines:jobs/*"]`. run_now's parameters are its conf, so a `conf_schemas` entry whose
`match` is `databricks:job/<id>` validates them (Databricks parameter values are strings).

Exactly once, per kind:
- run_now sends the action id as Databricks' `idempotency_token`: a repeated call returns the run it
  already started.
- repair_run: Databricks has no idempotency token for repairs. The proposal records the run's latest
  repair id and the call sends it as `latest_repair_id`, so Databricks accepts at most one repair
  following that state (a repeat is refused as stale). `find_existing` reports the repair that directly
  followed the recorded one, if it started after the action was proposed. Databricks records no caller
  for a repair, so a human's repair made in between is reported too: the run was repaired once, never twice.
- rollout_config: the branch is `pipeline-sre/<action id>`; a retry finds the branch, the commit (the
  file on the branch already has the new text) and the pull request, and reuses each. In a repository with
  `approve_by_review` the pull request is opened when approval is requested (github_reviews.py) and
  executing merges it, pinned to a head that holds exactly the approved change: GitHub refuses a second
  merge, and a merge after the head moved.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from pipeline_sre.connectors.databricks import DatabricksClient, job_resource
from pipeline_sre.connectors.github import GitHubClient, git_blob_sha
from pipeline_sre.errors import BackendRefused, NotFound
from pipeline_sre.governance.actions import Action, ActionKind, ActionParams, KindExecutor
from pipeline_sre.settings.backends import GitHubRepository, check_branch, check_path, check_repo

if TYPE_CHECKING:
    from pydantic import BaseModel

BRANCH_PREFIX = "pipeline-sre/"
MAX_CONTENT_CHARS = 200_000
MAX_DIFF_CHARS = 20_000
PR_FOOTER = "Opened by pipeline-sre for governed action {id}: proposed, approved and executed through its audit trail."
REVIEW_NOTE = (
    "An approving review of this pull request's head commit by a reviewer mapped in github.user_map counts as "
    "their approval of action {id} (digest {digest}); once approved, pipeline-sre merges exactly that commit."
)
DIGEST_PLACEHOLDER = "{digest}"


def branch_for(action_id: str) -> str:
    """The deterministic branch of a rollout: a retry of the same action finds it."""
    return BRANCH_PREFIX + action_id


def epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


# -- params --------------------------------------------------------------------------------------


class RepairRunParams(ActionParams):
    """Rerun only the failed tasks of one Databricks job run."""

    job_id: int = Field(gt=0)
    run_id: int = Field(gt=0)
    latest_repair_id: int | None = Field(None, gt=0, description="The run's latest repair when proposed")


class RunNowParams(ActionParams):
    """A new run of a Databricks job with validated parameters."""

    job_id: int = Field(gt=0)
    job_parameters: dict[str, str] = Field({}, description="Job-level parameters (jobs that define parameters)")
    notebook_params: dict[str, str] = Field({}, description="Notebook task parameters (jobs without job parameters)")

    @model_validator(mode="after")
    def _one_flavour(self) -> RunNowParams:
        if self.job_parameters and self.notebook_params:
            raise ValueError("give job_parameters or notebook_params, not both")
        return self


class RolloutConfigParams(ActionParams):
    """A pull request that changes one config file (job JSON, Spark conf, DAG conf) in a configured repo."""

    repo: str
    base: str
    path: str
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    old_content: str | None = Field(None, max_length=MAX_CONTENT_CHARS, description="The file at base (None: new)")
    new_content: str = Field(max_length=MAX_CONTENT_CHARS)
    json_merge_patch: dict[str, Any] | None = Field(None, description="The patch new_content was made from")

    _repo = field_validator("repo")(check_repo)
    _base = field_validator("base")(check_branch)
    _path = field_validator("path")(check_path)

    @model_validator(mode="after")
    def _changes_something(self) -> RolloutConfigParams:
        if self.old_content == self.new_content:
            raise ValueError("new_content equals the current file: nothing to change")
        return self


# -- exact calls ---------------------------------------------------------------------------------


def _repair_call(action: Action) -> dict[str, Any]:
    p = action.params
    request = DatabricksClient.repair_request(p["run_id"], latest_repair_id=p.get("latest_repair_id"))
    return {**request, "precondition": f"run {p['run_id']} belongs to job {p['job_id']}"}


def _run_now_call(action: Action) -> dict[str, Any]:
    p = action.params
    return DatabricksClient.run_now_request(
        p["job_id"],
        idempotency_token=action.id,
        job_parameters=p.get("job_parameters") or None,
        notebook_params=p.get("notebook_params") or None,
    )


def unified_diff(old: str | None, new: str, path: str) -> str:
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"a/{path}",
        tofile=f"b/{path}",
    )
    text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    if len(text) > MAX_DIFF_CHARS:
        cut = text[:MAX_DIFF_CHARS]
        text = cut + f"\n…(diff cut: {text.count(chr(10)) - cut.count(chr(10))} more lines)\n"
    return text


def pr_body(action_id: str, description: str) -> str:
    footer = PR_FOOTER.format(id=action_id)
    return f"{description.strip()}\n\n{footer}" if description.strip() else footer


def commit_message(action_id: str, title: str) -> str:
    return f"{title}\n\npipeline-sre action {action_id}"


def review_body(action_id: str, description: str, digest: str) -> str:
    return pr_body(action_id, description) + "\n\n" + REVIEW_NOTE.format(id=action_id, digest=digest)


def _rollout_call(action: Action, review: GitHubRepository | None = None) -> dict[str, Any]:
    """The pull request that is opened; for a repository approving by review, the merge that executes it."""
    p = action.params
    repo, path, base, branch = p["repo"], p["path"], p["base"], branch_for(action.id)
    old_sha = git_blob_sha(p["old_content"]) if p.get("old_content") is not None else None
    put_body: dict[str, Any] = {
        "message": commit_message(action.id, p["title"]),
        "branch": branch,
        "content": f"(the new file text, base64-encoded; git blob {git_blob_sha(p['new_content'])})",
    }
    if old_sha:
        put_body["sha"] = old_sha
    body = pr_body(action.id, p["description"])
    if review is not None:  # the digest is of this call, so the body can only name it once it is sent
        body = review_body(action.id, p["description"], DIGEST_PLACEHOLDER)
    pull = GitHubClient.pull_request(repo, title=p["title"], head=branch, base=base, body=body)
    # The steps before the pull request are shown, not sent as shown: the branch starts at the base's
    # head when it is created, and the file goes as base64 (its blob id names it here).
    steps = [
        {"method": "POST", "path": f"/repos/{repo}/git/refs", "body": {"ref": f"refs/heads/{branch}"}},
        {"method": "PUT", "path": f"/repos/{repo}/contents/{path}", "body": put_body},
    ]
    precondition = f"{path} on {base} is still blob {old_sha}" if old_sha else f"{path} does not exist on {base}"
    diff = unified_diff(p.get("old_content"), p["new_content"], path)
    if review is None:
        return {**pull, "steps": steps, "precondition": precondition, "diff": diff}
    merge = GitHubClient.merge_request(repo, "{number}", sha="{head_sha}", method=review.merge_method)
    return {
        **merge,
        "pull_request": pull,
        "steps": steps,
        "placeholders": {
            "number": f"the pull request of branch {branch}, opened when approval was requested",
            "head_sha": f"its head commit, holding only the approved change to {path}",
            "digest": "this action's digest",
        },
        "precondition": f"{precondition}; the pull request is open and changes only {path}",
        "diff": diff,
    }


def _job_of(p: BaseModel) -> str:
    return job_resource(int(getattr(p, "job_id")))  # noqa: B009 - both Databricks params models have job_id


def _parameters_of(p: BaseModel) -> dict[str, Any] | None:
    if not isinstance(p, RunNowParams):
        return None
    return dict(p.job_parameters or p.notebook_params)


def _file_of(p: BaseModel) -> str:
    assert isinstance(p, RolloutConfigParams)
    return f"github:{p.repo}:{p.path}"


# -- executors -----------------------------------------------------------------------------------


class _Executor(KindExecutor):
    def databricks(self, action: Action) -> DatabricksClient:
        return self.clients.databricks(action.environment)


def _repair_after(history: list[dict[str, Any]], latest_repair_id: int | None) -> dict[str, Any] | None:
    """The repair that directly followed `latest_repair_id` (the first repair when it is None)."""
    ordered = sorted(history, key=lambda h: (int(h.get("start_time") or 0), int(h.get("id") or 0)))
    repairs = [h for h in ordered if h.get("type") == "REPAIR"]
    if latest_repair_id is None:
        return repairs[0] if repairs else None
    ids = [h.get("id") for h in repairs]
    if latest_repair_id not in ids:
        return None
    i = ids.index(latest_repair_id)
    return repairs[i + 1] if i + 1 < len(repairs) else None


class RepairRunExecutor(_Executor):
    def describe_call(self, action: Action) -> dict[str, Any]:
        return _repair_call(action)

    async def execute(self, action: Action) -> dict[str, Any]:
        p = action.params
        client = self.databricks(action)
        run = await client.get_run(p["run_id"])
        if int(run.get("job_id") or 0) != p["job_id"]:
            raise BackendRefused(
                f"run {p['run_id']} belongs to job {run.get('job_id')}, not job {p['job_id']}; nothing was repaired"
            )
        answer = await client.repair_run(p["run_id"], latest_repair_id=p.get("latest_repair_id"))
        return {
            "job_id": p["job_id"],
            "run_id": p["run_id"],
            "repair_id": answer.get("repair_id"),
            "run_page_url": run.get("run_page_url"),
        }

    async def find_existing(self, action: Action) -> dict[str, Any] | None:
        p = action.params
        run = await self.databricks(action).get_run(p["run_id"], include_history=True)
        repair = _repair_after(list(run.get("repair_history") or []), p.get("latest_repair_id"))
        if repair is None or int(repair.get("start_time") or 0) < epoch_ms(action.created_at):
            return None
        return {
            "job_id": p["job_id"],
            "run_id": p["run_id"],
            "repair_id": repair.get("id"),
            "state": (repair.get("state") or {}).get("life_cycle_state"),
            "matched_by": "the repair that followed the proposal's latest_repair_id, after it was proposed",
        }


def _same_parameters(run: dict[str, Any], p: dict[str, Any]) -> bool:
    if p.get("job_parameters"):
        values = {str(j.get("name")): j.get("value", j.get("default")) for j in run.get("job_parameters") or []}
        return all(values.get(k) == v for k, v in p["job_parameters"].items())
    given = (run.get("overriding_parameters") or {}).get("notebook_params") or {}
    return dict(given) == dict(p.get("notebook_params") or {})


class RunNowExecutor(_Executor):
    def describe_call(self, action: Action) -> dict[str, Any]:
        return _run_now_call(action)

    async def execute(self, action: Action) -> dict[str, Any]:
        p = action.params
        answer = await self.databricks(action).run_now(
            p["job_id"],
            idempotency_token=action.id,
            job_parameters=p.get("job_parameters") or None,
            notebook_params=p.get("notebook_params") or None,
        )
        return {"job_id": p["job_id"], "run_id": answer.get("run_id"), "number_in_job": answer.get("number_in_job")}

    async def find_existing(self, action: Action) -> dict[str, Any] | None:
        """Databricks does not show a run's idempotency token, so: a one-time run of this job that started
        after the proposal with exactly these parameters (re-sending with the token would not duplicate it)."""
        p = action.params
        runs = await self.databricks(action).list_runs(
            job_id=p["job_id"], start_time_from=epoch_ms(action.created_at), limit=25
        )
        for run in sorted(runs, key=lambda r: int(r.get("start_time") or 0)):
            if run.get("trigger") in (None, "ONE_TIME") and _same_parameters(run, p):
                return {
                    "job_id": p["job_id"],
                    "run_id": run.get("run_id"),
                    "matched_by": "one-time run of the job with the same parameters, started after the proposal",
                }
        return None


async def open_pull(gh: GitHubClient, action: Action, body: str) -> dict[str, Any]:
    """Branch, commit and pull request of a rollout, each reused when an earlier attempt made it."""
    p = action.params
    repo, path, base, branch = p["repo"], p["path"], p["base"], branch_for(action.id)
    old, new = p.get("old_content"), p["new_content"]
    old_sha = git_blob_sha(old) if old is not None else None
    existing = await gh.find_pull(repo, branch)
    if existing is not None:
        return {"pull_request": existing, "branch": branch, "reused": True}
    head = await gh.branch_sha(repo, branch)
    if head is None:
        base_sha = await gh.branch_sha(repo, base)
        if base_sha is None:
            raise NotFound(f"no branch {base!r} in {repo} on {gh.where()}")
        await _check_base(gh, action)
        await gh.create_branch(repo, branch, base_sha)
    on_branch = await gh.get_file(repo, path, branch)
    commit: str | None = None
    if on_branch is not None and on_branch[0] == new:
        pass  # committed by an earlier attempt of this action
    elif (on_branch[1] if on_branch else None) != old_sha:
        raise BackendRefused(
            f"branch {branch} of {repo} holds an unexpected version of {path}; nothing more was written"
        )
    else:
        commit = (await gh.put_file(repo, path, branch, new, commit_message(action.id, p["title"]), old_sha))["commit"]
    pull = await gh.create_pull(repo, title=p["title"], head=branch, base=base, body=body)
    return {"pull_request": pull, "branch": branch, "commit": commit}


async def _check_base(gh: GitHubClient, action: Action) -> None:
    p = action.params
    old_sha = git_blob_sha(p["old_content"]) if p.get("old_content") is not None else None
    current = await gh.get_file(p["repo"], p["path"], p["base"])
    if (current[1] if current else None) != old_sha:
        raise BackendRefused(
            f"{p['path']} on {p['base']} of {p['repo']} changed since the change was approved, so the approved "
            "diff no longer applies; nothing was written: propose the change again"
        )


class RolloutConfigExecutor(_Executor):
    def review_repository(self, action: Action) -> GitHubRepository | None:
        """The repository's settings when its changes are approved by pull-request review, else None."""
        config = self.clients.settings.github
        conf = config.repository(action.params["repo"]) if config is not None else None
        return conf if conf is not None and conf.approve_by_review else None

    def describe_call(self, action: Action) -> dict[str, Any]:
        return _rollout_call(action, self.review_repository(action))

    def pull_body(self, action: Action) -> str:
        """The body the pull request is opened with; a reviewed one names the action's digest."""
        if self.review_repository(action) is None:
            return pr_body(action.id, action.params["description"])
        return review_body(action.id, action.params["description"], action.digest(self.describe_call(action)))

    async def open_for_review(self, action: Action) -> dict[str, Any]:
        """Open (or find) the pull request reviewers approve; its full view, with the head commit."""
        p = action.params
        async with self.clients.github(p["repo"], p["path"]) as gh:
            opened = await open_pull(gh, action, self.pull_body(action))
            return await gh.get_pull(p["repo"], int(opened["pull_request"]["number"]))

    async def execute(self, action: Action) -> dict[str, Any]:
        p = action.params
        review = self.review_repository(action)
        async with self.clients.github(p["repo"], p["path"]) as gh:
            opened = await open_pull(gh, action, self.pull_body(action))
            if review is None:
                return opened
            return await _merge(gh, action, int(opened["pull_request"]["number"]), review.merge_method)

    async def find_existing(self, action: Action) -> dict[str, Any] | None:
        p = action.params
        async with self.clients.github(p["repo"], p["path"]) as gh:
            pull = await gh.find_pull(p["repo"], branch_for(action.id))
            if pull is None:
                return None
            if self.review_repository(action) is not None:
                full = await gh.get_pull(p["repo"], int(pull["number"]))
                return {"pull_request": full, "merged": True} if full["merged"] else None
        return {"pull_request": pull, "branch": branch_for(action.id)}


async def _merge(gh: GitHubClient, action: Action, number: int, method: str) -> dict[str, Any]:
    """Merge the pull request at a head that holds exactly the approved change, pinned to that head."""
    p = action.params
    repo, path = p["repo"], p["path"]
    pull = await gh.get_pull(repo, number)
    if pull["merged"]:
        return {"pull_request": pull, "merged": True, "reused": True}
    if pull["state"] != "open":
        raise BackendRefused(
            f"pull request #{number} of {repo} was closed without merging; nothing was merged: propose the change again"
        )
    head = str(pull["head_sha"] or "")
    on_head = await gh.get_file(repo, path, head) if head else None
    if pull.get("changed_files") != 1 or on_head is None or on_head[0] != p["new_content"]:
        raise BackendRefused(
            f"the head of pull request #{number} of {repo} ({head[:12] or 'unknown'}) holds more than, or other "
            f"than, the approved change to {path} (someone pushed to it); nothing was merged: propose the change again"
        )
    await _check_base(gh, action)
    merged = await gh.merge_pull(repo, number, sha=head, method=method)
    return {"pull_request": {**pull, "state": "closed", "merged": True}, "merged_sha": merged["sha"], "head_sha": head}


# Each is safe to send again (resend_safe): run_now by its idempotency token, repair_run by its
# latest_repair_id, rollout_config by its branch named after the action.
REPAIR_RUN = ActionKind(
    kind="repair_run",
    params_model=RepairRunParams,
    description="Rerun only the failed tasks of a Databricks job run",
    resource=_job_of,
    executor=RepairRunExecutor,
    is_rerun=True,
)
RUN_NOW = ActionKind(
    kind="run_now",
    params_model=RunNowParams,
    description="Start a new Databricks job run with validated parameters",
    resource=_job_of,
    executor=RunNowExecutor,
    conf=_parameters_of,
    is_rerun=True,
)
ROLLOUT_CONFIG = ActionKind(
    kind="rollout_config",
    params_model=RolloutConfigParams,
    description="Open a pull request that changes one config file",
    resource=_file_of,
    executor=RolloutConfigExecutor,
)
