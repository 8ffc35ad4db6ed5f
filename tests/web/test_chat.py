"""The shopper's web API: sign-in, messages through Rasa, history, language, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.web.conftest import FakeRasa, sign_in


class TestSignIn:
    async def test_demo_customers_are_listed(self, client: Any) -> None:
        data = await (await client.get("/api/customers")).json()
        ids = [c["customer_id"] for c in data["customers"]]
        assert ids[:2] == ["C001", "C002"] and len(ids) == 10

    async def test_picking_a_customer_starts_a_session(self, client: Any) -> None:
        data = await sign_in(client, "C002")
        assert data["customer"]["name"] == "Emily Chen" and data["language"] == "en"
        me = await (await client.get("/api/session")).json()
        assert me["conversation_id"] == data["conversation_id"]

    @pytest.mark.parametrize("body", [{"customer_id": "C999"}, {"customer_id": "x' OR 1=1 --"}])
    async def test_unknown_customers_get_404_in_both_languages(self, client: Any, body: Any) -> None:
        resp = await client.post("/api/session", json=body)
        assert resp.status == 404
        error = (await resp.json())["error"]
        assert error["code"] == "customer_not_found" and error["message"]["zh"] and error["message"]["en"]

    async def test_no_session_is_401(self, client: Any) -> None:
        for method, path in [("GET", "/api/messages"), ("POST", "/api/messages"), ("GET", "/api/session")]:
            resp = await client.request(method, path, json={"text": "hi"})
            assert resp.status == 401, path
            assert (await resp.json())["error"]["code"] == "no_session"

    async def test_sign_out_ends_the_session(self, client: Any) -> None:
        await sign_in(client)
        assert (await client.delete("/api/session")).status == 204
        assert (await client.get("/api/session")).status == 401


class TestMessages:
    async def test_a_message_goes_to_rasa_with_the_sessions_identity(
            self, client: Any, fake_rasa: FakeRasa) -> None:
        session = await sign_in(client, "C001")
        resp = await client.post("/api/messages", json={"text": "我的订单到哪了\u200b"})
        assert resp.status == 200
        replies = (await resp.json())["messages"]
        assert replies[0]["text"] == "echo:我的订单到哪了" and replies[0]["role"] == "bot"
        sent = fake_rasa.requests[-1]
        assert sent["sender"] == session["conversation_id"]
        assert sent["metadata"] == {"customer_id": "C001", "language": "zh"}

    async def test_two_shoppers_never_share_a_conversation(self, client: Any, aiohttp_client: Any,
                                                           fake_rasa: FakeRasa) -> None:
        await sign_in(client, "C001")
        other = await aiohttp_client(client.server.app)
        await sign_in(other, "C002")
        await client.post("/api/messages", json={"text": "hi"})
        await other.post("/api/messages", json={"text": "hello"})
        senders = {r["sender"] for r in fake_rasa.requests}
        assert len(senders) == 2
        assert {r["metadata"]["customer_id"] for r in fake_rasa.requests} == {"C001", "C002"}

    async def test_history_keeps_both_sides_in_order(self, client: Any) -> None:
        await sign_in(client)
        await client.post("/api/messages", json={"text": "在吗"})
        await client.post("/api/messages", json={"text": "where is my order"})
        history = (await (await client.get("/api/messages")).json())["messages"]
        assert [(m["role"], m["text"]) for m in history] == [
            ("shopper", "在吗"), ("bot", "echo:在吗"),
            ("shopper", "where is my order"), ("bot", "echo:where is my order")]
        assert history[1]["buttons"] == [{"title": "是", "payload": "/affirm"}]

    async def test_a_quick_reply_sends_its_payload_and_shows_its_title(
            self, client: Any, fake_rasa: FakeRasa) -> None:
        await sign_in(client)
        payload = '/order_status{"order_id":"260312004417"}'
        resp = await client.post("/api/messages", json={"text": "订单状态", "payload": payload})
        assert resp.status == 200
        assert fake_rasa.requests[-1]["message"] == payload
        history = (await (await client.get("/api/messages")).json())["messages"]
        assert history[0]["text"] == "订单状态"

    async def test_the_chat_opening_triggers_the_greeting_turn(self, client: Any, fake_rasa: FakeRasa) -> None:
        await sign_in(client, "C002")
        resp = await client.post("/api/chat/open", json={"language": "en"})
        assert (await resp.json())["messages"][0]["text"] == "echo:/greet"
        history = (await (await client.get("/api/messages")).json())["messages"]
        assert [m["role"] for m in history] == ["bot"]

    async def test_the_language_toggle_tells_rasa(self, client: Any, fake_rasa: FakeRasa) -> None:
        await sign_in(client, "C001")
        assert (await client.post("/api/language", json={"language": "en"})).status == 204
        assert fake_rasa.requests[-1]["message"] == '/switch_language{"language": "en"}'
        assert fake_rasa.requests[-1]["metadata"]["language"] == "en"
        assert (await (await client.get("/api/session")).json())["language"] == "en"


class TestBadInput:
    """Bad input gets a 4xx with a bilingual JSON error; the conversation goes on."""

    @pytest.mark.parametrize(("body", "status", "code"), [
        ({"text": ""}, 400, "empty_message"),
        ({"text": "\u200b\u200b\u200b"}, 400, "empty_message"),
        ({"text": "\x00\x07"}, 400, "empty_message"),
        ({"text": "长" * 10_000}, 413, "message_too_long"),
        ({"text": 42}, 400, "invalid_type"),
        ({"text": None}, 400, "invalid_type"),
        ({}, 400, "invalid_type"),
        ({"text": "x", "payload": "/restart"}, 400, "invalid_payload"),
    ])
    async def test_bad_messages(self, client: Any, fake_rasa: FakeRasa, body: Any, status: int,
                                code: str) -> None:
        await sign_in(client)
        resp = await client.post("/api/messages", json=body)
        assert resp.status == status
        error = (await resp.json())["error"]
        assert error["code"] == code
        assert error["message"]["zh"] != code and error["message"]["en"] != code
        assert fake_rasa.requests == []
        ok = await client.post("/api/messages", json={"text": "还在吗"})
        assert ok.status == 200

    @pytest.mark.parametrize("raw", [b"", b"not json", b"[1,2]", b'"text"', b"\xff\xfe"])
    async def test_malformed_json(self, client: Any, raw: bytes) -> None:
        await sign_in(client)
        resp = await client.post("/api/messages", data=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_json"

    async def test_form_posts_are_refused(self, client: Any) -> None:
        await sign_in(client)
        resp = await client.post("/api/messages", data={"text": "hi"})
        assert resp.status == 415

    async def test_a_huge_body_is_refused(self, client: Any) -> None:
        await sign_in(client)
        resp = await client.post("/api/messages", data=json.dumps({"text": "x" * 200_000}),
                                 headers={"Content-Type": "application/json"})
        assert resp.status == 413

    async def test_emoji_only_asks_to_rephrase(self, client: Any, fake_rasa: FakeRasa) -> None:
        await sign_in(client)
        assert (await client.post("/api/messages", json={"text": "😡😡"})).status == 200
        assert fake_rasa.requests[-1]["message"] == "/nlu_fallback"

    async def test_rasa_down_is_503_and_the_message_is_kept(self, client: Any, fake_rasa: FakeRasa) -> None:
        await sign_in(client)
        fake_rasa.status = 500
        resp = await client.post("/api/messages", json={"text": "我的订单"})
        assert resp.status == 503
        assert (await resp.json())["error"]["code"] == "rasa_unavailable"
        history = (await (await client.get("/api/messages")).json())["messages"]
        assert [m["text"] for m in history] == ["我的订单"]

    async def test_bad_language(self, client: Any) -> None:
        await sign_in(client)
        resp = await client.post("/api/language", json={"language": "fr"})
        assert resp.status == 400

    async def test_unknown_api_path_is_json_404(self, client: Any) -> None:
        resp = await client.get("/api/nope")
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


class TestLive:
    async def test_replies_are_pushed_to_the_open_page(self, client: Any) -> None:
        await sign_in(client)
        ws = await client.ws_connect("/api/ws")
        await client.post("/api/messages", json={"text": "hello"})
        first = await ws.receive_json(timeout=5)
        second = await ws.receive_json(timeout=5)
        assert [first["message"]["role"], second["message"]["role"]] == ["shopper", "bot"]
        await ws.close()

    async def test_foreign_origins_are_refused(self, client: Any) -> None:
        await sign_in(client)
        resp = await client.get("/api/ws", headers={"Origin": "http://evil.example",
                                                     "Connection": "Upgrade", "Upgrade": "websocket",
                                                     "Sec-WebSocket-Version": "13",
                                                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        assert resp.status == 403
