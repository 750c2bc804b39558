"""The surface matrix (issue 10) on the real sandbox Airflow 3: for each surface that can act (MCP, CLI,
console, Slack stand-in, autopilot) and each path (clean fix; propose twice; shadow then live; executed
from another surface than proposed; rerun not recovered -> escalated; closed by hand), the incident ends
in the right state, and its postmortem is true when checked against Airflow's own REST API: one failed
run, durations measured from the failed run's end, the original failure (run, task, try, error) in the
timeline after a clear replaced the try, and every transition made by the actor of its surface.

Every case has its own installation (config, store, users) and its own failed run, all triggered up front
and awaited together; reruns are awaited on Airflow, never slept on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.sandbox import Sandbox, SandboxInfo
from pipeline_sre.sandbox.constants import EXAMPLE_DAGS
from pipeline_sre.store.incidents import Incident
from tests.integration.surface_drivers import (
    CLI_USER,
    ENV,
    MCP_OWNER,
    SLACK_IDS,
    Served,
    World,
    audit_records,
    cli,
    cli_json,
    served,
    watch_once,
    world,
)

pytestmark = [pytest.mark.integration]

FLAKY, MISSING = "example_flaky_network", "example_missing_input"  # a clear fixes the first, not the second
# Who each surface acts for: the MCP server's owner, the CLI's token user, the console's signed-in user,
# the Slack user's mapped approver, the autopilot.
ACTOR = {
    "mcp": f"mcp:{MCP_OWNER}",
    "cli": f"cli:{CLI_USER}",
    "console": "web:alice",
    "slack": "slack:bob",
    "autopilot": "system:autopilot",
}
APPROVER = {"console": "alice", "cli": "alice", "slack": "bob"}
KIND = {"mcp": "mcp", "cli": "cli", "console": "web", "slack": "slack", "autopilot": "system"}
OPENING = ("detected", "triaged", "diagnosed", "proposed", "awaiting_approval")
REASON = "false alarm: the rates API was in its announced maintenance window"


@dataclass(frozen=True)
class Route:
    """Which surface takes each step of a fix: propose (and ask for approval), approve, execute, verify
    (and escalate what did not recover)."""

    dag_id: str
    propose: str
    approve: str
    execute: str
    verify: str


FIXES = {
    "clean-mcp": Route(FLAKY, "mcp", "console", "mcp", "mcp"),
    "clean-cli": Route(FLAKY, "cli", "cli", "cli", "cli"),
    "clean-autopilot": Route(FLAKY, "autopilot", "slack", "autopilot", "autopilot"),
    "cross-mcp-console-cli": Route(FLAKY, "mcp", "console", "cli", "mcp"),
    "cross-cli-slack-autopilot": Route(FLAKY, "cli", "slack", "autopilot", "autopilot"),
    "not-recovered-autopilot": Route(MISSING, "autopilot", "console", "autopilot", "autopilot"),
    "not-recovered-mcp": Route(MISSING, "mcp", "cli", "mcp", "mcp"),
    "not-recovered-cli": Route(MISSING, "cli", "slack", "cli", "cli"),
}
CLOSES = {"close-mcp": ("mcp", "mcp"), "close-cli": ("cli", "cli"), "close-console": ("autopilot", "console")}
# One fresh failed run per case, all triggered before the first case runs.
CASES = {
    **{case: route.dag_id for case, route in FIXES.items()},
    **dict.fromkeys(("twice", "shadow-live", *CLOSES), FLAKY),
}


@dataclass(frozen=True)
class Failure:
    """A failed run as Airflow reported it before anyone acted on it."""

    dag_id: str
    run_id: str
    ended: datetime
    task_id: str
    try_number: int
    error: str


def _failure(client: Any, dag_id: str, run_id: str) -> Failure:
    run = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
    tis = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
    [failed] = [t for t in tis if t["state"] == "failed"]
    error = next(d.error for d in EXAMPLE_DAGS if d.dag_id == dag_id)
    assert error and error in client.task_log(dag_id, run_id, failed["task_id"], failed["try_number"])
    ended = datetime.fromisoformat(run["end_date"].replace("Z", "+00:00"))
    return Failure(dag_id, run_id, ended, failed["task_id"], failed["try_number"], error)


@pytest.fixture(scope="module")
def failures(sandbox: SandboxInfo, sandbox_manager: Sandbox) -> dict[str, Failure]:
    """Each case's own failed run, triggered up front and awaited together."""
    with sandbox_manager.client() as client:
        runs = {case: (dag, client.trigger(dag)) for case, dag in CASES.items()}
    states = sandbox_manager.wait_for_runs(list(runs.values()), timeout=420)
    assert set(states.values()) == {"failed"}, states
    with sandbox_manager.client() as client:
        return {case: _failure(client, *run) for case, run in runs.items()}


class Surfaces:
    """One case: its installation, its failed run, and each step as each surface's user takes it."""

    def __init__(self, name: str, w: World, manager: Sandbox, failure: Failure, stack: ExitStack) -> None:
        self.name = name
        self.w = w
        self.manager = manager
        self.failure = failure
        self._stack = stack
        self._served: Served | None = None
        w.claim_all_but(manager, (failure.dag_id, failure.run_id))  # this world's autopilot sees only its run

    @property
    def served(self) -> Served:
        """The MCP server with the console and Slack's endpoint, started when a step first needs it."""
        if self._served is None:
            self._served = self._stack.enter_context(served(self.w))
        return self._served

    @property
    def me(self) -> dict[str, str]:
        return self.w.as_user(CLI_USER)

    def propose(self, surface: str) -> tuple[str, str]:
        """Propose the runbook's fix and ask for approval; (incident id, action id)."""
        f = self.failure
        if surface == "mcp":
            plan = self.served.mcp.call("propose_action", dag_id=f.dag_id, run_id=f.run_id)
            self.served.mcp.call("request_approval", action_id=plan["action"]["id"], reason="one clear, then verify")
            return plan["incident_id"], plan["action"]["id"]
        if surface == "cli":
            plan = cli_json(self.me, "propose", f.dag_id, f.run_id)
            cli_json(self.me, "request-approval", plan["action"]["id"])
            return plan["incident_id"], plan["action"]["id"]
        report = watch_once(self.w.env)
        assert report["detected"] == 1 and len(report["new_incidents"]) == len(report["proposed"]) == 1, report
        return report["new_incidents"][0], report["proposed"][0]

    def decide(self, surface: str, action_id: str, verb: str = "approve") -> None:
        if surface == "console":
            self.served.console(APPROVER[surface]).decide(action_id, verb, f"{verb}d in the console")
        elif surface == "slack":
            decided = self.served.slack_press(APPROVER[surface], verb, action_id)["state"]
            assert decided == {"approve": "approved", "deny": "denied"}[verb]
        else:
            cli(self.w.as_user(APPROVER[surface]), "approvals", verb, action_id, "--comment", "at the cli")

    def execute(self, surface: str, action_id: str) -> None:
        if surface == "mcp":
            assert self.served.mcp.call("clear_failed_tasks", action_id=action_id)["sent"]
        elif surface == "cli":
            assert cli_json(self.me, "execute", action_id)["sent"]
        else:
            assert watch_once(self.w.env)["executed"] == [action_id]

    def finish(self, surface: str, incident_id: str) -> str:
        """Verify the fix on `surface`, escalate it there if the run did not recover; the postmortem as that
        surface writes it (the autopilot writes it by itself)."""
        reason = "the rerun failed the same way; a human takes over"
        if surface == "mcp":
            mcp = self.served.mcp
            if mcp.call("check_recovery_rules", incident_id=incident_id)["verdict"] == "not_recovered":
                mcp.call("escalate", incident_id=incident_id, reason=reason)
        elif surface == "cli":
            if cli_json(self.me, "incidents", "verify", incident_id)["verdict"] == "not_recovered":
                cli_json(self.me, "incidents", "escalate", incident_id, "--reason", reason)
        else:
            report = watch_once(self.w.env)
            assert [*report["resolved"], *report["escalated"]] == [incident_id] and report["postmortems"], report
        return self.postmortem(surface, incident_id)

    def close(self, surface: str, incident_id: str) -> None:
        if surface == "mcp":
            self.served.mcp.call("close_incident", incident_id=incident_id, reason=REASON)
        elif surface == "cli":
            cli_json(self.me, "incidents", "close", incident_id, "--reason", REASON)
        else:
            self.served.console("alice").close(incident_id, REASON)

    def postmortem(self, surface: str, incident_id: str) -> str:
        """The postmortem's Markdown, written and read where `surface` writes and reads it."""
        if surface == "mcp":
            assert self.served.mcp.call("write_postmortem", incident_id=incident_id)["bytes"] > 0
            return self.served.mcp.read(f"postmortem://{incident_id}")
        if surface == "cli":
            markdown: str = cli_json(self.me, "incidents", "postmortem", incident_id)["markdown"]
            return markdown
        if surface == "console":
            self.served.console("alice").write_postmortem(incident_id)
        path = self.w.incidents.get(incident_id).postmortem_path  # the autopilot's, or the console's
        assert path, f"no postmortem written for {incident_id}"
        return Path(path).read_text()

    def wait_rerun(self, timeout: float = 240) -> str:
        """Wait for the cleared run to finish again in Airflow; its final state."""
        deadline = time.monotonic() + timeout
        with self.manager.client() as client:
            while time.monotonic() < deadline:
                state = client.run_state(self.failure.dag_id, self.failure.run_id)
                if state in ("success", "failed"):
                    return state
                time.sleep(2)
        raise AssertionError(f"{self.failure.dag_id}/{self.failure.run_id} did not finish in {timeout:.0f} s")

    def approvals(self, action_id: str) -> list[tuple[str, str, str]]:
        """(event, actor, surface kind) of the approval records of an action, from the audit export."""
        return [
            (r["event"], r["actor"], r["actor_kind"])
            for r in audit_records(self.w.env)
            if r.get("action_id") == action_id and r["event"].startswith("approval.")
        ]


@pytest.fixture
def case(
    request: pytest.FixtureRequest,
    sandbox: SandboxInfo,
    sandbox_manager: Sandbox,
    failures: dict[str, Failure],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Surfaces]:
    """The case `request.param` names, in its own installation."""
    name: str = request.param
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path / "data"))  # the store this process reads too
    with world(tmp_path, sandbox) as w, ExitStack() as stack:
        yield Surfaces(name, w, sandbox_manager, failures[name], stack)


# -- the truth ---------------------------------------------------------------------------------------

MILESTONES = {
    "detect": "detected",
    "triage": "triaged",
    "diagnose": "diagnosed",
    "mitigate": "executing",
    "resolve": "resolved",
}


def assert_true(
    c: Surfaces, markdown: str, *, state: str, moves: list[tuple[str, str]], action: str, cleared: bool
) -> Incident:
    """The incident ended in `state` through `moves` ((state, actor) in order) with its one action ended
    `action`, and its postmortem says what Airflow says happened."""
    failure = c.failure
    inc = c.w.only(failure.dag_id)
    assert inc.state == state, (inc.state, inc.verdict, inc.escalation_reason)
    assert [(m["to"], m["by"]) for m in inc.transitions] == moves
    assert inc.run_id == failure.run_id and inc.occurrences == 1

    # durations start at the failed run's end as Airflow recorded it (to the microsecond), not at detection or
    # a proposal
    ended = failure.ended
    assert datetime.fromisoformat(inc.steps["failed"]) == ended
    expected = {
        f"time_to_{name}_s": round((datetime.fromisoformat(inc.steps[step]) - ended).total_seconds(), 1)
        for name, step in MILESTONES.items()
        if step in inc.steps
    }
    assert inc.durations() == expected and expected["time_to_triage_s"] > 0, (inc.durations(), expected)

    with c.manager.client() as client:
        path = f"/api/v2/dags/{failure.dag_id}/dagRuns/{failure.run_id}/taskInstances"
        tis = client.get(path)["task_instances"]
    now_try = next(t["try_number"] for t in tis if t["task_id"] == failure.task_id)
    assert now_try == failure.try_number + (1 if cleared else 0)  # a clear replaced the try Airflow shows

    assert f"state **{state}**" in markdown
    assert f"first failing run `{failure.run_id}`, failed runs joined: 1" in markdown
    shown = ", ".join(f"{name.split('_')[2]} {v:g} s" for name, v in expected.items())
    assert f"Durations from the failure: {shown}" in markdown, markdown
    original = f"run {failure.run_id} failed: task {failure.task_id} try {failure.try_number} raised {failure.error}"
    assert f"[detection] {original}" in markdown, markdown
    proposer = moves[OPENING.index("proposed")][1]
    assert f"- Action: `clear_failed_tasks` `{inc.action_id}` ({action}, requested by {proposer})" in markdown
    # how the category was reached, kept from detection whichever surface opened the incident
    assert inc.facts["basis"].startswith("rule ") and f"- Reached by: {inc.facts['basis']}, confidence " in markdown

    # one set of books whichever surface moved it: the autopilot finds nothing left to do about this run
    after = watch_once(c.w.env)
    assert after["detected"] == after["joined"] == 0 and not (after["executed"] or after["escalated"]), after
    assert c.w.incidents.get(inc.id).state == state
    return inc


def opened_by(surface: str) -> list[tuple[str, str]]:
    return [(step, ACTOR[surface]) for step in OPENING]


# -- (1) clean fix, (4) executed from another surface than proposed, (5) rerun not recovered -> escalated --


@pytest.mark.parametrize("case", list(FIXES), indirect=True)
def test_fix(case: Surfaces) -> None:
    route = FIXES[case.name]
    incident_id, action_id = case.propose(route.propose)
    case.decide(route.approve, action_id)
    case.execute(route.execute, action_id)
    recovered = case.wait_rerun() == "success"
    assert recovered is (route.dag_id == FLAKY)
    markdown = case.finish(route.verify, incident_id)
    end, verdict = ("resolved", "recovered") if recovered else ("escalated", "not_recovered")
    moves = [
        *opened_by(route.propose),
        ("executing", ACTOR[route.execute]),
        ("verifying", ACTOR[route.execute]),
        (end, ACTOR[route.verify]),
    ]
    inc = assert_true(case, markdown, state=end, moves=moves, action="succeeded", cleared=True)
    assert inc.action_id == action_id and inc.verdict is not None and inc.verdict["verdict"] == verdict
    assert case.approvals(action_id) == [
        ("approval.requested", ACTOR[route.propose], KIND[route.propose]),
        ("approval.granted", APPROVER[route.approve], KIND[route.approve]),
    ]


# -- (2) propose twice ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["twice"], indirect=True)
def test_proposing_again_from_any_surface_reuses_the_pending_action(case: Surfaces) -> None:
    f, mcp = case.failure, case.served.mcp
    incident_id, action_id = case.propose("mcp")
    again = mcp.call("propose_action", dag_id=f.dag_id, run_id=f.run_id)
    at_cli = cli_json(case.me, "propose", f.dag_id, f.run_id)
    for answer in (again, at_cli):
        assert answer["reused"] is True and answer["action"]["id"] == action_id, answer
        assert answer["incident_id"] == incident_id
    seen = watch_once(case.w.env)  # the autopilot meets the same run: already handled, it asks nobody again
    assert seen["detected"] == seen["joined"] == 0 and seen["new_incidents"] == seen["proposed"] == [], seen
    assert [a["id"] for a in mcp.call("list_pending_approvals")["actions"]] == [action_id]
    case.decide("cli", action_id)
    case.execute("mcp", action_id)
    assert case.wait_rerun() == "success"
    markdown = case.finish("mcp", incident_id)
    moves = [*opened_by("mcp"), ("executing", ACTOR["mcp"]), ("verifying", ACTOR["mcp"]), ("resolved", ACTOR["mcp"])]
    inc = assert_true(case, markdown, state="resolved", moves=moves, action="succeeded", cleared=True)
    assert inc.action_id == action_id
    assert case.approvals(action_id) == [
        ("approval.requested", ACTOR["mcp"], "mcp"),
        ("approval.granted", "alice", "cli"),
    ]


# -- (3) shadow, then live -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["shadow-live"], indirect=True)
def test_a_shadow_cycle_plans_only_and_the_live_cycle_opens_the_incident(case: Surfaces) -> None:
    f = case.failure
    shadow = watch_once(case.w.env, "--shadow")
    plan = {"where": f"{ENV}/{f.dag_id}/{f.run_id}", "kind": "clear_failed_tasks"}
    assert shadow["shadow_plans"] == [plan] and shadow["new_incidents"] == shadow["proposed"] == [], shadow
    assert case.w.incidents.list() == [] and cli_json(case.w.env, "approvals", "list", "--all") == []
    events = [r["event"] for r in audit_records(case.w.env)]
    assert "autopilot.shadow_plan" in events and not any(e.startswith(("action.", "approval.")) for e in events)
    incident_id, action_id = case.propose("autopilot")  # the live cycle sees the same failure
    case.decide("slack", action_id, "deny")  # the approver says no: the incident goes to a human
    assert watch_once(case.w.env)["postmortems"]  # the autopilot writes the escalated incident's postmortem
    markdown = case.postmortem("autopilot", incident_id)
    moves = [*opened_by("autopilot"), ("escalated", ACTOR["slack"])]
    inc = assert_true(case, markdown, state="escalated", moves=moves, action="denied", cleared=False)
    assert inc.escalation_reason == f"action {action_id} was denied by bob: via Slack ({SLACK_IDS['bob']})"
    assert f"- Escalated: {inc.escalation_reason}" in markdown


# -- (6) closed by hand ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CLOSES), indirect=True)
def test_closed_by_hand(case: Surfaces) -> None:
    opener, closer = CLOSES[case.name]
    incident_id, action_id = case.propose(opener)
    case.close(closer, incident_id)
    markdown = case.postmortem(closer, incident_id)
    moves = [*opened_by(opener), ("closed", ACTOR[closer])]
    inc = assert_true(case, markdown, state="closed", moves=moves, action="cancelled", cleared=False)
    assert inc.close_reason == REASON and f"- Closed by hand: {REASON}" in markdown
    [action] = cli_json(case.w.env, "approvals", "list", "--all")
    assert action["id"] == action_id and action["state"] == "cancelled"  # withdrawn: nobody approves a dead plan
