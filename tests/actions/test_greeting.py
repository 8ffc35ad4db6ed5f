"""The opening: "猜你想问" suggestions from the shopper's own order history, in their language."""

from __future__ import annotations

import json

import pytest

from actions.greeting import ActionGreet
from actions.services import Services
from tests.actions.conftest import run, tracker


def suggestions(messages: list[dict]) -> list[dict[str, str]]:
    return next((m["buttons"] for m in messages if m["response"] == "utter_suggestions"), [])


class TestGreeting:
    @pytest.mark.parametrize(("language", "word"), [("zh", "冰箱"), ("en", "fridge")])
    async def test_a_late_parcel_is_the_first_suggestion(self, services: Services, language: str, word: str) -> None:
        _, messages = await run(ActionGreet(services), tracker("greet", customer_id="C001", language=language))
        first = suggestions(messages)[0]
        assert first["payload"].split("{")[0] in ("/delivery_time", "/track_shipment")
        late = next(o for o in services.shop.orders_of("C001") if o.status.value == "shipped")
        assert json.loads(first["payload"][first["payload"].index("{"):]) == {"order_id": late.order_id}
        assert word in first["title"].lower()

    @pytest.mark.parametrize("language", ["zh", "en"])
    async def test_a_price_drop_is_announced_with_a_one_tap_claim(self, services: Services, language: str) -> None:
        _, messages = await run(ActionGreet(services), tracker("greet", customer_id="C002", language=language))
        notice = next(m for m in messages if m["response"] == "utter_price_drop_notice")
        assert notice["amount"] == "251.00"

    async def test_suggestions_only_name_the_shoppers_own_orders(self, services: Services) -> None:
        for customer in ("C001", "C002", "C003", "C005", "C007", "C008", "C009"):
            _, messages = await run(ActionGreet(services), tracker("greet", customer_id=customer))
            own = {o.order_id for o in services.shop.orders_of(customer)}
            for button in suggestions(messages):
                if "{" in button["payload"]:
                    assert json.loads(button["payload"][button["payload"].index("{"):])["order_id"] in own
            assert len(suggestions(messages)) <= 3

    async def test_a_customer_with_no_orders_gets_a_plain_greeting(self, services: Services) -> None:
        _, messages = await run(ActionGreet(services), tracker("greet", customer_id="C010"))
        assert [m["response"] for m in messages] == ["utter_greet_named"]
