"""A fake Rasa REST channel, so web tests need no model: it records what it is sent; and the real Redis."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.exceptions import RedisError

from bot.settings import Settings
from bot.turns import replies_after
from bot.web.app import create_app
from tests.conftest import NOW

REDIS_URL = os.environ.get("SHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class FakeActions:
    """The action server's ``/health``, on a port of its own.

    ``stop()`` closes the port, so the web service's health check is refused as by a
    dead ``rasa run actions``; ``start()`` opens it again on the same port.
    """

    def __init__(self) -> None:
        self.port = 0
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", _healthy)
        self.server = TestServer(app, host="127.0.0.1", port=self.port or None)
        await self.server.start_server()
        self.port = int(self.server.port or 0)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()
            self.server = None


async def _healthy(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})  # what rasa_sdk's /health answers


class FakeRasa:
    """Answers every turn with ``echo:<message>`` and remembers the requests.

    ``responses`` holds the turns Rasa answers from domain.yml templates, with no custom
    action (``[]``: Rasa says nothing). With the action server stopped (``stop_actions``)
    the fake answers the way Rasa 3.6 does, as measured on the real stack: a turn whose
    action is custom gets 200 and ``[]`` (``RemoteAction.run`` cannot connect, the
    processor logs "Bot will continue, but the actions events are lost" and listens
    again), while template turns are answered as usual.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.responses: dict[str, list[str]] = {}
        self.intents: dict[str, str] = {}  # text → intent for /model/parse (default: order_status)
        self.slots: dict[str, dict[str, Any]] = {}  # sender → the tracker's slots
        self.on_turn: Callable[[], None] | None = None  # runs while Rasa "thinks" about a turn
        self.actions = FakeActions()
        self.actions_down = False
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.executed: list[tuple[str, str]] = []
        self.status = 200
        self.tracker_of: dict[str, list[dict[str, Any]]] = {}  # sender → user and bot events, as Rasa saves them
        # The next turns' server dies there, one mode per turn: "before_save" or "after_save".
        self.drops: list[str] = []
        self.answered_again: list[str] = []  # messages answered from the tracker (their message_id was known)
        self.loaded: list[str] = []  # PUT /model requests, in order
        self.load_status = 204

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_post("/webhooks/shop/webhook", self.webhook)  # bot.rasa_channel: the same, once per id
        app.router.add_post("/model/parse", self.parse)
        app.router.add_post("/conversations/{sender}/tracker/events", self.tracker_events)
        app.router.add_get("/conversations/{sender}/tracker", self.tracker)
        app.router.add_post("/conversations/{sender}/execute", self.execute)
        app.router.add_put("/model", self.load_model)
        app.router.add_get("/status", self.model_status)
        return app

    async def load_model(self, request: web.Request) -> web.Response:
        assert request.query.get("token") == "t"
        if self.load_status != 204:
            return web.Response(status=self.load_status, text="cannot load")
        self.loaded.append((await request.json())["model_file"])
        return web.Response(status=204)

    async def model_status(self, request: web.Request) -> web.Response:
        return web.json_response({"model_file": self.loaded[-1] if self.loaded else "models/base.tar.gz"})

    async def parse(self, request: web.Request) -> web.Response:
        assert request.query.get("token") == "t"
        body = await request.json()
        intent = self.intents.get(body["text"], "order_status")
        return web.json_response({"text": body["text"], "intent": {"name": intent, "confidence": 0.91}})

    async def tracker(self, request: web.Request) -> web.Response:
        assert request.query.get("token") == "t"
        sender = request.match_info["sender"]
        return web.json_response({"sender_id": sender, "slots": self.slots.get(sender, {})})

    async def tracker_events(self, request: web.Request) -> web.Response:
        assert request.query.get("token") == "t"
        self.events.setdefault(request.match_info["sender"], []).extend(await request.json())
        return web.json_response({})

    async def execute(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.executed.append((request.match_info["sender"], body["name"]))
        return web.json_response({"messages": [{"recipient_id": request.match_info["sender"],
                                                "text": f"executed:{body['name']}"}]})

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        message_id = (body.get("metadata") or {}).get("message_id")
        if request.path.startswith("/webhooks/shop/") and message_id:
            done = replies_after(self.tracker_of.get(body["sender"], []), message_id, body["sender"])
            if done is not None:  # as bot.rasa_channel: a known message_id is answered from the tracker
                self.answered_again.append(body["message"])
                return web.json_response(done)
        self.requests.append(body)
        if self.on_turn is not None:
            self.on_turn()
        if self.status != 200:
            return web.Response(status=self.status)
        if body["message"] in self.responses:
            reply = [{"recipient_id": body["sender"], "text": text} for text in self.responses[body["message"]]]
        elif self.actions_down:
            reply = []
        else:
            reply = [{"recipient_id": body["sender"], "text": f"echo:{body['message']}",
                      "buttons": [{"title": "是", "payload": "/affirm"}]}]
        drop = self.drops.pop(0) if self.drops else None
        if drop == "before_save":
            return self._die(request)
        self.tracker_of.setdefault(body["sender"], []).extend([
            {"event": "user", "text": body["message"], "metadata": body.get("metadata") or {}},
            *({"event": "bot", "text": m.get("text"), "data": {"buttons": m.get("buttons")}} for m in reply)])
        if drop == "after_save":
            return self._die(request)
        return web.json_response(reply)

    @staticmethod
    def _die(request: web.Request) -> web.Response:
        """The server goes away mid-turn: the connection drops without an answer."""
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async def stop_actions(self) -> None:
        """The action server dies: its port closes and custom-action turns answer ``[]``."""
        await self.actions.stop()
        self.actions_down = True

    async def start_actions(self) -> None:
        await self.actions.start()
        self.actions_down = False


@pytest.fixture
async def fake_rasa(aiohttp_server: Any) -> AsyncIterator[FakeRasa]:
    fake = FakeRasa()
    fake.server = await aiohttp_server(fake.app())
    await fake.actions.start()
    yield fake
    await fake.actions.stop()


@pytest.fixture
def web_settings(settings: Settings, fake_rasa: FakeRasa) -> Settings:
    return settings.with_(rasa_urls=(str(fake_rasa.server.make_url("")).rstrip("/"),),
                          action_url=fake_rasa.actions.url, max_message_chars=1000)


@pytest.fixture
async def client(aiohttp_client: Any, web_settings: Settings) -> Any:
    return await aiohttp_client(create_app(web_settings, clock=lambda: NOW))


async def sign_in(client: Any, customer_id: str = "C001") -> dict[str, Any]:
    resp = await client.post("/api/session", json={"customer_id": customer_id})
    assert resp.status == 200, await resp.text()
    return await resp.json()


@pytest.fixture
async def redis_url() -> str:
    """The real Redis (127.0.0.1:6379 on our machines); unreachable is a skip, or a failure under CI=true."""
    client = redis.asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    finally:
        await client.close(close_connection_pool=True)
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """A channel prefix of this test's own, so tests (and stacks) sharing one Redis never hear each other."""
    return f"test:{secrets.token_hex(6)}:"


class TcpProxy:
    """A TCP relay to ``target`` on a port of its own, run by threads (the code under test blocks the loop).

    ``stop()`` drops every relayed connection and closes the port, as a database server
    that went away; ``start()`` listens on the same port again.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.05)
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)  # shutdown first: a close alone waits for the accepting thread's poll
        with self._lock:
            dropped, self._open = self._open, []
        for s in dropped:
            _close(s)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            for s in (client, upstream):
                s.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(src, dst), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        _close(src)
        _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
