"""CLI for the approval console: `users add|list|remove` (argon2id hashes in the state store) and
`console --http HOST:PORT` (the console on its own; `web.app.mount_console` serves it next to MCP).

Errors print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline_sre.errors import ConfigError, InvalidInput, PipelineSreError

if TYPE_CHECKING:  # imported inside the commands that use them, so the CLI starts light
    from pipeline_sre.settings.config import Settings

users_app = typer.Typer(help="Local users of the approval console (approver or viewer).", no_args_is_help=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Settings file (pipeline-sre.yaml)")]


def _fail(message: str) -> typer.Exit:
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    typer.echo(f"error: {line}", err=True)
    return typer.Exit(2)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except PipelineSreError as err:
        raise _fail(err.message) from None


def _settings(config: Path | None) -> Settings:
    from pipeline_sre.settings.config import load_settings

    return load_settings(config)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise InvalidInput("no password given")
    return password


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name; approvers must also be listed in governance.approvers")],
    role: Annotated[str, typer.Option("--role", help="approver (may approve and deny) or viewer")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    sso_only: Annotated[
        bool, typer.Option("--sso-only", help="No password: the user signs in only through the SSO proxy")
    ] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Change an existing user (ends their sessions)")] = False,
    config: ConfigOpt = None,
) -> None:
    """Add a console user; the password is prompted for (twice) unless --password-stdin or --sso-only."""
    from pipeline_sre.store.db import open_database
    from pipeline_sre.store.users import UserStore, check_name, check_role

    with _errors():
        check_name(name)
        check_role(role)
        settings = _settings(config)
        password = None if sso_only else _read_password(password_stdin)
        db = open_database(settings)
        try:
            user = UserStore(db).add(name, role, password, replace=replace)
        finally:
            db.dispose()
    approvers = set(settings.governance.approvers)
    for policy in settings.governance.environments.values():
        approvers.update(policy.approvers or [])
    note = ""
    if user.role == "approver" and user.name not in approvers:
        note = f" (note: {name} is not in governance.approvers, so governance will refuse their approvals)"
    typer.echo(f"{'updated' if replace else 'added'} {user.role} {user.name}{note}")


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="Your console user name")],
    days: Annotated[int, typer.Option("--days", min=1, max=365, help="How long the token is valid")] = 30,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    config: ConfigOpt = None,
) -> None:
    """Issue a personal CLI token after checking NAME's console password; export it as PIPELINE_SRE_TOKEN.
    Commands then act for NAME (approvals need it, or the password each time)."""
    from pipeline_sre.store.db import open_database
    from pipeline_sre.store.users import UserStore
    from pipeline_sre.surfaces.cli.identity import check_password, read_password

    with _errors():
        settings = _settings(config)
        db = open_database(settings)
        try:
            password = read_password(password_stdin, f"Console password of {name}")
            check_password(
                db, name, password, settings.console.login_max_failures, settings.console.login_window_minutes * 60.0
            )
            token = UserStore(db).issue_token(name, days)
        finally:
            db.dispose()
    typer.echo(token)


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False, config: ConfigOpt = None
) -> None:
    """List console users (never their password hashes)."""
    from pipeline_sre.store.db import open_database
    from pipeline_sre.store.users import UserStore

    with _errors():
        db = open_database(_settings(config))
        try:
            users = UserStore(db).list()
        finally:
            db.dispose()
    if as_json:
        typer.echo(json.dumps([u.to_dict() for u in users], indent=2))
        return
    if not users:
        typer.echo("no console users; add one with `pipeline-sre users add NAME --role approver`")
        return
    for u in users:
        login = "password" if u.has_password else "sso only"
        typer.echo(f"{u.name:<24} {u.role:<9} {login:<9} {'disabled' if u.disabled else ''}".rstrip())


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument()], config: ConfigOpt = None) -> None:
    """Remove a console user and end their sessions."""
    from pipeline_sre.store.db import open_database
    from pipeline_sre.store.users import UserStore

    with _errors():
        db = open_database(_settings(config))
        try:
            UserStore(db).remove(name)
        finally:
            db.dispose()
    typer.echo(f"removed {name}")


def serve_console(settings: Settings, bind: str, *, insecure_local: bool) -> None:
    import uvicorn

    from pipeline_sre.lifecycle.runtime import Runtime
    from pipeline_sre.surfaces.http import host_guard, is_loopback, parse_bind, server_options
    from pipeline_sre.surfaces.web.app import console_app

    host, port = parse_bind(bind)
    if insecure_local and not is_loopback(host):
        raise ConfigError(f"--insecure-local is allowed only on a loopback address; {host!r} is not one")
    app = host_guard(console_app(Runtime(settings), insecure_local=insecure_local), host, settings.server.allowed_hosts)
    scheme = "https (behind your TLS proxy)" if settings.console.secure_cookies else "http"
    print(f"pipeline-sre console on http://{host}:{port}/ (cookies for {scheme})", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, **server_options())


def console(
    http: Annotated[str, typer.Option("--http", help="HOST:PORT to listen on")] = "127.0.0.1:8780",
    insecure_local: Annotated[
        bool,
        typer.Option(
            "--insecure-local",
            help="Loopback only: a per-process session key if none is set, and cookies without Secure "
            "when console.secure_cookies is false",
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Serve the approval console (incidents, approvals, audit, postmortems; Slack buttons at /slack/actions)."""
    with _errors():
        serve_console(_settings(config), http, insecure_local=insecure_local)
