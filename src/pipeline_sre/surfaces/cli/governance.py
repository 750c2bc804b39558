"""CLI for the governed write path: approvals (the channel the agent cannot drive), audit, runbooks.

Mounted on the main CLI as `approvals`, `audit` and `runbooks`. Errors print one line and exit with
code 2; `audit verify` exits 1 when the chain is broken.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline_sre.errors import InvalidInput, PipelineSreError

if TYPE_CHECKING:  # imported inside the commands that use them, so the CLI starts light
    from pipeline_sre.governance.audit import Checkpoint, VerifyReport
    from pipeline_sre.governance.service import ActionRecord, GovernanceService
    from pipeline_sre.runbooks.loader import RunbookLibrary
    from pipeline_sre.settings.config import Settings

approvals_app = typer.Typer(help="List, show, approve and deny proposed actions.", no_args_is_help=True)
audit_app = typer.Typer(help="Verify, checkpoint and export the hash-chained audit log.", no_args_is_help=True)
runbooks_app = typer.Typer(help="Runbooks shipped with pipeline-sre plus your own.", no_args_is_help=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Settings file (pipeline-sre.yaml)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def get_settings(config: Path | None) -> Settings:
    from pipeline_sre.settings.config import load_settings

    return load_settings(config)


def _console() -> Console:
    return Console()


def _fail(message: str) -> typer.Exit:
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    typer.echo(f"error: {line}", err=True)
    return typer.Exit(2)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except PipelineSreError as err:
        raise _fail(str(err)) from None
    except OSError as err:
        raise _fail(f"{err.strerror or err}: {getattr(err, 'filename', '') or ''}".rstrip(": ")) from None


@contextmanager
def _service(config: Path | None) -> Iterator[GovernanceService]:
    from pipeline_sre.diagnosis import Redactor
    from pipeline_sre.governance.service import GovernanceService

    settings = get_settings(config)
    svc = GovernanceService.from_settings(settings, redact=Redactor(settings.sensitive_values()).redact)
    try:
        yield svc
    finally:
        svc.close()


def _add_row(table: Table, *cells: str) -> None:
    """Cells hold data (reasons, comments, ids): plain Text, so "[...]" is shown and never applied as markup."""
    table.add_row(*(Text(c) for c in cells))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _target(rec: ActionRecord) -> str:
    p = rec.action.params
    return " ".join(str(p[k]) for k in ("dag_id", "dag_run_id") if k in p) or json.dumps(p)[:60]


def _approvals_cell(rec: ActionRecord) -> str:
    valid = sum(1 for v in rec.approvals if v.valid)
    return f"{valid}/{rec.required_approvals}"


def _show_record(rec: ActionRecord) -> None:
    con = _console()
    d = rec.to_dict()
    table = Table(show_header=False, title=f"{rec.id} ({rec.state})", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key in (
        "kind",
        "environment",
        "state",
        "requested_by",
        "incident_id",
        "automated",
        "runbook_id",
        "approval_reason",
        "created_at",
        "approved_at",
        "executed_at",
        "executed_by",
        "finished_at",
        "digest",
        "run_id",
        "mode",
    ):
        if d.get(key) not in (None, ""):
            _add_row(table, key, str(d[key]))
    _add_row(table, "params", json.dumps(d["params"], ensure_ascii=False))
    _add_row(table, "call", json.dumps(d["call"], ensure_ascii=False, indent=1))
    _add_row(table, "approvals", _approvals_cell(rec))
    for v in rec.approvals:
        note = "" if v.valid else f" (not counted: {v.why_not})"
        _add_row(
            table,
            "",
            f"{v.decision} by {v.approver} at {v.created_at:%Y-%m-%d %H:%M}{note}"
            + (f": {v.comment}" if v.comment else ""),
        )
    if rec.decision is not None:
        dec = rec.decision
        verdict = "allowed" if dec.allowed else f"refused by {dec.rule}: {dec.message}"
        _add_row(table, "would execute now", verdict)
        hint = dec.deciding.allow_hint if dec.deciding else None
        if hint:
            _add_row(table, "to allow", hint)
    if rec.review is not None:
        from pipeline_sre.surfaces.cli.render import review_line

        _add_row(table, "github review", review_line(rec.review))
    if rec.result is not None:
        _add_row(table, "result", json.dumps(rec.result, ensure_ascii=False))
    if rec.error:
        _add_row(table, "error", rec.error)
    con.print(table)


# -- approvals ----------------------------------------------------------------------------------------


@approvals_app.command("list")
def approvals_list(
    environment: Annotated[str | None, typer.Option("--env", "-e", help="Only this environment")] = None,
    all_states: Annotated[bool, typer.Option("--all", help="Include finished, denied and expired actions")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Actions waiting for approval or execution."""
    with _errors(), _service(config) as svc:
        states = (
            None
            if not all_states
            else (
                "proposed",
                "awaiting_approval",
                "approved",
                "executing",
                "succeeded",
                "failed",
                "denied",
                "expired",
                "refused",
                "cancelled",
            )
        )
        records = svc.list_pending(environment=environment, states=states)
        if as_json:
            _print_json([r.to_dict() for r in records])
            return
        if not records:
            _console().print("no pending actions")
            return
        # Four two-line columns: readable in an 80-column terminal.
        table = Table(title="actions", show_lines=True)
        table.add_column("action", no_wrap=True)
        for col in ("state", "target", "requested"):
            table.add_column(col, overflow="fold")
        for r in records:
            _add_row(
                table,
                f"{r.id}\n{r.action.kind}",
                f"{r.state}\n{_approvals_cell(r)} approvals",
                f"{_target(r)}\n{r.action.environment}",
                f"{r.action.requested_by}\n{r.action.created_at:%Y-%m-%d %H:%M}",
            )
        _console().print(table)


@approvals_app.command("show")
def approvals_show(
    action_id: Annotated[str, typer.Argument(help="Action id (act_...)")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Everything about one action: the exact call, approvals and what policy would say now."""
    with _errors(), _service(config) as svc:
        rec = svc.get_action(action_id)
        if as_json:
            _print_json(rec.to_dict())
        else:
            _show_record(rec)


def _decide(
    action_id: str,
    approve: bool,
    as_name: str | None,
    comment: str | None,
    password_stdin: bool,
    config: Path | None,
    as_json: bool,
) -> None:
    """A signed-in approver's decision, through the same operation the console and Slack use."""
    from pipeline_sre.app import operations
    from pipeline_sre.lifecycle.runtime import Runtime
    from pipeline_sre.surfaces.cli.identity import approver_principal

    settings = get_settings(config)

    async def go() -> ActionRecord:
        rt = Runtime(settings)
        try:
            limits = settings.console
            who = approver_principal(
                rt.governance.db,
                as_name,
                password_stdin=password_stdin,
                max_failures=limits.login_max_failures,
                window_s=limits.login_window_minutes * 60.0,
            )
            return await asyncio.to_thread(operations.decide, rt, who, action_id, approve=approve, comment=comment)
        finally:
            await rt.aclose()

    with _errors():
        rec = asyncio.run(go())
    if as_json:
        _print_json(rec.to_dict())
    else:
        verb = "approved" if approve else "denied"
        _console().print(f"{verb} {rec.id}: now {rec.state} ({_approvals_cell(rec)} approvals)", markup=False)


AsOpt = Annotated[
    str | None,
    typer.Option("--as", help="Your console user name; you are asked for its password (not needed with a token)"),
]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the console password from the first line of stdin")
]


@approvals_app.command("approve")
def approvals_approve(
    action_id: Annotated[str, typer.Argument(help="Action id (act_...)")],
    as_name: AsOpt = None,
    comment: Annotated[str | None, typer.Option("--comment", "-m")] = None,
    password_stdin: PasswordStdinOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Approve an action (bound to its digest: any change to the action voids the approval). You prove who
    you are with PIPELINE_SRE_TOKEN or your console password; you cannot approve what you requested."""
    _decide(action_id, True, as_name, comment, password_stdin, config, as_json)


@approvals_app.command("deny")
def approvals_deny(
    action_id: Annotated[str, typer.Argument(help="Action id (act_...)")],
    as_name: AsOpt = None,
    comment: Annotated[str | None, typer.Option("--comment", "-m")] = None,
    password_stdin: PasswordStdinOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Deny an action; it can no longer be approved or executed, and its incident goes to a human."""
    _decide(action_id, False, as_name, comment, password_stdin, config, as_json)


@approvals_app.command("sync-reviews")
def approvals_sync_reviews(
    action_id: Annotated[str | None, typer.Argument(help="Only this action (act_...); default: every one")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Read the reviews of config-change pull requests (approve_by_review repositories) and count each
    approving review of the opened head by a mapped reviewer as their approval; opens pull requests still
    missing. Works without GitHub's webhook reaching this host."""
    from pipeline_sre.app import github_reviews
    from pipeline_sre.surfaces.cli.common import run_lifecycle, who

    if action_id is not None and not action_id.startswith("act_"):
        raise _fail(f"{action_id!r} is not an action id (act_...)")
    data = run_lifecycle(
        str(config) if config else None,
        lambda rt: github_reviews.sync_reviews(rt, who(rt), action_id),
        "Reading GitHub reviews…",
    )
    if as_json:
        _print_json(data)
        return
    con = _console()
    for pull in data["pull_requests"]:
        con.print(f"{pull['action_id']}: {pull['url']} (head {pull['head_sha'][:12]})", markup=False)
    for d in data["decisions"]:
        con.print(f"review {d['review_id']} by {d['login']}: {d['outcome']} ({d['why']})", markup=False)
    for problem in data.get("errors", []):
        con.print(f"error: {problem}", markup=False)
    if not data["pull_requests"] and not data.get("errors"):
        con.print(data.get("note") or "no config change is waiting on a review", markup=False)


# -- audit --------------------------------------------------------------------------------------------


def _read_checkpoint(path: Path) -> Checkpoint:
    from pipeline_sre.governance.audit import Checkpoint

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise InvalidInput(f"checkpoint file {path} is not JSON") from None
    return Checkpoint.parse(raw)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="A checkpoint file from `audit checkpoint --out`")
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Recompute the hash chain and check it against the anchors kept outside the store (and --checkpoint):
    detects edited, deleted, reordered, inserted records, a cut tail, a wipe, a rewrite of anchored history."""
    from pipeline_sre.app import operations
    from pipeline_sre.lifecycle.runtime import Runtime

    async def go() -> VerifyReport:
        rt = Runtime(get_settings(config))
        try:
            cp = _read_checkpoint(checkpoint) if checkpoint else None
            return await asyncio.to_thread(operations.verify_audit, rt, cp)
        finally:
            await rt.aclose()

    with _errors():
        report = asyncio.run(go())
    anchor = report.last_anchor
    said = (
        f"; last anchor: record {anchor['seq']} at {anchor['at']} ({'signed' if anchor['signed'] else 'unsigned'})"
        if anchor
        else "; no anchor yet (`pipeline-sre audit anchor`, or the autopilot every few minutes)"
    )
    if as_json:
        _print_json(report.to_dict())
    elif report.ok:
        _console().print(
            f"audit log OK: {report.records} records, head {report.last_seq} {report.last_hash}{said}",
            markup=False,
            soft_wrap=True,
        )
    else:
        con = _console()
        con.print(f"[bold red]audit log BROKEN[/] ({report.records} records; first bad record {report.first_bad_seq})")
        for problem in report.problems:
            con.print(f"  - {problem}", markup=False)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(config: ConfigOpt = None) -> None:
    """Append the chain head to the anchor file outside the store, signed with PIPELINE_SRE_AUDIT_KEY."""
    from pipeline_sre.app import operations
    from pipeline_sre.lifecycle.runtime import Runtime

    async def go() -> dict[str, Any]:
        rt = Runtime(get_settings(config))
        try:
            anchor = await asyncio.to_thread(operations.anchor_audit, rt)
            assert anchor is not None
            return {**anchor.checkpoint.to_dict(), "at": anchor.at, "signed": anchor.signed}
        finally:
            await rt.aclose()

    with _errors():
        _print_json(asyncio.run(go()))


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write it to this file")] = None,
    config: ConfigOpt = None,
) -> None:
    """Print the chain head {seq, hash}; keep it somewhere else to detect a cut tail later."""
    with _errors(), _service(config) as svc:
        cp = svc.audit.head()
        text = json.dumps(cp.to_dict())
        if out:
            out.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")


@audit_app.command("export")
def audit_export(
    fmt: Annotated[str, typer.Option("--format", help="Output format (jsonl)")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write (default: stdout)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Every audit record as one JSON object per line, in sequence order."""
    with _errors():
        if fmt != "jsonl":
            raise InvalidInput(f"unknown format {fmt!r}; supported: jsonl")
        with _service(config) as svc:
            if out:
                with out.open("w", encoding="utf-8") as fh:
                    n = svc.audit.export_jsonl(fh)
                typer.echo(f"wrote {n} records to {out}", err=True)
            else:
                svc.audit.export_jsonl(sys.stdout)


# -- runbooks -----------------------------------------------------------------------------------------


def _library(config: Path | None) -> RunbookLibrary:
    from pipeline_sre.runbooks.loader import RunbookLibrary
    from pipeline_sre.settings.config import config_file_given

    if not config_file_given(config):  # the built-in runbooks need no configuration to be read
        return RunbookLibrary.load(None)
    return RunbookLibrary.load(get_settings(config).governance.runbooks_dir)


@runbooks_app.command("list")
def runbooks_list(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """All runbooks (built-in and from governance.runbooks_dir)."""
    with _errors():
        books = _library(config).all()
        if as_json:
            _print_json([b.summary() for b in books])
            return
        table = Table(title="runbooks")
        for col in ("id", "title", "categories", "escalate", "risk", "first step"):
            table.add_column(col)
        for b in books:
            _add_row(
                table,
                b.id,
                b.title,
                ", ".join(b.match.categories),
                "yes" if b.escalate else "",
                b.risk.level,
                b.plan[0].title,
            )
        _console().print(table)


@runbooks_app.command("show")
def runbooks_show(
    runbook_id: Annotated[str, typer.Argument(help="Runbook id")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """One runbook in full."""
    with _errors():
        book = _library(config).get(runbook_id)
        if as_json:
            _print_json(book.to_dict())
            return
        con = _console()
        e = escape
        con.print(f"[bold]{e(book.id)}[/]: {e(book.title)}  ({e(book.source)})")
        con.print(f"[bold]why[/]: {e(book.why.strip())}")
        if book.escalate:
            con.print("[bold yellow]escalate to a human: a rerun cannot fix this[/]")
        con.print("[bold]plan[/]:")
        for i, step in enumerate(book.plan, 1):
            tag = "reversible" if step.reversible else "NOT reversible"
            con.print(e(f"  {i}. {step.title} [{step.action}, {tag}]"))
        con.print(f"[bold]impact[/]: {e(book.impact)}")
        con.print(f"[bold]risk[/]: {e(f'{book.risk.level} {book.risk.notes}')}")
        con.print(f"[bold]rollback[/]: {e(book.rollback)}")
        con.print("[bold]verify[/]:")
        for rule in book.verify:
            con.print(e(f"  - {rule.check} {rule.expect or ''} {rule.description}".rstrip()))
        con.print("[bold]prevention[/]:")
        for idea in book.prevention:
            con.print(e(f"  - {idea}"))
