"""Shared fixtures: a fixed clock, a seeded demo shop on a temporary database."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, Settings
from bot.store.database import create_engine
from bot.store.migrations import migrate
from bot.store.seed import Demo, build_demo
from bot.store.shop import SqlShop

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def demo() -> Demo:
    return build_demo(NOW)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, rasa_urls=("http://127.0.0.1:9",), rasa_token="t")


@pytest.fixture
def shop(settings: Settings, demo: Demo) -> SqlShop:
    engine = create_engine(settings.database_url)
    migrate(engine)
    s = SqlShop(engine)
    s.load(demo.customers, demo.products, demo.prices, demo.orders)
    yield s
    engine.dispose()


def copy_project(dest: Path, model: Path | None = None) -> Path:
    """A private copy of the Rasa project (domain, config, data, held-out sets, test stories) in ``dest``.

    The operator console edits and trains it, so tests never touch the repository's files.
    ``model`` is copied into ``dest/models`` (which is created either way).
    """
    for name in ("domain.yml", "config.yml"):
        shutil.copy2(PROJECT_ROOT / name, dest / name)
    shutil.copytree(PROJECT_ROOT / "data", dest / "data")
    shutil.copytree(PROJECT_ROOT / "tests" / "nlu", dest / "tests" / "nlu")
    shutil.copytree(PROJECT_ROOT / "tests" / "stories", dest / "tests" / "stories")
    (dest / "models").mkdir()
    if model is not None:
        shutil.copy2(model, dest / "models" / model.name)
    return dest
