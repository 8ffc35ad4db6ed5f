"""Customers, orders, lines and shipments, and the rules that only need an order.

Every rule is a pure function of values and ``now``: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from bot.errors import InvalidData, NotAllowed, OrderNotFound


class OrderStatus(str, Enum):
    """Life cycle of an order."""

    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"  # paid, being prepared, not yet handed to the carrier
    SHIPPED = "shipped"
    DELIVERED = "delivered"  # signed for by the shopper
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class LineStatus(str, Enum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    RETURNED = "returned"


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    language: str  # preferred language, "zh" or "en"
    phone: str = ""
    vip: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "name": self.name,
                "language": self.language, "vip": self.vip}


@dataclass(frozen=True)
class OrderLine:
    """One product in an order.

    Attributes:
        line_id: Unique id of the line, e.g. ``"260101000001-1"``.
        unit_list_price: The shelf price per unit when bought (before coupons).
        paid_amount: What the shopper actually paid for the whole line, after
            every discount was allocated to it; price protection works on this.
        is_gift: A free gift (never price-protected, never refunded on its own).
        opened: The shopper opened the package (matters for digital content).
    """

    line_id: str
    sku: str
    quantity: int
    unit_list_price: Decimal
    paid_amount: Decimal
    status: LineStatus = LineStatus.ACTIVE
    is_gift: bool = False
    price_kind: str = "list"  # the kind of price it was bought at (flash_sale, clearance...)
    opened: bool = False

    @property
    def paid_per_unit(self) -> Decimal:
        return (self.paid_amount / self.quantity).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class TrackingEvent:
    at: datetime
    code: str  # picked_up, in_transit, out_for_delivery, delivered, exception
    location_zh: str
    location_en: str
    description_zh: str
    description_en: str

    def description(self, language: str) -> str:
        return self.description_zh if language == "zh" else self.description_en

    def location(self, language: str) -> str:
        return self.location_zh if language == "zh" else self.location_en


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_no: str
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    events: tuple[TrackingEvent, ...] = ()

    @property
    def last_event(self) -> TrackingEvent | None:
        return max(self.events, key=lambda e: e.at) if self.events else None


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_id: str
    status: OrderStatus
    placed_at: datetime
    lines: tuple[OrderLine, ...]
    address: str
    promised_at: datetime | None = None  # delivery promised when the order was placed
    payment_method: str = "alipay"
    paid_at: datetime | None = None
    shipment: Shipment | None = None
    invoice_title: str = ""
    refunded_at: datetime | None = None

    @property
    def total_paid(self) -> Decimal:
        return sum((ln.paid_amount for ln in self.lines), Decimal("0.00"))

    @property
    def delivered_at(self) -> datetime | None:
        return self.shipment.delivered_at if self.shipment else None

    def line(self, line_id: str) -> OrderLine:
        for ln in self.lines:
            if ln.line_id == line_id:
                return ln
        raise InvalidData("line_id", line_id)


def find_order(orders: Iterable[Order], customer_id: str, order_id: str) -> Order:
    """The order ``order_id`` if it belongs to ``customer_id``.

    Raises ``OrderNotFound`` for a missing order *and* for someone else's, so
    that the two cases are indistinguishable to the asker.
    """
    for o in orders:
        if o.order_id == order_id and o.customer_id == customer_id:
            return o
    raise OrderNotFound(order_id)


def recent_orders(orders: Iterable[Order], limit: int = 5) -> list[Order]:
    """Newest first, the orders a shopper is most likely asking about."""
    return sorted(orders, key=lambda o: o.placed_at, reverse=True)[:limit]


class Delivery(str, Enum):
    """Where a parcel stands against its promise."""

    NOT_SHIPPED = "not_shipped"
    ON_TIME = "on_time"
    LATE = "late"
    DELIVERED = "delivered"
    DELIVERED_LATE = "delivered_late"
    EXCEPTION = "exception"
    NONE = "none"  # cancelled, unpaid: there is no delivery to speak of


def delivery_state(order: Order, now: datetime) -> Delivery:
    """Compare the parcel with the promised date.

    A parcel is late from the first second after ``promised_at`` while it is
    not delivered; a delivery exception on the last tracking event wins.
    """
    if order.status in (OrderStatus.CANCELLED, OrderStatus.AWAITING_PAYMENT, OrderStatus.REFUNDED):
        return Delivery.NONE
    promised, s = order.promised_at, order.shipment
    late = promised is not None and now > promised
    if s is not None and s.delivered_at is not None:
        late_delivery = promised is not None and s.delivered_at > promised
        return Delivery.DELIVERED_LATE if late_delivery else Delivery.DELIVERED
    last = s.last_event if s is not None else None
    if last is not None and last.code == "exception":
        return Delivery.EXCEPTION
    if s is None or s.shipped_at is None:
        return Delivery.LATE if late else Delivery.NOT_SHIPPED
    return Delivery.LATE if late else Delivery.ON_TIME


def check_cancel(order: Order) -> None:
    """An order can be cancelled until it is handed to the carrier.

    Raises ``NotAllowed("already_shipped")`` once shipped or delivered (the bot
    then offers a return), and ``NotAllowed("already_cancelled")`` or
    ``NotAllowed("refunded")`` when there is nothing left to cancel.
    """
    if order.status == OrderStatus.CANCELLED:
        raise NotAllowed("already_cancelled", order_id=order.order_id)
    if order.status == OrderStatus.REFUNDED:
        raise NotAllowed("refunded", order_id=order.order_id)
    shipped = order.shipment is not None and order.shipment.shipped_at is not None
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) or shipped:
        raise NotAllowed("already_shipped", order_id=order.order_id)


def check_change_address(order: Order, new_address: str) -> str:
    """The address can change only before shipment; returns the cleaned address.

    Raises ``NotAllowed("already_shipped")`` after shipment,
    ``NotAllowed("already_cancelled")`` for a cancelled order and
    ``NotAllowed("address_invalid")`` for an address too short to deliver to.
    """
    check_cancel(order)  # same states allow an address change as allow a cancel
    cleaned = " ".join(new_address.split())
    if len(cleaned) < 6 or len(cleaned) > 200:
        raise NotAllowed("address_invalid", address=cleaned)
    return cleaned


@dataclass(frozen=True)
class InvoiceRequest:
    order_id: str
    title: str
    tax_id: str = ""
    email: str = field(default="")


def check_invoice(order: Order) -> None:
    """An invoice can be issued for a paid order that was not cancelled."""
    if order.status in (OrderStatus.AWAITING_PAYMENT,):
        raise NotAllowed("not_paid", order_id=order.order_id)
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        raise NotAllowed("already_cancelled", order_id=order.order_id)

