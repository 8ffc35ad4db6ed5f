"""After-sales records on real databases: idempotent claims, returns net of protection, Andon."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bot.errors import OrderNotFound
from bot.orders import OrderStatus
from bot.store import schema as t
from bot.store.aftersales import SqlAfterSales
from bot.store.shop import SqlShop
from tests.conftest import NOW


def line_of(shop: SqlShop, customer: str, sku: str) -> str:
    return next(ln.line_id for o in shop.orders_of(customer) for ln in o.lines if ln.sku == sku)


class TestPriceProtectionClaims:
    def test_the_seeded_ac_drop_files_an_approved_claim_of_251(self, aftersales: SqlAfterSales,
                                                                seeded: SqlShop) -> None:
        d = aftersales.claim_price_protection("C002", line_of(seeded, "C002", "SKU-AC-MIDEA-35"), NOW)
        assert (d.reason, d.amount, d.facts["paid"], d.facts["price"]) == (
            "eligible", Decimal("251.00"), "2,750.00", "2,499.00")
        assert d.facts["claim_id"].startswith("PP-")
        [stored] = aftersales.claims_of("C002")
        assert stored.claim.amount == Decimal("251.00") and stored.claim.status.value == "approved"
        assert stored.decision_due == NOW + timedelta(minutes=100)

    def test_a_second_claim_answers_with_the_first(self, aftersales: SqlAfterSales, seeded: SqlShop) -> None:
        line = line_of(seeded, "C002", "SKU-AC-MIDEA-35")
        first = aftersales.claim_price_protection("C002", line, NOW)
        again = aftersales.claim_price_protection("C002", line, NOW + timedelta(hours=1))
        assert again.reason == "already_claimed" and again.facts["claim_id"] == first.facts["claim_id"]
        assert len(aftersales.claims_of("C002")) == 1

    def test_fifty_concurrent_identical_claims_pay_once(self, aftersales: SqlAfterSales, seeded: SqlShop,
                                                        engine: sa.engine.Engine) -> None:
        line = line_of(seeded, "C002", "SKU-AC-MIDEA-35")
        with ThreadPoolExecutor(max_workers=50) as pool:
            decisions = list(pool.map(lambda _: aftersales.claim_price_protection("C002", line, NOW), range(50)))
        assert sorted(d.reason for d in decisions).count("eligible") == 1
        assert {d.reason for d in decisions} == {"eligible", "already_claimed"}
        with engine.connect() as c:
            paid = c.execute(sa.select(sa.func.count(), sa.func.sum(t.claims.c.amount))
                             .where(t.claims.c.line_id == line)).one()
        assert paid[0] == 1 and Decimal(paid[1]) == Decimal("251.00")

    def test_above_the_auto_approval_limit_waits_for_review(self, aftersales: SqlAfterSales,
                                                            seeded: SqlShop) -> None:
        d = aftersales.claim_price_protection("C009", line_of(seeded, "C009", "SKU-IPHONE15-128"), NOW)
        assert d.reason == "eligible_needs_review" and d.amount == Decimal("600.00")
        [stored] = aftersales.claims_of("C009")
        assert stored.claim.status.value == "pending_review"
        decided = aftersales.decide_claim(stored.claim.claim_id, True, "agent-li", NOW)
        assert decided.status.value == "approved"

    @pytest.mark.parametrize(("customer", "sku", "reason"), [
        ("C002", "SKU-AIRPODS-PRO2", "window_closed"),      # digital: 7 days from sign-off
        ("C007", "SKU-DRYER-DYSON-HD15", "coupon_only"),     # coupon only
        ("C007", "SKU-FRIDGE-HAIER-470", "flash_sale_purchase"),
        ("C007", "SKU-DIAPER-PAMPERS-L", "gift_excluded"),
        ("C005", "SKU-MATE60-512", "already_cancelled"),
    ])
    def test_refusals_write_nothing(self, aftersales: SqlAfterSales, seeded: SqlShop, customer: str, sku: str,
                                    reason: str) -> None:
        d = aftersales.claim_price_protection(customer, line_of(seeded, customer, sku), NOW)
        assert (d.allowed, d.reason) == (False, reason)
        assert aftersales.claims_of(customer) == []

    def test_someone_elses_line_is_not_found(self, aftersales: SqlAfterSales, seeded: SqlShop) -> None:
        with pytest.raises(OrderNotFound):
            aftersales.claim_price_protection("C001", line_of(seeded, "C002", "SKU-AC-MIDEA-35"), NOW)
        with pytest.raises(OrderNotFound):
            aftersales.claim_price_protection("C001", "no-such-line", NOW)


class TestReturns:
    def test_a_return_after_protection_refunds_the_rest(self, aftersales: SqlAfterSales, seeded: SqlShop) -> None:
        line = line_of(seeded, "C008", "SKU-FORMULA-FEIHE-3")
        claim = aftersales.claim_price_protection("C008", line, NOW)
        assert claim.amount == Decimal("90.00")
        decision, request = aftersales.request_return("C008", line, "quality", False, NOW)
        assert decision.allowed and request is not None
        assert request.refund_amount == Decimal("987.00") - Decimal("90.00")
        _, same = aftersales.request_return("C008", line, "quality", False, NOW)
        assert same is not None and same.request_id == request.request_id

    def test_perishables_have_no_no_reason_return(self, aftersales: SqlAfterSales, seeded: SqlShop) -> None:
        decision, request = aftersales.request_return("C006", line_of(seeded, "C006", "SKU-CRAB-YCL"),
                                                      "no_reason", False, NOW)
        assert (decision.reason, request) == ("perishable_excluded", None)

    def test_exchange_within_180_days(self, aftersales: SqlAfterSales, seeded: SqlShop) -> None:
        decision, request = aftersales.request_exchange("C009", line_of(seeded, "C009", "SKU-AC-MIDEA-35"), NOW)
        assert decision.allowed and request is not None and request.request_id.startswith("EX-")


class TestAndon:
    def test_two_customers_same_defect_pull_the_sku_and_reinstatement_is_audited(
            self, aftersales: SqlAfterSales, seeded: SqlShop) -> None:
        sku = "SKU-AC-MIDEA-35"
        _, first = aftersales.complain("C002", None, sku, "空调噪音很大", [], NOW)
        _, again = aftersales.complain("C002", None, sku, "still very noisy", [], NOW + timedelta(hours=1))
        assert not first.pull and not again.pull and seeded.product(sku).on_sale
        _, third = aftersales.complain("C009", None, sku, "the AC is really noisy",
                                       [{"entity": "defect", "value": "noise"}], NOW + timedelta(hours=2))
        assert third.pull and third.reason == "repeated_defect" and not seeded.product(sku).on_sale
        aftersales.reinstate(sku, "qa-li", "batch passed inspection", NOW + timedelta(days=1))
        assert seeded.product(sku).on_sale
        assert [e["action"] for e in aftersales.andon_events(sku)] == ["pulled", "reinstated"]
        assert len(aftersales.andon_events(sku)[0]["complaint_ids"]) == 3

    @pytest.mark.parametrize("text", ["充电的时候冒烟了", "it caught fire while charging"])
    def test_a_safety_complaint_pulls_at_once(self, aftersales: SqlAfterSales, seeded: SqlShop, text: str) -> None:
        _, decision = aftersales.complain("C001", None, "SKU-FRIDGE-HAIER-470", text, [], NOW)
        assert decision.pull and decision.reason == "safety"
        assert not seeded.product("SKU-FRIDGE-HAIER-470").on_sale


def test_order_status_is_untouched_by_claims(aftersales: SqlAfterSales, seeded: SqlShop) -> None:
    aftersales.claim_price_protection("C002", line_of(seeded, "C002", "SKU-AC-MIDEA-35"), NOW)
    assert all(o.status == OrderStatus.DELIVERED for o in seeded.orders_of("C002"))
