"""Formatting of domain values for shoppers: money, times, order facts and cards.

Only numbers, dates and names taken from data are produced here; every
sentence around them lives in ``domain.yml`` or the web translation table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.catalog import Product
from bot.orders import Order

SHOP_TZ = ZoneInfo("Asia/Shanghai")


def money(amount: Decimal) -> str:
    """``Decimal("2750")`` → ``"2,750.00"`` (CNY, two places, thousands separators)."""
    return f"{amount.quantize(Decimal('0.01')):,}"


def when(at: datetime | None, tz: ZoneInfo = SHOP_TZ) -> str:
    """A timestamp in the shop's time zone, to the minute: ``"2026-11-20 14:03"``."""
    return "" if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def day(at: datetime | None, tz: ZoneInfo = SHOP_TZ) -> str:
    return "" if at is None else at.astimezone(tz).strftime("%Y-%m-%d")


def order_title(order: Order, products: Mapping[str, Product], language: str) -> str:
    """The first product's name, plus "+N" when the order has more lines."""
    names = [products[ln.sku].name(language) if ln.sku in products else ln.sku
             for ln in order.lines if not ln.is_gift]
    if not names:
        return order.order_id
    return names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"


def order_facts(order: Order, products: Mapping[str, Product], language: str) -> dict[str, str]:
    """Template values shared by every order response."""
    s = order.shipment
    last = s.last_event if s else None
    return {
        "order_id": order.order_id,
        "product": order_title(order, products, language),
        "total": money(order.total_paid),
        "status": order.status.value,
        "placed_at": when(order.placed_at),
        "promised": when(order.promised_at),
        "carrier": s.carrier if s else "",
        "tracking_no": s.tracking_no if s else "",
        "delivered_at": when(s.delivered_at) if s else "",
        "last_event": (f"{last.description(language)} · {last.location(language)}" if last else ""),
        "last_event_at": when(last.at) if last else "",
        "address": order.address,
    }


def timeline(order: Order, language: str) -> str:
    """One line per tracking event, newest first."""
    if order.shipment is None:
        return ""
    events = sorted(order.shipment.events, key=lambda e: e.at, reverse=True)
    return "\n".join(f"{when(e.at)}  {e.description(language)} · {e.location(language)}"
                     for e in events)


def order_card(order: Order, products: Mapping[str, Product], language: str) -> dict[str, Any]:
    """The JSON order card the web chat renders (labels come from the UI's table)."""
    s = order.shipment
    return {
        "type": "order",
        "order_id": order.order_id,
        "status": order.status.value,
        "placed_at": when(order.placed_at),
        "total": money(order.total_paid),
        "currency": "CNY",
        "eta": day(order.promised_at) if order.status.value in ("paid", "shipped") else None,
        "items": [{"name": products[ln.sku].name(language) if ln.sku in products else ln.sku,
                   "quantity": ln.quantity, "paid": money(ln.paid_amount)}
                  for ln in order.lines],
        "tracking": [{"at": when(e.at), "text": f"{e.description(language)} · {e.location(language)}"}
                     for e in sorted(s.events, key=lambda e: e.at, reverse=True)] if s else [],
    }


def order_button_title(order: Order, products: Mapping[str, Product], language: str) -> str:
    """A quick-reply title that identifies an order: product, date and id tail."""
    return f"{order_title(order, products, language)} · {day(order.placed_at)} · …{order.order_id[-4:]}"
