"""Readable CLI views of the governed path: a proposal, an action and an execution outcome.

The JSON of each stays the machine interface (`--json`); these views put what an on-call engineer
decides on first: the diagnosis, the plan, the exact call and the policy decision.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

MAX_BODY = 400


def _call(call: dict[str, Any] | None) -> str:
    if not call:
        return "(none)"
    body = call.get("body")
    text = f"{call.get('method', '?')} {call.get('path', '?')}"
    if body is not None:
        dumped = json.dumps(body, sort_keys=True, default=str)
        text += " " + (dumped if len(dumped) <= MAX_BODY else dumped[:MAX_BODY] + "…")
    return text


def _line(console: Console, label: str, text: str, markup: str = "") -> None:
    """One labelled line; `text` is data (escaped), `markup` is ours."""
    console.print(f"[bold]{label:<11}[/bold] {markup}{escape(text)}", highlight=False)


def _decision(console: Console, decision: dict[str, Any] | None) -> None:
    if not decision:
        return
    verdict = "[green]allowed[/green] " if decision.get("allowed") is True else "[red]refused[/red] "
    _line(console, "Policy", f"by rule {decision.get('rule')}", verdict)
    for key, prefix in (("message", ""), ("allow_hint", "to allow: ")):
        if decision.get(key):
            _line(console, "", f"{prefix}{decision[key]}")


def render_action(console: Console, action: dict[str, Any]) -> None:
    _line(
        console,
        "Action",
        f"{action['id']}  {action['kind']} in {action['environment']}: {action['state']} (mode {action.get('mode')})",
    )
    _line(console, "Exact call", _call(action.get("call")))
    votes = [
        f"{a['approver']} ({a['decision']}{'' if a.get('valid', True) else ', void'})"
        for a in action.get("approvals", [])
    ]
    _line(console, "Approvals", f"{action.get('required_approvals', '?')} needed; {', '.join(votes) or 'none yet'}")
    review = action.get("review")
    if review:
        _line(console, "GitHub review", review_line(review))
    _decision(console, action.get("decision"))


def review_line(review: dict[str, Any]) -> str:
    """The pull request a config change waits on for an approving review, or why it is not open."""
    if review.get("state") == "not_opened":
        return f"pull request not opened: {review.get('why')}"
    return f"{review.get('url')} (head {str(review.get('head_sha'))[:12]}): {review.get('counts')}"


def render_proposal(console: Console, d: dict[str, Any]) -> None:
    diag, plan = d["diagnosis"], d["plan"]
    _line(console, d["severity"], f"{d['dag_id']} / {d['run_id']} ({d['env']})  incident {d.get('incident_id')}")
    _line(
        console,
        "Diagnosis",
        f"{diag['category']} ({diag['confidence']:.2f}) in {diag['task_id']}: {diag.get('evidence') or ''}",
    )
    _line(console, "Runbook", f"{plan['runbook']}: {plan['title']}")
    _line(console, "", plan["why"])
    for i, step in enumerate(plan["steps"], 1):
        _line(console, "", f"{i}. {step['title']}" + (f" [{step['action']}]" if step.get("action") else ""))
    _line(console, "Impact", plan["impact"])
    _line(console, "Risk", f"{plan['risk']['level']}: {plan['risk'].get('notes') or ''}")
    _line(console, "Rollback", plan["rollback"])
    _line(console, "Verify", "; ".join(", ".join(f"{k}={v}" for k, v in rule.items()) for rule in plan["verify"]))
    if plan.get("ranking"):
        _line(console, "Ranked", plan["ranking"]["because"])
    render_memory(console, d.get("memory"))
    if d.get("action"):
        render_action(console, d["action"])
    _decision(console, d.get("decision"))
    _line(console, "Next", d.get("next", ""))


def render_memory(console: Console, memory: dict[str, Any] | None) -> None:
    """Incident memory: each past incident like this one, then how each action kind fared."""
    if not memory:
        return
    for past in memory["incidents"]:
        done = "; ".join(
            f"{a['kind']} approved by {', '.join(a['approved_by']) or 'nobody'}: {a['outcome']}"
            for a in past["actions"]
        )
        _line(
            console,
            "Seen before",
            f"{past['id']} ({past.get('ended') or '?'}) {past['outcome']}: {done or 'no action'}",
        )
    for kind in memory["by_action"]:
        _line(console, "", f"{kind['kind']} recovered {kind['recovered']}/{kind['tries']} ({memory['matched_by']})")


def render_outcome(console: Console, d: dict[str, Any]) -> None:
    sent = "[green]sent[/green] " if d["sent"] else "[yellow]not sent, dry_run: audited only[/yellow] "
    _line(console, "Executed", f"{d['action_id']} is {d['state']} (mode {d['mode']})", sent)
    _line(console, "Exact call", _call(d.get("call")))
    if d.get("result"):
        _line(console, "Result", json.dumps(d["result"], default=str)[:MAX_BODY])
