"""Price protection (价格保护): refunding the difference when a price drops.

The rules follow JD.com's price-protection terms (京东价格保护服务规则):

* Within the category's window after sign-off (or after payment while the
  parcel is on its way, where the category allows it), a shopper who sees a
  lower list or promotion price gets back what they actually paid per unit
  minus today's price, times the quantity.
* Flash sales (秒杀) and clearance (清仓) are not compared against, and lines
  bought at such prices, and free gifts, are not protected.
* A lower price that only a coupon or a payment method gives (券后价, 支付立减)
  is not a price drop.
* A difference is paid once: a second claim at the same price is refused; a
  later, deeper drop pays only what was not paid yet.

Everything here is pure: the shell passes the order, the price history, the
line's earlier claims, the policy and ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from bot.catalog import PriceKind, PricePoint, Product, price_at
from bot.decision import (
    CENT,
    Decision,
    format_money,
    format_time,
    order_line_blocker,
    require_aware,
)
from bot.errors import InvalidData, NotAllowed
from bot.orders import Order, OrderLine
from bot.policy import Policy, ProtectionWindow

TOPIC = "price_protection"

#: Every reason ``assess_price_protection`` can give; each has a response
#: ``utter_price_protection_<reason>`` in both languages.
REASONS = (
    "eligible",
    "eligible_needs_review",
    "already_cancelled",
    "refunded",
    "not_paid",
    "line_cancelled",
    "line_refunded",
    "line_returned",
    "gift_excluded",
    "flash_sale_purchase",
    "clearance_purchase",
    "order_not_delivered",
    "window_closed",
    "flash_sale_excluded",
    "clearance_excluded",
    "coupon_only",
    "no_drop",
    "already_claimed",
)

#: Only these prices count as "today's price" (JD: 以商品页面标价/促销价为准).
ELIGIBLE_KINDS = (PriceKind.LIST, PriceKind.PROMOTION)


class ClaimStatus(str, Enum):
    """Where a price-protection claim stands."""

    PENDING_REVIEW = "pending_review"  # above the auto-approval limit, a person decides
    APPROVED = "approved"  # granted, refund on its way
    PAID = "paid"  # refunded to the original payment method
    REJECTED = "rejected"  # refused on review; does not count as claimed


#: Claims that count as "already claimed": their money is paid or promised.
OPEN_OR_PAID = frozenset({ClaimStatus.PENDING_REVIEW, ClaimStatus.APPROVED, ClaimStatus.PAID})
#: Claims whose money left, or is leaving, the shop; a later refund deducts them.
COMMITTED = frozenset({ClaimStatus.APPROVED, ClaimStatus.PAID})


@dataclass(frozen=True)
class ClaimRecord:
    """One price-protection claim already made for an order line.

    Attributes:
        claim_id: The claim's id, shown to the shopper.
        line_id: The order line it is for.
        amount: What this claim refunds (the total difference minus earlier claims).
        price_at_claim: Today's eligible price when the claim was made.
        status: Where it stands.
        created_at: When it was made.
    """

    claim_id: str
    line_id: str
    amount: Decimal
    price_at_claim: Decimal
    status: ClaimStatus
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "line_id": self.line_id,
            "amount": str(self.amount),
            "price_at_claim": str(self.price_at_claim),
            "status": self.status.value,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClaimRecord:
        try:
            created_at = datetime.fromisoformat(str(data["created_at"]))
            return cls(
                claim_id=str(data["claim_id"]),
                line_id=str(data["line_id"]),
                amount=Decimal(str(data["amount"])),
                price_at_claim=Decimal(str(data["price_at_claim"])),
                status=ClaimStatus(data["status"]),
                created_at=require_aware("created_at", created_at),
            )
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise InvalidData("claim", exc) from exc


def assess_price_protection(order: Order, line: OrderLine, product: Product,
                            history: Iterable[PricePoint], prior_claims: Sequence[ClaimRecord],
                            policy: Policy, now: datetime) -> Decision:
    """Whether ``line`` gets a price-protection refund at ``now``, and how much.

    The window counts to the second from sign-off (``order.delivered_at``), or
    from payment while undelivered where the category allows it. "Within 30
    days" of a sign-off at 2026-11-10 15:00:00 means up to 2026-12-10 15:00:00
    inclusive; at 15:00:01 the reason is ``window_closed``.

    The refund is ``(line.paid_per_unit - today's eligible price) * quantity``
    minus what earlier claims of this line already got. Example: bought at
    ¥2,999.00, a promotion at ¥2,750.00 pays ¥249.00 (claim at 2,750.00); a later
    promotion at ¥2,499.00 pays ¥251.00 more, and asking again at ¥2,499.00 gives
    ``already_claimed``. Up to ``auto_approve_limit`` (¥500.00) the reason is
    ``eligible`` (approved at once), above it ``eligible_needs_review``.

    Args:
        prior_claims: The line's earlier claims; other lines' and rejected
            claims are ignored.

    Raises:
        InvalidData: ``line`` is not in ``order``, ``product`` is not the
            line's SKU, ``now`` is naive, or there is no price for the SKU now.
    """
    require_aware("now", now)
    if product.sku != line.sku:
        raise InvalidData("product", f"{product.sku} is not the SKU of line {line.line_id} "
                          f"({line.sku})")
    paid = line.paid_per_unit
    due = policy.decision_due(now)
    facts = {
        "order_id": order.order_id,
        "line_id": line.line_id,
        "sku": line.sku,
        "product_zh": product.name_zh,
        "product_en": product.name_en,
        "quantity": str(line.quantity),
        "paid": format_money(paid),
        "decision_due": format_time(due, policy.timezone),
    }

    def decide(reason: str, *, amount: Decimal | None = None, price: Decimal | None = None,
               deadline: datetime | None = None, **more: str) -> Decision:
        # amount, price and deadline are typed fields and, formatted, facts too.
        if amount is not None:
            more["amount"] = format_money(amount)
        if price is not None:
            more["price"] = format_money(price)
        if deadline is not None:
            more["deadline"] = format_time(deadline, policy.timezone)
        allowed = reason in ("eligible", "eligible_needs_review")
        return Decision(TOPIC, allowed, reason, {**facts, **more}, amount=amount, price=price,
                        deadline=deadline, decision_due=due)

    blocker = order_line_blocker(order, line)
    if blocker is not None:
        return decide(blocker)
    if line.is_gift:
        return decide("gift_excluded")
    if line.price_kind == PriceKind.FLASH_SALE.value:
        return decide("flash_sale_purchase")
    if line.price_kind == PriceKind.CLEARANCE.value:
        return decide("clearance_purchase")

    window = policy.price_protection.window(product.category)
    if order.delivered_at is None and not window.from_payment_if_undelivered:
        return decide("order_not_delivered")
    deadline = _window_end(order, window, policy)
    if deadline is not None and now > deadline:
        return decide("window_closed", deadline=deadline)

    in_force = price_at(history, line.sku, now)
    if in_force is None:
        raise InvalidData("price history", f"no price for {line.sku} at {now.isoformat()}")
    if in_force.kind == PriceKind.FLASH_SALE:
        return decide("flash_sale_excluded", price=in_force.price, deadline=deadline)
    if in_force.kind == PriceKind.CLEARANCE:
        return decide("clearance_excluded", price=in_force.price, deadline=deadline)

    eligible = price_at(history, line.sku, now, ELIGIBLE_KINDS)
    if eligible is None or eligible.price >= paid:
        reference = paid if eligible is None else eligible.price
        if in_force.price < paid:
            return decide("coupon_only", price=reference, deadline=deadline,
                          offer_price=format_money(in_force.price))
        return decide("no_drop", price=reference, deadline=deadline)

    price = eligible.price
    total = ((paid - price) * line.quantity).quantize(CENT)
    counted = [c for c in prior_claims if c.line_id == line.line_id and c.status in OPEN_OR_PAID]
    claimed = sum((c.amount for c in counted), Decimal("0.00")).quantize(CENT)
    amount = total - claimed
    if counted:
        lowest = min(counted, key=lambda c: (c.price_at_claim, -c.created_at.timestamp()))
        if price >= lowest.price_at_claim or amount <= 0:
            return decide("already_claimed", price=price, deadline=deadline,
                          claim_id=lowest.claim_id,
                          claimed_price=format_money(lowest.price_at_claim),
                          claimed=format_money(claimed))

    limit = policy.price_protection.auto_approve_limit
    reason, status = (("eligible", ClaimStatus.APPROVED) if amount <= limit
                      else ("eligible_needs_review", ClaimStatus.PENDING_REVIEW))
    return decide(reason, amount=amount, price=price, deadline=deadline,
                  total=format_money(total), claimed=format_money(claimed),
                  status=status.value, limit=format_money(limit))


def _window_end(order: Order, window: ProtectionWindow, policy: Policy) -> datetime | None:
    """The last protected second; ``None`` keeps an undelivered order open until sign-off."""
    if order.delivered_at is not None:
        start, days = order.delivered_at, window.days
    else:
        assert order.paid_at is not None  # order_line_blocker gave "not_paid" otherwise
        if window.days_from_payment is None:
            return None
        start, days = order.paid_at, window.days_from_payment
    # Absolute time, not wall-clock arithmetic, so "to the second" holds in any zone.
    end = start.astimezone(UTC) + timedelta(days=days)
    return end.astimezone(policy.timezone)


def open_claim(decision: Decision, claim_id: str, now: datetime) -> tuple[ClaimRecord, Decision]:
    """The claim to store for an allowed decision, and the decision with its ``claim_id``.

    The core does not make ids: the shell picks ``claim_id``, stores the
    returned ``ClaimRecord`` and then utters the returned decision, whose
    ``eligible`` responses show ``{claim_id}``.

    Raises:
        NotAllowed: the decision refused the claim (its reason is passed on).
    """
    require_aware("now", now)
    if decision.topic != TOPIC or not decision.allowed:
        raise NotAllowed(decision.reason, response=decision.response)
    assert decision.amount is not None and decision.price is not None
    status = ClaimStatus.APPROVED if decision.reason == "eligible" else ClaimStatus.PENDING_REVIEW
    claim = ClaimRecord(claim_id=claim_id, line_id=decision.facts["line_id"],
                        amount=decision.amount, price_at_claim=decision.price,
                        status=status, created_at=now)
    return claim, decision.with_facts(claim_id=claim_id)


def refund_after_protection(line: OrderLine, claims: Iterable[ClaimRecord],
                            refund_amount: Decimal) -> Decimal:
    """What a later refund of ``line`` pays once price protection already paid is deducted.

    JD: 商品退货时，已获得的价保金额将从退款中扣除. Approved and paid claims of
    this line are deducted; a claim still pending review is not (withdraw it
    when the line is refunded). Never below zero. Example: paid ¥2,999.00,
    protection ¥249.00 paid, full return refunds ¥2,750.00.
    """
    deducted = sum((c.amount for c in claims
                    if c.line_id == line.line_id and c.status in COMMITTED), Decimal("0.00"))
    return max(refund_amount - deducted, Decimal("0.00")).quantize(CENT)
