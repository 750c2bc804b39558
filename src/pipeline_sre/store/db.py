"""Engine, transactions and start-up migrations for the state store.

SQLite (default, WAL) at `<data_dir>/pipeline-sre.db`, or PostgreSQL by URL for several replicas.
Write transactions on SQLite start with BEGIN IMMEDIATE, so a writer takes the lock up front instead
of failing to upgrade a read lock later; on PostgreSQL, rows that serialize work are locked explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pipeline_sre.errors import BackendUnavailable, ConfigError

if TYPE_CHECKING:
    from pipeline_sre.settings.config import Settings

DATABASE_URL_ENV = "PIPELINE_SRE_DATABASE_URL"
DB_FILE = "pipeline-sre.db"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 0x5EC0_0001  # pg advisory lock key held while upgrading


def database_url(settings: Settings) -> str:
    """$PIPELINE_SRE_DATABASE_URL, else store.url, else SQLite in the data directory."""
    url = os.environ.get(DATABASE_URL_ENV) or settings.store.url
    if url:
        return normalise_url(url)
    data_dir = settings.resolved_data_dir()
    return f"sqlite:///{data_dir / DB_FILE}"


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` use the psycopg (v3) driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith(("sqlite", "postgresql+psycopg")):
        raise ConfigError(
            f"unsupported database URL scheme in {make_url(url).drivername!r}; "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        )
    return url


class Database:
    def __init__(self, url: str, *, pool_size: int = 5, busy_timeout_ms: int = 10_000) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                _private_file(Path(parsed.database).expanduser())
            kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000, "check_same_thread": False}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_events(self.engine, busy_timeout_ms)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def connect(self, *, write: bool) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on error."""
        try:
            with self.engine.connect() as conn:
                if write and self.is_sqlite:
                    conn = conn.execution_options(sqlite_immediate=True)
                with conn.begin():
                    yield conn
        except SQLAlchemyError as err:
            raise BackendUnavailable(f"state store error ({self.dialect}): {type(err).__name__}: {err}") from err

    @contextmanager
    def session(self, *, write: bool) -> Iterator[Session]:
        with self.connect(write=write) as conn:
            session = Session(bind=conn, expire_on_commit=False, autoflush=False)
            try:
                yield session
                session.flush()
            finally:
                session.close()

    def upgrade(self) -> None:
        """Run alembic `upgrade head`, serialized across processes starting at the same time."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.connect(write=True) as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def _private_file(path: Path) -> None:
    """The store holds the audit trail and console sessions: only its owner reads it. SQLite gives its WAL
    and shared-memory files the database file's mode, so they are private too."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)


def _sqlite_events(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    db = Database(
        database_url(settings),
        pool_size=settings.store.pool_size,
        busy_timeout_ms=settings.store.busy_timeout_ms,
    )
    if migrate:
        db.upgrade()
    return db
