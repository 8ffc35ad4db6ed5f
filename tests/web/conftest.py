"""A fake Rasa REST channel, so web tests need no model: it records what it is sent; and the real Redis."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
import redis.asyncio
from aiohttp import web
from redis.exceptions import RedisError

from bot.settings import Settings
from bot.web.app import create_app
from tests.conftest import NOW

REDIS_URL = os.environ.get("SHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class FakeRasa:
    """Answers every turn with ``echo:<message>`` and remembers the requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.executed: list[tuple[str, str]] = []
        self.status = 200
        self.loaded: list[str] = []  # PUT /model requests, in order
        self.load_status = 204

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_post("/model/parse", self.parse)
        app.router.add_post("/conversations/{sender}/tracker/events", self.tracker_events)
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
        return web.json_response({"text": body["text"], "intent": {"name": "order_status", "confidence": 0.91}})

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
        self.requests.append(body)
        if self.status != 200:
            return web.Response(status=self.status)
        return web.json_response([
            {"recipient_id": body["sender"], "text": f"echo:{body['message']}",
             "buttons": [{"title": "是", "payload": "/affirm"}]},
        ])


@pytest.fixture
async def fake_rasa(aiohttp_server: Any) -> FakeRasa:
    fake = FakeRasa()
    fake.server = await aiohttp_server(fake.app())
    return fake


@pytest.fixture
def web_settings(settings: Settings, fake_rasa: FakeRasa) -> Settings:
    return settings.with_(rasa_urls=(str(fake_rasa.server.make_url("")).rstrip("/"),),
                          max_message_chars=1000)


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
