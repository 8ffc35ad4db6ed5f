"""Chat messages and the rules for what a shopper may send.

The front door applies these before anything reaches Rasa: stock Rasa 3.6
classifies a message of zero-width spaces as an intent, freezes on 10,000
characters and runs out of memory on 100,000 (see README "Bad input").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.errors import ShopError
from bot.language import normalise

ROLES = ("shopper", "bot", "agent", "system")
_PAYLOAD = re.compile(r"^/([a-z_]{2,40})(\{.{0,400}\})?$", re.S)
_CONTENT = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff]")


class MessageRejected(ShopError):
    """A shopper message that is not passed on; ``code`` names why."""

    def __init__(self, code: str, **facts: object) -> None:
        super().__init__(f"message rejected: {code} {facts or ''}".strip())
        self.code = code
        self.facts = facts


@dataclass(frozen=True)
class Inbound:
    """A shopper message ready for Rasa: what to show and what to send."""

    shown: str
    sent: str


def prepare(text: Any, payload: Any, intents: Iterable[str], max_chars: int) -> Inbound:
    """Validate and normalise one shopper message.

    - ``payload`` (from a quick-reply button) must be ``/intent`` or
      ``/intent{json object}`` for a known intent;
    - ``text`` is NFKC-normalised with zero-width and control characters
      removed; empty afterwards is rejected, longer than ``max_chars`` too;
    - typed text cannot smuggle an intent: leading ``/`` are dropped;
    - text with no letter, digit or CJK character (emoji only, punctuation)
      is sent as ``/nlu_fallback`` so the bot asks the shopper to rephrase.

    >>> prepare("  在吗\\u200b ", None, [], 100).sent
    '在吗'
    """
    if payload is not None:
        return Inbound(shown=_clean_text(text, max_chars, allow_empty=True) or "",
                       sent=_check_payload(payload, set(intents)))
    cleaned = _clean_text(text, max_chars, allow_empty=False)
    typed = cleaned.lstrip("/").strip()
    if not typed:
        raise MessageRejected("empty_message")
    if not _CONTENT.search(typed):
        return Inbound(shown=cleaned, sent="/nlu_fallback")
    return Inbound(shown=cleaned, sent=typed)


def _clean_text(text: Any, max_chars: int, allow_empty: bool) -> str:
    if text is None and allow_empty:
        return ""
    if not isinstance(text, str):
        raise MessageRejected("invalid_type", field="text")
    if len(text) > max_chars * 4:  # cheap guard before normalising
        raise MessageRejected("message_too_long", limit=max_chars)
    cleaned = normalise(text)
    if len(cleaned) > max_chars:
        raise MessageRejected("message_too_long", limit=max_chars)
    if not cleaned and not allow_empty:
        raise MessageRejected("empty_message")
    return cleaned


def _check_payload(payload: Any, intents: set[str]) -> str:
    if not isinstance(payload, str):
        raise MessageRejected("invalid_type", field="payload")
    m = _PAYLOAD.match(payload.strip())
    if m is None or m.group(1) not in intents:
        raise MessageRejected("invalid_payload")
    if m.group(2):
        try:
            entities = json.loads(m.group(2))
        except ValueError:
            raise MessageRejected("invalid_payload") from None
        if not isinstance(entities, dict) or not all(
                isinstance(v, (str, int)) for v in entities.values()):
            raise MessageRejected("invalid_payload")
    return payload.strip()


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation as the chat page shows it."""

    id: int
    conversation_id: str
    role: str
    text: str
    at: datetime
    buttons: tuple[Mapping[str, str], ...] = ()
    card: Mapping[str, Any] | None = None
    author: str | None = None
    intent: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": f"m_{self.id}", "role": self.role, "text": self.text,
                "buttons": [dict(b) for b in self.buttons], "card": self.card,
                "author": self.author, "intent": self.intent, "at": self.at.isoformat()}


def from_rasa(outputs: Iterable[Mapping[str, Any]]) -> list[tuple[str, tuple[dict[str, str], ...], Any]]:
    """(text, buttons, card) for each message of a Rasa REST channel reply."""
    out = []
    for m in outputs:
        if not isinstance(m, Mapping):
            continue
        custom = m.get("custom")
        card = custom.get("card") if isinstance(custom, Mapping) else None
        buttons = tuple({"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                        for b in m.get("buttons") or [] if isinstance(b, Mapping))
        text = m.get("text") or ""
        if text or buttons or card:
            out.append((str(text), buttons, card))
    return out
