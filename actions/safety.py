"""A custom action that fails tells the shopper so, instead of leaving the bot silent.

Stock Rasa answers an action that raised with an HTTP 500 from the action
server; Rasa's processor logs it and carries on with no message, so the
shopper's question goes unanswered. ``install_safety_net`` wraps the SDK's
``ActionExecutor.run``: an unexpected exception is logged with its traceback
and the action's answer becomes ``utter_action_failed`` (bilingual, in
``domain.yml``: "sorry, I can't do that right now", with a button for a
person) and no events, so nothing the action meant to set is half-applied.

``ActionExecutionRejection`` (a form's validation asking Rasa to try another
action) and an unknown action name keep their meaning and pass through.

It is installed when the ``actions`` package is imported, so both
``rasa run actions`` and ``make run``'s action server have it.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

log = logging.getLogger(__name__)

#: The response an action that failed answers with (``domain.yml``, zh and en).
FAILED_RESPONSE = "utter_action_failed"
_MARK = "_shop_safety_net"


def install_safety_net() -> None:
    """Wrap ``ActionExecutor.run`` once; later calls do nothing."""
    original = ActionExecutor.run
    if getattr(original, _MARK, False):
        return

    async def run(self: ActionExecutor, action_call: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return await original(self, action_call)
        except (ActionExecutionRejection, ActionNotFoundException):
            raise
        except Exception:
            log.exception("custom action %r failed: the shopper is told and offered a person",
                          action_call.get("next_action"))
            dispatcher = CollectingDispatcher()
            dispatcher.utter_message(response=FAILED_RESPONSE)
            return self._create_api_response([], dispatcher.messages)

    setattr(run, _MARK, True)
    ActionExecutor.run = run  # type: ignore[method-assign]
