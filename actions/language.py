"""Who is talking and in which language: slots refreshed on every user turn."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker, ValidationAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.language import turn_language


def _metadata(tracker: Tracker) -> dict[str, Any]:
    meta = tracker.latest_message.get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def _requested_language(tracker: Tracker) -> str | None:
    for e in tracker.latest_message.get("entities", []) or []:
        if e.get("entity") == "language" and e.get("value") in ("zh", "en"):
            return str(e["value"])
    return None


class ValidateSlotMappings(ValidationAction):
    """Fills the custom slots ``language``, ``language_choice`` and ``customer_id``.

    Runs after every user message (Rasa's ``action_validate_slot_mappings``).
    The customer comes only from the message metadata that the web front door
    sets from the shopper's session, never from what the shopper types.
    """

    def _turn(self, tracker: Tracker) -> tuple[str, str | None]:
        meta = _metadata(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        return turn_language(
            text=tracker.latest_message.get("text") or "",
            intent=intent,
            requested=_requested_language(tracker),
            choice=tracker.get_slot("language_choice"),
            previous=tracker.get_slot("language"),
            default=meta.get("language") if meta.get("language") in ("zh", "en") else "zh",
        )

    def extract_language(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> dict[str, Any]:
        return {"language": self._turn(tracker)[0]}

    def extract_language_choice(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        return {"language_choice": self._turn(tracker)[1]}

    def extract_customer_id(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        customer = _metadata(tracker).get("customer_id")
        if isinstance(customer, str) and customer:
            return {"customer_id": customer}
        return {"customer_id": tracker.get_slot("customer_id")}


class ActionSwitchLanguage(Action):
    """Confirms a language switch; the slot itself was already set this turn."""

    def name(self) -> str:
        return "action_switch_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_language_switched")
        return []
