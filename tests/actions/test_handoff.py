"""Handoff: tickets are opened, routed and explained; the bot pauses only when someone can answer."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.aftersales import ActionComplaint, ActionPriceProtection
from actions.fallback import ActionTwoGuesses
from actions.handoff import ActionHandoff, ActionRecordRating
from actions.services import Services
from bot.routing import TicketStatus, resolve
from tests.actions.conftest import run, tracker
from tests.conftest import NOW


def paused(events: list[dict[str, Any]]) -> bool:
    return any(e.get("event") == "pause" for e in events)


def followup(events: list[dict[str, Any]]) -> str | None:
    return next((e["name"] for e in events if e.get("event") == "followup"), None)


class TestHandoff:
    async def test_no_agent_online_is_said_honestly_with_a_ticket_and_the_bot_keeps_serving(
            self, services: Services) -> None:
        events, messages = await run(ActionHandoff(services), tracker("ask_human", customer_id="C001"))
        assert messages[0]["response"] == "utter_handoff_no_agent"
        assert messages[0]["ticket_id"].startswith("TK-") and not paused(events)
        [ticket] = services.handoff.open_tickets()
        assert ticket.status == TicketStatus.QUEUED and ticket.vip

    async def test_an_online_agent_who_speaks_the_language_gets_the_ticket(self, services: Services) -> None:
        services.handoff.set_online("A02", True)  # Tom speaks en and zh
        events, messages = await run(ActionHandoff(services), tracker("ask_human", customer_id="C002",
                                                                      language="en"))
        assert messages[0]["response"] == "utter_handoff_assigned" and messages[0]["agent"] == "Tom Wilson"
        assert paused(events)
        assert messages[1]["custom"]["handoff"]["status"] == "assigned"

    async def test_a_busy_team_puts_the_shopper_in_the_queue_with_a_wait(self, services: Services) -> None:
        services.handoff.set_online("A03", True)  # capacity 2, zh only
        for customer in ("C003", "C005"):
            await run(ActionHandoff(services), Tracker(f"conv-{customer}", {"language": "zh",
                      "customer_id": customer}, {"intent": {"name": "ask_human"}, "entities": [], "text": "人工"},
                      [], False, None, None, "action_listen"))
        events, messages = await run(ActionHandoff(services), tracker("ask_human", customer_id="C007"))
        assert messages[0]["response"] == "utter_handoff_queued"
        assert messages[0]["position"] == "1" and int(messages[0]["wait"]) > 0
        assert paused(events)

    async def test_one_conversation_never_opens_two_tickets(self, services: Services) -> None:
        await run(ActionHandoff(services), tracker("ask_human", customer_id="C001"))
        await run(ActionHandoff(services), tracker("ask_human", customer_id="C001"))
        assert len(services.handoff.open_tickets()) == 1


class TestTriggers:
    async def test_two_fallbacks_in_a_row_hand_over(self, services: Services) -> None:
        fallback = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
        t = tracker("nlu_fallback", customer_id="C001")
        t.events = [fallback, {"event": "bot"}, fallback]
        events, messages = await run(ActionTwoGuesses(services), t)
        assert followup(events) == "action_handoff" and messages == []
        t.events = [{"event": "user", "parse_data": {"intent": {"name": "greet"}}}, fallback]
        events, messages = await run(ActionTwoGuesses(services), t)
        assert followup(events) is None and messages

    async def test_a_safety_complaint_hands_over(self, services: Services) -> None:
        events, _ = await run(ActionComplaint(services), tracker(
            "complaint", customer_id="C001", text="冰箱漏电了", entities=[{"entity": "product", "value": "冰箱"}]))
        assert followup(events) == "action_handoff"
        assert {"event": "slot", "name": "handoff_reason", "value": "safety", "timestamp": None} in events

    async def test_a_claim_above_the_limit_hands_over_for_review(self, services: Services) -> None:
        events, _ = await run(ActionPriceProtection(services), tracker(
            "price_protection", customer_id="C009", entities=[{"entity": "product", "value": "iphone"}]))
        assert followup(events) == "action_handoff"


class TestRating:
    async def test_the_rating_goes_to_the_resolved_ticket(self, services: Services) -> None:
        await run(ActionHandoff(services), tracker("ask_human", customer_id="C001"))
        [ticket] = services.handoff.open_tickets()
        services.handoff.save(resolve(ticket, NOW), "A01", "resolved", NOW)
        _, messages = await run(ActionRecordRating(services), tracker(
            "rate", customer_id="C001", entities=[{"entity": "rating", "value": "5"}]))
        assert messages[0]["response"] == "utter_rating_thanks"
        assert [e["detail"] for e in services.handoff.events(ticket.ticket_id) if e["kind"] == "rating"] == [
            {"rating": 5}]

    async def test_no_number_asks_again(self, services: Services) -> None:
        _, messages = await run(ActionRecordRating(services), tracker("rate", customer_id="C001"))
        assert messages[0]["response"] == "utter_ask_rating_again"


@pytest.mark.parametrize("text", ["我要投诉！冰箱噪音太大，气死了",
                                  "This is the worst fridge ever, unacceptable noise"])
async def test_an_upset_complaint_hands_over(services: Services, text: str) -> None:
    events, _ = await run(ActionComplaint(services), tracker(
        "complaint", customer_id="C001", text=text, entities=[{"entity": "product", "value": "冰箱"}]))
    assert followup(events) == "action_handoff"
    assert {"event": "slot", "name": "handoff_reason", "value": "negative_sentiment", "timestamp": None} in events


async def test_a_calm_complaint_stays_with_the_bot(services: Services) -> None:
    events, _ = await run(ActionComplaint(services), tracker(
        "complaint", customer_id="C001", text="冰箱有点噪音", entities=[{"entity": "product", "value": "冰箱"}]))
    assert followup(events) is None
