"""Faults at the front door: the action server down, the database away for a few seconds."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.settings import Settings
from bot.web.app import create_app
from bot.web.handoff import ASK_HUMAN
from bot.web.keys import handoff_key, transcript_key
from tests.conftest import NOW
from tests.store.conftest import PG_URL, postgres_schema
from tests.web.conftest import FakeRasa, TcpProxy, sign_in
from tests.web.test_agent import agent_client

STRINGS = json.loads((Path(__file__).resolve().parents[2] / "bot/web/static/i18n.json").read_text("utf-8"))
SHOPPERS = [("C001", "zh", "我的订单到哪了"), ("C002", "en", "where is my order")]
#: Customer, what they write, the language the bot answers in (that of the turn, not the preference).
TURNS = [*SHOPPERS, ("C005", "en", "where is my order"), ("C002", "zh", "我的订单到哪了")]


async def say(client: Any, text: str, payload: str | None = None) -> list[dict[str, Any]]:
    body = {"text": text} if payload is None else {"text": text, "payload": payload}
    resp = await client.post("/api/messages", json=body)
    assert resp.status == 200, await resp.text()
    return list((await resp.json())["messages"])


async def history(client: Any) -> list[tuple[str, str]]:
    messages = (await (await client.get("/api/messages")).json())["messages"]
    return [(m["role"], m["text"]) for m in messages]


class TestActionServerDown:
    @pytest.mark.parametrize(("customer", "language", "text"), TURNS)
    async def test_the_shopper_hears_the_bot_cannot_look_it_up_and_is_offered_a_person(
            self, client: Any, fake_rasa: FakeRasa, customer: str, language: str, text: str) -> None:
        """Rasa answers the turn with nothing; the web service says so in the turn's language."""
        await sign_in(client, customer)
        await fake_rasa.stop_actions()
        [reply] = await say(client, text)
        assert reply["role"] == "bot" and reply["text"] == STRINGS[language]["cannot_look_up"]
        assert reply["buttons"] == [{"title": STRINGS[language]["offer_human"], "payload": ASK_HUMAN}]
        assert fake_rasa.requests[-1]["message"] == text  # Rasa's tracker has the turn too
        assert await history(client) == [("shopper", text), ("bot", STRINGS[language]["cannot_look_up"])]
        assert client.server.app[handoff_key].open_tickets() == []  # only when the shopper asks

    @pytest.mark.parametrize(("customer", "text", "answer"), [
        ("C001", "谢谢", "不客气"), ("C002", "thanks", "You're welcome")])
    async def test_what_rasa_answers_from_its_templates_is_passed_on_as_is(
            self, client: Any, fake_rasa: FakeRasa, customer: str, text: str, answer: str) -> None:
        """A turn that needs no custom action still gets Rasa's own answer, with no stand-in."""
        fake_rasa.responses[text] = [answer]
        await sign_in(client, customer)
        await fake_rasa.stop_actions()
        assert [m["text"] for m in await say(client, text)] == [answer]

    async def test_an_empty_answer_with_the_action_server_up_is_left_to_rasa(
            self, client: Any, fake_rasa: FakeRasa) -> None:
        """Silence is only overridden when the action server is really unreachable."""
        fake_rasa.responses["嗯"] = []
        await sign_in(client, "C001")
        assert await say(client, "嗯") == []

    @pytest.mark.parametrize(("customer", "language", "text", "online", "agent_id"), [
        ("C001", "zh", "我的订单到哪了", ["A01", "A02"], "A01"),  # both speak zh: the smaller id
        ("C002", "en", "where is my order", ["A01", "A02"], "A02"),  # only Tom speaks en
        ("C005", "en", "where is my order", ["A01", "A02"], "A02"),  # prefers zh, has been writing English
    ])
    async def test_one_tap_opens_exactly_one_ticket_routed_by_language(
            self, client: Any, aiohttp_client: Any, fake_rasa: FakeRasa, customer: str, language: str,
            text: str, online: list[str], agent_id: str) -> None:
        """The offer works with the action server down: the web service opens, routes and pauses."""
        session = await sign_in(client, customer)
        fake_rasa.slots[session["conversation_id"]] = {"language": language}  # from turns before the outage
        agents = {a: await agent_client(aiohttp_client, client, a) for a in online}
        await fake_rasa.stop_actions()
        [offer] = await say(client, text)
        button = offer["buttons"][0]
        [assigned] = await say(client, button["title"], button["payload"])
        assert await say(client, button["title"], button["payload"]) == []  # a second tap: Rasa is paused

        [ticket] = client.server.app[handoff_key].open_tickets()
        assert (ticket.conversation_id, ticket.language, ticket.assigned_to) == (
            session["conversation_id"], language, agent_id)
        assert ticket.reason == "ask_human" and "orders" in ticket.optional_skills and text in ticket.note
        name = (await (await agents[agent_id].get("/api/agent/session")).json())["agent"]["name"]
        assert assigned["text"] == STRINGS[language]["handoff_assigned"].format(agent=name, ticket_id=ticket.ticket_id)
        assert fake_rasa.events[session["conversation_id"]] == [{"event": "pause"}]
        assert [r["message"] for r in fake_rasa.requests][-2:] == [ASK_HUMAN, ASK_HUMAN]  # Rasa was asked first
        mine = (await (await agents[agent_id].get("/api/agent/tickets")).json())["mine"]
        assert [t["ticket_id"] for t in mine] == [ticket.ticket_id]

    @pytest.mark.parametrize(("customer", "language", "text"), [
        ("C001", "zh", "转人工"), ("C002", "en", "a human please")])
    async def test_asking_for_a_person_with_nobody_online_gets_a_ticket_and_the_honest_promise(
            self, client: Any, fake_rasa: FakeRasa, customer: str, language: str, text: str) -> None:
        """Typed, in one step: the NLU still works without the action server; the bot is not paused."""
        fake_rasa.intents[text] = "ask_human"
        session = await sign_in(client, customer)
        await fake_rasa.stop_actions()
        [reply] = await say(client, text)
        [ticket] = client.server.app[handoff_key].open_tickets()
        assert ticket.assigned_to is None and ticket.language == language
        assert reply["text"] == STRINGS[language]["handoff_no_agent"].format(
            ticket_id=ticket.ticket_id, due="2026-11-23 15:40")  # 14:00 in Shanghai + 100 minutes
        assert session["conversation_id"] not in fake_rasa.events  # nobody to talk to: the bot keeps serving

    async def test_a_restart_loses_neither_the_ticket_nor_the_conversation(
            self, client: Any, aiohttp_client: Any, fake_rasa: FakeRasa, web_settings: Settings) -> None:
        """Tickets and transcripts are rows: a new web process shows the agent the whole story."""
        await sign_in(client, "C002")
        await fake_rasa.stop_actions()
        [offer] = await say(client, "where is my order")
        await say(client, offer["buttons"][0]["title"], ASK_HUMAN)
        before = await history(client)

        restarted = await aiohttp_client(create_app(web_settings, clock=lambda: NOW))
        agent = await agent_client(aiohttp_client, restarted, "A02")
        [ticket] = (await (await agent.get("/api/agent/tickets")).json())["mine"]
        detail = await (await agent.get(f"/api/agent/tickets/{ticket['ticket_id']}")).json()
        assert [(m["role"], m["text"]) for m in detail["transcript"]][:len(before)] == before
        assert before[0] == ("shopper", "where is my order") and before[1][1] == STRINGS["en"]["cannot_look_up"]

    async def test_once_the_action_server_is_back_rasa_answers_again(
            self, client: Any, fake_rasa: FakeRasa) -> None:
        await sign_in(client, "C001")
        await fake_rasa.stop_actions()
        assert (await say(client, "在吗"))[0]["text"] == STRINGS["zh"]["cannot_look_up"]
        await fake_rasa.start_actions()
        assert [m["text"] for m in await say(client, "在吗")] == ["echo:在吗"]


def assert_polite_503(resp_status: int, body: dict[str, Any]) -> None:
    assert resp_status == 503
    error = body["error"]
    assert error["code"] == "database_unavailable"
    assert error["message"] == {lang: STRINGS[lang]["error.database_unavailable"] for lang in ("zh", "en")}


def logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Every warning or worse, from any logger."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


class TestSqliteLocked:
    @pytest.fixture
    async def shop_client(self, aiohttp_client: Any, web_settings: Settings) -> Any:
        return await aiohttp_client(create_app(web_settings.with_(database_timeout_s=0.2), clock=lambda: NOW))

    @pytest.mark.parametrize(("customer", "language", "text"), SHOPPERS)
    async def test_a_message_that_cannot_be_stored_never_reaches_rasa(
            self, shop_client: Any, fake_rasa: FakeRasa, web_settings: Settings, caplog: pytest.LogCaptureFixture,
            customer: str, language: str, text: str) -> None:
        """Another process holds the write lock past the busy timeout: 503, nothing written, Rasa not asked."""
        await sign_in(shop_client, customer)
        lock = sqlite3.connect(web_settings.var_dir / "shop.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            resp = await shop_client.post("/api/messages", json={"text": text})
            assert_polite_503(resp.status, await resp.json())
            assert fake_rasa.requests == []
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        [warning] = logged(caplog)  # once, as a warning without a traceback
        assert warning.levelno == logging.WARNING and warning.exc_info is None
        assert "database_unavailable" in warning.getMessage() and "locked" in warning.getMessage()
        assert await history(shop_client) == []
        await say(shop_client, text)  # trying again sends it once
        assert await history(shop_client) == [("shopper", text), ("bot", f"echo:{text}")]
        assert [r["message"] for r in fake_rasa.requests] == [text]


@pytest.fixture
def postgres_behind_proxy() -> Iterator[tuple[str, TcpProxy]]:
    """A fresh PostgreSQL schema reached through a ``TcpProxy`` the test can cut."""
    with postgres_schema() as schema:
        url = make_url(PG_URL)
        proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
        proxy.start()
        try:
            yield (url.set(host="127.0.0.1", port=proxy.port)
                   .update_query_dict({"options": f"-csearch_path={schema}"})
                   .render_as_string(hide_password=False)), proxy
        finally:
            proxy.stop()


class TestPostgresAway:
    @pytest.mark.parametrize(("customer", "language", "text"), SHOPPERS)
    async def test_shoppers_are_asked_to_try_again_and_nothing_is_half_written(
            self, aiohttp_client: Any, web_settings: Settings, fake_rasa: FakeRasa,
            postgres_behind_proxy: tuple[str, TcpProxy], caplog: pytest.LogCaptureFixture,
            customer: str, language: str, text: str) -> None:
        """PostgreSQL goes away for a few seconds: a polite 503, then the retried turn is stored once."""
        url, proxy = postgres_behind_proxy
        client = await aiohttp_client(create_app(web_settings.with_(database_url=url, database_timeout_s=2),
                                                 clock=lambda: NOW))
        await sign_in(client, customer)
        await say(client, "hi")

        proxy.stop()
        resp = await client.post("/api/messages", json={"text": text})
        assert_polite_503(resp.status, await resp.json())
        assert [r["message"] for r in fake_rasa.requests] == ["hi"]
        [warning] = logged(caplog)
        assert warning.levelno == logging.WARNING and warning.exc_info is None
        assert "database_unavailable" in warning.getMessage() and "OperationalError" in warning.getMessage()

        proxy.start()
        await say(client, text)
        transcript = client.server.app[transcript_key]
        conversation = (await (await client.get("/api/session")).json())["conversation_id"]
        assert [(m.role, m.text) for m in transcript.history(conversation)] == [
            ("shopper", "hi"), ("bot", "echo:hi"), ("shopper", text), ("bot", f"echo:{text}")]
        assert [r["message"] for r in fake_rasa.requests] == ["hi", text]

    @pytest.mark.parametrize(("customer", "text", "replies"), [
        ("C001", "我的订单到哪了", ["订单已发货", "物流单号 SF1"]),
        ("C002", "where is my order", ["Shipped", "Tracking SF1"]),
    ])
    async def test_a_turn_cut_off_mid_way_stores_none_of_its_replies(
            self, aiohttp_client: Any, web_settings: Settings, fake_rasa: FakeRasa,
            postgres_behind_proxy: tuple[str, TcpProxy], customer: str, text: str, replies: list[str]) -> None:
        """PostgreSQL goes while Rasa answers: the shopper's message stays, and no reply is half there."""
        url, proxy = postgres_behind_proxy
        client = await aiohttp_client(create_app(web_settings.with_(database_url=url, database_timeout_s=2),
                                                 clock=lambda: NOW))
        await sign_in(client, customer)
        fake_rasa.responses[text] = replies
        fake_rasa.on_turn = proxy.stop
        resp = await client.post("/api/messages", json={"text": text})
        assert_polite_503(resp.status, await resp.json())
        proxy.start()
        assert await history(client) == [("shopper", text)]
