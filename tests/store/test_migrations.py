"""Migrations create exactly the declared schema, adopt old databases, and tolerate concurrent starts."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from bot.settings import PROJECT_ROOT
from bot.store.database import create_engine
from bot.store.migrations import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    migration_lock,
)
from bot.store.schema import metadata

CONSOLE = {"operators", "operator_sessions", "audit_log"}
HANDOFF = {"agents", "agent_sessions", "tickets", "ticket_events", "suggestion_outcomes"}
PROCESSES = 4
CHANGES = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")


def start_process(url: str, search_path: str | None, gate: Any) -> None:
    """One service starting up: open the database like the services do, wait for the others, migrate."""
    if search_path is None:
        engine = create_engine(url)
    else:
        engine = sa.create_engine(url, future=True, connect_args={"options": f"-csearch_path={search_path}"})
    gate.wait(timeout=60)
    migrate(engine)
    engine.dispose()


def differences(engine: Engine) -> list[Any]:
    """What autogenerate would change to make the database match ``metadata``; [] when identical."""
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


@contextmanager
def recorded_statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.strip())

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


class TestUpgrade:
    """``migrate`` takes an empty database to the head revision."""

    def test_creates_exactly_the_declared_schema(self, empty_engine: Engine) -> None:
        """Every table, column, type, index and constraint in ``bot.store.schema`` and nothing else."""
        migrate(empty_engine)
        assert differences(empty_engine) == []
        assert tables(empty_engine) == set(metadata.tables) | {VERSION_TABLE}

    def test_records_the_head_revision(self, empty_engine: Engine) -> None:
        """The database remembers where it is, so the next release knows what to run."""
        assert revision(empty_engine) is None
        migrate(empty_engine)
        assert revision(empty_engine) == head_revision()

    def test_running_it_again_changes_nothing(self, engine: Engine) -> None:
        """A second start sends no DDL and no writes, and keeps the data."""
        with engine.begin() as c:
            c.execute(sa.text("INSERT INTO customers (customer_id, name, language, phone, vip) "
                              "VALUES ('C9', 'Li', 'zh', '', false)"))
        with recorded_statements(engine) as sent:
            migrate(engine)
        assert any(VERSION_TABLE in s for s in sent)  # it did look
        assert [s for s in sent if s.upper().startswith(CHANGES)] == []
        assert differences(engine) == []
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT name FROM customers")).scalars().all() == ["Li"]

    def test_a_failed_migration_leaves_nothing_behind(self, empty_engine: Engine,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
        """DDL runs in one transaction, so a crash half-way rolls back and the next start begins afresh."""
        create_table = Operations.create_table

        def crash_at_orders(self: Operations, name: str, *items: Any, **kw: Any) -> Any:
            if name == "orders":
                raise RuntimeError("crash")
            return create_table(self, name, *items, **kw)

        monkeypatch.setattr(Operations, "create_table", crash_at_orders)
        with pytest.raises(RuntimeError, match="crash"):
            migrate(empty_engine)
        assert tables(empty_engine) == set()
        monkeypatch.undo()
        migrate(empty_engine)
        assert differences(empty_engine) == []

    def test_processes_starting_together_all_succeed(self, empty_engine: Engine) -> None:
        """Processes starting at once wait for the first one's migration instead of colliding."""
        spawn = multiprocessing.get_context("spawn")
        gate = spawn.Barrier(PROCESSES)
        url = empty_engine.url.render_as_string(hide_password=False)
        search_path = None
        if empty_engine.dialect.name == "postgresql":
            with empty_engine.connect() as c:
                search_path = c.exec_driver_sql("SHOW search_path").scalar()
        processes = [spawn.Process(target=start_process, args=(url, search_path, gate)) for _ in range(PROCESSES)]
        for p in processes:
            p.start()
        for p in processes:
            p.join(timeout=120)
        assert [p.exitcode for p in processes] == [0] * PROCESSES
        assert differences(empty_engine) == []
        assert revision(empty_engine) == head_revision()


class TestAdoption:
    """Databases made by the old ``metadata.create_all`` become migrated databases, data kept."""

    @pytest.mark.parametrize("missing", [
        pytest.param(set(), id="whole schema"),
        pytest.param(CONSOLE, id="before the operator console"),
        pytest.param(CONSOLE | HANDOFF, id="before handoff"),
    ])
    def test_old_database_is_adopted_and_completed(self, empty_engine: Engine, missing: set[str]) -> None:
        """Existing tables stay as they are, missing ones are created, and the head is recorded."""
        metadata.create_all(empty_engine, tables=[t for t in metadata.sorted_tables if t.name not in missing])
        with empty_engine.begin() as c:
            c.execute(sa.text("INSERT INTO customers (customer_id, name, language, phone, vip) "
                              "VALUES ('C9', 'Li', 'zh', '', false)"))
        migrate(empty_engine)
        assert revision(empty_engine) == head_revision()
        assert differences(empty_engine) == []
        with empty_engine.connect() as c:
            assert c.execute(sa.text("SELECT name FROM customers")).scalars().all() == ["Li"]

    def test_adopted_database_upgrades_like_a_new_one(self, empty_engine: Engine) -> None:
        """After adoption the database follows the revisions: down to base and up again."""
        metadata.create_all(empty_engine)
        migrate(empty_engine)
        with migration_lock(empty_engine) as conn:
            command.downgrade(alembic_config(conn), "base")
        migrate(empty_engine)
        assert differences(empty_engine) == []


class TestDowngrade:
    """Downgrading to base removes the whole schema."""

    def test_base_drops_every_table(self, engine: Engine) -> None:
        """Only Alembic's (now empty) bookkeeping table is left."""
        with migration_lock(engine) as conn:
            command.downgrade(alembic_config(conn), "base")
        assert tables(engine) == {VERSION_TABLE}
        assert revision(engine) is None


class TestCommandLine:
    """``alembic`` works from the project root, for people who run migrations by hand."""

    def test_upgrade_head_uses_the_shop_database_url(self, tmp_path: Path) -> None:
        """``SHOP_DATABASE_URL`` names the database, as it does for the services."""
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        env = {**os.environ, "SHOP_DATABASE_URL": url}
        for args in (["upgrade", "head"], ["current"]):
            done = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=PROJECT_ROOT, env=env,
                                  capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 0, done.stderr
        assert f"{head_revision()} (head)" in done.stdout
        engine = sa.create_engine(url, future=True)
        assert differences(engine) == []
        engine.dispose()

    def test_offline_mode_prints_the_sql(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``alembic upgrade head --sql`` gives a DBA the whole PostgreSQL script without a server."""
        config = alembic_config()
        config.set_main_option("sqlalchemy.url", "postgresql://")
        command.upgrade(config, "head", sql=True)
        script = capsys.readouterr().out
        for name in metadata.tables:
            assert f"CREATE TABLE {name} (" in script
