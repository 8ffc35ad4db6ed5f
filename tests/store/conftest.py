"""Real databases for store tests: a SQLite file, and PostgreSQL when it is reachable.

PostgreSQL runs at 127.0.0.1:5432 on our machines; each test gets its own schema.
Under CI=true an unreachable PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.policy import Policy, load_policy
from bot.settings import PROJECT_ROOT
from bot.store.aftersales import SqlAfterSales
from bot.store.database import create_engine
from bot.store.migrations import migrate
from bot.store.seed import Demo
from bot.store.shop import SqlShop

PG_URL = os.environ.get("SHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards.

    Skips the test when PostgreSQL is not reachable, except under ``CI=true``, where that fails.
    """
    schema = f"t_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_URL, future=True)
    try:
        with admin.begin() as c:
            c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}")
    try:
        yield schema
    finally:
        with admin.begin() as c:
            c.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no tables yet: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
        yield engine
        engine.dispose()
        return
    with postgres_schema() as schema:
        engine = sa.create_engine(PG_URL, future=True, pool_size=60, max_overflow=0,
                                  connect_args={"options": f"-csearch_path={schema}"})
        yield engine
        engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """The shop database, migrated to the newest revision."""
    migrate(empty_engine)
    return empty_engine


@pytest.fixture
def policy() -> Policy:
    return load_policy(PROJECT_ROOT / "policy.yml")


@pytest.fixture
def seeded(engine: Engine, demo: Demo) -> SqlShop:
    shop = SqlShop(engine)
    shop.load(demo.customers, demo.products, demo.prices, demo.orders)
    return shop


@pytest.fixture
def aftersales(engine: Engine, seeded: SqlShop, policy: Policy) -> SqlAfterSales:
    return SqlAfterSales(engine, seeded, policy)
