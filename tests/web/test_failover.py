"""Rasa replica failover: a conversation whose Rasa server is down moves to the next one, never twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.settings import Settings
from bot.web.app import create_app
from bot.web.keys import rasa_key
from bot.web.rasa_client import RasaClient, RasaConversations, RasaUnavailable
from tests.conftest import NOW
from tests.web.conftest import FakeRasa, sign_in
from tests.web.test_faults import history, say


class Replicas:
    """Two fake Rasa servers on ports of their own; ``stop(i)`` closes one, as a killed ``rasa run`` would."""

    def __init__(self) -> None:
        self.fakes = [FakeRasa(), FakeRasa()]
        self.servers: list[TestServer | None] = [None, None]
        self.ports = [0, 0]

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(f"http://127.0.0.1:{p}" for p in self.ports)

    async def start(self, i: int) -> None:
        server = TestServer(self.fakes[i].app(), host="127.0.0.1", port=self.ports[i] or None)
        await server.start_server()
        self.servers[i], self.ports[i] = server, int(server.port or 0)

    async def stop(self, i: int) -> None:
        server = self.servers[i]
        if server is not None:
            await server.close()
            self.servers[i] = None

    def index(self, url: str) -> int:
        return self.urls.index(url)


@pytest.fixture
async def replicas() -> AsyncIterator[Replicas]:
    r = Replicas()
    for i in (0, 1):
        await r.start(i)
    yield r
    for i in (0, 1):
        await r.stop(i)


@pytest.fixture
async def rasa(replicas: Replicas) -> AsyncIterator[RasaClient]:
    async with RasaClient(replicas.urls, "t", 2.0, failover=True) as client:
        yield client


def senders_of(urls: tuple[str, ...], shard: int, count: int = 1) -> list[str]:
    """Sender ids whose own server is ``urls[shard]``."""
    probe = RasaClient(urls, "t", 1.0)
    return [s for s in (f"c{n}" for n in range(1000)) if probe.url_for(s) == urls[shard]][:count]


class TestOrder:
    @pytest.mark.parametrize("failover", [False, True])
    def test_every_conversation_starts_at_its_own_shard(self, failover: bool) -> None:
        """With every server up a conversation sticks to the one its hash names, failover or not."""
        urls = ("http://a", "http://b", "http://c")
        sticky, ring = RasaClient(urls, "t", 1.0), RasaClient(urls, "t", 1.0, failover=failover)
        for sender in ("c1", "会话-2", "x" * 40):
            assert ring.url_for(sender) == sticky.url_for(sender)

    def test_failover_walks_the_ring_from_the_shard(self) -> None:
        """Shard b of a, b, c goes on to c, then a; without failover there is nowhere else."""
        urls = ("http://a", "http://b", "http://c")
        [sender] = senders_of(urls, 1)
        assert RasaClient(urls, "t", 1.0, failover=True).order_for(sender) == ("http://b", "http://c", "http://a")
        assert RasaClient(urls, "t", 1.0).order_for(sender) == ("http://b",)


class TestClient:
    async def test_all_up_each_server_serves_its_own_shard(self, replicas: Replicas, rasa: RasaClient) -> None:
        """Sticky sharding: a turn goes to its own server only."""
        for shard in (0, 1):
            [sender] = senders_of(replicas.urls, shard)
            assert await rasa.send(sender, "hi", {})
        assert [[r["sender"] for r in f.requests] for f in replicas.fakes] == [
            senders_of(replicas.urls, 0), senders_of(replicas.urls, 1)]

    @pytest.mark.parametrize("down", [0, 1])
    async def test_a_refused_connection_moves_the_turn_to_the_other_server_once(
            self, replicas: Replicas, rasa: RasaClient, down: int) -> None:
        """The shard's server is down: the other server answers, and only it has seen the turn."""
        [sender] = senders_of(replicas.urls, down)
        await replicas.stop(down)
        [reply] = await rasa.send(sender, "我的订单到哪了", {})
        assert reply["text"] == "echo:我的订单到哪了"
        assert [r["message"] for r in replicas.fakes[1 - down].requests] == ["我的订单到哪了"]

    async def test_the_conversation_goes_home_when_its_server_is_back(self, replicas: Replicas,
                                                                      rasa: RasaClient) -> None:
        """Failover is per request: once the shard's server listens again it gets the next turn."""
        [sender] = senders_of(replicas.urls, 0)
        await replicas.stop(0)
        await rasa.send(sender, "one", {})
        await replicas.start(0)
        await rasa.send(sender, "two", {})
        assert [[r["message"] for r in f.requests] for f in replicas.fakes] == [["two"], ["one"]]

    async def test_without_failover_a_down_shard_fails_the_turn(self, replicas: Replicas) -> None:
        """The embedded profile (in-memory lock stores) never moves a conversation."""
        [sender] = senders_of(replicas.urls, 0)
        await replicas.stop(0)
        async with RasaClient(replicas.urls, "t", 2.0) as sticky:
            with pytest.raises(RasaUnavailable):
                await sticky.send(sender, "hi", {})
        assert replicas.fakes[1].requests == []

    async def test_every_server_down_is_unavailable(self, replicas: Replicas, rasa: RasaClient) -> None:
        """Both refuse: the turn fails with both addresses named."""
        await replicas.stop(0)
        await replicas.stop(1)
        with pytest.raises(RasaUnavailable, match=r"(?s)127\.0\.0\.1.*127\.0\.0\.1"):
            await rasa.send("c1", "hi", {})

    async def test_an_error_status_is_not_sent_elsewhere(self, replicas: Replicas, rasa: RasaClient) -> None:
        """The server received the turn (500): it may have recorded it, so it is not sent again."""
        [sender] = senders_of(replicas.urls, 0)
        replicas.fakes[0].status = 500
        with pytest.raises(RasaUnavailable, match="500"):
            await rasa.send(sender, "hi", {})
        assert replicas.fakes[1].requests == []

    async def test_the_agent_console_calls_fail_over_too(self, replicas: Replicas, rasa: RasaClient) -> None:
        """Pausing a conversation whose server is down goes to the other one."""
        [sender] = senders_of(replicas.urls, 0)
        await replicas.stop(0)
        await RasaConversations(rasa).pause(sender)
        assert replicas.fakes[1].events == {sender: [{"event": "pause"}]}

    async def test_parse_goes_to_any_server_even_without_failover(self, replicas: Replicas) -> None:
        """NLU touches no conversation, so the first server that accepts the connection answers."""
        await replicas.stop(0)
        async with RasaClient(replicas.urls, "t", 2.0) as sticky:
            assert (await sticky.parse("hi"))["intent"]["name"] == "order_status"


class Dropping:
    """A Rasa server that reads the turn, then drops the connection or stalls (crashed or hung mid-turn)."""

    def __init__(self, stall_s: float = 0.0) -> None:
        self.stall_s = stall_s
        self.seen: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/shop/webhook", self.webhook)
        return app

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((await request.json())["message"])
        if self.stall_s:
            await asyncio.sleep(self.stall_s)
            return web.json_response([])
        assert request.transport is not None
        request.transport.close()
        return web.Response()


class TestNeverTwice:
    @pytest.mark.parametrize("stall_s", [0.0, 5.0])
    async def test_a_turn_that_was_sent_is_never_sent_to_another_server(
            self, aiohttp_server: Any, replicas: Replicas, stall_s: float) -> None:
        """Dropped or timed out after sending: the first server may have processed it, so the turn fails."""
        dropping = Dropping(stall_s)
        bad = await aiohttp_server(dropping.app())
        urls = (str(bad.make_url("")).rstrip("/"), replicas.urls[1])
        [sender] = senders_of(urls, 0)
        async with RasaClient(urls, "t", 0.5, failover=True) as rasa:
            with pytest.raises(RasaUnavailable):
                await rasa.send(sender, "保价", {})
        assert dropping.seen == ["保价"]
        assert replicas.fakes[1].requests == []


class TestThroughTheWebService:
    @pytest.fixture
    async def failover_client(self, aiohttp_client: Any, settings: Settings, replicas: Replicas,
                              fake_rasa: FakeRasa) -> Any:
        s = settings.with_(rasa_urls=replicas.urls, rasa_failover=True, action_url=fake_rasa.actions.url)
        return await aiohttp_client(create_app(s, clock=lambda: NOW))

    @pytest.mark.parametrize(("customer", "text"), [("C001", "我的订单到哪了"), ("C005", "where is my order")])
    async def test_a_shopper_whose_rasa_server_died_is_answered_by_the_other(
            self, failover_client: Any, replicas: Replicas, customer: str, text: str) -> None:
        """The shopper's turn is answered once and stored once; only the surviving server saw it."""
        me = await sign_in(failover_client, customer)
        own = replicas.index(failover_client.server.app[rasa_key].url_for(me["conversation_id"]))
        await replicas.stop(own)
        [reply] = await say(failover_client, text)
        assert reply["text"] == f"echo:{text}"
        assert await history(failover_client) == [("shopper", text), ("bot", f"echo:{text}")]
        assert [r["message"] for r in replicas.fakes[1 - own].requests] == [text]

    def test_the_setting_is_read_from_the_environment(self) -> None:
        """``SHOP_RASA_FAILOVER=1`` turns it on; unset it is off."""
        assert Settings.from_env({"SHOP_RASA_FAILOVER": "1"}).rasa_failover
        assert not Settings.from_env({}).rasa_failover
