"""The answer of every after-sales rule: a ``Decision`` value.

A rule never writes text. It returns whether the request is allowed, a
machine-readable ``reason``, the Rasa ``response`` that explains it
(``utter_<topic>_<reason>``, with zh and en variants in the domain) and the
``facts`` that response's template needs, already formatted for a shopper:
money as ``"2,750.00"`` and times as ``"2026-12-01 14:03"`` in the shop's time
zone. An action then only says
``dispatcher.utter_message(response=d.response, **d.facts)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from bot.errors import InvalidData
from bot.orders import LineStatus, Order, OrderLine, OrderStatus

CENT = Decimal("0.01")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Decision:
    """The outcome of one after-sales rule.

    Attributes:
        topic: What was asked, e.g. ``"price_protection"``, ``"return"``.
        allowed: Whether the request is granted (possibly pending review).
        reason: Machine-readable why, e.g. ``"eligible"``, ``"window_closed"``.
        facts: Template values for the response, already formatted.
        amount: Money at stake (refund or claim), when there is any.
        price: The reference price the rule compared against, when there is one.
        deadline: End of the window that applies (inclusive), when known.
        decision_due: When the shop promised a final answer (the 100-minute promise).
        response: ``utter_<topic>_<reason>``, derived, never passed in.
    """

    topic: str
    allowed: bool
    reason: str
    facts: Mapping[str, str] = field(default_factory=dict)
    amount: Decimal | None = None
    price: Decimal | None = None
    deadline: datetime | None = None
    decision_due: datetime | None = None
    response: str = field(init=False)

    def __post_init__(self) -> None:
        for name, value in (("topic", self.topic), ("reason", self.reason)):
            if not _NAME.match(value):
                raise InvalidData(f"decision {name}", f"{value!r} is not a snake_case name")
        for key, value in self.facts.items():
            if not isinstance(value, str):
                raise InvalidData(f"decision fact {key!r}", f"format {value!r} as text first")
        for name, when in (("deadline", self.deadline), ("decision_due", self.decision_due)):
            if when is not None:
                require_aware(name, when)
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))
        object.__setattr__(self, "response", f"utter_{self.topic}_{self.reason}")

    def with_facts(self, **facts: str) -> Decision:
        """A copy with more facts, e.g. the ``claim_id`` once the shell has stored the claim."""
        return replace(self, facts={**self.facts, **facts})

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "allowed": self.allowed,
            "reason": self.reason,
            "response": self.response,
            "facts": dict(self.facts),
            "amount": None if self.amount is None else str(self.amount),
            "price": None if self.price is None else str(self.price),
            "deadline": None if self.deadline is None else self.deadline.isoformat(),
            "decision_due": None if self.decision_due is None else self.decision_due.isoformat(),
        }


def format_money(amount: Decimal) -> str:
    """Money for a shopper: two decimals with thousands separators, no symbol.

    >>> format_money(Decimal("2750"))
    '2,750.00'
    """
    return f"{amount.quantize(CENT):,.2f}"


def format_time(when: datetime, tz: tzinfo) -> str:
    """A moment for a shopper, to the minute, in the shop's time zone.

    >>> # 2026-12-01 06:03 UTC is "2026-12-01 14:03" in Asia/Shanghai.
    """
    return require_aware("time", when).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def require_aware(name: str, when: datetime) -> datetime:
    """``when`` itself, or ``InvalidData`` naming ``name`` when it has no time zone."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidData(name, f"{when.isoformat()} has no time zone; pass an aware datetime")
    return when


def order_line_blocker(order: Order, line: OrderLine) -> str | None:
    """The reason no after-sales request can touch ``line`` of ``order``, or ``None``.

    Shared by price protection, returns and exchanges so that the same state
    always gives the same reason, in this order: ``already_cancelled`` and
    ``refunded`` (the order's words from ``bot.orders.check_cancel``),
    ``not_paid``, then ``line_cancelled``, ``line_refunded``, ``line_returned``.

    Raises:
        InvalidData: ``line`` is not a line of ``order``.
    """
    order.line(line.line_id)
    if order.status == OrderStatus.CANCELLED:
        return "already_cancelled"
    if order.status == OrderStatus.REFUNDED:
        return "refunded"
    if order.status == OrderStatus.AWAITING_PAYMENT or order.paid_at is None:
        return "not_paid"
    return _LINE_BLOCKERS.get(line.status)


_LINE_BLOCKERS = {
    LineStatus.CANCELLED: "line_cancelled",
    LineStatus.REFUNDED: "line_refunded",
    LineStatus.RETURNED: "line_returned",
}
