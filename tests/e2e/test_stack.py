"""The whole assistant over HTTP: real Rasa model, real actions, real database."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import requests

from scripts.stack import Stack

HAN = re.compile(r"[\u4e00-\u9fff]")


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)


def is_chinese(text: str) -> bool:
    return len(HAN.findall(text)) > 5


class TestLanguages:
    def test_a_chinese_question_gets_a_chinese_answer_from_real_data(self, shopper: Any) -> None:
        me = shopper("C001")
        reply = texts(me.say("我的冰箱怎么还没到？"))
        assert is_chinese(reply)
        assert "海尔" in reply or "超过承诺" in reply

    def test_an_english_question_gets_an_english_answer(self, shopper: Any) -> None:
        me = shopper("C005")
        reply = texts(me.say("where is my washing machine? show me the tracking"))
        assert not is_chinese(reply.replace("广州", "").replace("武汉", ""))
        assert "SF" in reply or "tracking" in reply.lower()

    def test_a_mixed_question_is_answered_in_its_dominant_language(self, shopper: Any) -> None:
        me = shopper("C004")
        reply = texts(me.say("我的iPhone 15订单什么时候到?"))
        assert is_chinese(reply)
        assert "iPhone" in reply

    def test_the_shopper_can_switch_language(self, shopper: Any) -> None:
        me = shopper("C001")
        assert not is_chinese(texts(me.say("English please")))
        assert not is_chinese(texts(me.say("我的订单到哪了")).replace("海尔十字门冰箱", ""))
        assert is_chinese(texts(me.say("请说中文")))


class TestPriceProtectionThroughTheChat:
    def test_the_greeting_offers_the_drop_and_one_tap_files_exactly_one_claim(self, shopper: Any,
                                                                             stack: Stack) -> None:
        me = shopper("C008")
        opening = me.open()
        buttons = [b for m in opening for b in m["buttons"] if b["payload"].startswith("/price_protection")]
        assert buttons, texts(opening)
        reply = texts(me.say(buttons[0]["title"], buttons[0]["payload"]))
        assert "90.00" in reply and "329.00" in reply and "PP-" in reply
        again = texts(me.say("奶粉降价了，能保价吗？"))
        assert "PP-" in again
        with sqlite3.connect(stack.var_dir / "shop.db") as db:
            count, total = db.execute("SELECT COUNT(*), SUM(amount) FROM claims WHERE customer_id='C008'").fetchone()
        assert (count, total) == (1, 9000)


class TestBadInputOnTheRealStack:
    def test_bad_input_is_refused_and_the_conversation_goes_on(self, shopper: Any, stack: Stack) -> None:
        me = shopper("C003")
        for body, status in [({"text": "长" * 10_000}, 413), ({"text": "\u200b\u200b"}, 400),
                             ({"text": 5}, 400)]:
            assert me.http.post(f"{stack.url}/api/messages", json=body, timeout=10).status_code == status
        reply = me.say("😀😀😀")
        assert reply and reply[0]["role"] == "bot"
        assert is_chinese(texts(me.say("我的订单状态")))

    def test_sql_looking_order_ids_find_nothing(self, shopper: Any) -> None:
        me = shopper("C001")
        reply = texts(me.say("订单 260312004417' OR '1'='1 到哪了"))
        assert "Emily" not in reply

    def test_rasa_is_bound_to_localhost_and_its_api_needs_the_token(self, stack: Stack) -> None:
        port = stack.rasa_ports[0]
        assert requests.get(f"http://127.0.0.1:{port}/status", timeout=5).status_code == 401
        ok = requests.get(f"http://127.0.0.1:{port}/status", params={"token": stack.token}, timeout=5)
        assert ok.status_code == 200
