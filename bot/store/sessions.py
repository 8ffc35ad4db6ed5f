"""Web sessions: a cookie token that maps to a customer and one conversation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store import schema as t
from bot.store.database import write_transaction


@dataclass(frozen=True)
class WebSession:
    token: str
    customer_id: str
    conversation_id: str
    language: str
    created_at: datetime


class SqlSessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, customer_id: str, language: str, now: datetime) -> WebSession:
        s = WebSession(secrets.token_urlsafe(32), customer_id,
                       f"web-{customer_id}-{secrets.token_hex(8)}", language, now)
        with write_transaction(self.engine) as c:
            c.execute(sa.insert(t.web_sessions).values(
                token=s.token, customer_id=s.customer_id, conversation_id=s.conversation_id,
                language=s.language, created_at=s.created_at))
        return s

    def get(self, token: str | None) -> WebSession | None:
        if not token or len(token) > 64:
            return None
        with self.engine.connect() as c:
            r = c.execute(sa.select(t.web_sessions).where(t.web_sessions.c.token == token)).first()
        return None if r is None else WebSession(r.token, r.customer_id, r.conversation_id,
                                                  r.language, r.created_at)

    def by_conversation(self, conversation_id: str) -> WebSession | None:
        with self.engine.connect() as c:
            r = c.execute(sa.select(t.web_sessions).where(
                t.web_sessions.c.conversation_id == conversation_id)).first()
        return None if r is None else WebSession(r.token, r.customer_id, r.conversation_id,
                                                  r.language, r.created_at)

    def set_language(self, token: str, language: str) -> None:
        with write_transaction(self.engine) as c:
            c.execute(sa.update(t.web_sessions).where(t.web_sessions.c.token == token)
                      .values(language=language))

    def delete(self, token: str) -> None:
        with write_transaction(self.engine) as c:
            c.execute(sa.delete(t.web_sessions).where(t.web_sessions.c.token == token))
