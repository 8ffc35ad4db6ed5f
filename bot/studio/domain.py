"""The names a domain declares, which stories, rules and NLU data may refer to.

Rasa's built-in intents, actions and slots are known too. They are copied from
``rasa.shared.core.constants`` (Rasa 3.6) so that the studio needs no Rasa import;
``tests/studio/test_domain.py`` fails if Rasa's lists change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from bot.studio import document

#: ``rasa.shared.core.constants.DEFAULT_INTENTS``
DEFAULT_INTENTS = frozenset({"restart", "back", "out_of_scope", "session_start", "nlu_fallback"})
#: ``rasa.shared.core.constants.DEFAULT_ACTION_NAMES`` (``...`` is the rule-snippet action)
DEFAULT_ACTIONS = frozenset({
    "action_listen", "action_restart", "action_session_start", "action_default_fallback",
    "action_deactivate_loop", "action_revert_fallback_events", "action_default_ask_affirmation",
    "action_default_ask_rephrase", "action_two_stage_fallback", "action_unlikely_intent", "action_back",
    "...", "action_extract_slots",
})
#: ``rasa.shared.core.constants.DEFAULT_SLOT_NAMES``
DEFAULT_SLOTS = frozenset({
    "requested_slot", "session_started_metadata", "knowledge_base_last_object",
    "knowledge_base_last_object_type", "knowledge_base_listed_objects",
})
#: Loops that are not forms but may be an ``active_loop``.
DEFAULT_LOOPS = frozenset({"action_two_stage_fallback"})

NameKind = Literal["intent", "entity", "slot", "form", "action"]


@dataclass(frozen=True)
class DomainNames:
    """What ``domain.yml`` declares, each in the domain's order (Rasa's defaults not included)."""

    intents: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    responses: tuple[str, ...] = ()

    @classmethod
    def from_domain_text(cls, text: str) -> DomainNames:
        """The names in a domain file's text; sections of the wrong shape count as empty.

        Raises:
            MalformedYaml: the text is not YAML.
        """
        return cls.from_data(document.load(text))

    @classmethod
    def from_data(cls, data: Any) -> DomainNames:
        """The names in loaded domain data (a mapping; anything else has no names)."""
        if not isinstance(data, dict):
            return cls()
        return cls(
            intents=_names(data.get("intents")),
            entities=_names(data.get("entities")),
            slots=_names(data.get("slots")),
            forms=_names(data.get("forms")),
            actions=_names(data.get("actions")),
            responses=_names(data.get("responses")),
        )

    def known(self, kind: NameKind, name: str) -> bool:
        """Whether a story, rule or example may use ``name`` as a ``kind``.

        Responses and forms are actions too (``- action: utter_greet``,
        ``- action: address_form``), and a retrieval intent ``faq/ask_price`` is
        known when ``faq`` is.
        """
        if kind == "intent":
            return name.split("/", 1)[0] in {*self.intents, *DEFAULT_INTENTS}
        if kind == "entity":
            return name in self.entities
        if kind == "slot":
            return name in {*self.slots, *DEFAULT_SLOTS}
        if kind == "form":
            return name in {*self.forms, *DEFAULT_LOOPS}
        return name in {*self.actions, *self.responses, *self.forms, *DEFAULT_ACTIONS}


def _names(section: Any) -> tuple[str, ...]:
    """Names from a list (``- greet`` or ``- greet: {use_entities: []}``) or a mapping's keys."""
    values: Iterable[Any] = section if isinstance(section, list | dict) else ()
    names = [next(iter(value), None) if isinstance(value, dict) else value for value in values]
    return tuple(str(name) for name in names if isinstance(name, str))
