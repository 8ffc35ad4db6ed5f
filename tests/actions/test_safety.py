"""An action that fails answers the shopper in their language and offers a person; it never goes silent."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

import actions  # noqa: F401  (importing the package installs the safety net, as the action server does)
from actions.orders import ActionOrderStatus
from actions.safety import FAILED_RESPONSE, install_safety_net
from actions.services import Services
from bot.store.shop import SqlShop

ROOT = Path(__file__).resolve().parents[2]


# Plain functions, not Action classes: the SDK registers every Action subclass it has seen,
# and the project test compares those with domain.yml.
async def crashes(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Any]:
    dispatcher.utter_message(response="utter_order_status")  # half-said before the fault
    raise RuntimeError("boom")


async def rejects(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Any]:
    raise ActionExecutionRejection("action_rejects", "not this time")


def call(action: str, language: str = "zh") -> dict[str, Any]:
    """The JSON Rasa posts to the action server's webhook."""
    tracker = {"sender_id": "conv-1", "slots": {"language": language, "customer_id": "C001"},
               "latest_message": {"intent": {"name": "order_status", "confidence": 0.9}, "entities": [],
                                  "text": "我的订单到哪了", "metadata": {}},
               "events": [], "paused": False, "followup_action": None, "active_loop": {},
               "latest_action_name": "action_listen"}
    return {"next_action": action, "sender_id": "conv-1", "tracker": tracker, "domain": {}}


@pytest.fixture
def executor() -> ActionExecutor:
    e = ActionExecutor()
    e.register_function("action_crashes", crashes)
    e.register_function("action_rejects", rejects)
    return e


class TestAnActionThatRaises:
    async def test_answers_with_the_failure_response_and_no_events(
            self, executor: ActionExecutor, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.ERROR, logger="actions.safety"):
            answer = await executor.run(call("action_crashes"))
        assert answer is not None
        assert answer["events"] == []
        assert [m["response"] for m in answer["responses"]] == [FAILED_RESPONSE]  # nothing half-said
        [record] = caplog.records
        assert "action_crashes" in record.getMessage() and record.exc_info is not None

    async def test_a_real_action_whose_database_is_away_gets_the_same_answer(
            self, executor: ActionExecutor, services: Services, tmp_path: Path) -> None:
        away = SqlShop(sa.create_engine(f"sqlite:///{tmp_path / 'gone' / 'shop.db'}"))
        executor.register_action(ActionOrderStatus(dataclasses.replace(services, shop=away)))
        answer = await executor.run(call("action_order_status"))
        assert answer is not None and answer["events"] == []
        assert [m["response"] for m in answer["responses"]] == [FAILED_RESPONSE]

    async def test_the_same_action_with_its_database_answers_as_usual(
            self, executor: ActionExecutor, services: Services) -> None:
        executor.register_action(ActionOrderStatus(services))
        answer = await executor.run(call("action_order_status"))
        assert answer is not None and FAILED_RESPONSE not in [m["response"] for m in answer["responses"]]

    async def test_a_rejection_still_reaches_rasa_so_it_tries_another_action(
            self, executor: ActionExecutor) -> None:
        with pytest.raises(ActionExecutionRejection):
            await executor.run(call("action_rejects"))

    async def test_an_unknown_action_is_still_not_found(self, executor: ActionExecutor) -> None:
        with pytest.raises(ActionNotFoundException):
            await executor.run(call("action_nobody_wrote"))

    def test_installing_twice_wraps_once(self) -> None:
        wrapped = ActionExecutor.run
        install_safety_net()
        assert ActionExecutor.run is wrapped


class TestTheFailureResponse:
    @pytest.mark.parametrize(("language", "words", "button"), [
        ("zh", "出了点问题", "转人工客服"), ("en", "something went wrong", "Talk to a person")])
    async def test_rasa_renders_it_in_the_shoppers_language_with_a_button_for_a_person(
            self, language: str, words: str, button: str) -> None:
        domain = Domain.load(str(ROOT / "domain.yml"))
        tracker = DialogueStateTracker.from_events("conv-1", [SlotSet("language", language)],
                                                   slots=domain.slots)
        message = await TemplatedNaturalLanguageGenerator(domain.responses).generate(
            FAILED_RESPONSE, tracker, "rest")
        assert message is not None and words in message["text"]
        assert message["buttons"] == [{"title": button, "payload": "/ask_human"}]
