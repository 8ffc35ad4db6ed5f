"""The agent console's API: sign-in, routing, relay, copilot, one-click resolution, hand-back."""

from __future__ import annotations

from typing import Any

import pytest

from bot.routing import open_ticket
from bot.web.keys import aftersales_key, handoff_key
from tests.conftest import NOW
from tests.web.conftest import FakeRasa, sign_in


async def agent_client(aiohttp_client: Any, client: Any, agent_id: str, online: bool = True) -> Any:
    agent = await aiohttp_client(client.server)
    resp = await agent.post("/api/agent/session", json={"agent_id": agent_id, "password": "demo"})
    assert resp.status == 200, await resp.text()
    if online:
        assert (await agent.post("/api/agent/status", json={"online": True})).status == 200
    return agent


async def next_message(ws: Any) -> dict[str, Any]:
    """The next chat message pushed on a socket (status updates are skipped)."""
    while True:
        event = await ws.receive_json(timeout=5)
        if event["type"] == "message":
            return dict(event["message"])


async def open_handoff(client: Any, customer_id: str, language: str) -> tuple[dict[str, Any], str]:
    """A shopper signs in and the bot opens a ticket for them (as action_handoff does)."""
    session = await sign_in(client, customer_id)
    ticket = open_ticket(f"TK-{customer_id}", session["conversation_id"], customer_id, language, "ask_human", NOW,
                         topic="orders")
    client.server.app[handoff_key].add(ticket, actor="bot")
    return session, ticket.ticket_id


class TestAccess:
    async def test_wrong_password_is_401_in_both_languages(self, client: Any) -> None:
        resp = await client.post("/api/agent/session", json={"agent_id": "A01", "password": "nope"})
        assert resp.status == 401
        assert (await resp.json())["error"]["message"]["zh"]

    async def test_shoppers_never_reach_agent_apis(self, client: Any) -> None:
        await sign_in(client, "C001")
        for method, path in [("GET", "/api/agent/tickets"), ("GET", "/api/agent/tickets/TK-1"),
                             ("POST", "/api/agent/tickets/TK-1/resolve"), ("GET", "/api/agent/metrics"),
                             ("GET", "/api/agent/hints/C002")]:
            resp = await client.request(method, path, json={})
            assert resp.status == 401, path


class TestHandoffFlow:
    @pytest.mark.parametrize(("customer", "language", "agent_id"), [("C002", "en", "A02"), ("C008", "zh", "A02")])
    async def test_agent_takes_the_ticket_replies_approves_and_hands_back(
            self, client: Any, aiohttp_client: Any, fake_rasa: FakeRasa, customer: str, language: str,
            agent_id: str) -> None:
        session, ticket_id = await open_handoff(client, customer, language)
        shopper_ws = await client.ws_connect("/api/ws")
        agent = await agent_client(aiohttp_client, client, agent_id)
        mine = (await (await agent.get("/api/agent/tickets")).json())["mine"]
        assert [t["ticket_id"] for t in mine] == [ticket_id]
        assert fake_rasa.events[session["conversation_id"]][0] == {"event": "pause"}
        joined = await next_message(shopper_ws)
        assert joined["role"] == "system"

        detail = await (await agent.get(f"/api/agent/tickets/{ticket_id}")).json()
        resolution = detail["copilot"]["resolution"]
        assert resolution["kind"] == "approve_claim"
        assert ("251.00" if customer == "C002" else "90.00") in resolution["text"]
        assert 2 <= len(detail["copilot"]["replies"]) <= 3
        reply = detail["copilot"]["replies"][0]

        resp = await agent.post(f"/api/agent/tickets/{ticket_id}/messages",
                                json={"text": reply["text"], "suggestion_id": reply["id"], "edited": False})
        assert resp.status == 200
        relayed = await next_message(shopper_ws)
        assert relayed == (await resp.json())["message"] and relayed["role"] == "agent"
        assert any(e["event"] == "bot" for e in fake_rasa.events[session["conversation_id"]])

        for _ in range(2):  # a double click approves once
            resp = await agent.post(f"/api/agent/tickets/{ticket_id}/resolution",
                                    json={"kind": "approve_claim", "order_id": resolution["order_id"],
                                          "line_id": resolution["line_id"]})
            assert resp.status == 200
        assert len(client.server.app[aftersales_key].claims_of(customer)) == 1

        assert (await agent.post(f"/api/agent/tickets/{ticket_id}/resolve", json={})).status == 200
        assert fake_rasa.events[session["conversation_id"]][-3:-1] == [
            {"event": "resume"}, {"event": "action", "name": "action_listen"}]
        assert fake_rasa.executed == [(session["conversation_id"], "utter_after_handoff")]
        assert fake_rasa.events[session["conversation_id"]][-1] == {"event": "action", "name": "action_listen"}
        history = (await (await client.get("/api/messages")).json())["messages"]
        assert [m["role"] for m in history][-2:] == ["agent", "bot"]
        metrics = (await (await agent.get("/api/agent/metrics")).json())["acceptance"]
        assert metrics[reply["suggestion_type"]]["accepted"] == 1
        await shopper_ws.close()

    async def test_shopper_messages_reach_the_agent_with_their_intent(self, client: Any, aiohttp_client: Any) -> None:
        _, ticket_id = await open_handoff(client, "C001", "zh")
        agent = await agent_client(aiohttp_client, client, "A01")
        ws = await agent.ws_connect("/api/agent/ws")
        await client.post("/api/messages", json={"text": "我的冰箱到哪了"})
        while True:
            event = await ws.receive_json(timeout=5)
            if event["type"] == "message":
                break
        assert event["ticket_id"] == ticket_id
        assert (event["message"]["text"], event["message"]["intent"]) == ("我的冰箱到哪了", "order_status")
        await ws.close()

    async def test_an_agent_cannot_act_on_someone_elses_ticket(self, client: Any, aiohttp_client: Any) -> None:
        _, ticket_id = await open_handoff(client, "C001", "zh")
        await agent_client(aiohttp_client, client, "A01")  # gets the ticket
        other = await agent_client(aiohttp_client, client, "A03")
        for path, body in [("messages", {"text": "hi"}), ("resolve", {}), ("transfer", {"skill": "returns"})]:
            resp = await other.post(f"/api/agent/tickets/{ticket_id}/{path}", json=body)
            assert resp.status == 403, path
            assert (await resp.json())["error"]["code"] == "not_your_ticket"

    async def test_transfer_sends_the_ticket_to_another_skill_group(self, client: Any, aiohttp_client: Any) -> None:
        _, ticket_id = await open_handoff(client, "C001", "zh")
        first = await agent_client(aiohttp_client, client, "A01")
        resp = await first.post(f"/api/agent/tickets/{ticket_id}/transfer",
                                json={"skill": "safety", "note": "顾客说冰箱漏电"})
        assert resp.status == 200
        safety = await agent_client(aiohttp_client, client, "A03")
        mine = (await (await safety.get("/api/agent/tickets")).json())["mine"]
        assert [(t["ticket_id"], t["note"]) for t in mine] == [(ticket_id, "顾客说冰箱漏电")]

    async def test_agent_text_is_stored_as_text(self, client: Any, aiohttp_client: Any) -> None:
        _, ticket_id = await open_handoff(client, "C001", "zh")
        agent = await agent_client(aiohttp_client, client, "A01")
        payload = "<script>alert('x')</script>"
        resp = await agent.post(f"/api/agent/tickets/{ticket_id}/messages", json={"text": payload})
        assert (await resp.json())["message"]["text"] == payload

    @pytest.mark.parametrize("body", [{"text": ""}, {"text": 3}, {}])
    async def test_bad_agent_messages(self, client: Any, aiohttp_client: Any, body: Any) -> None:
        _, ticket_id = await open_handoff(client, "C001", "zh")
        agent = await agent_client(aiohttp_client, client, "A01")
        assert (await agent.post(f"/api/agent/tickets/{ticket_id}/messages", json=body)).status == 400


class TestHints:
    async def test_hints_rank_the_late_parcel_first_for_an_agent(self, client: Any, aiohttp_client: Any) -> None:
        agent = await agent_client(aiohttp_client, client, "A01", online=False)
        hints = (await (await agent.get("/api/agent/hints/C001?lang=en")).json())["hints"]
        assert hints[0]["issue"] in ("delivery_time", "track_shipment") and hints[0]["reason"]
        assert (await agent.get("/api/agent/hints/C999")).status == 404
