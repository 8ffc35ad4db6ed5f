"""The reply language of each turn: explicit choice, then the message's own language."""

from __future__ import annotations

import pytest

from bot.language import turn_language


@pytest.mark.parametrize(("text", "intent", "requested", "choice", "previous", "expected"), [
    ("我的订单到哪了", "track_shipment", None, None, None, ("zh", None)),
    ("where is my order", "track_shipment", None, None, "zh", ("en", None)),
    ("我的iPhone 15订单什么时候到?", "delivery_time", None, None, "en", ("zh", None)),
    ("where is my 快递", "track_shipment", None, None, "zh", ("en", None)),
    ("English please", "switch_language", "en", None, "zh", ("en", "en")),
    ("说中文", "switch_language", "zh", "en", "en", ("zh", "zh")),
    ("我的订单到哪了", "track_shipment", None, "en", "en", ("en", "en")),
    ('/order_status{"order_id":"260312004417"}', "order_status", None, None, "en", ("en", None)),
    ("/greet", "greet", None, None, None, ("zh", None)),
    ("ok", "affirm", None, None, "zh", ("zh", None)),
    ("260312004417", "inform", None, None, "en", ("en", None)),
    ("👍", "affirm", None, None, None, ("zh", None)),
])
def test_turn_language(text: str, intent: str, requested: str | None, choice: str | None,
                       previous: str | None, expected: tuple[str, str | None]) -> None:
    assert turn_language(text=text, intent=intent, requested=requested, choice=choice,
                         previous=previous) == expected


def test_a_new_conversation_starts_in_the_customers_language() -> None:
    assert turn_language(text="/greet", intent="greet", requested=None, choice=None,
                         previous=None, default="en") == ("en", None)
