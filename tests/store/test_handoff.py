"""Tickets survive in the database; SLA breaches are recorded exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.routing import open_ticket
from bot.store.handoff import SqlHandoff
from bot.store.shop import SqlShop
from tests.conftest import NOW


def test_a_breach_is_recorded_once_and_only_after_the_promise(engine: Engine, seeded: SqlShop) -> None:
    handoff = SqlHandoff(engine)
    handoff.add(open_ticket("TK-1", "conv-1", "C001", "zh", "ask_human", NOW, topic="orders"), actor="bot")
    assert handoff.record_breaches(NOW + timedelta(minutes=100)) == []
    assert handoff.record_breaches(NOW + timedelta(minutes=100, seconds=1)) == ["TK-1"]
    assert handoff.record_breaches(NOW + timedelta(minutes=150)) == []
    assert [e["kind"] for e in handoff.events("TK-1")] == ["opened", "sla_breached"]


def test_agent_passwords_are_hashed_and_checked(engine: Engine, seeded: SqlShop) -> None:
    handoff = SqlHandoff(engine)
    handoff.seed_agents()
    assert handoff.login("A01", "wrong", NOW) is None
    found = handoff.login("A01", "demo", NOW)
    assert found is not None and handoff.session_agent(found[1]).agent_id == "A01"
