"""Every after-sales policy number, as one frozen ``Policy`` value.

The numbers live in ``policy.yml`` at the project root, where operators edit
them. ``load_policy`` is the only place that reads that file; everything else
receives a ``Policy``. Validation is strict: an unknown key, a missing key or a
bad value raises ``InvalidData`` whose ``what`` is the dotted key, e.g.
``price_protection.categories.digital.days``, so a typo never silently falls
back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.catalog import Category
from bot.errors import InvalidData

LANGUAGES = ("zh", "en")
UNTIL_SIGN_OFF = "until_sign_off"


@dataclass(frozen=True)
class ProtectionWindow:
    """How long price protection lasts for one category.

    Attributes:
        days: Window length counted from sign-off, to the second.
        from_payment_if_undelivered: Whether an order that is not signed for
            yet is protected, with its window counted from payment.
        days_from_payment: Window length counted from payment while the order
            is undelivered; ``None`` keeps it open until sign-off (books).

    Example: ``days=30`` and a sign-off at 2026-11-10 15:00:00 give a window
    ending 2026-12-10 15:00:00 inclusive.
    """

    days: int
    from_payment_if_undelivered: bool
    days_from_payment: int | None


@dataclass(frozen=True)
class PriceProtectionPolicy:
    """Price protection (价格保护) numbers: approval limit and windows per category."""

    auto_approve_limit: Decimal
    default: ProtectionWindow
    categories: Mapping[Category, ProtectionWindow]

    def window(self, category: Category) -> ProtectionWindow:
        """The window of ``category``, or the default one when it has none of its own."""
        return self.categories.get(category, self.default)


@dataclass(frozen=True)
class ReturnPolicy:
    """Return and exchange numbers.

    Every window here counts whole local days from the day after sign-off:
    signed 2026-11-10 15:00 (Asia/Shanghai) and ``no_reason_days=7`` allow a
    return through 2026-11-17 23:59:59 local time.
    """

    no_reason_days: int
    exclude_custom_made: bool
    exclude_perishable: bool
    exclude_opened_digital_content: bool
    no_reason_excluded_categories: frozenset[Category]
    quality_return_days: int
    quality_exchange_days: int
    quality_categories: frozenset[Category]


@dataclass(frozen=True)
class AndonPolicy:
    """When a SKU is pulled off sale (the Andon cord).

    Attributes:
        threshold_customers: Distinct customers reporting the same defect type
            for one SKU that pull the cord.
        window_days: How far back complaints count, to the second.
        safety_defects: Defect types that pull the cord on the first report.
        safety_keywords: Language -> words that make any complaint a safety one.
        defect_keywords: Defect type -> language -> words, in priority order.
    """

    threshold_customers: int
    window_days: int
    safety_defects: frozenset[str]
    safety_keywords: Mapping[str, tuple[str, ...]]
    defect_keywords: Mapping[str, Mapping[str, tuple[str, ...]]]

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


@dataclass(frozen=True)
class Policy:
    """The shop's after-sales policy, as read from ``policy.yml``."""

    timezone: ZoneInfo
    currency: str
    decision_due_minutes: int
    price_protection: PriceProtectionPolicy
    returns: ReturnPolicy
    andon: AndonPolicy

    def decision_due(self, now: datetime) -> datetime:
        """When the decision on a request made at ``now`` is promised (now + 100 minutes)."""
        return now + timedelta(minutes=self.decision_due_minutes)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        """Build and validate a policy from the parsed YAML mapping.

        Raises:
            InvalidData: ``what`` is the dotted key at fault, e.g.
                ``returns.no_reason_days``.
        """
        root = _Section(data, "")
        tz_name = root.text("timezone")
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidData("timezone", f"unknown time zone {tz_name!r}; use an IANA name "
                              "such as 'Asia/Shanghai'") from exc
        policy = cls(
            timezone=tz,
            currency=root.text("currency"),
            decision_due_minutes=root.whole("decision_due_minutes", minimum=1),
            price_protection=_price_protection(root.section("price_protection")),
            returns=_returns(root.section("returns")),
            andon=_andon(root.section("andon")),
        )
        root.done()
        return policy


def load_policy(path: Path | str) -> Policy:
    """Read and validate the policy file; the only function that reads it.

    Raises:
        InvalidData: the file is not valid YAML or a value is wrong
            (``what`` names the key); ``OSError`` when it cannot be read.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidData("policy file", f"{path}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise InvalidData("policy file", f"{path}: expected a mapping at the top level")
    return Policy.from_mapping(data)


def _price_protection(s: _Section) -> PriceProtectionPolicy:
    limit = s.money("auto_approve_limit")
    default = _window(s.section("default"))
    cats = s.section("categories")
    windows = {cats.category_key(name): _window(cats.section(name)) for name in cats.names()}
    cats.done()
    s.done()
    return PriceProtectionPolicy(limit, default, MappingProxyType(windows))


def _window(s: _Section) -> ProtectionWindow:
    days = s.whole("days", minimum=0)
    from_payment = s.flag("from_payment_if_undelivered")
    days_from_payment: int | None = days
    if s.has("days_from_payment"):
        raw = s.raw("days_from_payment")
        if raw == UNTIL_SIGN_OFF:
            days_from_payment = None
        else:
            days_from_payment = s.whole("days_from_payment", minimum=0,
                                      hint=f"a whole number of days or {UNTIL_SIGN_OFF!r}")
    s.done()
    return ProtectionWindow(days, from_payment, days_from_payment)


def _returns(s: _Section) -> ReturnPolicy:
    no_reason_days = s.whole("no_reason_days", minimum=0)
    ex = s.section("no_reason_excluded")
    policy = ReturnPolicy(
        no_reason_days=no_reason_days,
        exclude_custom_made=ex.flag("custom_made"),
        exclude_perishable=ex.flag("perishable"),
        exclude_opened_digital_content=ex.flag("opened_digital_content"),
        no_reason_excluded_categories=ex.categories("categories"),
        quality_return_days=s.whole("quality_return_days", minimum=0),
        quality_exchange_days=s.whole("quality_exchange_days", minimum=0),
        quality_categories=s.categories("quality_categories"),
    )
    ex.done()
    s.done()
    return policy


def _andon(s: _Section) -> AndonPolicy:
    threshold = s.whole("threshold_customers", minimum=1)
    window_days = s.whole("window_days", minimum=1)
    safety_defects = frozenset(s.words("safety_defects"))
    safety_keywords = _by_language(s.section("safety_keywords"))
    table = s.section("defect_keywords")
    defects = {name: _by_language(table.section(name)) for name in table.names()}
    table.done()
    unknown = sorted(safety_defects - defects.keys())
    if unknown:
        raise InvalidData(s.key("safety_defects"), f"{unknown} have no entry under "
                          f"{s.key('defect_keywords')}; add their keywords there")
    s.done()
    return AndonPolicy(threshold, window_days, safety_defects, safety_keywords,
                       MappingProxyType(defects))


def _by_language(s: _Section) -> Mapping[str, tuple[str, ...]]:
    words = {lang: tuple(w.lower() for w in s.words(lang)) for lang in LANGUAGES}
    s.done()
    return MappingProxyType(words)


class _Section:
    """A mapping being validated; every key taken is ticked off so leftovers are typos."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise InvalidData(path or "policy", f"expected a mapping, got {data!r}")
        self._data = data
        self._path = path
        self._taken: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def names(self) -> list[str]:
        return [str(k) for k in self._data]

    def has(self, name: str) -> bool:
        return name in self._data

    def raw(self, name: str) -> Any:
        if name not in self._data:
            raise InvalidData(self.key(name), "missing")
        self._taken.add(name)
        return self._data[name]

    def section(self, name: str) -> _Section:
        return _Section(self.raw(name), self.key(name))

    def text(self, name: str) -> str:
        value = self.raw(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidData(self.key(name), f"expected a non-empty text, got {value!r}")
        return value.strip()

    def flag(self, name: str) -> bool:
        value = self.raw(name)
        if not isinstance(value, bool):
            raise InvalidData(self.key(name), f"expected true or false, got {value!r}")
        return value

    def whole(self, name: str, minimum: int, hint: str = "") -> int:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            expected = hint or f"a whole number >= {minimum}"
            raise InvalidData(self.key(name), f"expected {expected}, got {value!r}")
        return value

    def money(self, name: str) -> Decimal:
        value = self.raw(name)
        if isinstance(value, float):
            raise InvalidData(self.key(name), f"write money quoted, e.g. \"{value:.2f}\", "
                              f"so it is read exactly (got the float {value!r})")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidData(self.key(name),
                              f"expected an amount such as \"500.00\", got {value!r}")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise InvalidData(self.key(name), f"not an amount: {value!r}") from exc
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise InvalidData(self.key(name), f"expected a non-negative amount with at most "
                              f"2 decimals, got {value!r}")
        return amount.quantize(Decimal("0.01"))

    def words(self, name: str) -> list[str]:
        value = self.raw(name)
        if not isinstance(value, list) or not value:
            raise InvalidData(self.key(name), f"expected a non-empty list, got {value!r}")
        for w in value:
            if not isinstance(w, str) or not w.strip():
                raise InvalidData(self.key(name), f"expected non-empty texts, got {w!r}")
        return [w.strip() for w in value]

    def category_key(self, name: str) -> Category:
        try:
            return Category(name)
        except ValueError as exc:
            raise InvalidData(self.key(name), _unknown_category(name)) from exc

    def categories(self, name: str) -> frozenset[Category]:
        value = self.raw(name)
        if not isinstance(value, list):
            raise InvalidData(self.key(name), f"expected a list of categories, got {value!r}")
        out: set[Category] = set()
        for item in value:
            try:
                out.add(Category(item))
            except ValueError as exc:
                raise InvalidData(self.key(name), _unknown_category(item)) from exc
        return frozenset(out)

    def done(self) -> None:
        """Raise for the first key nobody asked for: it is a typo or an unsupported setting."""
        for k in self._data:
            if k not in self._taken:
                raise InvalidData(self.key(str(k)), "unknown key; check its spelling")


def _unknown_category(name: object) -> str:
    known = ", ".join(c.value for c in Category)
    return f"unknown category {name!r}; use one of {known}"
