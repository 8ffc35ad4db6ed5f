"""Agent routes: sign-in, the ticket queue, the conversation, the copilot panel, hand-back."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from aiohttp import web

from bot import display
from bot.chat import MessageRejected, from_rasa
from bot.copilot import (
    SuggestionEvent,
    acceptance,
    send_outcome,
)
from bot.language import normalise
from bot.routing import Agent, Ticket, TicketStatus, can_act, queue_facts, queue_order, resolve, take_over, transfer
from bot.web.assist import build_copilot, hint_list
from bot.web.chat import read_json
from bot.web.errors import ApiError
from bot.web.hub import AGENTS, serve
from bot.web.keys import (
    STATIC,
    aftersales_key,
    clock_key,
    handoff_key,
    hub_key,
    rasa_conversations_key,
    settings_key,
    shop_key,
    strings_key,
    transcript_key,
)

log = logging.getLogger(__name__)
COOKIE = "agent_session"
routes = web.RouteTableDef()


def current_agent(request: web.Request) -> Agent:
    agent = request.app[handoff_key].session_agent(request.cookies.get(COOKIE))
    if agent is None:
        raise ApiError("no_session")
    return agent


def ticket_json(app: web.Application, ticket: Ticket, tickets: list[Ticket], agents: list[Agent]) -> dict[str, Any]:
    customer = app[shop_key].customer(ticket.customer_id)
    return {**ticket.to_json(), "customer": customer.to_json(),
            **queue_facts(ticket, tickets, agents, app[clock_key]())}


def visible_ticket(request: web.Request, agent: Agent) -> Ticket:
    """A queued ticket, or one of the agent's own; anyone else's is ``NotYourTicket``."""
    ticket = request.app[handoff_key].ticket(request.match_info["ticket_id"])
    if ticket.status != TicketStatus.QUEUED:
        can_act(agent.agent_id, ticket)
    return ticket


@routes.get("/agent")
async def console(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "agent.html")


@routes.post("/api/agent/session")
async def sign_in(request: web.Request) -> web.Response:
    body = await read_json(request)
    agent_id, password = body.get("agent_id"), body.get("password")
    if not isinstance(agent_id, str) or not isinstance(password, str) or len(agent_id) > 32 or len(password) > 200:
        raise ApiError("invalid_credentials")
    found = request.app[handoff_key].login(agent_id, password, request.app[clock_key]())
    if found is None:
        raise ApiError("invalid_credentials")
    agent, token = found
    resp = web.json_response({"agent": agent.to_json()})
    resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.app[settings_key].cookie_secure)
    return resp


@routes.get("/api/agent/session")
async def me(request: web.Request) -> web.Response:
    return web.json_response({"agent": current_agent(request).to_json()})


@routes.delete("/api/agent/session")
async def sign_out(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        request.app[handoff_key].logout(token)
    resp = web.Response(status=204)
    resp.del_cookie(COOKIE)
    return resp


@routes.post("/api/agent/status")
async def set_status(request: web.Request) -> web.Response:
    agent = current_agent(request)
    online = (await read_json(request)).get("online")
    if not isinstance(online, bool):
        raise ApiError("invalid_type", field="online")
    request.app[hub_key].check()
    request.app[handoff_key].set_online(agent.agent_id, online)
    await assign_and_notify(request.app)
    return web.json_response({"agent": current_agent(request).to_json()})


@routes.get("/api/agent/tickets")
async def tickets(request: web.Request) -> web.Response:
    agent = current_agent(request)
    handoff, now = request.app[handoff_key], request.app[clock_key]()
    handoff.record_breaches(now)
    open_, agents = handoff.open_tickets(), handoff.agents()
    queue = [t for t in queue_order(open_, now) if t.status == TicketStatus.QUEUED]
    mine = [t for t in open_ if t.assigned_to == agent.agent_id and t.status == TicketStatus.ASSIGNED]
    return web.json_response({"queue": [ticket_json(request.app, t, open_, agents) for t in queue],
                              "mine": [ticket_json(request.app, t, open_, agents) for t in mine]})


@routes.get("/api/agent/tickets/{ticket_id}")
async def ticket_detail(request: web.Request) -> web.Response:
    agent = current_agent(request)
    ticket = visible_ticket(request, agent)
    language = request.query.get("lang", ticket.language)
    handoff = request.app[handoff_key]
    transcript = [m.to_json() for m in request.app[transcript_key].history(ticket.conversation_id)]
    copilot = build_copilot(request.app, ticket, language if language in ("zh", "en") else ticket.language)
    for reply in copilot["replies"]:
        handoff.record_outcome(ticket.ticket_id, reply["id"], reply["suggestion_type"], "shown",
                               request.app[clock_key]())
    return web.json_response({"ticket": ticket_json(request.app, ticket, handoff.open_tickets(), handoff.agents()),
                              "transcript": transcript, "copilot": copilot})


@routes.post("/api/agent/tickets/{ticket_id}/take")
async def take(request: web.Request) -> web.Response:
    agent = current_agent(request)
    app, now = request.app, request.app[clock_key]()
    ticket = app[handoff_key].ticket(request.match_info["ticket_id"])
    app[hub_key].check()
    taken = app[handoff_key].save(take_over(ticket, agent, now), agent.agent_id, "took_over", now)
    await connect_shopper(app, taken, agent)
    return web.json_response({"ticket": ticket_json(app, taken, app[handoff_key].open_tickets(),
                                                    app[handoff_key].agents())})


@routes.post("/api/agent/tickets/{ticket_id}/messages")
async def agent_message(request: web.Request) -> web.Response:
    agent = current_agent(request)
    app, now = request.app, request.app[clock_key]()
    ticket = app[handoff_key].ticket(request.match_info["ticket_id"])
    can_act(agent.agent_id, ticket)
    body = await read_json(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise ApiError("invalid_type", field="text")
    if not normalise(text):  # invisible-only text is empty; the agent's own punctuation is kept
        raise MessageRejected("empty_message")
    text = text.strip()
    if len(text) > app[settings_key].max_message_chars * 2:
        raise MessageRejected("message_too_long", limit=app[settings_key].max_message_chars * 2)
    app[hub_key].check()  # before the suggestion outcome and the message are written
    suggestion_id = body.get("suggestion_id")
    if isinstance(suggestion_id, str):
        shown = {r["id"]: r for r in build_copilot(app, ticket, ticket.language)["replies"]}
        if suggestion_id in shown:
            outcome = send_outcome(shown[suggestion_id]["text"], text)
            app[handoff_key].record_outcome(ticket.ticket_id, suggestion_id, shown[suggestion_id]["suggestion_type"],
                                            outcome, now)
    message = app[transcript_key].append(ticket.conversation_id, "agent", text, now, author=agent.agent_id)
    await app[hub_key].publish(ticket.conversation_id, {"type": "message", "message": message.to_json()})
    await app[hub_key].publish(AGENTS, {"type": "message", "ticket_id": ticket.ticket_id,
                                        "message": message.to_json()})
    app[handoff_key].save(ticket, agent.agent_id, "message", now, {"message_id": message.id})
    try:
        await app[rasa_conversations_key].record_agent_message(ticket.conversation_id, text, agent.agent_id)
    except Exception:  # the transcript has it; the Rasa tracker copy is best effort
        log.warning("could not record agent message on the Rasa tracker of %s", ticket.conversation_id)
    return web.json_response({"message": message.to_json()})


@routes.post("/api/agent/tickets/{ticket_id}/resolution")
async def apply_resolution(request: web.Request) -> web.Response:
    agent = current_agent(request)
    app, now = request.app, request.app[clock_key]()
    ticket = app[handoff_key].ticket(request.match_info["ticket_id"])
    can_act(agent.agent_id, ticket)
    body = await read_json(request)
    kind, line_id = body.get("kind"), body.get("line_id")
    if not isinstance(kind, str) or not isinstance(line_id, str):
        raise ApiError("invalid_type", field="kind/line_id")
    aftersales, customer = app[aftersales_key], ticket.customer_id
    app[hub_key].check()
    result: dict[str, Any]
    if kind == "approve_claim":
        decision = aftersales.claim_price_protection(customer, line_id, now)
        claim_id = decision.facts.get("claim_id", "")
        if decision.reason == "eligible_needs_review" or (decision.reason == "already_claimed" and claim_id):
            pending = [c for c in aftersales.claims_of(customer)
                       if c.claim.claim_id == claim_id and c.claim.status.value == "pending_review"]
            if pending:
                aftersales.decide_claim(claim_id, True, agent.agent_id, now)
        result = {"reason": decision.reason, "claim_id": claim_id,
                  "amount": display.money(decision.amount) if decision.amount is not None else ""}
    elif kind in ("create_return", "create_return_quality"):
        decision, req = aftersales.request_return(customer, line_id,
                                                  "quality" if kind.endswith("quality") else "no_reason", False, now)
        result = {"reason": decision.reason, "request_id": req.request_id if req else ""}
    elif kind == "create_exchange":
        decision, req = aftersales.request_exchange(customer, line_id, now)
        result = {"reason": decision.reason, "request_id": req.request_id if req else ""}
    elif kind == "confirm_defect":
        order = app[shop_key].order_of_line(customer, line_id)
        line = order.line(line_id)
        complaint, andon = aftersales.complain(customer, order.order_id, line.sku, ticket.note or "confirmed by agent",
                                               [], now)
        result = {"reason": andon.reason, "complaint_id": complaint.complaint_id, "complaint_count": andon.customers}
    else:
        raise ApiError("invalid_type", field="kind")
    result["text"] = " · ".join(str(v) for v in result.values() if v)
    app[handoff_key].save(ticket, agent.agent_id, "resolution", now, {"kind": kind, **result})
    await app[hub_key].publish(AGENTS, {"type": "copilot", "ticket_id": ticket.ticket_id,
                                        "copilot": build_copilot(app, ticket, ticket.language)})
    return web.json_response({"result": result})


@routes.post("/api/agent/tickets/{ticket_id}/transfer")
async def transfer_ticket(request: web.Request) -> web.Response:
    agent = current_agent(request)
    app, now = request.app, request.app[clock_key]()
    ticket = app[handoff_key].ticket(request.match_info["ticket_id"])
    can_act(agent.agent_id, ticket)
    body = await read_json(request)
    skill, note = body.get("skill"), body.get("note", "")
    if not isinstance(skill, str) or not isinstance(note, str) or len(note) > 500:
        raise ApiError("invalid_type", field="skill/note")
    app[hub_key].check()
    moved = app[handoff_key].save(replace(transfer(ticket, skill, note, now), transferred_by=agent.agent_id),
                                  agent.agent_id,
                                  "transfer", now, {"skill": skill, "note": note})
    await assign_and_notify(app)
    return web.json_response({"ticket": ticket_json(app, app[handoff_key].ticket(moved.ticket_id),
                                                    app[handoff_key].open_tickets(), app[handoff_key].agents())})


@routes.post("/api/agent/tickets/{ticket_id}/resolve")
async def resolve_ticket(request: web.Request) -> web.Response:
    """Resolve, hand the conversation back to the bot, and let the bot ask for a rating."""
    agent = current_agent(request)
    app, now = request.app, request.app[clock_key]()
    ticket = app[handoff_key].ticket(request.match_info["ticket_id"])
    can_act(agent.agent_id, ticket)
    app[hub_key].check()
    done = app[handoff_key].save(resolve(ticket, now), agent.agent_id, "resolved", now)
    conversations = app[rasa_conversations_key]
    await conversations.resume(ticket.conversation_id)
    outputs = await conversations.execute(ticket.conversation_id, "utter_after_handoff")
    for text, buttons, card in from_rasa(outputs):
        m = app[transcript_key].append(ticket.conversation_id, "bot", text, now, buttons=buttons, card=card)
        await app[hub_key].publish(ticket.conversation_id, {"type": "message", "message": m.to_json()})
    await app[hub_key].publish(ticket.conversation_id, {"type": "status", "status": "bot"})
    await app[hub_key].publish(AGENTS, {"type": "tickets"})
    await assign_and_notify(app)
    return web.json_response({"ticket": done.to_json()})


@routes.get("/api/agent/metrics")
async def metrics(request: web.Request) -> web.Response:
    current_agent(request)
    events = [SuggestionEvent(e["ticket_id"], e["suggestion_id"], e["suggestion_type"], e["outcome"], e["at"])
              for e in request.app[handoff_key].outcomes()]
    return web.json_response({"acceptance": acceptance(events)})


@routes.get("/api/agent/hints/{customer_id}")
async def hints(request: web.Request) -> web.Response:
    """The predictor's ranked likely issues for a customer, with reasons (agents only)."""
    current_agent(request)
    language = request.query.get("lang", "zh")
    app = request.app
    customer = app[shop_key].customer(request.match_info["customer_id"])
    return web.json_response({"hints": hint_list(app, customer.customer_id,
                                                 language if language in ("zh", "en") else "zh")})


@routes.get("/api/agent/ws")
async def live(request: web.Request) -> web.WebSocketResponse:
    current_agent(request)
    return await serve(request, request.app[hub_key], AGENTS)


# -- connecting shoppers and agents ------------------------------------------------


async def connect_shopper(app: web.Application, ticket: Ticket, agent: Agent) -> None:
    """Pause the bot for this conversation and tell the shopper an agent has joined."""
    now = app[clock_key]()
    try:
        await app[rasa_conversations_key].pause(ticket.conversation_id)
    except Exception:
        log.warning("could not pause Rasa for %s", ticket.conversation_id)
    strings = app[strings_key].get(ticket.language, {})
    text = str(strings.get("agent_joined", "{name}")).format(name=agent.name)
    m = app[transcript_key].append(ticket.conversation_id, "system", text, now, author=agent.agent_id)
    await app[hub_key].publish(ticket.conversation_id, {"type": "message", "message": m.to_json()})
    await app[hub_key].publish(ticket.conversation_id, {"type": "status", "status": "with_agent"})
    await app[hub_key].publish(AGENTS, {"type": "tickets"})


async def assign_and_notify(app: web.Application) -> None:
    """Route waiting tickets to free agents and connect their shoppers."""
    handoff = app[handoff_key]
    agents = {a.agent_id: a for a in handoff.agents()}
    now = app[clock_key]()
    for ticket in handoff.assign_waiting(now):
        if ticket.assigned_to in agents:
            await connect_shopper(app, ticket, agents[ticket.assigned_to])
    # keep every waiting shopper's place in the queue and wait up to date
    open_, online = handoff.open_tickets(), handoff.agents()
    for ticket in open_:
        if ticket.status == TicketStatus.QUEUED:
            facts = queue_facts(ticket, open_, online, now)
            await app[hub_key].publish(ticket.conversation_id, {
                "type": "status", "status": "queued", "position": facts["position"],
                "wait_minutes": facts["wait_minutes"]})
    await app[hub_key].publish(AGENTS, {"type": "tickets"})

