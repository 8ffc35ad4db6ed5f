"""Specification of bot.store.tracker: conversations read back from Rasa's own SQL tracker store.

Rasa's ``SQLTrackerStore`` writes the database here, with the project's domain
and the scripted conversations of tests/studio/tracker_events.py, so the table
and rows are Rasa's, not a guess. Every test runs on SQLite and on PostgreSQL
(a schema per test; skipped when PostgreSQL is not reachable, except under CI).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.errors import InvalidData
from bot.settings import PROJECT_ROOT
from bot.store.tracker import TrackerReader, url_from_endpoint
from bot.studio.conversations import Conversation, ConversationNotFound, InvalidFilter
from tests.store.conftest import PG_URL, postgres_schema
from tests.studio.tracker_events import CONVERSATIONS, T0, Clock, action, as_dicts, extracted, listen, user

# The order the conversations are written in, which is also their time order.
WRITTEN = ["web-C001-zh-order", "web-C002-en-handoff", "web-C003-mixed", "web-C005-two-sessions"]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for Rasa's tracker store: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    with postgres_schema() as schema:
        yield make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)


@pytest.fixture
async def store(url: str, domain: Domain) -> AsyncIterator[SQLTrackerStore]:
    """Rasa's SQL tracker store on ``url``, holding the four scripted conversations."""
    rasa_store = SQLTrackerStore(domain, host=url)
    for sender in WRITTEN:
        await rasa_store.save(DialogueStateTracker.from_events(sender, CONVERSATIONS[sender](), slots=domain.slots))
    yield rasa_store
    rasa_store.engine.dispose()


@pytest.fixture
def reader(url: str, store: SQLTrackerStore) -> Iterator[TrackerReader]:
    r = TrackerReader(url)
    yield r
    r.close()


async def append(store: SQLTrackerStore, domain: Domain, sender: str, events: list[Event]) -> None:
    """Adds events the way Rasa does during a conversation: retrieve the session, update, save."""
    tracker = await store.retrieve(sender)
    assert tracker is not None
    for event in events:
        tracker.update(event, domain)
    await store.save(tracker)


class TestGet:
    """One sender's whole history, exactly as the pure core reads Rasa's events."""

    @pytest.mark.parametrize("sender", WRITTEN)
    def test_reads_back_what_rasa_stored(self, reader: TrackerReader, sender: str) -> None:
        assert reader.get(sender) == Conversation.from_events(sender, as_dicts(CONVERSATIONS[sender]()))

    def test_the_zh_order_question(self, reader: TrackerReader) -> None:
        c = reader.get("web-C001-zh-order")
        assert [(t.text, t.intent, t.language) for t in c.turns] == [
            ("/greet", "greet", "zh"), ("我的订单 260312004417 到哪了", "order_status", "zh"), ("谢谢", "thanks", "zh")]

    def test_both_sessions_of_a_sender_are_one_conversation(self, reader: TrackerReader) -> None:
        assert [t.session for t in reader.get("web-C005-two-sessions").turns] == [0, 0, 1, 1]

    def test_an_unknown_sender_is_conversation_not_found(self, reader: TrackerReader) -> None:
        with pytest.raises(ConversationNotFound) as caught:
            reader.get("web-C404")
        assert caught.value.sender_id == "web-C404"

    def test_a_row_that_is_not_json_is_invalid_data(self, reader: TrackerReader, store: SQLTrackerStore) -> None:
        with store.engine.begin() as c:
            c.execute(sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) "
                              "VALUES ('web-broken', 'user', 1.0, 'not json')"))
        with pytest.raises(InvalidData, match="web-broken"):
            reader.get("web-broken")


class TestRecent:
    """The most recently active senders, newest first, in two queries."""

    @pytest.mark.parametrize(("limit", "senders"), [
        (1, ["web-C005-two-sessions"]),
        (2, ["web-C005-two-sessions", "web-C003-mixed"]),
        (50, ["web-C005-two-sessions", "web-C003-mixed", "web-C002-en-handoff", "web-C001-zh-order"]),
    ])
    def test_newest_first(self, reader: TrackerReader, limit: int, senders: list[str]) -> None:
        assert [c.sender_id for c in reader.recent(limit)] == senders

    def test_each_conversation_is_whole(self, reader: TrackerReader) -> None:
        assert reader.recent(50) == [reader.get(s) for s in reversed(WRITTEN)]

    @pytest.mark.parametrize(("since", "senders"), [
        # since is inclusive on the last activity, as ConversationFilter.since
        ("last_at", ["web-C005-two-sessions", "web-C003-mixed"]),
        ("last_at+1us", ["web-C005-two-sessions"]),
    ])
    def test_since_is_inclusive(self, reader: TrackerReader, since: str, senders: list[str]) -> None:
        last_at = reader.get("web-C003-mixed").last_at
        when = last_at + (timedelta(microseconds=1) if since.endswith("+1us") else timedelta())
        assert [c.sender_id for c in reader.recent(50, since=when)] == senders

    async def test_a_sender_who_writes_again_comes_first(self, reader: TrackerReader, store: SQLTrackerStore,
                                                         domain: Domain) -> None:
        """Rasa appends to the sender's rows; the last written event decides the order."""
        c = Clock(T0 + timedelta(hours=6))
        await append(store, domain, "web-C001-zh-order", [
            user(c, "发票怎么开", "invoice", 0.66, detected="zh"), *extracted(c, "zh"),
            action(c, "action_check_invoice"), listen(c)])
        newest = reader.recent(1)[0]
        assert newest.sender_id == "web-C001-zh-order"
        assert [(t.index, t.text) for t in newest.turns][-1] == (3, "发票怎么开")

    async def test_an_empty_store_has_no_conversations(self, url: str, domain: Domain) -> None:
        rasa_store = SQLTrackerStore(domain, host=url)  # creates the table
        empty = TrackerReader(url)
        try:
            assert empty.recent(10) == []
        finally:
            empty.close()
            rasa_store.engine.dispose()

    @pytest.mark.parametrize(("limit", "since", "field"), [
        (0, None, "limit"),
        (-1, None, "limit"),
        (True, None, "limit"),
        (10, T0.replace(tzinfo=None), "since"),
    ])
    def test_bad_arguments_are_invalid_filters(self, reader: TrackerReader, limit: Any, since: Any,
                                               field: str) -> None:
        with pytest.raises(InvalidFilter) as caught:
            reader.recent(limit, since=since)
        assert caught.value.field == field


class TestUrlFromEndpoint:
    """The tracker store URL, from endpoints.yml's ``tracker_store`` section."""

    @pytest.mark.parametrize(("section", "url"), [
        ({"type": "SQL", "dialect": "sqlite", "db": "var/tracker.db"}, "sqlite:////srv/shop/var/tracker.db"),
        ({"type": "sql", "dialect": "sqlite", "db": "/data/tracker.db"}, "sqlite:////data/tracker.db"),
        ({"type": "SQL", "dialect": "postgresql", "host": "db", "port": 5432, "db": "rasa", "username": "rasa",
          "password": "s3cret", "query": {"options": "-csearch_path=tracker"}},
         "postgresql://rasa:s3cret@db:5432/rasa?options=-csearch_path%3Dtracker"),
        ({"type": "SQL", "host": "postgresql://rasa@db/rasa", "db": "ignored"}, "postgresql://rasa@db/rasa"),
    ])
    def test_url(self, section: dict[str, Any], url: str) -> None:
        assert url_from_endpoint(section, Path("/srv/shop")) == url

    def test_the_projects_endpoints(self) -> None:
        """endpoints.yml's store is var/tracker.db under the project."""
        import yaml  # noqa: PLC0415 - only this test reads the file

        section = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text("utf-8"))["tracker_store"]
        assert url_from_endpoint(section, PROJECT_ROOT) == f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"

    @pytest.mark.parametrize("section", [{"type": "redis", "url": "localhost"}, {}])
    def test_only_sql_stores(self, section: dict[str, Any]) -> None:
        with pytest.raises(InvalidData):
            url_from_endpoint(section, Path("/srv/shop"))


def test_the_table_is_rasas(url: str, store: SQLTrackerStore) -> None:
    """The columns read here are in Rasa's table, and sender_id is indexed."""
    inspector = sa.inspect(store.engine)
    assert {"id", "sender_id", "type_name", "timestamp", "data"} <= {c["name"] for c in inspector.get_columns("events")}
    assert any(ix["column_names"] == ["sender_id"] for ix in inspector.get_indexes("events"))


def test_slot_set_keeps_rasas_shape(domain: Domain) -> None:
    """The ``slot`` rows carry ``name`` and ``value`` (rasa/shared/core/events.py SlotSet.as_dict)."""
    assert SlotSet("language", "zh", timestamp=1.0).as_dict() == {
        "event": "slot", "timestamp": 1.0, "name": "language", "value": "zh"}
    assert ActionExecuted("action_handoff", timestamp=1.0).as_dict()["name"] == "action_handoff"
