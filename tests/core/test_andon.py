"""Specification of bot.andon: when shoppers' complaints take a SKU off sale."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.andon import (
    REASONS,
    AndonDecision,
    Complaint,
    Reinstatement,
    assess_andon,
    classify_defect,
    is_safety,
    pull,
    reinstate,
)
from bot.catalog import Category, Product
from bot.errors import InvalidData, NotAllowed
from bot.policy import Policy

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=TZ)
SKU = "SKU-FRIDGE-HAIER-470"

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
                               "opened_digital_content": True, "categories": ["newspapers"]},
        "quality_return_days": 30,
        "quality_exchange_days": 180,
        "quality_categories": ["appliances"],
    },
    "andon": {
        "threshold_customers": 2,
        "window_days": 14,
        "safety_defects": ["fire", "smoke", "shock"],
        "safety_keywords": {
            "zh": ["起火", "着火", "冒烟", "漏电", "触电", "爆炸", "电火花", "烧焦"],
            "en": ["fire", "smoke", "electric shock", "sparks", "burning smell", "explode"],
        },
        "defect_keywords": {
            "fire": {"zh": ["起火", "着火", "爆炸", "电火花", "烧焦"],
                     "en": ["fire", "explode", "sparks", "burning smell"]},
            "smoke": {"zh": ["冒烟"], "en": ["smoke", "smoking"]},
            "shock": {"zh": ["漏电", "触电"], "en": ["electric shock", "shocked"]},
            "no_power": {"zh": ["不通电", "开不了机"], "en": ["won't turn on", "no power"]},
            "not_cooling": {"zh": ["不制冷"], "en": ["not cooling"]},
            "leak": {"zh": ["漏水"], "en": ["leaking", "leaks"]},
            "noise": {"zh": ["噪音", "异响"], "en": ["noisy", "noise"]},
        },
    },
})


def complaint(cid: str, customer: str, defect: str = "noise", *, days_ago: float = 0,
              sku: str = SKU, text: str = "") -> Complaint:
    """A complaint made ``days_ago`` before NOW."""
    return Complaint(complaint_id=cid, customer_id=customer, sku=sku, defect=defect,
                     text=text or f"{defect} problem", created_at=NOW - timedelta(days=days_ago))


def defect_entity(value: str, entity: str = "defect") -> dict[str, Any]:
    return {"entity": entity, "value": value, "start": 0, "end": len(value)}


class TestClassifyDefect:
    """NLU entities first, then the policy's keyword tables, in both languages."""

    @pytest.mark.parametrize("language, text, entities, expected", [
        ("zh", "空调用了两天就冒烟了", [], "smoke"),
        ("en", "Smoke came out of the back", [], "smoke"),
        ("zh", "冰箱不制冷，东西都坏了", [], "not_cooling"),
        ("en", "the fridge is not cooling at all", [], "not_cooling"),
        ("zh", "晚上噪音特别大", [], "noise"),
        ("en", "it's very noisy at night", [], "noise"),
        ("zh", "插上电开不了机", [], "no_power"),
        ("en", "It WON\u2019T TURN ON", [], "no_power"),
        ("zh", "有异响，而且冒烟", [], "smoke"),
        ("en", "noisy, and then sparks came out", [], "fire"),
        ("zh", "冒烟了", [defect_entity("leak")], "leak"),
        ("zh", "底下一直在滴水", [defect_entity("漏水")], "leak"),
        ("en", "water everywhere", [defect_entity("Leaking")], "leak"),
        ("en", "it wobbles", [defect_entity("wobbly")], "wobbly"),
        ("en", "it is noisy", [defect_entity("iphone", entity="product")], "noise"),
        ("zh", "质量很好，就是颜色不喜欢", [], None),
        ("en", "the firewall settings are confusing", [], None),
        ("en", "", [], None),
    ])
    def test_classify(self, language: str, text: str, entities: list[dict[str, Any]],
                      expected: str | None) -> None:
        """The defect type of a complaint."""
        assert classify_defect(text, entities, POLICY) == expected


class TestIsSafety:
    """A safety keyword in either language, or a safety defect type, makes it a safety report."""

    @pytest.mark.parametrize("language, text, defect, expected", [
        ("zh", "充电的时候冒烟了", None, True),
        ("zh", "插座那里有电火花", None, True),
        ("zh", "摸机身被电了一下，应该是漏电", None, True),
        ("zh", "有一股烧焦的味道", None, True),
        ("zh", "电池爆炸了", None, True),
        ("zh", "突然着火了", None, True),
        ("zh", "洗澡的时候触电了", None, True),
        ("zh", "电机起火", None, True),
        ("zh", "噪音有点大", None, False),
        ("zh", "用着还行", "shock", True),
        ("en", "It caught FIRE last night", None, True),
        ("en", "sparks came out of the plug", None, True),
        ("en", "I got an electric shock from the door", None, True),
        ("en", "there is a burning smell", None, True),
        ("en", "I'm afraid the battery will explode", None, True),
        ("en", "smoke from the back", None, True),
        ("en", "it is a bit noisy", None, False),
        ("en", "the smoked salmon was fine, the fridge is noisy", None, False),
        ("en", "my firewall blocks the app", None, False),
        ("en", "looks fine to me", "smoke", True),
        ("en", "looks fine to me", "noise", False),
    ])
    def test_safety(self, language: str, text: str, defect: str | None, expected: bool) -> None:
        """Whether the complaint pulls the cord on its own."""
        assert is_safety(text, defect, POLICY) is expected


# id, earlier complaints, new complaint, pull, reason, counted ids, customers
SCENARIOS: list[tuple[str, list[Complaint], Complaint, bool, str, tuple[str, ...], int]] = [
    ("one-complaint", [], complaint("c1", "A"), False, "below_threshold", ("c1",), 1),
    ("two-customers", [complaint("c1", "A", days_ago=3)], complaint("c2", "B"),
     True, "repeated_defect", ("c1", "c2"), 2),
    ("three-customers", [complaint("c1", "A", days_ago=5), complaint("c2", "B", days_ago=2)],
     complaint("c3", "C"), True, "repeated_defect", ("c1", "c2", "c3"), 3),
    ("same-customer-twice", [complaint("c1", "A", days_ago=3)], complaint("c2", "A"),
     False, "below_threshold", ("c1", "c2"), 1),
    ("same-customer-twice-then-another",
     [complaint("c1", "A", days_ago=4), complaint("c2", "A", days_ago=2)], complaint("c3", "B"),
     True, "repeated_defect", ("c1", "c2", "c3"), 2),
    ("different-defect-types", [complaint("c1", "A", "leak", days_ago=3)], complaint("c2", "B"),
     False, "below_threshold", ("c2",), 1),
    ("other-sku", [complaint("c1", "A", days_ago=3, sku="SKU-OTHER")], complaint("c2", "B"),
     False, "below_threshold", ("c2",), 1),
    ("exactly-14-days-ago", [complaint("c1", "A", days_ago=14)], complaint("c2", "B"),
     True, "repeated_defect", ("c1", "c2"), 2),
    ("one-second-outside-14-days",
     [complaint("c1", "A", days_ago=14 + 1 / 86400)], complaint("c2", "B"),
     False, "below_threshold", ("c2",), 1),
    ("unknown-defects-never-match", [complaint("c1", "A", "", days_ago=1, text="不太好用")],
     complaint("c2", "B", "", text="not great"), False, "below_threshold", (), 0),
    ("same-complaint-passed-twice", [complaint("c1", "A")], complaint("c1", "A"),
     False, "below_threshold", ("c1",), 1),
    ("defect-type-case-insensitive", [complaint("c1", "A", "Noise", days_ago=1)],
     complaint("c2", "B", "noise"), True, "repeated_defect", ("c1", "c2"), 2),
    ("safety-zh-keyword", [], complaint("c1", "A", "", text="用了一周就冒烟了"),
     True, "safety", ("c1",), 1),
    ("safety-en-keyword", [], complaint("c1", "A", "", text="It caught fire in the kitchen"),
     True, "safety", ("c1",), 1),
    ("safety-defect-type", [], complaint("c1", "A", "shock"), True, "safety", ("c1",), 1),
]


class TestAssessAndon:
    """Distinct customers, same defect, same SKU, within 14 days; safety at once."""

    @pytest.mark.parametrize("earlier, new, pulls, reason, ids, customers",
                             [pytest.param(*row[1:], id=row[0]) for row in SCENARIOS])
    def test_scenario(self, earlier: list[Complaint], new: Complaint, pulls: bool, reason: str,
                      ids: tuple[str, ...], customers: int) -> None:
        """Whether the cord is pulled, why, and by which complaints."""
        d = assess_andon(new, earlier, POLICY, NOW)
        assert (d.pull, d.reason, d.complaint_ids, d.customers) == (pulls, reason, ids, customers)
        assert d.sku == new.sku

    def test_every_reason_is_specified(self) -> None:
        """The table reaches every reason the module declares."""
        assert {row[4] for row in SCENARIOS} == set(REASONS)

    def test_threshold_comes_from_policy(self) -> None:
        """With a threshold of 3, two customers are not enough."""
        strict = replace(POLICY, andon=replace(POLICY.andon, threshold_customers=3))
        d = assess_andon(complaint("c2", "B"), [complaint("c1", "A", days_ago=1)], strict, NOW)
        assert (d.pull, d.reason) == (False, "below_threshold")

    def test_naive_now(self) -> None:
        """A time without a zone is refused."""
        with pytest.raises(InvalidData):
            assess_andon(complaint("c1", "A"), [], POLICY, datetime(2026, 11, 20, 12, 0))


def fridge(on_sale: bool = True) -> Product:
    return Product(sku=SKU, name_zh="海尔十字门冰箱 470升", name_en="Haier French-door fridge 470L",
                   category=Category.APPLIANCES, on_sale=on_sale)


class TestPullAndReinstate:
    """Pulling takes the SKU off sale; a person reinstates it with an audit record."""

    @pytest.mark.parametrize("pulls, on_sale", [(True, False), (False, True)])
    def test_pull(self, pulls: bool, on_sale: bool) -> None:
        """Only a pulling decision takes the product off sale."""
        d = AndonDecision(pulls, "safety" if pulls else "below_threshold", SKU, "fire", ("c1",), 1)
        assert pull(fridge(), d).on_sale is on_sale

    def test_pull_other_sku(self) -> None:
        """A decision about another SKU cannot pull this one."""
        d = AndonDecision(True, "safety", "SKU-OTHER", "fire", ("c1",), 1)
        with pytest.raises(InvalidData):
            pull(fridge(), d)

    @pytest.mark.parametrize("by, why", [
        ("qa-li", "批次检测合格，电源线已更换"),
        ("qa-smith", "Batch passed inspection; power cord replaced"),
    ])
    def test_reinstate(self, by: str, why: str) -> None:
        """The product is back on sale and the record says who, when and why."""
        product, record = reinstate(fridge(on_sale=False), by, why, NOW)
        assert product.on_sale is True
        assert record == Reinstatement(sku=SKU, by=by, at=NOW, why=why)

    @pytest.mark.parametrize("by, why, what", [
        ("", "checked", "by"),
        ("   ", "checked", "by"),
        ("qa-li", "", "why"),
    ])
    def test_reinstate_needs_who_and_why(self, by: str, why: str, what: str) -> None:
        """An audit record without who or why is refused."""
        with pytest.raises(InvalidData) as err:
            reinstate(fridge(on_sale=False), by, why, NOW)
        assert err.value.what == what

    def test_reinstate_on_sale_product(self) -> None:
        """A product that was never pulled cannot be reinstated."""
        with pytest.raises(NotAllowed) as err:
            reinstate(fridge(), "qa-li", "checked", NOW)
        assert err.value.reason == "not_pulled"

    def test_full_cycle(self) -> None:
        """Two customers pull the cord; a person puts the product back."""
        d = assess_andon(complaint("c2", "B"), [complaint("c1", "A", days_ago=2)], POLICY, NOW)
        pulled = pull(fridge(), d)
        back, record = reinstate(pulled, "qa-li", "更换批次 / new batch", NOW + timedelta(days=1))
        assert (pulled.on_sale, back.on_sale, record.at) == (False, True, NOW + timedelta(days=1))
