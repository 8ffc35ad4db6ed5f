"""Which order is the shopper talking about?

Shoppers rarely type order ids. The rules, in order: an order id in the
message; a product mentioned in the message; the order already under
discussion; the only order that fits the question (e.g. the only one in
transit for "where is my parcel"); otherwise ask, offering candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.catalog import Product
from bot.orders import Order, OrderStatus

_ACTIVE = (OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID, OrderStatus.SHIPPED)

#: For each question, the orders it most likely concerns.
RELEVANT: Mapping[str, Callable[[Order], bool]] = {
    "order_status": lambda o: o.status in _ACTIVE,
    "track_shipment": lambda o: o.status in (OrderStatus.SHIPPED, OrderStatus.PAID),
    "delivery_time": lambda o: o.status in (OrderStatus.SHIPPED, OrderStatus.PAID),
    "cancel_order": lambda o: o.status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID),
    "change_address": lambda o: o.status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID),
    "invoice": lambda o: o.status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED),
    "payment_problem": lambda o: o.status == OrderStatus.AWAITING_PAYMENT,
    "return_item": lambda o: o.status == OrderStatus.DELIVERED,
    "exchange_item": lambda o: o.status == OrderStatus.DELIVERED,
    "price_protection": lambda o: o.status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED),
    "complaint": lambda o: o.status == OrderStatus.DELIVERED,
    "refund_status": lambda o: o.status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED, OrderStatus.DELIVERED),
}


@dataclass(frozen=True)
class Resolution:
    """The outcome: an order, or candidates to ask about, or an unknown id."""

    order: Order | None = None
    candidates: tuple[Order, ...] = ()
    unknown_id: str | None = None


def resolve_order(orders: Sequence[Order], topic: str, *, order_id: str | None = None,
                  product: str | None = None, products: Mapping[str, Product] | None = None,
                  context_order_id: str | None = None, limit: int = 5) -> Resolution:
    """Pick the order a question is about, or the candidates to ask about.

    ``orders`` must already be the asking customer's own orders, newest first;
    an id that is not among them is reported as ``unknown_id`` whether or not
    it exists for someone else.

    Example: a customer with one parcel in transit and three delivered orders
    asks "where is my parcel?" (topic ``track_shipment``): the parcel in
    transit is chosen without asking.
    """
    newest = sorted(orders, key=lambda o: o.placed_at, reverse=True)
    if order_id:
        for o in newest:
            if o.order_id == order_id:
                return Resolution(order=o)
        return Resolution(candidates=tuple(newest[:limit]), unknown_id=order_id)
    if product and products:
        hits = [o for o in newest if _mentions(o, product, products)]
        if len(hits) == 1:
            return Resolution(order=hits[0])
        if hits:
            return Resolution(candidates=tuple(hits[:limit]))
    if context_order_id:
        for o in newest:
            if o.order_id == context_order_id:
                return Resolution(order=o)
    if len(newest) == 1:
        return Resolution(order=newest[0])
    relevant = RELEVANT.get(topic)
    fits = [o for o in newest if relevant(o)] if relevant else []
    if len(fits) == 1:
        return Resolution(order=fits[0])
    return Resolution(candidates=tuple((fits or newest)[:limit]))


def _mentions(order: Order, mention: str, products: Mapping[str, Product]) -> bool:
    return any(ln.sku in products and products[ln.sku].matches(mention) for ln in order.lines)


def skus(orders: Iterable[Order]) -> set[str]:
    return {ln.sku for o in orders for ln in o.lines}
