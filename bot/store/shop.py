"""The shop repository: customers, catalogue, price history and orders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.catalog import Category, PriceKind, PricePoint, Product
from bot.errors import CustomerNotFound, OrderNotFound, ProductNotFound
from bot.orders import (
    Customer,
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    TrackingEvent,
    check_cancel,
    check_change_address,
    check_invoice,
)
from bot.store import schema as t
from bot.store.database import write_transaction


class SqlShop:
    """Shop data in any SQLAlchemy database.

    Every read that takes a ``customer_id`` is scoped to that customer, so a
    caller cannot read someone else's order by guessing its id.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- customers -----------------------------------------------------------
    def customers(self) -> list[Customer]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.customers).order_by(t.customers.c.customer_id))
            return [_customer(r) for r in rows]

    def customer(self, customer_id: str) -> Customer:
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.customers).where(
                t.customers.c.customer_id == customer_id)).first()
        if row is None:
            raise CustomerNotFound(customer_id)
        return _customer(row)

    # -- catalogue -----------------------------------------------------------
    def products(self) -> list[Product]:
        with self.engine.connect() as c:
            return [_product(r) for r in c.execute(sa.select(t.products).order_by(t.products.c.sku))]

    def product(self, sku: str) -> Product:
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.products).where(t.products.c.sku == sku)).first()
        if row is None:
            raise ProductNotFound(sku)
        return _product(row)

    def products_by_sku(self, skus: Iterable[str]) -> dict[str, Product]:
        skus = sorted(set(skus))
        if not skus:
            return {}
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.products).where(t.products.c.sku.in_(skus)))
            return {r.sku: _product(r) for r in rows}

    def price_history(self, skus: Iterable[str]) -> list[PricePoint]:
        skus = sorted(set(skus))
        if not skus:
            return []
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.price_points).where(t.price_points.c.sku.in_(skus))
                             .order_by(t.price_points.c.effective_at))
            return [PricePoint(r.sku, r.effective_at, r.price, PriceKind(r.kind)) for r in rows]

    def set_on_sale(self, sku: str, on_sale: bool, conn: sa.engine.Connection | None = None) -> None:
        stmt = sa.update(t.products).where(t.products.c.sku == sku).values(on_sale=on_sale)
        if conn is not None:
            conn.execute(stmt)
            return
        with write_transaction(self.engine) as c:
            if c.execute(stmt).rowcount == 0:
                raise ProductNotFound(sku)

    # -- orders --------------------------------------------------------------
    def orders_of(self, customer_id: str) -> list[Order]:
        """All orders of a customer, newest first."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.orders).where(t.orders.c.customer_id == customer_id)
                             .order_by(t.orders.c.placed_at.desc())).all()
            return _assemble(c, rows)

    def order(self, customer_id: str, order_id: str) -> Order:
        """One order of this customer; someone else's order is ``OrderNotFound`` too."""
        with self.engine.connect() as c:
            return self._order(c, customer_id, order_id)

    def _order(self, c: sa.engine.Connection, customer_id: str, order_id: str) -> Order:
        rows = c.execute(sa.select(t.orders).where(
            t.orders.c.order_id == order_id, t.orders.c.customer_id == customer_id)).all()
        found = _assemble(c, rows)
        if not found:
            raise OrderNotFound(order_id)
        return found[0]

    def order_of_line(self, customer_id: str, line_id: str) -> Order:
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.order_lines.c.order_id).where(
                t.order_lines.c.line_id == line_id)).first()
            if row is None:
                raise OrderNotFound(line_id)
            return self._order(c, customer_id, row.order_id)

    def cancel_order(self, customer_id: str, order_id: str, now: datetime) -> Order:
        """Cancel an order if its state allows it, atomically.

        The rule is checked inside the write transaction, so a shipment that
        lands at the same moment cannot be cancelled by a stale read.
        """
        with write_transaction(self.engine) as c:
            order = self._order(c, customer_id, order_id)
            check_cancel(order)
            c.execute(sa.update(t.orders).where(t.orders.c.order_id == order_id)
                      .values(status=OrderStatus.CANCELLED.value))
            c.execute(sa.update(t.order_lines).where(t.order_lines.c.order_id == order_id)
                      .values(status=LineStatus.CANCELLED.value))
            c.execute(sa.insert(t.order_changes).values(
                order_id=order_id, kind="cancel", detail={"from": order.status.value}, at=now))
            return self._order(c, customer_id, order_id)

    def change_address(self, customer_id: str, order_id: str, address: str, now: datetime) -> Order:
        with write_transaction(self.engine) as c:
            order = self._order(c, customer_id, order_id)
            cleaned = check_change_address(order, address)
            c.execute(sa.update(t.orders).where(t.orders.c.order_id == order_id)
                      .values(address=cleaned))
            c.execute(sa.insert(t.order_changes).values(
                order_id=order_id, kind="address", detail={"from": order.address, "to": cleaned},
                at=now))
            return self._order(c, customer_id, order_id)

    def request_invoice(self, customer_id: str, order_id: str, title: str, now: datetime) -> Order:
        with write_transaction(self.engine) as c:
            order = self._order(c, customer_id, order_id)
            check_invoice(order)
            c.execute(sa.update(t.orders).where(t.orders.c.order_id == order_id)
                      .values(invoice_title=title))
            c.execute(sa.insert(t.order_changes).values(
                order_id=order_id, kind="invoice", detail={"title": title}, at=now))
            return self._order(c, customer_id, order_id)

    # -- loading -------------------------------------------------------------
    def is_empty(self) -> bool:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(t.customers)).scalar_one() == 0

    def load(self, customers: Sequence[Customer], products: Sequence[Product],
             prices: Sequence[PricePoint], orders: Sequence[Order]) -> None:
        """Insert a whole data set in one transaction (the demo seed uses this)."""
        with write_transaction(self.engine) as c:
            if customers:
                c.execute(sa.insert(t.customers), [
                    {"customer_id": x.customer_id, "name": x.name, "language": x.language,
                     "phone": x.phone, "vip": x.vip} for x in customers])
            if products:
                c.execute(sa.insert(t.products), [
                    {**p.to_json(), "category": p.category.value} for p in products])
            if prices:
                c.execute(sa.insert(t.price_points), [
                    {"sku": p.sku, "effective_at": p.effective_at, "price": p.price,
                     "kind": p.kind.value} for p in prices])
            for o in orders:
                _insert_order(c, o)


def _insert_order(c: sa.engine.Connection, o: Order) -> None:
    c.execute(sa.insert(t.orders).values(
        order_id=o.order_id, customer_id=o.customer_id, status=o.status.value,
        placed_at=o.placed_at, address=o.address, promised_at=o.promised_at,
        payment_method=o.payment_method, paid_at=o.paid_at, invoice_title=o.invoice_title,
        refunded_at=o.refunded_at))
    c.execute(sa.insert(t.order_lines), [
        {"line_id": ln.line_id, "order_id": o.order_id, "position": i, "sku": ln.sku,
         "quantity": ln.quantity, "unit_list_price": ln.unit_list_price,
         "paid_amount": ln.paid_amount, "status": ln.status.value, "is_gift": ln.is_gift,
         "price_kind": ln.price_kind, "opened": ln.opened}
        for i, ln in enumerate(o.lines)])
    s = o.shipment
    if s is not None:
        c.execute(sa.insert(t.shipments).values(
            order_id=o.order_id, carrier=s.carrier, tracking_no=s.tracking_no,
            shipped_at=s.shipped_at, delivered_at=s.delivered_at))
        if s.events:
            c.execute(sa.insert(t.tracking_events), [
                {"order_id": o.order_id, "at": e.at, "code": e.code,
                 "location_zh": e.location_zh, "location_en": e.location_en,
                 "description_zh": e.description_zh, "description_en": e.description_en}
                for e in s.events])


def _customer(r: Any) -> Customer:
    return Customer(r.customer_id, r.name, r.language, r.phone, bool(r.vip))


def _product(r: Any) -> Product:
    return Product(sku=r.sku, name_zh=r.name_zh, name_en=r.name_en,
                   category=Category(r.category), aliases=tuple(r.aliases),
                   custom_made=bool(r.custom_made), perishable=bool(r.perishable),
                   digital_content=bool(r.digital_content), on_sale=bool(r.on_sale))


def _assemble(c: sa.engine.Connection, order_rows: Sequence[Any]) -> list[Order]:
    """Turn order rows plus their lines, shipments and events into ``Order`` values."""
    ids = [r.order_id for r in order_rows]
    if not ids:
        return []
    lines: dict[str, list[OrderLine]] = defaultdict(list)
    for r in c.execute(sa.select(t.order_lines).where(t.order_lines.c.order_id.in_(ids))
                       .order_by(t.order_lines.c.order_id, t.order_lines.c.position)):
        lines[r.order_id].append(OrderLine(
            line_id=r.line_id, sku=r.sku, quantity=r.quantity, unit_list_price=r.unit_list_price,
            paid_amount=r.paid_amount, status=LineStatus(r.status), is_gift=bool(r.is_gift),
            price_kind=r.price_kind, opened=bool(r.opened)))
    events: dict[str, list[TrackingEvent]] = defaultdict(list)
    for r in c.execute(sa.select(t.tracking_events).where(t.tracking_events.c.order_id.in_(ids))
                       .order_by(t.tracking_events.c.at)):
        events[r.order_id].append(TrackingEvent(r.at, r.code, r.location_zh, r.location_en,
                                                r.description_zh, r.description_en))
    ships = {r.order_id: r for r in c.execute(
        sa.select(t.shipments).where(t.shipments.c.order_id.in_(ids)))}
    out = []
    for r in order_rows:
        s = ships.get(r.order_id)
        shipment = None if s is None else Shipment(
            carrier=s.carrier, tracking_no=s.tracking_no, shipped_at=s.shipped_at,
            delivered_at=s.delivered_at, events=tuple(events[r.order_id]))
        out.append(Order(
            order_id=r.order_id, customer_id=r.customer_id, status=OrderStatus(r.status),
            placed_at=r.placed_at, lines=tuple(lines[r.order_id]), address=r.address,
            promised_at=r.promised_at, payment_method=r.payment_method, paid_at=r.paid_at,
            shipment=shipment, invoice_title=r.invoice_title, refunded_at=r.refunded_at))
    return out
