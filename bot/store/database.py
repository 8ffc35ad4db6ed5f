"""Engine creation and the column types that keep money and time exact."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):  # type: ignore[type-arg]
    """Timezone-aware datetimes, stored as naive UTC on every engine.

    SQLite has no time zones and PostgreSQL's ``timestamptz`` depends on the
    session zone; naive UTC compares correctly as text and as timestamps.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


class Money(TypeDecorator):  # type: ignore[type-arg]
    """CNY amounts as ``Decimal`` with two places, stored as integer fen."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise ValueError(f"money must be Decimal, got {value!r}")
        fen = value * 100
        if fen != fen.to_integral_value():
            raise ValueError(f"money has more than two decimal places: {value}")
        return int(fen)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))


def create_engine(url: str, timeout_s: float = 30) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and a busy timeout.

    Several processes (web service, action server) share one SQLite file, so
    writers wait for each other instead of failing with "database is locked".
    ``timeout_s`` bounds that wait, and on PostgreSQL the wait for a connection:
    past it the query raises ``OperationalError`` rather than hanging the request.
    """
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy 1.4 opens a new SQLite connection per checkout (NullPool) unless told
        # otherwise; pooling keeps the connect-time pragmas off the hot path.
        engine = sa.create_engine(url, connect_args={"timeout": timeout_s, "check_same_thread": False},
                                  poolclass=QueuePool, pool_size=10, max_overflow=50, future=True)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Take the write lock at BEGIN so read-then-write transactions serialise
            # instead of failing to upgrade their lock.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            _switch_to_wal(cur, timeout_s=30)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql") and "connect_timeout=" not in url:  # libpq waits forever by default
        connect_args["connect_timeout"] = max(1, round(timeout_s))
    return sa.create_engine(url, pool_pre_ping=True, future=True, pool_timeout=timeout_s,
                            connect_args=connect_args)


def _switch_to_wal(cursor: sqlite3.Cursor, timeout_s: float) -> None:
    """Put the database file in WAL mode (it stays so), waiting while another process does the same.

    On a new file, processes starting together (web services, the action server)
    race to convert it; the loser's ``PRAGMA journal_mode=WAL`` fails with
    SQLITE_BUSY at once, without waiting for the busy timeout, so it is retried here.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[sa.engine.Connection]:
    """A transaction that intends to write.

    On SQLite it takes the write lock up front (``BEGIN IMMEDIATE``), so that a
    read-check-write sequence cannot interleave with another writer; on
    PostgreSQL callers add row locks or unique constraints as needed.
    """
    with engine.connect().execution_options(immediate=True) as conn:
        with conn.begin():
            yield conn
