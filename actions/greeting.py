"""The opening of a chat: a greeting by name."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import Context, Services, default_services


class ActionGreet(Action):
    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        ctx = Context(self._services or default_services(), tracker)
        customer = ctx.customer()
        if customer is None:
            dispatcher.utter_message(response="utter_greet")
        else:
            dispatcher.utter_message(response="utter_greet_named", name=customer.name)
        return []
