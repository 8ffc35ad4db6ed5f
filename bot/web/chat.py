"""Shopper routes: demo sign-in, the chat page, messages, language, live socket."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from bot.chat import ChatMessage, from_rasa, prepare
from bot.store.sessions import WebSession
from bot.web.assist import build_copilot
from bot.web.errors import ApiError
from bot.web.handoff import stand_in
from bot.web.hub import AGENTS, serve
from bot.web.keys import (
    STATIC,
    actions_key,
    clock_key,
    handoff_key,
    hub_key,
    intents_key,
    rasa_key,
    sessions_key,
    settings_key,
    shop_key,
    transcript_key,
)
from bot.web.rasa_client import RasaUnavailable

log = logging.getLogger(__name__)
COOKIE = "shop_session"
#: The chat page's name for one shopper message (it sends a retry under the same name).
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
routes = web.RouteTableDef()


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx ``ApiError``."""
    if request.content_type != "application/json":
        raise ApiError("unsupported_media_type")  # also keeps cross-site form posts out (CSRF)
    try:
        body = await request.json()
    except (ValueError, LookupError, RecursionError):  # not JSON or not UTF-8; unknown charset; nested too deep
        raise ApiError("invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_json")
    return body


def current_session(request: web.Request) -> WebSession:
    session = request.app[sessions_key].get(request.cookies.get(COOKIE))
    if session is None:
        raise ApiError("no_session")
    return session


def _language(value: Any) -> str:
    if value not in ("zh", "en"):
        raise ApiError("invalid_language")
    return str(value)


def _session_json(request: web.Request, s: WebSession) -> dict[str, Any]:
    customer = request.app[shop_key].customer(s.customer_id)
    return {"customer": customer.to_json(), "conversation_id": s.conversation_id,
            "language": s.language, "max_message_chars": request.app[settings_key].max_message_chars}


@routes.get("/")
async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


@routes.get("/api/customers")
async def customers(request: web.Request) -> web.Response:
    return web.json_response({"customers": [c.to_json() for c in request.app[shop_key].customers()]})


@routes.post("/api/session")
async def sign_in(request: web.Request) -> web.Response:
    body = await read_json(request)
    customer_id = body.get("customer_id")
    if not isinstance(customer_id, str) or not customer_id or len(customer_id) > 32:
        raise ApiError("invalid_type", field="customer_id")
    customer = request.app[shop_key].customer(customer_id)  # CustomerNotFound → 404
    session = request.app[sessions_key].create(customer.customer_id, customer.language,
                                               request.app[clock_key]())
    resp = web.json_response(_session_json(request, session))
    resp.set_cookie(COOKIE, session.token, httponly=True, samesite="Lax",
                    secure=request.app[settings_key].cookie_secure, max_age=30 * 24 * 3600)
    return resp


@routes.get("/api/session")
async def who_am_i(request: web.Request) -> web.Response:
    return web.json_response(_session_json(request, current_session(request)))


@routes.delete("/api/session")
async def sign_out(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        request.app[sessions_key].delete(token)
    resp = web.Response(status=204)
    resp.del_cookie(COOKIE)
    return resp


@routes.get("/api/messages")
async def history(request: web.Request) -> web.Response:
    s = current_session(request)
    return web.json_response({"messages": [m.to_json() for m in
                                           request.app[transcript_key].history(s.conversation_id)]})


@routes.post("/api/messages")
async def send_message(request: web.Request) -> web.Response:
    s = current_session(request)
    body = await read_json(request)
    inbound = prepare(body.get("text"), body.get("payload"), request.app[intents_key],
                      request.app[settings_key].max_message_chars)
    message_id = body.get("message_id")
    if message_id is not None and not (isinstance(message_id, str) and MESSAGE_ID.fullmatch(message_id)):
        raise ApiError("invalid_type", field="message_id")
    replies = await converse(request.app, s, inbound.shown or inbound.sent, inbound.sent, message_id)
    return web.json_response({"messages": [m.to_json() for m in replies]})


@routes.post("/api/chat/open")
async def open_chat(request: web.Request) -> web.Response:
    s = current_session(request)
    body = await read_json(request)
    if "language" in body and body["language"] != s.language:
        request.app[sessions_key].set_language(s.token, _language(body["language"]))
        s = current_session(request)
    replies = await converse(request.app, s, None, "/greet")
    return web.json_response({"messages": [m.to_json() for m in replies]})


@routes.post("/api/language")
async def set_language(request: web.Request) -> web.Response:
    s = current_session(request)
    language = _language((await read_json(request)).get("language"))
    request.app[sessions_key].set_language(s.token, language)
    s = current_session(request)
    await converse(request.app, s, None, f'/switch_language{json.dumps({"language": language})}')
    return web.Response(status=204)


async def converse(app: web.Application, s: WebSession, shown: str | None,
                   sent: str, message_id: str | None = None) -> list[ChatMessage]:
    """Record the shopper's message, run one Rasa turn, record and push the replies.

    The shopper's message is stored before Rasa is called, so nothing is lost
    if Rasa is down; the caller then gets a 503 it can retry. A message that
    cannot be stored (the database is away) never reaches Rasa: the caller gets
    a 503 ``database_unavailable``. The replies are stored together, all or
    none. When the action server is down the web service answers for the bot
    (``bot.web.handoff.stand_in``).

    ``message_id`` (the chat page's name for the message, the same on a retry)
    makes a turn happen once however often it is sent, whichever web process
    gets it: a message already answered gets the stored answer again, and one
    stored but not answered (its request died with a process) is sent to Rasa
    again, on a new connection. Our Rasa channel (``bot.rasa_channel``) answers a
    ``message_id`` it already has from the tracker, under the conversation's
    lock, and ``RasaClient`` itself resends a named turn whose server dropped the
    connection (to the next server with failover).
    """
    transcript, hub, now = app[transcript_key], app[hub_key], app[clock_key]
    hub.check()  # before anything is written: with Redis away this is a 503 with nothing half-done
    earlier = transcript.turn(s.conversation_id, message_id) if shown is not None and message_id else None
    if earlier is not None and earlier.replies:
        return list(earlier.replies)  # answered before: the same answer, nothing sent or stored again
    ticket = app[handoff_key].open_ticket_of(s.conversation_id)
    if shown is not None and earlier is None:
        intent, confidence = await _intent(app, sent) if ticket is not None else (None, None)
        try:
            mine = transcript.append(s.conversation_id, "shopper", shown, now(), intent=intent,
                                     confidence=confidence, client_id=message_id)
        except sa.exc.IntegrityError as exc:  # the same message_id at the same moment, from another request
            raise ApiError("message_in_progress") from exc
        await hub.publish(s.conversation_id, {"type": "message", "message": mine.to_json()})
        if ticket is not None:
            await hub.publish(AGENTS, {"type": "message", "ticket_id": ticket.ticket_id, "message": mine.to_json()})
    metadata = {"customer_id": s.customer_id, "language": s.language}
    if message_id:
        metadata["message_id"] = message_id
    outputs = await app[rasa_key].send(s.conversation_id, sent, metadata, fresh=earlier is not None)
    if shown is not None and ticket is None and not from_rasa(outputs) and not await app[actions_key].reachable():
        # Rasa says nothing when its custom action cannot run (ActionServer): the bot must not go quiet.
        log.warning("action server unreachable: the web service answers the turn of %s", s.conversation_id)
        outputs = await stand_in(app, s, sent)
    await _handoff_news(app, s, outputs)
    if ticket is not None and shown is not None:
        await hub.publish(AGENTS, {"type": "copilot", "ticket_id": ticket.ticket_id,
                                   "copilot": build_copilot(app, ticket, ticket.language)})
    replies = transcript.append_many(s.conversation_id, "bot", from_rasa(outputs), now())
    for m in replies:
        await hub.publish(s.conversation_id, {"type": "message", "message": m.to_json()})
    return replies


async def _intent(app: web.Application, text: str) -> tuple[str | None, float | None]:
    """The NLU's reading of a message an agent will see (best effort: None if Rasa is busy)."""
    if text.startswith("/"):
        return text[1:].split("{", 1)[0], 1.0
    try:
        parsed = await app[rasa_key].parse(text)
    except RasaUnavailable:
        return None, None
    intent = parsed.get("intent") or {}
    return intent.get("name"), intent.get("confidence")


async def _handoff_news(app: web.Application, s: WebSession, outputs: list[dict[str, Any]]) -> None:
    """When a Rasa turn opened a ticket, tell the agent consoles and the shopper's page."""
    for out in outputs:
        custom = out.get("custom") if isinstance(out, dict) else None
        news = custom.get("handoff") if isinstance(custom, dict) else None
        if isinstance(news, dict):
            status = {"assigned": "with_agent", "queued": "queued"}.get(str(news.get("status")), "bot")
            await app[hub_key].publish(s.conversation_id, {
                "type": "status", "status": status, "position": news.get("position"),
                "wait_minutes": news.get("wait_minutes")})
            await app[hub_key].publish(AGENTS, {"type": "tickets"})


@routes.get("/api/ws")
async def live(request: web.Request) -> web.WebSocketResponse:
    s = current_session(request)
    return await serve(request, request.app[hub_key], s.conversation_id)
