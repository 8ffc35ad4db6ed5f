"""Specification of bot.returns: returns, exchanges and cancellations, boundary by boundary.

The reference order was signed for at 2026-11-10 15:00 Shanghai time, so the
7-day no-reason window runs 2026-11-11 00:00 through 2026-11-17 23:59:59, the
30-day quality return through 2026-12-10 23:59:59 and the 180-day quality
exchange through 2027-05-09 23:59:59 (all local days).
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.catalog import Category, Product
from bot.decision import Decision
from bot.errors import InvalidData
from bot.orders import LineStatus, Order, OrderLine, OrderStatus, Shipment
from bot.policy import Policy
from bot.returns import (
    CANCEL_REASONS,
    EXCHANGE_REASONS,
    RETURN_REASONS,
    assess_cancel,
    assess_exchange,
    assess_return,
    local_day_window,
)

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
RESPONSES = Path(__file__).resolve().parents[2] / "domain.yml"


def at(text: str, tz: ZoneInfo = TZ) -> datetime:
    """A wall-clock time in ``tz`` (Shanghai unless told), e.g. ``at("2026-11-10 15:00:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


PAID_AT = at("2026-11-08 10:00:00")
SHIPPED = at("2026-11-09 09:00:00")
SIGNED = at("2026-11-10 15:00:00")
NOW = at("2026-11-12 10:00:00")

POLICY = Policy.from_mapping({
    "timezone": "Asia/Shanghai",
    "currency": "CNY",
    "decision_due_minutes": 100,
    "price_protection": {
        "auto_approve_limit": "500.00",
        "default": {"days": 30, "from_payment_if_undelivered": True},
        "categories": {},
    },
    "returns": {
        "no_reason_days": 7,
        "no_reason_excluded": {"custom_made": True, "perishable": True,
                               "opened_digital_content": True,
                               "categories": ["fresh", "newspapers"]},
        "quality_return_days": 30,
        "quality_exchange_days": 180,
        "quality_categories": ["appliances", "digital", "mother_baby", "apparel"],
    },
    "andon": {
        "threshold_customers": 2,
        "window_days": 14,
        "safety_defects": ["fire"],
        "safety_keywords": {"zh": ["起火"], "en": ["fire"]},
        "defect_keywords": {"fire": {"zh": ["起火"], "en": ["fire"]}},
    },
})


def make_product(category: Category = Category.APPLIANCES, **changes: Any) -> Product:
    return replace(Product(sku="SKU-1", name_zh="海尔十字门冰箱 470升",
                           name_en="Haier French-door fridge 470L", category=category), **changes)


def make_line(**changes: Any) -> OrderLine:
    return replace(OrderLine(line_id="L1", sku="SKU-1", quantity=1,
                             unit_list_price=Decimal("4599.00"),
                             paid_amount=Decimal("4599.00")), **changes)


def make_order(line: OrderLine | None = None, *, status: OrderStatus = OrderStatus.DELIVERED,
               shipped: datetime | None = SHIPPED,
               delivered: datetime | None = SIGNED,
               paid_at: datetime | None = PAID_AT) -> Order:
    shipment = (None if shipped is None and delivered is None
                else Shipment("SF", "SF1", shipped_at=shipped, delivered_at=delivered))
    return Order(order_id="260101000001", customer_id="C1", status=status,
                 placed_at=at("2026-11-08 09:55:00"), lines=(line or make_line(),),
                 address="北京市朝阳区建国路 88 号", paid_at=paid_at, shipment=shipment)


NOT_DELIVERED = {"status": OrderStatus.SHIPPED, "delivered": None}


def return_of(*, category: Category = Category.APPLIANCES, product: dict[str, Any] | None = None,
              line: dict[str, Any] | None = None, order: dict[str, Any] | None = None,
              now: datetime = NOW, reason: str = "no_reason", opened: bool = False) -> Decision:
    """The reference return with one thing changed."""
    ln = make_line(**(line or {}))
    return assess_return(make_order(ln, **(order or {})), ln,
                         make_product(category, **(product or {})), POLICY, now,
                         reason, opened)  # type: ignore[arg-type]


def exchange_of(*, category: Category = Category.APPLIANCES, line: dict[str, Any] | None = None,
                order: dict[str, Any] | None = None, now: datetime = NOW) -> Decision:
    """The reference exchange with one thing changed."""
    ln = make_line(**(line or {}))
    return assess_exchange(make_order(ln, **(order or {})), ln, make_product(category), POLICY, now)


# id, scenario changes, reason
RETURNS: list[tuple[str, dict[str, Any], str]] = [
    # 7-day no-reason window in Shanghai local days, from the day after sign-off.
    ("no-reason-on-sign-off-day", {"now": at("2026-11-10 16:00:00")}, "eligible"),
    ("no-reason-first-day", {"now": at("2026-11-11 00:00:00")}, "eligible"),
    ("no-reason-last-second", {"now": at("2026-11-17 23:59:59")}, "eligible"),
    ("no-reason-one-second-late", {"now": at("2026-11-18 00:00:00")}, "window_closed"),
    ("no-reason-last-second-asked-in-utc", {"now": at("2026-11-17 15:59:59", UTC)}, "eligible"),
    ("no-reason-one-second-late-asked-in-utc", {"now": at("2026-11-17 16:00:00", UTC)},
     "window_closed"),
    ("signed-after-local-midnight-last-second", {
        "order": {"delivered": at("2026-11-10 16:30:00", UTC)},  # 2026-11-11 00:30 Shanghai
        "now": at("2026-11-18 23:59:59")}, "eligible"),
    ("signed-after-local-midnight-one-second-late", {
        "order": {"delivered": at("2026-11-10 16:30:00", UTC)},
        "now": at("2026-11-19 00:00:00")}, "window_closed"),
    # No-reason exclusions.
    ("custom-made", {"category": Category.APPAREL, "product": {"custom_made": True}},
     "custom_made_excluded"),
    ("perishable", {"category": Category.FRESH, "product": {"perishable": True}},
     "perishable_excluded"),
    ("fresh-category", {"category": Category.FRESH}, "category_excluded"),
    ("digital-content-opened", {"category": Category.DIGITAL,
                                "product": {"digital_content": True}, "opened": True},
     "digital_content_opened"),
    ("digital-content-line-opened", {"category": Category.DIGITAL,
                                     "product": {"digital_content": True},
                                     "line": {"opened": True}}, "digital_content_opened"),
    ("digital-content-sealed", {"category": Category.DIGITAL,
                                "product": {"digital_content": True}}, "eligible"),
    ("opened-ordinary-goods", {"opened": True}, "eligible"),
    ("newspapers", {"category": Category.NEWSPAPERS}, "category_excluded"),
    # Quality return: 30 local days; exclusions of the no-reason return do not apply.
    ("quality-last-second", {"reason": "quality", "now": at("2026-12-10 23:59:59")}, "eligible"),
    ("quality-one-second-late", {"reason": "quality", "now": at("2026-12-11 00:00:00")},
     "window_closed"),
    ("quality-after-no-reason-window", {"reason": "quality", "now": at("2026-11-20 12:00:00")},
     "eligible"),
    ("quality-custom-made", {"reason": "quality", "category": Category.APPAREL,
                             "product": {"custom_made": True}}, "eligible"),
    ("quality-category-not-covered", {"reason": "quality", "category": Category.FRESH},
     "quality_not_covered"),
    # The line and the order.
    ("gift", {"line": {"is_gift": True, "paid_amount": Decimal("0.00")}}, "gift_excluded"),
    ("not-delivered", {"order": NOT_DELIVERED}, "order_not_delivered"),
    ("line-cancelled", {"line": {"status": LineStatus.CANCELLED}}, "line_cancelled"),
    ("line-refunded", {"line": {"status": LineStatus.REFUNDED}}, "line_refunded"),
    ("line-returned", {"line": {"status": LineStatus.RETURNED}}, "line_returned"),
    ("order-cancelled", {"order": {"status": OrderStatus.CANCELLED}}, "already_cancelled"),
    ("order-refunded", {"order": {"status": OrderStatus.REFUNDED}}, "refunded"),
    ("order-not-paid", {"order": {"status": OrderStatus.AWAITING_PAYMENT, "paid_at": None,
                                  "shipped": None, "delivered": None}}, "not_paid"),
]

EXCHANGES: list[tuple[str, dict[str, Any], str]] = [
    ("within-window", {}, "eligible"),
    ("last-second", {"now": at("2027-05-09 23:59:59")}, "eligible"),
    ("one-second-late", {"now": at("2027-05-10 00:00:00")}, "window_closed"),
    ("category-not-covered", {"category": Category.NEWSPAPERS}, "quality_not_covered"),
    ("not-delivered", {"order": NOT_DELIVERED}, "order_not_delivered"),
    ("line-cancelled", {"line": {"status": LineStatus.CANCELLED}}, "line_cancelled"),
    ("line-refunded", {"line": {"status": LineStatus.REFUNDED}}, "line_refunded"),
    ("line-returned", {"line": {"status": LineStatus.RETURNED}}, "line_returned"),
    ("order-cancelled", {"order": {"status": OrderStatus.CANCELLED}}, "already_cancelled"),
    ("order-refunded", {"order": {"status": OrderStatus.REFUNDED}}, "refunded"),
    ("order-not-paid", {"order": {"status": OrderStatus.AWAITING_PAYMENT, "paid_at": None,
                                  "shipped": None, "delivered": None}}, "not_paid"),
]

CANCELS: list[tuple[str, dict[str, Any], str]] = [
    ("awaiting-payment", {"status": OrderStatus.AWAITING_PAYMENT, "paid_at": None,
                          "shipped": None, "delivered": None}, "eligible"),
    ("paid-not-shipped", {"status": OrderStatus.PAID, "shipped": None, "delivered": None},
     "eligible"),
    ("handed-to-carrier", {"status": OrderStatus.PAID, "delivered": None}, "already_shipped"),
    ("shipped", {"status": OrderStatus.SHIPPED, "delivered": None}, "already_shipped"),
    ("delivered", {}, "already_shipped"),
    ("cancelled", {"status": OrderStatus.CANCELLED, "shipped": None, "delivered": None},
     "already_cancelled"),
    ("refunded", {"status": OrderStatus.REFUNDED}, "refunded"),
]


class TestAssessReturn:
    """Each row changes one thing in the reference return."""

    @pytest.mark.parametrize("changes, reason", [pytest.param(*r[1:], id=r[0]) for r in RETURNS])
    def test_scenario(self, changes: dict[str, Any], reason: str) -> None:
        """The decision gives the expected reason and verdict."""
        d = return_of(**changes)
        assert (d.reason, d.allowed) == (reason, reason == "eligible")
        assert d.response == f"utter_return_{reason}"

    def test_every_reason_is_specified(self) -> None:
        """The table reaches every reason the module declares."""
        assert {r[2] for r in RETURNS} == set(RETURN_REASONS)

    @pytest.mark.parametrize("reason, days, deadline", [
        ("no_reason", "7", "2026-11-17 23:59"),
        ("quality", "30", "2026-12-10 23:59"),
    ])
    def test_window_facts(self, reason: str, days: str, deadline: str) -> None:
        """The window's length and last minute are shown in Shanghai time."""
        d = return_of(reason=reason)
        assert (d.facts["days"], d.facts["deadline"], d.facts["return_reason"]) == (
            days, deadline, reason)

    @pytest.mark.parametrize("now", [NOW, at("2026-11-18 00:00:00")])
    def test_decision_due_is_100_minutes_later(self, now: datetime) -> None:
        """Every decision, allowed or not, carries the 100-minute promise."""
        d = return_of(now=now)
        assert d.decision_due == now + timedelta(minutes=100)
        assert d.facts["decision_due"] == (now + timedelta(minutes=100)).strftime("%Y-%m-%d %H:%M")

    def test_deadline_is_the_last_local_second(self) -> None:
        """The typed deadline is 23:59:59 Shanghai time on the seventh day."""
        assert return_of().deadline == at("2026-11-17 23:59:59")

    def test_eligible_amount_is_what_the_line_cost(self) -> None:
        """The amount is before any price-protection deduction."""
        assert return_of().amount == Decimal("4599.00")
        assert return_of(now=at("2026-12-01 00:00:00")).amount is None

    @pytest.mark.parametrize("kwargs", [
        pytest.param({"reason": "changed_my_mind"}, id="unknown-reason"),
        pytest.param({"now": datetime(2026, 11, 12, 10, 0)}, id="naive-now"),
    ])
    def test_invalid(self, kwargs: dict[str, Any]) -> None:
        """Bad input raises InvalidData."""
        with pytest.raises(InvalidData):
            return_of(**kwargs)


class TestLocalDayWindow:
    """Windows count local calendar days from the day after sign-off."""

    @pytest.mark.parametrize("signed, days, last", [
        (at("2026-11-10 15:00:00"), 7, at("2026-11-17 23:59:59")),
        (at("2026-11-10 00:00:00"), 7, at("2026-11-17 23:59:59")),
        (at("2026-11-10 23:59:59"), 7, at("2026-11-17 23:59:59")),
        (at("2026-11-10 16:30:00", UTC), 7, at("2026-11-18 23:59:59")),
        (at("2026-11-10 15:00:00"), 180, at("2027-05-09 23:59:59")),
        (at("2026-12-31 10:00:00"), 7, at("2027-01-07 23:59:59")),
    ])
    def test_window(self, signed: datetime, days: int, last: datetime) -> None:
        """The last second, and the first second after it."""
        assert local_day_window(signed, days, POLICY) == (last, last + timedelta(seconds=1))


class TestAssessExchange:
    """Quality exchange: replace, not repair, within 180 local days."""

    @pytest.mark.parametrize("changes, reason",
                             [pytest.param(*r[1:], id=r[0]) for r in EXCHANGES])
    def test_scenario(self, changes: dict[str, Any], reason: str) -> None:
        """The decision gives the expected reason and verdict."""
        d = exchange_of(**changes)
        assert (d.reason, d.allowed) == (reason, reason == "eligible")
        assert d.response == f"utter_exchange_{reason}"

    def test_every_reason_is_specified(self) -> None:
        """The table reaches every reason the module declares."""
        assert {r[2] for r in EXCHANGES} == set(EXCHANGE_REASONS)

    def test_facts(self) -> None:
        """180 days, ending 2027-05-09 23:59 Shanghai time, decision due in 100 minutes."""
        d = exchange_of()
        assert (d.facts["days"], d.facts["deadline"], d.facts["decision_due"]) == (
            "180", "2027-05-09 23:59", "2026-11-12 11:40")


class TestAssessCancel:
    """An order can be cancelled until it is handed to the carrier."""

    @pytest.mark.parametrize("changes, reason", [pytest.param(*r[1:], id=r[0]) for r in CANCELS])
    def test_scenario(self, changes: dict[str, Any], reason: str) -> None:
        """The decision gives check_cancel's reason."""
        d = assess_cancel(make_order(**changes))
        assert (d.reason, d.allowed) == (reason, reason == "eligible")
        assert d.response == f"utter_cancel_{reason}"
        assert d.facts["order_id"] == "260101000001"

    def test_every_reason_is_specified(self) -> None:
        """The table reaches every reason the module declares."""
        assert {r[2] for r in CANCELS} == set(CANCEL_REASONS)

    def test_after_shipment_suggests_a_return(self) -> None:
        """The already-shipped answer offers a return in both languages."""
        variants = load_responses()["utter_cancel_already_shipped"]
        assert "退货" in variants[0]["text"] and "return" in variants[1]["text"]


@functools.lru_cache(maxsize=1)
def load_responses() -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load(RESPONSES.read_text(encoding="utf-8"))["responses"]


def render(variants: list[dict[str, Any]], language: str, facts: dict[str, str]) -> str:
    """The variant Rasa would pick for ``language``, filled like Rasa does."""
    assert [bool(v.get("condition")) for v in variants] == [True, False]
    assert variants[0]["condition"] == [{"type": "slot", "name": "language", "value": "zh"}]
    text = variants[0 if language == "zh" else 1]["text"]
    missing = set(re.findall(r"{(\w+)}", text)) - facts.keys()
    assert not missing, f"facts missing for the template: {missing}"
    return str(text.format_map(facts))


def _decisions() -> list[Any]:
    rows = [pytest.param(lambda c=c: return_of(**c), id=f"return-{i}") for i, c, _ in RETURNS]
    rows += [pytest.param(lambda c=c: exchange_of(**c), id=f"exchange-{i}")
             for i, c, _ in EXCHANGES]
    rows += [pytest.param(lambda c=c: assess_cancel(make_order(**c)), id=f"cancel-{i}")
             for i, c, _ in CANCELS]
    return rows


class TestResponses:
    """Every decision can be said in zh and in en with its own facts."""

    @pytest.mark.parametrize("topic, reasons", [
        ("return", RETURN_REASONS), ("exchange", EXCHANGE_REASONS), ("cancel", CANCEL_REASONS)])
    def test_one_response_per_reason(self, topic: str, reasons: tuple[str, ...]) -> None:
        """Every declared reason has a response (cancel also has done/kept responses of its own)."""
        names = {n for n in load_responses() if n.startswith(f"utter_{topic}_")}
        expected = {f"utter_{topic}_{r}" for r in reasons}
        assert expected <= names if topic == "cancel" else names == expected

    @pytest.mark.parametrize("language", ["zh", "en"])
    @pytest.mark.parametrize("decide", _decisions())
    def test_renders(self, decide: Any, language: str) -> None:
        """The response fills from the decision's facts, in the asked language."""
        d = decide()
        text = render(load_responses()[d.response], language, dict(d.facts))
        chinese = re.search(r"[\u4e00-\u9fff]", text.replace(d.facts.get("product_zh", ""), ""))
        assert (chinese is not None) == (language == "zh")
