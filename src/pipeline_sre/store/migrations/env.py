"""Alembic environment: run programmatically by `pipeline_sre.store.db.Database.upgrade()`.

The caller passes an open connection (already inside a locked transaction) in
`config.attributes["connection"]`; developers may instead set `sqlalchemy.url` to create revisions.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from pipeline_sre.store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url or "sqlite://")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
