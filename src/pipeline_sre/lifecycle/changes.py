"""Change control: a config change (job JSON, Spark conf, DAG conf file) proposed as a pull request.

Nothing here writes to GitHub. `rollout_config` reads the file at the base branch, builds the new text
(given whole, or as a JSON merge patch, RFC 7386), and proposes a `rollout_config` action through the
governed path; its exact call carries the unified diff. The executor opens the pull request once the
action is approved, or, in a repository that approves by review, merges the one opened for review (see
governance/external_actions.py and governance/github_reviews.py). A target outside `github.repositories` is
refused before anything is read, and the refusal is audited.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance import external_actions as ext
from pipeline_sre.governance.audit import AuditEvent
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.lifecycle.compact import fit
from pipeline_sre.lifecycle.plans import action_view
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.backends import GitHubRepository, check_branch, check_path, check_repo

RESULT_BYTES = 12_000


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _indent_of(text: str) -> int:
    m = re.search(r"^\{\s*\n([ \t]+)\"", text)
    return len(m.group(1).expandtabs(4)) if m else 2


def apply_json_patch(old: str | None, patch: dict[str, Any], path: str) -> str:
    if old is None:
        raise InvalidInput(f"{path} does not exist at the base branch: give `content`, not a json_merge_patch")
    try:
        current = json.loads(old)
    except ValueError:
        raise InvalidInput(f"{path} is not JSON: give the whole new `content` instead of a json_merge_patch") from None
    merged = merge_patch(current, patch)
    text = json.dumps(merged, indent=_indent_of(old), ensure_ascii=False)
    return text + "\n" if old.endswith("\n") else text


def _parse_target(target: Any) -> tuple[str, str, str | None]:
    if not isinstance(target, dict):
        raise InvalidInput("target must be an object {repo: 'owner/name', path: 'dir/file', base?: 'main'}")
    unknown = sorted(set(target) - {"repo", "path", "base"})
    if unknown:
        raise InvalidInput(f"unknown target key(s) {', '.join(unknown)}; allowed: repo, path, base")
    repo, path, base = target.get("repo"), target.get("path"), target.get("base")
    try:
        check_repo(str(repo or ""))
        check_path(str(path or ""))
        if base is not None:
            check_branch(str(base))
    except ValueError as err:
        raise InvalidInput(f"invalid target: {err} (got repo={repo!r}, path={path!r}, base={base!r})") from None
    return str(repo), str(path), str(base) if base is not None else None


def _parse_change(change: Any) -> tuple[str | None, dict[str, Any] | None, str, str]:
    if not isinstance(change, dict):
        raise InvalidInput("change must be an object {content | json_merge_patch, title, description?}")
    unknown = sorted(set(change) - {"content", "json_merge_patch", "title", "description"})
    if unknown:
        raise InvalidInput(
            f"unknown change key(s) {', '.join(unknown)}; allowed: content, json_merge_patch, title, description"
        )
    content, patch = change.get("content"), change.get("json_merge_patch")
    if (content is None) == (patch is None):
        raise InvalidInput("give exactly one of change.content (the whole new file) or change.json_merge_patch")
    if content is not None and not isinstance(content, str):
        raise InvalidInput("change.content must be the new file text")
    if patch is not None and not isinstance(patch, dict):
        raise InvalidInput("change.json_merge_patch must be a JSON object (RFC 7386)")
    title = change.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("change.title is required: it becomes the pull request title")
    description = change.get("description") or ""
    if not isinstance(description, str):
        raise InvalidInput("change.description must be text")
    return content, patch, title.strip(), description


def _audit_refusal(rt: Runtime, refusal: PolicyRefusal, actor: str, detail: dict[str, Any]) -> None:
    rt.governance.audit.append(
        AuditEvent(
            "action.refused",
            actor,
            "mcp",
            result=refusal.rule,
            detail={
                "stage": "propose",
                "kind": "rollout_config",
                "rule": refusal.rule,
                "message": refusal.message,
                "allow_hint": refusal.allow_hint,
                **detail,
            },
        )
    )


async def _refuse(rt: Runtime, refusal: PolicyRefusal, actor: str, **detail: Any) -> PolicyRefusal:
    await asyncio.to_thread(_audit_refusal, rt, refusal, actor, detail)
    return refusal


def _environment_for(rt: Runtime, conf: GitHubRepository, environment: str | None) -> str:
    name = environment or conf.environment
    if name is None and len(rt.settings.environments) > 1:
        raise InvalidInput(
            f"say which environment's policy governs {conf.repo}: pass environment, or set "
            f"github.repositories[repo={conf.repo}].environment"
        )
    env_name, _ = rt.environment(name)
    return env_name


async def rollout_config(
    rt: Runtime, change: Any, target: Any, environment: str | None = None, *, requested_by: str
) -> dict[str, Any]:
    """Propose a pull request with the change; returns the exact PR (with its diff) and the decision."""
    repo, path, base = _parse_target(target)
    content, patch, title, description = _parse_change(change)
    config = rt.settings.github
    if config is None:
        raise await _refuse(
            rt,
            PolicyRefusal(
                "GitHub change control is not configured, so no pull request can be proposed",
                "github.not_configured",
                "add a top-level github: section with token_env and repositories",
            ),
            requested_by,
            repo=repo,
            path=path,
        )
    conf = config.repository(repo)
    if conf is None or not conf.allows(path):
        where = (
            f"repository {repo!r} is not configured under github.repositories "
            f"({', '.join(r.repo for r in config.repositories) or 'none'})"
            if conf is None
            else f"path {path!r} is outside the globs configured for {conf.repo} ({', '.join(conf.paths)})"
        )
        raise await _refuse(
            rt,
            PolicyRefusal(
                f"{where}; nothing was read or written",
                "github.target_not_configured",
                "add the repository and a path glob matching the file to github.repositories",
                repo=repo,
                path=path,
            ),
            requested_by,
            repo=repo,
            path=path,
        )
    env = _environment_for(rt, conf, environment)
    base = base or conf.base
    async with rt.clients.github(conf.repo, path) as gh:
        current = await gh.get_file(conf.repo, path, base)
    old = current[0] if current else None
    new = apply_json_patch(old, patch, path) if patch is not None else str(content)
    if new == old:
        raise InvalidInput(f"the change leaves {path} on {base} of {conf.repo} as it is: nothing to propose")
    params: dict[str, Any] = {
        "repo": conf.repo,
        "base": base,
        "path": path,
        "title": title,
        "description": rt.redact(description),
        "old_content": old,
        "new_content": new,
        "json_merge_patch": patch,
    }
    try:
        record = await asyncio.to_thread(
            rt.governance.propose,
            "rollout_config",
            env,
            params,
            requested_by,
            plan={"change": "rollout_config", "repo": conf.repo, "path": path, "base": base},
        )
    except PolicyRefusal as refusal:
        return {
            "env": env,
            "target": {"repo": conf.repo, "path": path, "base": base},
            "diff": rt.redact(ext.unified_diff(old, new, path)),
            "decision": refusal.to_dict(),
            "next": "the policy refuses this change now; the refusal says what would allow it",
        }
    view = action_view(record)
    view["params"] = {k: v for k, v in view["params"].items() if k not in ("old_content", "new_content")}
    decision = view.pop("decision", None)
    call = view.pop("call", {})
    # A change approved by review executes as a merge: its call is the merge, the pull request inside it.
    pull = call.get("pull_request") or call
    out = {
        "env": env,
        "action": view,
        "pull_request": {
            **{k: pull.get(k) for k in ("method", "path", "body")},
            "precondition": call.get("precondition"),
        },
        "steps": call.get("steps"),
        "diff": rt.redact(str(call.get("diff") or "")),
        "decision": decision,
        "next": (
            f"request_approval('{record.id}', reason); once a human approved it, open_config_pr('{record.id}') "
            "opens the pull request"
        ),
    }
    if "pull_request" in call:
        out["merge"] = {k: call.get(k) for k in ("method", "path", "body", "placeholders")}
        out["next"] = (
            f"request_approval('{record.id}', reason) opens the pull request for review; once approved (an approving "
            f"review by a mapped reviewer, or the console, CLI or Slack), open_config_pr('{record.id}') merges it"
        )
    return fit(out, RESULT_BYTES, "steps")
