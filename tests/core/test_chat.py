"""What a shopper may send: the front door's rules, before anything reaches Rasa."""

from __future__ import annotations

import pytest

from bot.chat import MessageRejected, from_rasa, prepare

INTENTS = {"order_status", "affirm", "switch_language"}


class TestPrepare:
    @pytest.mark.parametrize(("text", "sent"), [
        ("我的订单到哪了", "我的订单到哪了"),
        ("where is my order", "where is my order"),
        ("我的iPhone 15订单什么时候到?", "我的iPhone 15订单什么时候到?"),
        ("  在吗\u200b\u200b ", "在吗"),
        ("ｗｈｅｒｅ　ｉｓ　ｍｙ　ｏｒｄｅｒ", "where is my order"),
        ("/ask_human", "ask_human"),  # typed text cannot smuggle an intent
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # shown as text, never HTML
        ("260312004417' OR '1'='1", "260312004417' OR '1'='1"),
    ])
    def test_typed_text_is_normalised(self, text: str, sent: str) -> None:
        assert prepare(text, None, INTENTS, 1000).sent == sent

    @pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b\u200b", "\x00\x01\x02", "/", "\ufeff"])
    def test_empty_after_normalising_is_rejected(self, text: str) -> None:
        with pytest.raises(MessageRejected, match="empty_message"):
            prepare(text, None, INTENTS, 1000)

    @pytest.mark.parametrize("text", ["👍👍👍", "???", "😡", "……"])
    def test_content_free_text_asks_the_shopper_to_rephrase(self, text: str) -> None:
        assert prepare(text, None, INTENTS, 1000).sent == "/nlu_fallback"

    @pytest.mark.parametrize("size", [1001, 10_000, 100_000])
    def test_long_messages_are_refused_before_rasa(self, size: int) -> None:
        with pytest.raises(MessageRejected, match="message_too_long"):
            prepare("订" * size, None, INTENTS, 1000)

    def test_exactly_the_limit_passes(self) -> None:
        assert len(prepare("a" * 1000, None, INTENTS, 1000).sent) == 1000

    @pytest.mark.parametrize("value", [123, ["a"], {"a": 1}, True])
    def test_wrong_types_are_refused(self, value: object) -> None:
        with pytest.raises(MessageRejected, match="invalid_type"):
            prepare(value, None, INTENTS, 1000)

    @pytest.mark.parametrize("payload", [
        '/order_status{"order_id":"260312004417"}', "/affirm", '/switch_language{"language":"en"}'])
    def test_button_payloads_for_known_intents_pass(self, payload: str) -> None:
        assert prepare("订单", payload, INTENTS, 1000).sent == payload

    @pytest.mark.parametrize("payload", [
        "/restart", "/unknown_intent", "order_status", '/order_status{"order_id":', '/order_status["x"]',
        '/order_status{"order_id":{"nested":1}}', 42])
    def test_bad_payloads_are_refused(self, payload: object) -> None:
        with pytest.raises(MessageRejected):
            prepare("x", payload, INTENTS, 1000)


class TestFromRasa:
    def test_text_buttons_and_cards_are_kept_and_empty_messages_dropped(self) -> None:
        out = from_rasa([
            {"recipient_id": "s", "text": "您好", "buttons": [{"title": "是", "payload": "/affirm"}]},
            {"recipient_id": "s", "custom": {"card": {"type": "order", "order_id": "1"}}},
            {"recipient_id": "s"},
            "garbage",
        ])
        assert out == [("您好", ({"title": "是", "payload": "/affirm"},), None),
                       ("", (), {"type": "order", "order_id": "1"})]
