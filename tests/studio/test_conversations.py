"""Specification of bot.studio.conversations: Rasa events as turns, review flags, filters and test stories.

The four conversations are scripted with Rasa's own event classes in
tests/studio/tracker_events.py, in the order a running stack stores them:

* ``web-C001-zh-order``: a button greeting, "我的订单 260312004417 到哪了" (with
  an order id entity), "谢谢";
* ``web-C002-en-handoff``: "my blender smells like smoke??" (nlu_fallback at
  0.45), "I want to talk to a real person" (handoff and pause), an agent's
  message, "ok thanks" while paused, the resume, a 5-star rating button;
* ``web-C003-mixed``: "我的iPhone 15订单什么时候到?" (answered in zh), then
  "where is my 快递" (answered in en);
* ``web-C005-two-sessions``: a confirmed cancel, then a new session that
  changes an address through ``address_form``.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from ruamel.yaml import YAML

from bot.errors import InvalidData
from bot.studio.conversations import (
    FALLBACK_ACTIONS,
    HANDOFF_ACTIONS,
    LANGUAGE_SLOT,
    STORY_SLOTS,
    Conversation,
    ConversationFilter,
    EmptyStory,
    Entity,
    InvalidFilter,
    InvalidStoryName,
    Turn,
    TurnNotFound,
    annotate,
    to_test_story,
)
from tests.studio.tracker_events import CONVERSATIONS, T0, Clock, action, as_dicts, extracted, listen, user

ROOT = Path(__file__).resolve().parents[2]
US = timedelta(microseconds=1)


def conversation(sender_id: str) -> Conversation:
    return Conversation.from_events(sender_id, as_dicts(CONVERSATIONS[sender_id]()))


def one_turn(text: str, intent: str | None = "greet", entities: tuple[Entity, ...] = (),
             language: str = "zh") -> Conversation:
    """A conversation of one message followed by one action, for story-writing rows."""
    turn = Turn(0, T0, text, intent, 0.9, entities, language, None, (), (), 0, False)  # type: ignore[arg-type]
    return Conversation("s", T0, T0, (turn,))


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def read_story(domain: Domain, text: str) -> list[tuple[Any, ...]]:
    """Reads a test story as Rasa does, with no warnings allowed, into comparable rows."""
    YAML(typ="safe", pure=True).load(text)  # plain YAML 1.2 first
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stories = YAMLStoryReader(domain, source_name="tests/test_studio_stories.yml").read_from_string(text)
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []
    assert len(stories) == 1
    rows: list[tuple[Any, ...]] = []
    for event in stories[0].events:
        if isinstance(event, UserUttered):
            entities = tuple((e["entity"], e["value"], e.get("start"), e.get("end")) for e in event.entities)
            rows.append(("user", event.text, event.intent_name, *((entities,) if entities else ())))
        elif isinstance(event, ActionExecuted):
            rows.append(("action", event.action_name))
        elif isinstance(event, SlotSet):
            rows.append(("slot", event.key, event.value))
        elif isinstance(event, ActiveLoop):
            rows.append(("loop", event.name))
    return rows


class TestFromEvents:
    """A sender's events become one conversation of turns, with the flags the console filters on."""

    @pytest.mark.parametrize(("sender", "language", "languages", "fallback", "handoff", "min_confidence", "turns"), [
        ("web-C001-zh-order", "zh", {"zh"}, False, False, 0.93, 3),
        ("web-C002-en-handoff", "en", {"en"}, True, True, 0.45, 4),
        ("web-C003-mixed", "mixed", {"zh", "en"}, False, False, 0.62, 2),
        ("web-C005-two-sessions", "zh", {"zh"}, False, False, 0.74, 4),
    ])
    def test_flags(self, sender: str, language: str, languages: set[str], fallback: bool, handoff: bool,
                   min_confidence: float, turns: int) -> None:
        """Language, fallback, handoff and the lowest confidence are read off the turns."""
        c = conversation(sender)
        assert (c.sender_id, c.language, set(c.languages), c.fallback, c.handoff, c.min_confidence, len(c.turns)) \
            == (sender, language, languages, fallback, handoff, min_confidence, turns)

    @pytest.mark.parametrize(("sender", "index", "text", "intent", "confidence", "language", "detected",
                              "session", "paused"), [
        ("web-C001-zh-order", 0, "/greet", "greet", 1.0, "zh", None, 0, False),
        ("web-C001-zh-order", 1, "我的订单 260312004417 到哪了", "order_status", 0.93, "zh", "zh", 0, False),
        ("web-C002-en-handoff", 0, "my blender smells like smoke??", "nlu_fallback", 0.45, "en", "en", 0, False),
        ("web-C002-en-handoff", 2, "ok thanks", "thanks", 0.91, "en", "en", 0, True),
        ("web-C002-en-handoff", 3, '/rate{"rating":"5"}', "rate", 1.0, "en", None, 0, False),
        ("web-C003-mixed", 0, "我的iPhone 15订单什么时候到?", "delivery_time", 0.88, "zh", "mixed", 0, False),
        ("web-C003-mixed", 1, "where is my 快递", "track_shipment", 0.62, "en", "mixed", 0, False),
        ("web-C005-two-sessions", 1, "确认", "affirm", 0.9, "zh", "zh", 0, False),
        ("web-C005-two-sessions", 2, "我要改地址", "change_address", 0.81, "zh", "zh", 1, False),
    ])
    def test_turns(self, sender: str, index: int, text: str, intent: str, confidence: float, language: str,
                   detected: str | None, session: int, paused: bool) -> None:
        """Each shopper message keeps its text, intent, the language it is answered in, and what the detector saw."""
        t = conversation(sender).turn(index)
        assert (t.index, t.text, t.intent, t.confidence, t.language, t.detected, t.session, t.paused) \
            == (index, text, intent, confidence, language, detected, session, paused)

    def test_what_followed_a_message(self) -> None:
        """The actions, the shopper-visible texts and the slots after a message are its steps, in order."""
        t = conversation("web-C001-zh-order").turn(1)
        assert t.actions == ("action_order_status", "action_listen")
        assert t.bot_texts == ("订单 260312004417 已发货。",)
        assert [(s.kind, s.name) for s in t.steps] == [
            ("slot", "language"), ("slot", "language_choice"), ("slot", "customer_id"),
            ("action", "action_order_status"), ("utterance", "utter_order_status_shipped"),
            ("slot", "order_id"), ("action", "action_listen")]
        assert t.entities == (Entity("order_id", "260312004417", 5, 17, extractor="RegexEntityExtractor"),)
        assert t.ranking == (("order_status", 0.93), ("track_shipment", 0.05))

    def test_fallback_and_handoff_are_marked_on_their_turns(self) -> None:
        """nlu_fallback and action_two_guesses mark a fallback; action_handoff and the pause mark the handoff."""
        c = conversation("web-C002-en-handoff")
        assert [(t.fallback, t.handoff) for t in c.turns] == [(True, False), (False, True), (False, False),
                                                              (False, False)]

    def test_an_agents_message_names_the_agent(self) -> None:
        """A message typed by an agent is a step with the agent's id and no response name."""
        steps = conversation("web-C002-en-handoff").turn(1).steps
        agent = [s for s in steps if s.agent_id]
        assert [(s.kind, s.name, s.text, s.agent_id) for s in agent] == [
            ("utterance", None, "Hi, I'm Tom. Let me check your blender.", "A02")]

    def test_times_are_utc_and_span_every_event(self) -> None:
        """started_at is the session start, last_at the last event; both timezone-aware UTC."""
        c = conversation("web-C001-zh-order")
        assert c.started_at == T0 + timedelta(seconds=1)
        assert c.last_at == datetime.fromtimestamp(CONVERSATIONS["web-C001-zh-order"]()[-1].timestamp, tz=UTC)
        assert c.started_at.tzinfo is UTC and c.turns[0].at.tzinfo is UTC

    def test_sessions_are_kept_inside_one_conversation(self) -> None:
        """A new Rasa session is a step of the last turn before it, and numbers the turns after it."""
        c = conversation("web-C005-two-sessions")
        assert [t.session for t in c.turns] == [0, 0, 1, 1]
        assert "session" in [s.kind for s in c.turn(1).steps]
        assert [s.kind for s in c.opening][:3] == ["slot", "action", "session"]

    @pytest.mark.parametrize(("messages", "languages"), [
        # No language slot was ever set: each message is placed by its own text, like the bot does.
        ([("where is my order", "en"), ("我的快递呢", "zh")], ["en", "zh"]),
        ([("我的订单到哪了", "zh"), ("260312004417", "unknown")], ["zh", "zh"]),
        ([("my 快递 is late", "mixed")], ["en"]),
        ([("👍", "unknown")], ["zh"]),
    ])
    def test_without_a_language_slot_the_text_decides(self, messages: list[tuple[str, str]],
                                                      languages: list[str]) -> None:
        """Without the slot, bot.language.reply_language places the message (previous turn, then zh)."""
        c = Clock(T0)
        events = []
        for text, detected in messages:
            events += [user(c, text, "inform", 0.8, detected=detected), action(c, "action_inform"), listen(c)]
        assert [t.language for t in Conversation.from_events("s", as_dicts(events)).turns] == languages

    def test_the_slot_set_for_the_message_wins_over_its_text(self) -> None:
        """"ok" after a zh turn is answered in zh: the slot says so though the text is English."""
        c = Clock(T0)
        events = [user(c, "我的订单到哪了", "order_status", 0.9, detected="zh"), *extracted(c, "zh"),
                  user(c, "ok", "affirm", 0.7, detected="en"), *extracted(c, "zh")]
        assert [t.language for t in Conversation.from_events("s", as_dicts(events)).turns] == ["zh", "zh"]

    def test_unknown_event_types_are_skipped(self) -> None:
        """user_featurization, followup or reminders change nothing the console shows."""
        events = [{"event": "user", "timestamp": 1.0, "text": "hi", "parse_data": {"intent": {"name": "greet"}}},
                  {"event": "user_featurization", "timestamp": 2.0, "use_text_for_featurization": False},
                  {"event": "followup", "timestamp": 3.0, "name": "action_handoff"}]
        c = Conversation.from_events("s", events)
        assert c.turns[0].steps == () and c.turns[0].confidence is None and not c.handoff

    @pytest.mark.parametrize("events", [
        [],
        [{"event": "user", "text": "no timestamp"}],
        [{"event": "user", "timestamp": "yesterday"}],
        ["not an event"],
        [{"event": "user", "timestamp": 1.0, "parse_data": {"entities": [{"entity": "x", "start": "five"}]}}],
    ])
    def test_events_that_are_not_rasas_are_invalid_data(self, events: list[Any]) -> None:
        """A conversation needs at least one event dict with an epoch timestamp."""
        with pytest.raises(InvalidData):
            Conversation.from_events("s", events)

    @pytest.mark.parametrize("sender", sorted(CONVERSATIONS))
    def test_json_round_trip(self, sender: str) -> None:
        """to_json gives the web everything; from_json reads it back to an equal conversation."""
        c = conversation(sender)
        data = c.to_json()
        assert Conversation.from_json(data) == c
        assert {k: data[k] for k in ("language", "fallback", "handoff", "min_confidence")} == {
            "language": c.language, "fallback": c.fallback, "handoff": c.handoff, "min_confidence": c.min_confidence}
        assert c.summary()["turn_count"] == len(c.turns)

    def test_a_missing_turn_is_turn_not_found(self) -> None:
        with pytest.raises(TurnNotFound) as caught:
            conversation("web-C003-mixed").turn(2)
        assert caught.value.facts == {"sender_id": "web-C003-mixed", "index": 2}


class TestConversationFilter:
    """The console's filters, each on its own and at its boundaries."""

    @pytest.mark.parametrize(("fields", "senders"), [
        ({}, ["web-C001-zh-order", "web-C002-en-handoff", "web-C003-mixed", "web-C005-two-sessions"]),
        ({"language": "zh"}, ["web-C001-zh-order", "web-C003-mixed", "web-C005-two-sessions"]),
        ({"language": "en"}, ["web-C002-en-handoff", "web-C003-mixed"]),
        ({"language": "mixed"}, ["web-C003-mixed"]),
        ({"fallback": True}, ["web-C002-en-handoff"]),
        ({"fallback": False}, ["web-C001-zh-order", "web-C003-mixed", "web-C005-two-sessions"]),
        ({"handoff": True}, ["web-C002-en-handoff"]),
        ({"handoff": False, "language": "zh"}, ["web-C001-zh-order", "web-C003-mixed", "web-C005-two-sessions"]),
        ({"low_confidence_below": 0.7}, ["web-C002-en-handoff", "web-C003-mixed"]),
        ({"low_confidence_below": 0.7, "language": "en", "handoff": False}, ["web-C003-mixed"]),
        ({"since": T0 + timedelta(hours=1)}, ["web-C002-en-handoff", "web-C003-mixed", "web-C005-two-sessions"]),
        ({"until": T0 + timedelta(hours=2)}, ["web-C001-zh-order", "web-C002-en-handoff"]),
    ])
    def test_matches(self, fields: dict[str, Any], senders: list[str]) -> None:
        """A field left None does not filter; set fields must all hold."""
        f = ConversationFilter(**fields)
        assert [s for s in sorted(CONVERSATIONS) if f.matches(conversation(s))] == senders

    @pytest.mark.parametrize(("sender", "since", "until", "expected"), [
        # since is inclusive on the last activity ...
        ("web-C001-zh-order", "last_at", None, True),
        ("web-C001-zh-order", "last_at+1us", None, False),
        ("web-C002-en-handoff", "last_at", None, True),
        # ... until is exclusive on the start.
        ("web-C001-zh-order", None, "started_at", False),
        ("web-C001-zh-order", None, "started_at+1us", True),
        ("web-C002-en-handoff", None, "started_at", False),
        # A conversation overlapping the window is in, wherever it starts or ends.
        ("web-C005-two-sessions", "started_at+1us", "last_at", True),
    ])
    def test_time_window_is_half_open(self, sender: str, since: str | None, until: str | None,
                                      expected: bool) -> None:
        """[since, until): active at or after since, started before until."""
        c = conversation(sender)

        def at(name: str | None) -> datetime | None:
            if name is None:
                return None
            base, _, plus = name.partition("+")
            return getattr(c, base) + (US if plus else timedelta())

        assert ConversationFilter(since=at(since), until=at(until)).matches(c) is expected

    @pytest.mark.parametrize(("threshold", "sender", "expected"), [
        (0.45, "web-C002-en-handoff", False),  # the lowest is exactly 0.45: not below it
        (0.4501, "web-C002-en-handoff", True),
        (0.93, "web-C001-zh-order", False),
        (0.931, "web-C001-zh-order", True),
        (1.0, "web-C003-mixed", True),
        (0.0, "web-C003-mixed", False),
    ])
    def test_low_confidence_is_strictly_below(self, threshold: float, sender: str, expected: bool) -> None:
        assert ConversationFilter(low_confidence_below=threshold).matches(conversation(sender)) is expected

    def test_a_conversation_without_scores_is_never_low_confidence(self) -> None:
        c = Conversation.from_events("s", [{"event": "user", "timestamp": 1.0, "text": "hi"}])
        assert not ConversationFilter(low_confidence_below=1.0).matches(c)

    @pytest.mark.parametrize(("query", "expected"), [
        ({}, ConversationFilter()),
        ({"language": "zh", "fallback": "true", "handoff": "0", "low_confidence_below": "0.6"},
         ConversationFilter("zh", True, False, 0.6)),
        ({"language": "", "fallback": None, "since": "2026-11-23T00:00:00+08:00", "until": "2026-11-24T00:00:00Z"},
         ConversationFilter(since=datetime(2026, 11, 22, 16, tzinfo=UTC), until=datetime(2026, 11, 24, tzinfo=UTC))),
        ({"language": "mixed", "handoff": True, "low_confidence_below": 1},
         ConversationFilter("mixed", None, True, 1.0)),
    ])
    def test_from_json_reads_query_strings(self, query: dict[str, Any], expected: ConversationFilter) -> None:
        """Query strings and JSON values both work; empty values do not filter."""
        f = ConversationFilter.from_json(query)
        assert f == expected
        assert ConversationFilter.from_json(f.to_json()) == f

    @pytest.mark.parametrize(("query", "field"), [
        ({"language": "fr"}, "language"),
        ({"language": "中文"}, "language"),
        ({"fallback": "maybe"}, "fallback"),
        ({"handoff": "是"}, "handoff"),
        ({"low_confidence_below": "high"}, "low_confidence_below"),
        ({"low_confidence_below": "1.5"}, "low_confidence_below"),
        ({"low_confidence_below": True}, "low_confidence_below"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-23T00:00:00"}, "since"),  # no zone: ambiguous between Shanghai and UTC
        ({"until": "2026-11-24"}, "until"),
    ])
    def test_from_json_rejects(self, query: dict[str, Any], field: str) -> None:
        """A bad value is an InvalidFilter naming the field, for a 400 with a zh/en message."""
        with pytest.raises(InvalidFilter) as caught:
            ConversationFilter.from_json(query)
        assert caught.value.field == field


class TestTestStory:
    """A conversation saved as a Rasa test story reads back through Rasa's own reader."""

    def test_the_zh_order_question(self) -> None:
        """The layout is the project's: a `|` block per message, entities annotated, internal actions left out."""
        assert to_test_story(conversation("web-C001-zh-order"), "zh order question") == (
            'version: "3.1"\n'
            "stories:\n"
            '- story: "zh order question"\n'
            "  steps:\n"
            "  - user: |\n"
            "      /greet\n"
            "    intent: greet\n"
            "  - action: action_greet\n"
            "  - user: |\n"
            "      我的订单 [260312004417](order_id) 到哪了\n"
            "    intent: order_status\n"
            "  - action: action_order_status\n"
            "  - user: |\n"
            "      谢谢\n"
            "    intent: thanks\n"
            "  - action: utter_thanks\n"
        )

    @pytest.mark.parametrize(("sender", "rows"), [
        ("web-C001-zh-order", [
            ("user", "/greet", "greet"), ("action", "action_greet"),
            ("user", "我的订单 260312004417 到哪了", "order_status", (("order_id", "260312004417", 5, 17),)),
            ("action", "action_order_status"),
            ("user", "谢谢", "thanks"), ("action", "utter_thanks")]),
        ("web-C002-en-handoff", [
            ("user", "my blender smells like smoke??", "nlu_fallback"), ("action", "action_two_guesses"),
            # the handoff's pause ends the bot's part; "ok thanks" went to the agent
            ("user", "I want to talk to a real person", "ask_human"), ("action", "action_handoff"),
            ("user", '/rate{"rating":"5"}', "rate", (("rating", "5", 5, 19),)), ("action", "action_record_rating")]),
        ("web-C003-mixed", [
            ("user", "我的iPhone 15订单什么时候到?", "delivery_time", (("product", "iPhone 15", 2, 11),)),
            ("action", "action_delivery_time"),
            ("user", "where is my 快递", "track_shipment"), ("action", "action_track_shipment")]),
        ("web-C005-two-sessions", [
            ("user", "帮我取消订单", "cancel_order"), ("action", "action_check_cancel"), ("slot", "eligible", True),
            ("user", "确认", "affirm"), ("action", "action_cancel_order"),
            # the second session's carried-over eligible=true is not repeated
            ("user", "我要改地址", "change_address"), ("action", "action_check_address_change"),
            ("slot", "eligible", True), ("action", "address_form"), ("loop", "address_form"),
            ("user", "上海市浦东新区世纪大道100号", "inform"), ("action", "address_form"), ("loop", None),
            ("action", "action_change_address")]),
    ])
    def test_every_conversation_reads_back(self, domain: Domain, sender: str, rows: list[tuple[Any, ...]]) -> None:
        """Rasa's YAMLStoryReader gets the same texts, intents, entities, actions, slots and forms."""
        assert read_story(domain, to_test_story(conversation(sender), sender)) == rows

    def test_corrections_replace_the_predicted_intent(self, domain: Domain) -> None:
        """An operator's correction, keyed by turn index, is the story's intent; other turns keep theirs."""
        text = to_test_story(conversation("web-C002-en-handoff"), "en smoke", {0: "complaint"})
        assert read_story(domain, text)[:2] == [("user", "my blender smells like smoke??", "complaint"),
                                               ("action", "action_two_guesses")]

    def test_a_correction_of_a_missing_turn_is_refused(self) -> None:
        with pytest.raises(TurnNotFound) as caught:
            to_test_story(conversation("web-C003-mixed"), "x", {5: "greet"})
        assert caught.value.index == 5

    def test_more_slots_can_be_written(self, domain: Domain) -> None:
        """``slots`` picks which slot changes become slot_was_set steps."""
        text = to_test_story(conversation("web-C001-zh-order"), "with order id", slots={"order_id", "eligible"})
        assert ("slot", "order_id", "260312004417") in read_story(domain, text)

    @pytest.mark.parametrize("text", [
        "我的订单号是\"260312004417\"",
        "订单：260312004417 # 急",
        "退货 - 还能退吗？",
        "C:\\users\\订单.pdf",
        "C:\\users\\order.pdf",
        "\\u0041 is not an escape",
        "say \"hi\": it's 'quoted'",
        "- a list? no",
        "null",
        "true",
        "12345",
        "{not: json}",
        "| pipe > gt & amp * star ! bang % pct @ at `tick`",
        "emoji 😀 and 表情",
        "tab\there",
        "two\nlines",
        "bell\x07 and del\x7f",
        "line\u2028separator",
        "bom\ufeffinside",
        "x]y(z) brackets",
    ])
    def test_any_text_reads_back_unchanged(self, domain: Domain, text: str) -> None:
        """Quotes, colons, hashes, backslashes, control and separator characters survive the YAML round trip."""
        assert read_story(domain, to_test_story(one_turn(text), "odd text"))[0] == ("user", text, "greet")

    @pytest.mark.parametrize("text", ["看看这个[链接](link)", "see [a]{b} and [x][y]"])
    def test_text_that_looks_like_markup_gives_only_the_intent(self, domain: Domain, text: str) -> None:
        """Rasa has no escape for entity markup: the step keeps the intent and a comment says why."""
        story = to_test_story(one_turn(text), "markup")
        assert "entity markup" in story
        assert read_story(domain, story)[0] == ("user", None, "greet")

    @pytest.mark.parametrize("c", [
        one_turn("[a](b)", intent=None),  # neither readable text nor an intent
        Conversation.from_events("s", [{"event": "session_started", "timestamp": 1.0}]),  # nobody spoke
    ])
    def test_nothing_to_write_is_an_empty_story(self, c: Conversation) -> None:
        """Rasa would skip a story without steps, so there is no story to save."""
        with pytest.raises(EmptyStory):
            to_test_story(c, "nothing to say")

    def test_a_message_without_an_intent_is_an_end_to_end_step(self, domain: Domain) -> None:
        assert read_story(domain, to_test_story(one_turn("hello", intent=None), "e2e")) == [("user", "hello", None)]

    @pytest.mark.parametrize(("name", "line"), [
        ("zh order question", '- story: "zh order question"'),
        ("en_fallback", "- story: en_fallback"),
        ("退货: 7天无理由", '- story: "退货: 7天无理由"'),
        ("true", '- story: "true"'),
        ('say "hi"', '- story: "say \\"hi\\""'),
    ])
    def test_story_names_are_quoted_when_needed(self, domain: Domain, name: str, line: str) -> None:
        story = to_test_story(conversation("web-C003-mixed"), name)
        assert line in story.splitlines()
        assert YAML(typ="safe", pure=True).load(story)["stories"][0]["story"] == name

    @pytest.mark.parametrize("name", ["", "   ", "two\nlines"])
    def test_a_story_name_is_one_line(self, name: str) -> None:
        with pytest.raises(InvalidStoryName):
            to_test_story(conversation("web-C003-mixed"), name)


class TestAnnotate:
    """Entities written into a message as Rasa training-data markup."""

    @pytest.mark.parametrize(("text", "entities", "expected"), [
        ("我的订单260312004417到哪了", [Entity("order_id", "260312004417", 4, 16)],
         ("我的订单[260312004417](order_id)到哪了", 1)),
        ("where is order 260312004417", [Entity("order_id", "260312004417", 15, 27)],
         ("where is order [260312004417](order_id)", 1)),
        # a synonym keeps its value
        ("我的冰箱到哪了", [Entity("product", "refrigerator", 2, 4)],
         ('我的[冰箱]{"entity": "product", "value": "refrigerator"}到哪了', 1)),
        ("from Beijing", [Entity("city", "Beijing", 5, 12, role="origin")],
         ('from [Beijing]{"entity": "city", "role": "origin"}', 1)),
        # overlapping: the first (longest at the same start) wins
        ("iPhone 15 Pro", [Entity("product", "iPhone 15", 0, 9), Entity("product", "iPhone 15 Pro", 0, 13)],
         ("[iPhone 15 Pro](product)", 1)),
        # no offsets, or offsets outside the text: left out
        ("hello", [Entity("greeting", "hello")], ("hello", 0)),
        ("hello", [Entity("greeting", "hello", 3, 9)], ("hello", 0)),
        # a bracket in the covered text cannot be annotated
        ("size [L]", [Entity("size", "[L]", 5, 8)], ("size [L]", 0)),
        # a value Rasa's markup cannot hold is left out
        ("x", [Entity("thing", "a}b", 0, 1)], ("x", 0)),
    ])
    def test_annotate(self, text: str, entities: list[Entity], expected: tuple[str, int]) -> None:
        assert annotate(text, entities) == expected

    def test_a_synonym_reads_back_with_its_value(self, domain: Domain) -> None:
        c = one_turn("我的冰箱到哪了", "track_shipment", (Entity("product", "refrigerator", 2, 4),))
        assert read_story(domain, to_test_story(c, "synonym"))[0] == (
            "user", "我的冰箱到哪了", "track_shipment", (("product", "refrigerator", 2, 4),))


class TestProjectNames:
    """The names this module hard-codes are the project's."""

    DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text("utf-8"))

    def test_story_slots_are_the_slots_that_influence_the_conversation(self) -> None:
        featurized = {name for name, s in self.DOMAIN["slots"].items() if s.get("influence_conversation", True)}
        assert featurized == STORY_SLOTS

    def test_fallback_and_handoff_actions_exist(self) -> None:
        rasa_defaults = {"action_default_fallback"}
        assert (FALLBACK_ACTIONS | HANDOFF_ACTIONS) <= set(self.DOMAIN["actions"]) | rasa_defaults

    def test_the_language_slot_exists(self) -> None:
        assert set(self.DOMAIN["slots"][LANGUAGE_SLOT]["values"]) == {"zh", "en"}
