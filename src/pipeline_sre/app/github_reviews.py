"""Reviews of config-change pull requests become approvals and denials, through the one door.

Reviews arrive two ways, judged alike: a signed `pull_request_review` webhook (surfaces/github) and a poll
of `GET /repos/{o}/{r}/pulls/{n}/reviews` for every action waiting on review (the autopilot's cycle, the
CLI's `approvals sync-reviews`, the MCP tool `sync_reviews`, the console's button), which needs no inbound
network. Each review is judged once, by its GitHub id, on any replica: a repeated delivery or a second
poll decides nothing again. What a review counts as is governance's (`governance/github_reviews.judge`);
the decision itself is `operations.decide` as `Principal("github", <mapped person>)`, so the four-eyes
rule, configured approvers, required approvals, digest binding and the audit are those of every channel.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline_sre.app import operations
from pipeline_sre.connectors.github import review_view
from pipeline_sre.errors import InvalidInput, PipelineSreError
from pipeline_sre.governance import github_reviews as reviews
from pipeline_sre.governance.identity import Principal
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.store.github_reviews import ReviewPull


async def sync_reviews(rt: Runtime, who: Principal, action_id: str | None = None) -> dict[str, Any]:
    """Open the review pull requests still missing, then judge every new review of each action waiting on
    one (all of them, or `action_id`'s)."""
    config = rt.settings.github
    if not reviews.reviewed_repositories(config):
        return {"pull_requests": [], "decisions": [], "note": "no github.repositories entry has approve_by_review"}
    gov = rt.governance
    errors: list[str] = []
    for missing in await asyncio.to_thread(reviews.missing_pulls, gov, action_id):
        opened = await reviews.open_review(gov, missing, who.actor, who.kind)
        if opened is not None and opened["state"] != "open":
            errors.append(f"{missing}: pull request not opened: {opened['why']}")
    pulls = await asyncio.to_thread(reviews.waiting_pulls, gov, action_id)
    decisions: list[dict[str, Any]] = []
    for pull in pulls:
        try:
            found = await _reviews_of(rt, pull)
        except PipelineSreError as err:
            errors.append(f"{pull.action_id}: reviews of #{pull.number} not read: {err.message}")
            continue
        decisions += await asyncio.to_thread(_judge_all, rt, pull, found)
    out: dict[str, Any] = {
        "pull_requests": [{"action_id": p.action_id, **p.to_dict()} for p in pulls],
        "decisions": decisions,
    }
    if errors:
        out["errors"] = errors
    return out


async def _reviews_of(rt: Runtime, pull: ReviewPull) -> list[dict[str, Any]]:
    record = await asyncio.to_thread(rt.governance.get_action, pull.action_id)
    async with rt.clients.github(record.action.params["repo"], record.action.params["path"]) as gh:
        return await gh.list_reviews(record.action.params["repo"], pull.number)


async def review_event(rt: Runtime, payload: Any) -> dict[str, Any]:
    """One `pull_request_review` webhook delivery (its signature already checked)."""
    if not isinstance(payload, dict):
        raise InvalidInput("the webhook body must be a JSON object (a pull_request_review event)")
    verb = payload.get("action")
    if verb != "submitted":
        return {"ignored": f"review {verb!s:.20}: only submitted reviews are judged"}
    review, repo, number = _event_parts(payload)
    pull = await asyncio.to_thread(reviews.pull_for, rt.governance, repo, number)
    if pull is None:
        return {"ignored": f"{repo}#{number} is not a pull request pipeline-sre opened for review"}
    decisions = await asyncio.to_thread(_judge_all, rt, pull, [review])
    return {"action_id": pull.action_id, "decisions": decisions}


def _event_parts(payload: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    raw, pr, repository = payload.get("review"), payload.get("pull_request"), payload.get("repository")
    if not isinstance(raw, dict) or not isinstance(pr, dict) or not isinstance(repository, dict):
        raise InvalidInput("a pull_request_review event needs review, pull_request and repository objects")
    review = review_view(raw)
    repo, number = repository.get("full_name"), pr.get("number")
    if not isinstance(review["id"], int) or not isinstance(repo, str) or not isinstance(number, int):
        raise InvalidInput("the event lacks review.id, repository.full_name or pull_request.number")
    return review, repo, number


def _judge_all(rt: Runtime, pull: ReviewPull, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Judge the reviews not judged before, oldest first. Blocking (store calls)."""
    ids = [int(r["id"]) for r in found if isinstance(r.get("id"), int)]
    fresh = reviews.unseen(rt.governance, ids)
    return [_judge(rt, pull, r) for r in found if r.get("id") in fresh]


def _judge(rt: Runtime, pull: ReviewPull, review: dict[str, Any]) -> dict[str, Any]:
    config = rt.settings.github
    assert config is not None  # a review pull request exists only when GitHub is configured
    verdict = reviews.judge(review, pull, config)
    record = rt.governance.get_action(pull.action_id)
    outcome, why = "ignored", verdict.why
    if verdict.decision is not None and verdict.person is not None:
        already = any(a.approver == verdict.person and a.decision == "approve" for a in record.approvals)
        if record.state not in reviews.WAITING:
            why = f"{why}, but the action is already {record.state}"
        elif verdict.decision == "approve" and already:
            outcome, why = "already_counted", f"{verdict.person} has approved this action already"
        else:
            outcome = _decide(rt, Principal("github", verdict.person), pull, review, verdict.decision == "approve")
    reviews.mark_seen(rt.governance, review, pull, outcome, why)
    return {
        "review_id": review["id"],
        "login": review.get("login"),
        "person": verdict.person,
        "outcome": outcome,
        "why": rt.redact(why),
    }


def _decide(rt: Runtime, who: Principal, pull: ReviewPull, review: dict[str, Any], approve: bool) -> str:
    comment = f"GitHub review {review['id']} by {review.get('login')} of {str(review.get('commit_id'))[:12]}"
    try:
        operations.decide(rt, who, pull.action_id, approve=approve, comment=comment)
    except PolicyRefusal as refusal:  # audited by the governed path, like every channel's refusal
        return f"refused:{refusal.rule}"
    return "approved" if approve else "denied"
