"""Handing the conversation to a human agent, and the bot's part after the agent is done."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import Context, Services, default_services
from bot import display
from bot.routing import TicketStatus, handoff_news, open_ticket
from bot.store.aftersales import new_id

#: Ticket topics by the reason the bot hands over.
TOPICS = {"claim_review": "price_protection", "safety": "safety", "policy_review": "returns"}


class ActionHandoff(Action):
    """Opens a ticket, routes it, tells the shopper where they stand and pauses the bot.

    With no agent online for the shopper's language the bot says so honestly,
    gives the ticket number and the 100-minute promise, and keeps serving:
    the ticket waits in the queue and nothing is lost.
    """

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        ctx = Context(self._services or default_services(), tracker)
        customer = ctx.customer()
        reset = [SlotSet("handoff_reason", None)]
        if customer is None:
            dispatcher.utter_message(response="utter_need_login")
            return reset
        reason = tracker.get_slot("handoff_reason") or "ask_human"
        order = next((o for o in ctx.orders if o.order_id == tracker.get_slot("order_id")), None)
        category = None
        if order is not None and order.lines and order.lines[0].sku in ctx.products:
            category = ctx.products[order.lines[0].sku].category.value
        handoff = ctx.services.handoff
        ticket = handoff.add(open_ticket(
            new_id("TK", ctx.now), tracker.sender_id, customer.customer_id, ctx.language, reason, ctx.now,
            vip=customer.vip, safety=reason == "safety", topic=TOPICS.get(reason, "orders"), category=category,
            note=(tracker.latest_message.get("text") or "")[:200]), actor="bot", detail={"reason": reason})
        handoff.assign_waiting(ctx.now)
        ticket = handoff.ticket(ticket.ticket_id)
        agents = handoff.agents()
        news = handoff_news(ticket, handoff.open_tickets(), agents, ctx.now)
        if news["status"] == "offline":
            due = display.when(ctx.services.policy.decision_due(ticket.created_at))
            dispatcher.utter_message(response="utter_handoff_no_agent", ticket_id=ticket.ticket_id, due=due)
            dispatcher.utter_message(json_message={"handoff": news})
            return reset
        if news["status"] == TicketStatus.ASSIGNED.value:
            name = next((a.name for a in agents if a.agent_id == ticket.assigned_to), "")
            dispatcher.utter_message(response="utter_handoff_assigned", agent=name, ticket_id=ticket.ticket_id)
        else:
            dispatcher.utter_message(response="utter_handoff_queued", ticket_id=ticket.ticket_id,
                                     position=str(news["position"]), wait=str(news["wait_minutes"]))
        dispatcher.utter_message(json_message={"handoff": news})
        return [*reset, ConversationPaused()]


class ActionRecordRating(Action):
    """Stores the shopper's 1-5 rating of the agent's help on the conversation's last ticket."""

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_record_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        ctx = Context(self._services or default_services(), tracker)
        rating = str(ctx.entity("rating") or "")
        if rating not in {"1", "2", "3", "4", "5"}:
            dispatcher.utter_message(response="utter_ask_rating_again")
            return []
        ctx.services.handoff.record_rating(tracker.sender_id, int(rating), ctx.now)
        dispatcher.utter_message(response="utter_rating_thanks" if int(rating) >= 4 else "utter_rating_sorry")
        return []
