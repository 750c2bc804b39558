"""Who is at the CLI: the person a command acts for, proven rather than declared.

- Any command acts for the user of `PIPELINE_SRE_TOKEN` (a per-user token from `pipeline-sre users token
  NAME`, which asks for that user's console password), else for the OS user.
- Approving or denying needs proof: the token, or `--as NAME` with NAME's console password (prompted, or
  one line on stdin with `--password-stdin`). A free `--as NAME` proves nothing and is refused.
"""

from __future__ import annotations

import os
import sys

from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.identity import Principal, os_user
from pipeline_sre.store.db import Database
from pipeline_sre.store.users import LoginThrottle, UserStore

TOKEN_ENV = "PIPELINE_SRE_TOKEN"
CLI_CLIENT = "cli"  # the login throttle's client key for password checks made by the CLI


def _token_user(db: Database) -> str | None:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return None
    session = UserStore(db).session(token)
    if session is None or session.source != "token":
        raise InvalidInput(f"{TOKEN_ENV} is not a valid token (expired, revoked, or its user was disabled)")
    return session.user


def cli_principal(db: Database) -> Principal:
    """The person a CLI command acts for: the token's user, else the OS user."""
    return Principal("cli", _token_user(db) or os_user())


def read_password(password_stdin: bool, prompt: str = "Password") -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"{prompt}: ")
    else:
        raise InvalidInput("no terminal to ask for the password: pass --password-stdin, or set " + TOKEN_ENV)
    if not password:
        raise InvalidInput("no password given")
    return password


def check_password(db: Database, name: str, password: str, max_failures: int, window_s: float) -> None:
    """Raise unless `password` is NAME's console password (failed attempts count against the same limit
    as the console's sign-in form)."""
    throttle = LoginThrottle(db, max_failures, window_s)
    wait = throttle.retry_after(CLI_CLIENT, name)
    if wait:
        raise InvalidInput(f"too many failed sign-ins for {name}; try again in {wait} s")
    if UserStore(db).authenticate(name, password) is None:
        throttle.failed(CLI_CLIENT, name)
        raise InvalidInput(f"wrong password for {name!r}, or no such console user")
    throttle.succeeded(CLI_CLIENT, name)


def approver_principal(
    db: Database, as_name: str | None, *, password_stdin: bool, max_failures: int, window_s: float
) -> Principal:
    """The approver, proven by the token or by a password; never by the name alone."""
    token_user = _token_user(db)
    if token_user is not None:
        if as_name is not None and as_name.casefold() != token_user.casefold():
            raise InvalidInput(f"{TOKEN_ENV} belongs to {token_user!r}, not {as_name!r}: drop --as or unset it")
        return Principal("cli", token_user)
    if as_name is None:
        raise InvalidInput(
            f"approving needs proof of who you are: set {TOKEN_ENV} (from `pipeline-sre users token NAME`), "
            "or give --as NAME and your console password"
        )
    check_password(db, as_name, read_password(password_stdin, f"Console password of {as_name}"), max_failures, window_s)
    return Principal("cli", as_name)
