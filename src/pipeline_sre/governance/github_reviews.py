"""GitHub pull-request reviews as an approval channel for config changes (`approve_by_review` repositories).

When approval of such a `rollout_config` is requested, its pull request is opened (the executor's
idempotent branch / commit / pull request code) and its number, head commit and author are recorded.
Opening a pull request changes nothing on the base branch: the change lands only when the approved action
is executed, which merges that pull request (see external_actions.py). Nothing is sent outside `live` mode.

What a review counts as (`judge`): an APPROVED review is an approval by the person its login is mapped to
in `github.user_map`, but only for the commit pipeline-sre opened (a push after the review, or a review of
another commit, does not count) and never from the pull request's author; CHANGES_REQUESTED from a mapped
login denies. Any other review, or a login that is not mapped, decides nothing. The approval itself then
goes through the same governed path as every channel (app/operations.decide with a `github` principal):
four-eyes against the requester, configured approvers, digest binding, TTL, audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pipeline_sre.errors import PipelineSreError
from pipeline_sre.governance.audit import AuditEvent
from pipeline_sre.governance.external_actions import RolloutConfigExecutor
from pipeline_sre.governance.identity import ActorKind
from pipeline_sre.governance.service import GovernanceService
from pipeline_sre.settings.backends import GitHubConfig
from pipeline_sre.store import github_reviews as store
from pipeline_sre.store.github_reviews import ReviewPull

KIND = "rollout_config"
ACTOR = "system:github-reviews"  # who records what a review was judged as (the reviewer decides nothing else)
WAITING = ("proposed", "awaiting_approval")


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Literal["approve", "deny"] | None
    person: str | None
    why: str


def judge(review: dict[str, Any], pull: ReviewPull, config: GitHubConfig) -> Verdict:
    """What one review decides for the action behind `pull` (before governance's own rules)."""
    state, login = str(review.get("state") or ""), str(review.get("login") or "")
    commit = str(review.get("commit_id") or "")
    if state not in ("APPROVED", "CHANGES_REQUESTED"):
        return Verdict(None, None, f"a {state.lower() or 'stateless'} review neither approves nor denies")
    person = config.person_of(login) if login else None
    if person is None:
        return Verdict(None, None, f"GitHub login {login or '(none)'} is not mapped to a person in github.user_map")
    if login.casefold() == pull.author.casefold():
        return Verdict(None, person, f"{login} opened the pull request: its author's review decides nothing")
    if state == "CHANGES_REQUESTED":
        return Verdict("deny", person, f"{login} ({person}) requested changes")
    if commit != pull.head_sha:
        return Verdict(
            None,
            person,
            f"the review is of commit {commit[:12] or '(none)'}, not of {pull.head_sha[:12]} that pipeline-sre "
            "opened: a review of another commit (or before a push) does not count",
        )
    return Verdict("approve", person, f"{login} ({person}) approved {commit[:12]}")


def _executor(gov: GovernanceService) -> RolloutConfigExecutor | None:
    executor = gov.executors.get(KIND)
    return executor if isinstance(executor, RolloutConfigExecutor) else None


def reviewed_repositories(config: GitHubConfig | None) -> list[str]:
    return [r.repo for r in config.repositories if r.approve_by_review] if config is not None else []


async def open_review(
    gov: GovernanceService, action_id: str, actor: str, actor_kind: ActorKind
) -> dict[str, Any] | None:
    """Open the pull request of an action waiting for approval whose repository approves by review, and
    record it. None when the action is not one; `state: not_opened` with the reason when it cannot be now."""
    record = gov.get_action(action_id)
    executor = _executor(gov)
    if record.action.kind != KIND or executor is None or executor.review_repository(record.action) is None:
        return None
    if record.state not in WAITING:
        return None
    known = pull_of(gov, action_id)
    if known is not None:
        return {"state": "open", **known.to_dict()}
    if gov.policy.mode != "live":
        return {
            "state": "not_opened",
            "why": f"governance.mode is {gov.policy.mode}: nothing is sent to GitHub, so approve in the CLI, "
            "console or Slack",
        }
    if executor.describe_call(record.action) != record.call or record.action.digest(record.call) != record.digest:
        return {
            "state": "not_opened",
            "why": "the change would be opened differently now than it was proposed (settings or the action "
            "changed): propose it again",
        }
    try:
        pull = await executor.open_for_review(record.action)
    except PipelineSreError as err:
        return {"state": "not_opened", "why": f"{err.message} (syncing reviews opens it later)"}
    candidate = ReviewPull(
        action_id=action_id,
        repo=record.action.params["repo"],
        number=int(pull["number"]),
        head_sha=str(pull["head_sha"]),
        url=str(pull["url"] or ""),
        author=str(pull["author"] or ""),
        opened_at=datetime.now(UTC),
    )
    with gov.db.session(write=True) as s:
        opened, created = store.record_pull(s, candidate)
        if created:
            gov.audit.append(
                AuditEvent(
                    "github.review_opened",
                    actor,
                    actor_kind,
                    action_id=action_id,
                    digest=record.digest,
                    detail={
                        "repo": opened.repo,
                        "pull_request": opened.number,
                        "url": opened.url,
                        "head_sha": opened.head_sha,
                    },
                ),
                session=s,
            )
    return {"state": "open", **opened.to_dict()}


def missing_pulls(gov: GovernanceService, action_id: str | None = None) -> list[str]:
    """Config changes waiting for approval in a reviewed repository whose pull request is not open yet."""
    executor = _executor(gov)
    if executor is None:
        return []
    records = [gov.get_action(action_id)] if action_id else gov.list_pending(states=["awaiting_approval"])
    return [
        r.id
        for r in records
        if r.action.kind == KIND
        and r.state == "awaiting_approval"
        and executor.review_repository(r.action) is not None
        and pull_of(gov, r.id) is None
    ]


def pull_of(gov: GovernanceService, action_id: str) -> ReviewPull | None:
    with gov.db.session(write=False) as s:
        return store.pull_of(s, action_id)


def pull_for(gov: GovernanceService, repo: str, number: int) -> ReviewPull | None:
    with gov.db.session(write=False) as s:
        return store.action_of(s, repo, number)


def waiting_pulls(gov: GovernanceService, action_id: str | None = None) -> list[ReviewPull]:
    """Pull requests whose action still waits for approvals (all, or the one of `action_id`)."""
    with gov.db.session(write=False) as s:
        return [p for p in store.waiting(s, WAITING) if action_id is None or p.action_id == action_id]


def unseen(gov: GovernanceService, review_ids: list[int]) -> set[int]:
    with gov.db.session(write=False) as s:
        return set(review_ids) - store.seen(s, review_ids)


def mark_seen(gov: GovernanceService, review: dict[str, Any], pull: ReviewPull, outcome: str, why: str) -> None:
    """Record how a review was judged; one that decided nothing is audited here, once (a decision is audited
    by the governed path that made it)."""
    login = str(review.get("login") or "")
    with gov.db.session(write=True) as s:
        first = store.mark_seen(s, int(review["id"]), pull.action_id, login, outcome, datetime.now(UTC))
        if first and outcome.startswith("ignored"):
            gov.audit.append(
                AuditEvent(
                    "github.review_ignored",
                    ACTOR,
                    "github",
                    result=outcome,
                    action_id=pull.action_id,
                    detail={
                        "review_id": int(review["id"]),
                        "login": login,
                        "state": str(review.get("state") or ""),
                        "commit_id": str(review.get("commit_id") or ""),
                        "pull_request": pull.number,
                        "why": why,
                    },
                ),
                session=s,
            )
