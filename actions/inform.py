"""A bare order id, product or date continues the question that is waiting for it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.aftersales import ActionComplaint, ActionExchangeItem, ActionPriceProtection, ActionReturnItem
from actions.orders import ORDER_ACTIONS, ActionOrderStatus, OrderAction
from actions.services import Services

#: Every question a bare order id or product can answer, by the intent that asked it.
PENDING: dict[str, type[OrderAction]] = {
    **ORDER_ACTIONS,
    **{a.topic: a for a in (ActionPriceProtection, ActionReturnItem, ActionExchangeItem, ActionComplaint)},
}


class ActionInform(Action):
    """Routes "it's 260312004417" / "空调那个" to the question asked before.

    With no question pending, an order id or product means "tell me about
    that order"; anything else gets the polite "didn't get that".
    """

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_inform"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        pending = tracker.get_slot("pending_intent")
        action = PENDING.get(pending or "")
        entities = {e.get("entity") for e in tracker.latest_message.get("entities", []) or []}
        if action is None and entities & {"order_id", "product"}:
            action = ActionOrderStatus
        if action is None:
            dispatcher.utter_message(response="utter_default")
            return []
        return await action(self._services).run(dispatcher, tracker, domain)
