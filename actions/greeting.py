"""The opening of a chat: a greeting by name, and a price drop the shopper can claim."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import Context, Services, default_services
from bot import display
from bot.decision import Decision
from bot.protection import assess_price_protection


def claimable_drops(ctx: Context) -> list[Decision]:
    """Every line whose price dropped inside its window and is not claimed yet, biggest first."""
    claims = [c.claim for c in ctx.services.aftersales.claims_of(ctx.customer_id)] if ctx.customer_id else []
    prices = ctx.services.shop.price_history(ctx.products)
    found = []
    for order in ctx.orders:
        for line in order.lines:
            product = ctx.products.get(line.sku)
            if product is None:
                continue
            d = assess_price_protection(order, line, product, prices, [c for c in claims if c.line_id == line.line_id],
                                        ctx.services.policy, ctx.now)
            if d.allowed:
                found.append(d)
    return sorted(found, key=lambda d: d.amount or 0, reverse=True)


class ActionGreet(Action):
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
        drops = claimable_drops(ctx)
        if drops:
            top = drops[0]
            dispatcher.utter_message(response="utter_price_drop_notice", order_id=top.facts["order_id"],
                                     product=top.facts[f"product_{ctx.language}"],
                                     amount=display.money(top.amount or 0))
        return []
