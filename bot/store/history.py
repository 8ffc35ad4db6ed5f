"""Synthetic past conversations: shopper histories and what each shopper asked first.

The issue predictor (``bot.prediction``) needs examples to learn from and to be
measured on, and real transcripts are not in the repository. ``generate``
builds them: each ``Episode`` is one shopper's situation (orders with the same
shapes as ``bot.store.seed``: categories, dates, promised times, late and
stalled parcels, delivery exceptions, unpaid, cancelled and refunded orders,
price drops of every kind, claims, tickets, other shoppers' complaints, past
contacts) and the first intent of their conversation, with the order it concerned.

How a shopper picks what to ask is a noisy model of behaviour, written here
independently of the predictor's rules (it never calls them):

* each order gets weights per issue from what the shopper *sees*: a late or
  quiet parcel, a lower price on the shelf (claimable or not: a coupon price
  makes people ask too), an appliance to install, a refund they wait for, a
  return window they know is closing, contacts they already made;
* hidden factors the predictor cannot see move those weights: a persona
  (price hawks, anxious trackers) and a faulty unit (more likely when other
  shoppers complain about the same SKU);
* the order is drawn by its salience (total weight times a recency factor)
  cubed, then the issue by its weight squared: attention goes to the most
  pressing order and to its most pressing question;
* noise, 17% in all: 5% ask about something unrelated to their orders
  ("other"), 5% about a random issue of their most pressing order, 5% about a
  plausible issue of another order (when they have one), 2% about a random
  issue of a random order.
  ``noise`` scales these shares (0 for none, 1 as described).

Shoppers open the chat with a probability that grows with how pressing their
orders are, so conversations over-represent shoppers with problems, as
customer-service logs do. Each episode also carries ``truth``, the exact
probability of every label under this process: the ceiling a predictor can
reach, reported by ``bench.prediction``.

All randomness comes from one ``random.Random(seed)``: the same arguments give
the same episodes. Generate training and held-out sets with different seeds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar

from bot.andon import Complaint
from bot.catalog import Category, PriceKind, PricePoint, Product, price_at
from bot.decision import require_aware
from bot.errors import InvalidData
from bot.orders import LineStatus, Order, OrderLine, OrderStatus, Shipment, TrackingEvent
from bot.prediction import ISSUES, OTHER, Contact, CustomerHistory
from bot.protection import ClaimRecord, ClaimStatus
from bot.store.seed import load_catalogue

_T = TypeVar("_T")
#: A label: (issue, order_id or None).
Label = tuple[str, str | None]
#: An order line to build: (sku, quantity, status).
_Item = tuple[str, int, LineStatus]

#: The fixed clock of the benchmark and of the training script, so runs are reproducible.
REFERENCE_NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

#: How each label was drawn (for analysis; never a feature).
DRIVERS = ("situation", "other", "unrelated_issue", "other_order", "random", "no_orders")

_SHELF = (PriceKind.LIST, PriceKind.PROMOTION, PriceKind.FLASH_SALE, PriceKind.CLEARANCE)
_CENT = Decimal("0.01")
_ROUTES = (("sh", "wh", "bj"), ("sz", "gz", "bj"), ("gz", "wh", "gz"), ("hz", "sh"), ("sh", "hz"),
           ("bj", "sh"), ("sz", "wh"))
_LOC = {"sh": ("上海", "Shanghai"), "bj": ("北京", "Beijing"), "gz": ("广州", "Guangzhou"),
        "sz": ("深圳", "Shenzhen"), "hz": ("杭州", "Hangzhou"), "wh": ("武汉", "Wuhan")}
_EVENT = {
    "picked_up": ("快递员已揽收", "Picked up by the courier"),
    "in_transit": ("运输中，已到达转运中心", "In transit, arrived at the sorting centre"),
    "out_for_delivery": ("派送中，快递员正在为您派件", "Out for delivery"),
    "delivered": ("已签收，感谢使用", "Delivered and signed for"),
    "exception": ("派送异常：收件人电话无法接通，包裹滞留网点",
                  "Delivery exception: recipient unreachable, parcel held at the depot"),
}

#: Scenario of one order -> relative frequency.
SCENARIOS: Mapping[str, float] = MappingProxyType({
    "unpaid": 5, "preparing": 8, "unshipped_late": 3, "in_transit": 13, "late": 6, "quiet": 3,
    "exception": 3, "delivered_recent": 16, "delivered": 30, "cancelled": 5, "refunded": 4,
})
#: Orders per shopper -> relative frequency.
ORDER_COUNTS: Mapping[int, float] = MappingProxyType({0: 5, 1: 30, 2: 22, 3: 15, 4: 10, 5: 7, 6: 5,
                                                      7: 3, 8: 3})
PERSONAS: Mapping[str, float] = MappingProxyType({"steady": 0.6, "price_hawk": 0.2, "anxious": 0.2})

#: Noise: "other", a random issue about the most pressing order, a plausible issue
#: about another order, a random issue about a random order (17% in all; "another
#: order" needs two orders, so about 16% of shoppers in practice).
P_OTHER = 0.05
P_UNRELATED_ISSUE = 0.05
P_OTHER_ORDER = 0.05
P_RANDOM = 0.02
#: Exponents on order salience and issue weight in the situation draw (1: proportional):
#: attention goes to the most pressing order, and to its most pressing question.
ORDER_SHARPEN = 3.0
ISSUE_SHARPEN = 2.0
#: Weight of questions unrelated to any order, in the chance to open the chat.
UNRELATED = 0.3
CONTACT_SCALE = 3.0


@dataclass(frozen=True)
class Episode:
    """One synthetic shopper and the first thing they asked.

    Attributes:
        history: What the predictor may see.
        issue: The first intent of the conversation (``bot.prediction.LABELS``).
        order_id: The order it concerned; ``None`` for "other" or an order-less question.
        language: The shopper's language, "zh" or "en".
        driver: How the label was drawn (``DRIVERS``), for analysis only.
        truth: The probability the process gave every (issue, order_id) label,
            hidden factors included: the benchmark's ceiling, never a feature.
    """

    history: CustomerHistory
    issue: str
    order_id: str | None
    language: str
    driver: str
    truth: Mapping[Label, float] = field(default_factory=dict)


@dataclass
class _Situation:
    """What the generator knows about one order, including what the predictor cannot see."""

    order: Order
    weights: dict[str, float] = field(default_factory=dict)
    last_activity: datetime | None = None

    def add(self, issue: str, weight: float) -> None:
        self.weights[issue] = self.weights.get(issue, 0.0) + weight

    def add_all(self, **weights: float) -> None:
        for issue, weight in weights.items():
            self.add(issue, weight)


def generate(n_customers: int, seed: int, now: datetime = REFERENCE_NOW,
             catalogue: Sequence[Product] | None = None, noise: float = 1.0) -> list[Episode]:
    """``n_customers`` synthetic episodes drawn from ``random.Random(seed)``, relative to ``now``.

    ``catalogue`` defaults to the demo catalogue (``bot/store/demo/products.yml``),
    whose first list price of each SKU is its base price; given products get a
    base price drawn from the seed. ``noise`` scales the noise shares (0..2).

    Raises:
        InvalidData: ``now`` is naive, ``n_customers`` negative or ``noise`` outside 0..2.
    """
    require_aware("now", now)
    if n_customers < 0:
        raise InvalidData("n_customers", f"{n_customers!r}; use 0 or more")
    if not 0 <= noise <= 2:
        raise InvalidData("noise", f"{noise!r}; use 0 (none) to 2 (twice the described shares)")
    rng = random.Random(seed)
    if catalogue is None:
        products, points = load_catalogue(now)
        base = _base_prices(points)
    else:
        products = list(catalogue)
        base = {p.sku: Decimal(rng.randrange(20, 8000)) for p in products}
    by_sku = MappingProxyType({p.sku: p for p in products})
    episodes: list[Episode] = []
    drawn = 0
    while len(episodes) < n_customers:
        shopper = _Shopper(rng, now, f"S{seed % 1000:03d}{drawn:06d}", products, by_sku, base, noise)
        drawn += 1
        shopper.situate()
        if rng.random() < shopper.contact_probability():
            episodes.append(shopper.episode())
    return episodes


def _base_prices(points: Sequence[PricePoint]) -> dict[str, Decimal]:
    first: dict[str, PricePoint] = {}
    for p in points:
        if p.sku not in first or p.effective_at < first[p.sku].effective_at:
            first[p.sku] = p
    return {sku: p.price for sku, p in first.items()}


class _Shopper:
    """Builds one episode; every draw goes through the shared ``rng``."""

    def __init__(self, rng: random.Random, now: datetime, customer_id: str, products: Sequence[Product],
                 by_sku: Mapping[str, Product], base: Mapping[str, Decimal], noise: float) -> None:
        self.rng = rng
        self.noise = noise
        self.now = now
        self.customer_id = customer_id
        self.products = products
        self.by_sku = by_sku
        self.base = base
        self.prices: list[PricePoint] = []
        self.priced: set[str] = set()
        self.claims: list[ClaimRecord] = []
        self.complaints: list[Complaint] = []
        self.tickets: list[str] = []
        self.contacts: list[Contact] = []
        self.situations: list[_Situation] = []
        self.persona = _pick(rng, PERSONAS)
        self.seq = 0

    # ----------------------------------------------------------------- the episode

    def situate(self) -> None:
        """Draw the shopper's orders and everything around them."""
        for _ in range(_pick(self.rng, ORDER_COUNTS)):
            self._order(_pick(self.rng, SCENARIOS))
        self._past_contacts()

    def contact_probability(self) -> float:
        """Shoppers with something going on open the chat; others rarely do.

        ``1 - exp(-(pressure + UNRELATED) / CONTACT_SCALE)`` where pressure is
        the summed salience of their orders: a late parcel alone (about 8) makes
        a contact almost certain, one old delivered order (about 0.3) about 15%.
        """
        pressure = sum(self._salience(s) for s in self.situations)
        return 1 - math.exp(-(pressure + UNRELATED) / CONTACT_SCALE)

    def episode(self) -> Episode:
        language = "zh" if self.rng.random() < 0.6 else "en"
        issue, order_id, driver, truth = self._label()
        history = CustomerHistory(
            customer_id=self.customer_id,
            orders=tuple(s.order for s in self.situations),
            products=self.by_sku,
            prices=tuple(self.prices),
            claims=tuple(self.claims),
            complaints=tuple(self.complaints),
            open_tickets=tuple(self.tickets),
            contacts=tuple(sorted(self.contacts, key=lambda c: c.at)),
        )
        return Episode(history, issue, order_id, language, driver, MappingProxyType(truth))

    def _components(self) -> list[tuple[str, float, dict[Label, float]]]:
        """The label process as a mixture: (driver, weight, distribution over labels)."""
        if not self.situations:
            return [("no_orders", 1.0, {(OTHER, None): 0.9, ("payment_problem", None): 0.05,
                                        ("invoice", None): 0.05})]
        salience = [self._salience(s) for s in self.situations]
        top = self.situations[max(range(len(salience)), key=lambda i: salience[i])]
        n = len(self.situations)
        uniform = 1 / len(ISSUES)
        out: list[tuple[str, float, dict[Label, float]]] = [
            ("other", P_OTHER * self.noise, {(OTHER, None): 1.0}),
            ("unrelated_issue", P_UNRELATED_ISSUE * self.noise,
             {(i, top.order.order_id): uniform for i in ISSUES}),
            ("random", P_RANDOM * self.noise,
             {(i, s.order.order_id): uniform / n for s in self.situations for i in ISSUES}),
        ]
        situation = 1 - (P_OTHER + P_UNRELATED_ISSUE + P_RANDOM) * self.noise
        if n > 1:
            others = [s for s in self.situations if s is not top]
            dist: dict[Label, float] = {}
            for s in others:
                for issue, p in self._issues(s, sharpen=1.0).items():
                    dist[(issue, s.order.order_id)] = p / len(others)
            out.append(("other_order", P_OTHER_ORDER * self.noise, dist))
            situation -= P_OTHER_ORDER * self.noise
        # The situation: the most pressing order draws attention more than in proportion.
        pressing = [x ** ORDER_SHARPEN for x in salience]
        total = sum(pressing)
        dist = {}
        for s, weight in zip(self.situations, pressing, strict=True):
            share = weight / total if total > 0 else (1.0 if s is top else 0.0)
            for issue, p in self._issues(s, sharpen=ISSUE_SHARPEN).items():
                dist[(issue, s.order.order_id)] = dist.get((issue, s.order.order_id), 0.0) + share * p
        out.append(("situation", situation, dist))
        return out

    def _label(self) -> tuple[str, str | None, str, dict[Label, float]]:
        """Draw (issue, order_id, driver) from the mixture, and the mixture's total distribution."""
        components = self._components()
        truth: dict[Label, float] = {}
        for _, weight, dist in components:
            for label, p in dist.items():
                truth[label] = truth.get(label, 0.0) + weight * p
        driver, _, dist = self.rng.choices(components, weights=[c[1] for c in components])[0]
        labels = sorted(dist, key=lambda lb: (lb[0], lb[1] or ""))
        issue, order_id = self.rng.choices(labels, weights=[dist[lb] for lb in labels])[0]
        return issue, order_id, driver, truth

    def _issues(self, s: _Situation, sharpen: float) -> dict[str, float]:
        """P(issue | the shopper asks about this order): its weights to the power ``sharpen``."""
        weights = {i: w ** sharpen for i, w in sorted(s.weights.items()) if w > 0}
        if not weights:
            weights = {"order_status": 1.0, "invoice": 1.0, "return_item": 1.0}
        total = sum(weights.values())
        return {i: w / total for i, w in weights.items()}

    def _issue_of(self, s: _Situation, sharpen: float) -> str:
        weights = self._issues(s, sharpen)
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _salience(self, s: _Situation) -> float:
        age = (self.now - (s.last_activity or s.order.placed_at)).total_seconds() / 86400
        recency = 1.0 if age <= 10 else 0.7 if age <= 30 else 0.4 if age <= 90 else 0.2
        return sum(w for w in s.weights.values() if w > 0) * recency

    # ----------------------------------------------------------------- orders

    def _order(self, scenario: str) -> None:
        build = {
            "unpaid": self._unpaid, "preparing": self._unshipped, "unshipped_late": self._unshipped,
            "in_transit": self._shipped, "late": self._shipped, "quiet": self._shipped,
            "exception": self._shipped, "delivered_recent": self._delivered, "delivered": self._delivered,
            "refunded": self._delivered, "cancelled": self._cancelled,
        }[scenario]
        s = build(scenario, self._items())
        self._price_watch(s)
        self._after_sales(s)
        self.situations.append(s)

    def _unpaid(self, scenario: str, items: list[_Item]) -> _Situation:
        placed = self.now - _days(self.rng.uniform(0.02, 1.5))
        order = self._build(placed, OrderStatus.AWAITING_PAYMENT, items, promised=placed + _days(3))
        s = _Situation(order, last_activity=placed)
        s.add_all(payment_problem=3.0, cancel_order=1.5, order_status=0.6, change_address=0.2)
        return s

    def _unshipped(self, scenario: str, items: list[_Item]) -> _Situation:
        u, now = self.rng.uniform, self.now
        late_ish = scenario == "unshipped_late"
        placed = now - _days(u(2.2, 8) if late_ish else u(0.05, 1.8))
        promised = placed + _days(u(2, 5) if late_ish else u(2.5, 6))
        s = _Situation(self._build(placed, OrderStatus.PAID, items, promised=promised), last_activity=placed)
        if late_ish:
            past = promised < now
            s.add_all(delivery_time=3.5 if past else 2.0, cancel_order=1.6, order_status=1.2,
                      complaint=0.5 if past else 0.1)
        else:
            s.add_all(delivery_time=0.7, order_status=0.6, cancel_order=0.6, change_address=0.5, invoice=0.2)
        return s

    def _shipped(self, scenario: str, items: list[_Item]) -> _Situation:
        rng, now, u = self.rng, self.now, self.rng.uniform
        if scenario == "late":
            placed = now - _days(u(4, 10))
            promised = placed + _days(u(2, 3.8))
        elif scenario == "exception":
            placed = now - _days(u(2, 6))
            promised = placed + _days(u(3, 6))
        else:
            placed = now - _days(u(1.2, 4))
            promised = max(placed + _days(u(3, 6)), now + _hours(u(2, 48)))
        shipped = placed + _days(u(0.2, 1.0))
        stalled = u(1, 20)
        if scenario == "quiet":
            stalled = u(18, 40)
        elif scenario == "late" and rng.random() < 0.5:
            stalled = u(24, 72)
        last = max(now - _hours(stalled), shipped + _hours(1))
        order = self._build(placed, OrderStatus.SHIPPED, items, promised=promised, shipped=shipped,
                            last_event=last, exception=scenario == "exception")
        s = _Situation(order, last_activity=last)
        quiet = (now - last).total_seconds() / 3600
        if scenario == "exception":
            s.add_all(track_shipment=3.0, delivery_time=1.6, change_address=1.2, complaint=0.8)
        elif promised < now:
            s.add_all(delivery_time=3.5, track_shipment=2.8 + (1.5 if quiet >= 24 else 0),
                      complaint=0.8 + (0.4 if quiet >= 24 else 0), order_status=0.5, cancel_order=0.2)
        elif quiet >= 18:
            s.add_all(track_shipment=2.4 if quiet >= 24 else 1.6, delivery_time=1.2)
        else:
            s.add_all(track_shipment=0.9, delivery_time=0.8, order_status=0.3, change_address=0.15)
        if self.persona == "anxious":
            s.weights["track_shipment"] *= 1.6
            s.weights["delivery_time"] *= 1.6
        return s

    def _delivered(self, scenario: str, items: list[_Item]) -> _Situation:
        now, u = self.now, self.rng.uniform
        ago = {"delivered_recent": (0.05, 7), "delivered": (7, 150), "refunded": (3, 60)}[scenario]
        delivered = now - _days(u(*ago))
        placed = delivered - _days(u(1, 5))
        shipped = placed + _days(u(0.1, 0.9))
        promised = placed + _days(u(2, 5))
        if scenario != "refunded":
            order = self._build(placed, OrderStatus.DELIVERED, items, promised=promised, shipped=shipped,
                                delivered=delivered)
            s = _Situation(order, last_activity=delivered)
            self._delivered_weights(s, (now - delivered).total_seconds() / 86400)
            return s
        refunded_at = min(delivered + _days(u(1, 10)), now - _hours(u(1, 48)))
        items = [(sku, qty, LineStatus.REFUNDED) for sku, qty, _ in items]
        order = self._build(placed, OrderStatus.REFUNDED, items, promised=promised, shipped=shipped,
                            delivered=delivered, refunded_at=refunded_at)
        s = _Situation(order, last_activity=refunded_at)
        s.add_all(refund_status=2.0 if now - refunded_at <= _days(14) else 0.2, order_status=0.1)
        return s

    def _cancelled(self, scenario: str, items: list[_Item]) -> _Situation:
        placed = self.now - _days(self.rng.uniform(0.3, 40))
        paid = self.rng.random() < 0.6
        items = [(sku, qty, LineStatus.CANCELLED) for sku, qty, _ in items]
        order = self._build(placed, OrderStatus.CANCELLED, items, promised=placed + _days(3), paid=paid)
        s = _Situation(order, last_activity=placed)
        if paid:
            s.add("refund_status", 2.0 if self.now - placed <= _days(14) else 0.3)
        s.add("order_status", 0.2)
        return s

    def _delivered_weights(self, s: _Situation, age_days: float) -> None:
        products = [self.by_sku[ln.sku] for ln in s.order.lines]
        if age_days <= 7:
            s.add("return_item", 0.8)
            s.add("exchange_item", 0.3)
            s.add("invoice", 0.5)
            s.add("complaint", 0.2)
            s.add("order_status", 0.2)
            if any(p.category == Category.APPLIANCES for p in products):
                s.add("order_status", 1.2)  # when does the installer come?
            returnable = any(not (p.perishable or p.custom_made or p.digital_content
                                  or p.category in (Category.FRESH, Category.NEWSPAPERS)) for p in products)
            if returnable and age_days >= 4.5:
                s.add("return_item", 0.8)  # "7 days" is common knowledge: last chance
        else:
            s.add("invoice", 0.25)
            s.add("exchange_item", 0.15)
            s.add("return_item", 0.3 if age_days <= 30 else 0.1)
            s.add("complaint", 0.1)

    def _price_watch(self, s: _Situation) -> None:
        """The shopper notices a lower shelf price while the purchase is fresh in mind."""
        order = s.order
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.AWAITING_PAYMENT):
            return
        anchor = order.delivered_at or order.paid_at or order.placed_at
        if self.now - anchor > timedelta(days=35):
            return
        for line in order.lines:
            point = price_at(self.prices, line.sku, self.now)
            if point is None or point.price >= line.paid_per_unit:
                continue
            drop = float((line.paid_per_unit - point.price) / line.paid_per_unit)
            claimable_kind = point.kind in (PriceKind.LIST, PriceKind.PROMOTION)
            weight = (3.0 if claimable_kind else 1.5) * min(1.0, 0.4 + drop * 5)
            if self.persona == "price_hawk":
                weight *= 2.0
            s.add("price_protection", weight)
            if claimable_kind and self.rng.random() < 0.3:
                self._claim(s, line, point)
            break

    def _claim(self, s: _Situation, line: OrderLine, point: PricePoint) -> None:
        """The shopper already claimed this drop; an unpaid claim makes them ask where it is."""
        amount = ((line.paid_per_unit - point.price) * line.quantity).quantize(_CENT)
        age = min((self.now - point.effective_at).total_seconds() / 86400, 4.0)
        created = self.now - timedelta(days=self.rng.uniform(0.02, max(age, 0.03)))
        r = self.rng.random()
        if amount > Decimal("500.00"):
            status = ClaimStatus.PENDING_REVIEW if r < 0.6 else ClaimStatus.PAID
        else:
            status = ClaimStatus.APPROVED if r < 0.45 else ClaimStatus.PAID
        self.claims.append(ClaimRecord(f"PP{len(self.claims) + 1:04d}{self.seq:02d}", line.line_id, amount,
                                       point.price, status, created))
        s.weights["price_protection"] = s.weights.get("price_protection", 0.0) * 0.15
        if status != ClaimStatus.PAID:
            s.add("refund_status", 3.5)

    def _after_sales(self, s: _Situation) -> None:
        """Tickets, faulty units and other shoppers' complaints about the same SKUs."""
        rng, now, order = self.rng, self.now, s.order
        in_hands = order.status in (OrderStatus.DELIVERED, OrderStatus.SHIPPED)
        anchor = order.delivered_at or order.placed_at
        if in_hands and now - anchor <= timedelta(days=60) and rng.random() < 0.06:
            self.tickets.append(order.order_id)
            s.add("refund_status", 2.5)
            s.add("complaint", 1.2)
        if not in_hands:
            return
        sku = order.lines[0].sku
        bad_batch = rng.random() < 0.1
        if bad_batch:
            for _ in range(rng.randint(1, 3)):
                age = rng.uniform(0, 14) if rng.random() < 0.75 else rng.uniform(14, 25)
                who = f"X{rng.randrange(10 ** 6):06d}"
                self.complaints.append(Complaint(f"CP{rng.randrange(10 ** 8):08d}", who, sku, "noise",
                                                 "噪音很大 / very noisy", now - timedelta(days=age)))
        recent = order.status == OrderStatus.DELIVERED and now - anchor <= timedelta(days=60)
        if recent and rng.random() < (0.45 if bad_batch else 0.05):
            s.add("exchange_item", 2.5)
            s.add("return_item", 1.5)
            s.add("complaint", 2.0)

    def _past_contacts(self) -> None:
        """Some shoppers already wrote about an order; repeated contacts make them ask again."""
        rng, now = self.rng, self.now
        if not self.situations or rng.random() >= 0.2:
            return
        salience = [self._salience(s) + 0.05 for s in self.situations]
        s = rng.choices(self.situations, weights=salience)[0]
        first = max(s.order.placed_at, now - timedelta(days=10))
        span = max((now - first).total_seconds(), 60.0)
        asked = self._issue_of(s, sharpen=1.0)
        count = rng.choice((1, 1, 2, 2, 3))
        for _ in range(count):
            at = first + timedelta(seconds=rng.uniform(0, span))
            self.contacts.append(Contact(s.order.order_id, asked, at))
        recent = [c for c in self.contacts if c.order_id == s.order.order_id
                  and now - c.at <= timedelta(days=7)]
        if len(recent) >= 2:
            s.add(asked, 3.0)
            s.add("complaint", 1.5)
        elif recent:
            s.add(asked, 1.0)

    # ----------------------------------------------------------------- building blocks

    def _items(self) -> list[_Item]:
        rng = self.rng
        count = 1 if rng.random() < 0.85 else 2
        chosen = rng.sample(list(self.products), count)
        out = []
        for p in chosen:
            bulk = p.category in (Category.FRESH, Category.MOTHER_BABY, Category.BOOKS)
            qty = rng.choice((1, 1, 2, 3)) if bulk else 1
            out.append((p.sku, qty, LineStatus.ACTIVE))
        return out

    def _ensure_prices(self, sku: str) -> None:
        """Give ``sku`` a price history: a list price, then maybe one price event."""
        if sku in self.priced:
            return
        self.priced.add(sku)
        rng, now = self.rng, self.now
        base = self.base.get(sku, Decimal("100.00"))
        self.prices.append(PricePoint(sku, now - timedelta(days=400), base, PriceKind.LIST))
        r = rng.random()

        def cut(lo: float, hi: float) -> Decimal:
            return max((base * Decimal(str(round(1 - rng.uniform(lo, hi), 3)))).quantize(Decimal("1")), _CENT)

        if r < 0.24:
            self.prices.append(PricePoint(sku, now - timedelta(days=rng.uniform(0.3, 45)),
                                          cut(0.03, 0.22), PriceKind.PROMOTION))
        elif r < 0.30:
            self.prices.append(PricePoint(sku, now - timedelta(days=rng.uniform(0.1, 4)),
                                          cut(0.08, 0.3), PriceKind.FLASH_SALE))
        elif r < 0.38:
            kind = PriceKind.COUPON if rng.random() < 0.6 else PriceKind.PAYMENT_DISCOUNT
            self.prices.append(PricePoint(sku, now - timedelta(days=rng.uniform(0.2, 10)),
                                          cut(0.03, 0.15), kind))
        elif r < 0.46:
            start = rng.uniform(15, 90)
            self.prices.append(PricePoint(sku, now - timedelta(days=start), cut(0.05, 0.2),
                                          PriceKind.PROMOTION))
            self.prices.append(PricePoint(sku, now - timedelta(days=start - rng.uniform(3, 12)), base,
                                          PriceKind.LIST))

    def _build(self, placed: datetime, status: OrderStatus, items: list[_Item], *,
               promised: datetime, shipped: datetime | None = None, delivered: datetime | None = None,
               last_event: datetime | None = None, exception: bool = False,
               refunded_at: datetime | None = None, paid: bool = True) -> Order:
        """An order shaped like ``bot.store.seed``'s: same ids, lines, tracking events and carriers."""
        rng = self.rng
        self.seq += 1
        order_id = placed.strftime("%y%m%d") + f"{(self.seq * 7919 + rng.randrange(1000) * 104729) % 1000000:06d}"
        lines = []
        for i, (sku, qty, line_status) in enumerate(items, start=1):
            self._ensure_prices(sku)
            point = price_at(self.prices, sku, placed, kinds=_SHELF)
            unit = point.price if point is not None else self.base.get(sku, Decimal("100.00"))
            paid_amount = unit * qty
            if rng.random() < 0.15:  # a checkout coupon lowers what was actually paid
                paid_amount = (paid_amount * Decimal(str(round(1 - rng.uniform(0.02, 0.1), 3)))).quantize(_CENT)
            kind = point.kind.value if point is not None else "list"
            product = self.by_sku[sku]
            lines.append(OrderLine(f"{order_id}-{i}", sku, qty, unit, paid_amount, line_status,
                                   price_kind=kind, opened=product.digital_content and rng.random() < 0.5))
        is_paid = paid and status != OrderStatus.AWAITING_PAYMENT
        shipment = None
        if shipped is not None:
            route = rng.choice(_ROUTES)
            end = delivered or last_event or self.now
            shipment = Shipment(
                carrier="顺丰速运 SF Express" if self.seq % 2 else "京东物流 JD Logistics",
                tracking_no=f"SF{1400000000 + rng.randrange(10 ** 8)}",
                shipped_at=shipped, delivered_at=delivered,
                events=_events(shipped, end, delivered is not None, exception, route))
        return Order(order_id=order_id, customer_id=self.customer_id, status=status, placed_at=placed,
                     lines=tuple(lines), address="", promised_at=promised,
                     payment_method=rng.choice(("alipay", "wechat", "card")),
                     paid_at=placed + timedelta(minutes=3) if is_paid else None, shipment=shipment,
                     refunded_at=refunded_at)


def _days(n: float) -> timedelta:
    return timedelta(days=n)


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


def _events(shipped: datetime, end: datetime, delivered: bool, exception: bool,
            route: tuple[str, ...]) -> tuple[TrackingEvent, ...]:
    steps = ["picked_up"] + ["in_transit"] * (len(route) - 1)
    if delivered:
        steps += ["out_for_delivery", "delivered"]
    elif exception:
        steps += ["exception"]
    span = (end - shipped) / max(len(steps) - 1, 1)
    out = []
    for i, code in enumerate(steps):
        zh, en = _LOC[route[min(i, len(route) - 1)]]
        dzh, den = _EVENT[code]
        out.append(TrackingEvent(shipped + span * i, code, zh, en, dzh, den))
    return tuple(out)


def _pick(rng: random.Random, table: Mapping[_T, float]) -> _T:
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]
