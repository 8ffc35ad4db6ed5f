"""Low-confidence messages: offer the two most likely meanings as buttons."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import Services, default_services

#: Intents that are never offered as a guess.
NOT_GUESSES = {"nlu_fallback", "out_of_scope", "inform", "affirm", "deny"}


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the latest user messages in a row fell below the NLU confidence threshold."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") != "nlu_fallback":
            break
        count += 1
    return count


class ActionTwoGuesses(Action):
    """Offers the two best guesses; the second miss in a row goes to a human agent."""

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_two_guesses"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        if consecutive_fallbacks(tracker) >= 2:
            return [SlotSet("handoff_reason", "fallbacks"), FollowupAction("action_handoff")]
        labels = (self._services or default_services()).intent_labels
        language = tracker.get_slot("language") or "zh"
        ranking = tracker.latest_message.get("intent_ranking") or []
        guesses = [r["name"] for r in ranking
                   if r.get("name") not in NOT_GUESSES and r.get("name") in labels][:2]
        if not guesses:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = [{"title": labels[g][language], "payload": f"/{g}"} for g in guesses]
        buttons.append({"title": labels["ask_human"][language], "payload": "/ask_human"})
        dispatcher.utter_message(response="utter_two_guesses", buttons=buttons)
        return []
