"""Real Rasa events for the conversations the studio tests read back.

Built with Rasa's own event classes, so ``as_dict()`` gives exactly what the
SQL tracker store writes in its ``data`` column. The order of events mirrors
what a running stack stores (seen in an e2e run's ``tracker.db``): the session
start writes ``session_started_metadata``, ``action_session_start``,
``session_started``, ``session_started_metadata`` and ``action_listen``; every
user message is followed by the ``language``, ``language_choice`` and
``customer_id`` slots that ``action_validate_slot_mappings`` extracts; an
agent's message is a ``bot`` event with ``metadata.agent_id``.

Every conversation starts at ``T0`` plus the minutes in its name's docstring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, as tests/conftest.py


class Clock:
    """Hands out event timestamps, one second apart unless told otherwise."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def tick(self, seconds: float = 1) -> float:
        self.now += timedelta(seconds=seconds)
        return self.now.timestamp()


def session_start(clock: Clock, customer: str, language: str, carried: dict[str, Any] | None = None) -> list[Event]:
    """What ``action_session_start`` writes; ``carried`` are the slots carried over from the last session."""
    meta = {"customer_id": customer, "language": language}
    t = clock.tick()
    return [
        SlotSet("session_started_metadata", meta, timestamp=t),
        ActionExecuted("action_session_start", confidence=1.0, timestamp=t),
        SessionStarted(timestamp=t),
        SlotSet("session_started_metadata", meta, timestamp=t),
        *[SlotSet(name, value, timestamp=t) for name, value in (carried or {}).items()],
        ActionExecuted("action_listen", timestamp=t),
    ]


def user(clock: Clock, text: str, intent: str, confidence: float, *, detected: str | None,
         entities: list[dict[str, Any]] | None = None, ranking: list[tuple[str, float]] | None = None,
         customer: str = "C001") -> UserUttered:
    """A shopper's message as the NLU pipeline parsed it; ``detected`` is the LanguageDetector's label."""
    parse: dict[str, Any] = {
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [(intent, confidence)])],
    }
    if detected is not None:  # button payloads skip the pipeline, so they have no label
        parse["language"] = detected
    return UserUttered(text, {"name": intent, "confidence": confidence}, entities or [], parse_data=parse,
                       timestamp=clock.tick(), input_channel="rest", message_id=f"m{clock.now.timestamp():.0f}",
                       metadata={"customer_id": customer, "language": "zh"})


def extracted(clock: Clock, language: str, customer: str = "C001") -> list[Event]:
    """The slots ``action_validate_slot_mappings`` sets after every message."""
    t = clock.tick(0.1)
    return [SlotSet("language", language, timestamp=t), SlotSet("language_choice", None, timestamp=t),
            SlotSet("customer_id", customer, timestamp=t)]


def action(clock: Clock, name: str, policy: str | None = "RulePolicy") -> ActionExecuted:
    return ActionExecuted(name, policy=policy, confidence=1.0 if policy else None, timestamp=clock.tick(0.1))


def bot(clock: Clock, text: str | None, response: str | None = None, agent_id: str | None = None) -> BotUttered:
    """A message the shopper saw: from a response, or typed by an agent (``agent_id``)."""
    metadata: dict[str, Any] = {}
    if response:
        metadata.update(utter_action=response, template=response)
    if agent_id:
        metadata["agent_id"] = agent_id
    return BotUttered(text, {"buttons": None, "custom": None}, metadata, timestamp=clock.tick(0.1))


def slot(clock: Clock, name: str, value: Any) -> SlotSet:
    return SlotSet(name, value, timestamp=clock.tick(0.1))


def listen(clock: Clock) -> ActionExecuted:
    return ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0, timestamp=clock.tick(0.1))


def zh_order_question() -> list[Event]:
    """C001 at T0: a button greeting, a Chinese order question with an order id, thanks."""
    c = Clock(T0)
    return [
        *session_start(c, "C001", "zh"),
        user(c, "/greet", "greet", 1.0, detected=None), *extracted(c, "zh"),
        action(c, "action_greet"), bot(c, "王芳，您好！我是小智，有什么可以帮您？", "utter_greet_named"), listen(c),
        user(c, "我的订单 260312004417 到哪了", "order_status", 0.93, detected="zh",
             entities=[{"entity": "order_id", "start": 5, "end": 17, "value": "260312004417",
                        "extractor": "RegexEntityExtractor"}],
             ranking=[("order_status", 0.93), ("track_shipment", 0.05)]),
        *extracted(c, "zh"),
        action(c, "action_order_status"), bot(c, "订单 260312004417 已发货。", "utter_order_status_shipped"),
        slot(c, "order_id", "260312004417"), listen(c),
        user(c, "谢谢", "thanks", 0.98, detected="zh"), *extracted(c, "zh"),
        action(c, "utter_thanks"), bot(c, "不客气！", "utter_thanks"), listen(c),
    ]


def en_fallback_then_handoff() -> list[Event]:
    """C002 at T0 + 1 h: an English message the bot misreads, a request for a human, the agent, a rating."""
    c = Clock(T0 + timedelta(hours=1))
    return [
        *session_start(c, "C002", "en"),
        user(c, "my blender smells like smoke??", "nlu_fallback", 0.45, detected="en", customer="C002",
             ranking=[("nlu_fallback", 0.45), ("complaint", 0.31), ("return_item", 0.2)]),
        *extracted(c, "en", "C002"),
        action(c, "action_two_guesses"), bot(c, "Did you mean:", "utter_two_guesses"), listen(c),
        user(c, "I want to talk to a real person", "ask_human", 0.97, detected="en", customer="C002"),
        *extracted(c, "en", "C002"),
        action(c, "action_handoff"), bot(c, "Tom will help you (ticket TK-1).", "utter_handoff_assigned"),
        bot(c, None), slot(c, "handoff_reason", None), ConversationPaused(timestamp=c.tick(0.1)),
        bot(c, "Hi, I'm Tom. Let me check your blender.", agent_id="A02"),
        user(c, "ok thanks", "thanks", 0.91, detected="en", customer="C002"), *extracted(c, "en", "C002"),
        ConversationResumed(timestamp=c.tick()), ActionExecuted("action_listen", timestamp=c.tick(0.1)),
        ActionExecuted("utter_after_handoff", confidence=0.0, timestamp=c.tick(0.1)),
        bot(c, "The agent is done; I'm back. Please rate the help (1-5):", "utter_after_handoff"),
        ActionExecuted("action_listen", timestamp=c.tick(0.1)),
        user(c, '/rate{"rating":"5"}', "rate", 1.0, detected=None, customer="C002",
             entities=[{"entity": "rating", "start": 5, "end": 19, "value": "5", "extractor": "RegexMessageHandler"}]),
        *extracted(c, "en", "C002"),
        action(c, "action_record_rating"), bot(c, "Thanks for the 5 stars!", "utter_rating_thanks"), listen(c),
    ]


def mixed_language() -> list[Event]:
    """C003 at T0 + 2 h: a code-switched question answered in Chinese, then one answered in English."""
    c = Clock(T0 + timedelta(hours=2))
    return [
        *session_start(c, "C003", "zh"),
        user(c, "我的iPhone 15订单什么时候到?", "delivery_time", 0.88, detected="mixed", customer="C003",
             entities=[{"entity": "product", "start": 2, "end": 11, "value": "iPhone 15",
                        "extractor": "DIETClassifier"}]),
        *extracted(c, "zh", "C003"),
        action(c, "action_delivery_time"), bot(c, "预计明天送达。", "utter_delivery_on_time"), listen(c),
        user(c, "where is my 快递", "track_shipment", 0.62, detected="mixed", customer="C003"),
        *extracted(c, "en", "C003"),
        action(c, "action_track_shipment"), bot(c, "In transit, Beijing hub.", "utter_tracking_timeline"), listen(c),
    ]


def zh_two_sessions() -> list[Event]:
    """C005 at T0 + 3 h: a confirmed cancel; a new session 2 h later changes an address through the form."""
    c = Clock(T0 + timedelta(hours=3))
    first = [
        *session_start(c, "C005", "zh"),
        user(c, "帮我取消订单", "cancel_order", 0.95, detected="zh", customer="C005"), *extracted(c, "zh", "C005"),
        action(c, "action_check_cancel"), bot(c, "确认取消订单吗？", "utter_cancel_eligible"),
        slot(c, "eligible", True), listen(c),
        user(c, "确认", "affirm", 0.9, detected="zh", customer="C005"), *extracted(c, "zh", "C005"),
        action(c, "action_cancel_order"), bot(c, "订单已取消。", "utter_cancel_done"), listen(c),
    ]
    c.tick(2 * 3600)
    second = [
        *session_start(c, "C005", "zh", carried={"language": "zh", "customer_id": "C005", "eligible": True}),
        user(c, "我要改地址", "change_address", 0.81, detected="zh", customer="C005"), *extracted(c, "zh", "C005"),
        action(c, "action_check_address_change"), slot(c, "eligible", True),
        action(c, "address_form"), ActiveLoop("address_form", timestamp=c.tick(0.1)),
        slot(c, "requested_slot", "new_address"), bot(c, "请告诉我新地址。", "utter_ask_new_address"), listen(c),
        user(c, "上海市浦东新区世纪大道100号", "inform", 0.74, detected="zh", customer="C005"),
        *extracted(c, "zh", "C005"), slot(c, "new_address", "上海市浦东新区世纪大道100号"),
        action(c, "address_form"), slot(c, "new_address", "上海市浦东新区世纪大道100号"),
        ActiveLoop(None, timestamp=c.tick(0.1)), slot(c, "requested_slot", None),
        action(c, "action_change_address"), bot(c, "地址已修改。", "utter_address_changed"), listen(c),
    ]
    return [*first, *second]


CONVERSATIONS = {
    "web-C001-zh-order": zh_order_question,
    "web-C002-en-handoff": en_fallback_then_handoff,
    "web-C003-mixed": mixed_language,
    "web-C005-two-sessions": zh_two_sessions,
}
"""Every scripted conversation by sender id."""


def as_dicts(events: list[Event]) -> list[dict[str, Any]]:
    """What the SQL tracker store keeps in its ``data`` column, one dict per event."""
    return [e.as_dict() for e in events]
