"""Specification of bot.protection: price protection (价格保护), boundary by boundary.

Every scenario starts from one delivered appliance order: bought at ¥2,999.00,
paid 2026-11-08 10:00 and signed for 2026-11-10 15:00 (Asia/Shanghai), with a
promotion at ¥2,750.00 from 2026-11-20. Each row changes one thing.
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

from bot.catalog import Category, PriceKind, PricePoint, Product
from bot.decision import Decision
from bot.errors import InvalidData, NotAllowed
from bot.orders import LineStatus, Order, OrderLine, OrderStatus, Shipment
from bot.policy import Policy
from bot.protection import (
    REASONS,
    ClaimRecord,
    ClaimStatus,
    assess_price_protection,
    open_claim,
    refund_after_protection,
)

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
RESPONSES = Path(__file__).resolve().parents[2] / "domain.yml"
SKU = "SKU-AC-MIDEA-35"


def at(text: str) -> datetime:
    """A Shanghai time, e.g. ``at("2026-11-10 15:00:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


PAID_AT = at("2026-11-08 10:00:00")
SIGNED = at("2026-11-10 15:00:00")
NOW = at("2026-11-25 12:00:00")


def make_policy(**categories: dict[str, Any]) -> Policy:
    """The reference policy; ``categories`` overrides price-protection windows."""
    cats: dict[str, Any] = {
        "appliances": {"days": 30, "from_payment_if_undelivered": True},
        "digital": {"days": 7, "from_payment_if_undelivered": True},
        "books": {"days": 0, "from_payment_if_undelivered": True,
                  "days_from_payment": "until_sign_off"},
    }
    cats.update(categories)
    return Policy.from_mapping({
        "timezone": "Asia/Shanghai",
        "currency": "CNY",
        "decision_due_minutes": 100,
        "price_protection": {
            "auto_approve_limit": "500.00",
            "default": {"days": 30, "from_payment_if_undelivered": True},
            "categories": cats,
        },
        "returns": {
            "no_reason_days": 7,
            "no_reason_excluded": {"custom_made": True, "perishable": True,
                                   "opened_digital_content": True, "categories": ["newspapers"]},
            "quality_return_days": 30,
            "quality_exchange_days": 180,
            "quality_categories": ["appliances", "digital", "mother_baby"],
        },
        "andon": {
            "threshold_customers": 2,
            "window_days": 14,
            "safety_defects": ["fire"],
            "safety_keywords": {"zh": ["起火"], "en": ["fire"]},
            "defect_keywords": {"fire": {"zh": ["起火"], "en": ["fire"]}},
        },
    })


POLICY = make_policy()


def make_product(category: Category = Category.APPLIANCES) -> Product:
    return Product(sku=SKU, name_zh="美的变频空调 1.5匹", name_en="Midea inverter AC 1.5HP",
                   category=category)


def make_line(paid: str = "2999.00", quantity: int = 1, **changes: Any) -> OrderLine:
    line = OrderLine(line_id="L1", sku=SKU, quantity=quantity,
                     unit_list_price=Decimal("2999.00"), paid_amount=Decimal(paid))
    return replace(line, **changes)


def make_order(line: OrderLine, *, delivered: datetime | None = SIGNED,
               status: OrderStatus | None = None, paid_at: datetime | None = PAID_AT) -> Order:
    shipment = Shipment(carrier="SF", tracking_no="SF1", shipped_at=at("2026-11-09 09:00:00"),
                        delivered_at=delivered)
    default_status = OrderStatus.DELIVERED if delivered else OrderStatus.SHIPPED
    return Order(order_id="260101000001", customer_id="C1", status=status or default_status,
                 placed_at=PAID_AT, lines=(line,), address="上海市浦东新区世纪大道 100 号",
                 paid_at=paid_at, shipment=shipment)


def point(when: str, price: str, kind: PriceKind = PriceKind.LIST) -> PricePoint:
    return PricePoint(sku=SKU, effective_at=at(when), price=Decimal(price), kind=kind)


LIST_2999 = point("2026-10-01 00:00:00", "2999.00")
PROMO_2750 = point("2026-11-20 00:00:00", "2750.00", PriceKind.PROMOTION)
HISTORY = (LIST_2999, PROMO_2750)
EARLY_DROP = (LIST_2999, point("2026-11-09 00:00:00", "2750.00", PriceKind.PROMOTION))


def make_claim(claim_id: str = "PP-1", price: str = "2750.00", amount: str = "249.00",
               status: ClaimStatus = ClaimStatus.PAID, line_id: str = "L1") -> ClaimRecord:
    return ClaimRecord(claim_id=claim_id, line_id=line_id, amount=Decimal(amount),
                       price_at_claim=Decimal(price), status=status,
                       created_at=at("2026-11-21 10:00:00"))


def assess(*, category: Category = Category.APPLIANCES, line: OrderLine | None = None,
           delivered: datetime | None = SIGNED, status: OrderStatus | None = None,
           paid_at: datetime | None = PAID_AT, history: tuple[PricePoint, ...] = HISTORY,
           claims: tuple[ClaimRecord, ...] = (), policy: Policy = POLICY,
           now: datetime = NOW) -> Decision:
    """The reference scenario with one thing changed."""
    line = line or make_line()
    order = make_order(line, delivered=delivered, status=status, paid_at=paid_at)
    return assess_price_protection(order, line, make_product(category), history, claims,
                                   policy, now)


# id, scenario changes, reason, allowed, amount
SCENARIOS: list[tuple[str, dict[str, Any], str, bool, str | None]] = [
    ("promotion-drop", {}, "eligible", True, "249.00"),
    # Windows, to the second from sign-off.
    ("appliances-last-second", {"now": SIGNED + timedelta(days=30)}, "eligible", True, "249.00"),
    ("appliances-one-second-late", {"now": SIGNED + timedelta(days=30, seconds=1)},
     "window_closed", False, None),
    ("digital-last-second", {"category": Category.DIGITAL, "history": EARLY_DROP,
                             "now": SIGNED + timedelta(days=7)},
     "eligible", True, "249.00"),
    ("digital-one-second-late", {"category": Category.DIGITAL, "history": EARLY_DROP,
                                 "now": SIGNED + timedelta(days=7, seconds=1)},
     "window_closed", False, None),
    ("default-category-last-second", {"category": Category.MOTHER_BABY,
                                      "now": SIGNED + timedelta(days=30)},
     "eligible", True, "249.00"),
    ("default-category-one-second-late", {"category": Category.MOTHER_BABY,
                                          "now": SIGNED + timedelta(days=30, seconds=1)},
     "window_closed", False, None),
    ("books-at-sign-off", {"category": Category.BOOKS, "now": SIGNED, "history": EARLY_DROP},
     "eligible", True, "249.00"),
    ("books-one-second-after-sign-off", {"category": Category.BOOKS,
                                         "now": SIGNED + timedelta(seconds=1)},
     "window_closed", False, None),
    ("books-undelivered-open-until-sign-off", {"category": Category.BOOKS, "delivered": None,
                                               "now": PAID_AT + timedelta(days=90)},
     "eligible", True, "249.00"),
    # Undelivered: counted from payment where the category allows it.
    ("undelivered-from-payment-last-second", {"delivered": None,
                                              "now": PAID_AT + timedelta(days=30)},
     "eligible", True, "249.00"),
    ("undelivered-from-payment-one-second-late", {"delivered": None,
                                                  "now": PAID_AT + timedelta(days=30, seconds=1)},
     "window_closed", False, None),
    ("undelivered-category-needs-sign-off", {
        "delivered": None,
        "policy": make_policy(appliances={"days": 30, "from_payment_if_undelivered": False})},
     "order_not_delivered", False, None),
    # What today's price is.
    ("flash-sale-now", {"history": (*HISTORY, point("2026-11-25 10:00:00", "1999.00",
                                                     PriceKind.FLASH_SALE))},
     "flash_sale_excluded", False, None),
    ("clearance-now", {"history": (*HISTORY, point("2026-11-25 10:00:00", "1999.00",
                                                    PriceKind.CLEARANCE))},
     "clearance_excluded", False, None),
    ("flash-sale-over-list-again", {"history": (
        LIST_2999, point("2026-11-22 00:00:00", "1999.00", PriceKind.FLASH_SALE),
        point("2026-11-23 00:00:00", "2899.00"))}, "eligible", True, "100.00"),
    ("coupon-only-drop", {"history": (LIST_2999, point("2026-11-20 00:00:00", "2799.00",
                                                        PriceKind.COUPON))},
     "coupon_only", False, None),
    ("payment-discount-drop", {"history": (LIST_2999, point("2026-11-20 00:00:00", "2799.00",
                                                             PriceKind.PAYMENT_DISCOUNT))},
     "coupon_only", False, None),
    ("coupon-over-a-real-drop", {"history": (*HISTORY, point("2026-11-21 00:00:00", "2599.00",
                                                              PriceKind.COUPON))},
     "eligible", True, "249.00"),
    ("same-price", {"history": (LIST_2999,)}, "no_drop", False, None),
    ("price-went-up", {"history": (LIST_2999, point("2026-11-20 00:00:00", "3199.00"))},
     "no_drop", False, None),
    ("drop-after-now-not-counted", {"now": at("2026-11-19 23:59:59")}, "no_drop", False, None),
    # What was actually paid, times the quantity.
    ("paid-less-than-list", {"line": make_line(paid="2899.00")}, "eligible", True, "149.00"),
    ("paid-at-or-below-new-price", {"line": make_line(paid="2700.00")}, "no_drop", False, None),
    ("two-units", {"line": make_line(paid="5998.00", quantity=2)}, "eligible", True, "498.00"),
    # Exclusions of the line and the order.
    ("gift", {"line": make_line(paid="0.00", is_gift=True)}, "gift_excluded", False, None),
    ("bought-in-flash-sale", {"line": make_line(price_kind="flash_sale")},
     "flash_sale_purchase", False, None),
    ("bought-in-clearance", {"line": make_line(price_kind="clearance")},
     "clearance_purchase", False, None),
    ("line-cancelled", {"line": make_line(status=LineStatus.CANCELLED)},
     "line_cancelled", False, None),
    ("line-refunded", {"line": make_line(status=LineStatus.REFUNDED)},
     "line_refunded", False, None),
    ("line-returned", {"line": make_line(status=LineStatus.RETURNED)},
     "line_returned", False, None),
    ("order-cancelled", {"status": OrderStatus.CANCELLED}, "already_cancelled", False, None),
    ("order-refunded", {"status": OrderStatus.REFUNDED}, "refunded", False, None),
    ("order-not-paid", {"status": OrderStatus.AWAITING_PAYMENT, "paid_at": None,
                        "delivered": None}, "not_paid", False, None),
    # Auto-approval limit: 500.00 is approved at once, 500.01 goes to review.
    ("limit-exactly-500.00", {"line": make_line(paid="3250.00")}, "eligible", True, "500.00"),
    ("limit-500.01", {"line": make_line(paid="3250.01")}, "eligible_needs_review", True,
     "500.01"),
    # Idempotency against earlier claims of the line.
    ("same-price-second-claim", {"claims": (make_claim(),)}, "already_claimed", False, None),
    ("higher-price-than-claimed", {"claims": (make_claim(price="2700.00", amount="299.00"),)},
     "already_claimed", False, None),
    ("pending-claim-counts", {"claims": (make_claim(status=ClaimStatus.PENDING_REVIEW),)},
     "already_claimed", False, None),
    ("deeper-drop-pays-only-the-extra", {
        "claims": (make_claim(),),
        "history": (*HISTORY, point("2026-11-24 00:00:00", "2499.00", PriceKind.PROMOTION))},
     "eligible", True, "251.00"),
    ("deeper-drop-after-two-claims", {
        "claims": (make_claim(), make_claim("PP-2", price="2499.00", amount="251.00")),
        "history": (*HISTORY, point("2026-11-24 00:00:00", "2399.00", PriceKind.PROMOTION))},
     "eligible", True, "100.00"),
    ("rejected-claim-ignored", {"claims": (make_claim(status=ClaimStatus.REJECTED),)},
     "eligible", True, "249.00"),
    ("other-lines-claim-ignored", {"claims": (make_claim(line_id="L2"),)},
     "eligible", True, "249.00"),
]


class TestAssessPriceProtection:
    """Each row changes one thing in the reference scenario."""

    @pytest.mark.parametrize("changes, reason, allowed, amount",
                             [pytest.param(*row[1:], id=row[0]) for row in SCENARIOS])
    def test_scenario(self, changes: dict[str, Any], reason: str, allowed: bool,
                      amount: str | None) -> None:
        """The decision gives the expected reason, verdict and amount."""
        d = assess(**changes)
        assert (d.reason, d.allowed) == (reason, allowed)
        assert d.amount == (None if amount is None else Decimal(amount))
        assert d.response == f"utter_price_protection_{reason}"

    def test_every_reason_is_specified(self) -> None:
        """The table reaches every reason the module declares."""
        assert {row[2] for row in SCENARIOS} == set(REASONS)

    def test_eligible_facts_are_formatted(self) -> None:
        """Money reads "2,999.00" and times "2026-12-10 15:00", in Shanghai time."""
        d = assess()
        assert {k: d.facts[k] for k in ("paid", "price", "amount", "total", "claimed",
                                        "deadline", "decision_due", "status", "quantity")} == {
            "paid": "2,999.00", "price": "2,750.00", "amount": "249.00", "total": "249.00",
            "claimed": "0.00", "deadline": "2026-12-10 15:00", "decision_due": "2026-11-25 13:40",
            "status": "approved", "quantity": "1"}
        assert d.deadline == SIGNED + timedelta(days=30)
        assert d.decision_due == NOW + timedelta(minutes=100)
        assert d.price == Decimal("2750.00")

    def test_needs_review_status(self) -> None:
        """Above the limit the claim waits for a person."""
        d = assess(line=make_line(paid="3250.01"))
        assert d.facts["status"] == "pending_review"
        assert d.facts["limit"] == "500.00"

    def test_already_claimed_names_the_claim(self) -> None:
        """The earlier claim at the lowest price is quoted."""
        d = assess(claims=(make_claim("PP-1", price="2800.00", amount="199.00"),
                           make_claim("PP-2", price="2750.00", amount="50.00")))
        assert (d.reason, d.facts["claim_id"], d.facts["claimed"]) == (
            "already_claimed", "PP-2", "249.00")

    def test_deeper_drop_facts(self) -> None:
        """A deeper drop shows the total difference and what was claimed before."""
        d = assess(claims=(make_claim(),), history=(
            *HISTORY, point("2026-11-24 00:00:00", "2499.00", PriceKind.PROMOTION)))
        assert (d.facts["total"], d.facts["claimed"], d.facts["amount"]) == (
            "500.00", "249.00", "251.00")

    def test_coupon_only_facts(self) -> None:
        """The coupon price and the unchanged item price are both shown."""
        d = assess(history=(LIST_2999, point("2026-11-20 00:00:00", "2799.00", PriceKind.COUPON)))
        assert (d.facts["offer_price"], d.facts["price"]) == ("2,799.00", "2,999.00")

    def test_window_closed_deadline(self) -> None:
        """The closed window's end is shown to the minute."""
        d = assess(now=SIGNED + timedelta(days=31))
        assert d.facts["deadline"] == "2026-12-10 15:00"

    def test_utc_inputs_give_the_same_decision(self) -> None:
        """Only the instant matters, not the zone it is written in."""
        d = assess(now=(SIGNED + timedelta(days=30)).astimezone(UTC))
        assert d.reason == "eligible"
        assert d.facts["decision_due"] == "2026-12-10 16:40"

    @pytest.mark.parametrize("kwargs", [
        pytest.param({"now": datetime(2026, 11, 25, 12, 0)}, id="naive-now"),
        pytest.param({"history": ()}, id="no-price"),
    ])
    def test_invalid(self, kwargs: dict[str, Any]) -> None:
        """Bad input raises InvalidData rather than guessing."""
        with pytest.raises(InvalidData):
            assess(**kwargs)

    def test_wrong_product(self) -> None:
        """The product must be the line's SKU."""
        line = make_line()
        other = replace(make_product(), sku="SKU-OTHER")
        with pytest.raises(InvalidData):
            assess_price_protection(make_order(line), line, other, HISTORY, (), POLICY, NOW)

    def test_line_of_another_order(self) -> None:
        """The line must belong to the order."""
        order = make_order(make_line())
        stranger = make_line(line_id="L9")
        with pytest.raises(InvalidData):
            assess_price_protection(order, stranger, make_product(), HISTORY, (), POLICY, NOW)


class TestOpenClaim:
    """An allowed decision becomes a stored claim and gets its claim id."""

    @pytest.mark.parametrize("paid, status", [
        ("2999.00", ClaimStatus.APPROVED),
        ("3250.01", ClaimStatus.PENDING_REVIEW),
    ])
    def test_claim(self, paid: str, status: ClaimStatus) -> None:
        """The claim records amount, price and approval status."""
        d = assess(line=make_line(paid=paid))
        claim, said = open_claim(d, "PP-9", NOW)
        assert claim == ClaimRecord("PP-9", "L1", d.amount, Decimal("2750.00"), status, NOW)
        assert said.facts["claim_id"] == "PP-9"

    def test_claim_then_same_price_again(self) -> None:
        """Asking twice at the same price gives already_claimed the second time."""
        claim, _ = open_claim(assess(), "PP-9", NOW)
        again = assess(claims=(claim,), now=NOW + timedelta(hours=1))
        assert (again.reason, again.facts["claim_id"]) == ("already_claimed", "PP-9")

    def test_refused_decision(self) -> None:
        """A refusal cannot be turned into a claim."""
        with pytest.raises(NotAllowed) as err:
            open_claim(assess(history=(LIST_2999,)), "PP-9", NOW)
        assert err.value.reason == "no_drop"

    def test_json_round_trip(self) -> None:
        """Claims survive the wire format unchanged."""
        claim = make_claim()
        assert ClaimRecord.from_json(claim.to_json()) == claim

    def test_json_naive_time_refused(self) -> None:
        """A stored claim without a time zone is invalid."""
        data = make_claim().to_json() | {"created_at": "2026-11-21T10:00:00"}
        with pytest.raises(InvalidData):
            ClaimRecord.from_json(data)


class TestRefundAfterProtection:
    """Protection already paid is deducted from a later refund, never below zero."""

    @pytest.mark.parametrize("claims, refund, expected", [
        pytest.param((), "2999.00", "2999.00", id="no-claims"),
        pytest.param((make_claim(),), "2999.00", "2750.00", id="paid-claim-deducted"),
        pytest.param((make_claim(status=ClaimStatus.APPROVED),), "2999.00", "2750.00",
                     id="approved-claim-deducted"),
        pytest.param((make_claim(), make_claim("PP-2", amount="251.00")), "2999.00", "2499.00",
                     id="two-claims"),
        pytest.param((make_claim(status=ClaimStatus.PENDING_REVIEW),), "2999.00", "2999.00",
                     id="pending-not-deducted"),
        pytest.param((make_claim(status=ClaimStatus.REJECTED),), "2999.00", "2999.00",
                     id="rejected-not-deducted"),
        pytest.param((make_claim(line_id="L2"),), "2999.00", "2999.00", id="other-line"),
        pytest.param((make_claim(),), "100.00", "0.00", id="never-below-zero"),
    ])
    def test_refund(self, claims: tuple[ClaimRecord, ...], refund: str, expected: str) -> None:
        """The refund is what is left after protection."""
        assert refund_after_protection(make_line(), claims, Decimal(refund)) == Decimal(expected)


@functools.lru_cache(maxsize=1)
def load_responses() -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load(RESPONSES.read_text(encoding="utf-8"))["responses"]


def render(variants: list[dict[str, Any]], language: str, facts: dict[str, str]) -> str:
    """The variant Rasa would pick for ``language``, filled like Rasa does."""
    zh = [v for v in variants if v.get("condition")]
    default = [v for v in variants if not v.get("condition")]
    text = (zh if language == "zh" else default)[0]["text"]
    missing = set(re.findall(r"{(\w+)}", text)) - facts.keys()
    assert not missing, f"facts missing for the template: {missing}"
    return str(text.format_map(facts))


class TestResponses:
    """Every decision can be said in zh and in en with its own facts."""

    def test_one_response_per_reason(self) -> None:
        """The responses of this topic are exactly the declared reasons."""
        names = {n for n in load_responses() if n.startswith("utter_price_protection_")}
        assert names == {f"utter_price_protection_{r}" for r in REASONS}

    @pytest.mark.parametrize("language, marker", [("zh", "¥"), ("en", "¥")])
    @pytest.mark.parametrize("changes", [pytest.param(row[1], id=row[0]) for row in SCENARIOS])
    def test_renders(self, changes: dict[str, Any], language: str, marker: str) -> None:
        """The response fills from the decision's facts (plus the claim id once stored)."""
        d = assess(**changes)
        if d.allowed:
            _, d = open_claim(d, "PP-9", NOW)
        variants = load_responses()[d.response]
        assert [bool(v.get("condition")) for v in variants] == [True, False]
        assert variants[0]["condition"] == [{"type": "slot", "name": "language", "value": "zh"}]
        text = render(variants, language, dict(d.facts))
        assert "{" not in text
        is_zh = re.search(r"[\u4e00-\u9fff]", text.replace(d.facts["product_zh"], "")) is not None
        assert is_zh == (language == "zh")
