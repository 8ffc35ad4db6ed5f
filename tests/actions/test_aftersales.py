"""After-sales actions: claims, returns, exchanges, complaints and status, in zh and en."""

from __future__ import annotations

import pytest

from actions.aftersales import (
    ActionComplaint,
    ActionExchangeItem,
    ActionPriceProtection,
    ActionRefundStatus,
    ActionReturnItem,
)
from actions.greeting import ActionGreet
from actions.services import Services
from tests.actions.conftest import run, tracker


def order_with(services: Services, customer: str, sku: str) -> str:
    return next(o.order_id for o in services.shop.orders_of(customer) if any(ln.sku == sku for ln in o.lines))


def oid(value: str) -> list[dict[str, str]]:
    return [{"entity": "order_id", "value": value}]


class TestPriceProtection:
    @pytest.mark.parametrize(("language", "product"), [("zh", "美的变频空调 1.5匹"),
                                                       ("en", "Midea inverter air conditioner 1.5HP")])
    async def test_the_drop_is_explained_with_the_numbers_and_a_claim_id(
            self, services: Services, language: str, product: str) -> None:
        _, messages = await run(ActionPriceProtection(services), tracker(
            "price_protection", customer_id="C002", language=language,
            entities=[{"entity": "product", "value": "空调" if language == "zh" else "AC"}]))
        m = messages[0]
        assert m["response"] == "utter_price_protection_eligible"
        assert (m["paid"], m["price"], m["amount"], m["product"]) == ("2,750.00", "2,499.00", "251.00", product)
        assert m["claim_id"].startswith("PP-")

    async def test_asking_twice_is_answered_with_the_same_claim(self, services: Services) -> None:
        ask = tracker("price_protection", customer_id="C002",
                      entities=oid(order_with(services, "C002", "SKU-AC-MIDEA-35")))
        _, first = await run(ActionPriceProtection(services), ask)
        _, second = await run(ActionPriceProtection(services), ask)
        assert second[0]["response"] == "utter_price_protection_already_claimed"
        assert second[0]["claim_id"] == first[0]["claim_id"]
        assert len(services.aftersales.claims_of("C002")) == 1

    async def test_a_coupon_is_not_a_price_drop(self, services: Services) -> None:
        _, messages = await run(ActionPriceProtection(services), tracker(
            "price_protection", customer_id="C007", entities=[{"entity": "product", "value": "吹风机"}]))
        assert messages[0]["response"] == "utter_price_protection_coupon_only"

    async def test_big_claims_wait_for_review(self, services: Services) -> None:
        _, messages = await run(ActionPriceProtection(services), tracker(
            "price_protection", customer_id="C009",
            entities=oid(order_with(services, "C009", "SKU-IPHONE15-128"))))
        assert messages[0]["response"] == "utter_price_protection_eligible_needs_review"
        _, status = await run(ActionRefundStatus(services), tracker("refund_status", customer_id="C009"))
        assert status[0]["response"] == "utter_claim_status_pending_review"


class TestReturnsAndExchanges:
    async def test_a_no_reason_return_inside_seven_days_gets_a_request_id(self, services: Services) -> None:
        _, messages = await run(ActionReturnItem(services), tracker("return_item", customer_id="C003",
                                                                    entities=[{"entity": "product", "value": "小米"}]))
        assert [m["response"] for m in messages] == ["utter_return_eligible", "utter_request_created_return"]
        assert messages[1]["request_id"].startswith("RT-") and messages[1]["refund"] == "3,999.00"

    async def test_fresh_food_has_no_no_reason_return(self, services: Services) -> None:
        _, messages = await run(ActionReturnItem(services), tracker("return_item", customer_id="C006",
                                                                    entities=[{"entity": "product", "value": "crab"}]))
        assert [m["response"] for m in messages] == ["utter_return_perishable_excluded"]

    async def test_an_exchange_within_180_days(self, services: Services) -> None:
        _, messages = await run(ActionExchangeItem(services), tracker(
            "exchange_item", customer_id="C009", entities=oid(order_with(services, "C009", "SKU-AC-MIDEA-35"))))
        assert [m["response"] for m in messages] == ["utter_exchange_eligible", "utter_request_created_exchange"]


class TestComplaints:
    @pytest.mark.parametrize("text", ["冰箱冒烟了！", "the fridge is smoking!"])
    async def test_a_safety_complaint_pulls_the_product(self, services: Services, text: str) -> None:
        _, messages = await run(ActionComplaint(services), tracker("complaint", customer_id="C001", text=text,
                                                                   entities=[{"entity": "product", "value": "冰箱"}]))
        assert messages[0]["response"] == "utter_complaint_safety"
        assert not services.shop.product("SKU-FRIDGE-HAIER-470").on_sale

    async def test_an_ordinary_complaint_is_recorded_and_offers_return_or_exchange(self, services: Services) -> None:
        _, messages = await run(ActionComplaint(services), tracker(
            "complaint", customer_id="C009", text="the AC is very noisy",
            entities=[{"entity": "defect", "value": "noise"},
                      {"entity": "order_id", "value": order_with(services, "C009", "SKU-AC-MIDEA-35")}]))
        assert messages[0]["response"] == "utter_complaint_recorded"
        assert messages[0]["complaint_id"].startswith("CP-")
        assert services.shop.product("SKU-AC-MIDEA-35").on_sale


class TestStatusAndGreeting:
    async def test_nothing_in_progress(self, services: Services) -> None:
        _, messages = await run(ActionRefundStatus(services), tracker("refund_status", customer_id="C001"))
        assert [m["response"] for m in messages] == ["utter_refund_status_none"]

    async def test_refunded_and_cancelled_orders_are_listed(self, services: Services) -> None:
        _, messages = await run(ActionRefundStatus(services), tracker("refund_status", customer_id="C005"))
        assert {m["response"] for m in messages} == {"utter_refund_status_order_refunded",
                                                     "utter_refund_status_order_cancelled"}

    @pytest.mark.parametrize(("language", "product"), [("zh", "美的变频空调 1.5匹"),
                                                       ("en", "Midea inverter air conditioner 1.5HP")])
    async def test_the_greeting_offers_the_price_drop_first(self, services: Services, language: str,
                                                            product: str) -> None:
        _, messages = await run(ActionGreet(services), tracker("greet", customer_id="C002", language=language))
        assert [m["response"] for m in messages][:2] == ["utter_greet_named", "utter_price_drop_notice"]
        assert (messages[1]["product"], messages[1]["amount"]) == (product, "251.00")

    async def test_no_price_notice_without_a_drop(self, services: Services) -> None:
        _, messages = await run(ActionGreet(services), tracker("greet", customer_id="C001"))
        assert "utter_price_drop_notice" not in [m["response"] for m in messages]
