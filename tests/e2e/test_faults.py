"""Faults on the real stack: the action server dies mid-conversation, and comes back."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from bot.web.handoff import ASK_HUMAN
from bot.web.keys import STATIC
from scripts.stack import Stack
from tests.e2e.test_handoff import history
from tests.e2e.test_stack import is_chinese, texts

STRINGS = json.loads((STATIC / "i18n.json").read_text("utf-8"))


def open_tickets(stack: Stack, conversation_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(stack.var_dir / "shop.db") as db:
        return [(r[0], json.loads(r[1])["language"]) for r in db.execute(
            "SELECT ticket_id, data FROM tickets WHERE conversation_id=? AND status!='resolved'",
            (conversation_id,))]


def test_the_action_server_dies_and_comes_back(shopper: Any, stack: Stack) -> None:
    zh, en = shopper("C001"), shopper("C005")
    assert "海尔" in texts(zh.say("我的冰箱怎么还没到？"))
    assert "SF" in texts(en.say("where is my washing machine? show me the tracking"))
    others = {name: p.pid for name, p in stack.procs.items() if name != "actions"}

    stack.kill("actions")
    try:
        for me, language, text in [(zh, "zh", "我的订单到哪了"), (en, "en", "where is my order")]:
            [reply] = me.say(text)
            assert reply["text"] == STRINGS[language]["cannot_look_up"]
            assert reply["buttons"] == [{"title": STRINGS[language]["offer_human"], "payload": ASK_HUMAN}]
            assert [(m["role"], m["text"]) for m in history(me)][-2:] == [("shopper", text), ("bot", reply["text"])]

        title = STRINGS["en"]["offer_human"]
        [opened] = en.say(title, ASK_HUMAN)
        [(ticket_id, language)] = open_tickets(stack, en.conversation_id)
        assert language == "en" and ticket_id in opened["text"] and not is_chinese(opened["text"])
        assert open_tickets(stack, zh.conversation_id) == []
    finally:
        stack.restart("actions")
    assert {name: p.pid for name, p in stack.procs.items() if name != "actions"} == others  # nothing else restarted

    answer = texts(zh.say("我的订单到哪了"))
    assert is_chinese(answer) and STRINGS["zh"]["cannot_look_up"] not in answer and "海尔" in answer
    answer = texts(en.say("where is my washing machine? show me the tracking"))
    assert "SF" in answer and STRINGS["en"]["cannot_look_up"] not in answer
    assert len(open_tickets(stack, en.conversation_id)) == 1  # the ticket waits for an agent, once
