"""Order actions: each answers from the shopper's own orders with a bilingual response."""

from __future__ import annotations

import json

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.inform import ActionInform
from actions.orders import (
    ActionCancelOrder,
    ActionChangeAddress,
    ActionCheckAddressChange,
    ActionCheckCancel,
    ActionCheckInvoice,
    ActionDeliveryTime,
    ActionOrderStatus,
    ActionPaymentProblem,
    ActionRequestInvoice,
    ActionTrackShipment,
    ValidateAddressForm,
)
from actions.services import Services
from bot.orders import OrderStatus
from tests.actions.conftest import run, slot, tracker


def order_id(services: Services, customer: str, status: OrderStatus) -> str:
    return next(o.order_id for o in services.shop.orders_of(customer) if o.status == status)


def oid(value: str) -> list[dict[str, str]]:
    return [{"entity": "order_id", "value": value}]


class TestWhichOrder:
    async def test_several_candidates_are_offered_as_buttons_repeating_the_question(
            self, services: Services) -> None:
        events, messages = await run(ActionOrderStatus(services), tracker(customer_id="C007"))
        assert messages[0]["response"] == "utter_which_order"
        payloads = [b["payload"] for b in messages[0]["buttons"]]
        assert payloads and all(p.startswith("/order_status{") for p in payloads)
        ids = [json.loads(p[len("/order_status"):])["order_id"] for p in payloads]
        assert set(ids) <= {o.order_id for o in services.shop.orders_of("C007")}
        assert slot(events, "pending_intent") == "order_status"

    @pytest.mark.parametrize("language", ["zh", "en"])
    async def test_someone_elses_order_is_answered_like_a_missing_one(
            self, services: Services, language: str) -> None:
        theirs = order_id(services, "C002", OrderStatus.DELIVERED)
        _, mine_missing = await run(ActionOrderStatus(services),
                                    tracker(entities=oid("999999999999"), language=language))
        _, theirs_msgs = await run(ActionOrderStatus(services), tracker(entities=oid(theirs), language=language))
        assert theirs_msgs[0]["response"] == mine_missing[0]["response"] == "utter_order_not_found"
        assert "Emily" not in json.dumps(theirs_msgs, ensure_ascii=False)
        assert all(theirs not in b["payload"] for b in theirs_msgs[0]["buttons"])

    async def test_no_customer_means_sign_in_first(self, services: Services) -> None:
        _, messages = await run(ActionOrderStatus(services), tracker(customer_id=None))
        assert messages[0]["response"] == "utter_need_login"

    async def test_a_customer_without_orders_is_told_so(self, services: Services) -> None:
        _, messages = await run(ActionOrderStatus(services), tracker(customer_id="C010"))
        assert messages[0]["response"] == "utter_no_orders"

    async def test_a_bare_order_id_continues_the_pending_question(self, services: Services) -> None:
        target = order_id(services, "C007", OrderStatus.SHIPPED)
        _, messages = await run(ActionInform(services), tracker(
            "inform", customer_id="C007", entities=oid(target), pending_intent="track_shipment"))
        assert messages[0]["response"] == "utter_tracking_timeline"
        assert messages[0]["order_id"] == target


class TestStatusAndTracking:
    @pytest.mark.parametrize("language", ["zh", "en"])
    async def test_status_names_the_product_in_the_shoppers_language_and_sends_a_card(
            self, services: Services, language: str) -> None:
        _, messages = await run(ActionOrderStatus(services), tracker(language=language))
        assert messages[0]["response"] == "utter_order_status_shipped"
        expected = "海尔十字门冰箱 470升" if language == "zh" else "Haier French-door fridge 470L"
        assert messages[0]["product"] == expected
        card = messages[1]["custom"]["card"]
        assert card["type"] == "order" and card["status"] == "shipped" and card["total"] == "4,599.00"

    async def test_tracking_lists_events_newest_first(self, services: Services) -> None:
        _, messages = await run(ActionTrackShipment(services), tracker("track_shipment", language="en"))
        lines = messages[0]["timeline"].splitlines()
        assert messages[0]["response"] == "utter_tracking_timeline"
        assert len(lines) >= 2 and lines == sorted(lines, reverse=True)
        assert "Picked up by the courier" in lines[-1]

    async def test_an_unshipped_order_has_no_tracking_yet(self, services: Services) -> None:
        _, messages = await run(ActionTrackShipment(services), tracker("track_shipment", customer_id="C004"))
        assert messages[0]["response"] == "utter_tracking_not_shipped"

    @pytest.mark.parametrize(("customer", "response"), [
        ("C001", "utter_delivery_late"), ("C005", "utter_delivery_exception"),
        ("C004", "utter_delivery_not_shipped")])
    async def test_delivery_time_against_the_promise(self, services: Services, customer: str,
                                                     response: str) -> None:
        _, messages = await run(ActionDeliveryTime(services), tracker("delivery_time", customer_id=customer))
        assert messages[0]["response"] == response

    async def test_late_hours_are_counted(self, services: Services) -> None:
        _, messages = await run(ActionDeliveryTime(services), tracker("delivery_time"))
        assert int(messages[0]["late_hours"]) == 48  # promised 3 days after an order placed 5 days ago


class TestCancel:
    async def test_an_unshipped_order_asks_for_confirmation_then_cancels(self, services: Services) -> None:
        target = order_id(services, "C004", OrderStatus.PAID)
        events, messages = await run(ActionCheckCancel(services), tracker(
            "cancel_order", customer_id="C004", entities=oid(target)))
        assert messages[0]["response"] == "utter_cancel_eligible" and slot(events, "eligible") is True
        events, messages = await run(ActionCancelOrder(services), tracker(
            "affirm", customer_id="C004", order_id=target, pending_intent="cancel_confirm"))
        assert messages[0]["response"] == "utter_cancel_done"
        assert services.shop.order("C004", target).status == OrderStatus.CANCELLED

    async def test_a_shipped_order_offers_a_return_instead(self, services: Services) -> None:
        shipped = order_id(services, "C001", OrderStatus.SHIPPED)
        events, messages = await run(ActionCheckCancel(services), tracker(
            "cancel_order", customer_id="C001", entities=oid(shipped)))
        assert messages[0]["response"] == "utter_cancel_already_shipped"
        assert messages[0]["order_id"] == shipped
        assert slot(events, "eligible") is False

    async def test_affirm_without_a_pending_cancel_cancels_nothing(self, services: Services) -> None:
        target = order_id(services, "C004", OrderStatus.PAID)
        _, messages = await run(ActionCancelOrder(services), tracker("affirm", customer_id="C004",
                                                                     order_id=target))
        assert messages[0]["response"] == "utter_default"
        assert services.shop.order("C004", target).status == OrderStatus.PAID

    async def test_cannot_cancel_someone_elses_order_even_with_a_forged_slot(self, services: Services) -> None:
        theirs = order_id(services, "C004", OrderStatus.PAID)
        _, messages = await run(ActionCancelOrder(services), tracker(
            "affirm", customer_id="C001", order_id=theirs, pending_intent="cancel_confirm"))
        assert messages[0]["response"] == "utter_order_not_found"
        assert services.shop.order("C004", theirs).status == OrderStatus.PAID


class TestAddressAndInvoice:
    async def test_address_change_before_shipment(self, services: Services) -> None:
        target = order_id(services, "C004", OrderStatus.PAID)
        events, _ = await run(ActionCheckAddressChange(services), tracker("change_address", customer_id="C004"))
        assert slot(events, "eligible") is True and slot(events, "order_id") == target
        _, messages = await run(ActionChangeAddress(services), tracker(
            "inform", customer_id="C004", order_id=target, new_address="上海市徐汇区漕溪北路 18 号"))
        assert messages[0]["response"] == "utter_address_changed"
        assert services.shop.order("C004", target).address == "上海市徐汇区漕溪北路 18 号"

    async def test_address_change_after_shipment_is_refused(self, services: Services) -> None:
        shipped = order_id(services, "C001", OrderStatus.SHIPPED)
        events, messages = await run(ActionCheckAddressChange(services), tracker(
            "change_address", entities=oid(shipped)))
        assert messages[0]["response"] == "utter_address_already_shipped" and slot(events, "eligible") is False

    @pytest.mark.parametrize(("value", "accepted"), [("短", False), ("x" * 201, False),
                                                     ("Room 5, 1 Main Rd, Beijing", True)])
    def test_address_form_validation(self, value: str, accepted: bool) -> None:
        d = CollectingDispatcher()
        result = ValidateAddressForm().validate_new_address(value, d, tracker(), {})
        assert (result["new_address"] is not None) == accepted
        assert bool(d.messages) != accepted

    async def test_invoice_for_a_delivered_order(self, services: Services) -> None:
        target = order_id(services, "C002", OrderStatus.DELIVERED)
        events, _ = await run(ActionCheckInvoice(services), tracker("invoice", customer_id="C002",
                                                                     entities=oid(target)))
        assert slot(events, "eligible") is True
        _, messages = await run(ActionRequestInvoice(services), tracker(
            "inform", customer_id="C002", order_id=target, invoice_title="ACME Ltd"))
        assert messages[0]["response"] == "utter_invoice_requested" and messages[0]["title"] == "ACME Ltd"

    async def test_no_invoice_before_payment(self, services: Services) -> None:
        target = order_id(services, "C003", OrderStatus.AWAITING_PAYMENT)
        _, messages = await run(ActionCheckInvoice(services), tracker("invoice", customer_id="C003",
                                                                       entities=oid(target)))
        assert messages[0]["response"] == "utter_invoice_not_paid"


class TestPayment:
    async def test_an_unpaid_order_is_explained(self, services: Services) -> None:
        _, messages = await run(ActionPaymentProblem(services), tracker("payment_problem", customer_id="C003"))
        assert messages[0]["response"] == "utter_payment_unpaid"

    async def test_all_paid_gets_the_general_answer(self, services: Services) -> None:
        _, messages = await run(ActionPaymentProblem(services), tracker("payment_problem", customer_id="C002"))
        assert messages[0]["response"] == "utter_payment_general"
