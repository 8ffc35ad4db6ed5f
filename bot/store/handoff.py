"""Agents, their sessions, tickets and everything agents do: durable across restarts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.routing import (
    DEFAULT_CONFIG,
    Agent,
    RoutingConfig,
    Ticket,
    TicketNotFound,
    TicketStatus,
    assign_waiting,
    find_ticket,
    loads,
    sla_due,
    sla_state,
)
from bot.store import schema as t
from bot.store.database import write_transaction

#: The demo agents seeded with the demo shop (password "demo").
DEMO_AGENTS = (
    Agent("A01", "李娜", frozenset({"zh"}), frozenset({"appliances", "digital", "price_protection", "orders"}), 3,
          False),
    Agent("A02", "Tom Wilson", frozenset({"en", "zh"}), frozenset({"returns", "beauty", "mother_baby", "orders",
                                                                  "price_protection"}), 3, False),
    Agent("A03", "王磊", frozenset({"zh"}), frozenset({"returns", "safety", "mother_baby", "fresh", "orders"}), 2,
          False),
)


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
    except ValueError:
        return False
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)).split("$")[2], digest)


class SqlHandoff:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- agents ----------------------------------------------------------------
    def seed_agents(self, agents: Iterable[Agent] = DEMO_AGENTS, password: str = "demo") -> None:
        with write_transaction(self.engine) as c:
            if c.execute(sa.select(sa.func.count()).select_from(t.agents)).scalar_one():
                return
            for a in agents:
                c.execute(sa.insert(t.agents).values(agent_id=a.agent_id, password_hash=hash_password(password),
                                                     data=a.to_json()))

    def agents(self) -> list[Agent]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.agents.c.data).order_by(t.agents.c.agent_id)).all()
        return loads([Agent.from_json(r.data) for r in rows], self.open_tickets())

    def agent(self, agent_id: str) -> Agent | None:
        return next((a for a in self.agents() if a.agent_id == agent_id), None)

    def login(self, agent_id: str, password: str, now: datetime) -> tuple[Agent, str] | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.agents).where(t.agents.c.agent_id == agent_id)).first()
        if row is None or not check_password(password, row.password_hash):
            return None
        token = secrets.token_urlsafe(32)
        with write_transaction(self.engine) as c:
            c.execute(sa.insert(t.agent_sessions).values(token=token, agent_id=agent_id, created_at=now))
        return Agent.from_json(row.data), token

    def session_agent(self, token: str | None) -> Agent | None:
        if not token or len(token) > 64:
            return None
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.agent_sessions.c.agent_id).where(t.agent_sessions.c.token == token)).first()
        return None if row is None else self.agent(row.agent_id)

    def logout(self, token: str) -> None:
        with write_transaction(self.engine) as c:
            c.execute(sa.delete(t.agent_sessions).where(t.agent_sessions.c.token == token))

    def set_online(self, agent_id: str, online: bool) -> None:
        with write_transaction(self.engine) as c:
            row = c.execute(sa.select(t.agents.c.data).where(t.agents.c.agent_id == agent_id)).one()
            data = {**row.data, "online": online}
            c.execute(sa.update(t.agents).where(t.agents.c.agent_id == agent_id).values(data=data))

    # -- tickets ---------------------------------------------------------------
    def open_tickets(self) -> list[Ticket]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.tickets.c.data).where(
                t.tickets.c.status != TicketStatus.RESOLVED.value).order_by(t.tickets.c.ticket_id)).all()
        return [Ticket.from_json(r.data) for r in rows]

    def ticket(self, ticket_id: str) -> Ticket:
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.tickets.c.data).where(t.tickets.c.ticket_id == ticket_id)).first()
        if row is None:
            raise TicketNotFound(ticket_id)
        return Ticket.from_json(row.data)

    def open_ticket_of(self, conversation_id: str) -> Ticket | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.tickets.c.data).where(
                t.tickets.c.conversation_id == conversation_id,
                t.tickets.c.status != TicketStatus.RESOLVED.value)).first()
        return None if row is None else Ticket.from_json(row.data)

    def add(self, ticket: Ticket, actor: str, detail: Mapping[str, Any] | None = None) -> Ticket:
        """Store a new ticket, unless the conversation already has an open one (which is returned)."""
        with write_transaction(self.engine) as c:
            row = c.execute(sa.select(t.tickets.c.data).where(
                t.tickets.c.conversation_id == ticket.conversation_id,
                t.tickets.c.status != TicketStatus.RESOLVED.value)).first()
            if row is not None:
                return Ticket.from_json(row.data)
            c.execute(sa.insert(t.tickets).values(ticket_id=ticket.ticket_id, conversation_id=ticket.conversation_id,
                                                  status=ticket.status.value, data=ticket.to_json(),
                                                  updated_at=ticket.created_at))
            c.execute(sa.insert(t.ticket_events).values(ticket_id=ticket.ticket_id, actor=actor, kind="opened",
                                                        detail=dict(detail or {}), at=ticket.created_at))
        return ticket

    def save(self, ticket: Ticket, actor: str, kind: str, at: datetime,
             detail: Mapping[str, Any] | None = None) -> Ticket:
        with write_transaction(self.engine) as c:
            done = c.execute(sa.update(t.tickets).where(t.tickets.c.ticket_id == ticket.ticket_id).values(
                status=ticket.status.value, data=ticket.to_json(), updated_at=at)).rowcount
            if not done:
                raise TicketNotFound(ticket.ticket_id)
            c.execute(sa.insert(t.ticket_events).values(ticket_id=ticket.ticket_id, actor=actor, kind=kind,
                                                        detail=dict(detail or {}), at=at))
        return ticket

    def assign_waiting(self, now: datetime) -> list[Ticket]:
        """Give queued tickets to free agents (bot.routing.assign_waiting); returns the assigned tickets."""
        tickets = self.open_tickets()
        assigned = []
        for ticket_id, agent_id in assign_waiting(tickets, self.agents(), now):
            ticket = find_ticket(tickets, ticket_id)
            done = replace(ticket, status=TicketStatus.ASSIGNED, assigned_to=agent_id, assigned_at=now)
            assigned.append(self.save(done, "router", "assigned", now, {"agent_id": agent_id}))
        return assigned

    def record_rating(self, conversation_id: str, rating: int, at: datetime) -> str | None:
        """Attach a 1-5 rating to the conversation's most recently resolved ticket."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(t.tickets.c.ticket_id).where(
                t.tickets.c.conversation_id == conversation_id, t.tickets.c.status == TicketStatus.RESOLVED.value)
                .order_by(t.tickets.c.updated_at.desc())).first()
        if row is None:
            return None
        with write_transaction(self.engine) as c:
            c.execute(sa.insert(t.ticket_events).values(ticket_id=row.ticket_id, actor="shopper", kind="rating",
                                                        detail={"rating": rating}, at=at))
        return str(row.ticket_id)

    def record_breaches(self, now: datetime, config: RoutingConfig = DEFAULT_CONFIG) -> list[str]:
        """Record an ``sla_breached`` event, once, for every open ticket past its 100-minute promise."""
        breached = [t for t in self.open_tickets() if sla_state(t, now, config) == "breached"]
        if not breached:
            return []
        recorded = []
        with write_transaction(self.engine) as c:
            done = {r.ticket_id for r in c.execute(sa.select(t.ticket_events.c.ticket_id).where(
                t.ticket_events.c.kind == "sla_breached",
                t.ticket_events.c.ticket_id.in_([b.ticket_id for b in breached])))}
            for ticket in breached:
                if ticket.ticket_id not in done:
                    c.execute(sa.insert(t.ticket_events).values(
                        ticket_id=ticket.ticket_id, actor="sla", kind="sla_breached",
                        detail={"due": sla_due(ticket, config).isoformat()}, at=now))
                    recorded.append(ticket.ticket_id)
        return recorded

    def events(self, ticket_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.ticket_events).where(t.ticket_events.c.ticket_id == ticket_id)
                             .order_by(t.ticket_events.c.id)).all()
        return [dict(r._mapping) for r in rows]

    # -- copilot suggestions ---------------------------------------------------
    def record_outcome(self, ticket_id: str, suggestion_id: str, suggestion_type: str, outcome: str,
                       at: datetime) -> None:
        with write_transaction(self.engine) as c:
            c.execute(sa.insert(t.suggestion_outcomes).values(
                ticket_id=ticket_id, suggestion_id=suggestion_id, suggestion_type=suggestion_type,
                outcome=outcome, at=at))

    def outcomes(self) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.suggestion_outcomes).order_by(t.suggestion_outcomes.c.id)).all()
        return [dict(r._mapping) for r in rows]
