"""PostgreSQL or Redis away for a few seconds, on the scale profile's real servers.

The stack reaches PostgreSQL (shop and Rasa's tracker store) and Redis (Rasa's lock
store and the web processes' live messages) through TCP relays the test cuts: every
connection drops and new ones are refused, as when a server restarts. Shoppers get a
polite "please try again" in their language, nothing is half-written, and the page's
retries (under the same ``message_id``, on the page's own schedule) record each turn
once and in order.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy.engine import make_url

from scripts.stack import SharedStores, Stack
from tests.e2e import test_scale
from tests.e2e.test_faults import STRINGS
from tests.e2e.test_scale_faults import Talk, answered, transcript
from tests.web.conftest import TcpProxy

PG_URL, REDIS_URL = test_scale.PG_URL, test_scale.REDIS_URL
RETRY_DELAYS_S = (1, 2, 4)  # chat.js RETRY_DELAYS_MS: the page sends a message up to 4 times under one id
stack = test_scale.stack  # started on this module's stores


class Relays:
    def __init__(self) -> None:
        pg, r = make_url(PG_URL), redis.Redis.from_url(REDIS_URL).connection_pool.connection_kwargs
        self.postgres = TcpProxy((pg.host or "127.0.0.1", pg.port or 5432))
        self.redis = TcpProxy((r.get("host", "127.0.0.1"), int(r.get("port", 6379))))


@pytest.fixture(scope="module")
def relays() -> Iterator[Relays]:
    test_scale.servers_or_skip()
    r = Relays()
    r.postgres.start()
    r.redis.start()
    yield r
    r.postgres.stop()
    r.redis.stop()


@pytest.fixture(scope="module")
def stores(relays: Relays) -> Iterator[SharedStores]:
    tag = secrets.token_hex(4)
    via = make_url(PG_URL).set(host="127.0.0.1", port=relays.postgres.port)
    s = SharedStores(database_url=via.set(database=f"shop_o{tag}").render_as_string(hide_password=False),
                     tracker_url=via.set(database=f"tracker_o{tag}").render_as_string(hide_password=False),
                     redis_url=f"redis://127.0.0.1:{relays.redis.port}/0", prefix=f"o{tag}")
    yield s
    s.drop()  # through the relays, which outlive this fixture


def as_the_page_retries(talk: Talk, text: str, message_id: str) -> list[dict[str, Any]]:
    """Send ``text`` under ``message_id`` as chat.js does: again after 1, 2 and 4 s while it gets a 503."""
    for delay in (*RETRY_DELAYS_S, None):
        resp = talk.me.send(text, message_id=message_id)
        if resp.status_code == 200:
            talk.said(text)
            return list(resp.json()["messages"])
        assert resp.status_code == 503, resp.text
        if delay is None:
            raise AssertionError(f"still 503 after the page's retries: {resp.text}")
        time.sleep(delay)
    raise AssertionError("unreachable")


def polite(resp: Any, code: str, language: str) -> None:
    """A 503 with the error's text in both languages (the page shows the shopper's)."""
    assert resp.status_code == 503, resp.text
    error = resp.json()["error"]
    assert error["code"] == code
    assert error["message"] == {lang: STRINGS[lang][f"error.{code}"] for lang in ("zh", "en")}
    assert error["message"][language]


SHOPPERS = [("C001", "zh", "我的冰箱怎么还没到？", "海尔"), ("C005", "en", "where is my washing machine?", "SF")]


def test_postgres_away_for_a_few_seconds(shopper: Any, stack: Stack, stores: SharedStores, relays: Relays) -> None:
    talks = [(Talk(shopper(c)), lang, text, fact) for c, lang, text, fact in SHOPPERS]
    for talk, lang, _, _ in talks:
        answered(talk.say("在吗" if lang == "zh" else "hello"), lang)
    before = [transcript(stores, talk.me.conversation_id) for talk, *_ in talks]
    ids = [uuid.uuid4().hex for _ in talks]

    relays.postgres.stop()  # shop and tracker store both away
    try:
        for (talk, lang, text, _), message_id in zip(talks, ids, strict=True):
            polite(talk.me.send(text, message_id=message_id), "database_unavailable", lang)
        time.sleep(3)  # a few seconds of outage
    finally:
        relays.postgres.start()
    assert [transcript(stores, talk.me.conversation_id) for talk, *_ in talks] == before  # nothing half-written

    for (talk, lang, text, fact), message_id in zip(talks, ids, strict=True):
        assert fact in answered(as_the_page_retries(talk, text, message_id), lang)
        assert transcript(stores, talk.me.conversation_id) == (talk.shown, talk.sent)  # once each, in order


def test_redis_away_is_a_clear_error_and_order_holds(shopper: Any, stack: Stack, stores: SharedStores,
                                                     relays: Relays) -> None:
    talks = [(Talk(shopper(c)), lang, text, fact) for c, lang, text, fact in SHOPPERS]
    for talk, lang, _, _ in talks:
        answered(talk.say("在吗" if lang == "zh" else "hello"), lang)
    before = [transcript(stores, talk.me.conversation_id) for talk, *_ in talks]
    ids = [uuid.uuid4().hex for _ in talks]

    relays.redis.stop()  # Rasa's locks and the live messages away
    try:
        time.sleep(0.5)  # the web processes notice their subscription dropped
        for (talk, lang, text, _), message_id in zip(talks, ids, strict=True):
            polite(talk.me.send(text, message_id=message_id), "hub_unavailable", lang)  # a hang fails the 60 s timeout
        time.sleep(2)
    finally:
        relays.redis.start()
    assert [transcript(stores, talk.me.conversation_id) for talk, *_ in talks] == before  # nothing written

    for (talk, lang, text, fact), message_id in zip(talks, ids, strict=True):
        assert fact in answered(as_the_page_retries(talk, text, message_id), lang)
        then = "谢谢" if lang == "zh" else "thanks"
        answered(talk.say(then), lang)
        shown, sent = transcript(stores, talk.me.conversation_id)
        assert (shown, sent) == (talk.shown, talk.sent)  # each turn once, in the order sent
        assert shown[-2:] == [unicodedata.normalize("NFKC", text), then]
