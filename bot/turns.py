"""Turns as Rasa's tracker records them: what the bot answered to one shopper message.

Pure functions over tracker events in Rasa's JSON form (``Event.as_dict()``, or
``GET /conversations/<id>/tracker``), shared by our Rasa channel (``bot.rasa_channel``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def replies_after(events: Sequence[Mapping[str, Any]], message_id: str,
                  recipient: str) -> list[dict[str, Any]] | None:
    """What the REST channel answered to the user message ``message_id``, rebuilt from tracker events.

    ``None`` when no user event carries ``metadata.message_id == message_id`` (the turn
    never happened). Otherwise the bot events after it, up to the next user event, each
    turned into messages as Rasa's ``OutputChannel.send_response`` and
    ``CollectingOutputChannel`` do (text split at blank lines unless it has buttons, then
    custom, image and attachment as messages of their own). Messages an agent wrote
    (``metadata.agent_id``) are not the bot's answer and are left out.
    """
    start = None
    for i, event in enumerate(events):
        metadata = event.get("metadata")
        if event.get("event") == "user" and isinstance(metadata, dict) and metadata.get("message_id") == message_id:
            start = i
    if start is None:
        return None
    out: list[dict[str, Any]] = []
    for event in events[start + 1:]:
        if event.get("event") == "user":
            break
        metadata = event.get("metadata") or {}
        if event.get("event") == "bot" and not (isinstance(metadata, dict) and metadata.get("agent_id")):
            out.extend(_sent(event, recipient))
    return out


def _sent(event: Mapping[str, Any], recipient: str) -> list[dict[str, Any]]:
    """The REST messages of one ``BotUttered`` event (``BotUttered.message`` then ``send_response``)."""
    m = {**(event.get("data") or {}), "text": event.get("text"), **(event.get("metadata") or {})}
    if m.get("image") == m.get("attachment"):
        m["attachment"] = None

    def msg(**parts: Any) -> dict[str, Any]:
        return {"recipient_id": recipient, **{k: v for k, v in parts.items() if v is not None}}

    out = []
    buttons = m.get("quick_replies") or m.get("buttons")
    if buttons:
        out.append(msg(text=m.get("text"), buttons=buttons))
    elif m.get("text"):
        out.extend(msg(text=part) for part in str(m["text"]).strip().split("\n\n"))
    for key in ("custom", "image", "attachment"):
        if m.get(key):
            out.append(msg(**{key: m[key]}))
    return out
