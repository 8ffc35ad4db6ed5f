"""Action tests: a real seeded shop, a fixed clock, and trackers built by hand."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.services import Services
from bot.policy import load_policy
from bot.settings import Settings
from bot.store.aftersales import SqlAfterSales
from bot.store.handoff import SqlHandoff
from bot.store.shop import SqlShop
from tests.conftest import NOW


@pytest.fixture
def services(shop: SqlShop, settings: Settings) -> Services:
    policy = load_policy(settings.policy_file)
    handoff = SqlHandoff(shop.engine)
    handoff.seed_agents()
    return Services(shop=shop, aftersales=SqlAfterSales(shop.engine, shop, policy), handoff=handoff,
                    settings=settings, clock=lambda: NOW)


def tracker(intent: str = "order_status", *, text: str = "", entities: list[dict[str, Any]] | None = None,
            language: str = "zh", customer_id: str | None = "C001", ranking: list[dict[str, Any]] | None = None,
            metadata: dict[str, Any] | None = None, **slots: Any) -> Tracker:
    """A tracker whose latest message has this intent, text and entities."""
    all_slots = {"language": language, "customer_id": customer_id, **slots}
    latest = {"intent": {"name": intent, "confidence": 0.9}, "entities": entities or [], "text": text,
              "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}],
              "metadata": metadata or {}}
    return Tracker("test", all_slots, latest, [], False, None, None, "action_listen")


async def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action; returns (events, messages)."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return events, dispatcher.messages


def slot(events: list[dict[str, Any]], name: str) -> Any:
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    return values[-1] if values else "<unset>"
