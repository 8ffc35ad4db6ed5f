"""Live delivery: the in-process hub, and the Redis hub between web processes (on the real Redis)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import WSMsgType

from bot.routing import open_ticket
from bot.settings import Settings
from bot.web.app import create_app
from bot.web.hub import AGENTS, Hub, HubUnavailable, RedisHub
from bot.web.keys import handoff_key, hub_key
from scripts.stack import free_port
from tests.conftest import NOW
from tests.web.conftest import FakeRasa, sign_in
from tests.web.test_agent import agent_client, next_message

UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


class Page:
    """A page's websocket as the hub sees it (``Socket``): records what it is sent and how it was closed."""

    def __init__(self, *, stalled: bool = False) -> None:
        self.received: list[Any] = []
        self.closed_with: int | None = None
        self._stalled = stalled

    async def send_str(self, data: str) -> None:
        if self._stalled:
            await asyncio.sleep(3600)
        self.received.append(json.loads(data))

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed_with = code
        return True

    async def wait_for(self, count: int) -> list[Any]:
        await eventually(lambda: len(self.received) >= count)
        return self.received


async def eventually(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


def is_up(hub: Hub) -> bool:
    try:
        hub.check()
    except HubUnavailable:
        return False
    return True


class Outage:
    """A TCP proxy in front of the real Redis that can be cut and restored: a Redis outage on demand."""

    def __init__(self, redis_url: str) -> None:
        self._target = urlsplit(redis_url)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return self._target._replace(netloc=f"127.0.0.1:{self.port}").geturl()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self._target.hostname, self._target.port or 6379)
        self._writers += [writer, up_writer]

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


@pytest.fixture
async def hubs(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[RedisHub, RedisHub]]:
    """Two web processes' hubs on one Redis."""
    a, b = RedisHub(redis_url, prefix=redis_prefix), RedisHub(redis_url, prefix=redis_prefix)
    await a.start()
    await b.start()
    yield a, b
    await a.close()
    await b.close()


class TestInProcess:
    async def test_publish_reaches_every_page_on_the_channel_and_no_other(self) -> None:
        """One process: a publish is delivered to the channel's pages directly."""
        hub, mine, also_mine, other = Hub(), Page(), Page(), Page()
        hub.subscribe("C-1", mine)
        hub.subscribe("C-1", also_mine)
        hub.subscribe("C-2", other)
        await hub.publish("C-1", {"type": "message", "text": "你好"})
        assert mine.received == also_mine.received == [{"type": "message", "text": "你好"}]
        assert other.received == []

    async def test_a_page_that_does_not_keep_up_is_closed_and_the_others_still_receive(self) -> None:
        """A stalled page is dropped and closed (it reloads its history when it reconnects)."""
        hub, stalled, fine = Hub(send_timeout_s=0.1), Page(stalled=True), Page()
        hub.subscribe("C-1", stalled)
        hub.subscribe("C-1", fine)
        await hub.publish("C-1", {"n": 1})
        assert fine.received == [{"n": 1}]
        assert (stalled.closed_with, hub.listeners("C-1")) == (1013, 1)


class TestAcrossProcesses:
    async def test_a_page_on_one_process_receives_what_another_publishes_in_order(
            self, hubs: tuple[RedisHub, RedisHub]) -> None:
        """Messages one process publishes to one channel arrive in the order they were published."""
        a, b = hubs
        page = Page()
        a.subscribe("C-1", page)
        for n in range(200):
            await b.publish("C-1", {"n": n, "text": f"第{n}条 message {n}"})
        assert [m["n"] for m in await page.wait_for(200)] == list(range(200))
        assert page.received[7]["text"] == "第7条 message 7"

    async def test_the_publishers_own_pages_receive_through_redis_too(self, hubs: tuple[RedisHub, RedisHub]) -> None:
        """A process's own publishes reach its pages once, by the same path as everyone else's."""
        a, b = hubs
        here, there = Page(), Page()
        a.subscribe(AGENTS, here)
        b.subscribe(AGENTS, there)
        await a.publish(AGENTS, {"type": "tickets"})
        assert await here.wait_for(1) == await there.wait_for(1) == [{"type": "tickets"}]
        await a.publish(AGENTS, {"type": "tickets", "n": 2})
        await here.wait_for(2)
        assert len(here.received) == 2

    async def test_only_the_channels_pages_receive(self, hubs: tuple[RedisHub, RedisHub]) -> None:
        """Every process hears every channel, and delivers only to that channel's pages."""
        a, b = hubs
        one, two = Page(), Page()
        a.subscribe("C-1", one)
        a.subscribe("C-2", two)
        await b.publish("C-2", {"for": "C-2"})
        await b.publish("C-1", {"for": "C-1"})
        assert await one.wait_for(1) == [{"for": "C-1"}]
        assert two.received == [{"for": "C-2"}]

    async def test_unsubscribe_stops_delivery(self, hubs: tuple[RedisHub, RedisHub]) -> None:
        """A page that left hears nothing more; the channel's other pages still do."""
        a, b = hubs
        leaving, staying = Page(), Page()
        a.subscribe("C-1", leaving)
        a.subscribe("C-1", staying)
        await b.publish("C-1", {"n": 1})
        await leaving.wait_for(1)
        a.unsubscribe("C-1", leaving)
        assert (a.listeners("C-1"), b.listeners("C-1")) == (1, 0)
        await b.publish("C-1", {"n": 2})
        assert await staying.wait_for(2) == [{"n": 1}, {"n": 2}]
        assert leaving.received == [{"n": 1}]


class TestRedisDown:
    async def test_publish_fails_fast_with_a_specific_error_when_nothing_listens(self, redis_prefix: str) -> None:
        """A closed port: start, check and publish all answer HubUnavailable within 2 s, naming the address."""
        port = free_port()
        hub = RedisHub(f"redis://:secret@127.0.0.1:{port}/0", prefix=redis_prefix)
        async with asyncio.timeout(2):
            await hub.start()
            with pytest.raises(HubUnavailable):
                hub.check()
            with pytest.raises(HubUnavailable) as error:
                await hub.publish("C-1", {"n": 1})
            await hub.close()
        assert f"127.0.0.1:{port}" in str(error.value) and "secret" not in str(error.value)

    async def test_a_redis_that_never_answers_does_not_hang_publish(self, redis_prefix: str) -> None:
        """A server that accepts and stays silent: publish gives up after its timeout."""
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the hub hangs up
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        hub = RedisHub(f"redis://127.0.0.1:{port}/0", prefix=redis_prefix, timeout_s=0.5)
        try:
            async with asyncio.timeout(2):
                await hub.start()
                assert not is_up(hub)
                with pytest.raises(HubUnavailable):
                    await hub.publish("C-1", {"n": 1})
                await hub.close()
        finally:
            server.close()
            await server.wait_closed()

    async def test_close_cancels_the_listener_and_closes_the_pages(self, redis_url: str, redis_prefix: str) -> None:
        """Shutdown leaves no listener task behind, and pages are told the server is going away."""
        hub, page = RedisHub(redis_url, prefix=redis_prefix), Page()
        await hub.start()
        hub.subscribe("C-1", page)
        assert any(t.get_name().startswith("redis-hub-listener") for t in asyncio.all_tasks())
        await hub.close()
        assert not any(t.get_name().startswith("redis-hub-listener") for t in asyncio.all_tasks())
        assert (page.closed_with, hub.listeners("C-1"), is_up(hub)) == (1001, 0, False)

    async def test_pages_are_closed_during_an_outage_and_the_listener_reconnects(
            self, redis_url: str, redis_prefix: str) -> None:
        """Redis goes away: pages close with 1013 and publish fails; it comes back: delivery resumes."""
        outage = Outage(redis_url)
        await outage.restore()
        here = RedisHub(outage.url, prefix=redis_prefix, backoff_s=(0.05, 0.2))
        there = RedisHub(redis_url, prefix=redis_prefix)
        await here.start()
        await there.start()
        try:
            page = Page()
            here.subscribe("C-1", page)
            await there.publish("C-1", {"n": 1})
            await page.wait_for(1)

            await outage.cut()
            await eventually(lambda: page.closed_with == 1013)
            assert (is_up(here), here.listeners("C-1")) == (False, 0)
            async with asyncio.timeout(2):
                with pytest.raises(HubUnavailable):
                    await here.publish("C-1", {"n": 2})

            await outage.restore()
            await eventually(lambda: is_up(here))
            again = Page()
            here.subscribe("C-1", again)
            await there.publish("C-1", {"n": 3})
            assert await again.wait_for(1) == [{"n": 3}]
            assert page.received == [{"n": 1}]
        finally:
            await here.close()
            await there.close()
            await outage.cut()


class TestShutdown:
    async def test_stopping_a_web_process_closes_its_pages_at_once(self, client: Any) -> None:
        """Open pages are closed when shutdown starts (they reconnect, maybe to another process), not after a minute."""
        await sign_in(client)
        ws = await client.ws_connect("/api/ws")
        async with asyncio.timeout(5):
            await client.server.close()
            assert (await ws.receive()).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)


class TestWebProcesses:
    @pytest.fixture
    def scaled(self, web_settings: Settings, redis_url: str, redis_prefix: str) -> Settings:
        return web_settings.with_(redis_url=redis_url, redis_prefix=redis_prefix)

    async def open_handoff(self, client: Any, customer_id: str) -> tuple[str, str]:
        session = await sign_in(client, customer_id)
        ticket = open_ticket(f"TK-{customer_id}", session["conversation_id"], customer_id, "zh", "ask_human", NOW,
                             topic="orders")
        client.server.app[handoff_key].add(ticket, actor="bot")
        return session["conversation_id"], ticket.ticket_id

    async def test_an_agent_on_one_process_reaches_a_shopper_on_another(
            self, aiohttp_client: Any, scaled: Settings) -> None:
        """The shopper's page is on process 1; the agent takes the ticket and replies through process 2."""
        shop_side = await aiohttp_client(create_app(scaled, clock=lambda: NOW))
        agent_side = await aiohttp_client(create_app(scaled, clock=lambda: NOW))
        conversation_id, ticket_id = await self.open_handoff(shop_side, "C001")
        shopper_ws = await shop_side.ws_connect("/api/ws")

        agent = await agent_client(aiohttp_client, agent_side, "A01")  # going online assigns the ticket
        assert (await next_message(shopper_ws))["role"] == "system"
        resp = await agent.post(f"/api/agent/tickets/{ticket_id}/messages", json={"text": "您好，我来帮您查"})
        assert resp.status == 200, await resp.text()
        relayed = await next_message(shopper_ws)
        assert relayed == (await resp.json())["message"] and relayed["role"] == "agent"
        assert (shop_side.server.app[hub_key].listeners(conversation_id),
                agent_side.server.app[hub_key].listeners(conversation_id)) == (1, 0)
        await shopper_ws.close()

    async def test_a_shoppers_message_on_one_process_reaches_the_agent_console_on_another(
            self, aiohttp_client: Any, scaled: Settings) -> None:
        """Process 1 takes the shopper's message; the agent console on process 2 sees it."""
        shop_side = await aiohttp_client(create_app(scaled, clock=lambda: NOW))
        agent_side = await aiohttp_client(create_app(scaled, clock=lambda: NOW))
        _, ticket_id = await self.open_handoff(shop_side, "C002")
        agent = await agent_client(aiohttp_client, agent_side, "A02")
        console = await agent.ws_connect("/api/agent/ws")
        assert (await shop_side.post("/api/messages", json={"text": "where is my fridge"})).status == 200
        while (event := await console.receive_json(timeout=5))["type"] != "message":
            pass
        assert (event["ticket_id"], event["message"]["text"]) == (ticket_id, "where is my fridge")
        await console.close()

    async def test_without_redis_sending_is_a_clear_503_and_nothing_is_written(
            self, aiohttp_client: Any, web_settings: Settings, fake_rasa: FakeRasa) -> None:
        """Redis away: the message is refused before it is stored or sent to Rasa, in both languages."""
        settings = web_settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0")
        client = await aiohttp_client(create_app(settings, clock=lambda: NOW))
        await sign_in(client)
        async with asyncio.timeout(2):
            resp = await client.post("/api/messages", json={"text": "hello"})
        error = (await resp.json())["error"]
        assert (resp.status, error["code"]) == (503, "hub_unavailable")
        assert error["message"]["zh"] and error["message"]["en"]
        assert (await (await client.get("/api/messages")).json())["messages"] == []
        assert fake_rasa.requests == []
        assert (await client.get("/api/ws", headers=UPGRADE)).status == 503
