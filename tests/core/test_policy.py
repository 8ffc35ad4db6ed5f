"""Specification of bot.policy: the shipped numbers, and strict validation naming the key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.catalog import Category
from bot.errors import InvalidData
from bot.policy import Policy, load_policy

POLICY_FILE = Path(__file__).resolve().parents[2] / "policy.yml"
TZ = ZoneInfo("Asia/Shanghai")


def policy_mapping() -> dict[str, Any]:
    """A complete, valid policy as parsed YAML (independent of the shipped file)."""
    return {
        "timezone": "Asia/Shanghai",
        "currency": "CNY",
        "decision_due_minutes": 100,
        "price_protection": {
            "auto_approve_limit": "500.00",
            "default": {"days": 30, "from_payment_if_undelivered": True},
            "categories": {
                "digital": {"days": 7, "from_payment_if_undelivered": True},
                "books": {"days": 0, "from_payment_if_undelivered": True,
                          "days_from_payment": "until_sign_off"},
            },
        },
        "returns": {
            "no_reason_days": 7,
            "no_reason_excluded": {"custom_made": True, "perishable": True,
                                   "opened_digital_content": True,
                                   "categories": ["newspapers"]},
            "quality_return_days": 30,
            "quality_exchange_days": 180,
            "quality_categories": ["appliances", "digital", "mother_baby"],
        },
        "andon": {
            "threshold_customers": 2,
            "window_days": 14,
            "safety_defects": ["fire"],
            "safety_keywords": {"zh": ["起火"], "en": ["fire"]},
            "defect_keywords": {"fire": {"zh": ["起火"], "en": ["fire"]},
                                "noise": {"zh": ["噪音"], "en": ["noisy"]}},
        },
    }


def changed(path: str, value: Any) -> dict[str, Any]:
    """``policy_mapping()`` with the dotted ``path`` set to ``value`` (``DELETE`` removes it)."""
    data = copy.deepcopy(policy_mapping())
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()


class TestShippedPolicy:
    """policy.yml carries the numbers the shop promises."""

    @pytest.fixture(scope="class")
    def shipped(self) -> Policy:
        return load_policy(POLICY_FILE)

    @pytest.mark.parametrize("read, expected", [
        pytest.param(lambda p: p.timezone, ZoneInfo("Asia/Shanghai"), id="timezone"),
        pytest.param(lambda p: p.currency, "CNY", id="currency"),
        pytest.param(lambda p: p.decision_due_minutes, 100, id="decision-due"),
        pytest.param(lambda p: p.price_protection.auto_approve_limit, Decimal("500.00"),
                     id="auto-approve-limit"),
        pytest.param(lambda p: p.price_protection.window(Category.APPLIANCES).days, 30,
                     id="appliances-30"),
        pytest.param(lambda p: p.price_protection.window(Category.DIGITAL).days, 7,
                     id="digital-7"),
        pytest.param(lambda p: p.price_protection.window(Category.BOOKS).days, 0,
                     id="books-0-after-sign-off"),
        pytest.param(lambda p: p.price_protection.window(Category.BOOKS).days_from_payment,
                     None, id="books-open-until-sign-off"),
        pytest.param(lambda p: p.price_protection.window(Category.BOOKS)
                     .from_payment_if_undelivered, True, id="books-from-payment"),
        pytest.param(lambda p: p.price_protection.window(Category.MOTHER_BABY).days, 30,
                     id="everything-else-30"),
        pytest.param(lambda p: p.price_protection.window(Category.APPLIANCES).days_from_payment,
                     30, id="from-payment-same-length"),
        pytest.param(lambda p: p.returns.no_reason_days, 7, id="no-reason-7"),
        pytest.param(lambda p: (p.returns.exclude_custom_made, p.returns.exclude_perishable,
                                p.returns.exclude_opened_digital_content),
                     (True, True, True), id="no-reason-exclusions"),
        pytest.param(lambda p: Category.NEWSPAPERS in p.returns.no_reason_excluded_categories,
                     True, id="newspapers-excluded"),
        pytest.param(lambda p: p.returns.quality_return_days, 30, id="quality-return-30"),
        pytest.param(lambda p: p.returns.quality_exchange_days, 180, id="quality-exchange-180"),
        pytest.param(lambda p: {Category.APPLIANCES, Category.DIGITAL, Category.MOTHER_BABY}
                     <= p.returns.quality_categories, True, id="quality-categories"),
        pytest.param(lambda p: p.andon.threshold_customers, 2, id="andon-threshold"),
        pytest.param(lambda p: p.andon.window_days, 14, id="andon-window"),
        pytest.param(lambda p: p.andon.safety_defects, frozenset({"fire", "smoke", "shock"}),
                     id="andon-safety-defects"),
        pytest.param(lambda p: set(p.andon.safety_keywords["zh"]),
                     {"起火", "着火", "冒烟", "漏电", "触电", "爆炸", "电火花", "烧焦"},
                     id="andon-safety-keywords-zh"),
        pytest.param(lambda p: {"fire", "smoke", "electric shock", "sparks", "burning smell",
                                "explode"} <= set(p.andon.safety_keywords["en"]), True,
                     id="andon-safety-keywords-en"),
    ])
    def test_number(self, shipped: Policy, read: Callable[[Policy], Any], expected: Any) -> None:
        """Each promised number is in the shipped file."""
        assert read(shipped) == expected


class TestFromMapping:
    """A valid mapping becomes a frozen Policy."""

    def test_builds(self) -> None:
        """The reference mapping loads, with defaults for unlisted categories."""
        p = Policy.from_mapping(policy_mapping())
        assert p.price_protection.window(Category.FRESH).days == 30
        assert p.price_protection.window(Category.DIGITAL).days_from_payment == 7
        assert p.returns.quality_categories == frozenset(
            {Category.APPLIANCES, Category.DIGITAL, Category.MOTHER_BABY})

    def test_decision_due_is_100_minutes_later(self) -> None:
        """The after-sales promise: now + decision_due_minutes."""
        now = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
        assert Policy.from_mapping(policy_mapping()).decision_due(now) == now + timedelta(
            minutes=100)

    def test_days_from_payment_number(self) -> None:
        """A number of days from payment is kept as such."""
        data = changed("price_protection.categories.books.days_from_payment", 3)
        assert Policy.from_mapping(data).price_protection.window(
            Category.BOOKS).days_from_payment == 3

    def test_frozen(self) -> None:
        """Policy values cannot be changed after loading."""
        p = Policy.from_mapping(policy_mapping())
        with pytest.raises(AttributeError):
            p.decision_due_minutes = 5  # type: ignore[misc]
        with pytest.raises(TypeError):
            p.andon.safety_keywords["zh"] = ()  # type: ignore[index]

    def test_integer_money_accepted(self) -> None:
        """An integer limit is exact and accepted."""
        data = changed("price_protection.auto_approve_limit", 500)
        assert Policy.from_mapping(data).price_protection.auto_approve_limit == Decimal("500.00")


class TestValidation:
    """Every bad value raises InvalidData naming the offending key."""

    @pytest.mark.parametrize("path, value, key", [
        ("timezone", DELETE, "timezone"),
        ("timezone", "Mars/Olympus", "timezone"),
        ("currency", "", "currency"),
        ("decision_due_minutes", 0, "decision_due_minutes"),
        ("decision_due_minutes", "100", "decision_due_minutes"),
        ("surprise", 1, "surprise"),
        ("price_protection.auto_approve_limit", 500.0, "price_protection.auto_approve_limit"),
        ("price_protection.auto_approve_limit", "lots", "price_protection.auto_approve_limit"),
        ("price_protection.auto_approve_limit", "-1.00", "price_protection.auto_approve_limit"),
        ("price_protection.auto_approve_limit", "500.001",
         "price_protection.auto_approve_limit"),
        ("price_protection.default.days", -1, "price_protection.default.days"),
        ("price_protection.default.days", True, "price_protection.default.days"),
        ("price_protection.default.from_payment_if_undelivered", "yes",
         "price_protection.default.from_payment_if_undelivered"),
        ("price_protection.categories.toys", {"days": 1, "from_payment_if_undelivered": True},
         "price_protection.categories.toys"),
        ("price_protection.categories.digital.dayz", 7, "price_protection.categories.digital.dayz"),
        ("price_protection.categories.books.days_from_payment", "forever",
         "price_protection.categories.books.days_from_payment"),
        ("price_protection.categories", [], "price_protection.categories"),
        ("returns.no_reason_days", DELETE, "returns.no_reason_days"),
        ("returns.no_reason_excluded.categories", ["magazines"],
         "returns.no_reason_excluded.categories"),
        ("returns.quality_categories", "appliances", "returns.quality_categories"),
        ("andon.threshold_customers", 0, "andon.threshold_customers"),
        ("andon.window_days", 0, "andon.window_days"),
        ("andon.safety_defects", ["explosion"], "andon.safety_defects"),
        ("andon.safety_keywords.en", [], "andon.safety_keywords.en"),
        ("andon.safety_keywords.fr", ["feu"], "andon.safety_keywords.fr"),
        ("andon.defect_keywords.noise.zh", [""], "andon.defect_keywords.noise.zh"),
    ])
    def test_bad_value_names_key(self, path: str, value: Any, key: str) -> None:
        """The error's ``what`` is the dotted key at fault."""
        with pytest.raises(InvalidData) as err:
            Policy.from_mapping(changed(path, value))
        assert err.value.what == key

    def test_float_money_says_how_to_fix(self) -> None:
        """A float limit is refused with the quoted spelling to use instead."""
        with pytest.raises(InvalidData, match=r'"500\.00"'):
            Policy.from_mapping(changed("price_protection.auto_approve_limit", 500.0))

    def test_top_level_not_a_mapping(self) -> None:
        """A list is not a policy."""
        with pytest.raises(InvalidData):
            Policy.from_mapping([1, 2])  # type: ignore[arg-type]


class TestLoadPolicy:
    """load_policy reads one file and nothing else does."""

    @pytest.mark.parametrize("text, what", [
        ("timezone: [unclosed", "policy file"),
        ("- just\n- a list\n", "policy file"),
        ("", "policy file"),
        ("timezone: Asia/Shanghai\n", "currency"),
    ])
    def test_bad_file(self, tmp_path: Path, text: str, what: str) -> None:
        """Broken YAML, a non-mapping or a missing key raise InvalidData."""
        path = tmp_path / "policy.yml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InvalidData) as err:
            load_policy(path)
        assert err.value.what == what
