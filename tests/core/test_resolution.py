"""Which order a question is about: id, product, context, the only fitting one, or ask."""

from __future__ import annotations

import pytest

from bot.orders import OrderStatus
from bot.resolution import resolve_order
from bot.store.seed import Demo


def products(demo: Demo):
    return {p.sku: p for p in demo.products}


def orders_of(demo: Demo, customer: str):
    return sorted((o for o in demo.orders if o.customer_id == customer),
                  key=lambda o: o.placed_at, reverse=True)


class TestResolveOrder:
    def test_an_order_id_in_the_message_wins(self, demo: Demo) -> None:
        mine = orders_of(demo, "C007")
        r = resolve_order(mine, "order_status", order_id=mine[-1].order_id)
        assert r.order == mine[-1]

    def test_someone_elses_id_is_unknown_and_offers_my_orders(self, demo: Demo) -> None:
        theirs = orders_of(demo, "C002")[0].order_id
        r = resolve_order(orders_of(demo, "C007"), "order_status", order_id=theirs)
        assert r.order is None and r.unknown_id == theirs
        assert all(o.customer_id == "C007" for o in r.candidates)

    @pytest.mark.parametrize(("mention", "sku"), [
        ("吹风机", "SKU-DRYER-DYSON-HD15"), ("dyson", "SKU-DRYER-DYSON-HD15"),
        ("车厘子", "SKU-CHERRY-2KG"), ("cherries", "SKU-CHERRY-2KG"),
    ])
    def test_a_product_mention_finds_its_order(self, demo: Demo, mention: str, sku: str) -> None:
        r = resolve_order(orders_of(demo, "C007"), "order_status", product=mention,
                          products=products(demo))
        assert r.order is not None and r.order.lines[0].sku == sku

    def test_the_only_parcel_in_transit_answers_where_is_my_parcel(self, demo: Demo) -> None:
        r = resolve_order(orders_of(demo, "C001"), "track_shipment")
        assert r.order is not None and r.order.status == OrderStatus.SHIPPED

    def test_several_fitting_orders_are_offered_newest_first(self, demo: Demo) -> None:
        r = resolve_order(orders_of(demo, "C007"), "order_status")
        assert r.order is None and len(r.candidates) == 2
        assert r.candidates[0].placed_at > r.candidates[1].placed_at

    def test_the_order_under_discussion_is_kept(self, demo: Demo) -> None:
        mine = orders_of(demo, "C007")
        r = resolve_order(mine, "track_shipment", context_order_id=mine[3].order_id)
        assert r.order == mine[3]

    def test_no_orders_gives_nothing_to_ask(self) -> None:
        r = resolve_order([], "order_status")
        assert r.order is None and r.candidates == ()
