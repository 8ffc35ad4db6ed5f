"""The demo shop: customers, catalogue, price history and orders, relative to ``now``.

``build_demo(now)`` is pure, so tests can seed with a fixed clock; the data is
chosen to exercise every feature: late parcels, delivery exceptions, delivered
orders inside and outside return windows, price drops of every kind,
cancelled and unpaid orders, gifts, flash-sale lines and a customer with no orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from bot.catalog import PriceKind, PricePoint, Product, price_at
from bot.orders import (
    Customer,
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    TrackingEvent,
)

PRODUCTS_FILE = Path(__file__).with_name("demo") / "products.yml"

CUSTOMERS = (
    Customer("C001", "王芳", "zh", "13812345678", vip=True),
    Customer("C002", "Emily Chen", "en", "13900001111"),
    Customer("C003", "李强", "zh", "13700002222"),
    Customer("C004", "James Miller", "en", "13600003333"),
    Customer("C005", "张伟", "zh", "13500004444"),
    Customer("C006", "Sarah Johnson", "en", "15800005555"),
    Customer("C007", "刘洋", "zh", "18600006666"),
    Customer("C008", "陈静", "zh", "18800007777", vip=True),
    Customer("C009", "Michael Brown", "en", "17700008888"),
    Customer("C010", "赵敏", "zh", "19900009999"),
)

ADDRESSES = {
    "C001": "上海市浦东新区世纪大道88号1203室",
    "C002": "Room 502, 18 Huaihai Road, Xuhui District, Shanghai",
    "C003": "北京市朝阳区建国路66号2单元801",
    "C004": "Apt 9B, 1 Jianguomenwai Avenue, Chaoyang, Beijing",
    "C005": "广州市天河区体育西路103号",
    "C006": "Unit 7, 200 Nanjing West Road, Jing'an, Shanghai",
    "C007": "深圳市南山区科技园科苑路15号",
    "C008": "杭州市西湖区文三路478号",
    "C009": "Flat 3, 45 Tianmu West Road, Jing'an, Shanghai",
}


@dataclass(frozen=True)
class Demo:
    customers: tuple[Customer, ...]
    products: tuple[Product, ...]
    prices: tuple[PricePoint, ...]
    orders: tuple[Order, ...]


def load_catalogue(now: datetime, path: Path = PRODUCTS_FILE) -> tuple[list[Product], list[PricePoint]]:
    """Products and their price history from the demo catalogue file."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    products, prices = [], []
    for item in raw["products"]:
        products.append(Product.from_json(item))
        for days_ago, price, kind in item["history"]:
            prices.append(PricePoint(item["sku"], now - timedelta(days=days_ago),
                                     Decimal(price), PriceKind(kind)))
    return products, prices


_LOC = {
    "sh": ("上海", "Shanghai"), "bj": ("北京", "Beijing"), "gz": ("广州", "Guangzhou"),
    "sz": ("深圳", "Shenzhen"), "hz": ("杭州", "Hangzhou"), "wh": ("武汉", "Wuhan"),
}
_EVENT = {
    "picked_up": ("快递员已揽收", "Picked up by the courier"),
    "in_transit": ("运输中，已到达转运中心", "In transit, arrived at the sorting centre"),
    "out_for_delivery": ("派送中，快递员正在为您派件", "Out for delivery"),
    "delivered": ("已签收，感谢使用", "Delivered and signed for"),
    "exception": ("派送异常：收件人电话无法接通，包裹滞留网点",
                  "Delivery exception: recipient unreachable, parcel held at the depot"),
}


_SHELF = (PriceKind.LIST, PriceKind.PROMOTION, PriceKind.FLASH_SALE, PriceKind.CLEARANCE)


class _Builder:
    """Small helper that keeps the scenario table below readable."""

    def __init__(self, now: datetime, prices: list[PricePoint]) -> None:
        self.now = now
        self.prices = prices
        self.orders: list[Order] = []
        self.seq = 0

    def shelf_price(self, sku: str, at: datetime) -> Decimal:
        """The price a shopper saw on the shelf at ``at`` (coupons are not shelf prices)."""
        point = price_at(self.prices, sku, at, kinds=_SHELF)
        if point is None:
            raise ValueError(f"demo catalogue has no price for {sku} at {at}")
        return point.price

    def order(self, customer: str, days_ago: float, status: OrderStatus,
              items: list[dict[str, Any]], *, promised_days: float = 3,
              shipped_after: float | None = None, delivered_after: float | None = None,
              route: tuple[str, ...] = ("sh", "wh", "bj"), exception: bool = False,
              stalled_hours: float | None = None, payment: str = "alipay") -> Order:
        placed = self.now - timedelta(days=days_ago)
        self.seq += 1
        order_id = placed.strftime("%y%m%d") + f"{(self.seq * 7919) % 1000000:06d}"
        lines = []
        for i, it in enumerate(items, start=1):
            qty = it.get("qty", 1)
            unit = Decimal(it["unit"]) if "unit" in it else self.shelf_price(it["sku"], placed)
            paid = Decimal(it["paid"]) if "paid" in it else unit * qty
            lines.append(OrderLine(
                line_id=f"{order_id}-{i}", sku=it["sku"], quantity=qty, unit_list_price=unit,
                paid_amount=paid, status=it.get("status", LineStatus.ACTIVE),
                is_gift=it.get("gift", False), price_kind=it.get("kind", "list"),
                opened=it.get("opened", False)))
        paid_at = None if status == OrderStatus.AWAITING_PAYMENT else placed + timedelta(minutes=3)
        shipment = None
        if shipped_after is not None:
            shipped = placed + timedelta(days=shipped_after)
            delivered = None if delivered_after is None else placed + timedelta(days=delivered_after)
            shipment = Shipment(
                carrier="顺丰速运 SF Express" if self.seq % 2 else "京东物流 JD Logistics",
                tracking_no=f"SF{1400000000 + self.seq * 104729}",
                shipped_at=shipped, delivered_at=delivered,
                events=tuple(self._events(shipped, delivered, route, exception, stalled_hours)))
        order = Order(order_id=order_id, customer_id=customer, status=status, placed_at=placed,
                      lines=tuple(lines), address=ADDRESSES.get(customer, ""),
                      promised_at=placed + timedelta(days=promised_days), payment_method=payment,
                      paid_at=paid_at, shipment=shipment,
                      refunded_at=placed + timedelta(days=2) if status == OrderStatus.REFUNDED else None)
        self.orders.append(order)
        return order

    def _events(self, shipped: datetime, delivered: datetime | None, route: tuple[str, ...],
                exception: bool, stalled_hours: float | None) -> list[TrackingEvent]:
        end = delivered or self.now
        if stalled_hours is not None:
            end = self.now - timedelta(hours=stalled_hours)
        steps = ["picked_up"] + ["in_transit"] * (len(route) - 1)
        if delivered is not None:
            steps += ["out_for_delivery", "delivered"]
        elif exception:
            steps += ["exception"]
        span = (end - shipped) / max(len(steps) - 1, 1)
        out = []
        for i, code in enumerate(steps):
            city = route[min(i, len(route) - 1)]
            zh, en = _LOC[city]
            dzh, den = _EVENT[code]
            out.append(TrackingEvent(shipped + span * i, code, zh, en, dzh, den))
        return out


def build_demo(now: datetime) -> Demo:
    """The demo data set, with every date relative to ``now``."""
    products, prices = load_catalogue(now)
    b = _Builder(now, prices)
    S, D, P, A = OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PAID, OrderStatus.AWAITING_PAYMENT
    # C001 王芳 (VIP): a late parcel with no tracking update for 30 hours; an old book.
    b.order("C001", 5, S, [{"sku": "SKU-FRIDGE-HAIER-470"}], promised_days=3, shipped_after=1,
            stalled_hours=30)
    b.order("C001", 60, D, [{"sku": "SKU-BOOK-TOLIVE"}], shipped_after=1, delivered_after=3)
    # C002 Emily: the Midea AC dropped from ¥2,750 to ¥2,499 after delivery (claim ¥251);
    # AirPods only dropped with a payment-method discount (not claimable).
    b.order("C002", 25, D, [{"sku": "SKU-AC-MIDEA-35"}], shipped_after=1, delivered_after=3)
    b.order("C002", 15, D, [{"sku": "SKU-AIRPODS-PRO2"}], shipped_after=1, delivered_after=2,
            payment="card")
    # C003 李强: Xiaomi 14 delivered 6 days ago (7-day return closes soon); an unpaid order.
    b.order("C003", 8, D, [{"sku": "SKU-XIAOMI14-256", "kind": "list"}], shipped_after=1,
            delivered_after=2, route=("sz", "gz", "bj"))
    b.order("C003", 0.2, A, [{"sku": "SKU-SKII-230"}])
    # C004 James: a paid, not yet shipped iPhone (cancellable; price dropped since payment),
    # and a delivered MacBook inside its 7-day window? no: 25 days ago, outside.
    b.order("C004", 6, P, [{"sku": "SKU-IPHONE15-128"}], promised_days=7)
    b.order("C004", 25, D, [{"sku": "SKU-MBA-M3"}], shipped_after=1, delivered_after=2)
    # C005 张伟: a delivery exception; a cancelled order; a refunded order.
    b.order("C005", 4, S, [{"sku": "SKU-WASHER-SIEMENS-10"}], promised_days=5, shipped_after=1,
            exception=True, route=("gz", "wh", "gz"))
    b.order("C005", 12, OrderStatus.CANCELLED,
            [{"sku": "SKU-MATE60-512", "status": LineStatus.CANCELLED}])
    b.order("C005", 40, OrderStatus.REFUNDED,
            [{"sku": "SKU-THINKPAD-X1", "status": LineStatus.REFUNDED}], shipped_after=1,
            delivered_after=3)
    # C006 Sarah: hairy crabs delivered 2 days ago (perishable, no no-reason return);
    # a stroller delivered 200 days ago (outside every window); a custom T-shirt.
    b.order("C006", 4, D, [{"sku": "SKU-CRAB-YCL"}], shipped_after=1, delivered_after=2)
    b.order("C006", 205, D, [{"sku": "SKU-STROLLER-GB"}], shipped_after=1, delivered_after=5)
    b.order("C006", 10, D, [{"sku": "SKU-TSHIRT-CUSTOM", "qty": 2}], shipped_after=3,
            delivered_after=5)
    # C007 刘洋: many orders (the bot must ask which one); a flash-sale fridge line,
    # a gift line, a two-line order, an Office key that was opened.
    b.order("C007", 1, P, [{"sku": "SKU-BOOK-3BODY", "unit": "93.00"},
                           {"sku": "SKU-BOOK-TOLIVE"}], promised_days=3)
    b.order("C007", 3, S, [{"sku": "SKU-DRYER-DYSON-HD15"},
                           {"sku": "SKU-DIAPER-PAMPERS-L", "unit": "0.00", "paid": "0.00",
                            "gift": True}], promised_days=4, shipped_after=1, route=("sz", "wh"))
    b.order("C007", 9, D, [{"sku": "SKU-FRIDGE-HAIER-470", "unit": "3999.00", "kind": "flash_sale"}],
            shipped_after=1, delivered_after=3)
    b.order("C007", 20, D, [{"sku": "SKU-OFFICE-365", "opened": True}], shipped_after=0.1,
            delivered_after=0.2)
    b.order("C007", 14, D, [{"sku": "SKU-CHERRY-2KG", "qty": 2}], shipped_after=1, delivered_after=2)
    # C008 陈静 (VIP): formula delivered 5 days ago, now ¥30 cheaper (3 tins: claim ¥90);
    # the Lancome serum bought with a coupon (paid less than list).
    b.order("C008", 7, D, [{"sku": "SKU-FORMULA-FEIHE-3", "qty": 3}], shipped_after=1,
            delivered_after=2, route=("hz", "sh"))
    b.order("C008", 12, D, [{"sku": "SKU-SERUM-LANCOME-50", "paid": "1000.00"}], shipped_after=1,
            delivered_after=3, route=("sh", "hz"))
    # C009 Michael: a Midea AC delivered 40 days ago (quality return closed, exchange open);
    # a big-ticket claim (iPhone dropped ¥600 after delivery: above auto-approval? no, ¥600 > ¥500).
    b.order("C009", 45, D, [{"sku": "SKU-AC-MIDEA-35", "unit": "2999.00"}], shipped_after=2,
            delivered_after=5)
    b.order("C009", 6, D, [{"sku": "SKU-IPHONE15-128", "unit": "5999.00"}], shipped_after=1,
            delivered_after=2)
    # C010 赵敏: no orders at all.
    return Demo(CUSTOMERS, tuple(products), tuple(prices), tuple(b.orders))
