"""Products, categories and price history: the shop's catalogue as values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from bot.errors import InvalidData


class Category(str, Enum):
    """Product categories; after-sales policy numbers are set per category."""

    APPLIANCES = "appliances"
    DIGITAL = "digital"  # phones, computers and other digital goods
    MOTHER_BABY = "mother_baby"
    BEAUTY = "beauty"
    BOOKS = "books"
    FRESH = "fresh"
    APPAREL = "apparel"
    NEWSPAPERS = "newspapers"


class PriceKind(str, Enum):
    """What kind of price a price-history point is.

    Price protection only compares against ``LIST`` and ``PROMOTION`` prices;
    flash sales and clearance are excluded, and coupon-only or payment-method
    discounts are not price drops at all (JD price-protection rules).
    """

    LIST = "list"
    PROMOTION = "promotion"
    FLASH_SALE = "flash_sale"
    CLEARANCE = "clearance"
    COUPON = "coupon"
    PAYMENT_DISCOUNT = "payment_discount"


@dataclass(frozen=True)
class Product:
    """A SKU with bilingual names.

    Attributes:
        sku: Stock-keeping unit, e.g. ``"SKU-AC-MIDEA-35"``.
        name_zh / name_en: Display names.
        category: The product's category.
        aliases: Other names shoppers use ("空调", "AC"), lower-case.
        custom_made: Made to order (excluded from no-reason returns).
        perishable: Fresh or perishable (excluded from no-reason returns).
        digital_content: Software or digital content (excluded once opened).
        on_sale: False once the Andon cord has pulled it pending review.
    """

    sku: str
    name_zh: str
    name_en: str
    category: Category
    aliases: tuple[str, ...] = ()
    custom_made: bool = False
    perishable: bool = False
    digital_content: bool = False
    on_sale: bool = True

    def name(self, language: str) -> str:
        return self.name_zh if language == "zh" else self.name_en

    def matches(self, mention: str) -> bool:
        """Whether a shopper's mention ("iphone", "空调") refers to this product."""
        m = mention.strip().lower()
        if not m:
            return False
        names = (self.name_zh.lower(), self.name_en.lower(), *self.aliases)
        return any(m in n or (len(n) >= 2 and n in m) for n in names)

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "category": self.category.value,
            "aliases": list(self.aliases),
            "custom_made": self.custom_made,
            "perishable": self.perishable,
            "digital_content": self.digital_content,
            "on_sale": self.on_sale,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Product:
        try:
            return cls(
                sku=str(data["sku"]),
                name_zh=str(data["name_zh"]),
                name_en=str(data["name_en"]),
                category=Category(data["category"]),
                aliases=tuple(str(a).lower() for a in data.get("aliases", ())),
                custom_made=bool(data.get("custom_made", False)),
                perishable=bool(data.get("perishable", False)),
                digital_content=bool(data.get("digital_content", False)),
                on_sale=bool(data.get("on_sale", True)),
            )
        except (KeyError, ValueError) as exc:
            raise InvalidData("product", exc) from exc


@dataclass(frozen=True)
class PricePoint:
    """The price of a SKU from ``effective_at`` until the next point of the same SKU."""

    sku: str
    effective_at: datetime
    price: Decimal
    kind: PriceKind = PriceKind.LIST


def price_at(history: Iterable[PricePoint], sku: str, at: datetime,
             kinds: Sequence[PriceKind] | None = None) -> PricePoint | None:
    """The price point in force for ``sku`` at ``at`` (the latest one not after ``at``).

    With ``kinds``, only points of those kinds are considered, so that the
    "current eligible price" can skip e.g. a flash sale that is running now.

    >>> # points at 10:00 (¥100) and 12:00 (¥90): at 11:59:59 the price is ¥100.
    """
    best: PricePoint | None = None
    for p in history:
        if p.sku != sku or p.effective_at > at:
            continue
        if kinds is not None and p.kind not in kinds:
            continue
        if best is None or p.effective_at >= best.effective_at:
            best = p
    return best
