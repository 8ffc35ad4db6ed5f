"""After-sales: price protection, returns, exchanges, refund status and complaints.

The decisions are made by the pure core and stored by ``SqlAfterSales``; these
actions pick the order line the shopper means and say the decision, with its
numbers, in the shopper's language.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.orders import OrderAction
from actions.services import Context
from bot import display
from bot.decision import Decision
from bot.orders import LineStatus, Order, OrderLine
from bot.sentiment import is_upset

QUALITY_INTENTS = {"complaint"}


def pick_line(ctx: Context, order: Order) -> OrderLine:
    """The line a product mention points at, else the first paid line (never a gift if avoidable)."""
    mention = ctx.entity("product")
    if mention:
        for line in order.lines:
            product = ctx.products.get(line.sku)
            if product is not None and product.matches(str(mention)):
                return line
    active = [ln for ln in order.lines if ln.status == LineStatus.ACTIVE and not ln.is_gift]
    return (active or list(order.lines))[0]


def handoff(reason: str) -> list[EventType]:
    """Events that hand the conversation to a human agent next (``action_handoff``)."""
    return [SlotSet("handoff_reason", reason), FollowupAction("action_handoff")]


def say(dispatcher: CollectingDispatcher, ctx: Context, decision: Decision, **extra: Any) -> None:
    facts = dict(decision.facts)
    facts.setdefault("product", facts.get(f"product_{ctx.language}", ""))
    dispatcher.utter_message(response=decision.response, **facts, **extra)


class ActionPriceProtection(OrderAction):
    """Files a claim for every line of the order whose price dropped within its window."""

    topic = "price_protection"

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        mention = ctx.entity("product")
        paid_lines = [ln for ln in order.lines if not ln.is_gift] or list(order.lines)
        lines = [pick_line(ctx, order)] if mention else paid_lines
        decisions = [ctx.services.aftersales.claim_price_protection(ctx.customer_id or "", ln.line_id, ctx.now)
                     for ln in lines]
        allowed = [d for d in decisions if d.allowed or d.reason == "already_claimed"]
        for d in allowed or decisions[:1]:
            say(dispatcher, ctx, d)
        if any(d.reason == "eligible_needs_review" for d in decisions):
            return handoff("claim_review")
        return []


class ActionReturnItem(OrderAction):
    topic = "return_item"

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        line = pick_line(ctx, order)
        quality = bool(ctx.entity("defect")) or ctx.tracker.get_slot("pending_intent") in QUALITY_INTENTS
        decision, request = ctx.services.aftersales.request_return(
            ctx.customer_id or "", line.line_id, "quality" if quality else "no_reason", False, ctx.now)
        say(dispatcher, ctx, decision)
        if decision.reason == "quality_not_covered":
            return handoff("policy_review")
        if decision.allowed and request is not None:
            dispatcher.utter_message(response="utter_request_created_return", request_id=request.request_id,
                                     refund=display.money(request.refund_amount),
                                     decision_due=display.when(request.decision_due))
        return []


class ActionExchangeItem(OrderAction):
    topic = "exchange_item"

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        line = pick_line(ctx, order)
        decision, request = ctx.services.aftersales.request_exchange(ctx.customer_id or "", line.line_id, ctx.now)
        say(dispatcher, ctx, decision)
        if decision.reason == "quality_not_covered":
            return handoff("policy_review")
        if decision.allowed and request is not None:
            dispatcher.utter_message(response="utter_request_created_exchange", request_id=request.request_id,
                                     decision_due=display.when(request.decision_due))
        return []


class ActionComplaint(OrderAction):
    """Records a defect complaint (feeding the Andon cord) and offers a return or an exchange."""

    topic = "complaint"

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        line = pick_line(ctx, order)
        text = ctx.tracker.latest_message.get("text") or ""
        entities = ctx.tracker.latest_message.get("entities") or []
        complaint, andon = ctx.services.aftersales.complain(
            ctx.customer_id or "", order.order_id, line.sku, text, entities, ctx.now)
        product = ctx.products[line.sku].name(ctx.language) if line.sku in ctx.products else line.sku
        response = "utter_complaint_safety" if andon.reason == "safety" else "utter_complaint_recorded"
        dispatcher.utter_message(response=response, complaint_id=complaint.complaint_id, product=product,
                                 order_id=order.order_id,
                                 decision_due=display.when(ctx.services.policy.decision_due(ctx.now)))
        if andon.reason == "safety":
            return handoff("safety")
        return handoff("negative_sentiment") if is_upset(text, ctx.services.sentiment) else []


class ActionRefundStatus(OrderAction):
    """Where the shopper's money is: claims, returns and refunded orders, newest first."""

    topic = "refund_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        ctx = Context(self.services, tracker)
        if ctx.customer_id is None:
            dispatcher.utter_message(response="utter_need_login")
            return []
        mentioned = {o.order_id for o in ctx.orders if o.order_id == ctx.entity("order_id")}
        claims = [c for c in ctx.services.aftersales.claims_of(ctx.customer_id)
                  if not mentioned or c.order_id in mentioned]
        requests = [r for r in ctx.services.aftersales.requests_of(ctx.customer_id)
                    if not mentioned or r.order_id in mentioned]
        refunded = [o for o in ctx.orders if o.status.value in ("refunded", "cancelled")
                    and (not mentioned or o.order_id in mentioned)]
        products = ctx.services.shop.products_by_sku([c.sku for c in claims] + [r.sku for r in requests])

        def name(sku: str) -> str:
            return products[sku].name(ctx.language) if sku in products else sku

        for c in claims[:3]:
            dispatcher.utter_message(response=f"utter_claim_status_{c.claim.status.value}",
                                     claim_id=c.claim.claim_id, product=name(c.sku),
                                     amount=display.money(c.claim.amount), decision_due=display.when(c.decision_due))
        for r in requests[:3]:
            dispatcher.utter_message(response=f"utter_request_status_{r.kind}_{r.status}", request_id=r.request_id,
                                     product=name(r.sku), decision_due=display.when(r.decision_due),
                                     refund=display.money(r.refund_amount) if r.refund_amount is not None else "")
        for o in refunded[:3]:
            dispatcher.utter_message(response=f"utter_refund_status_order_{o.status.value}",
                                     **display.order_facts(o, ctx.products, ctx.language))
        if not (claims or requests or refunded):
            dispatcher.utter_message(response="utter_refund_status_none")
        return []

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        return []  # run() answers for all of the shopper's orders at once
