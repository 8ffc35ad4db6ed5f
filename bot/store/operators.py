"""Operators, their sessions and the audit trail of every change they make."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store import schema as t
from bot.store.database import write_transaction
from bot.store.handoff import check_password, hash_password


@dataclass(frozen=True)
class Operator:
    """Someone who edits, trains and publishes the assistant (not an agent, not a shopper)."""

    operator_id: str
    name: str

    def to_json(self) -> dict[str, str]:
        return {"operator_id": self.operator_id, "name": self.name}


@dataclass(frozen=True)
class AuditEntry:
    """One change: who, what, on which target, when."""

    actor: str
    action: str
    target: str
    detail: Mapping[str, Any]
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"actor": self.actor, "action": self.action, "target": self.target,
                "detail": dict(self.detail), "at": self.at.isoformat()}


#: The demo operators seeded with the demo shop (password "demo").
DEMO_OPERATORS = (Operator("O01", "陈静 Chen Jing"), Operator("O02", "Sam Lee"))


class SqlOperators:
    """Operator accounts, sessions and the append-only audit log."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def seed(self, operators: tuple[Operator, ...] = DEMO_OPERATORS, password: str = "demo") -> None:
        with write_transaction(self.engine) as c:
            if c.execute(sa.select(sa.func.count()).select_from(t.operators)).scalar_one():
                return
            for o in operators:
                c.execute(sa.insert(t.operators).values(operator_id=o.operator_id, name=o.name,
                                                        password_hash=hash_password(password)))

    def login(self, operator_id: str, password: str, now: datetime) -> tuple[Operator, str] | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.operators).where(t.operators.c.operator_id == operator_id)).first()
        if row is None or not check_password(password, row.password_hash):
            return None
        token = secrets.token_urlsafe(32)
        with write_transaction(self.engine) as c:
            c.execute(sa.insert(t.operator_sessions).values(token=token, operator_id=operator_id, created_at=now))
        return Operator(row.operator_id, row.name), token

    def session_operator(self, token: str | None) -> Operator | None:
        if not token or len(token) > 64:
            return None
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.operators).join(
                t.operator_sessions, t.operator_sessions.c.operator_id == t.operators.c.operator_id).where(
                t.operator_sessions.c.token == token)).first()
        return None if row is None else Operator(row.operator_id, row.name)

    def logout(self, token: str) -> None:
        with write_transaction(self.engine) as c:
            c.execute(sa.delete(t.operator_sessions).where(t.operator_sessions.c.token == token))

    def record(self, actor: str, action: str, target: str, detail: Mapping[str, Any], now: datetime) -> None:
        """Append one entry to the audit trail (never updated, never deleted)."""
        with write_transaction(self.engine) as c:
            c.execute(sa.insert(t.audit_log).values(actor=actor, action=action, target=target[:300],
                                                    detail=dict(detail), at=now))

    def audit(self, limit: int = 200, target: str | None = None) -> list[AuditEntry]:
        """The newest entries first."""
        q = sa.select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit)
        if target is not None:
            q = q.where(t.audit_log.c.target == target)
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        return [AuditEntry(r.actor, r.action, r.target, r.detail, r.at) for r in rows]
