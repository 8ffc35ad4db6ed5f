"""The issue predictor ("猜你想问"): what is this shopper most likely to ask about?

When a shopper opens the chat, the assistant offers up to three one-tap
questions, each about one of *their own* orders, e.g. "Where is my Haier
fridge?" or "Price dropped on your Midea AC: claim ¥251.00?". A tap sends the
payload ``/<intent>{"order_id": "..."}``, so every issue here is one of the
bot's intent names (``ISSUES``); ``"other"`` stands for everything that is not
about an order and is never offered as a button.

How it works, in the spirit of a functional core (pure: no I/O, no clock):

1. ``signals`` looks at one order and finds the facts that make questions
   likely: a late parcel, tracking that went quiet, a delivery exception, a
   price drop inside the protection window, a return window about to close, an
   unpaid order, an open claim or ticket, repeated contacts, defect reports by
   other shoppers, a freshly delivered appliance (installation).
2. ``candidates`` turns every (issue, order) pair worth considering into a
   ``Candidate`` with numeric ``features`` and display-ready ``reasons``, plus
   one ``("other", None)`` candidate.
3. ``rule_scores`` scores candidates with hand-set weights; a learned model
   (``bot.prediction_model``) scores the same features; ``combine`` blends both
   and ``rank`` turns scores into probabilities that sum to 1 over the set.
4. ``predict`` returns the top ``config.top_n`` without ``"other"``.

Every text a shopper reads lives in ``bot/prediction_reasons.yml`` in zh and
en; ``explain`` and ``question`` fill its templates with a reason's facts.
Facts never carry another shopper's data: defect reports by others are shown
as "other shoppers reported problems", with no ids, names or counts.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import yaml

from bot.andon import Complaint
from bot.catalog import Category, PricePoint, Product, price_at
from bot.decision import Decision, format_money, format_time, require_aware
from bot.errors import InvalidData
from bot.orders import Delivery, LineStatus, Order, OrderStatus, TrackingEvent, delivery_state
from bot.policy import LANGUAGES, Policy
from bot.protection import ClaimRecord, ClaimStatus, assess_price_protection
from bot.returns import assess_return

#: The issues a prediction can name: the bot's intents that concern an order.
ISSUES = (
    "delivery_time",
    "track_shipment",
    "order_status",
    "price_protection",
    "return_item",
    "exchange_item",
    "refund_status",
    "payment_problem",
    "complaint",
    "cancel_order",
    "invoice",
    "change_address",
)
#: Anything not about an order; kept in the normalisation, never offered as a button.
OTHER = "other"
#: Every label of the predictor: ``ISSUES`` and ``OTHER``.
LABELS = (*ISSUES, OTHER)

#: Reason codes that describe an order's state; every candidate has exactly one
#: (``awaiting_payment`` plays that part for an unpaid order).
CONTEXT_CODES = ("placed", "in_transit", "delivered", "cancelled", "refunded")
#: Reason codes of the rule signals.
SIGNAL_CODES = (
    "late_parcel",
    "stale_tracking",
    "delivery_exception",
    "not_shipped",
    "awaiting_payment",
    "price_drop",
    "price_drop_review",
    "shelf_drop",
    "return_closing",
    "recently_delivered",
    "installation",
    "open_claim",
    "open_ticket",
    "refund_recent",
    "repeat_contacts",
    "defect_reports",
)
REASON_CODES = (*CONTEXT_CODES, *SIGNAL_CODES)

#: The facts each reason code carries (besides ``order_id``); ``product`` is given
#: as ``product_zh`` and ``product_en`` and picked by language when rendered.
REASON_FACTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "placed": ("product", "placed_at"),
    "in_transit": ("product", "shipped_at", "promised"),
    "delivered": ("product", "delivered_at"),
    "cancelled": ("product", "placed_at"),
    "refunded": ("product", "amount"),
    "late_parcel": ("product", "promised", "hours_late"),
    "stale_tracking": ("product", "last_update", "hours"),
    "delivery_exception": ("product", "event", "at"),
    "not_shipped": ("product", "paid_at", "promised"),
    "awaiting_payment": ("product", "placed_at", "amount"),
    "price_drop": ("product", "amount", "price"),
    "price_drop_review": ("product", "amount", "price"),
    "shelf_drop": ("product", "price"),
    "return_closing": ("product", "deadline"),
    "recently_delivered": ("product", "delivered_at"),
    "installation": ("product", "delivered_at"),
    "open_claim": ("product", "claim_id", "amount"),
    "open_ticket": ("product",),
    "refund_recent": ("product", "amount"),
    "repeat_contacts": ("product", "count", "last_at"),
    "defect_reports": ("product",),
})

#: Hand-set log-weights: reason code -> issue -> how much the reason raises that
#: issue. A reason makes a candidate for each issue it names; ``"*"`` (only for
#: ``repeat_contacts``) is the weight of the issue the shopper kept asking about.
RULE_WEIGHTS: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "placed": {"delivery_time": 0.6, "order_status": 0.4, "cancel_order": 0.3,
               "change_address": 0.2, "invoice": -0.2},
    "in_transit": {"track_shipment": 0.8, "delivery_time": 0.6, "order_status": 0.1},
    "delivered": {"return_item": 0.2, "invoice": 0.0, "exchange_item": 0.0, "complaint": -0.3,
                  "price_protection": -0.4, "order_status": -0.6},
    "cancelled": {"refund_status": 0.0, "order_status": -0.6},
    "refunded": {"refund_status": 0.0, "order_status": -0.8},
    "late_parcel": {"delivery_time": 3.0, "track_shipment": 2.5, "complaint": 1.0, "cancel_order": 0.6},
    "stale_tracking": {"track_shipment": 2.0, "delivery_time": 1.2, "complaint": 0.3},
    "delivery_exception": {"track_shipment": 3.0, "delivery_time": 2.0, "change_address": 1.5,
                           "complaint": 1.0},
    "not_shipped": {"delivery_time": 2.2, "cancel_order": 1.2, "order_status": 1.0},
    "awaiting_payment": {"payment_problem": 3.0, "cancel_order": 1.2, "order_status": 0.6},
    "price_drop": {"price_protection": 3.6},
    "price_drop_review": {"price_protection": 3.6},
    "shelf_drop": {"price_protection": 1.6},
    "return_closing": {"return_item": 2.2, "exchange_item": 0.6},
    "recently_delivered": {"return_item": 1.2, "exchange_item": 0.8, "complaint": 0.6, "invoice": 0.5},
    "installation": {"order_status": 1.6},
    "open_claim": {"refund_status": 3.0},
    "open_ticket": {"refund_status": 2.5, "complaint": 1.0},
    "refund_recent": {"refund_status": 2.5},
    "repeat_contacts": {"*": 2.5, "complaint": 1.5},
    "defect_reports": {"complaint": 2.0, "exchange_item": 1.5, "return_item": 1.0},
})
#: Log-weight lost per step down the newest-first order list.
RECENCY_PENALTY = 0.4
#: Log-weight of "other" before signals; each signal on the customer's orders lowers it.
OTHER_BASE = 0.0
OTHER_PER_SIGNAL = 0.5

_CATEGORIES = tuple(c.value for c in Category)
_STATUSES = tuple(s.value for s in OrderStatus)

#: Every feature a candidate carries, in the model's column order. Durations are
#: ``log1p`` of hours or days; flags are 0/1; an absent signal gives 0.
FEATURES: tuple[str, ...] = (
    *(f"issue:{label}" for label in LABELS),  # one-hot of the candidate's issue
    *(f"status:{s}" for s in _STATUSES),  # one-hot of the order's status
    *(f"category:{c}" for c in _CATEGORIES),  # category of the order's first paid line
    "order_rank",  # 0 for the newest order considered, 1 for the next...
    "order_age_days",  # log1p(days since the order was placed)
    "order_total",  # log1p(total paid in CNY)
    "n_orders",  # log1p(orders considered for the customer)
    "late",  # the parcel is past its promised time and not delivered
    "hours_late",  # log1p(hours past the promise)
    "stale_tracking",  # shipped, no tracking event for config.stale_tracking_hours
    "hours_since_update",  # log1p(hours since the last tracking event), shipped orders only
    "delivery_exception",  # the last tracking event is an exception
    "not_shipped",  # paid, not handed to the carrier after config.unshipped_hours
    "awaiting_payment",  # placed, not paid
    "recently_delivered",  # signed for within config.delivered_recently_days
    "days_since_delivery",  # log1p(days since sign-off), delivered orders only
    "installation",  # an appliance signed for within config.installation_days
    "price_drop",  # a price-protection claim is eligible (or eligible after review)
    "price_drop_amount",  # log1p(claimable amount in CNY)
    "price_drop_review",  # the claim is above the auto-approval limit
    "shelf_drop",  # the shelf shows a lower price that is not claimable (coupon, flash sale...)
    "return_open",  # a no-reason return is still possible
    "days_to_return_deadline",  # log1p(days left for a no-reason return)
    "return_closing",  # ...and it closes within config.return_closing_days
    "open_claim",  # a price-protection claim is pending review or approved, not paid yet
    "open_ticket",  # an after-sales ticket is open for the order
    "refund_recent",  # cancelled after payment, or refunded within config.refund_recent_days
    "contacts_on_order",  # the shopper's contacts about this order in config.repeat_window_days
    "repeat_contacts",  # contacts_on_order reached config.repeat_contacts
    "contacts_same_issue",  # past contacts about this order with the candidate's issue
    "defect_reports",  # distinct other shoppers reporting defects on the order's SKUs
    "order_signals",  # signal reasons on this order, any issue
    "candidate_signals",  # signal reasons on this candidate
    "customer_signals",  # signal reasons on all the customer's orders
)


class PredictionError(InvalidData):
    """A prediction input or template that does not fit (a language, a reason code, a fact)."""


@dataclass(frozen=True)
class Contact:
    """One past conversation: what the shopper asked first, about which order, when."""

    order_id: str | None
    intent: str
    at: datetime


@dataclass(frozen=True)
class CustomerHistory:
    """Everything the predictor may look at for one shopper.

    Attributes:
        customer_id: The shopper.
        orders: Their orders (another customer's order is ignored, never suggested).
        products: SKU -> product, for at least the SKUs in ``orders``.
        prices: Price history of those SKUs.
        claims: Price-protection claims on their order lines.
        complaints: Recent complaints about the SKUs they bought, from anyone
            (Andon data); only other shoppers' ones count as defect reports.
        open_tickets: Order ids with an open after-sales ticket or case.
        contacts: Their past conversations, newest or oldest first.
    """

    customer_id: str
    orders: tuple[Order, ...]
    products: Mapping[str, Product]
    prices: tuple[PricePoint, ...] = ()
    claims: tuple[ClaimRecord, ...] = ()
    complaints: tuple[Complaint, ...] = ()
    open_tickets: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True)
class PredictorConfig:
    """The predictor's own thresholds (not shop policy, so not in ``policy.yml``).

    Attributes:
        stale_tracking_hours: No tracking event for this long (or longer) is stale.
        delivered_recently_days: Signed for at most this long ago is "recent".
        return_closing_days: A no-reason return closing within this is "closing".
        unshipped_hours: Paid at least this long ago and not shipped is "not shipped".
        installation_days: An appliance signed for at most this long ago needs installing.
        refund_recent_days: A refund at most this long ago is still asked about.
        repeat_contacts: This many contacts about one order...
        repeat_window_days: ...within this many days are "repeated".
        defect_window_days: Other shoppers' complaints at most this old count.
        lookback_days: Orders placed earlier count only when they carry a signal.
        max_orders: At most this many orders, newest first, are considered.
        top_n: How many predictions ``predict`` returns.
        model_weight: Share of the model in ``combine`` when a model is given.
    """

    stale_tracking_hours: float = 24
    delivered_recently_days: float = 3
    return_closing_days: float = 2
    unshipped_hours: float = 48
    installation_days: float = 7
    refund_recent_days: float = 14
    repeat_contacts: int = 2
    repeat_window_days: float = 7
    defect_window_days: float = 14
    lookback_days: float = 90
    max_orders: int = 8
    top_n: int = 3
    model_weight: float = 0.75

    def __post_init__(self) -> None:
        for name in ("stale_tracking_hours", "delivered_recently_days", "return_closing_days",
                     "unshipped_hours", "installation_days", "refund_recent_days",
                     "repeat_window_days", "defect_window_days", "lookback_days"):
            if getattr(self, name) < 0:
                raise PredictionError(f"config.{name}", f"{getattr(self, name)!r} is negative")
        for name in ("repeat_contacts", "max_orders", "top_n"):
            if getattr(self, name) < 1:
                raise PredictionError(f"config.{name}", f"{getattr(self, name)!r}; use 1 or more")
        if not 0 <= self.model_weight <= 1:
            raise PredictionError("config.model_weight", f"{self.model_weight!r}; use 0..1")


@dataclass(frozen=True)
class Reason:
    """Why a candidate is likely: a code from ``REASON_CODES`` and display-ready facts.

    Money is formatted like ``"251.00"``, times like ``"2026-11-20 14:03"``
    (shop time zone); language-dependent facts come in ``_zh``/``_en`` pairs.
    """

    code: str
    facts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in REASON_CODES:
            raise PredictionError("reason code", f"{self.code!r}; use one of {', '.join(REASON_CODES)}")
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))


@dataclass(frozen=True)
class Candidate:
    """One (issue, order) pair the shopper may ask about, with its features and reasons."""

    issue: str
    order_id: str | None
    features: Mapping[str, float]
    reasons: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        if self.issue not in LABELS:
            raise PredictionError("issue", f"{self.issue!r}; use one of {', '.join(LABELS)}")
        object.__setattr__(self, "features", MappingProxyType(dict(self.features)))


@dataclass(frozen=True)
class Prediction:
    """A ranked candidate: ``probability`` is its share of the whole candidate set."""

    issue: str
    order_id: str | None
    probability: float
    reasons: tuple[Reason, ...] = ()

    @property
    def facts(self) -> dict[str, str]:
        """Every reason's facts, the first (strongest) reason winning a clash."""
        merged: dict[str, str] = {}
        for reason in reversed(self.reasons):
            merged.update(reason.facts)
        return merged

    @property
    def payload(self) -> str:
        """The one-tap button payload, e.g. ``/price_protection{"order_id": "261029007919"}``."""
        if self.order_id is None:
            return f"/{self.issue}"
        return f"/{self.issue}" + json.dumps({"order_id": self.order_id})


@dataclass(frozen=True)
class OrderSignals:
    """What the rules found on one order at ``now`` (``None``/0/False: not found)."""

    hours_late: float | None = None
    stale_hours: float | None = None
    exception: TrackingEvent | None = None
    not_shipped: bool = False
    awaiting_payment: bool = False
    price_drop: Decision | None = None
    shelf_price: Decimal | None = None
    return_decision: Decision | None = None
    return_closing: bool = False
    recently_delivered: bool = False
    installation: bool = False
    open_claims: tuple[ClaimRecord, ...] = ()
    open_ticket: bool = False
    refund_recent: bool = False
    repeat_contacts: tuple[Contact, ...] = ()
    defect_reports: int = 0


class Scorer(Protocol):
    """What ``predict`` needs of a learned model: one score per candidate (higher: likelier)."""

    def scores(self, candidates: Sequence[Candidate]) -> list[float]: ...


@dataclass(frozen=True)
class Templates:
    """Bilingual texts: ``reasons[code][language]``, ``questions[issue][language]`` and
    ``generic_questions[issue][language]`` (used when a question's facts are missing)."""

    reasons: Mapping[str, Mapping[str, str]]
    questions: Mapping[str, Mapping[str, str]]
    generic_questions: Mapping[str, Mapping[str, str]]


TEMPLATES_FILE = Path(__file__).with_name("prediction_reasons.yml")


# --------------------------------------------------------------------------- signals


def hours_late(order: Order, now: datetime) -> float | None:
    """Hours past ``promised_at`` of a parcel that is not delivered, else ``None``.

    Same rule as ``bot.orders.delivery_state``: late from the first second after
    the promise. Promised 2026-11-20 14:00:00: at 14:00:00 not late, at
    14:00:01 late (by 1/3600 hours). A delivery exception is its own signal.
    """
    if delivery_state(order, now) != Delivery.LATE or order.promised_at is None:
        return None
    return (now - order.promised_at).total_seconds() / 3600


def stale_hours(order: Order, now: datetime, config: PredictorConfig) -> float | None:
    """Hours since the last tracking update of a shipped parcel that went quiet, else ``None``.

    Quiet means no event for ``config.stale_tracking_hours`` (24) or longer,
    counted from the last event (or from shipment when there is none yet).
    Last event 2026-11-22 14:00:00: at 2026-11-23 13:59:59 not stale, at
    14:00:00 stale (24 hours). Delivered parcels and exceptions never are.
    """
    s = order.shipment
    if s is None or s.shipped_at is None or s.delivered_at is not None:
        return None
    if order.status not in (OrderStatus.SHIPPED, OrderStatus.PAID):
        return None
    last = s.last_event
    if last is not None and last.code in ("exception", "delivered"):
        return None
    since = last.at if last is not None else s.shipped_at
    hours = (now - since).total_seconds() / 3600
    return hours if hours >= config.stale_tracking_hours else None


def delivery_exception(order: Order, now: datetime) -> TrackingEvent | None:
    """The exception event when the parcel's last tracking event is one, else ``None``."""
    if delivery_state(order, now) != Delivery.EXCEPTION or order.shipment is None:
        return None
    return order.shipment.last_event


def is_awaiting_payment(order: Order) -> bool:
    """The order was placed and is not paid yet (the shopper may be stuck paying)."""
    return order.status == OrderStatus.AWAITING_PAYMENT


def is_not_shipped(order: Order, now: datetime, config: PredictorConfig) -> bool:
    """Paid ``config.unshipped_hours`` (48) or more ago and still not handed to the carrier.

    Paid 2026-11-21 14:00:00: at 2026-11-23 13:59:59 not yet, at 14:00:00 yes.
    """
    if order.status != OrderStatus.PAID or order.paid_at is None:
        return False
    if order.shipment is not None and order.shipment.shipped_at is not None:
        return False
    return now - order.paid_at >= timedelta(hours=config.unshipped_hours)


def days_since_delivery(order: Order, now: datetime) -> float | None:
    """Days since sign-off, or ``None`` for a parcel not signed for."""
    if order.delivered_at is None or order.status != OrderStatus.DELIVERED:
        return None
    return (now - order.delivered_at).total_seconds() / 86400


def is_recently_delivered(order: Order, now: datetime, config: PredictorConfig) -> bool:
    """Signed for at most ``config.delivered_recently_days`` (3) ago, to the second.

    Signed 2026-11-20 14:00:00: at 2026-11-23 14:00:00 recent, a second later not.
    Questions then are about returning, exchanging or using the goods.
    """
    days = days_since_delivery(order, now)
    return days is not None and 0 <= days <= config.delivered_recently_days


def needs_installation(order: Order, products: Mapping[str, Product], now: datetime,
                       config: PredictorConfig) -> bool:
    """An appliance signed for at most ``config.installation_days`` (7) ago.

    Shoppers then ask when the installer comes; the bot answers that from the
    order's status card, so the issue is ``order_status``.
    """
    days = days_since_delivery(order, now)
    if days is None or not 0 <= days <= config.installation_days:
        return False
    return any(p.category == Category.APPLIANCES for p in _line_products(order, products))


def price_drop(order: Order, history: CustomerHistory, policy: Policy, now: datetime) -> Decision | None:
    """The best price-protection claim open on ``order`` at ``now``, else ``None``.

    Each line is assessed by ``bot.protection.assess_price_protection`` with the
    line's earlier claims; an ``eligible`` or ``eligible_needs_review`` decision
    is a signal, the largest amount winning. Example: the Midea AC paid
    ¥2,750.00, now ¥2,499.00 on promotion, 22 days after sign-off: ¥251.00.
    A line with no price history or no known product is skipped.
    """
    best: Decision | None = None
    for line in order.lines:
        product = history.products.get(line.sku)
        if product is None or line.is_gift:
            continue
        try:
            d = assess_price_protection(order, line, product, history.prices, history.claims,
                                        policy, now)
        except InvalidData:
            continue
        if d.allowed and d.amount is not None and (best is None or best.amount is None
                                                   or d.amount > best.amount):
            best = d
    return best


def shelf_drop(order: Order, history: CustomerHistory, now: datetime) -> Decimal | None:
    """The lowest price now shown for one of the order's lines when it is below what was
    paid per unit, whatever its kind (a coupon, a flash sale...), else ``None``.

    Shoppers see that price and ask, even when it is not claimable.
    """
    lowest: Decimal | None = None
    for line in order.lines:
        if line.is_gift or line.status != LineStatus.ACTIVE or line.quantity <= 0:
            continue
        point = price_at(history.prices, line.sku, now)
        if point is not None and point.price < line.paid_per_unit:
            lowest = point.price if lowest is None else min(lowest, point.price)
    return lowest


def open_return(order: Order, products: Mapping[str, Product], policy: Policy,
                now: datetime) -> Decision | None:
    """The no-reason return decision of the order's line closing first, if one is eligible."""
    best: Decision | None = None
    for line in order.lines:
        product = products.get(line.sku)
        if product is None or line.is_gift:
            continue
        d = assess_return(order, line, product, policy, now, "no_reason", line.opened)
        if d.allowed and d.deadline is not None and (
                best is None or best.deadline is None or d.deadline < best.deadline):
            best = d
    return best


def is_return_closing(decision: Decision | None, now: datetime, config: PredictorConfig) -> bool:
    """An eligible no-reason return whose deadline is at most ``config.return_closing_days`` (2) away.

    Signed 2026-11-16 15:00 (Shanghai), the 7-day window ends 2026-11-23
    23:59:59: from 2026-11-21 23:59:59 on it is closing, a second earlier not.
    """
    if decision is None or not decision.allowed or decision.deadline is None:
        return False
    return decision.deadline - now <= timedelta(days=config.return_closing_days)


def open_claims(order: Order, claims: Iterable[ClaimRecord]) -> tuple[ClaimRecord, ...]:
    """Claims on the order's lines that are pending review or approved but not paid yet."""
    line_ids = {ln.line_id for ln in order.lines}
    waiting = (ClaimStatus.PENDING_REVIEW, ClaimStatus.APPROVED)
    return tuple(sorted((c for c in claims if c.line_id in line_ids and c.status in waiting),
                        key=lambda c: (c.created_at, c.claim_id)))


def is_refund_recent(order: Order, now: datetime, config: PredictorConfig) -> bool:
    """Money is on its way back: refunded at most ``config.refund_recent_days`` (14) ago,
    to the second, or cancelled after payment within as long of placing the order (an
    order records no cancellation time; cancelling happens before shipment, soon after).

    Refunded 2026-11-12 10:00:00: asked about through 2026-11-26 10:00:00, not a second later.
    """
    window = timedelta(days=config.refund_recent_days)
    if order.status == OrderStatus.REFUNDED:
        when = order.refunded_at or order.placed_at
        return now - when <= window
    if order.status == OrderStatus.CANCELLED:
        return order.paid_at is not None and now - order.placed_at <= window
    return False


def repeat_contacts(order_id: str, contacts: Iterable[Contact], now: datetime,
                    config: PredictorConfig) -> tuple[Contact, ...]:
    """The shopper's contacts about ``order_id`` within ``config.repeat_window_days`` (7),
    when there are at least ``config.repeat_contacts`` (2) of them, else ``()``.

    A contact exactly 7 days old counts, one a second older does not.
    """
    since = now - timedelta(days=config.repeat_window_days)
    recent = _contacts_in_window(order_id, contacts, since, now)
    return recent if len(recent) >= config.repeat_contacts else ()


def defect_reports(order: Order, complaints: Iterable[Complaint], customer_id: str, now: datetime,
                   config: PredictorConfig) -> int:
    """Distinct *other* shoppers who complained about one of the order's SKUs within
    ``config.defect_window_days`` (14, to the second) of ``now``.

    Only shipped or delivered orders count: the shopper has, or is about to
    have, the product. The number is a feature; it is never shown to the shopper.
    """
    if order.status not in (OrderStatus.DELIVERED, OrderStatus.SHIPPED):
        return 0
    skus = {ln.sku for ln in order.lines if not ln.is_gift}
    since = now - timedelta(days=config.defect_window_days)
    return len({c.customer_id for c in complaints
                if c.sku in skus and c.customer_id != customer_id and since <= c.created_at <= now})


def signals(order: Order, history: CustomerHistory, now: datetime, policy: Policy,
            config: PredictorConfig) -> OrderSignals:
    """Every rule signal of one order at ``now``."""
    ret = open_return(order, history.products, policy, now)
    drop = price_drop(order, history, policy, now)
    # A lower shelf price long after the purchase is not news (protected drops have their own window).
    anchor = order.delivered_at or order.paid_at or order.placed_at
    recent = now - anchor <= timedelta(days=config.lookback_days)
    return OrderSignals(
        hours_late=hours_late(order, now),
        stale_hours=stale_hours(order, now, config),
        exception=delivery_exception(order, now),
        not_shipped=is_not_shipped(order, now, config),
        awaiting_payment=is_awaiting_payment(order),
        price_drop=drop,
        shelf_price=None if drop is not None or not recent else shelf_drop(order, history, now),
        return_decision=ret,
        return_closing=is_return_closing(ret, now, config),
        recently_delivered=is_recently_delivered(order, now, config),
        installation=needs_installation(order, history.products, now, config),
        open_claims=open_claims(order, history.claims),
        open_ticket=order.order_id in history.open_tickets,
        refund_recent=is_refund_recent(order, now, config),
        repeat_contacts=repeat_contacts(order.order_id, history.contacts, now, config),
        defect_reports=defect_reports(order, history.complaints, history.customer_id, now, config),
    )


# --------------------------------------------------------------------------- candidates


def candidates(history: CustomerHistory, now: datetime, policy: Policy,
               config: PredictorConfig | None = None) -> list[Candidate]:
    """Every (issue, order) pair worth considering, then ``("other", None)``.

    Orders considered: the shopper's own (``order.customer_id`` is the
    history's customer), newest first, placed within ``config.lookback_days``
    or carrying a signal, at most ``config.max_orders``. Each order gives a
    candidate for every issue its context or one of its signals names
    (``RULE_WEIGHTS``); a candidate's reasons are its signals, strongest first,
    then the order's context. A shopper with no orders gets only "other".
    """
    config = config or PredictorConfig()
    require_aware("now", now)
    own = sorted((o for o in history.orders if o.customer_id == history.customer_id),
                 key=lambda o: (o.placed_at, o.order_id), reverse=True)
    since = now - timedelta(days=config.lookback_days)
    considered: list[tuple[Order, OrderSignals, list[Reason]]] = []
    for order in own:
        found = signals(order, history, now, policy, config)
        reasons = _signal_reasons(order, found, history, policy)
        if order.placed_at >= since or reasons:
            considered.append((order, found, reasons))
        if len(considered) >= config.max_orders:
            break

    total_signals = sum(len(r) for _, _, r in considered)
    n_orders = len(considered)
    out: list[Candidate] = []
    for rank, (order, found, reasons) in enumerate(considered):
        context = _context_reason(order, history.products, policy)
        by_issue: dict[str, list[Reason]] = {}
        for reason in reasons:
            for issue in _issues_of(reason, found):
                by_issue.setdefault(issue, []).append(reason)
        for issue in RULE_WEIGHTS[context.code]:
            by_issue.setdefault(issue, [])
        base = _order_features(order, found, history, now, config, rank, n_orders, total_signals,
                               len(reasons))
        for issue in sorted(by_issue, key=LABELS.index):
            mine = sorted(by_issue[issue], key=_by_weight(issue))
            features = dict(base)
            features[f"issue:{issue}"] = 1.0
            features["candidate_signals"] = float(len(mine))
            features["contacts_same_issue"] = float(sum(
                1 for c in history.contacts if c.order_id == order.order_id and c.intent == issue
                and c.at <= now))
            # An unpaid order's context is its awaiting_payment signal: never list it twice.
            all_reasons = tuple(mine) if context.code in {r.code for r in mine} else (*mine, context)
            out.append(Candidate(issue, order.order_id, features, all_reasons))
    other = {f"issue:{OTHER}": 1.0, "n_orders": math.log1p(n_orders),
             "customer_signals": float(total_signals)}
    out.append(Candidate(OTHER, None, other, ()))
    return out


def _issues_of(reason: Reason, found: OrderSignals) -> list[str]:
    issues = [i for i in RULE_WEIGHTS[reason.code] if i != "*"]
    if reason.code == "repeat_contacts":
        asked = [c.intent for c in found.repeat_contacts if c.intent in ISSUES]
        if asked:
            latest = max(found.repeat_contacts, key=lambda c: c.at)
            issues.insert(0, latest.intent if latest.intent in ISSUES else asked[-1])
    return list(dict.fromkeys(issues))


def _by_weight(issue: str) -> Callable[[Reason], float]:
    """Sort key: the reason's weight for ``issue``, strongest first."""
    return lambda reason: -_weight(reason.code, issue)


def _weight(code: str, issue: str) -> float:
    weights = RULE_WEIGHTS.get(code, {})
    if issue in weights:
        return weights[issue]
    return weights.get("*", 0.0)


def _line_products(order: Order, products: Mapping[str, Product]) -> list[Product]:
    return [products[ln.sku] for ln in order.lines if not ln.is_gift and ln.sku in products]


def _product_facts(order: Order, products: Mapping[str, Product]) -> dict[str, str]:
    """``product_zh``/``product_en``: the first paid line's name, "+N" for more lines."""
    names = _line_products(order, products)
    facts = {"order_id": order.order_id}
    for language in LANGUAGES:
        if not names:
            facts[f"product_{language}"] = order.order_id
        else:
            first = names[0].name(language)
            facts[f"product_{language}"] = first if len(names) == 1 else f"{first} +{len(names) - 1}"
    return facts


def _context_reason(order: Order, products: Mapping[str, Product], policy: Policy) -> Reason:
    facts = _product_facts(order, products)
    tz = policy.timezone
    s = order.status
    if s == OrderStatus.AWAITING_PAYMENT:
        return Reason("awaiting_payment", {**facts, "placed_at": format_time(order.placed_at, tz),
                                           "amount": format_money(order.total_paid)})
    if s == OrderStatus.CANCELLED:
        return Reason("cancelled", {**facts, "placed_at": format_time(order.placed_at, tz)})
    if s == OrderStatus.REFUNDED:
        return Reason("refunded", {**facts, "amount": format_money(order.total_paid)})
    if s == OrderStatus.DELIVERED or order.delivered_at is not None:
        return Reason("delivered", {**facts, "delivered_at": _time(order.delivered_at, policy)})
    shipment = order.shipment
    if shipment is not None and shipment.shipped_at is not None:
        return Reason("in_transit", {**facts, "shipped_at": format_time(shipment.shipped_at, tz),
                                     "promised": _time(order.promised_at, policy)})
    return Reason("placed", {**facts, "placed_at": format_time(order.placed_at, tz)})


def _signal_reasons(order: Order, found: OrderSignals, history: CustomerHistory,
                    policy: Policy) -> list[Reason]:
    facts = _product_facts(order, history.products)
    out: list[Reason] = []
    if found.hours_late is not None:
        out.append(Reason("late_parcel", {**facts, "promised": _time(order.promised_at, policy),
                                          "hours_late": str(math.floor(found.hours_late))}))
    if found.stale_hours is not None:
        last = order.shipment.last_event if order.shipment else None
        since = last.at if last is not None else (order.shipment.shipped_at if order.shipment else None)
        out.append(Reason("stale_tracking", {**facts, "last_update": _time(since, policy),
                                             "hours": str(math.floor(found.stale_hours))}))
    if found.exception is not None:
        e = found.exception
        out.append(Reason("delivery_exception", {**facts, "event_zh": e.description("zh"),
                                                 "event_en": e.description("en"),
                                                 "at": format_time(e.at, policy.timezone)}))
    if found.not_shipped:
        out.append(Reason("not_shipped", {**facts, "paid_at": _time(order.paid_at, policy),
                                          "promised": _time(order.promised_at, policy)}))
    if found.awaiting_payment:
        out.append(Reason("awaiting_payment", {**facts,
                                               "placed_at": format_time(order.placed_at, policy.timezone),
                                               "amount": format_money(order.total_paid)}))
    drop = found.price_drop
    if drop is not None and drop.amount is not None:
        code = "price_drop" if drop.reason == "eligible" else "price_drop_review"
        out.append(Reason(code, {**facts, "amount": format_money(drop.amount),
                                 "price": format_money(drop.price or Decimal("0"))}))
    elif found.shelf_price is not None:
        out.append(Reason("shelf_drop", {**facts, "price": format_money(found.shelf_price)}))
    if found.return_closing and found.return_decision is not None:
        out.append(Reason("return_closing", {**facts, "deadline": found.return_decision.facts["deadline"]}))
    if found.recently_delivered:
        out.append(Reason("recently_delivered", {**facts, "delivered_at": _time(order.delivered_at, policy)}))
    if found.installation:
        out.append(Reason("installation", {**facts, "delivered_at": _time(order.delivered_at, policy)}))
    if found.open_claims:
        c = found.open_claims[-1]
        out.append(Reason("open_claim", {**facts, "claim_id": c.claim_id, "amount": format_money(c.amount)}))
    if found.open_ticket:
        out.append(Reason("open_ticket", facts))
    if found.refund_recent:
        out.append(Reason("refund_recent", {**facts, "amount": format_money(order.total_paid)}))
    if found.repeat_contacts:
        last_at = max(c.at for c in found.repeat_contacts)
        out.append(Reason("repeat_contacts", {**facts, "count": str(len(found.repeat_contacts)),
                                              "last_at": format_time(last_at, policy.timezone)}))
    if found.defect_reports:
        out.append(Reason("defect_reports", facts))
    return out


def _time(when: datetime | None, policy: Policy) -> str:
    return "" if when is None else format_time(when, policy.timezone)


def _contacts_in_window(order_id: str, contacts: Iterable[Contact], since: datetime,
                        now: datetime) -> tuple[Contact, ...]:
    return tuple(sorted((c for c in contacts if c.order_id == order_id and since <= c.at <= now),
                        key=lambda c: c.at))


def _order_features(order: Order, found: OrderSignals, history: CustomerHistory, now: datetime,
                    config: PredictorConfig, rank: int, n_orders: int, total_signals: int,
                    order_signals: int) -> dict[str, float]:
    f: dict[str, float] = {f"status:{order.status.value}": 1.0}
    products = _line_products(order, history.products)
    if products:
        f[f"category:{products[0].category.value}"] = 1.0
    f["order_rank"] = float(rank)
    f["order_age_days"] = math.log1p(max((now - order.placed_at).total_seconds(), 0) / 86400)
    f["order_total"] = math.log1p(float(order.total_paid))
    f["n_orders"] = math.log1p(n_orders)
    if found.hours_late is not None:
        f["late"] = 1.0
        f["hours_late"] = math.log1p(found.hours_late)
    s = order.shipment
    if s is not None and s.shipped_at is not None and s.delivered_at is None:
        last = s.last_event
        since = last.at if last is not None else s.shipped_at
        f["hours_since_update"] = math.log1p(max((now - since).total_seconds(), 0) / 3600)
    f["stale_tracking"] = float(found.stale_hours is not None)
    f["delivery_exception"] = float(found.exception is not None)
    f["not_shipped"] = float(found.not_shipped)
    f["awaiting_payment"] = float(found.awaiting_payment)
    f["recently_delivered"] = float(found.recently_delivered)
    days = days_since_delivery(order, now)
    if days is not None:
        f["days_since_delivery"] = math.log1p(max(days, 0))
    f["installation"] = float(found.installation)
    if found.price_drop is not None and found.price_drop.amount is not None:
        f["price_drop"] = 1.0
        f["price_drop_amount"] = math.log1p(float(found.price_drop.amount))
        f["price_drop_review"] = float(found.price_drop.reason == "eligible_needs_review")
    f["shelf_drop"] = float(found.shelf_price is not None)
    ret = found.return_decision
    if ret is not None and ret.deadline is not None:
        f["return_open"] = 1.0
        f["days_to_return_deadline"] = math.log1p(max((ret.deadline - now).total_seconds(), 0) / 86400)
    f["return_closing"] = float(found.return_closing)
    f["open_claim"] = float(bool(found.open_claims))
    f["open_ticket"] = float(found.open_ticket)
    f["refund_recent"] = float(found.refund_recent)
    since = now - timedelta(days=config.repeat_window_days)
    window = _contacts_in_window(order.order_id, history.contacts, since, now)
    f["contacts_on_order"] = float(len(window))
    f["repeat_contacts"] = float(bool(found.repeat_contacts))
    f["defect_reports"] = float(found.defect_reports)
    f["order_signals"] = float(order_signals)
    f["customer_signals"] = float(total_signals)
    return f


# --------------------------------------------------------------------------- scores


def rule_scores(candidates: Sequence[Candidate]) -> list[float]:
    """Hand-set scores, ``exp`` of a log-weight, one per candidate (not normalised).

    An order's candidate: the sum of ``RULE_WEIGHTS[code][issue]`` over its
    reasons, minus ``RECENCY_PENALTY`` per step down the order list. "Other":
    ``OTHER_BASE`` minus ``OTHER_PER_SIGNAL`` per signal the customer has (at most
    five), so a shopper with a late parcel rarely wants to talk about something else.
    Example: a late, stalled parcel on the newest order scores
    delivery_time exp(3.0 + 1.2 + 0.6) against track_shipment exp(2.5 + 2.0 + 0.8).
    """
    out: list[float] = []
    for c in candidates:
        if c.issue == OTHER:
            signals_ = min(c.features.get("customer_signals", 0.0), 5.0)
            logit = OTHER_BASE - OTHER_PER_SIGNAL * signals_
        else:
            logit = sum(_weight(r.code, c.issue) for r in c.reasons)
            logit -= RECENCY_PENALTY * min(c.features.get("order_rank", 0.0), 5.0)
        out.append(math.exp(logit))
    return out


def normalise(scores: Sequence[float]) -> list[float]:
    """Scores scaled to sum to 1; all-zero scores become uniform.

    Raises:
        PredictionError: a score is negative or not finite.
    """
    for s in scores:
        if not math.isfinite(s) or s < 0:
            raise PredictionError("score", f"{s!r}; scores are finite and non-negative")
    total = math.fsum(scores)
    if not scores:
        return []
    if total <= 0:
        return [1.0 / len(scores)] * len(scores)
    return [s / total for s in scores]


def combine(rule: Sequence[float], model: Sequence[float], weight: float) -> list[float]:
    """Blend two score lists: ``(1 - weight) * rule + weight * model``, each normalised first.

    ``weight=0`` is rules only, ``1`` the model only. Example: rule [3, 1] and
    model [1, 1] with weight 0.5 give [0.625, 0.375].

    Raises:
        PredictionError: the lists differ in length or ``weight`` is outside 0..1.
    """
    if len(rule) != len(model):
        raise PredictionError("scores", f"{len(rule)} rule scores but {len(model)} model scores")
    if not 0 <= weight <= 1:
        raise PredictionError("weight", f"{weight!r}; use 0..1")
    r, m = normalise(rule), normalise(model)
    return [(1 - weight) * a + weight * b for a, b in zip(r, m, strict=True)]


def rank(candidates: Sequence[Candidate], scores: Sequence[float]) -> list[Prediction]:
    """Candidates as predictions, likeliest first, probabilities summing to 1.

    Ties keep the candidates' order (newest order first, issues in ``LABELS`` order).
    """
    if len(candidates) != len(scores):
        raise PredictionError("scores", f"{len(scores)} scores for {len(candidates)} candidates")
    probabilities = normalise(scores)
    order = sorted(range(len(candidates)), key=lambda i: -probabilities[i])
    return [Prediction(candidates[i].issue, candidates[i].order_id, probabilities[i],
                       candidates[i].reasons) for i in order]


def predict(history: CustomerHistory, now: datetime, policy: Policy, model: Scorer | None = None,
            config: PredictorConfig | None = None) -> list[Prediction]:
    """The ``config.top_n`` (3) likeliest questions about the shopper's own orders.

    Rules only without a ``model``; with one, ``combine(rules, model,
    config.model_weight)``. "Other" is ranked and normalised with the rest but
    never returned, so a shopper with no orders gets ``[]``.
    """
    config = config or PredictorConfig()
    cands = candidates(history, now, policy, config)
    rules = rule_scores(cands)
    scores = rules if model is None else combine(rules, model.scores(cands), config.model_weight)
    return [p for p in rank(cands, scores) if p.issue != OTHER][:config.top_n]


# --------------------------------------------------------------------------- texts


def load_templates(path: Path | str = TEMPLATES_FILE) -> Templates:
    """Read and check the bilingual texts: every reason code and every issue has zh and en.

    Raises:
        PredictionError: ``what`` names the missing or malformed entry, e.g.
            ``reasons.late_parcel.en``; ``OSError`` when the file cannot be read.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PredictionError("prediction templates", f"{path}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise PredictionError("prediction templates", f"{path}: expected a mapping")
    return Templates(reasons=_table(data, "reasons", REASON_CODES),
                     questions=_table(data, "questions", ISSUES),
                     generic_questions=_table(data, "generic_questions", ISSUES))


def _table(data: Mapping[str, Any], name: str, keys: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
    table = data.get(name)
    if not isinstance(table, Mapping):
        raise PredictionError(name, "missing; expected a mapping of {key: {zh: ..., en: ...}}")
    out: dict[str, Mapping[str, str]] = {}
    for key in keys:
        entry = table.get(key)
        if not isinstance(entry, Mapping):
            raise PredictionError(f"{name}.{key}", "missing")
        texts = {}
        for language in LANGUAGES:
            text = entry.get(language)
            if not isinstance(text, str) or not text.strip():
                raise PredictionError(f"{name}.{key}.{language}", "missing or empty")
            texts[language] = text
        out[key] = MappingProxyType(texts)
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise PredictionError(f"{name}.{unknown[0]}", "unknown key; check its spelling")
    return MappingProxyType(out)


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(template: str, facts: Mapping[str, str], language: str, what: str) -> str:
    """Fill ``template`` with ``facts``; ``x_<language>`` facts stand in for ``x``.

    Raises:
        PredictionError: a placeholder has no fact (``what`` names the template).
    """
    values = localise(facts, language)
    missing = sorted(placeholders(template) - values.keys())
    if missing:
        raise PredictionError(what, f"no fact for {{{missing[0]}}}")
    return template.format(**values)


def localise(facts: Mapping[str, str], language: str) -> dict[str, str]:
    """Facts with ``product_zh`` read as ``product`` in Chinese, ``product_en`` in English."""
    _check_language(language)
    values = {k: v for k, v in facts.items() if not k.endswith(tuple(f"_{lang}" for lang in LANGUAGES))}
    suffix = f"_{language}"
    values.update({k[:-len(suffix)]: v for k, v in facts.items() if k.endswith(suffix)})
    return values


def explain(reason: Reason, language: str, templates: Templates) -> str:
    """The reason as a sentence, e.g. ``price_drop`` in en: "Your Midea inverter air
    conditioner 1.5HP is now ¥2,499.00; you can claim ¥251.00 back."

    Raises:
        PredictionError: unknown language or code, or a fact the template needs is missing.
    """
    _check_language(language)
    texts = templates.reasons.get(reason.code)
    if texts is None:
        raise PredictionError("reason code", f"{reason.code!r} has no text")
    return render(texts[language], reason.facts, language, f"reasons.{reason.code}.{language}")


def question(prediction: Prediction, language: str, templates: Templates) -> str:
    """The greeting button's text for ``prediction``, e.g. "Price dropped on your Midea
    inverter air conditioner 1.5HP: claim ¥251.00?".

    The facts are those of the strongest reason (the first), so the amount in
    a price-protection question is the claimable drop. Uses ``questions[issue]``
    when every fact it needs is there, else the plainer
    ``generic_questions[issue]`` (e.g. a price-protection question without a drop).
    """
    _check_language(language)
    if prediction.issue not in templates.questions:
        raise PredictionError("issue", f"{prediction.issue!r} has no question")
    facts = prediction.reasons[0].facts if prediction.reasons else {}
    values = localise(facts, language)
    specific = templates.questions[prediction.issue][language]
    if placeholders(specific) <= values.keys():
        return specific.format(**values)
    generic = templates.generic_questions[prediction.issue][language]
    return render(generic, facts, language, f"generic_questions.{prediction.issue}.{language}")


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise PredictionError("language", f"{language!r}; use one of {', '.join(LANGUAGES)}")
