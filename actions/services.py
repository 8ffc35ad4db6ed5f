"""What the actions need from the outside world, built once on first use.

Rasa SDK instantiates action classes without arguments, so each action takes
an optional ``Services``; the default one is built from the environment the
first time an action runs (never at import).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker

from bot import prediction, prediction_model
from bot.catalog import Product
from bot.errors import CustomerNotFound
from bot.orders import Customer, Order
from bot.policy import Policy, load_policy
from bot.sentiment import Lexicon, load_lexicon
from bot.settings import Settings
from bot.store.aftersales import SqlAfterSales
from bot.store.database import create_engine
from bot.store.handoff import SqlHandoff
from bot.store.migrations import migrate
from bot.store.shop import SqlShop

LABELS_FILE = Path(__file__).with_name("intent_labels.yml")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Stores, clock and text tables the actions use."""

    shop: SqlShop
    aftersales: SqlAfterSales
    handoff: SqlHandoff
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utc_now

    @property
    def policy(self) -> Policy:
        return self.aftersales.policy

    @cached_property
    def predictor(self) -> Any:
        """The trained issue predictor, or None (rules only; ``load`` logs why)."""
        return prediction_model.load(self.settings.predictor_file)

    @cached_property
    def sentiment(self) -> Lexicon:
        return load_lexicon()

    @cached_property
    def prediction_text(self) -> prediction.Templates:
        return prediction.load_templates()

    @cached_property
    def intent_labels(self) -> Mapping[str, Mapping[str, str]]:
        data: Mapping[str, Mapping[str, str]] = yaml.safe_load(LABELS_FILE.read_text("utf-8"))
        return data

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        engine = create_engine(settings.database_url)
        migrate(engine)
        shop = SqlShop(engine)
        return cls(shop=shop, aftersales=SqlAfterSales(engine, shop, load_policy(settings.policy_file)),
                   handoff=SqlHandoff(engine), settings=settings)


_lock = threading.Lock()
_default: Services | None = None


def default_services() -> Services:
    """The process-wide services, built from the environment on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = Services.from_settings(Settings.from_env())
        return _default


class Context:
    """What one action run knows: who is asking, in which language, and their orders."""

    def __init__(self, services: Services, tracker: Tracker) -> None:
        self.services = services
        self.tracker = tracker
        self.now = services.clock()
        self.language: str = tracker.get_slot("language") or "zh"
        self.customer_id: str | None = tracker.get_slot("customer_id")

    def customer(self) -> Customer | None:
        if not self.customer_id:
            return None
        try:
            return self.services.shop.customer(self.customer_id)
        except CustomerNotFound:
            return None

    @cached_property
    def orders(self) -> list[Order]:
        return self.services.shop.orders_of(self.customer_id) if self.customer_id else []

    @cached_property
    def products(self) -> dict[str, Product]:
        return self.services.shop.products_by_sku(ln.sku for o in self.orders for ln in o.lines)

    def entity(self, name: str) -> Any:
        """The first value of entity ``name`` in the latest message, if any."""
        for e in self.tracker.latest_message.get("entities", []) or []:
            if e.get("entity") == name and e.get("value") not in (None, ""):
                return e["value"]
        return None

    @property
    def intent(self) -> str:
        return (self.tracker.latest_message.get("intent") or {}).get("name") or ""
