"""Exactly-once turns: a message sent again under its ``message_id`` is stored, sent to Rasa and answered once.

The chat page names every message and sends a retry under the same name. Whatever
died in between (the web process after storing the message, the Rasa server before
or after saving the turn), the retry finds out where the turn got to and finishes it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.events import BotUttered

from bot.turns import replies_after
from bot.web.keys import clock_key, transcript_key
from tests.web.conftest import FakeRasa, sign_in
from tests.web.test_faults import SHOPPERS, STRINGS, history

ID = "msg-0001-abcdef"


async def send(client: Any, text: str, message_id: str | None = ID) -> tuple[int, Any]:
    body: dict[str, Any] = {"text": text}
    if message_id is not None:
        body["message_id"] = message_id
    resp = await client.post("/api/messages", json=body)
    return resp.status, await resp.json()


def asked(fake: FakeRasa) -> list[str]:
    return [r["message"] for r in fake.requests]


class TestTheSameMessageTwice:
    @pytest.mark.parametrize(("customer", "language", "text"), SHOPPERS)
    async def test_a_retry_of_an_answered_message_gets_the_same_answer_and_nothing_new(
            self, client: Any, fake_rasa: FakeRasa, customer: str, language: str, text: str) -> None:
        await sign_in(client, customer)
        first = await send(client, text)
        again = await send(client, text)
        assert first == again and first[0] == 200
        assert [m["text"] for m in first[1]["messages"]] == [f"echo:{text}"]
        assert asked(fake_rasa) == [text] and fake_rasa.answered_again == []  # the stored answer, not Rasa's
        assert await history(client) == [("shopper", text), ("bot", f"echo:{text}")]

    async def test_different_ids_are_different_messages(self, client: Any, fake_rasa: FakeRasa) -> None:
        """Typing the same words again is a new message (a new id), answered again."""
        await sign_in(client, "C001")
        await send(client, "在吗", "msg-aaaaaaaa")
        await send(client, "在吗", "msg-bbbbbbbb")
        assert asked(fake_rasa) == ["在吗", "在吗"]
        assert len(await history(client)) == 4

    async def test_ids_belong_to_one_conversation(self, client: Any, aiohttp_client: Any,
                                                  fake_rasa: FakeRasa) -> None:
        """Another shopper's message under the same id is theirs, not a retry of this one."""
        other = await aiohttp_client(client.server.app)  # a second cookie jar on the same web service
        await sign_in(client, "C001")
        await sign_in(other, "C002")
        assert (await send(client, "我的订单到哪了"))[0] == 200
        status, body = await send(other, "where is my order")
        assert status == 200 and [m["text"] for m in body["messages"]] == ["echo:where is my order"]
        assert asked(fake_rasa) == ["我的订单到哪了", "where is my order"]

    @pytest.mark.parametrize("bad", ["short", "x" * 65, "has space!", "订单-订单-订单-订单", 12345678,
                                     ["msg-00000001"]])
    async def test_a_malformed_id_is_refused_before_anything_is_stored(
            self, client: Any, fake_rasa: FakeRasa, bad: Any) -> None:
        await sign_in(client, "C001")
        status, body = await send(client, "在吗", bad)
        assert status == 400 and body["error"]["code"] == "invalid_type" and body["error"]["field"] == "message_id"
        assert set(body["error"]["message"]) == {"zh", "en"}
        assert fake_rasa.requests == [] and await history(client) == []

    async def test_without_an_id_every_request_is_a_new_message(self, client: Any, fake_rasa: FakeRasa) -> None:
        """Older clients (and the API without ids) keep working; nothing can be matched for them."""
        await sign_in(client, "C002")
        await send(client, "hi", None)
        await send(client, "hi", None)
        assert asked(fake_rasa) == ["hi", "hi"]


class TestAProcessDiedMidTurn:
    @pytest.mark.parametrize(("customer", "language", "text"), SHOPPERS)
    async def test_rasa_died_after_saving_the_turn_its_answer_is_taken_from_the_tracker(
            self, client: Any, fake_rasa: FakeRasa, customer: str, language: str, text: str) -> None:
        """The turn is in the tracker store: the shopper gets its answer, and Rasa is not asked again."""
        await sign_in(client, customer)
        fake_rasa.drops = ["after_save"]
        status, body = await send(client, text)
        assert status == 200 and [m["text"] for m in body["messages"]] == [f"echo:{text}"]
        assert body["messages"][0]["buttons"] == [{"title": "是", "payload": "/affirm"}]
        assert asked(fake_rasa) == [text] and fake_rasa.answered_again == [text]
        assert await history(client) == [("shopper", text), ("bot", f"echo:{text}")]

    @pytest.mark.parametrize(("customer", "language", "text"), SHOPPERS)
    async def test_rasa_died_before_saving_the_turn_it_is_sent_once_more(
            self, client: Any, fake_rasa: FakeRasa, customer: str, language: str, text: str) -> None:
        """Nothing was saved: the turn is sent again, and the tracker holds it once."""
        await sign_in(client, customer)
        fake_rasa.drops = ["before_save"]
        status, body = await send(client, text)
        assert status == 200 and [m["text"] for m in body["messages"]] == [f"echo:{text}"]
        [conversation] = fake_rasa.tracker_of.values()
        assert [e["text"] for e in conversation if e["event"] == "user"] == [text]
        assert await history(client) == [("shopper", text), ("bot", f"echo:{text}")]

    @pytest.mark.parametrize(("customer", "language", "text"), SHOPPERS)
    async def test_rasa_dropping_the_resend_too_is_a_503_and_the_retry_finishes_the_turn(
            self, client: Any, fake_rasa: FakeRasa, customer: str, language: str, text: str) -> None:
        """Rasa drops the turn twice: a polite 503 (the message is kept); the page's retry
        stores nothing twice and Rasa records the turn once."""
        await sign_in(client, customer)
        fake_rasa.drops = ["before_save", "before_save"]
        status, body = await send(client, text)
        assert status == 503 and body["error"]["code"] == "rasa_unavailable"
        assert body["error"]["message"] == {lang: STRINGS[lang]["error.rasa_unavailable"] for lang in ("zh", "en")}
        assert fake_rasa.tracker_of == {} and await history(client) == [("shopper", text)]
        status, body = await send(client, text)
        assert status == 200 and [m["text"] for m in body["messages"]] == [f"echo:{text}"]
        [conversation] = fake_rasa.tracker_of.values()
        assert [e["text"] for e in conversation if e["event"] == "user"] == [text]
        assert await history(client) == [("shopper", text), ("bot", f"echo:{text}")]

    async def test_the_web_process_died_after_rasa_answered(self, client: Any, fake_rasa: FakeRasa) -> None:
        """The message is stored and Rasa has the turn, but the replies were never stored: the retry
        stores the tracker's replies, and Rasa is not asked again."""
        me = await sign_in(client, "C001")
        app = client.server.app
        app[transcript_key].append(me["conversation_id"], "shopper", "奶粉降价了", app[clock_key](), client_id=ID)
        fake_rasa.tracker_of[me["conversation_id"]] = [
            {"event": "user", "text": "奶粉降价了", "metadata": {"message_id": ID}},
            {"event": "bot", "text": "已为您申请保价 PP-1", "data": {}},
        ]
        status, body = await send(client, "奶粉降价了")
        assert status == 200 and [m["text"] for m in body["messages"]] == ["已为您申请保价 PP-1"]
        assert fake_rasa.requests == [] and fake_rasa.answered_again == ["奶粉降价了"]
        assert await history(client) == [("shopper", "奶粉降价了"), ("bot", "已为您申请保价 PP-1")]

    async def test_the_web_process_died_before_rasa_heard_of_it(self, client: Any, fake_rasa: FakeRasa) -> None:
        me = await sign_in(client, "C002")
        app = client.server.app
        app[transcript_key].append(me["conversation_id"], "shopper", "where is my order", app[clock_key](),
                                   client_id=ID)
        status, _ = await send(client, "where is my order")
        assert status == 200 and asked(fake_rasa) == ["where is my order"]
        assert await history(client) == [("shopper", "where is my order"), ("bot", "echo:where is my order")]


class TestRepliesFromTheTracker:
    """``replies_after`` rebuilds what Rasa's REST channel answered, message for message."""

    BOT_EVENTS = [
        BotUttered("您好！\n\n请问有什么可以帮您？"),
        BotUttered("Which order?", {"buttons": [{"title": "#1001", "payload": "/inform{\"order_id\":\"1001\"}"}]}),
        BotUttered("Pick one", {"quick_replies": [{"title": "Yes", "payload": "/affirm"}]}),
        BotUttered("已转人工", {"custom": {"handoff": {"status": "queued", "position": 2}}}),
        BotUttered(None, {"custom": {"card": {"order_id": "1001"}}}),
        BotUttered("See the picture", {"image": "https://example.com/a.png"}),
        BotUttered("Attached", {"attachment": "https://example.com/invoice.pdf"}),
        BotUttered("Text", {"image": "https://example.com/b.png", "attachment": "https://example.com/b.png"}),
        BotUttered("thanks", {}, {"utter_action": "utter_thanks"}),
    ]

    @pytest.mark.parametrize("event", BOT_EVENTS, ids=lambda e: repr(e.text)[:20])
    async def test_each_kind_of_bot_message_comes_back_as_rasa_sent_it(self, event: BotUttered) -> None:
        collector = CollectingOutputChannel()
        await collector.send_response("c1", event.message())
        events = [{"event": "user", "text": "hi", "metadata": {"message_id": ID}},
                  json.loads(json.dumps(event.as_dict()))]
        assert replies_after(events, ID, "c1") == collector.messages

    def test_only_the_turn_of_that_message(self) -> None:
        """Bot events before it or after the next user message are other turns; agents' lines are not the bot's."""
        events = [
            {"event": "user", "text": "a", "metadata": {"message_id": "m-1"}},
            {"event": "bot", "text": "reply a"},
            {"event": "user", "text": "b", "metadata": {"message_id": ID}},
            {"event": "action", "name": "action_order_status"},
            {"event": "bot", "text": "reply b"},
            {"event": "bot", "text": "agent says hi", "metadata": {"agent_id": "A01"}},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "c", "metadata": {"message_id": "m-3"}},
            {"event": "bot", "text": "reply c"},
        ]
        assert replies_after(events, ID, "c1") == [{"recipient_id": "c1", "text": "reply b"}]
        assert replies_after(events, "m-unknown", "c1") is None
        assert replies_after(events[:4], ID, "c1") == []  # a turn that said nothing (the bot is paused)
