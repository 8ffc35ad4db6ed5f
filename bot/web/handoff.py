"""The web service's stand-in for the action server: say the bot cannot look it up, and hand over.

Rasa 3.6 answers a turn whose custom action cannot run with 200 and ``[]``
(``ActionServer``), so without this the shopper's question would simply go
unanswered. The front door (``chat.converse``) notices and answers here, in the
shopper's language, from ``i18n.json``: a one-tap offer of a person, and, when
the shopper takes it, a ticket opened and routed exactly as ``action_handoff``
does it (``bot.routing`` and ``SqlHandoff``: the web service owns both), so
nobody waits for the action server to come back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from aiohttp import web

from bot import display
from bot.language import turn_language
from bot.routing import handoff_news, open_ticket
from bot.store.aftersales import new_id
from bot.store.sessions import WebSession
from bot.web.keys import (
    aftersales_key,
    clock_key,
    handoff_key,
    rasa_conversations_key,
    rasa_key,
    shop_key,
    strings_key,
    transcript_key,
)
from bot.web.rasa_client import RasaUnavailable

log = logging.getLogger(__name__)

#: The payload of the "talk to a person" button: the ``ask_human`` intent, so that it reaches
#: ``action_handoff`` as usual once the action server is back.
ASK_HUMAN = "/ask_human"


def bot_text(strings: Mapping[str, Mapping[str, Any]], language: str, key: str, **facts: Any) -> str:
    """A web-side bot sentence from ``i18n.json`` in ``language``, its placeholders filled."""
    return str(strings.get(language, {}).get(key, key)).format(**facts)


async def stand_in(app: web.Application, s: WebSession, sent: str) -> list[dict[str, Any]]:
    """The bot's answer to a turn the action server could not run, as REST-channel messages.

    A shopper who asks for a person gets one (``hand_over``); anyone else hears
    that the bot cannot look it up right now, with the offer of a person.
    """
    intent, language = await read_turn(app, s, sent)
    if intent == "ask_human":
        return await hand_over(app, s, language)
    strings = app[strings_key]
    return [{"text": bot_text(strings, language, "cannot_look_up"),
             "buttons": [{"title": bot_text(strings, language, "offer_human"), "payload": ASK_HUMAN}]}]


async def read_turn(app: web.Application, s: WebSession, sent: str) -> tuple[str | None, str]:
    """The turn's intent and reply language, decided as ``ValidateSlotMappings`` would have.

    That action could not run either, so the web service asks Rasa's NLU
    (``/model/parse``) and the tracker's slots, which need no action server, and
    applies the same rule (``bot.language.turn_language``): a shopper who prefers
    Chinese but writes in English is answered in English. Best effort: without
    them the message's own script and the shopper's preference decide.
    """
    parsed: dict[str, Any] = {}
    intent: str | None
    if sent.startswith("/"):  # a button payload, already checked by bot.chat.prepare
        intent, brace, entities = sent[1:].partition("{")
        requested = json.loads(brace + entities).get("language") if brace else None
    else:
        with suppress(RasaUnavailable):
            parsed = await app[rasa_key].parse(sent)
        intent = (parsed.get("intent") or {}).get("name")
        requested = next((e.get("value") for e in parsed.get("entities") or []
                          if isinstance(e, dict) and e.get("entity") == "language"), None)
    slots: dict[str, Any] = {}
    with suppress(RasaUnavailable):
        slots = await app[rasa_conversations_key].slots(s.conversation_id)
    language, _ = turn_language(text=sent, intent=intent or "", requested=requested,
                                choice=slots.get("language_choice"), previous=slots.get("language"),
                                default="en" if s.language == "en" else "zh")
    return intent, language


async def hand_over(app: web.Application, s: WebSession, language: str) -> list[dict[str, Any]]:
    """Open, route and announce a ticket as ``action_handoff`` does, then pause the bot unless nobody is online.

    The same core functions and the same ``{"handoff": ...}`` news, so the page and the
    agent consoles cannot tell who opened it; only the sentences come from ``i18n.json``.
    """
    handoff, now = app[handoff_key], app[clock_key]()
    customer = app[shop_key].customer(s.customer_id)
    said = [m.text for m in app[transcript_key].history(s.conversation_id, limit=10) if m.role == "shopper"]
    ticket = handoff.add(open_ticket(
        new_id("TK", now), s.conversation_id, customer.customer_id, language, "ask_human", now,
        vip=customer.vip, topic="orders",  # action_handoff's topic for "ask_human"
        note=" / ".join(said[-2:])[:200]),  # the question the bot could not answer, and the tap
        actor="bot", detail={"reason": "ask_human", "action_server": "unreachable"})
    handoff.assign_waiting(now)
    ticket = handoff.ticket(ticket.ticket_id)
    agents = handoff.agents()
    news = handoff_news(ticket, handoff.open_tickets(), agents, now)
    strings = app[strings_key]
    if news["status"] == "offline":
        due = display.when(app[aftersales_key].policy.decision_due(ticket.created_at))
        return [{"text": bot_text(strings, language, "handoff_no_agent", ticket_id=ticket.ticket_id, due=due)},
                {"custom": {"handoff": news}}]
    try:
        await app[rasa_conversations_key].pause(s.conversation_id)
    except RasaUnavailable as exc:  # the ticket stands; the bot answers meanwhile, as with nobody online
        log.warning("could not pause Rasa for %s after opening %s: %s", s.conversation_id, ticket.ticket_id, exc)
    if news["status"] == "assigned":
        name = next((a.name for a in agents if a.agent_id == ticket.assigned_to), "")
        text = bot_text(strings, language, "handoff_assigned", agent=name, ticket_id=ticket.ticket_id)
    else:
        text = bot_text(strings, language, "handoff_queued", ticket_id=ticket.ticket_id,
                        position=news["position"], wait=news["wait_minutes"])
    return [{"text": text}, {"custom": {"handoff": news}}]
