"""Console users (argon2id password hashes), their sessions and per-user CLI tokens, and the failed-login
throttle, kept in the state store so every replica and every surface sees the same people.

- The store keeps only a session token's SHA-256, the user, the role, the CSRF token and the expiry.
- Failed logins are counted per client address + user name and per client address, so all replicas
  share the count; over the limit the login is refused before the password is checked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from pipeline_sre.errors import InvalidInput, NotFound
from pipeline_sre.settings.console import Role
from pipeline_sre.store.db import Database
from pipeline_sre.store.models import ConsoleLoginFailureRow, ConsoleSessionRow, ConsoleUserRow

ROLES: tuple[str, ...] = get_args(Role)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))  # verified against for unknown users (same timing)


def utcnow() -> datetime:
    return datetime.now(UTC)


def check_name(name: str) -> str:
    if not name or len(name) > 64 or not set(name) <= _NAME_CHARS:
        raise InvalidInput("a user name is 1-64 letters, digits, '.', '_', '@' or '-'")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    return role


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password is too long (over {MAX_PASSWORD} characters)")
    return _hasher.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    has_password: bool
    disabled: bool
    created_at: datetime

    def to_dict(self) -> dict[str, str | bool]:
        return {
            "name": self.name,
            "role": self.role,
            "password": self.has_password,
            "disabled": self.disabled,
            "created": self.created_at.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """The signed-in user of one request."""

    user: str
    role: str
    source: str  # password | sso
    csrf_token: str
    expires_at: datetime

    @property
    def can_decide(self) -> bool:
        return self.role == "approver"


class UserStore:
    """Users and sessions in the state store (SQLite or PostgreSQL, same as actions and audit)."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    # -- users --------------------------------------------------------------------------------------

    def add(self, name: str, role: str, password: str | None, *, replace: bool = False) -> User:
        check_name(name)
        check_role(role)
        digest = hash_password(password) if password is not None else None
        now = self.clock()
        with self.db.session(write=True) as s:
            row = s.get(ConsoleUserRow, name)
            if row is not None and not replace:
                raise InvalidInput(f"user {name!r} exists; pass --replace to change its role or password")
            if row is None:
                row = ConsoleUserRow(name=name, created_at=now, disabled=False)
                s.add(row)
            row.role = role
            row.password_hash = digest
            row.disabled = False
            row.updated_at = now
            if replace:  # a changed password or role ends the user's sessions
                s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.user_name == name))
            s.flush()
            return self._user(row)

    def remove(self, name: str) -> None:
        with self.db.session(write=True) as s:
            row = s.get(ConsoleUserRow, name)
            if row is None:
                raise NotFound(f"no console user {name!r}; `pipeline-sre users list` shows them")
            s.delete(row)
            s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.user_name == name))

    def get(self, name: str) -> User | None:
        with self.db.session(write=False) as s:
            row = s.get(ConsoleUserRow, name)
            return self._user(row) if row else None

    def list(self) -> list[User]:
        with self.db.session(write=False) as s:
            return [self._user(r) for r in s.scalars(select(ConsoleUserRow).order_by(ConsoleUserRow.name))]

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password matches; None otherwise (unknown users take as long as known ones)."""
        with self.db.session(write=False) as s:
            row = s.get(ConsoleUserRow, name) if name and len(name) <= 64 else None
            stored = row.password_hash if row is not None and not row.disabled else None
        try:
            _hasher.verify(stored or _DUMMY_HASH, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if row is None or stored is None:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.db.session(write=True) as s:
                fresh = s.get(ConsoleUserRow, name)
                if fresh is not None and fresh.password_hash == stored:
                    fresh.password_hash = _hasher.hash(password)
        return self._user(row)

    @staticmethod
    def _user(row: ConsoleUserRow) -> User:
        return User(row.name, row.role, row.password_hash is not None, row.disabled, row.created_at)

    # -- sessions -----------------------------------------------------------------------------------

    def open_session(self, user: str, role: str, source: str, client: str | None, ttl: timedelta) -> tuple[str, str]:
        """A new session; returns (token for the cookie, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.session(write=True) as s:
            s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at < now))
            s.add(
                ConsoleSessionRow(
                    id=_token_hash(token),
                    user_name=user,
                    role=role,
                    source=source,
                    csrf_token=csrf,
                    client=(client or "")[:64] or None,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
        return token, csrf

    def issue_token(self, name: str, days: int) -> str:
        """A per-user CLI token (shown once; the store keeps its hash) valid for `days`, for a user with a
        password; it ends when the user is disabled or removed."""
        user = self.get(name)
        if user is None or user.disabled or not user.has_password:
            raise NotFound(f"no enabled console user {name!r} with a password")
        token, _ = self.open_session(user.name, user.role, "token", "cli", timedelta(days=days))
        return token

    def session(self, token: str) -> SessionInfo | None:
        now = self.clock()
        with self.db.session(write=False) as s:
            row = s.get(ConsoleSessionRow, _token_hash(token))
            if row is None or row.expires_at <= now:
                return None
            if row.source in ("password", "token"):  # a disabled or removed user loses their sessions at once
                user = s.get(ConsoleUserRow, row.user_name)
                if user is None or user.disabled or user.password_hash is None:
                    return None
            return SessionInfo(row.user_name, row.role, row.source, row.csrf_token, row.expires_at)

    def close_session(self, token: str) -> None:
        with self.db.session(write=True) as s:
            s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id == _token_hash(token)))


class LoginThrottle:
    """Sliding-window count of failed logins per (client, user), kept in the store so every replica refuses
    past the same limit (an in-memory count would multiply it by the replicas). The key is the pair, never
    the address alone: many people behind one NAT or proxy must not lock each other out."""

    def __init__(
        self, db: Database, max_failures: int, window_s: float, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_s)
        self.clock = clock

    def _keys(self, user: str) -> tuple[tuple[str, int], ...]:
        return ((user.casefold()[:64], self.max_failures),)

    def retry_after(self, client: str, user: str) -> int:
        """Seconds until a login for this client and user may be tried again; 0 when it may now."""
        now = self.clock()
        waits: list[float] = []
        with self.db.session(write=False) as s:
            for key, limit in self._keys(user):
                oldest = s.scalars(
                    select(ConsoleLoginFailureRow.at)
                    .where(
                        ConsoleLoginFailureRow.client == client[:64],
                        ConsoleLoginFailureRow.user_key == key,
                        ConsoleLoginFailureRow.at > now - self.window,
                    )
                    .order_by(ConsoleLoginFailureRow.at)
                    .limit(limit)
                ).all()
                if len(oldest) >= limit:  # allowed again once the oldest failure in the window ages out
                    waits.append((oldest[0] + self.window - now).total_seconds())
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, client: str, user: str) -> None:
        now = self.clock()
        with self.db.session(write=True) as s:
            s.execute(delete(ConsoleLoginFailureRow).where(ConsoleLoginFailureRow.at <= now - self.window))
            s.add_all(ConsoleLoginFailureRow(client=client[:64], user_key=key, at=now) for key, _ in self._keys(user))

    def succeeded(self, client: str, user: str) -> None:
        with self.db.session(write=True) as s:
            s.execute(
                delete(ConsoleLoginFailureRow).where(
                    ConsoleLoginFailureRow.client == client[:64],
                    ConsoleLoginFailureRow.user_key == user.casefold()[:64],
                )
            )
