"""Everything the predictor and the copilot look at for one shopper, read from the stores."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.prediction import CustomerHistory
from bot.store.aftersales import SqlAfterSales
from bot.store.shop import SqlShop

#: How far back complaints about a shopper's products are read (the Andon window is 14 days).
COMPLAINT_LOOKBACK = timedelta(days=30)


def load_history(shop: SqlShop, aftersales: SqlAfterSales, customer_id: str, now: datetime) -> CustomerHistory:
    """The shopper's own orders, claims and tickets, plus recent complaints about what they bought."""
    orders = shop.orders_of(customer_id)
    skus = sorted({ln.sku for o in orders for ln in o.lines})
    open_orders: tuple[str, ...] = tuple(r.order_id for r in aftersales.requests_of(customer_id)
                                         if r.status == "open")
    return CustomerHistory(
        customer_id=customer_id, orders=tuple(orders), products=shop.products_by_sku(skus),
        prices=tuple(shop.price_history(skus)),
        claims=tuple(c.claim for c in aftersales.claims_of(customer_id)),
        complaints=tuple(aftersales.complaints_about(skus, now - COMPLAINT_LOOKBACK)),
        open_tickets=open_orders)
