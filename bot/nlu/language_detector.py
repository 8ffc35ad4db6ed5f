"""A Rasa component that labels each message with the language it is written in.

The label is :func:`bot.language.detect` of the message text: ``"zh"``,
``"en"``, ``"mixed"`` or ``"unknown"``. It is stored under the ``language``
key and added to the message's output properties, which is what makes it
appear in the parse result:

* ``POST /model/parse`` answers ``{"text": ..., "intent": ..., "language": "mixed", ...}``;
* the ``UserUttered`` event keeps the whole parse result, so custom actions
  read it as ``tracker.latest_message["language"]``.

Rasa's parse result holds only a message's *output properties* (``text``,
``intent``, ``entities``, ``text_tokens``, ...); a plain ``message.set(key,
value)`` is silently left out of it.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import bot.language
from bot.language import detect

LANGUAGE = "language"
"""The parse-data key that holds the detected language."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class LanguageDetector(GraphComponent):
    """Sets ``message["language"]`` to ``"zh"``, ``"en"``, ``"mixed"`` or ``"unknown"``.

    It needs no tokens, but belongs right after the tokenizer in the pipeline
    so that later components can read the label. It has no config.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        """Creates the component (see parent class for full docstring)."""
        return cls()

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Hashes ``bot.language``, where the detection rules live.

        Rasa's fingerprint covers this class's source but not the module it
        calls, so a change to :func:`bot.language.detect` would otherwise
        leave stale labels on cached training data.
        """
        source = inspect.getsource(bot.language).encode("utf-8")
        return hashlib.sha256(source).hexdigest()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Labels the training examples, so later components can read it in training too."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Labels each message that has a text with its language."""
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str):
                message.set(LANGUAGE, detect(text), add_to_output=True)
        return messages
