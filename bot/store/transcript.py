"""Every message of every conversation, written before it is sent anywhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.chat import ROLES, ChatMessage
from bot.store import schema as t
from bot.store.database import write_transaction

#: One message of a turn as ``append_many`` takes it: text, buttons and card (or None).
Draft = tuple[str, Sequence[Mapping[str, str]], Mapping[str, Any] | None]


@dataclass(frozen=True)
class StoredTurn:
    """A shopper message already in the transcript under its sender's id, and the bot's replies since."""

    message: ChatMessage
    replies: tuple[ChatMessage, ...]


class SqlTranscript:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, conversation_id: str, role: str, text: str, at: datetime, *,
               buttons: Iterable[Mapping[str, str]] = (), card: Mapping[str, Any] | None = None,
               author: str | None = None, intent: str | None = None,
               confidence: float | None = None, client_id: str | None = None) -> ChatMessage:
        """Store one message. With ``client_id`` (the sender's name for it) a second message of
        the same conversation under the same id is refused with ``sa.exc.IntegrityError``:
        callers look for it with ``turn`` first."""
        _check_role(role)
        with write_transaction(self.engine) as c:
            return _insert(c, conversation_id, role, text, at, tuple(dict(b) for b in buttons), card,
                           author, intent, confidence, client_id)

    def turn(self, conversation_id: str, client_id: str) -> StoredTurn | None:
        """The message ``client_id`` of the conversation and the bot's replies after it (up to the
        shopper's next message), or ``None`` if no message has that id."""
        m = t.messages.c
        with self.engine.connect() as c:
            first = c.execute(sa.select(t.messages).where(m.conversation_id == conversation_id,
                                                          m.client_id == client_id)).first()
            if first is None:
                return None
            following = c.execute(sa.select(t.messages).where(m.conversation_id == conversation_id, m.id > first.id)
                                  .order_by(m.id).limit(50)).all()
        replies = []
        for r in following:
            if r.role == "shopper":
                break
            if r.role == "bot":
                replies.append(_message(r))
        return StoredTurn(_message(first), tuple(replies))

    def append_many(self, conversation_id: str, role: str, drafts: Iterable[Draft],
                    at: datetime) -> list[ChatMessage]:
        """Several messages of one turn (the bot's replies) in one transaction: all of them or none."""
        _check_role(role)
        drafts = list(drafts)
        if not drafts:
            return []
        with write_transaction(self.engine) as c:
            return [_insert(c, conversation_id, role, text, at, tuple(dict(b) for b in buttons), card,
                            None, None, None, None) for text, buttons, card in drafts]

    def history(self, conversation_id: str, limit: int = 500) -> list[ChatMessage]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(t.messages).where(t.messages.c.conversation_id == conversation_id)
                             .order_by(t.messages.c.id.desc()).limit(limit)).all()
        return [_message(r) for r in reversed(rows)]


def _message(r: sa.Row[Any]) -> ChatMessage:
    return ChatMessage(r.id, r.conversation_id, r.role, r.text, r.at, tuple(r.buttons or ()), r.card, r.author,
                       r.intent)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")


def _insert(c: Connection, conversation_id: str, role: str, text: str, at: datetime,
            buttons: tuple[dict[str, str], ...], card: Mapping[str, Any] | None, author: str | None,
            intent: str | None, confidence: float | None, client_id: str | None) -> ChatMessage:
    row_id = c.execute(sa.insert(t.messages).values(
        conversation_id=conversation_id, role=role, text=text, buttons=list(buttons),
        card=dict(card) if card else None, author=author, intent=intent,
        confidence=confidence, at=at, client_id=client_id)).inserted_primary_key[0]
    return ChatMessage(int(row_id), conversation_id, role, text, at, buttons,
                       dict(card) if card else None, author, intent)
