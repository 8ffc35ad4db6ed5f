"""Processes killed *while* a turn is in flight, on the scale profile: each turn still happens exactly once.

The action server is paused (SIGSTOP) so that a turn is certainly half-way (Rasa waits
on a custom action), then the process carrying the turn is killed:

* **a Rasa server**: the web service sees the connection drop and finishes the turn on
  the other server, after the shared lock (``RedisLockStore``) lets it in; the claim the
  dead server's action had started is filed once;
* **a web process**: the shopper's page sees its request fail and sends it again under
  the same ``message_id``; the other web process waits for the turn still running in
  Rasa, and answers with it instead of sending it twice.

PostgreSQL then holds the message once in the shop's transcript and once in Rasa's
tracker, the replies once, and one claim.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import unicodedata
import uuid
from typing import Any

import sqlalchemy as sa

from bot.store.transcript import SqlTranscript
from bot.web.rasa_client import RasaClient
from scripts.stack import SharedStores, Stack
from tests.e2e import test_scale
from tests.e2e.faults import owner, paused, wait_for, waiting_requests
from tests.e2e.test_scale_faults import Talk, answered, count, transcript

stores = test_scale.stores  # a scale-profile stack and databases of this module's own
stack = test_scale.stack


class InBackground:
    """Run ``fn`` in a thread; ``result()`` waits for it and returns its value or raises its error."""

    def __init__(self, fn: Any) -> None:
        self.value: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.value = fn()
            except BaseException as exc:  # handed to the test thread
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self, timeout_s: float = 90) -> Any:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the request hung"
        if self.error is not None:
            raise self.error
        return self.value


def answer_stored(stores: SharedStores, conversation_id: str, message_id: str) -> list[str]:
    """The bot's lines the shop stored after the shopper message ``message_id`` (``SqlTranscript.turn``)."""
    engine = sa.create_engine(stores.database_url)
    try:
        turn = SqlTranscript(engine).turn(conversation_id, message_id)
    finally:
        engine.dispose()
    assert turn is not None, f"no message {message_id} in the transcript"
    return [m.text for m in turn.replies]


def test_a_rasa_server_killed_mid_turn_the_other_finishes_it_once(shopper: Any, stack: Stack,
                                                                  stores: SharedStores) -> None:
    claimant = Talk(shopper("C008"))
    button = next(b for m in claimant.open() for b in m["buttons"] if b["payload"].startswith("/price_protection"))
    urls = tuple(stack.env()["SHOP_RASA_URLS"].split(","))
    shard = urls.index(RasaClient(urls, "", 1).url_for(claimant.me.conversation_id))
    message_id = uuid.uuid4().hex

    with paused(stack, "actions"):
        turn = InBackground(lambda: claimant.me.send(button["title"], button["payload"], message_id))
        wait_for(lambda: waiting_requests(stack.action_port), "Rasa to call the paused action server")
        stack.kill(f"rasa{shard}")  # the turn's server dies while its action runs
    try:
        resp = turn.result()
        assert resp.status_code == 200, resp.text
        reply = answered(resp.json()["messages"], "zh")
        claimant.said(button["title"], button["payload"])
        assert "PP-" in reply
    finally:
        stack.restart(f"rasa{shard}")

    shown, sent = transcript(stores, claimant.me.conversation_id)
    assert shown == claimant.shown and sent == claimant.sent  # once in the transcript, once in the tracker
    assert answer_stored(stores, claimant.me.conversation_id, message_id) == [
        m["text"] for m in resp.json()["messages"]]
    assert count(stores, "SELECT COUNT(*), SUM(amount) FROM claims WHERE customer_id = 'C008'") == (1, 9000)


def test_a_web_process_killed_mid_turn_the_retry_gets_the_turn_once(shopper: Any, stack: Stack,
                                                                    stores: SharedStores) -> None:
    zh = Talk(shopper("C001"))
    answered(zh.say("在吗"), "zh")
    text, message_id = "我的冰箱怎么还没到？", uuid.uuid4().hex
    cookie = "; ".join(f"{k}={v}" for k, v in zh.me.http.cookies.get_dict().items())
    page = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=60)
    page.connect()
    assert page.sock is not None
    client_port = page.sock.getsockname()[1]
    web_names = tuple(name for name in stack.procs if name.startswith("web"))

    with paused(stack, "actions"):
        page.request("POST", "/api/messages", json.dumps({"text": text, "message_id": message_id}),
                     headers={"Content-Type": "application/json", "Cookie": cookie})
        wait_for(lambda: waiting_requests(stack.action_port), "Rasa to call the paused action server")
        victim = wait_for(lambda: owner(stack, stack.web_port, client_port, web_names), "the page's web process")
        assert isinstance(victim, str)
        stack.kill(victim)  # the web process dies; Rasa goes on with the turn, waiting for the action
        try:
            page.getresponse()
            raise AssertionError("the killed web process answered")
        except (http.client.HTTPException, OSError):
            pass  # the page sees its request fail, and sends it again under the same id
        stored = unicodedata.normalize("NFKC", text)  # as the front door stores it (？ is ?)
        assert transcript(stores, zh.me.conversation_id)[0].count(stored) == 1  # stored before Rasa was asked
        retry = InBackground(lambda: zh.me.send(text, message_id=message_id))
        time.sleep(1)  # the retry reaches Rasa and waits behind the turn still running there
    try:
        resp = retry.result()  # the action server is back: the turn in Rasa ends, and the retry answers it
        assert resp.status_code == 200, resp.text
        zh.said(text)
        assert "海尔" in answered(resp.json()["messages"], "zh")
    finally:
        stack.restart(victim)

    shown, sent = transcript(stores, zh.me.conversation_id)
    assert shown == zh.shown and sent == zh.sent
    assert answer_stored(stores, zh.me.conversation_id, message_id) == [m["text"] for m in resp.json()["messages"]]
    again = zh.me.send(text, message_id=message_id)  # one more retry changes nothing
    assert again.json() == resp.json() and transcript(stores, zh.me.conversation_id) == (shown, sent)
