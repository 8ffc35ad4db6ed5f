"""Returns, exchanges and cancellations: may this line go back, or this order stop?

Sources:

* 7-day no-reason return (七日无理由退货): the PRC Consumer Rights Protection
  Law, art. 25, and SAMR's implementing measures (《网络购买商品七日无理由退货暂行办法》):
  counted from the day after sign-off; custom-made goods, fresh and perishable
  goods, opened digital content and newspapers and periodicals are excluded.
* Quality return and exchange: the shop's own promise, longer than the
  statutory 三包 minimum: return within 30 days, replacement (not repair)
  within 180 days, for the categories listed in ``policy.yml``.
* Cancellation: ``bot.orders.check_cancel`` (until handed to the carrier).

Return and exchange windows count whole local days in the shop's time zone
from the day after sign-off: signed 2026-11-10 15:00 (Asia/Shanghai), a 7-day
window runs 2026-11-11 00:00 through 2026-11-17 23:59:59. Returning on the
sign-off day itself is allowed too.

Every decision carries ``decision_due`` (now + 100 minutes, the after-sales
promise) and, where a window applies, its ``deadline``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from bot.catalog import Product
from bot.decision import Decision, format_money, format_time, order_line_blocker, require_aware
from bot.errors import InvalidData, NotAllowed
from bot.orders import Order, OrderLine, check_cancel
from bot.policy import Policy

ReturnReason = Literal["no_reason", "quality"]

#: Every reason ``assess_return`` can give (responses ``utter_return_<reason>``).
RETURN_REASONS = (
    "eligible",
    "already_cancelled",
    "refunded",
    "not_paid",
    "line_cancelled",
    "line_refunded",
    "line_returned",
    "gift_excluded",
    "order_not_delivered",
    "custom_made_excluded",
    "perishable_excluded",
    "digital_content_opened",
    "category_excluded",
    "quality_not_covered",
    "window_closed",
)

#: Every reason ``assess_exchange`` can give (responses ``utter_exchange_<reason>``).
EXCHANGE_REASONS = (
    "eligible",
    "already_cancelled",
    "refunded",
    "not_paid",
    "line_cancelled",
    "line_refunded",
    "line_returned",
    "order_not_delivered",
    "quality_not_covered",
    "window_closed",
)

#: Every reason ``assess_cancel`` can give (responses ``utter_cancel_<reason>``),
#: the words of ``bot.orders.check_cancel``.
CANCEL_REASONS = ("eligible", "already_shipped", "already_cancelled", "refunded")


def assess_return(order: Order, line: OrderLine, product: Product, policy: Policy,
                  now: datetime, reason: ReturnReason, opened: bool) -> Decision:
    """Whether ``line`` may be returned for a refund at ``now``.

    ``reason="no_reason"`` applies the 7-day no-reason window and its
    exclusions, checked in this order: custom-made, perishable, opened digital
    content (``opened`` or ``line.opened``), excluded category.
    ``reason="quality"`` applies the 30-day quality window to the categories in
    ``returns.quality_categories``; others give ``quality_not_covered`` (a person
    takes over). Gifts go back only with the item they came with. An eligible
    decision's ``amount`` is what the line cost; the refund itself is
    ``bot.protection.refund_after_protection`` of it.

    Example: signed 2026-11-10 15:00 Shanghai time, a no-reason return asked at
    2026-11-17 23:59:59 is ``eligible``; at 2026-11-18 00:00:00 it is
    ``window_closed`` with deadline "2026-11-17 23:59".

    Raises:
        InvalidData: ``reason`` is neither "no_reason" nor "quality", ``line``
            is not in ``order``, or ``now`` is naive.
    """
    if reason not in ("no_reason", "quality"):
        raise InvalidData("return reason", f"{reason!r}; use 'no_reason' or 'quality'")
    rules = policy.returns
    facts = _facts(order, line, product, policy, now)
    facts["return_reason"] = reason

    def decide(why: str, deadline: datetime | None = None, days: int | None = None) -> Decision:
        return _decision("return", why, facts, policy, now, deadline, days,
                         amount=line.paid_amount)

    blocker = order_line_blocker(order, line)
    if blocker is not None:
        return decide(blocker)
    if line.is_gift:
        return decide("gift_excluded")
    if order.delivered_at is None:
        return decide("order_not_delivered")
    if reason == "no_reason":
        if rules.exclude_custom_made and product.custom_made:
            return decide("custom_made_excluded")
        if rules.exclude_perishable and product.perishable:
            return decide("perishable_excluded")
        if rules.exclude_opened_digital_content and product.digital_content and (
                opened or line.opened):
            return decide("digital_content_opened")
        if product.category in rules.no_reason_excluded_categories:
            return decide("category_excluded")
        days = rules.no_reason_days
    else:
        if product.category not in rules.quality_categories:
            return decide("quality_not_covered")
        days = rules.quality_return_days
    deadline, closes = local_day_window(order.delivered_at, days, policy)
    return decide("eligible" if now < closes else "window_closed", deadline, days)


def assess_exchange(order: Order, line: OrderLine, product: Product, policy: Policy,
                    now: datetime) -> Decision:
    """Whether a faulty ``line`` may be replaced (not repaired) at ``now``.

    A quality exchange is open for ``returns.quality_exchange_days`` (180) local
    days from the day after sign-off, for the categories in
    ``returns.quality_categories``. Example: signed 2026-11-10 15:00 Shanghai
    time, the last moment is 2027-05-09 23:59:59.

    Raises:
        InvalidData: ``line`` is not in ``order``, or ``now`` is naive.
    """
    rules = policy.returns
    facts = _facts(order, line, product, policy, now)

    def decide(why: str, deadline: datetime | None = None, days: int | None = None) -> Decision:
        return _decision("exchange", why, facts, policy, now, deadline, days)

    blocker = order_line_blocker(order, line)
    if blocker is not None:
        return decide(blocker)
    if order.delivered_at is None:
        return decide("order_not_delivered")
    if product.category not in rules.quality_categories:
        return decide("quality_not_covered")
    days = rules.quality_exchange_days
    deadline, closes = local_day_window(order.delivered_at, days, policy)
    return decide("eligible" if now < closes else "window_closed", deadline, days)


def assess_cancel(order: Order) -> Decision:
    """Whether ``order`` may still be cancelled, by ``bot.orders.check_cancel``.

    Allowed until the parcel is handed to the carrier; afterwards the reason is
    ``already_shipped`` and the response suggests a return instead. A cancel
    is decided at once, so the decision has no ``decision_due``.
    """
    facts = {"order_id": order.order_id, "amount": format_money(order.total_paid)}
    try:
        check_cancel(order)
    except NotAllowed as exc:
        return Decision("cancel", False, exc.reason, facts)
    return Decision("cancel", True, "eligible", facts, amount=order.total_paid)


def local_day_window(signed_at: datetime, days: int, policy: Policy) -> tuple[datetime, datetime]:
    """The last second of a ``days``-day window counted from the day after sign-off, and
    the first second after it, both in the shop's time zone.

    >>> # signed 2026-11-10 15:00 +08:00, 7 days -> (2026-11-17 23:59:59, 2026-11-18 00:00:00)
    """
    signed_local = require_aware("signed_at", signed_at).astimezone(policy.timezone)
    first_day = signed_local.date() + timedelta(days=1)
    closes = datetime.combine(first_day + timedelta(days=days), time(0), tzinfo=policy.timezone)
    return closes - timedelta(seconds=1), closes


def _facts(order: Order, line: OrderLine, product: Product, policy: Policy,
           now: datetime) -> dict[str, str]:
    require_aware("now", now)
    if product.sku != line.sku:
        raise InvalidData("product", f"{product.sku} is not the SKU of line {line.line_id} "
                          f"({line.sku})")
    return {
        "order_id": order.order_id,
        "line_id": line.line_id,
        "sku": line.sku,
        "product_zh": product.name_zh,
        "product_en": product.name_en,
        "decision_due": format_time(policy.decision_due(now), policy.timezone),
    }


def _decision(topic: str, reason: str, facts: dict[str, str], policy: Policy, now: datetime,
              deadline: datetime | None, days: int | None,
              amount: Decimal | None = None) -> Decision:
    more = dict(facts)
    if deadline is not None:
        more["deadline"] = format_time(deadline, policy.timezone)
    if days is not None:
        more["days"] = str(days)
    allowed = reason == "eligible"
    return Decision(topic, allowed, reason, more, amount=amount if allowed else None,
                    deadline=deadline, decision_due=policy.decision_due(now))
