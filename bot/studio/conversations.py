"""Real conversations as values: turns, review flags, filters and Rasa test stories.

The operator console turns what shoppers really said into training data. This
module is the pure part: it reads the event dicts Rasa keeps for a conversation
(``Event.as_dict()``, one JSON object per row of the SQL tracker store's
``events`` table), builds a :class:`Conversation` the console can list, filter
and correct, and writes a conversation as a Rasa test story. It reads no
database and no clock; :mod:`bot.store.tracker` is the I/O edge.

The event shapes it relies on (Rasa 3.6, ``rasa/shared/core/events.py``)::

    {"event": "user", "timestamp": 1795478422.3, "text": "我的订单 260312004417 到哪了",
     "parse_data": {"intent": {"name": "order_status", "confidence": 0.93},
                    "entities": [{"entity": "order_id", "start": 5, "end": 17,
                                  "value": "260312004417", "extractor": "RegexEntityExtractor"}],
                    "intent_ranking": [{"name": "order_status", "confidence": 0.93}, ...],
                    "language": "zh"},
     "metadata": {"language": "zh", "customer_id": "C001"}}
    {"event": "slot", "name": "language", "value": "zh"}
    {"event": "action", "name": "action_order_status", "policy": "RulePolicy", "confidence": 1.0}
    {"event": "bot", "text": "...", "data": {...}, "metadata": {"utter_action": "utter_order_status"}}
    {"event": "active_loop", "name": "address_form"}      (``null`` ends the form)
    {"event": "session_started"}    (after ``action_session_start``; carried-over slots follow)
    {"event": "pause"}  {"event": "resume"}  {"event": "restart"}
    {"event": "action_execution_rejected", "name": "address_form"}

``parse_data["language"]`` is written by :class:`bot.nlu.language_detector.LanguageDetector`
(``zh``, ``en``, ``mixed`` or ``unknown``); the ``language`` slot is the reply
language that ``action_validate_slot_mappings`` sets after every user message
(``zh`` or ``en``); an agent's message stored by the web service is a ``bot``
event with ``metadata.agent_id``. Every timestamp is float epoch seconds. Other
event types (``followup``, ``rewind``, ``undo``, reminders...) change nothing
the console shows and are skipped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, cast

from bot import privacy
from bot.errors import InvalidData
from bot.language import Detected, Language, reply_language
from bot.studio.errors import StudioError

FALLBACK_INTENT = "nlu_fallback"
"""The intent Rasa's FallbackClassifier predicts below its threshold (config.yml)."""

FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_two_guesses"})
"""Actions that mean the bot did not understand: Rasa's core fallback (config.yml
``core_fallback_action_name``) and our two-guesses answer to ``nlu_fallback``
(data/rules/chitchat.yml, actions/fallback.py)."""

HANDOFF_ACTIONS = frozenset({"action_handoff"})
"""Actions that hand the conversation to a human agent (actions/handoff.py)."""

INTERNAL_ACTIONS = frozenset({
    "action_listen",
    "action_session_start",
    "action_extract_slots",
    "action_restart",
    "action_back",
})
"""Actions a test story leaves out: Rasa runs them itself rather than predicting
them, or they rewind the tracker, which a story cannot express."""

STORY_SLOTS = frozenset({"eligible"})
"""Slots written into test stories as ``slot_was_set``: those with
``influence_conversation: true`` in domain.yml, the only ones predictions read.
A test guards this against the domain."""

LANGUAGE_SLOT = "language"
"""The slot that holds the reply language (domain.yml, actions/language.py)."""

ConversationLanguage = Literal["zh", "en", "mixed"]
"""A conversation's language: one reply language, or ``mixed``."""

StepKind = Literal["action", "utterance", "slot", "loop", "pause", "resume", "rejected", "restart", "session"]
"""What a :class:`Step` records."""

_STEP_KINDS: dict[str, StepKind] = {
    "action": "action",
    "bot": "utterance",
    "slot": "slot",
    "active_loop": "loop",
    "pause": "pause",
    "resume": "resume",
    "action_execution_rejected": "rejected",
    "restart": "restart",
    "session_started": "session",
}
_LANGUAGES: tuple[Language, ...] = ("zh", "en")
_DETECTED: tuple[Detected, ...] = ("zh", "en", "mixed", "unknown")
_FILTER_LANGUAGES: tuple[ConversationLanguage, ...] = ("zh", "en", "mixed")


class ConversationNotFound(StudioError):
    """The tracker store has no events for this sender."""

    code = "conversation_not_found"

    def __init__(self, sender_id: str) -> None:
        super().__init__(f"no conversation with sender id {sender_id!r}", sender_id=sender_id)
        self.sender_id = sender_id


class TurnNotFound(StudioError):
    """A correction names a user turn the conversation does not have."""

    code = "turn_not_found"

    def __init__(self, sender_id: str, index: int) -> None:
        super().__init__(f"conversation {sender_id!r} has no user turn {index}", sender_id=sender_id, index=index)
        self.sender_id = sender_id
        self.index = index


class InvalidFilter(StudioError):
    """A conversation filter field with a value it cannot take; ``expected`` says what it takes."""

    code = "invalid_filter"

    def __init__(self, field: str, value: object, expected: str) -> None:
        super().__init__(f"filter {field}={value!r} is invalid: expected {expected}",
                         field=field, value=str(value), expected=expected)
        self.field = field
        self.value = value
        self.expected = expected


class InvalidStoryName(StudioError):
    """A test story name that is empty or spans several lines."""

    code = "invalid_story_name"

    def __init__(self, name: str) -> None:
        super().__init__(f"story name {name!r} must be one non-empty line", name=name)
        self.name = name


class EmptyStory(StudioError):
    """A conversation with no step a test story can hold: no message, or only what an agent handled."""

    code = "empty_story"

    def __init__(self, sender_id: str) -> None:
        super().__init__(f"conversation {sender_id!r} has nothing a test story could hold", sender_id=sender_id)
        self.sender_id = sender_id


@dataclass(frozen=True)
class Entity:
    """An entity the NLU pipeline found in a shopper's message.

    ``start`` and ``end`` are character offsets into the message text, when the
    extractor gave them; ``value`` may differ from the text it covers (synonyms).
    """

    entity: str
    value: Any
    start: int | None = None
    end: int | None = None
    role: str | None = None
    group: str | None = None
    extractor: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end,
                "role": self.role, "group": self.group, "extractor": self.extractor}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entity:
        """Reads Rasa's entity dict (``parse_data["entities"][i]``) or :meth:`to_json` output."""
        try:
            return cls(entity=str(data["entity"]), value=data.get("value"), start=_int_or_none(data.get("start")),
                       end=_int_or_none(data.get("end")), role=_str_or_none(data.get("role")),
                       group=_str_or_none(data.get("group")), extractor=_str_or_none(data.get("extractor")))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidData("entity", exc) from exc


@dataclass(frozen=True)
class Step:
    """One thing that happened after a user message, in order.

    ``kind`` and the fields it uses:

    * ``action``: ``name`` of the action that ran;
    * ``utterance``: ``text`` the shopper saw, ``name`` of the response
      (``utter_*``) if it came from one, ``agent_id`` if a human agent wrote it;
    * ``slot``: ``name`` and ``value``;
    * ``loop``: ``name`` of the form that became active, ``None`` when it ended;
    * ``rejected``: ``name`` of the action (a form) that refused to run;
    * ``pause``, ``resume``, ``restart``: no fields;
    * ``session``: a new Rasa session started (the slot steps after it are
      the slots Rasa carried over).
    """

    kind: StepKind
    at: datetime
    name: str | None = None
    text: str | None = None
    value: Any = None
    agent_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": self.at.isoformat(), "name": self.name, "text": self.text,
                "value": self.value, "agent_id": self.agent_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        try:
            kind = str(data["kind"])
            if kind not in _STEP_KINDS.values():
                raise ValueError(f"unknown step kind {kind!r}")
            return cls(kind=cast(StepKind, kind), at=_aware(datetime.fromisoformat(str(data["at"]))),
                       name=_str_or_none(data.get("name")), text=_str_or_none(data.get("text")),
                       value=data.get("value"), agent_id=_str_or_none(data.get("agent_id")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidData("step", exc) from exc


@dataclass(frozen=True)
class Turn:
    """One shopper message, what the NLU made of it, and what followed until the next one.

    Attributes:
        index: Position among the conversation's user messages, from 0; the key
            of intent corrections in :func:`to_test_story`.
        at: When the message arrived.
        text: The message as Rasa received it (a button click is a payload
            such as ``/order_status``).
        intent: The predicted intent (``nlu_fallback`` below the threshold).
        confidence: Its confidence; for ``nlu_fallback`` Rasa reports the
            FallbackClassifier threshold.
        entities: The entities found in the message.
        language: The language the message belongs to for training data and
            the reply: the ``language`` slot set for this message, else the
            slot as it stood, else :func:`bot.language.reply_language`.
        detected: What the LanguageDetector saw in the text (``zh``, ``en``,
            ``mixed`` or ``unknown``), ``None`` if the parse has no label.
        ranking: ``(intent, confidence)`` pairs as Rasa ranked them, best first.
        steps: What followed the message, in order.
        session: 0 for the first Rasa session, +1 for each later one.
        paused: The message arrived while a human agent had the conversation.
    """

    index: int
    at: datetime
    text: str
    intent: str | None
    confidence: float | None
    entities: tuple[Entity, ...] = ()
    language: Language = "zh"
    detected: Detected | None = None
    ranking: tuple[tuple[str, float], ...] = ()
    steps: tuple[Step, ...] = ()
    session: int = 0
    paused: bool = False

    @property
    def actions(self) -> tuple[str, ...]:
        """Names of the actions that ran after the message, ``action_listen`` included."""
        return tuple(s.name for s in self.steps if s.kind == "action" and s.name)

    @property
    def bot_texts(self) -> tuple[str, ...]:
        """What the shopper was told after the message (the bot's and any agent's words)."""
        return tuple(s.text for s in self.steps if s.kind == "utterance" and s.text)

    @property
    def fallback(self) -> bool:
        """The bot did not understand: ``nlu_fallback`` or a fallback action ran."""
        return self.intent == FALLBACK_INTENT or any(a in FALLBACK_ACTIONS for a in self.actions)

    @property
    def handoff(self) -> bool:
        """The conversation went to a human here: the handoff action ran or the bot paused."""
        return any(a in HANDOFF_ACTIONS for a in self.actions) or any(s.kind == "pause" for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        """The turn for the web; ``actions``, ``bot_texts``, ``fallback`` and ``handoff`` are derived."""
        return {
            "index": self.index,
            "at": self.at.isoformat(),
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "entities": [e.to_json() for e in self.entities],
            "language": self.language,
            "detected": self.detected,
            "ranking": [{"name": n, "confidence": c} for n, c in self.ranking],
            "steps": [s.to_json() for s in self.steps],
            "session": self.session,
            "paused": self.paused,
            "actions": list(self.actions),
            "bot_texts": list(self.bot_texts),
            "fallback": self.fallback,
            "handoff": self.handoff,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Turn:
        """Reads :meth:`to_json` output; derived keys are ignored."""
        try:
            language = str(data["language"])
            if language not in _LANGUAGES:
                raise ValueError(f"language {language!r} is not zh or en")
            return cls(
                index=int(data["index"]),
                at=_aware(datetime.fromisoformat(str(data["at"]))),
                text=str(data["text"]),
                intent=_str_or_none(data.get("intent")),
                confidence=_float_or_none(data.get("confidence")),
                entities=tuple(Entity.from_json(e) for e in data.get("entities", ())),
                language=cast(Language, language),
                detected=_detected(data.get("detected")),
                ranking=tuple((str(r["name"]), float(r["confidence"])) for r in data.get("ranking", ())),
                steps=tuple(Step.from_json(s) for s in data.get("steps", ())),
                session=int(data.get("session", 0)),
                paused=bool(data.get("paused", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidData("turn", exc) from exc


@dataclass(frozen=True)
class Conversation:
    """Everything one sender said and was told, across all their Rasa sessions.

    ``opening`` holds what happened before the first user message (the session
    start, a greeting sent by the web service). ``language``, ``languages``,
    ``fallback``, ``handoff`` and ``min_confidence`` are derived from the turns.
    """

    sender_id: str
    started_at: datetime
    last_at: datetime
    turns: tuple[Turn, ...] = ()
    opening: tuple[Step, ...] = ()

    @classmethod
    def from_events(cls, sender_id: str, events: Sequence[Mapping[str, Any]]) -> Conversation:
        """Builds the conversation from Rasa's event dicts, in the order Rasa stored them.

        Raises:
            InvalidData: There are no events, or one is not an event dict with a timestamp.
        """
        if not events:
            raise InvalidData("conversation", f"sender {sender_id!r} has no events")
        builder = _Builder(sender_id)
        for event in events:
            builder.add(event)
        return builder.build()

    @property
    def languages(self) -> frozenset[Language]:
        """The reply languages of the turns."""
        return frozenset(t.language for t in self.turns)

    @property
    def language(self) -> ConversationLanguage | None:
        """``zh`` or ``en`` if every turn was in that language, ``mixed`` otherwise.

        A conversation is ``mixed`` if it was answered in both languages or if any
        message mixed them ("我的iPhone 15订单什么时候到?" is detected ``mixed``
        though it is answered in Chinese). ``None`` if nobody said anything.
        """
        languages = self.languages
        if not languages:
            return None
        if len(languages) > 1 or any(t.detected == "mixed" for t in self.turns):
            return "mixed"
        return next(iter(languages))

    @property
    def fallback(self) -> bool:
        """Some message was not understood (see :attr:`Turn.fallback`)."""
        return any(t.fallback for t in self.turns) or any(
            s.kind == "action" and s.name in FALLBACK_ACTIONS for s in self.opening)

    @property
    def handoff(self) -> bool:
        """The conversation went to a human at some point (see :attr:`Turn.handoff`)."""
        return any(t.handoff for t in self.turns) or any(
            s.kind == "pause" or (s.kind == "action" and s.name in HANDOFF_ACTIONS) for s in self.opening)

    @property
    def min_confidence(self) -> float | None:
        """The lowest intent confidence of any message, ``None`` if no message had one."""
        scores = [t.confidence for t in self.turns if t.confidence is not None]
        return min(scores) if scores else None

    def turn(self, index: int) -> Turn:
        """The user turn with this index.

        Raises:
            TurnNotFound: There is no such turn.
        """
        for t in self.turns:
            if t.index == index:
                return t
        raise TurnNotFound(self.sender_id, index)

    def to_json(self) -> dict[str, Any]:
        """The conversation for the web; the flags and ``min_confidence`` are derived."""
        return {
            "sender_id": self.sender_id,
            "started_at": self.started_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "turns": [t.to_json() for t in self.turns],
            "opening": [s.to_json() for s in self.opening],
            "language": self.language,
            "languages": sorted(self.languages),
            "fallback": self.fallback,
            "handoff": self.handoff,
            "min_confidence": self.min_confidence,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Conversation:
        """Reads :meth:`to_json` output; derived keys are ignored."""
        try:
            return cls(
                sender_id=str(data["sender_id"]),
                started_at=_aware(datetime.fromisoformat(str(data["started_at"]))),
                last_at=_aware(datetime.fromisoformat(str(data["last_at"]))),
                turns=tuple(Turn.from_json(t) for t in data.get("turns", ())),
                opening=tuple(Step.from_json(s) for s in data.get("opening", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidData("conversation", exc) from exc

    def summary(self) -> dict[str, Any]:
        """The list row of the console: no turns, just what the filters look at and the first words."""
        first = self.turns[0].text if self.turns else None
        return {
            "sender_id": self.sender_id,
            "started_at": self.started_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "turn_count": len(self.turns),
            "first_text": first,
            "language": self.language,
            "languages": sorted(self.languages),
            "fallback": self.fallback,
            "handoff": self.handoff,
            "min_confidence": self.min_confidence,
        }


@dataclass
class _Draft:
    """A turn being read: the user event, and the steps seen since."""

    index: int
    at: datetime
    event: Mapping[str, Any]
    session: int
    paused: bool
    slot_language: Language | None
    previous: Language | None
    steps: list[Step]


class _Builder:
    """Reads events one by one, in stored order, keeping the state a tracker would."""

    def __init__(self, sender_id: str) -> None:
        self.sender_id = sender_id
        self.times: list[datetime] = []
        self.opening: list[Step] = []
        self.turns: list[Turn] = []
        self.draft: _Draft | None = None
        self.session = 0
        self.paused = False
        self.slot_language: Language | None = None

    def add(self, event: Mapping[str, Any]) -> None:
        if not isinstance(event, Mapping):
            raise InvalidData("tracker event", f"expected an event dict, got {event!r}")
        kind = event.get("event")
        at = _epoch(event.get("timestamp"), kind)
        self.times.append(at)
        if kind == "user":
            self._close()
            self.draft = _Draft(len(self.turns), at, event, self.session, self.paused, self.slot_language,
                                self.turns[-1].language if self.turns else None, [])
            return
        step = _step(event, at)
        if step is None:
            return
        if step.kind == "session" and (self.turns or self.draft is not None):
            self.session += 1
        if step.kind == "pause":
            self.paused = True
        elif step.kind in ("resume", "restart", "session"):
            # Rasa resets the tracker on a restart or a new session: slots and pause.
            self.paused = False
            if step.kind != "resume":
                self.slot_language = None
        elif step.kind == "slot" and step.name == LANGUAGE_SLOT:
            self.slot_language = _language_or_none(step.value)
        (self.draft.steps if self.draft is not None else self.opening).append(step)

    def build(self) -> Conversation:
        self._close()
        return Conversation(self.sender_id, min(self.times), max(self.times), tuple(self.turns), tuple(self.opening))

    def _close(self) -> None:
        if self.draft is None:
            return
        self.turns.append(_turn(self.draft))
        self.draft = None


def _turn(draft: _Draft) -> Turn:
    event = draft.event
    parse = event.get("parse_data")
    parse = parse if isinstance(parse, Mapping) else {}
    intent = parse.get("intent")
    intent = intent if isinstance(intent, Mapping) else {}
    text = event.get("text")
    text = text if isinstance(text, str) else ""
    return Turn(
        index=draft.index,
        at=draft.at,
        text=text,
        intent=_str_or_none(intent.get("name")),
        confidence=_float_or_none(intent.get("confidence")),
        entities=tuple(Entity.from_json(e) for e in parse.get("entities") or ()
                       if isinstance(e, Mapping) and e.get("entity")),
        language=_turn_language(draft, text),
        detected=_detected(parse.get("language")),
        ranking=tuple((str(r["name"]), float(r["confidence"])) for r in parse.get("intent_ranking") or ()
                      if isinstance(r, Mapping) and r.get("name") and _float_or_none(r.get("confidence")) is not None),
        steps=tuple(draft.steps),
        session=draft.session,
        paused=draft.paused,
    )


def _turn_language(draft: _Draft, text: str) -> Language:
    """The ``language`` slot set for this message (before any action ran), else as it stood, else the text's."""
    for step in draft.steps:
        if step.kind == "action":
            break
        if step.kind == "slot" and step.name == LANGUAGE_SLOT:
            language = _language_or_none(step.value)
            if language is not None:
                return language
    if draft.slot_language is not None:
        return draft.slot_language
    return reply_language(text, draft.previous)


def _step(event: Mapping[str, Any], at: datetime) -> Step | None:
    kind = _STEP_KINDS.get(str(event.get("event")))
    if kind is None:
        return None
    metadata = event.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    if kind == "utterance":
        return Step(kind, at, name=_str_or_none(metadata.get("utter_action")), text=_str_or_none(event.get("text")),
                    agent_id=_str_or_none(metadata.get("agent_id")))
    if kind == "slot":
        return Step(kind, at, name=_str_or_none(event.get("name")), value=event.get("value"))
    if kind in ("action", "loop", "rejected"):
        return Step(kind, at, name=_str_or_none(event.get("name")))
    return Step(kind, at)


@dataclass(frozen=True)
class ConversationFilter:
    """Which conversations the console lists; a field left ``None`` does not filter.

    Attributes:
        language: ``zh`` or ``en``: some message was answered in that language
            (a conversation that switched shows under both); ``mixed``: the
            conversation's :attr:`Conversation.language` is ``mixed``.
        fallback: Some message was (``True``) or no message was (``False``) not understood.
        handoff: The conversation did (``True``) or did not (``False``) go to a human.
        low_confidence_below: Some message's intent confidence is strictly
            below this; a conversation with no scored message never matches.
        since: Last activity at or after this instant (inclusive).
        until: Started strictly before this instant (exclusive).

    ``since`` and ``until`` select conversations active in the half-open window
    ``[since, until)``: ``since=2026-11-23T00:00+08:00, until=2026-11-24T00:00+08:00``
    is "November 23rd in Shanghai"; a conversation whose last message came at
    exactly 00:00 on the 23rd is in, one that started at exactly 00:00 on the 24th is out.
    """

    language: ConversationLanguage | None = None
    fallback: bool | None = None
    handoff: bool | None = None
    low_confidence_below: float | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.language is not None and self.language not in _FILTER_LANGUAGES:
            raise InvalidFilter("language", self.language, "zh, en or mixed")
        threshold = self.low_confidence_below
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)
                                      or not 0 <= threshold <= 1):
            raise InvalidFilter("low_confidence_below", threshold, "a number from 0 to 1")
        for name in ("since", "until"):
            when = getattr(self, name)
            if when is not None and (not isinstance(when, datetime) or when.utcoffset() is None):
                raise InvalidFilter(name, when, "a timezone-aware date and time")

    def matches(self, conversation: Conversation) -> bool:
        """Whether the conversation passes every field that is set."""
        if self.language == "mixed" and conversation.language != "mixed":
            return False
        if self.language in _LANGUAGES and self.language not in conversation.languages:
            return False
        if self.fallback is not None and conversation.fallback != self.fallback:
            return False
        if self.handoff is not None and conversation.handoff != self.handoff:
            return False
        if self.low_confidence_below is not None:
            lowest = conversation.min_confidence
            if lowest is None or not lowest < self.low_confidence_below:
                return False
        if self.since is not None and conversation.last_at < self.since:
            return False
        return not (self.until is not None and conversation.started_at >= self.until)

    def to_json(self) -> dict[str, Any]:
        return {"language": self.language, "fallback": self.fallback, "handoff": self.handoff,
                "low_confidence_below": self.low_confidence_below,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConversationFilter:
        """Reads JSON or query-string values: ``"true"``/``"false"``, ``"0.5"``, ISO 8601 with an offset.

        Missing, ``None`` and ``""`` values do not filter.

        Raises:
            InvalidFilter: A value of the wrong kind, out of range, or a time without a zone.
        """
        def value(name: str) -> Any:
            raw = data.get(name)
            return None if raw is None or raw == "" else raw

        language = value("language")
        if language is not None and language not in _FILTER_LANGUAGES:
            raise InvalidFilter("language", language, "zh, en or mixed")
        return cls(
            language=cast(ConversationLanguage | None, language),
            fallback=_flag("fallback", value("fallback")),
            handoff=_flag("handoff", value("handoff")),
            low_confidence_below=_threshold(value("low_confidence_below")),
            since=_instant("since", value("since")),
            until=_instant("until", value("until")),
        )


def _flag(name: str, raw: Any) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise InvalidFilter(name, raw, "true or false")


def _threshold(raw: Any) -> float | None:
    if raw is None:
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError("a boolean is not a threshold")
        threshold = float(raw)
    except (TypeError, ValueError):
        raise InvalidFilter("low_confidence_below", raw, "a number from 0 to 1") from None
    if not 0 <= threshold <= 1:
        raise InvalidFilter("low_confidence_below", raw, "a number from 0 to 1")
    return threshold


def _instant(name: str, raw: Any) -> datetime | None:
    if raw is None or isinstance(raw, datetime):
        return raw
    try:
        return datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidFilter(name, raw, "an ISO 8601 date and time with a zone, e.g. 2026-11-23T00:00+08:00") from None


# -- personal data -------------------------------------------------------------------------------------------------

def customers(conversation: Conversation) -> frozenset[str]:
    """The customer ids the conversation was with (the ``customer_id`` slot the front door's metadata sets)."""
    steps = [*conversation.opening, *(s for t in conversation.turns for s in t.steps)]
    return frozenset(s.value for s in steps
                     if s.kind == "slot" and s.name == "customer_id" and isinstance(s.value, str) and s.value)


def pseudonymised(conversation: Conversation, known: Iterable[str] = ()) -> Conversation:
    """The conversation with phone numbers and addresses in shoppers' messages replaced by sample values.

    For training data (:mod:`bot.privacy` says why sample values and not masks).
    Entity offsets follow the new text; an entity that covered exactly the personal
    data now covers the sample, one that covered part of it loses its offsets.

    Example:
        ``[13912345678](phone)`` becomes ``[13800138000](phone)``.
    """
    known = tuple(known)
    return replace(conversation, turns=tuple(_pseudonymised_turn(t, known) for t in conversation.turns))


def _pseudonymised_turn(turn: Turn, known: tuple[str, ...]) -> Turn:
    text, moved = privacy.pseudonymise_spans(turn.text, known)
    entities = tuple(_moved_entity(e, moved, known) for e in turn.entities)
    return replace(turn, text=text, entities=entities) if moved or entities != turn.entities else turn


def _moved_entity(entity: Entity, moved: list[tuple[privacy.Span, int, int]], known: tuple[str, ...]) -> Entity:
    value = privacy.pseudonymise(entity.value, known) if isinstance(entity.value, str) else entity.value
    if entity.start is None or entity.end is None:
        return replace(entity, value=value)
    start_shift = end_shift = 0
    for old, start, end in moved:
        delta = (end - start) - (old.end - old.start)
        if old.end <= entity.start:
            start_shift += delta
            end_shift += delta
        elif entity.start <= old.start and old.end <= entity.end:
            end_shift += delta
        elif old.start >= entity.end:
            break
        else:  # the entity covers part of the personal data: its offsets mean nothing now
            return replace(entity, start=None, end=None, value=value)
    return replace(entity, start=entity.start + start_shift, end=entity.end + end_shift, value=value)


# -- test stories --------------------------------------------------------------------------------------------------

def to_test_story(conversation: Conversation, name: str, corrections: Mapping[int, str] | None = None, *,
                  slots: Collection[str] = STORY_SLOTS) -> str:
    """Writes the conversation as a Rasa 3.1 test story (a whole YAML document).

    Each shopper message becomes a ``user`` step with its text, entity
    annotations (``[260312004417](order_id)``, where the extractor gave offsets)
    and its intent, or the corrected intent from ``corrections``. After it come
    the bot's actions (``utter_*`` and custom actions, not the internal ones in
    :data:`INTERNAL_ACTIONS`), ``active_loop`` changes and ``slot_was_set`` for
    the ``slots`` named. All sessions follow each other in one story.

    What a human agent handled is left out: a story cannot express a pause, and
    what happens around an agent is not the bot's prediction. So a turn that
    arrived while paused is skipped, and so is the rest of a turn after a pause
    (the web service's resume and ``utter_after_handoff`` included). Slots that
    Rasa carries over into a new session are left out too: a story runs in one
    session and keeps them anyway.

    Text that Rasa would read as entity markup ("[link](x)") is written without
    annotations if that is enough to read it back unchanged; otherwise the step
    gives only the intent, with a comment saying why.

    Args:
        conversation: The conversation to export.
        name: The story's name: one non-empty line.
        corrections: Intent by :attr:`Turn.index`, replacing the predicted one.
        slots: Slots whose changes are written as ``slot_was_set``.

    Returns:
        YAML text that Rasa's ``YAMLStoryReader`` reads back to the same steps.

    Raises:
        InvalidStoryName: ``name`` is empty or spans lines.
        TurnNotFound: A correction names a turn the conversation does not have.
        EmptyStory: Nothing is left to write (Rasa skips a story without steps).

    Example:
        A zh order question becomes::

            version: "3.1"
            stories:
            - story: "zh order question"
              steps:
              - user: |
                  我的订单[260312004417](order_id)到哪了
                intent: order_status
              - action: action_order_status
    """
    if not name.strip() or any(c in name for c in "\n\r\x85\u2028\u2029"):
        raise InvalidStoryName(name)
    corrections = dict(corrections or {})
    indexes = {t.index for t in conversation.turns}
    for index in sorted(corrections):
        if index not in indexes:
            raise TurnNotFound(conversation.sender_id, index)
    steps: list[str] = []
    _write_steps(steps, conversation.opening, slots)
    for turn in conversation.turns:
        if turn.paused:
            continue
        steps.extend(_user_step(turn, corrections.get(turn.index, turn.intent)))
        _write_steps(steps, turn.steps, slots)
    if not any(not line.lstrip().startswith("#") for line in steps):
        raise EmptyStory(conversation.sender_id)
    lines = ['version: "3.1"', "stories:", f"- story: {_scalar(name.strip())}", "  steps:", *steps]
    return "\n".join(lines) + "\n"


def _write_steps(out: list[str], steps: Sequence[Step], slots: Collection[str]) -> None:
    """Appends the story lines for what followed one message, up to a pause."""
    carried_over = False
    for step in steps:
        if step.kind == "pause":
            return
        if step.kind == "session":
            carried_over = True
        elif step.kind == "action" and step.name and step.name not in INTERNAL_ACTIONS:
            carried_over = False
            out.append(f"  - action: {_scalar(step.name)}")
        elif step.kind == "loop":
            out.append(f"  - active_loop: {'null' if step.name is None else _scalar(step.name)}")
        elif step.kind == "slot" and step.name is not None and step.name in slots and not carried_over:
            out.extend(["  - slot_was_set:", f"      - {_scalar(step.name)}: {_value(step.value)}"])


def _user_step(turn: Turn, intent: str | None) -> list[str]:
    text = _story_text(turn)
    if text is None:
        if intent is None:
            # Nothing Rasa could read back: say so rather than invent an intent.
            return [f"  # user turn {turn.index} left out: its text looks like entity markup and it has no intent"]
        return [f"  # user turn {turn.index}: the text looks like entity markup, so only the intent is given",
                f"  - intent: {_scalar(intent)}"]
    lines = [f"  - user: {_user_text(text)}"]
    if intent is not None:
        lines.append(f"    intent: {_scalar(intent)}")
    return lines


# Rasa 3.6 rasa/shared/nlu/training_data/entities_parser.py ENTITY_REGEX: what a `user:` text may not
# contain unless it is meant as an annotation (Rasa has no escape for it).
_ENTITY_MARKUP = re.compile(
    r"\[(?P<entity_text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)"
    r"|\{(?P<entity_dict>[^}]+?)\}|\[(?P<list_entity_dicts>.*?)\])"
)


def _story_text(turn: Turn) -> str | None:
    """The turn's text with entity annotations, or without them, whichever Rasa reads back unchanged."""
    text = turn.text.strip()
    if not text:
        return None
    if not turn.text.startswith("/"):  # a button payload's entities live in its JSON, not in the text
        annotated, count = annotate(turn.text, turn.entities)
        if count and _reads_back(annotated.strip(), text, count):
            return annotated.strip()
    return text if _reads_back(text, text, 0) else None


def _reads_back(annotated: str, text: str, count: int) -> bool:
    """Whether Rasa's entity parser finds exactly ``count`` annotations and gets ``text`` back."""
    matches = list(_ENTITY_MARKUP.finditer(annotated))
    if len(matches) != count:
        return False
    plain = _ENTITY_MARKUP.sub(lambda m: m.group("entity_text"), annotated)
    return plain == text


def annotate(text: str, entities: Sequence[Entity]) -> tuple[str, int]:
    """Writes entities into ``text`` as Rasa training-data markup.

    An entity whose value is the text it covers becomes ``[text](entity)``; a
    synonym or a role or group becomes ``[text]{"entity": ..., "value": ...}``.
    Entities without offsets, out of range, overlapping an earlier one, or whose
    text or label Rasa's markup cannot hold are left out.

    Args:
        text: The message text the offsets refer to.
        entities: The message's entities.

    Returns:
        ``(annotated_text, number_of_annotations)``.

    Example:
        >>> annotate("我的订单260312004417到哪了", [Entity("order_id", "260312004417", 4, 16)])
        ('我的订单[260312004417](order_id)到哪了', 1)
    """
    placed: list[tuple[int, int, str]] = []
    candidates = sorted((e for e in entities if e.start is not None and e.end is not None),
                        key=lambda e: (e.start or 0, -(e.end or 0)))
    last_end = 0
    for entity in candidates:
        start, end = cast(int, entity.start), cast(int, entity.end)
        if not 0 <= start < end <= len(text) or start < last_end:
            continue
        surface = text[start:end]
        label = _label(entity, surface)
        if label is None or "[" in surface or "]" in surface:
            continue
        placed.append((start, end, f"[{surface}]{label}"))
        last_end = end
    parts: list[str] = []
    position = 0
    for start, end, markup in placed:
        parts.extend([text[position:start], markup])
        position = end
    parts.append(text[position:])
    return "".join(parts), len(placed)


def _label(entity: Entity, surface: str) -> str | None:
    plain = entity.value == surface and entity.role is None and entity.group is None
    if plain and re.fullmatch(r"[^:()\[\]{}]+", entity.entity):
        return f"({entity.entity})"
    fields: dict[str, Any] = {"entity": entity.entity}
    if entity.value != surface:
        fields["value"] = entity.value
    if entity.role is not None:
        fields["role"] = entity.role
    if entity.group is not None:
        fields["group"] = entity.group
    label = json.dumps(fields, ensure_ascii=False)
    return label if "}" not in label[:-1] else None


# -- YAML scalars --------------------------------------------------------------------------------------------------

# Characters written as they are inside YAML scalars: printable, not a line break, not a BOM (YAML 1.2 §5.1).
_SAFE_CHAR = re.compile("[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
# Words YAML 1.1 or 1.2 would read as something other than a string.
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"})


def _scalar(text: str) -> str:
    """A name as a plain scalar when YAML reads it back as that string, else double-quoted."""
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return _quoted(text)


def _user_text(text: str) -> str:
    """A message as a ``|`` block like the project's stories, or double-quoted when a block cannot hold it.

    A backslash forces quotes: when a file is all ASCII, Rasa's ``read_yaml``
    decodes ``\\uXXXX`` sequences before YAML sees them, so "C:\\users" in a
    block would fail to load; doubled inside quotes, it reads back unchanged.
    """
    if text and text == text.strip() and "\\" not in text and all(_SAFE_CHAR.fullmatch(c) for c in text):
        return f"|\n      {text}"
    return _quoted(text)


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar; anything not printable on one line is escaped.

    Lone surrogates and U+FFFE/U+FFFF cannot be in a YAML stream even escaped
    (Rasa decodes ``\\u`` escapes of an all-ASCII file before YAML reads it),
    so they become U+FFFD, the replacement character.
    """
    out = ['"']
    for char in text:
        if "\ud800" <= char <= "\udfff" or char in "\ufffe\uffff":
            out.append("\ufffd")
        elif char in '"\\':
            out.append("\\" + char)
        elif _SAFE_CHAR.fullmatch(char):
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _value(value: Any) -> str:
    """A slot value as a YAML flow value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else _quoted(str(value))
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_quoted(str(k))}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return _quoted(str(value))


# -- small readers -------------------------------------------------------------------------------------------------

def _epoch(raw: Any, kind: Any) -> datetime:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise InvalidData("tracker event", f"{kind!r} event has no epoch timestamp: {raw!r}")
    return datetime.fromtimestamp(raw, tz=UTC)


def _aware(when: datetime) -> datetime:
    if when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no time zone")
    return when


def _str_or_none(raw: Any) -> str | None:
    return None if raw is None else str(raw)


def _int_or_none(raw: Any) -> int | None:
    return None if raw is None else int(raw)


def _float_or_none(raw: Any) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _language_or_none(raw: Any) -> Language | None:
    return cast(Language, raw) if raw in _LANGUAGES else None


def _detected(raw: Any) -> Detected | None:
    return cast(Detected, raw) if raw in _DETECTED else None
