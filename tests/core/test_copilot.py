"""Specification of bot.copilot: the resolution and replies an agent is offered.

The scenarios use the demo shop at NOW (2026-11-23 14:00 Shanghai time) and the
real policy.yml: Emily (C002) bought a Midea AC at ¥2,750.00 that is now
¥2,499.00; 李强 (C003) signed for a Xiaomi 14 six days ago.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.andon import Complaint
from bot.catalog import Product
from bot.copilot import (
    KINDS,
    REPLY_PLANS,
    REPLY_TYPES,
    TEMPLATES_FILE,
    TEXT_KEYS,
    Resolution,
    SuggestionEvent,
    acceptance,
    load_templates,
    render_resolution,
    resolution_json,
    send_outcome,
    suggest_for_orders,
    suggest_resolution,
    suggested_replies,
)
from bot.display import order_facts
from bot.errors import InvalidData
from bot.orders import Order
from bot.policy import load_policy
from bot.protection import ClaimRecord, ClaimStatus
from bot.store.seed import Demo, build_demo
from tests.conftest import NOW

TZ = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(Path(__file__).resolve().parents[2] / "policy.yml")
DEMO = build_demo(NOW)
PRODUCTS = {p.sku: p for p in DEMO.products}
TEMPLATES = load_templates()


def order_with(demo: Demo, customer_id: str, sku: str) -> Order:
    """The customer's order that has a line of ``sku``."""
    return next(o for o in demo.orders if o.customer_id == customer_id and any(ln.sku == sku for ln in o.lines))


def suggest(customer_id: str, sku: str, claims: tuple[ClaimRecord, ...] = (),
            complaints: tuple[Complaint, ...] = (), defect: str | None = None) -> Resolution | None:
    """The copilot's suggestion for the line of ``sku`` in the customer's order."""
    order = order_with(DEMO, customer_id, sku)
    line = next(ln for ln in order.lines if ln.sku == sku)
    return suggest_resolution(order, line, PRODUCTS[sku], DEMO.prices, claims, complaints, POLICY, NOW,
                              defect=defect)


def complaint(cid: str, customer_id: str, sku: str, defect: str, days_ago: float = 1) -> Complaint:
    return Complaint(complaint_id=cid, customer_id=customer_id, sku=sku, defect=defect,
                     text=f"{defect} problem", created_at=NOW - timedelta(days=days_ago))


AC, XIAOMI, IPHONE, CRAB = "SKU-AC-MIDEA-35", "SKU-XIAOMI14-256", "SKU-IPHONE15-128", "SKU-CRAB-YCL"


class TestSeededShop:
    """The demo customers the console is shown with."""

    @pytest.mark.parametrize("language, text", [
        ("zh", "符合价格保护：退还 ¥251.00 至原支付方式"),
        ("en", "Eligible for price protection: refund ¥251.00 to the original payment method"),
    ])
    def test_c002_ac_claim(self, language: str, text: str) -> None:
        """Emily's AC dropped ¥251.00 within its window: approve the claim."""
        r = suggest("C002", AC)
        assert r is not None
        assert (r.kind, r.text_key, r.amount) == ("approve_claim", "approve_claim", Decimal("251.00"))
        assert r.decision is not None and r.decision.reason == "eligible"
        assert render_resolution(r, language, TEMPLATES).startswith(text)

    @pytest.mark.parametrize("language, text", [
        ("zh", "7天无理由退货有效期至 2026-11-24 23:59"),
        ("en", "7-day return eligible until 2026-11-24 23:59"),
    ])
    def test_c003_xiaomi_return(self, language: str, text: str) -> None:
        """The Xiaomi is on clearance (no price protection) but inside its 7-day return."""
        r = suggest("C003", XIAOMI)
        assert r is not None
        assert (r.kind, r.text_key) == ("create_return", "create_return")
        assert r.deadline == datetime(2026, 11, 24, 23, 59, 59, tzinfo=TZ)
        assert render_resolution(r, language, TEMPLATES).startswith(text)

    @pytest.mark.parametrize("customer_id, language, text", [
        ("C004", "zh", "符合价格保护，金额 ¥600.00 超过自动审批额度 ¥500.00"),
        ("C009", "en", "Eligible for price protection: ¥600.00 is above the ¥500.00 auto-approval limit"),
    ])
    def test_claim_above_limit_is_for_review(self, customer_id: str, language: str, text: str) -> None:
        """A ¥600.00 claim is approved by the agent as its reviewer."""
        r = suggest(customer_id, IPHONE)
        assert r is not None
        assert (r.kind, r.text_key, r.amount) == ("approve_claim", "approve_claim_review", Decimal("600.00"))
        assert render_resolution(r, language, TEMPLATES).startswith(text)

    def test_already_claimed(self) -> None:
        """Once the ¥251.00 is claimed, nothing is left to offer on the AC (return window closed)."""
        order = order_with(DEMO, "C002", AC)
        claim = ClaimRecord("PP1", order.lines[0].line_id, Decimal("251.00"), Decimal("2499.00"),
                            ClaimStatus.APPROVED, NOW - timedelta(hours=1))
        assert suggest("C002", AC, claims=(claim,)) is None


class TestDefects:
    """A reported defect asks for a quality remedy first; Andon confirms it when others saw it too."""

    def test_quality_return_first(self) -> None:
        """The AC is noisy: a quality return (30 days) rather than the price refund."""
        r = suggest("C002", AC, complaints=(complaint("c1", "C002", AC, "noise"),))
        assert r is not None
        assert (r.kind, r.text_key) == ("create_return", "create_return_quality")
        assert render_resolution(r, "en", TEMPLATES).startswith("Quality return eligible until 2026-12-01 23:59")

    def test_exchange_after_return_window(self) -> None:
        """Michael's AC was signed for 40 days ago: exchange (180 days) is still open."""
        r = suggest("C009", AC, defect="leak")
        assert r is not None
        assert (r.kind, r.text_key) == ("create_exchange", "create_exchange")
        assert render_resolution(r, "zh", TEMPLATES).startswith("质量问题换货有效期至")

    @pytest.mark.parametrize("language, text", [
        ("zh", "近 14 天内另有 2 位顾客反馈同款商品「破损」问题，可确认为商品缺陷"),
        ("en", "Other customers reported the same problem (damaged) with this product: 2 in the last 14 days"),
    ])
    def test_confirm_defect(self, language: str, text: str) -> None:
        """Crabs are neither returnable nor exchangeable; two other shoppers reported the same damage."""
        complaints = (
            complaint("own", "C006", CRAB, "damaged"),
            complaint("o1", "C101", CRAB, "damaged", days_ago=2),
            complaint("o2", "C101", CRAB, "damaged", days_ago=1),  # same customer counts once
            complaint("o3", "C102", CRAB, "Damaged", days_ago=14),  # exactly 14 days counts
            complaint("o4", "C103", CRAB, "damaged", days_ago=14 + 1 / 86400),  # a second too old
            complaint("o5", "C104", CRAB, "leak"),  # another defect
            complaint("o6", "C105", "SKU-OTHER", "damaged"),  # another SKU
        )
        r = suggest("C006", CRAB, complaints=complaints)
        assert r is not None
        assert (r.kind, r.count, r.decision) == ("confirm_defect", 2, None)
        assert render_resolution(r, language, TEMPLATES).startswith(text)
        shared = " ".join([*r.facts.values(), *(s.text for s in suggested_replies(
            language, r, order_facts(order_with(DEMO, "C006", CRAB), PRODUCTS, language), TEMPLATES))])
        assert not re.search(r"C10\d|o\d", shared)

    def test_no_other_reports(self) -> None:
        """Only the shopper's own report: nothing to confirm, and the crabs did not drop in price."""
        assert suggest("C006", CRAB, complaints=(complaint("own", "C006", CRAB, "damaged"),)) is None

    def test_conversation_defect(self) -> None:
        """A defect named in the conversation counts like a stored complaint."""
        r = suggest("C006", CRAB, complaints=(complaint("o1", "C101", CRAB, "damaged"),), defect="damaged")
        assert r is not None and (r.kind, r.count) == ("confirm_defect", 1)


class TestSuggestForOrders:
    """Preferred orders first, then the newest."""

    def orders(self, customer_id: str) -> list[Order]:
        return [o for o in DEMO.orders if o.customer_id == customer_id]

    def test_newest_with_a_resolution(self) -> None:
        """Emily's AirPods (newer) have nothing; her AC has the claim."""
        r = suggest_for_orders(self.orders("C002"), PRODUCTS, DEMO.prices, (), (), POLICY, NOW)
        assert r is not None and r.order_id == order_with(DEMO, "C002", AC).order_id

    def test_preferred_order_first(self) -> None:
        """李强's order under discussion is looked at first even when it offers nothing."""
        unpaid = order_with(DEMO, "C003", "SKU-SKII-230").order_id
        r = suggest_for_orders(self.orders("C003"), PRODUCTS, DEMO.prices, (), (), POLICY, NOW, prefer=[unpaid])
        assert r is not None and r.kind == "create_return"

    def test_defect_only_on_preferred(self) -> None:
        """A noise named in the conversation about the AC does not make the AirPods faulty."""
        ac = order_with(DEMO, "C002", AC).order_id
        r = suggest_for_orders(self.orders("C002"), PRODUCTS, DEMO.prices, (), (), POLICY, NOW,
                               prefer=[ac], defect="noise")
        assert r is not None and (r.order_id, r.text_key) == (ac, "create_return_quality")

    def test_no_orders(self) -> None:
        """赵敏 has no orders."""
        assert suggest_for_orders(self.orders("C010"), PRODUCTS, DEMO.prices, (), (), POLICY, NOW) is None


def _resolutions() -> list[tuple[str, Resolution]]:
    crab = (complaint("own", "C006", CRAB, "damaged"), complaint("o1", "C101", CRAB, "damaged"))
    found = [("C002", suggest("C002", AC)), ("C003", suggest("C003", XIAOMI)), ("C004", suggest("C004", IPHONE)),
             ("C009", suggest("C009", AC, defect="leak")), ("C002", suggest("C002", AC, defect="noise")),
             ("C006", suggest("C006", CRAB, complaints=crab))]
    return [(c, r) for c, r in found if r is not None]


RESOLUTIONS = _resolutions()


class TestReplies:
    """Two or three replies in the shopper's language, with the real facts and no template holes."""

    def test_every_kind_is_covered(self) -> None:
        """The scenarios below reach every kind of resolution."""
        assert {r.kind for _, r in RESOLUTIONS} == set(KINDS)

    @pytest.mark.parametrize("language", ["zh", "en"])
    @pytest.mark.parametrize("customer_id, resolution", RESOLUTIONS, ids=[r.text_key for _, r in RESOLUTIONS])
    def test_filled(self, language: str, customer_id: str, resolution: Resolution) -> None:
        """Every reply is complete and names the order's facts."""
        order = next(o for o in DEMO.orders if o.order_id == resolution.order_id)
        assert order.customer_id == customer_id
        replies = suggested_replies(language, resolution, order_facts(order, PRODUCTS, language), TEMPLATES)
        assert 2 <= len(replies) <= 3
        assert len({r.suggestion_id for r in replies}) == len(replies)
        plan = [t for t, _ in REPLY_PLANS[resolution.kind]]
        assert replies[0].suggestion_type == plan[0]
        assert {r.suggestion_type for r in replies} <= set(plan)
        for reply in replies:
            assert "{" not in reply.text and "}" not in reply.text
            assert reply.language == language
        main = " ".join(r.text for r in replies if r.suggestion_type == plan[0])
        product = PRODUCTS[next(ln.sku for ln in order.lines if ln.line_id == resolution.line_id)]
        assert product.name(language) in main
        if resolution.amount is not None and resolution.kind == "approve_claim":
            assert f"¥{resolution.facts['amount']}" in main
        if resolution.kind in ("create_return", "create_exchange"):
            assert resolution.facts["deadline"] in main

    @pytest.mark.parametrize("language, status_text", [("zh", "已签收"), ("en", "delivered")])
    def test_status_without_resolution(self, language: str, status_text: str) -> None:
        """No resolution: status replies about the order and an apology."""
        order = order_with(DEMO, "C001", "SKU-BOOK-TOLIVE")
        replies = suggested_replies(language, None, order_facts(order, PRODUCTS, language), TEMPLATES)
        assert [r.suggestion_type for r in replies] == ["status", "status", "apology"]
        assert status_text in replies[0].text and order.order_id in replies[0].text

    @pytest.mark.parametrize("language", ["zh", "en"])
    def test_nothing_known(self, language: str) -> None:
        """No order at all still gives two replies without holes."""
        replies = suggested_replies(language, None, {}, TEMPLATES)
        assert [r.suggestion_type for r in replies] == ["status", "apology"]
        assert all("{" not in r.text for r in replies)

    def test_shopper_language(self) -> None:
        """Chinese replies for a Chinese shopper, English for an English one."""
        r = suggest("C002", AC)
        assert r is not None
        zh = suggested_replies("zh", r, {}, TEMPLATES)
        en = suggested_replies("en", r, {}, TEMPLATES)
        assert "美的变频空调" in zh[0].text and "Midea" in en[0].text
        assert [x.suggestion_id for x in zh] == [x.suggestion_id for x in en] == ["claim-0", "claim-1", "apology-0"]

    def test_unknown_language(self) -> None:
        """Only zh and en."""
        with pytest.raises(InvalidData):
            suggested_replies("fr", None, {}, TEMPLATES)

    @pytest.mark.parametrize("language, label", [("zh", "批准保价"), ("en", "Approve claim")])
    def test_resolution_json(self, language: str, label: str) -> None:
        """What the console's copilot panel receives."""
        r = suggest("C002", AC)
        assert r is not None
        data = resolution_json(r, language, TEMPLATES)
        assert (data["kind"], data["action_label"], data["order_id"]) == ("approve_claim", label, r.order_id)
        assert data["line_id"] == r.line_id and "251.00" in data["text"]
        assert r.to_json()["amount"] == "251.00"


class TestTemplates:
    """The texts file has every key in both languages and only known facts."""

    def test_complete(self) -> None:
        """Every text key, action and reply type is there in zh and en."""
        assert set(TEMPLATES.resolutions) == set(TEXT_KEYS)
        assert set(TEMPLATES.actions) == set(KINDS)
        assert set(TEMPLATES.replies) == set(REPLY_TYPES)
        for table in (TEMPLATES.resolutions, TEMPLATES.actions, TEMPLATES.statuses, TEMPLATES.defects):
            for entry in table.values():
                assert set(entry) == {"zh", "en"}
        for variants in TEMPLATES.replies.values():
            assert set(variants) == {"zh", "en"}

    @pytest.mark.parametrize("path, value, what", [
        (("resolutions", "approve_claim", "en"), None, "resolutions.approve_claim.en"),
        (("resolutions", "approve_claim", "zh"), "退还 ¥{money}", "resolutions.approve_claim.zh"),
        (("replies", "claim", "en"), [], "replies.claim.en"),
        (("replies", "defect", "zh"), ["另有 {count} 位顾客反馈"], "replies.defect.zh"),
        (("replies", "apology", "en"), ["Sorry about {product}"], "replies.apology.en"),
        (("actions", "confirm_defect", "zh"), "", "actions.confirm_defect.zh"),
    ])
    def test_broken(self, tmp_path: Path, path: tuple[str, str, str], value: object, what: str) -> None:
        """A missing text, an unknown fact or a count in a shopper's reply names the entry at fault."""
        data = yaml.safe_load(TEMPLATES_FILE.read_text("utf-8"))
        data[path[0]][path[1]][path[2]] = value
        broken = tmp_path / "copilot_text.yml"
        broken.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
        with pytest.raises(InvalidData) as caught:
            load_templates(broken)
        assert caught.value.what == what


def event(ticket: str, suggestion: str, outcome: str, minutes: int = 0) -> SuggestionEvent:
    """An event for ``suggestion`` ("claim-0"), ``minutes`` after NOW."""
    kind = suggestion.partition("-")[0]
    return SuggestionEvent(ticket, suggestion, kind, outcome, NOW + timedelta(minutes=minutes))


class TestAcceptance:
    """How often each type of suggested reply is used."""

    def test_rates(self) -> None:
        """Each suggestion of a ticket counts once; sent unchanged beats edited beats ignored."""
        events = [
            event("T1", "claim-0", "shown"), event("T1", "claim-0", "shown", 1), event("T1", "claim-0", "accepted", 2),
            event("T2", "claim-0", "shown"), event("T2", "claim-0", "ignored", 5),
            event("T3", "claim-1", "shown"), event("T3", "claim-1", "edited", 1),
            event("T3", "claim-1", "accepted", 2),
            event("T4", "return-0", "shown"), event("T4", "return-0", "edited", 1),
            event("T4", "apology-0", "shown"),
        ]
        table = acceptance(events)
        assert table["claim"] == {"shown": 3, "accepted": 2, "edited": 0, "ignored": 1, "rate": 0.667}
        assert table["return"] == {"shown": 1, "accepted": 0, "edited": 1, "ignored": 0, "rate": 1.0}
        assert table["apology"] == {"shown": 1, "accepted": 0, "edited": 0, "ignored": 1, "rate": 0.0}
        assert table["defect"] == {"shown": 0, "accepted": 0, "edited": 0, "ignored": 0, "rate": 0.0}
        assert set(table) == set(REPLY_TYPES)

    def test_no_events(self) -> None:
        """Nothing shown yet: zero everywhere."""
        assert all(row["rate"] == 0.0 and row["shown"] == 0 for row in acceptance([]).values())

    @pytest.mark.parametrize("suggested, sent, outcome", [
        ("亲，保价已为您办理好了", "亲，保价已为您办理好了", "accepted"),
        ("亲，保价已为您办理好了", "  亲，保价已为您办理好了 \n", "accepted"),
        ("亲，保价已为您办理好了", "亲，保价已为您办理好了，请查收", "edited"),
        ("Your claim is approved.", "Your claim is  approved.", "accepted"),
        ("Your claim is approved.", "Good news: your claim is approved.", "edited"),
    ])
    def test_send_outcome(self, suggested: str, sent: str, outcome: str) -> None:
        """Only white space may differ for a reply to count as sent unchanged."""
        assert send_outcome(suggested, sent) == outcome

    def test_event_json_round_trip(self) -> None:
        """Events are stored as JSON."""
        e = event("T1", "claim-0", "accepted")
        assert SuggestionEvent.from_json(e.to_json()) == e

    @pytest.mark.parametrize("outcome, suggestion_type", [("liked", "claim"), ("shown", "joke")])
    def test_invalid_event(self, outcome: str, suggestion_type: str) -> None:
        """Unknown outcomes and types are refused."""
        with pytest.raises(InvalidData):
            SuggestionEvent("T1", "x-0", suggestion_type, outcome, NOW)


def test_products_are_demo_products() -> None:
    """The scenarios rely on these SKUs being in the demo catalogue."""
    assert all(isinstance(PRODUCTS[s], Product) for s in (AC, XIAOMI, IPHONE, CRAB))
