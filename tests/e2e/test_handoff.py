"""Human handoff on the real stack: ask for a person, agent relays, approves, hands back; restarts lose nothing."""

from __future__ import annotations

import sqlite3
import sys
from typing import Any

import pytest
import requests

from scripts.stack import Stack
from tests.e2e.test_stack import is_chinese, texts


def agent_session(stack: Stack, agent_id: str = "A02") -> requests.Session:
    http = requests.Session()
    assert http.post(f"{stack.url}/api/agent/session", json={"agent_id": agent_id, "password": "demo"},
                     timeout=10).status_code == 200
    assert http.post(f"{stack.url}/api/agent/status", json={"online": True}, timeout=10).status_code == 200
    return http


def my_ticket(stack: Stack, agent: requests.Session, conversation_id: str) -> dict[str, Any]:
    mine = agent.get(f"{stack.url}/api/agent/tickets", timeout=10).json()["mine"]
    return next(t for t in mine if t["conversation_id"] == conversation_id)


def holder(stack: Stack, agents: list[requests.Session], conversation_id: str) -> tuple[requests.Session, dict]:
    """The signed-in agent the router gave this conversation's ticket to, and the ticket."""
    for agent in agents:
        mine = agent.get(f"{stack.url}/api/agent/tickets", timeout=10).json()["mine"]
        for ticket in mine:
            if ticket["conversation_id"] == conversation_id:
                return agent, ticket
    raise AssertionError(f"no online agent holds the ticket of {conversation_id}")


def history(shopper: Any) -> list[dict[str, Any]]:
    return list(shopper.http.get(f"{shopper.base}/api/messages", timeout=10).json()["messages"])


@pytest.mark.parametrize(("customer", "ask", "kind", "language"), [
    ("C008", "转人工", "approve_claim", "zh"),
    ("C009", "I want to talk to a real person", "approve_claim", "en"),
])
def test_handoff_round_trip(shopper: Any, stack: Stack, customer: str, ask: str, kind: str, language: str) -> None:
    agents = [agent_session(stack, a) for a in ("A01", "A02")]
    me = shopper(customer)
    reply = texts(me.say(ask))
    assert "TK-" in reply and is_chinese(reply) == (language == "zh")
    agent, ticket = holder(stack, agents, me.conversation_id)
    base = f"{stack.url}/api/agent/tickets/{ticket['ticket_id']}"

    detail = agent.get(base, timeout=30).json()
    resolution = detail["copilot"]["resolution"]
    assert resolution["kind"] == kind and detail["copilot"]["replies"]
    assert agent.post(f"{base}/messages", json={"text": detail["copilot"]["replies"][0]["text"]},
                      timeout=10).status_code == 200
    assert [m["role"] for m in history(me)][-1] == "agent"

    assert me.say("好的，谢谢" if language == "zh" else "ok thanks") == []  # the bot stays quiet
    shopper_line = agent.get(base, timeout=30).json()["transcript"][-1]
    assert shopper_line["role"] == "shopper" and shopper_line["intent"]

    def claims() -> int:
        with sqlite3.connect(stack.var_dir / "shop.db") as db:
            return int(db.execute("SELECT COUNT(*) FROM claims WHERE customer_id=?", (customer,)).fetchone()[0])

    before = claims()
    body = {"kind": resolution["kind"], "order_id": resolution["order_id"], "line_id": resolution["line_id"]}
    result = agent.post(f"{base}/resolution", json=body, timeout=10).json()["result"]
    agent.post(f"{base}/resolution", json=body, timeout=10)  # a double click pays nothing more
    assert result["claim_id"].startswith("PP-")
    assert claims() == before + 1

    assert agent.post(f"{base}/resolve", json={}, timeout=30).status_code == 200
    after = history(me)[-1]
    assert after["role"] == "bot" and len(after["buttons"]) == 5  # the 1-5 rating
    assert is_chinese(after["text"]) == (language == "zh")
    rated = texts(me.say(after["buttons"][0]["title"], after["buttons"][0]["payload"]))
    assert rated
    answer = texts(me.say("我的订单状态" if language == "zh" else "what's the status of my order"))
    assert answer  # the bot is back


def test_a_web_restart_during_handoff_loses_nothing(shopper: Any, stack: Stack) -> None:
    agents = [agent_session(stack, a) for a in ("A01", "A02")]
    me = shopper("C006")
    me.say("I need a human agent please")
    agent, ticket = holder(stack, agents, me.conversation_id)
    before = history(me)

    stack.procs["web"].kill()
    stack.procs["web"].wait()
    stack._spawn("web", [sys.executable, "-m", "bot.web.app"])
    stack.wait_ready(60)

    assert history(me) == before
    again = my_ticket(stack, agent, me.conversation_id)  # the agent's session survived too
    assert again["ticket_id"] == ticket["ticket_id"]
    base = f"{stack.url}/api/agent/tickets/{ticket['ticket_id']}"
    assert agent.post(f"{base}/messages", json={"text": "Sorry for the wait, I'm here."}, timeout=10).status_code == 200
    assert history(me)[-1]["text"] == "Sorry for the wait, I'm here."
    assert agent.post(f"{base}/resolve", json={}, timeout=30).status_code == 200
