"""Alembic's entry point: runs the revisions in ``versions/`` against the shop database.

``migrate(engine)`` passes a connection that already holds the migration lock
and its transaction (``config.attributes["connection"]``). The ``alembic``
command line passes none: then the database is ``sqlalchemy.url`` if set, else
``SHOP_DATABASE_URL`` through ``bot.settings.Settings``, opened with our
``create_engine`` (SQLite pragmas) and locked the same way.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from bot.settings import Settings
from bot.store.database import create_engine
from bot.store.migrations import migration_lock
from bot.store.schema import metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types (``UtcDateTime``, ``Money``) as the plain types they store.

    A revision is a snapshot of DDL: it must not change meaning when the Python
    side of a type changes later, so it never imports ``bot.store.database``.
    """
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=render_item,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Our SQLite connections run DDL inside the BEGIN IMMEDIATE transaction (see
        # bot.store.database), so a failed migration rolls back whole there too.
        transactional_ddl=True,
    )


def run_offline(url: str) -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is not None:
        configure(connection)
        with context.begin_transaction():  # a no-op: Alembic sees migrate()'s transaction and leaves it be
            context.run_migrations()
        return
    engine = create_engine(database_url())
    try:
        with migration_lock(engine) as conn:
            configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def database_url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


if context.config.config_file_name is not None and "connection" not in context.config.attributes:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)
if context.is_offline_mode():
    run_offline(database_url())
else:
    run_online()
