"""Schema migrations (Alembic): ``migrate(engine)`` brings a shop database to the newest revision.

Every process that opens the shop database (the web service, the action server,
tests) calls ``migrate`` first, so a new release upgrades the schema on its first
start, and ``alembic upgrade head`` from the project root does the same by hand.
The revisions live in ``versions/`` and ``env.py`` runs them; both are found
through ``SCRIPT_LOCATION``, so no ``alembic.ini`` is needed in code.

Databases made before migrations (by ``metadata.create_all``) hold the tables but
no ``alembic_version``; the initial revision adopts them, creating only the
tables they lack (see ``versions/0001_initial_schema.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from bot.store.database import write_transaction
from bot.store.schema import metadata

log = logging.getLogger(__name__)

SCRIPT_LOCATION = Path(__file__).resolve().parent

#: Key of the PostgreSQL advisory lock that serialises migrations ("shopmigr" in ASCII).
LOCK_KEY = 0x73686F706D696772

VERSION_TABLE = "alembic_version"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for our revisions; ``env.py`` runs them on ``connection``.

    Without a connection, ``env.py`` opens the database named by ``sqlalchemy.url``
    or, when that is unset, by ``SHOP_DATABASE_URL`` (see ``bot.settings.Settings``).
    """
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """One transaction that holds the database's migration lock until it ends.

    Several processes may start at once against one database: the first to take
    the lock migrates, the others wait and then find the schema at head. On
    PostgreSQL the lock is a transaction-scoped advisory lock (DDL is
    transactional there, so a failed migration leaves nothing behind); on SQLite
    it is the database write lock (``BEGIN IMMEDIATE``), where DDL is
    transactional too.
    """
    if engine.dialect.name == "postgresql":
        # READ COMMITTED: after waiting for the lock, the next statement must see what
        # the holder committed (a REPEATABLE READ snapshot would predate it).
        with engine.connect().execution_options(isolation_level="READ COMMITTED") as conn, conn.begin():
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield conn
    else:
        with write_transaction(engine) as conn:
            yield conn


def migrate(engine: Engine) -> None:
    """Upgrade the shop database to the newest revision (idempotent, safe to run concurrently).

    A database made by the old ``create_all`` (tables but no ``alembic_version``)
    is adopted: the initial revision keeps its tables and data and adds any
    tables it lacks.
    """
    with migration_lock(engine) as conn:
        tables = set(sa.inspect(conn).get_table_names())
        if VERSION_TABLE not in tables and tables & set(metadata.tables):
            log.info("adopting a shop database made before migrations (%d tables)",
                     len(tables & set(metadata.tables)))
        command.upgrade(alembic_config(conn), "head")


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision in ``versions/``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no revision in {SCRIPT_LOCATION / 'versions'}")
    return head
