"""The opening of a chat: a greeting by name, a price drop to claim, and "猜你想问" suggestions."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import Context, Services, default_services
from bot.prediction import Prediction, predict, question
from bot.store.profile import load_history


class ActionGreet(Action):
    """Greets the shopper and offers what they most likely came for, before they type.

    A claimable price drop is announced first with a one-tap claim (issue 3);
    the predictor's top suggestions follow as buttons that start the matching
    flow with the order filled in. Only the shopper's own orders are used.
    """

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        ctx = Context(self._services or default_services(), tracker)
        customer = ctx.customer()
        if customer is None:
            dispatcher.utter_message(response="utter_greet")
            return []
        dispatcher.utter_message(response="utter_greet_named", name=customer.name)
        services = ctx.services
        history = load_history(services.shop, services.aftersales, customer.customer_id, ctx.now)
        predictions = predict(history, ctx.now, services.policy, services.predictor)
        drop = next((p for p in predictions if p.issue == "price_protection" and "amount" in p.facts), None)
        if drop is not None:
            dispatcher.utter_message(response="utter_price_drop_notice", order_id=drop.order_id or "",
                                     product=drop.facts.get(f"product_{ctx.language}", ""),
                                     amount=drop.facts["amount"])
        others = [p for p in predictions if p is not drop]
        if others:
            dispatcher.utter_message(response="utter_suggestions", buttons=self.buttons(others, ctx))
        return []

    @staticmethod
    def buttons(predictions: list[Prediction], ctx: Context) -> list[dict[str, str]]:
        texts = ctx.services.prediction_text
        return [{"title": question(p, ctx.language, texts), "payload": p.payload} for p in predictions[:3]]


