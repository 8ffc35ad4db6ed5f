"""The scale profile on the real servers: shop and Rasa trackers on PostgreSQL, locks and live messages on Redis.

Two Rasa servers, two action-server workers and two web processes, as ``make scale`` runs them,
but on free ports, in databases and under a Redis prefix of this module's own, so that it never
touches a running ``make scale``. Unreachable PostgreSQL or Redis skips the module (fails under CI=true).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from scripts.stack import SharedStores, Stack, free_port, listening_sockets
from tests.e2e.conftest import model_path, running
from tests.e2e.test_handoff import agent_session, holder
from tests.e2e.test_stack import is_chinese, texts

PG_URL = os.environ.get("SHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PAGES = 4  # shopper tabs, each on its own connection: the kernel spreads them over both web processes


def servers_or_skip() -> None:
    try:
        engine = sa.create_engine(PG_URL)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except (sa.exc.OperationalError, redis.RedisError) as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"the scale profile needs PostgreSQL ({PG_URL}) and Redis ({REDIS_URL}): {exc}")


@pytest.fixture(scope="module")
def stores() -> Iterator[SharedStores]:
    servers_or_skip()
    tag = secrets.token_hex(4)
    base = make_url(PG_URL)
    s = SharedStores(database_url=base.set(database=f"shop_t{tag}").render_as_string(hide_password=False),
                     tracker_url=base.set(database=f"tracker_t{tag}").render_as_string(hide_password=False),
                     redis_url=REDIS_URL, prefix=f"t{tag}")
    yield s
    s.drop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, stores: SharedStores) -> Iterator[Stack]:
    """Replaces conftest's embedded stack for this module, so ``shopper`` talks to the scale profile."""
    with running(Stack(var_dir=tmp_path_factory.mktemp("scale"), model=model_path(), web_port=free_port(),
                       web_workers=2, rasa_ports=(free_port(), free_port()), action_port=free_port(),
                       action_workers=2, stores=stores, quiet=True)) as s:
        yield s


def process_group(pgid: int) -> int:
    """How many processes are in a process group (Linux's /proc)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        count += int(fields[2]) == pgid  # after "pid (comm)": state, ppid, pgrp
    return count


async def pages_receive_reply(stack: Stack, cookies: dict[str, str], agent: requests.Session, url: str,
                              text: str) -> list[dict[str, Any]]:
    """Open ``PAGES`` shopper websockets on separate connections, post the agent's reply, and collect what each gets."""
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    ws_url = f"{stack.url.replace('http', 'ws', 1)}/api/ws"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        pages = [await http.ws_connect(ws_url, headers={"Cookie": cookie}) for _ in range(PAGES)]
        resp = await asyncio.to_thread(agent.post, url, json={"text": text}, timeout=10)
        assert resp.status_code == 200, resp.text

        async def agent_line(page: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
            while True:  # status updates and other lines are skipped
                event = await page.receive_json(timeout=10)
                if event["type"] == "message" and event["message"]["role"] == "agent":
                    return dict(event["message"])

        try:
            return list(await asyncio.gather(*(agent_line(p) for p in pages)))
        finally:
            for page in pages:
                await page.close()


class TestScaleProfile:
    def test_every_kind_of_process_runs_twice(self, stack: Stack) -> None:
        """Two web processes share the port, two Rasa servers take shards, the action server has two workers."""
        assert listening_sockets(stack.web_port) == 2
        assert len(stack.rasa_ports) == 2 and all(listening_sockets(p) for p in stack.rasa_ports)
        assert process_group(stack.procs["actions"].pid) >= 3  # Sanic's main process and its two workers

    @pytest.mark.parametrize(("customer", "ask", "language"), [
        ("C001", "我的订单状态", "zh"),
        ("C005", "what's the status of my order", "en"),
    ])
    def test_shoppers_are_answered_and_their_turns_are_in_postgresql(
            self, shopper: Any, stores: SharedStores, customer: str, ask: str, language: str) -> None:
        """A zh and an en shopper ask about their orders; Rasa's events and the shop's messages land in PostgreSQL."""
        me = shopper(customer)
        reply = texts(me.say(ask))
        assert reply and is_chinese(reply) == (language == "zh")
        tracker = sa.create_engine(stores.tracker_url)
        shop = sa.create_engine(stores.database_url)
        try:
            with tracker.connect() as c:
                users = c.execute(sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
                                  {"s": me.conversation_id}).scalar_one()
            with shop.connect() as c:
                roles = {r for (r,) in c.execute(sa.text("SELECT role FROM messages WHERE conversation_id = :s"),
                                                 {"s": me.conversation_id})}
        finally:
            tracker.dispose()
            shop.dispose()
        assert users >= 1
        assert {"shopper", "bot"} <= roles

    def test_an_agent_on_either_web_process_reaches_the_shopper_on_any(
            self, shopper: Any, stack: Stack, stores: SharedStores) -> None:
        """转人工 opens a ticket in PostgreSQL; the agent's reply reaches every open page of the shopper."""
        agents = [agent_session(stack, a) for a in ("A01", "A02")]
        me = shopper("C008")
        assert "TK-" in texts(me.say("转人工"))
        agent, ticket = holder(stack, agents, me.conversation_id)

        url = f"{stack.url}/api/agent/tickets/{ticket['ticket_id']}/messages"
        received = asyncio.run(pages_receive_reply(stack, me.http.cookies.get_dict(), agent, url, "您好，我来帮您查"))
        assert [m["text"] for m in received] == ["您好，我来帮您查"] * PAGES

        shop = sa.create_engine(stores.database_url)
        try:
            with shop.connect() as c:
                status = c.execute(sa.text("SELECT status FROM tickets WHERE ticket_id = :t"),
                                   {"t": ticket["ticket_id"]}).scalar_one()
        finally:
            shop.dispose()
        assert status == ticket["status"]
        assert agent.post(f"{stack.url}/api/agent/tickets/{ticket['ticket_id']}/resolve", json={},
                          timeout=30).status_code == 200
