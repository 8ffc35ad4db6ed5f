"""Order questions: status, tracking, delivery time, cancel, address, invoice, payment."""

from __future__ import annotations

import json
import math
from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import Context, Services, default_services
from bot import display
from bot.errors import NotAllowed, OrderNotFound
from bot.orders import Delivery, Order, OrderStatus, check_cancel, check_invoice, delivery_state
from bot.resolution import resolve_order
from bot.returns import assess_cancel


class OrderAction(Action, metaclass=ABCMeta):
    """Base of every action that answers about one order.

    It finds the order (or asks which one, with the shopper's recent orders as
    buttons that repeat the same question with the id filled in) and hands it
    to ``answer``.
    """

    topic = ""

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    @property
    def services(self) -> Services:
        return self._services or default_services()

    def name(self) -> str:
        return f"action_{self.topic}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        ctx = Context(self.services, tracker)
        order = self.find_order(ctx, dispatcher)
        if order is None:
            return [SlotSet("pending_intent", self.topic), SlotSet("eligible", None)]
        return [SlotSet("order_id", order.order_id), SlotSet("pending_intent", None),
                *self.answer(ctx, order, dispatcher)]

    def find_order(self, ctx: Context, dispatcher: CollectingDispatcher) -> Order | None:
        if ctx.customer_id is None:
            dispatcher.utter_message(response="utter_need_login")
            return None
        if not ctx.orders:
            dispatcher.utter_message(response="utter_no_orders")
            return None
        found = resolve_order(
            ctx.orders, self.topic, order_id=_order_id(ctx), product=ctx.entity("product"),
            products=ctx.products, context_order_id=ctx.tracker.get_slot("order_id"))
        if found.order is not None:
            return found.order
        buttons = [{"title": display.order_button_title(o, ctx.products, ctx.language),
                    "payload": f"/{self.topic}{json.dumps({'order_id': o.order_id})}"}
                   for o in found.candidates]
        if found.unknown_id is not None:
            dispatcher.utter_message(response="utter_order_not_found", order_id=found.unknown_id,
                                     buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_which_order", buttons=buttons)
        return None

    @abstractmethod
    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        """Reply about ``order``; returns extra events."""


def _order_id(ctx: Context) -> str | None:
    value = ctx.entity("order_id")
    return None if value is None else str(value).strip()


def _facts(ctx: Context, order: Order) -> dict[str, str]:
    return display.order_facts(order, ctx.products, ctx.language)


class ActionOrderStatus(OrderAction):
    topic = "order_status"

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        dispatcher.utter_message(response=f"utter_order_status_{order.status.value}", **_facts(ctx, order))
        dispatcher.utter_message(json_message={"card": display.order_card(order, ctx.products, ctx.language)})
        return []


class ActionTrackShipment(OrderAction):
    topic = "track_shipment"

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        facts = _facts(ctx, order)
        if order.shipment is not None and order.shipment.events:
            dispatcher.utter_message(response="utter_tracking_timeline",
                                     timeline=display.timeline(order, ctx.language), **facts)
        elif order.status == OrderStatus.PAID:
            dispatcher.utter_message(response="utter_tracking_not_shipped", **facts)
        else:
            dispatcher.utter_message(response="utter_tracking_none", **facts)
        return []


_DELIVERY_RESPONSE = {
    Delivery.ON_TIME: "utter_delivery_on_time",
    Delivery.NOT_SHIPPED: "utter_delivery_not_shipped",
    Delivery.LATE: "utter_delivery_late",
    Delivery.EXCEPTION: "utter_delivery_exception",
    Delivery.DELIVERED: "utter_delivery_delivered",
    Delivery.DELIVERED_LATE: "utter_delivery_delivered",
    Delivery.NONE: "utter_delivery_none",
}


class ActionDeliveryTime(OrderAction):
    topic = "delivery_time"

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        state = delivery_state(order, ctx.now)
        late_hours = ""
        if state == Delivery.LATE and order.promised_at is not None:
            late_hours = str(math.ceil((ctx.now - order.promised_at).total_seconds() / 3600))
        dispatcher.utter_message(response=_DELIVERY_RESPONSE[state], late_hours=late_hours,
                                 **_facts(ctx, order))
        return []


class ActionCheckCancel(OrderAction):
    """Asks the shopper to confirm a cancel the order allows, or says why it can't."""

    topic = "cancel_order"

    def name(self) -> str:
        return "action_check_cancel"

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        decision = assess_cancel(order)
        dispatcher.utter_message(response=decision.response, **{**_facts(ctx, order), **decision.facts})
        if not decision.allowed:
            return [SlotSet("eligible", False)]
        return [SlotSet("eligible", True), SlotSet("pending_intent", "cancel_confirm")]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        if not any(e.get("name") == "eligible" and e.get("value") is not None for e in events):
            events.append(SlotSet("eligible", False))
        return events


class ActionCancelOrder(Action):
    """Cancels the order the shopper just confirmed, re-checking the rule atomically."""

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_cancel_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        ctx = Context(self._services or default_services(), tracker)
        order_id = tracker.get_slot("order_id")
        if tracker.get_slot("pending_intent") != "cancel_confirm" or not order_id or not ctx.customer_id:
            dispatcher.utter_message(response="utter_default")
            return [SlotSet("eligible", None)]
        done = [SlotSet("eligible", None), SlotSet("pending_intent", None)]
        try:
            order = ctx.services.shop.cancel_order(ctx.customer_id, order_id, ctx.now)
        except OrderNotFound:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return done
        except NotAllowed as refusal:
            order = ctx.services.shop.order(ctx.customer_id, order_id)
            dispatcher.utter_message(response=f"utter_cancel_{refusal.reason}", **_facts(ctx, order))
            return done
        dispatcher.utter_message(response="utter_cancel_done", **_facts(ctx, order))
        return done


class ActionCheckAddressChange(OrderAction):
    """Starts the address form when the order has not shipped yet."""

    topic = "change_address"

    def name(self) -> str:
        return "action_check_address_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        if not any(e.get("name") == "eligible" and e.get("value") is not None for e in events):
            events.append(SlotSet("eligible", False))
        return events

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        try:
            check_cancel(order)  # the address can change exactly while the order can be cancelled
        except NotAllowed as refusal:
            dispatcher.utter_message(response=f"utter_address_{refusal.reason}"
                                     if refusal.reason == "already_shipped"
                                     else "utter_address_already_cancelled", **_facts(ctx, order))
            return [SlotSet("eligible", False)]
        return [SlotSet("eligible", True), SlotSet("new_address", None)]


class ValidateAddressForm(FormValidationAction):
    def name(self) -> str:
        return "validate_address_form"

    def validate_new_address(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        cleaned = " ".join(str(value or "").split())
        if not 6 <= len(cleaned) <= 200:
            dispatcher.utter_message(response="utter_address_invalid")
            return {"new_address": None}
        return {"new_address": cleaned}


class ActionChangeAddress(Action):
    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_change_address"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        ctx = Context(self._services or default_services(), tracker)
        order_id, address = tracker.get_slot("order_id"), tracker.get_slot("new_address")
        done: list[dict[str, Any]] = [SlotSet("eligible", None), SlotSet("new_address", None)]
        if not (order_id and address and ctx.customer_id):
            dispatcher.utter_message(response="utter_default")
            return done
        try:
            order = ctx.services.shop.change_address(ctx.customer_id, order_id, address, ctx.now)
        except OrderNotFound:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return done
        except NotAllowed as refusal:
            order = ctx.services.shop.order(ctx.customer_id, order_id)
            response = {"already_shipped": "utter_address_already_shipped",
                        "address_invalid": "utter_address_invalid"}.get(
                refusal.reason, "utter_address_already_cancelled")
            dispatcher.utter_message(response=response, **_facts(ctx, order))
            return done
        dispatcher.utter_message(response="utter_address_changed", **_facts(ctx, order))
        return done


class ActionCheckInvoice(OrderAction):
    topic = "invoice"

    def name(self) -> str:
        return "action_check_invoice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        if not any(e.get("name") == "eligible" and e.get("value") is not None for e in events):
            events.append(SlotSet("eligible", False))
        return events

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        try:
            check_invoice(order)
        except NotAllowed as refusal:
            dispatcher.utter_message(response=f"utter_invoice_{refusal.reason}", **_facts(ctx, order))
            return [SlotSet("eligible", False)]
        return [SlotSet("eligible", True), SlotSet("invoice_title", None)]


class ValidateInvoiceForm(FormValidationAction):
    def name(self) -> str:
        return "validate_invoice_form"

    def validate_invoice_title(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        cleaned = " ".join(str(value or "").split())
        if not 2 <= len(cleaned) <= 100:
            dispatcher.utter_message(response="utter_invoice_title_invalid")
            return {"invoice_title": None}
        return {"invoice_title": cleaned}


class ActionRequestInvoice(Action):
    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_request_invoice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        ctx = Context(self._services or default_services(), tracker)
        order_id, title = tracker.get_slot("order_id"), tracker.get_slot("invoice_title")
        done: list[dict[str, Any]] = [SlotSet("eligible", None), SlotSet("invoice_title", None)]
        if not (order_id and title and ctx.customer_id):
            dispatcher.utter_message(response="utter_default")
            return done
        try:
            order = ctx.services.shop.request_invoice(ctx.customer_id, order_id, title, ctx.now)
        except OrderNotFound:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return done
        except NotAllowed as refusal:
            order = ctx.services.shop.order(ctx.customer_id, order_id)
            dispatcher.utter_message(response=f"utter_invoice_{refusal.reason}", **_facts(ctx, order))
            return done
        dispatcher.utter_message(response="utter_invoice_requested", title=title, **_facts(ctx, order))
        return done


class ActionPaymentProblem(OrderAction):
    topic = "payment_problem"

    def find_order(self, ctx: Context, dispatcher: CollectingDispatcher) -> Order | None:
        if ctx.customer_id is None:
            dispatcher.utter_message(response="utter_need_login")
            return None
        unpaid = [o for o in ctx.orders if o.status == OrderStatus.AWAITING_PAYMENT]
        mentioned = _order_id(ctx)
        if mentioned or len(unpaid) > 1:
            return super().find_order(ctx, dispatcher)
        if unpaid:
            return unpaid[0]
        dispatcher.utter_message(response="utter_payment_general")
        return None

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        return [e for e in events if not (e.get("name") == "pending_intent" and e.get("value"))]

    def answer(self, ctx: Context, order: Order, dispatcher: CollectingDispatcher) -> list[EventType]:
        if order.status == OrderStatus.AWAITING_PAYMENT:
            dispatcher.utter_message(response="utter_payment_unpaid", **_facts(ctx, order))
        else:
            dispatcher.utter_message(response="utter_payment_general")
        return []


#: The order actions ``action_inform`` can continue, by the intent that asked.
ORDER_ACTIONS: dict[str, type[OrderAction]] = {
    a.topic: a for a in (ActionOrderStatus, ActionTrackShipment, ActionDeliveryTime,
                         ActionCheckCancel, ActionCheckAddressChange, ActionCheckInvoice,
                         ActionPaymentProblem)
}
