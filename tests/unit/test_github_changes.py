"""GitHub change control: config, target checks, merge patch, the exact PR call, and the GitHub stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.connectors.clients import Clients
from pipeline_sre.connectors.github import GitHubClient, git_blob_sha
from pipeline_sre.errors import BackendRefused, BackendUnavailable, ConfigError, InvalidInput
from pipeline_sre.governance.actions import Action
from pipeline_sre.governance.external_actions import branch_for
from pipeline_sre.governance.kinds import get_kind
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.lifecycle import changes
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.backends import GitHubConfig
from pipeline_sre.settings.config import Settings, parse_settings
from tests.fakes.github_api import FakeGitHub, blob_sha

pytestmark = pytest.mark.anyio
TOKEN_ENV = "PSRE_TEST_GH_TOKEN"
JOB_JSON = json.dumps({"name": "nightly_sales", "max_retries": 1, "new_cluster": {"num_workers": 4}}, indent=4) + "\n"


@pytest.fixture(scope="module")
def gh() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.add_repo("acme/pipelines", {"jobs/nightly_sales.json": JOB_JSON, "spark/etl.conf": "spark.a 1\n"})
    fake.add_repo("acme/secret-infra", {"jobs/x.json": "{}\n"})
    with fake.serve():
        yield fake


@pytest.fixture(autouse=True)
def _env(gh: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, gh.token)
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)


def github_config(gh: FakeGitHub) -> dict[str, Any]:
    return {
        "api_url": gh.url,
        "token_env": TOKEN_ENV,
        "max_retries": 1,
        "repositories": [{"repo": "acme/pipelines", "paths": ["jobs/*.json", "spark/*.conf"]}],
    }


@pytest.fixture
def settings(gh: FakeGitHub) -> Settings:
    return parse_settings(
        {
            "environments": {"prod": {"airflow": {"url": "http://127.0.0.1:9"}}},
            "github": github_config(gh),
            "governance": {
                "mode": "live",
                "approvers": ["alice"],
                "environments": {"prod": {"allow_dags": ["github:acme/pipelines:jobs/*"]}},
            },
        },
        "test",
    )


@pytest.fixture
async def rt(settings: Settings) -> Any:
    runtime = Runtime(settings)
    yield runtime
    await runtime.aclose()


def test_config_shape_and_errors() -> None:
    with pytest.raises(ConfigError, match=r"github.repositories.0.repo: Value error, must be owner/name"):
        parse_settings(
            {
                "environments": {"p": {"airflow": {"url": "http://x"}}},
                "github": {"repositories": [{"repo": "../x", "paths": ["a"]}]},
            },
            "t",
        )
    with pytest.raises(ConfigError, match="list at least one path glob"):
        parse_settings(
            {
                "environments": {"p": {"airflow": {"url": "http://x"}}},
                "github": {"repositories": [{"repo": "a/b", "paths": []}]},
            },
            "t",
        )
    conf = GitHubConfig(repositories=[{"repo": "Acme/Pipelines", "paths": ["jobs/*.json"]}])
    assert conf.api_url == "https://api.github.com" and conf.repository("acme/pipelines") is not None


def test_merge_patch_rfc7386_and_formatting() -> None:
    assert changes.merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": None, "e": 4}, "f": [1]}) == {
        "a": 1,
        "b": {"d": 3, "e": 4},
        "f": [1],
    }
    assert changes.merge_patch({"a": 1}, ["x"]) == ["x"]
    new = changes.apply_json_patch(JOB_JSON, {"new_cluster": {"num_workers": 8}}, "jobs/x.json")
    assert new.endswith("\n") and '\n    "name"' in new and json.loads(new)["new_cluster"]["num_workers"] == 8
    with pytest.raises(InvalidInput, match="not JSON"):
        changes.apply_json_patch("spark.a 1\n", {"a": 1}, "spark/etl.conf")
    with pytest.raises(InvalidInput, match="does not exist"):
        changes.apply_json_patch(None, {"a": 1}, "jobs/new.json")


def _action(params: dict[str, Any]) -> Action:
    return Action(
        id="act_abcdefghijklmnopqrst",
        kind="rollout_config",
        environment="prod",
        params=get_kind("rollout_config").normalise(params),
        requested_by="me",
        created_at=datetime.now(UTC),
    )


def test_rollout_call_shows_the_exact_pr_and_diff() -> None:
    new = JOB_JSON.replace('"max_retries": 1', '"max_retries": 3')
    action = _action(
        {
            "repo": "acme/pipelines",
            "base": "main",
            "path": "jobs/nightly_sales.json",
            "title": "Retry 3x",
            "old_content": JOB_JSON,
            "new_content": new,
        }
    )
    spec = get_kind("rollout_config")
    settings = parse_settings({"environments": {"prod": {"airflow": {"url": "http://x"}}}}, "t")
    call = spec.executor_for(Clients(settings)).describe_call(action)
    assert call["path"] == "/repos/acme/pipelines/pulls"
    assert call["body"]["head"] == branch_for(action.id) == "pipeline-sre/act_abcdefghijklmnopqrst"
    assert call["body"]["base"] == "main" and action.id in call["body"]["body"]
    assert '-    "max_retries": 1,' in call["diff"] and '+    "max_retries": 3,' in call["diff"]
    assert call["precondition"].endswith(git_blob_sha(JOB_JSON)) and git_blob_sha(JOB_JSON) == blob_sha(JOB_JSON)
    assert spec.resource(spec.parse(action.params)) == "github:acme/pipelines:jobs/nightly_sales.json"
    for bad in (
        {"path": "../etc/passwd"},
        {"path": "/abs"},
        {"repo": "nope"},
        {"base": "-x"},
        {"new_content": JOB_JSON},
    ):
        with pytest.raises(InvalidInput):
            spec.parse({**action.params, **bad})


async def test_client_refuses_targets_outside_config_before_any_request(gh: FakeGitHub) -> None:
    client = GitHubClient(GitHubConfig(**github_config(gh)))
    before = sum(gh.calls.values())
    with pytest.raises(BackendRefused, match="not configured"):
        await client.get_file("acme/secret-infra", "jobs/x.json", "main")
    with pytest.raises(BackendRefused, match="outside the globs"):
        await client.get_file("acme/pipelines", "dags/x.py", "main")
    assert sum(gh.calls.values()) == before
    text, sha = await client.get_file("acme/pipelines", "jobs/nightly_sales.json", "main") or ("", "")
    assert text == JOB_JSON and sha == blob_sha(JOB_JSON)
    assert await client.get_file("acme/pipelines", "jobs/new.json", "main") is None
    gh.fail_next.extend([502, 502])
    with pytest.raises(BackendUnavailable, match=r"GitHub \(http://127.0.0.1:\d+\) is unavailable: HTTP 502"):
        await client.get_file("acme/pipelines", "jobs/nightly_sales.json", "main")
    await client.aclose()


async def test_bad_token_is_refused_without_leaking(gh: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "ghp_" + "A" * 36
    monkeypatch.setenv(TOKEN_ENV, secret)
    client = GitHubClient(GitHubConfig(**github_config(gh)))
    with pytest.raises(BackendRefused) as err:
        await client.get_file("acme/pipelines", "jobs/nightly_sales.json", "main")
    assert "HTTP 401" in err.value.message and TOKEN_ENV in err.value.message and secret not in err.value.message
    await client.aclose()


async def test_rollout_proposes_with_diff_and_decision(gh: FakeGitHub, rt: Runtime) -> None:
    writes = len(gh.writes)
    out = await changes.rollout_config(
        rt,
        {"json_merge_patch": {"new_cluster": {"num_workers": 8}}, "title": "More workers", "description": "OOM"},
        {"repo": "acme/pipelines", "path": "jobs/nightly_sales.json"},
        requested_by="mcp:test",
    )
    assert out["action"]["kind"] == "rollout_config" and out["action"]["state"] == "proposed"
    assert '+        "num_workers": 8' in out["diff"]
    assert out["decision"]["rule"] == "approvals.required"
    assert "new_content" not in out["action"]["params"]
    assert len(gh.writes) == writes  # proposing writes nothing


async def test_rollout_input_errors(gh: FakeGitHub, rt: Runtime) -> None:
    target = {"repo": "acme/pipelines", "path": "jobs/nightly_sales.json"}
    cases: list[tuple[Any, Any, str]] = [
        ({"title": "t"}, target, "exactly one of"),
        ({"content": "x", "json_merge_patch": {}, "title": "t"}, target, "exactly one of"),
        ({"content": "x"}, target, "title is required"),
        ({"content": JOB_JSON, "title": "t"}, target, "nothing to propose"),
        ({"content": "x", "title": "t"}, {"repo": "acme/pipelines", "path": "a/../b"}, "invalid target"),
        ({"content": "x", "title": "t"}, {**target, "branch": "x"}, "unknown target key"),
    ]
    for change, tgt, message in cases:
        with pytest.raises(InvalidInput, match=message):
            await changes.rollout_config(rt, change, tgt, requested_by="mcp:test")


async def test_rollout_not_allowlisted_file_gets_a_refusal_decision(gh: FakeGitHub, rt: Runtime) -> None:
    out = await changes.rollout_config(
        rt,
        {"content": "spark.a 2\n", "title": "t"},
        {"repo": "acme/pipelines", "path": "spark/etl.conf"},
        requested_by="mcp:test",
    )
    assert out["decision"]["rule"] == "allowlist.dags" and "-spark.a 1" in out["diff"]


async def test_rollout_outside_configured_repos_is_refused_and_audited(gh: FakeGitHub, rt: Runtime) -> None:
    before = sum(gh.calls.values())
    with pytest.raises(PolicyRefusal) as err:
        await changes.rollout_config(
            rt,
            {"content": "{}", "title": "t"},
            {"repo": "acme/secret-infra", "path": "jobs/x.json"},
            requested_by="mcp:test",
        )
    assert err.value.rule == "github.target_not_configured"
    assert sum(gh.calls.values()) == before
    refused = [r for r in rt.governance.audit.records() if r.event == "action.refused"]
    assert refused and refused[-1].result == "github.target_not_configured"
    assert "acme/secret-infra" in refused[-1].detail_json
