"""Faults on the scale profile: a Rasa server, a web process and the action server die mid-conversation.

The same two-of-each stack as ``test_scale`` (its fixtures, its own databases). Each process is
killed between turns of open conversations (a price-protection claim half-way, zh and en order
questions), the others keep answering, and after every restart PostgreSQL holds each shopper
message, the claim and the ticket exactly once, in the shop's transcript and in Rasa's tracker.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from typing import Any

import aiohttp
import sqlalchemy as sa

from bot.web.handoff import ASK_HUMAN
from bot.web.rasa_client import RasaClient
from scripts.stack import SharedStores, Stack, listening_sockets
from tests.e2e import test_scale
from tests.e2e.test_faults import STRINGS
from tests.e2e.test_stack import is_chinese, texts

stores = test_scale.stores  # the scale profile's fixtures: this module gets a stack and databases of its own
stack = test_scale.stack

PAGES = 12  # open pages of one shopper; the kernel spreads their connections over both web processes


class Talk:
    """One shopper, and everything they sent: what the transcript shows and what Rasa was told."""

    def __init__(self, shopper: Any) -> None:
        self.me = shopper
        self.shown: list[str] = []
        self.sent: list[str] = []

    def open(self) -> list[dict[str, Any]]:
        self.sent.append("/greet")
        return list(self.me.open())

    def say(self, text: str, payload: str | None = None) -> list[dict[str, Any]]:
        reply = list(self.me.say(text, payload))  # raises unless the web service answered 200
        self.said(text, payload)
        assert reply, f"no answer to {text!r}"
        return reply

    def said(self, text: str, payload: str | None = None) -> None:
        """Note a message sent some other way; the front door NFKC-normalises it (？ is stored as ?)."""
        self.shown.append(unicodedata.normalize("NFKC", text))
        self.sent.append(payload or unicodedata.normalize("NFKC", text))


def answered(reply: list[dict[str, Any]], language: str) -> str:
    """The reply's text, checked to be a real answer in ``language`` (not the action server's stand-in)."""
    text = texts(reply)
    assert STRINGS[language]["cannot_look_up"] not in text
    assert is_chinese(text) == (language == "zh"), text
    return text


async def dropped_pages(stack: Stack, cookie: str, kill: str) -> tuple[int, list[str]]:
    """Open ``PAGES`` websockets, kill web process ``kill``, reopen the pages it held, then have the
    shopper write: returns how many pages were dropped, and the bot's line each page then received."""
    ws_url = f"{stack.url.replace('http', 'ws', 1)}/api/ws"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        pages = [await http.ws_connect(ws_url, headers={"Cookie": cookie}) for _ in range(PAGES)]
        await asyncio.to_thread(stack.kill, kill)

        async def alive(page: aiohttp.ClientWebSocketResponse) -> bool:
            try:
                while True:
                    msg = await page.receive(timeout=3)
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        return False
            except TimeoutError:
                return True

        kept = await asyncio.gather(*(alive(p) for p in pages))
        pages = [p if up else await http.ws_connect(ws_url, headers={"Cookie": cookie})  # the page reconnects
                 for p, up in zip(pages, kept, strict=True)]

        async def bot_line(page: aiohttp.ClientWebSocketResponse) -> str:
            while True:
                event = await page.receive_json(timeout=30)
                if event["type"] == "message" and event["message"]["role"] == "bot":
                    return str(event["message"]["text"])

        try:
            lines = asyncio.gather(*(bot_line(p) for p in pages))
            resp = await http.post(f"{stack.url}/api/messages", json={"text": "我的冰箱怎么还没到？"},
                                   headers={"Cookie": cookie}, timeout=aiohttp.ClientTimeout(total=60))
            assert resp.status == 200, await resp.text()
            return kept.count(False), list(await lines)
        finally:
            for page in pages:
                await page.close()


def transcript(stores: SharedStores, conversation_id: str) -> tuple[list[str], list[str]]:
    """The shopper's messages in the shop's transcript, and the user turns in Rasa's tracker, in order."""
    shop, tracker = sa.create_engine(stores.database_url), sa.create_engine(stores.tracker_url)
    try:
        with shop.connect() as c:
            shown = list(c.execute(sa.text("SELECT text FROM messages WHERE conversation_id = :c AND role = 'shopper' "
                                           "ORDER BY id"), {"c": conversation_id}).scalars())
        with tracker.connect() as c:
            events = c.execute(sa.text("SELECT data FROM events WHERE sender_id = :c AND type_name = 'user' "
                                       "ORDER BY id"), {"c": conversation_id}).scalars()
            sent = [json.loads(e)["text"] for e in events]
    finally:
        shop.dispose()
        tracker.dispose()
    return shown, sent


def count(stores: SharedStores, sql: str, **params: str) -> Any:
    shop = sa.create_engine(stores.database_url)
    try:
        with shop.connect() as c:
            return c.execute(sa.text(sql), params).one()
    finally:
        shop.dispose()


def test_killed_processes_lose_and_double_nothing(shopper: Any, stack: Stack, stores: SharedStores) -> None:
    """Rasa, web and action processes die between turns; answers go on, and every record is there once."""
    zh, en, claimant = Talk(shopper("C001")), Talk(shopper("C005")), Talk(shopper("C008"))
    answered(zh.say("我的订单状态"), "zh")
    answered(en.say("what's the status of my order"), "en")
    button = next(b for m in claimant.open() for b in m["buttons"] if b["payload"].startswith("/price_protection"))

    # The claimant's own Rasa server dies with the claim half-way: the other server files it.
    urls = tuple(stack.env()["SHOP_RASA_URLS"].split(","))
    shard = urls.index(RasaClient(urls, "", 1).url_for(claimant.me.conversation_id))
    stack.kill(f"rasa{shard}")
    try:
        assert "PP-" in answered(claimant.say(button["title"], button["payload"]), "zh")
        answered(zh.say("我的订单到哪了"), "zh")
        answered(en.say("where is my order"), "en")
    finally:
        stack.restart(f"rasa{shard}")

    # A web process dies: its pages reconnect to the other, which answers every request meanwhile.
    cookie = "; ".join(f"{k}={v}" for k, v in zh.me.http.cookies.get_dict().items())
    try:
        dropped, lines = asyncio.run(dropped_pages(stack, cookie, "web1"))
        zh.said("我的冰箱怎么还没到？")
        assert dropped >= 1 and listening_sockets(stack.web_port) == 1
        assert len(lines) == PAGES and len(set(lines)) == 1 and "海尔" in lines[0]
        answered(en.say("where is my washing machine? show me the tracking"), "en")
    finally:
        stack.restart("web1")
    assert listening_sockets(stack.web_port) == 2

    # The action server dies: the bot says it cannot look that up, and one tap opens one ticket.
    stack.kill("actions")
    try:
        for talk, language, text in [(zh, "zh", "订单到哪了"), (en, "en", "where is my order")]:
            [reply] = talk.say(text)
            assert reply["text"] == STRINGS[language]["cannot_look_up"]
        assert "TK-" in texts(en.say(STRINGS["en"]["offer_human"], ASK_HUMAN))
    finally:
        stack.restart("actions")

    # Everything is back: the conversations go on where they were.
    assert "PP-" in answered(claimant.say("奶粉降价了，能保价吗？"), "zh")
    assert "海尔" in answered(zh.say("我的订单到哪了"), "zh")

    for talk in (zh, en, claimant):
        shown, sent = transcript(stores, talk.me.conversation_id)
        assert shown == talk.shown  # each shopper message once, in order, in the shop's transcript
        assert sent == talk.sent  # and once in Rasa's tracker
    assert count(stores, "SELECT COUNT(*), SUM(amount) FROM claims WHERE customer_id = 'C008'") == (1, 9000)
    assert count(stores, "SELECT COUNT(*) FROM tickets WHERE conversation_id = :c",
                 c=en.me.conversation_id) == (1,)
    assert count(stores, "SELECT COUNT(*) FROM tickets WHERE conversation_id IN (:a, :b)",
                 a=zh.me.conversation_id, b=claimant.me.conversation_id) == (0,)
