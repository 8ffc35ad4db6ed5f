"""After-sales records: price-protection claims, returns, exchanges, complaints and the Andon cord.

Every decision is made by the pure core (``bot.protection``, ``bot.returns``,
``bot.andon``) inside a write transaction, and stored in the same one, so a
decision and its record can never disagree and nothing is half-written.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.andon import AndonDecision, Complaint, assess_andon, classify_defect, is_safety, reinstate
from bot.catalog import PriceKind, PricePoint
from bot.decision import Decision
from bot.errors import NotAllowed, OrderNotFound, ProductNotFound
from bot.orders import Order
from bot.policy import Policy
from bot.protection import ClaimRecord, ClaimStatus, assess_price_protection, open_claim, refund_after_protection
from bot.returns import assess_exchange, assess_return
from bot.store import schema as t
from bot.store.database import write_transaction
from bot.store.shop import SqlShop, _assemble, _product


def new_id(prefix: str, now: datetime) -> str:
    """``PP-261123-3F9A1C``: a prefix, the day, and six random hex digits."""
    return f"{prefix}-{now:%y%m%d}-{secrets.token_hex(3).upper()}"


@dataclass(frozen=True)
class StoredClaim:
    """A claim with the order it belongs to, for status questions."""

    claim: ClaimRecord
    order_id: str
    sku: str
    decision_due: datetime


@dataclass(frozen=True)
class Request:
    """A stored return or exchange request."""

    request_id: str
    kind: str
    reason: str
    order_id: str
    line_id: str
    sku: str
    status: str
    refund_amount: Any
    created_at: datetime
    decision_due: datetime


class SqlAfterSales:
    """After-sales decisions and their durable records."""

    def __init__(self, engine: Engine, shop: SqlShop, policy: Policy) -> None:
        self.engine = engine
        self.shop = shop
        self.policy = policy

    # -- price protection ----------------------------------------------------
    def claim_price_protection(self, customer_id: str, line_id: str, now: datetime) -> Decision:
        """Assess and, when allowed, file a price-protection claim for one order line.

        Idempotent: a repeated request at the same price finds the stored claim
        and answers ``already_claimed`` with its id; concurrent identical
        requests are serialised by the write lock (SQLite) or collide on the
        unique (line, price) constraint (PostgreSQL) and then read the winner.
        """
        try:
            return self._claim_once(customer_id, line_id, now)
        except IntegrityError:
            return self._claim_once(customer_id, line_id, now)

    def _claim_once(self, customer_id: str, line_id: str, now: datetime) -> Decision:
        with write_transaction(self.engine) as c:
            order, line = _order_and_line(c, customer_id, line_id)
            product = _product_row(c, line.sku)
            decision = assess_price_protection(order, line, product, _prices(c, line.sku),
                                               _claims(c, line_id), self.policy, now)
            if not decision.allowed:
                return decision
            claim, decision = open_claim(decision, new_id("PP", now), now)
            c.execute(sa.insert(t.claims).values(
                claim_id=claim.claim_id, line_id=line_id, order_id=order.order_id,
                customer_id=customer_id, amount=claim.amount, price_at_claim=claim.price_at_claim,
                paid_per_unit=line.paid_per_unit, status=claim.status.value, created_at=now,
                decision_due=self.policy.decision_due(now)))
            return decision

    def claims_of(self, customer_id: str) -> list[StoredClaim]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.claims, t.order_lines.c.sku)
                             .join(t.order_lines, t.order_lines.c.line_id == t.claims.c.line_id)
                             .where(t.claims.c.customer_id == customer_id)
                             .order_by(t.claims.c.created_at.desc())).all()
        return [StoredClaim(_claim(r), r.order_id, r.sku, r.decision_due) for r in rows]

    def decide_claim(self, claim_id: str, approve: bool, by: str, now: datetime) -> ClaimRecord:
        """A reviewer's decision on a claim pending review."""
        with write_transaction(self.engine) as c:
            row = c.execute(sa.select(t.claims).where(t.claims.c.claim_id == claim_id)).first()
            if row is None:
                raise NotAllowed("claim_not_found", claim_id=claim_id)
            if row.status != ClaimStatus.PENDING_REVIEW.value:
                raise NotAllowed("claim_already_decided", claim_id=claim_id, status=row.status)
            status = ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED
            c.execute(sa.update(t.claims).where(t.claims.c.claim_id == claim_id)
                      .values(status=status.value, decided_by=by, decided_at=now))
            row = c.execute(sa.select(t.claims).where(t.claims.c.claim_id == claim_id)).one()
            return _claim(row)

    # -- returns and exchanges ------------------------------------------------
    def request_return(self, customer_id: str, line_id: str, reason: str, opened: bool,
                       now: datetime) -> tuple[Decision, Request | None]:
        """Assess a return; when allowed, store it with the refund net of price protection."""
        with write_transaction(self.engine) as c:
            order, line = _order_and_line(c, customer_id, line_id)
            existing = _request(c, line_id, "return")
            decision = assess_return(order, line, _product_row(c, line.sku), self.policy, now,
                                     reason, opened)  # type: ignore[arg-type]
            if existing is not None or not decision.allowed:
                return decision, existing
            refund = refund_after_protection(line, _claims(c, line_id), decision.amount or line.paid_amount)
            request = Request(new_id("RT", now), "return", reason, order.order_id, line_id, line.sku,
                              "open", refund, now, self.policy.decision_due(now))
            _insert_request(c, request, customer_id, decision)
            return decision, request

    def request_exchange(self, customer_id: str, line_id: str, now: datetime) -> tuple[Decision, Request | None]:
        with write_transaction(self.engine) as c:
            order, line = _order_and_line(c, customer_id, line_id)
            existing = _request(c, line_id, "exchange")
            decision = assess_exchange(order, line, _product_row(c, line.sku), self.policy, now)
            if existing is not None or not decision.allowed:
                return decision, existing
            request = Request(new_id("EX", now), "exchange", "quality", order.order_id, line_id, line.sku,
                              "open", None, now, self.policy.decision_due(now))
            _insert_request(c, request, customer_id, decision)
            return decision, request

    def requests_of(self, customer_id: str) -> list[Request]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.after_sales, t.order_lines.c.sku)
                             .join(t.order_lines, t.order_lines.c.line_id == t.after_sales.c.line_id)
                             .where(t.after_sales.c.customer_id == customer_id)
                             .order_by(t.after_sales.c.created_at.desc())).all()
        return [_request_of(r) for r in rows]

    # -- complaints and the Andon cord ---------------------------------------
    def complain(self, customer_id: str, order_id: str | None, sku: str, text: str,
                 entities: Sequence[Mapping[str, Any]], now: datetime) -> tuple[Complaint, AndonDecision]:
        """Record a defect complaint and pull the SKU when the Andon rule says so."""
        defect = classify_defect(text, entities, self.policy) or ""
        complaint = Complaint(new_id("CP", now), customer_id, sku, defect, text[:2000], now)
        with write_transaction(self.engine) as c:
            product = _product_row(c, sku)
            recent = [_complaint(r) for r in c.execute(sa.select(t.complaints).where(
                t.complaints.c.sku == sku, t.complaints.c.created_at >= now - self.policy.andon.window))]
            decision = assess_andon(complaint, recent, self.policy, now)
            c.execute(sa.insert(t.complaints).values(
                complaint_id=complaint.complaint_id, customer_id=customer_id, order_id=order_id, sku=sku,
                defect=defect, text=complaint.text, safety=is_safety(text, defect, self.policy),
                created_at=now))
            if decision.pull and product.on_sale:
                self.shop.set_on_sale(sku, False, conn=c)
                c.execute(sa.insert(t.andon_events).values(
                    sku=sku, action="pulled", reason=decision.reason, complaint_ids=list(decision.complaint_ids),
                    actor="andon", note=defect, at=now))
            return complaint, decision

    def reinstate(self, sku: str, by: str, why: str, now: datetime) -> None:
        """An operator puts a pulled SKU back on sale, with an audit record."""
        with write_transaction(self.engine) as c:
            _, record = reinstate(_product_row(c, sku), by, why, now)
            self.shop.set_on_sale(sku, True, conn=c)
            c.execute(sa.insert(t.andon_events).values(
                sku=sku, action="reinstated", reason="review", complaint_ids=[], actor=record.by,
                note=record.why, at=record.at))

    def andon_events(self, sku: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.andon_events).where(t.andon_events.c.sku == sku)
                             .order_by(t.andon_events.c.id)).all()
        return [dict(r._mapping) for r in rows]

    def complaints_about(self, skus: Sequence[str], since: datetime) -> list[Complaint]:
        if not skus:
            return []
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.complaints).where(
                t.complaints.c.sku.in_(sorted(set(skus))), t.complaints.c.created_at >= since))
            return [_complaint(r) for r in rows]


def _order_and_line(c: Connection, customer_id: str, line_id: str) -> tuple[Order, Any]:
    row = c.execute(sa.select(t.order_lines.c.order_id).where(t.order_lines.c.line_id == line_id)).first()
    if row is None:
        raise OrderNotFound(line_id)
    orders = _assemble(c, c.execute(sa.select(t.orders).where(
        t.orders.c.order_id == row.order_id, t.orders.c.customer_id == customer_id)).all())
    if not orders:
        raise OrderNotFound(row.order_id)  # someone else's line looks exactly like a missing one
    return orders[0], orders[0].line(line_id)


def _product_row(c: Connection, sku: str) -> Any:
    row = c.execute(sa.select(t.products).where(t.products.c.sku == sku)).first()
    if row is None:
        raise ProductNotFound(sku)
    return _product(row)


def _prices(c: Connection, sku: str) -> list[PricePoint]:
    rows = c.execute(sa.select(t.price_points).where(t.price_points.c.sku == sku))
    return [PricePoint(r.sku, r.effective_at, r.price, PriceKind(r.kind)) for r in rows]


def _claim(r: Any) -> ClaimRecord:
    return ClaimRecord(r.claim_id, r.line_id, r.amount, r.price_at_claim, ClaimStatus(r.status), r.created_at)


def _claims(c: Connection, line_id: str) -> list[ClaimRecord]:
    return [_claim(r) for r in c.execute(sa.select(t.claims).where(t.claims.c.line_id == line_id))]


def _complaint(r: Any) -> Complaint:
    return Complaint(r.complaint_id, r.customer_id, r.sku, r.defect, r.text, r.created_at)


def _request(c: Connection, line_id: str, kind: str) -> Request | None:
    row = c.execute(sa.select(t.after_sales, t.order_lines.c.sku)
                    .join(t.order_lines, t.order_lines.c.line_id == t.after_sales.c.line_id)
                    .where(t.after_sales.c.line_id == line_id, t.after_sales.c.kind == kind)).first()
    return None if row is None else _request_of(row)


def _request_of(r: Any) -> Request:
    return Request(r.request_id, r.kind, r.reason, r.order_id, r.line_id, r.sku, r.status, r.refund_amount,
                   r.created_at, r.decision_due)


def _insert_request(c: Connection, r: Request, customer_id: str, decision: Decision) -> None:
    c.execute(sa.insert(t.after_sales).values(
        request_id=r.request_id, kind=r.kind, reason=r.reason, line_id=r.line_id, order_id=r.order_id,
        customer_id=customer_id, status=r.status, refund_amount=r.refund_amount, created_at=r.created_at,
        decision_due=r.decision_due, deadline=decision.deadline))
