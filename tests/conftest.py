"""Shared fixtures: a fixed clock, a seeded demo shop on a temporary database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.store.database import create_engine
from bot.store.schema import create_all
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
    create_all(engine)
    s = SqlShop(engine)
    s.load(demo.customers, demo.products, demo.prices, demo.orders)
    yield s
    engine.dispose()
