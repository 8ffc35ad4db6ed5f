"""Order rules: lateness, cancel, address change and invoices, decided from values and ``now``."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.errors import NotAllowed, OrderNotFound
from bot.orders import (
    Delivery,
    OrderStatus,
    Shipment,
    check_cancel,
    check_change_address,
    check_invoice,
    delivery_state,
    find_order,
)
from bot.store.seed import Demo
from tests.conftest import NOW


def order_of(demo: Demo, customer: str, status: OrderStatus):
    return next(o for o in demo.orders if o.customer_id == customer and o.status == status)


class TestDeliveryState:
    """A parcel is late from the first second after its promised time."""

    @pytest.mark.parametrize(("offset", "expected"), [
        (timedelta(seconds=-1), Delivery.ON_TIME),
        (timedelta(0), Delivery.ON_TIME),
        (timedelta(seconds=1), Delivery.LATE),
    ])
    def test_promise_boundary(self, demo: Demo, offset: timedelta, expected: Delivery) -> None:
        shipped = order_of(demo, "C001", OrderStatus.SHIPPED)
        assert shipped.promised_at is not None
        assert delivery_state(shipped, shipped.promised_at + offset) == expected

    def test_seeded_late_parcel_is_late(self, demo: Demo) -> None:
        assert delivery_state(order_of(demo, "C001", OrderStatus.SHIPPED), NOW) == Delivery.LATE

    def test_exception_wins(self, demo: Demo) -> None:
        assert delivery_state(order_of(demo, "C005", OrderStatus.SHIPPED), NOW) == Delivery.EXCEPTION

    def test_unpaid_and_cancelled_have_no_delivery(self, demo: Demo) -> None:
        assert delivery_state(order_of(demo, "C003", OrderStatus.AWAITING_PAYMENT), NOW) == Delivery.NONE
        assert delivery_state(order_of(demo, "C005", OrderStatus.CANCELLED), NOW) == Delivery.NONE

    def test_delivered_after_promise_is_delivered_late(self, demo: Demo) -> None:
        o = order_of(demo, "C002", OrderStatus.DELIVERED)
        assert o.shipment is not None and o.promised_at is not None
        late = replace(o, shipment=replace(o.shipment, delivered_at=o.promised_at + timedelta(seconds=1)))
        assert delivery_state(late, NOW) == Delivery.DELIVERED_LATE


class TestCancel:
    """Cancel is allowed before shipment only; afterwards the bot offers a return."""

    @pytest.mark.parametrize(("customer", "status", "reason"), [
        ("C004", OrderStatus.PAID, None),
        ("C003", OrderStatus.AWAITING_PAYMENT, None),
        ("C001", OrderStatus.SHIPPED, "already_shipped"),
        ("C002", OrderStatus.DELIVERED, "already_shipped"),
        ("C005", OrderStatus.CANCELLED, "already_cancelled"),
        ("C005", OrderStatus.REFUNDED, "refunded"),
    ])
    def test_states(self, demo: Demo, customer: str, status: OrderStatus, reason: str | None) -> None:
        order = order_of(demo, customer, status)
        if reason is None:
            check_cancel(order)
        else:
            with pytest.raises(NotAllowed) as info:
                check_cancel(order)
            assert info.value.reason == reason

    def test_a_paid_order_handed_to_the_carrier_counts_as_shipped(self, demo: Demo) -> None:
        paid = order_of(demo, "C004", OrderStatus.PAID)
        handed = replace(paid, shipment=Shipment("SF", "SF1", shipped_at=NOW))
        with pytest.raises(NotAllowed, match="already_shipped"):
            check_cancel(handed)


class TestAddress:
    @pytest.mark.parametrize("address", ["上海市浦东新区世纪大道100号", "Room 1, 2 Century Ave, Shanghai"])
    def test_before_shipment_the_address_is_cleaned_and_accepted(self, demo: Demo, address: str) -> None:
        order = order_of(demo, "C004", OrderStatus.PAID)
        assert check_change_address(order, f"  {address}  ") == address

    @pytest.mark.parametrize("address", ["", "短", "x" * 201])
    def test_unusable_addresses_are_refused(self, demo: Demo, address: str) -> None:
        with pytest.raises(NotAllowed, match="address_invalid"):
            check_change_address(order_of(demo, "C004", OrderStatus.PAID), address)

    def test_after_shipment_the_address_is_fixed(self, demo: Demo) -> None:
        with pytest.raises(NotAllowed, match="already_shipped"):
            check_change_address(order_of(demo, "C001", OrderStatus.SHIPPED), "上海市浦东新区世纪大道100号")


class TestInvoice:
    def test_unpaid_orders_get_no_invoice(self, demo: Demo) -> None:
        with pytest.raises(NotAllowed, match="not_paid"):
            check_invoice(order_of(demo, "C003", OrderStatus.AWAITING_PAYMENT))

    def test_delivered_orders_get_one(self, demo: Demo) -> None:
        check_invoice(order_of(demo, "C002", OrderStatus.DELIVERED))


class TestOwnership:
    """Someone else's order is indistinguishable from a missing one."""

    def test_other_customers_order_is_not_found(self, demo: Demo) -> None:
        theirs = order_of(demo, "C002", OrderStatus.DELIVERED)
        with pytest.raises(OrderNotFound):
            find_order(demo.orders, "C001", theirs.order_id)
        with pytest.raises(OrderNotFound):
            find_order(demo.orders, "C001", "999999999999")
        assert find_order(demo.orders, "C002", theirs.order_id) == theirs
