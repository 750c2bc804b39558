"""GitHub pull-request reviews as an approval channel for config changes, against the GitHub REST stand-in:
the rules (unmapped login, PR author, stale commit, four-eyes across channels, a repeated review,
CHANGES_REQUESTED), the signed webhook, the whole flow through app/operations to the pinned merge, and what
MCP, the CLI and the console show."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from typer.testing import CliRunner

from pipeline_sre.app import github_reviews, operations
from pipeline_sre.errors import ConfigError
from pipeline_sre.governance import github_reviews as rules
from pipeline_sre.governance.identity import Principal
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.governance.service import ActionFailed
from pipeline_sre.lifecycle import changes
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.backends import GitHubConfig
from pipeline_sre.settings.config import load_settings, parse_settings
from pipeline_sre.store.github_reviews import ReviewPull
from pipeline_sre.store.users import UserStore
from pipeline_sre.surfaces.cli.app import app as cli
from pipeline_sre.surfaces.github.webhook import MAX_BODY, GitHubWebhook, signature_of
from pipeline_sre.surfaces.web.app import console_app
from tests.fakes.github_api import FakeGitHub

pytestmark = pytest.mark.anyio
TOKEN_ENV = "PSRE_TEST_GH_TOKEN"
HOOK_ENV = "PSRE_TEST_GH_HOOK_SECRET"
HOOK_SECRET = "webhook-secret-not-real-0123456789"
REPO = "acme/pipelines"
PATH = "jobs/nightly.json"
OLD = json.dumps({"name": "nightly", "num_workers": 4}, indent=2) + "\n"
CAROL = Principal("mcp", "carol")
T0 = datetime(2026, 12, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def gh() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with fake.serve():
        yield fake


def config(gh: FakeGitHub, tmp_path: Path, mode: str = "live") -> dict[str, Any]:
    return {
        "environments": {"prod": {"airflow": {"url": "http://127.0.0.1:9"}}},
        "data_dir": str(tmp_path / "data"),
        "github": {
            "api_url": gh.url,
            "token_env": TOKEN_ENV,
            "max_retries": 0,
            "webhook_secret_env": HOOK_ENV,
            "user_map": {"OctoCat": "alice", "hubot": "bob", "pipeline-sre-bot": "carol"},
            "repositories": [{"repo": REPO, "paths": ["jobs/*.json"], "approve_by_review": True}],
        },
        "governance": {
            "mode": mode,
            "approvers": ["alice", "bob", "carol"],
            "environments": {"prod": {"allow_dags": ["github:acme/pipelines:jobs/*"], "required_approvals": 1}},
        },
    }


@pytest.fixture(autouse=True)
def _env(gh: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, gh.token)
    monkeypatch.setenv(HOOK_ENV, HOOK_SECRET)
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_SRE_DATA_DIR", raising=False)
    monkeypatch.delenv("PIPELINE_SRE_TOKEN", raising=False)
    monkeypatch.setenv("PIPELINE_SRE_CONSOLE_SECRET", "s" * 48)
    gh.add_repo(REPO, {PATH: OLD})
    gh.writes.clear()


@pytest.fixture
async def rt(gh: FakeGitHub, tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = Runtime(parse_settings(config(gh, tmp_path), "test"))
    yield runtime
    await runtime.aclose()


async def requested(rt: Runtime, who: Principal = CAROL) -> tuple[str, dict[str, Any]]:
    """A config change proposed and put up for approval: its action id and the review it opened."""
    proposal = await changes.rollout_config(
        rt,
        {"json_merge_patch": {"num_workers": 8}, "title": "nightly: 8 workers"},
        {"repo": REPO, "path": PATH},
        requested_by=who.actor,
    )
    action_id = proposal["action"]["id"]
    assert proposal["merge"]["path"] == f"/repos/{REPO}/pulls/{{number}}/merge" and "merges it" in proposal["next"]
    assert proposal["pull_request"]["body"]["head"] == f"pipeline-sre/{action_id}"
    out = await operations.ask_approval(rt, who, action_id, "driver OOM on 4 workers")
    return action_id, out


def pull_of(action_id: str, head: str = "a" * 40) -> ReviewPull:
    return ReviewPull(action_id, REPO, 1, head, "https://github.example/x/pull/1", "pipeline-sre-bot", T0)


# -- the rules -----------------------------------------------------------------------------------------


def test_what_a_review_counts_as() -> None:
    conf = GitHubConfig(user_map={"octocat": "alice", "pipeline-sre-bot": "carol"})
    pull = pull_of("act_aaaaaaaaaaaaaaaaaaaa")

    def verdict(login: str, state: str, commit: str = "a" * 40) -> rules.Verdict:
        return rules.judge({"id": 1, "login": login, "state": state, "commit_id": commit}, pull, conf)

    assert verdict("OctoCat", "APPROVED") == rules.Verdict("approve", "alice", "OctoCat (alice) approved aaaaaaaaaaaa")
    unmapped = verdict("stranger", "APPROVED")
    assert unmapped.decision is None and "not mapped" in unmapped.why
    author = verdict("pipeline-sre-bot", "APPROVED")
    assert author.decision is None and "opened the pull request" in author.why
    stale = verdict("octocat", "APPROVED", "b" * 40)
    assert stale.decision is None and "not of aaaaaaaaaaaa" in stale.why
    assert verdict("octocat", "COMMENTED").decision is None
    assert verdict("octocat", "CHANGES_REQUESTED").decision == "deny"


def test_settings_refuse_review_repositories_without_reviewers_and_bad_logins() -> None:
    base = {"environments": {"p": {"airflow": {"url": "http://x"}}}}
    repo = {"repo": REPO, "paths": ["jobs/*"], "approve_by_review": True}
    with pytest.raises(ConfigError, match=r"github\.user_map maps no login"):
        parse_settings({**base, "github": {"repositories": [repo]}}, "t")
    with pytest.raises(ConfigError, match="is not a GitHub login"):
        parse_settings({**base, "github": {"repositories": [repo], "user_map": {"-bad": "alice"}}}, "t")


# -- the flow through app/operations -----------------------------------------------------------------


async def test_review_approves_and_executing_merges_the_reviewed_head_once(gh: FakeGitHub, rt: Runtime) -> None:
    action_id, out = await requested(rt)
    review = out["review"]
    assert review["state"] == "open" and review["pull_request"] == 1 and "pull/1" in review["url"]
    pr = gh.pull(REPO, 1)
    head = gh.head_sha(REPO, 1)
    record = rt.governance.get_action(action_id)
    assert review["head_sha"] == head and action_id in pr["body"] and record.digest in pr["body"]
    assert record.call["method"] == "PUT" and record.call["path"] == f"/repos/{REPO}/pulls/{{number}}/merge"
    assert record.review is not None and record.review["pull_request"] == 1
    assert gh.file(REPO, "main", PATH) == OLD  # opening for review changed nothing on the base

    gh.add_review(REPO, 1, "stranger", "APPROVED")  # unmapped: never approves
    gh.add_review(REPO, 1, "octocat", "COMMENTED")
    approval = gh.add_review(REPO, 1, "octocat", "APPROVED")
    synced = await github_reviews.sync_reviews(rt, CAROL)
    outcomes = {d["login"]: d["outcome"] for d in synced["decisions"]}
    assert outcomes == {"stranger": "ignored", "octocat": "approved"}
    record = rt.governance.get_action(action_id)
    assert record.state == "approved" and [a.approver for a in record.approvals] == ["alice"]
    granted = [r for r in rt.governance.audit.records() if r.event == "approval.granted"]
    assert [(r.actor, r.actor_kind) for r in granted] == [("alice", "github")]
    assert str(approval["id"]) in granted[0].detail_json

    again = await github_reviews.sync_reviews(rt, CAROL)  # the same reviews: judged once
    assert again["decisions"] == [] and len(rt.governance.get_action(action_id).approvals) == 1
    ignored = [r for r in rt.governance.audit.records() if r.event == "github.review_ignored"]
    assert len(ignored) == 2

    gh.writes.clear()
    done = await operations.execute(rt, CAROL, action_id, "rollout_config")
    assert done["sent"] and done["state"] == "succeeded"
    assert done["result"]["head_sha"] == head and done["result"]["pull_request"]["merged"]
    assert json.loads(gh.file(REPO, "main", PATH) or "")["num_workers"] == 8
    assert [w for w in gh.writes if w[0] == "PUT" and w[1].endswith("/merge")] == [
        ("PUT", f"/repos/{REPO}/pulls/1/merge")
    ]
    with pytest.raises(PolicyRefusal, match="already ran"):
        await operations.execute(rt, CAROL, action_id, "rollout_config")
    executor = rt.governance.executors.get("rollout_config")
    assert executor is not None and (await executor.find_existing(record.action) or {}).get("merged") is True


async def test_four_eyes_compares_people_not_channels(gh: FakeGitHub, rt: Runtime) -> None:
    alice = Principal("mcp", "alice")
    action_id, _ = await requested(rt, alice)
    gh.add_review(REPO, 1, "octocat", "APPROVED")  # alice's own login
    synced = await github_reviews.sync_reviews(rt, alice, action_id)
    assert [d["outcome"] for d in synced["decisions"]] == ["refused:approvals.self_approval"]
    assert rt.governance.get_action(action_id).state == "awaiting_approval"
    gh.add_review(REPO, 1, "hubot", "APPROVED")
    synced = await github_reviews.sync_reviews(rt, alice, action_id)
    assert [d["outcome"] for d in synced["decisions"]] == ["approved"]
    assert rt.governance.get_action(action_id).state == "approved"


async def test_the_pull_request_author_cannot_approve_even_when_mapped(gh: FakeGitHub, rt: Runtime) -> None:
    action_id, _ = await requested(rt, Principal("mcp", "dave"))
    gh.add_review(REPO, 1, "pipeline-sre-bot", "APPROVED")  # mapped to carol, but it opened the PR
    synced = await github_reviews.sync_reviews(rt, CAROL)
    assert synced["decisions"][0]["outcome"] == "ignored" and "opened the pull request" in synced["decisions"][0]["why"]
    assert rt.governance.get_action(action_id).state == "awaiting_approval"


async def test_a_push_after_the_review_voids_it_and_is_never_merged(gh: FakeGitHub, rt: Runtime) -> None:
    action_id, _ = await requested(rt)
    branch = f"pipeline-sre/{action_id}"
    gh.set_file(REPO, branch, "jobs/extra.json", "{}\n")  # someone pushes to the pull request
    gh.add_review(REPO, 1, "octocat", "APPROVED")  # of the new head: not the commit pipeline-sre opened
    synced = await github_reviews.sync_reviews(rt, CAROL)
    assert synced["decisions"][0]["outcome"] == "ignored" and "does not count" in synced["decisions"][0]["why"]
    assert rt.governance.get_action(action_id).state == "awaiting_approval"
    # Approved elsewhere (the digest binds the file's content), the merge still refuses the pushed head.
    operations.decide(rt, Principal("web", "bob"), action_id, approve=True, comment=None)
    with pytest.raises(ActionFailed, match="holds more than, or other than, the approved change"):
        await operations.execute(rt, CAROL, action_id, "rollout_config")
    assert gh.file(REPO, "main", PATH) == OLD and not gh.pull(REPO, 1)["merged"]


async def test_changes_requested_by_a_mapped_reviewer_denies(gh: FakeGitHub, rt: Runtime) -> None:
    action_id, _ = await requested(rt)
    gh.add_review(REPO, 1, "hubot", "CHANGES_REQUESTED")
    synced = await github_reviews.sync_reviews(rt, CAROL)
    assert [d["outcome"] for d in synced["decisions"]] == ["denied"]
    record = rt.governance.get_action(action_id)
    assert record.state == "denied" and record.approvals[0].approver == "bob"


async def test_dry_run_opens_nothing_and_says_why(gh: FakeGitHub, tmp_path: Path) -> None:
    runtime = Runtime(parse_settings(config(gh, tmp_path, mode="dry_run"), "test"))
    try:
        _, out = await requested(runtime)
        assert out["review"]["state"] == "not_opened" and "dry_run" in out["review"]["why"]
        assert gh.writes == [] and not gh.repos[REPO].pulls
    finally:
        await runtime.aclose()


# -- the signed webhook --------------------------------------------------------------------------------


def delivery(gh: FakeGitHub, review: dict[str, Any], action: str = "submitted") -> bytes:
    pull = gh.pull(REPO, 1)
    hook_review = {**review, "state": review["state"].lower()}  # webhooks carry the state in lower case
    payload = {
        "action": action,
        "review": hook_review,
        "pull_request": {"number": 1, "user": pull["user"], "head": {"sha": gh.head_sha(REPO, 1)}},
        "repository": {"full_name": REPO},
        "sender": review["user"],
    }
    return json.dumps(payload).encode()


async def test_webhook_checks_the_signature_and_judges_each_review_once(gh: FakeGitHub, rt: Runtime) -> None:
    action_id, _ = await requested(rt)
    app = Starlette(routes=[Route("/github/webhook", GitHubWebhook(rt).__call__, methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    body = delivery(gh, gh.add_review(REPO, 1, "octocat", "APPROVED"))
    headers = {"x-github-event": "pull_request_review", "content-type": "application/json"}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        missing = await client.post("/github/webhook", content=body, headers=headers)
        assert missing.status_code == 401 and "no X-Hub-Signature-256" in missing.json()["error"]
        forged = {**headers, "x-hub-signature-256": signature_of("not-the-secret", body)}
        bad = await client.post("/github/webhook", content=body, headers=forged)
        assert bad.status_code == 401 and bad.json()["rule"] == "github.bad_signature"
        assert HOOK_SECRET not in bad.text and "Traceback" not in bad.text
        assert rt.governance.get_action(action_id).state == "awaiting_approval"

        signed = {**headers, "x-hub-signature-256": signature_of(HOOK_SECRET, body)}
        ok = await client.post("/github/webhook", content=body, headers=signed)
        assert ok.status_code == 200 and ok.json()["decisions"][0]["outcome"] == "approved"
        replay = await client.post("/github/webhook", content=body, headers=signed)
        assert replay.status_code == 200 and replay.json()["decisions"] == []

        ping = b'{"zen": "Keep it logically awesome."}'
        pong = await client.post(
            "/github/webhook",
            content=ping,
            headers={"x-github-event": "ping", "x-hub-signature-256": signature_of(HOOK_SECRET, ping)},
        )
        assert pong.json() == {"ok": True, "pong": True}
        junk = b"{not json"
        unreadable = await client.post(
            "/github/webhook", content=junk, headers={**headers, "x-hub-signature-256": signature_of(HOOK_SECRET, junk)}
        )
        assert unreadable.status_code == 400 and "not JSON" in unreadable.json()["error"]

        async def endless() -> AsyncIterator[bytes]:  # chunked, no length declared: read only up to the cap
            for _ in range(MAX_BODY // 65536 + 2):
                yield b"x" * 65536

        huge = await client.post("/github/webhook", content=endless(), headers=signed)
        assert huge.status_code == 413 and huge.json()["rule"] == "github.too_large"
    assert rt.governance.get_action(action_id).state == "approved"
    refused = [r for r in rt.governance.audit.records() if r.event == "github.refused"]
    assert [r.result for r in refused] == ["github.signature_missing", "github.bad_signature", "github.too_large"]


# -- what the surfaces show -------------------------------------------------------------------------------


async def test_mcp_request_approval_and_sync_reviews_show_the_pull_request(gh: FakeGitHub, rt: Runtime) -> None:
    from pipeline_sre.surfaces.mcp.server import build_server

    server = build_server(rt)
    proposal = await changes.rollout_config(
        rt, {"content": '{"x": 1}\n', "title": "x"}, {"repo": REPO, "path": PATH}, requested_by="mcp:carol"
    )
    action_id = proposal["action"]["id"]
    asked = json.loads(_text(await server.call_tool("request_approval", {"action_id": action_id})))
    assert asked["review"]["state"] == "open" and asked["review"]["url"].endswith("/pull/1")
    assert "github.user_map" in asked["how_to_approve"]
    gh.add_review(REPO, 1, "hubot", "APPROVED")
    synced = json.loads(_text(await server.call_tool("sync_reviews", {})))
    assert synced["decisions"][0]["outcome"] == "approved" and synced["pull_requests"][0]["action_id"] == action_id
    shown = json.loads(_text(await server.call_tool("get_action", {"action_id": action_id})))
    assert shown["review"]["pull_request"] == 1 and shown["state"] == "approved"


def _text(result: Any) -> str:
    content = result[0] if isinstance(result, tuple) else result.content
    return "".join(getattr(c, "text", "") for c in content)


def test_cli_requests_shows_and_syncs(gh: FakeGitHub, tmp_path: Path) -> None:
    path = tmp_path / "pipeline-sre.yaml"
    path.write_text(yaml.safe_dump(config(gh, tmp_path)), encoding="utf-8")

    async def propose() -> str:
        rt = Runtime(load_settings(path))
        try:
            p = await changes.rollout_config(
                rt, {"content": "{}\n", "title": "t"}, {"repo": REPO, "path": PATH}, requested_by="cli:carol"
            )
            return str(p["action"]["id"])
        finally:
            await rt.aclose()

    action_id = anyio.run(propose)
    runner = CliRunner()
    asked = runner.invoke(cli, ["request-approval", action_id, "--config", str(path)])
    assert asked.exit_code == 0, asked.output
    assert "GitHub review" in asked.output and "/pull/1" in asked.output
    gh.add_review(REPO, 1, "octocat", "APPROVED")
    synced = runner.invoke(cli, ["approvals", "sync-reviews", "--config", str(path), "--json"])
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.output)["decisions"][0]["outcome"] == "approved"
    shown = runner.invoke(cli, ["approvals", "show", action_id, "--config", str(path)])
    assert "github review" in shown.output and "/pull/1" in shown.output


async def test_console_shows_the_pull_request_and_syncs_on_request(gh: FakeGitHub, rt: Runtime) -> None:
    action_id, _ = await requested(rt)
    UserStore(rt.governance.db).add("bob", "approver", "bob-password-4567")
    gh.add_review(REPO, 1, "hubot", "APPROVED")
    base = "https://testserver"
    with TestClient(console_app(rt), base_url=base, headers={"origin": base}) as browser:
        page = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        browser.post(
            "/login",
            data={"username": "bob", "password": "bob-password-4567", "csrf_token": token.group(1), "next": "/"},
        )
        shown = browser.get(f"/actions/{action_id}")
        assert 'data-testid="github-review"' in shown.text and "/pull/1" in shown.text
        assert "Sync GitHub reviews" in shown.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', shown.text)
        assert csrf
        synced = browser.post(f"/actions/{action_id}/sync-reviews", data={"csrf_token": csrf.group(1)})
        assert synced.status_code == 200 and "hubot: approved" in synced.text
    assert rt.governance.get_action(action_id).state == "approved"
